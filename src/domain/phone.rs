use std::fmt;

use phonenumber::metadata::DATABASE;
use phonenumber::{country, Mode, Type};
use serde::{Deserialize, Serialize};

/// Longer than any number a person types with its punctuation; keeps the parser's work bounded.
const MAX_INPUT_CHARS: usize = 40;

/// A valid phone number, stored in E.164 (`+12065550155`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Enter your phone number.")]
    Empty,
    #[error(
        "Enter a phone number like (206) 555-0155, or with its country code like +44 20 7946 0958."
    )]
    Invalid,
}

impl Phone {
    /// Numbers without a country code are read as US numbers.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        // The parser turns letters into keypad digits ("1-800-FLOWERS") and reads "ext."
        // suffixes; a renter's own number has neither, so letters are more likely a typo.
        let plausible = trimmed.chars().count() <= MAX_INPUT_CHARS
            && trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || c == ' ' || "+()-./".contains(c));
        if !plausible {
            return Err(PhoneError::Invalid);
        }
        let number =
            phonenumber::parse(Some(country::Id::US), trimmed).map_err(|_| PhoneError::Invalid)?;
        if !number.is_valid() || number.extension().is_some() {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// A number this program wrote as E.164 (`+` and 8 to 15 digits, no leading zero), read
    /// back from storage: checked for its shape, not run through the full parser again, which
    /// costs more than the rest of reading a booking (BENCHMARKS.md).
    pub fn from_stored(e164: &str) -> Result<Self, PhoneError> {
        let digits = e164.strip_prefix('+').ok_or(PhoneError::Invalid)?;
        let shaped = (8..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if shaped {
            Ok(Self(e164.to_owned()))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    /// The number as people write it: `(206) 555-0100` for North American numbers, else in
    /// international form (`+44 20 7946 0958`).
    pub fn for_people(&self) -> String {
        match phonenumber::parse(None, &self.0) {
            Ok(n) if n.code().value() == 1 => n.format().mode(Mode::National).to_string(),
            Ok(n) => n.format().mode(Mode::International).to_string(),
            Err(_) => self.0.clone(),
        }
    }

    /// The number as Knock's examples send it: ten digits for North American numbers
    /// ("2065550155"), otherwise the E.164 digits without the '+'.
    pub fn knock_digits(&self) -> &str {
        let digits = self.0.strip_prefix('+').unwrap_or(&self.0);
        match digits.strip_prefix('1') {
            Some(national) => national,
            None => digits,
        }
    }
}

impl Phone {
    /// Whether a text to this number reaches a phone at the expense we expect: a mobile (or a
    /// number its country does not tell apart from one, as in North America) of the country
    /// `home` (the community's; `None`: not known, any country's). Premium-rate, shared-cost,
    /// toll-free, VoIP, pager, personal and unknown numbers are not: texting those is how SMS
    /// pumping bills a sender.
    pub fn is_mobile_capable(&self, home: Option<country::Id>) -> bool {
        let Ok(number) = phonenumber::parse(None, &self.0) else {
            return false;
        };
        let mobile = matches!(
            number.number_type(&DATABASE),
            Type::Mobile | Type::FixedLineOrMobile
        );
        let at_home = match home {
            Some(home) => number.country().id() == Some(home),
            None => true,
        };
        mobile && at_home
    }
}

/// The country of an IANA time zone, for the zones of the countries where communities are
/// likely to be; `None` for the others (then a number of any country may be texted, its type
/// still checked). Zones shared by several countries are not listed.
pub fn country_of_zone(zone: &str) -> Option<country::Id> {
    use country::Id;
    const US: &[&str] = &[
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Phoenix",
        "America/Anchorage",
        "America/Adak",
        "America/Boise",
        "America/Detroit",
        "America/Juneau",
        "America/Sitka",
        "America/Metlakatla",
        "America/Yakutat",
        "America/Nome",
        "America/Menominee",
        "Pacific/Honolulu",
        "US/Eastern",
        "US/Central",
        "US/Mountain",
        "US/Pacific",
        "US/Arizona",
        "US/Alaska",
        "US/Hawaii",
    ];
    const CA: &[&str] = &[
        "America/Toronto",
        "America/Vancouver",
        "America/Edmonton",
        "America/Winnipeg",
        "America/Halifax",
        "America/St_Johns",
        "America/Regina",
        "America/Moncton",
        "America/Whitehorse",
    ];
    let named: &[(&str, Id)] = &[
        ("Europe/London", Id::GB),
        ("Europe/Dublin", Id::IE),
        ("Europe/Berlin", Id::DE),
        ("Europe/Paris", Id::FR),
        ("Europe/Madrid", Id::ES),
        ("Europe/Amsterdam", Id::NL),
        ("Europe/Rome", Id::IT),
        ("Asia/Kolkata", Id::IN),
        ("Asia/Calcutta", Id::IN),
        ("Asia/Singapore", Id::SG),
        ("Asia/Tokyo", Id::JP),
        ("Pacific/Auckland", Id::NZ),
        ("America/Mexico_City", Id::MX),
        ("America/Puerto_Rico", Id::PR),
    ];
    if US.contains(&zone)
        || zone.starts_with("America/Indiana/")
        || zone.starts_with("America/Kentucky/")
        || zone.starts_with("America/North_Dakota/")
    {
        return Some(Id::US);
    }
    if CA.contains(&zone) {
        return Some(Id::CA);
    }
    if zone.starts_with("Australia/") {
        return Some(Id::AU);
    }
    named.iter().find(|(z, _)| *z == zone).map(|(_, id)| *id)
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> Self {
        phone.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(input: &str) -> String {
        match Phone::parse(input) {
            Ok(phone) => phone.as_e164().to_owned(),
            Err(e) => panic!("{input:?} should parse: {e}"),
        }
    }

    #[test]
    fn us_numbers_in_common_formats_are_stored_as_e164() {
        for input in [
            "(206) 555-0155",
            "206-555-0155",
            "206.555.0155",
            "2065550155",
            "1 206 555 0155",
            "+1 (206) 555-0155",
            " 206 555 0155 ",
        ] {
            assert_eq!(e164(input), "+12065550155", "{input:?}");
        }
    }

    #[test]
    fn numbers_with_a_country_code_keep_their_country() {
        assert_eq!(e164("+44 20 7946 0958"), "+442079460958");
        assert_eq!(e164("+49 30 123456"), "+4930123456");
        assert_eq!(e164("011 44 20 7946 0958"), "+442079460958");
    }

    #[test]
    fn knock_digits_are_ten_digits_for_north_american_numbers() {
        let phone = Phone::parse("(206) 555-0155").expect("valid");
        assert_eq!(phone.knock_digits(), "2065550155");
    }

    #[test]
    fn knock_digits_keep_the_country_code_elsewhere() {
        let phone = Phone::parse("+44 20 7946 0958").expect("valid");
        assert_eq!(phone.knock_digits(), "442079460958");
    }

    #[test]
    fn empty_input_asks_for_a_number() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("  "), Err(PhoneError::Empty));
    }

    #[test]
    fn letters_extensions_and_impossible_numbers_are_refused() {
        for bad in [
            "206 555 CALL",
            "1-800-FLOWERS",
            "call me",
            "(206) 555-0155 ext. 12",
            "206-555-0155#12",
            "555-0155",
            "911",
            "+1 555 555 5555",
            "000-000-0000",
            "+",
            "+1 (",
            "((",
            "tel:+1-206-555-0155",
            "206 555 0155 206 555 0155 206 555 0155 2",
        ] {
            assert_eq!(Phone::parse(bad), Err(PhoneError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn serde_round_trips_through_e164() {
        let phone = Phone::parse("(206) 555-0155").expect("valid");
        let json = serde_json::to_string(&phone).expect("serialize");
        assert_eq!(json, "\"+12065550155\"");
        let back: Phone = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, phone);
    }

    fn phone(input: &str) -> Phone {
        Phone::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
    }

    #[test]
    fn mobiles_of_the_communitys_country_can_be_texted() {
        // North American numbers do not tell mobiles from landlines: either may be texted.
        assert!(phone("(206) 555-0155").is_mobile_capable(Some(country::Id::US)));
        assert!(phone("+91 98765 43210").is_mobile_capable(Some(country::Id::IN)));
        assert!(phone("+44 7400 123456").is_mobile_capable(Some(country::Id::GB)));
        assert!(phone("+44 7400 123456").is_mobile_capable(None));
    }

    #[test]
    fn landlines_premium_toll_free_and_foreign_numbers_are_not_texted() {
        for (number, home) in [
            ("+91 80 2222 3333", Some(country::Id::IN)),
            ("+44 20 7946 0958", Some(country::Id::GB)),
            ("+44 20 7946 0958", None),
            ("1 900 555 0100", Some(country::Id::US)),
            ("1 800 555 0199", Some(country::Id::US)),
            ("+44 7400 123456", Some(country::Id::US)),
            ("+91 98765 43210", Some(country::Id::US)),
        ] {
            assert!(
                !phone(number).is_mobile_capable(home),
                "{number} in {home:?}"
            );
        }
    }

    #[test]
    fn zones_name_their_country() {
        assert_eq!(country_of_zone("America/New_York"), Some(country::Id::US));
        assert_eq!(
            country_of_zone("America/Indiana/Indianapolis"),
            Some(country::Id::US)
        );
        assert_eq!(country_of_zone("America/Toronto"), Some(country::Id::CA));
        assert_eq!(country_of_zone("Asia/Kolkata"), Some(country::Id::IN));
        assert_eq!(country_of_zone("Australia/Sydney"), Some(country::Id::AU));
        assert_eq!(country_of_zone("Antarctica/Troll"), None);
    }

    #[test]
    fn stored_numbers_that_are_not_e164_are_refused() {
        for bad in [
            "",
            "+",
            "2065550155",
            "+1206555015x",
            "+0123456789",
            "+1234567",
            "+1234567890123456",
            " +12065550155",
        ] {
            assert_eq!(Phone::from_stored(bad), Err(PhoneError::Invalid), "{bad:?}");
        }
        assert_eq!(
            Phone::from_stored("+12065550155"),
            Ok(phone("(206) 555-0155"))
        );
    }

    proptest! {
        #[test]
        fn any_input_gives_a_phone_or_an_error_never_a_panic(input in "[0-9 +()./-]{0,40}") {
            if let Ok(phone) = Phone::parse(&input) {
                prop_assert!(phone.as_e164().starts_with('+'));
                prop_assert!(phone.knock_digits().chars().all(|c| c.is_ascii_digit()));
                // E.164 is a fixed point: parsing it again gives the same number.
                prop_assert_eq!(Phone::parse(phone.as_e164()), Ok(phone.clone()));
                // What storage holds reads back as the same number without the parser.
                prop_assert_eq!(Phone::from_stored(phone.as_e164()), Ok(phone.clone()));
            }
        }

        #[test]
        fn every_valid_us_number_keeps_its_ten_digits_for_knock(
            area in 200u32..1000, exchange in 200u32..1000, line in 0u32..10000
        ) {
            let input = format!("({area}) {exchange}-{line:04}");
            if let Ok(phone) = Phone::parse(&input) {
                prop_assert_eq!(phone.knock_digits(), format!("{area}{exchange}{line:04}"));
            }
        }
    }
}
