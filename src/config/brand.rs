//! What a community's pages and mail show of it (README "Communities file": branding and the
//! day-of-tour kit): logo and hero photo, brand colour, the leasing office's phone and e-mail,
//! its own sender, where to apply, and what a renter needs at the door. Every key is optional;
//! a file without them gets Tourgate's own look.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::domain::{BrandColor, Email, Phone};

/// The images Tourgate ships (the demo community's), by the name a communities file uses.
const SHIPPED: &[(&str, &[u8])] = &[
    (
        "static/brand/maple-logo.svg",
        include_bytes!("../../static/brand/maple-logo.svg"),
    ),
    (
        "static/brand/maple-hero.svg",
        include_bytes!("../../static/brand/maple-hero.svg"),
    ),
];

/// Larger than any logo or hero photo a page should carry.
const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// The longest line of the day-of-tour kit.
const MAX_KIT_CHARS: usize = 500;

/// Where image files named in the communities file are read from: the file's own folder
/// (or an absolute path), and `static/brand/...` for the images Tourgate ships.
#[derive(Debug, Clone)]
pub enum ImageDir {
    /// Only the shipped images (the built-in demo, and files parsed from text in tests).
    Shipped,
    Dir(PathBuf),
}

/// An image read at start, served from memory at [`Image::url`].
#[derive(Debug, Clone)]
pub struct Image {
    pub url: String,
    pub bytes: Arc<[u8]>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    /// Empty for a decorative hero photo (`alt = ""`).
    pub alt: String,
}

/// The day-of-tour kit: what the renter needs at the building. Shown on the booking page and
/// in the access e-mail.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TourKit {
    /// Which entrance, and where its keypad is.
    pub entrance: Option<String>,
    pub parking: Option<String>,
    /// What to bring (a photo ID, a phone to read the code from...).
    pub bring: Option<String>,
    pub accessibility: Option<String>,
}

impl TourKit {
    pub fn is_empty(&self) -> bool {
        self.lines().is_empty()
    }

    /// The kit's lines that are set, each with its heading, in the order a renter needs them.
    pub fn lines(&self) -> Vec<(&'static str, &str)> {
        [
            ("Entrance and keypad", &self.entrance),
            ("Parking", &self.parking),
            ("What to bring", &self.bring),
            ("Accessibility", &self.accessibility),
        ]
        .into_iter()
        .filter_map(|(h, v)| v.as_deref().map(|v| (h, v)))
        .collect()
    }

    fn checked(self) -> Result<Self, String> {
        let line = |name: &str, v: Option<String>| match v.map(|s| s.trim().to_string()) {
            Some(s) if s.is_empty() => Err(format!("kit.{name} must not be empty")),
            Some(s) if s.chars().count() > MAX_KIT_CHARS => Err(format!(
                "kit.{name} must be at most {MAX_KIT_CHARS} characters"
            )),
            other => Ok(other),
        };
        Ok(Self {
            entrance: line("entrance", self.entrance)?,
            parking: line("parking", self.parking)?,
            bring: line("bring", self.bring)?,
            accessibility: line("accessibility", self.accessibility)?,
        })
    }
}

/// A community's look and contacts, parsed and checked at start.
#[derive(Debug, Clone, Default)]
pub struct Brand {
    pub logo: Option<Image>,
    pub hero: Option<Image>,
    /// Checked against the pages' backgrounds and button text (WCAG AA) when parsed.
    pub color: Option<BrandColor>,
    pub office_phone: Option<OfficePhone>,
    pub office_email: Option<Email>,
    /// The community's own sender for renter mail; else "<name> via Tourgate" at MAIL_FROM's
    /// address.
    pub mail_from: Option<lettre::message::Mailbox>,
    /// Where a renter applies after the tour.
    pub apply_url: Option<url::Url>,
    pub kit: TourKit,
}

/// The office's number, with the form people read formatted once (formatting runs the phone
/// library's patterns, which every page view showing it would otherwise repeat).
#[derive(Debug, Clone)]
pub struct OfficePhone {
    phone: Phone,
    shown: String,
}

impl OfficePhone {
    pub fn new(phone: Phone) -> Self {
        let shown = phone.for_people();
        Self { phone, shown }
    }

    pub fn as_e164(&self) -> &str {
        self.phone.as_e164()
    }

    pub fn for_people(&self) -> &str {
        &self.shown
    }
}

/// An image as the communities file names it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImage {
    file: String,
    width: u32,
    height: u32,
    alt: String,
}

/// The branding keys of a `[[community]]` entry, as written.
#[derive(Debug, Default)]
pub(super) struct RawBrand {
    pub logo: Option<RawImage>,
    pub hero: Option<RawImage>,
    pub brand_color: Option<String>,
    pub office_phone: Option<String>,
    pub office_email: Option<String>,
    pub mail_from: Option<String>,
    pub apply_url: Option<String>,
    pub kit: TourKit,
}

