//! A community's brand colour, known to be readable where the pages use it (WCAG 2.2 AA).
use std::fmt;

/// Where the pages use the brand colour, and what it must stand out against: white button
/// labels on it, and links and focus rings on the card and page backgrounds.
pub const USED_AGAINST: [(&str, Rgb); 3] = [
    ("white button text", Rgb(0xff, 0xff, 0xff)),
    ("the white card background", Rgb(0xff, 0xff, 0xff)),
    ("the page background #f6f7f9", Rgb(0xf6, 0xf7, 0xf9)),
];

/// WCAG AA for normal-size text.
pub const AA_TEXT: f64 = 4.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb` or `#rgb`.
    pub fn parse(input: &str) -> Option<Self> {
        let hex = input.trim().strip_prefix('#')?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |s: &str| u8::from_str_radix(s, 16).ok();
        match hex.len() {
            6 => Some(Self(
                channel(&hex[0..2])?,
                channel(&hex[2..4])?,
                channel(&hex[4..6])?,
            )),
            3 => {
                let twice = |i: usize| channel(&hex[i..=i].repeat(2));
                Some(Self(twice(0)?, twice(1)?, twice(2)?))
            }
            _ => None,
        }
    }

    /// Relative luminance (WCAG 2.2, "relative luminance").
    fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    /// The contrast ratio of two colours, 1 to 21.
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        (hi + 0.05) / (lo + 0.05)
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// A brand colour that meets [`AA_TEXT`] against everything in [`USED_AGAINST`]: only
/// [`BrandColor::parse`] makes one, so a page can set it without checking again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrandColor(Rgb);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BrandColorError {
    #[error("`{0}` is not a colour like #0b5cad")]
    NotAColour(String),
    #[error(
        "{colour} has a contrast of {ratio:.2}:1 against {against}; WCAG AA needs at least \
         4.5:1 (choose a darker colour)"
    )]
    TooLittleContrast {
        colour: Rgb,
        against: &'static str,
        ratio: f64,
    },
}

impl BrandColor {
    pub fn parse(input: &str) -> Result<Self, BrandColorError> {
        let rgb = Rgb::parse(input).ok_or_else(|| BrandColorError::NotAColour(input.into()))?;
        // The worst of its uses is the one to report.
        let (against, ratio) = USED_AGAINST
            .iter()
            .map(|(what, bg)| (*what, rgb.contrast(*bg)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a colour is used somewhere");
        if ratio < AA_TEXT {
            return Err(BrandColorError::TooLittleContrast {
                colour: rgb,
                against,
                ratio,
            });
        }
        Ok(Self(rgb))
    }

    /// `#rrggbb`, for a CSS custom property.
    pub fn css(&self) -> String {
        self.0.to_string()
    }

    /// The colour mixed with `toward` by `share` (0 to 1).
    fn mix(self, toward: Rgb, share: f64) -> Rgb {
        let m = |a: u8, b: u8| (f64::from(a) * (1.0 - share) + f64::from(b) * share).round() as u8;
        let Rgb(r, g, b) = self.0;
        Rgb(m(r, toward.0), m(g, toward.1), m(b, toward.2))
    }

    /// A shade darker, for a button under the pointer: darker still contrasts with white.
    pub fn hover_css(&self) -> String {
        self.mix(Rgb(0, 0, 0), 0.15).to_string()
    }

    /// A pale tint, for the background of a chosen time (dark text on it).
    pub fn soft_css(&self) -> String {
        self.mix(Rgb(0xff, 0xff, 0xff), 0.9).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_ratios_match_wcag_examples() {
        let white = Rgb(255, 255, 255);
        let black = Rgb(0, 0, 0);
        assert!((white.contrast(black) - 21.0).abs() < 1e-9);
        // #767676 on white is the classic lightest grey that passes AA: 4.54:1.
        let grey = Rgb::parse("#767676").unwrap();
        assert!((grey.contrast(white) - 4.54).abs() < 0.01);
    }

    #[test]
    fn a_dark_colour_passes_and_a_light_one_is_refused_with_its_ratio() {
        assert_eq!(BrandColor::parse("#0B5CAD").unwrap().css(), "#0b5cad");
        assert_eq!(BrandColor::parse("#036").unwrap().css(), "#003366");
        let e = BrandColor::parse("#ffcc00").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("#ffcc00"), "{text}");
        assert!(text.contains(":1"), "{text}");
        assert!(
            text.contains("page background"),
            "the worst use is named: {text}"
        );
        assert!(matches!(
            BrandColor::parse("blue"),
            Err(BrandColorError::NotAColour(_))
        ));
        assert!(BrandColor::parse("#12345").is_err());
        assert!(BrandColor::parse("#ggg").is_err());
    }
}
