//! The booking's short reference, for reading out on the phone: `MPL-4K7Q-9TZB`. The
//! community's prefix, then the first characters of the booking's id (already in an alphabet
//! without I, L, O or U), so it needs no column of its own and is the same wherever it shows.
//! The long token stays the renter's link; the reference opens nothing.
use super::BookingId;

/// Characters of the id a reference carries: 40 random bits, so two bookings of one
/// community sharing one is a one-in-a-trillion event per pair; a staff lookup lists every
/// booking that matches in any case.
const CODE_LEN: usize = 8;
const ID_PREFIX: &str = "tg_";

/// A community's reference prefix: 2 to 5 letters A-Z (`reference_prefix` in the communities
/// file, else made from the community's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencePrefix(String);

impl ReferencePrefix {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (2..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase());
        ok.then(|| Self(s.to_string()))
            .ok_or_else(|| format!("`{s}` must be 2 to 5 capital letters A-Z"))
    }

    /// "Maple Court Apartments" → `MPL`: the first word's first letter and consonants, then
    /// the next words' letters, three in all (a short name: its letters); `TG` for a name without Latin letters.
    pub fn from_name(name: &str) -> Self {
        let words: Vec<Vec<u8>> = name
            .split_whitespace()
            .map(|w| {
                w.bytes()
                    .filter(u8::is_ascii_alphabetic)
                    .map(|b| b.to_ascii_uppercase())
                    .collect::<Vec<u8>>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        let mut out: Vec<u8> = Vec::new();
        if let Some(first) = words.first() {
            out.push(first[0]);
            out.extend(first[1..].iter().filter(|b| !b"AEIOUY".contains(b)));
        }
        out.extend(words.iter().skip(1).flatten());
        if out.len() < 3 {
            // A short first word of vowels ("Ivy"): its letters as they are.
            out = words.iter().flatten().copied().collect();
        }
        out.truncate(3);
        match Self::parse(&String::from_utf8_lossy(&out)) {
            Ok(p) => p,
            Err(_) => Self("TG".to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A booking's reference, shown as `MPL-4K7Q-9TZB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingReference {
    prefix: String,
    /// Lower case, as in the id.
    code: String,
}

impl BookingReference {
    pub fn of(prefix: &ReferencePrefix, id: &BookingId) -> Self {
        let tail = id.as_str().strip_prefix(ID_PREFIX).unwrap_or(id.as_str());
        Self {
            prefix: prefix.0.clone(),
            code: tail.chars().take(CODE_LEN).collect(),
        }
    }

    /// What someone types or reads out: any case, spaces or hyphens anywhere, O for 0 and I
    /// or L for 1 (Crockford's reading). None for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let compact: Vec<char> = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() <= CODE_LEN || !compact.iter().all(char::is_ascii_alphanumeric) {
            return None;
        }
        let (prefix, code) = compact.split_at(compact.len() - CODE_LEN);
        let prefix: String = prefix.iter().map(char::to_ascii_uppercase).collect();
        let prefix = ReferencePrefix::parse(&prefix).ok()?;
        let code: String = code
            .iter()
            .map(|c| match c.to_ascii_lowercase() {
                'o' => '0',
                'i' | 'l' => '1',
                c => c,
            })
            .collect();
        code.bytes()
            .all(|b| BookingId::ALPHABET.contains(&b))
            .then_some(Self {
                prefix: prefix.0,
                code,
            })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How the ids of the bookings it may name begin (`tg_` and the code).
    pub fn id_start(&self) -> String {
        format!("{ID_PREFIX}{}", self.code)
    }
}

impl std::fmt::Display for BookingReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code.to_ascii_uppercase();
        let (a, b) = code.split_at(code.len() / 2);
        write!(f, "{}-{a}-{b}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> BookingId {
        BookingId::parse(s).expect("a booking id")
    }

    #[test]
    fn a_reference_is_the_prefix_and_the_ids_first_eight_characters_in_capitals() {
        let p = ReferencePrefix::parse("MPL").unwrap();
        let r = BookingReference::of(&p, &id("tg_4k7q9tzbmn2pw8rx"));
        assert_eq!(r.to_string(), "MPL-4K7Q-9TZB");
        assert_eq!(r.id_start(), "tg_4k7q9tzb");
    }

    #[test]
    fn the_same_booking_always_gets_the_same_reference_and_others_differ() {
        let p = ReferencePrefix::parse("MPL").unwrap();
        let a = BookingId::generate();
        assert_eq!(BookingReference::of(&p, &a), BookingReference::of(&p, &a));
        let b = id("tg_4k7q9tzcmn2pw8rx");
        let c = id("tg_4k7q9tzbmn2pw8rx");
        assert_ne!(BookingReference::of(&p, &b), BookingReference::of(&p, &c));
    }

    #[test]
    fn what_is_read_out_or_typed_parses_back_to_the_same_reference() {
        let p = ReferencePrefix::parse("MPL").unwrap();
        let r = BookingReference::of(&p, &id("tg_4k7q910zmn2pw8rx"));
        assert_eq!(r.to_string(), "MPL-4K7Q-910Z");
        for typed in [
            "MPL-4K7Q-910Z",
            "mpl-4k7q-910z",
            " mpl 4k7q 910z ",
            "MPL4K7Q910Z",
            "MPL-4K7Q-9IOZ",
            "mpl-4k7q-9loz",
        ] {
            assert_eq!(BookingReference::parse(typed).as_ref(), Some(&r), "{typed}");
        }
    }

    #[test]
    fn junk_is_not_a_reference() {
        for junk in [
            "",
            "MPL",
            "4K7Q-9TZB",
            "M-4K7Q-9TZB",
            "MPLABCD-4K7Q-9TZB",
            "MPL-4K7Q-9TZU",
            "MPL-4K7Q-9TZ;",
            "MPL-4K7Q-9TZ\u{e9}",
            "1PL-4K7Q-9TZB",
        ] {
            assert!(BookingReference::parse(junk).is_none(), "{junk:?}");
        }
    }

    #[test]
    fn a_prefix_is_made_from_the_communitys_name() {
        let from = |n: &str| ReferencePrefix::from_name(n).as_str().to_string();
        assert_eq!(from("Maple Court Apartments"), "MPL");
        assert_eq!(from("Smoke Court"), "SMK");
        assert_eq!(from("Oak Ridge"), "OKR");
        assert_eq!(from("Ivy"), "IVY");
        assert_eq!(from("The Élan"), "THL");
        assert_eq!(from("見学ハウス"), "TG");
        assert!(ReferencePrefix::parse("mpl").is_err());
        assert!(ReferencePrefix::parse("M").is_err());
        assert!(ReferencePrefix::parse("MAPLEC").is_err());
    }
}