impl RawBrand {
    /// Each key parsed; a problem is returned as the key's own message, for the caller to put
    /// the community's name in front of.
    pub(super) fn parse(self, slug: &str, images: &ImageDir) -> Result<Brand, String> {
        let logo = self
            .logo
            .map(|i| image(i, slug, "logo", images, false))
            .transpose()?;
        let hero = self
            .hero
            .map(|i| image(i, slug, "hero", images, true))
            .transpose()?;
        let color = self
            .brand_color
            .map(|c| BrandColor::parse(&c).map_err(|e| format!("brand_color {e}")))
            .transpose()?;
        let office_phone = self
            .office_phone
            .map(|p| {
                Phone::parse(&p).map(OfficePhone::new).map_err(|_| {
                    format!("office_phone `{p}` is not a phone number like (206) 555-0100")
                })
            })
            .transpose()?;
        let office_email = self
            .office_email
            .map(|e| {
                Email::parse(&e).map_err(|_| {
                    format!("office_email `{e}` is not an address like leasing@example.com")
                })
            })
            .transpose()?;
        let mail_from = self
            .mail_from
            .map(|m| {
                m.parse::<lettre::message::Mailbox>().map_err(|_| {
                    format!(
                        "mail_from `{m}` is not an address like Maple Court <tours@example.com>"
                    )
                })
            })
            .transpose()?;
        let apply_url = self
            .apply_url
            .map(|u| match url::Url::parse(&u) {
                Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(url),
                _ => Err(format!("apply_url `{u}` is not an http(s) address")),
            })
            .transpose()?;
        Ok(Brand {
            logo,
            hero,
            color,
            office_phone,
            office_email,
            mail_from,
            apply_url,
            kit: self.kit.checked()?,
        })
    }
}

fn content_type(file: &str) -> Option<(&'static str, &'static str)> {
    let ext = Path::new(file).extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "svg" => ("svg", "image/svg+xml"),
        "png" => ("png", "image/png"),
        "jpg" | "jpeg" => ("jpg", "image/jpeg"),
        "webp" => ("webp", "image/webp"),
        "avif" => ("avif", "image/avif"),
        _ => return None,
    })
}

fn image(
    raw: RawImage,
    slug: &str,
    key: &str,
    images: &ImageDir,
    decorative_allowed: bool,
) -> Result<Image, String> {
    let (ext, content_type) = content_type(&raw.file).ok_or_else(|| {
        format!(
            "{key}.file `{}` must be an .svg, .png, .jpg, .webp or .avif image",
            raw.file
        )
    })?;
    let bytes: Arc<[u8]> = match SHIPPED.iter().find(|(name, _)| *name == raw.file) {
        Some((_, bytes)) => Arc::from(*bytes),
        None => {
            let path = match images {
                ImageDir::Dir(dir) => dir.join(&raw.file),
                ImageDir::Shipped => PathBuf::from(&raw.file),
            };
            let read = match images {
                ImageDir::Dir(_) => std::fs::read(&path),
                ImageDir::Shipped => Err(std::io::ErrorKind::NotFound.into()),
            };
            let bytes = read.map_err(|e| {
                format!(
                    "{key}.file `{}` cannot be read ({}): {e}",
                    raw.file,
                    path.display()
                )
            })?;
            Arc::from(bytes)
        }
    };
    if bytes.is_empty() || bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!(
            "{key}.file `{}` must be a non-empty image of at most 2 MiB",
            raw.file
        ));
    }
    if !(1..=4000).contains(&raw.width) || !(1..=4000).contains(&raw.height) {
        return Err(format!(
            "{key}.width and {key}.height must be between 1 and 4000 pixels"
        ));
    }
    let alt = raw.alt.trim().to_string();
    if alt.is_empty() && !decorative_allowed {
        return Err(format!(
            "{key}.alt must say what the {key} shows (its text, for a logo)"
        ));
    }
    Ok(Image {
        url: format!("/brand/{slug}/{key}.{ext}"),
        bytes,
        content_type,
        width: raw.width,
        height: raw.height,
        alt,
    })
}

/// A link that opens the renter's maps app with directions to `address`.
pub fn directions_url(address: &str) -> String {
    let mut url = url::Url::parse("https://www.google.com/maps/dir/").expect("a valid URL");
    url.query_pairs_mut()
        .append_pair("api", "1")
        .append_pair("destination", address);
    url.to_string()
}

impl super::Community {
    /// Directions to the community's address in the renter's maps app.
    pub fn directions_url(&self) -> &str {
        &self.directions
    }

    /// Whom the renter deals with, for the footer: the office's number when there is one.
    pub fn office_phone_for_people(&self) -> Option<&str> {
        self.brand
            .office_phone
            .as_ref()
            .map(OfficePhone::for_people)
    }
}

#[cfg(test)]
mod tests {
    use super::directions_url;

    #[test]
    fn the_directions_link_carries_the_address_encoded() {
        assert_eq!(
            directions_url("100 Maple St, Seattle, WA 98101"),
            "https://www.google.com/maps/dir/?api=1&destination=100+Maple+St%2C+Seattle%2C+WA+98101"
        );
    }
}
