use serde::{Deserialize, Serialize};

/// Knock's bedrooms enum (API.md §10). The serde names are Knock's wire names; the form uses
/// the same strings as values so that nothing needs translating at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bedrooms {
    #[serde(rename = "STUDIO")]
    Studio,
    #[serde(rename = "1_BEDROOM")]
    One,
    #[serde(rename = "2_BEDROOMS")]
    Two,
    #[serde(rename = "3_OR_MORE_BEDROOMS")]
    ThreeOrMore,
}

impl Bedrooms {
    pub const ALL: [Bedrooms; 4] = [Self::Studio, Self::One, Self::Two, Self::ThreeOrMore];

    pub fn as_knock(self) -> &'static str {
        match self {
            Self::Studio => "STUDIO",
            Self::One => "1_BEDROOM",
            Self::Two => "2_BEDROOMS",
            Self::ThreeOrMore => "3_OR_MORE_BEDROOMS",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Studio => "Studio",
            Self::One => "1 bedroom",
            Self::Two => "2 bedrooms",
            Self::ThreeOrMore => "3 or more bedrooms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_knock() == s)
    }
}
