//! A community's logo, hero photo and colours (README "Communities file"), served from memory:
//! the images were read and checked at start. The colours are a stylesheet of their own
//! because the CSP allows no inline style.
use actix_web::{web, HttpResponse};

use super::error::WebError;
use super::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/brand/{community}/{file}", web::get().to(brand_file));
}

async fn brand_file(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (slug, file) = path.into_inner();
    let c = state
        .settings
        .communities
        .get(&slug)
        .ok_or(WebError::NotFound)?;
    let cached = |content_type: &str| {
        let mut res = HttpResponse::Ok();
        res.content_type(content_type)
            .insert_header(("Cache-Control", "public, max-age=3600"));
        res
    };
    if file == "style.css" {
        let color = c.brand.color.as_ref().ok_or(WebError::NotFound)?;
        return Ok(cached("text/css; charset=utf-8").body(format!(
            ":root {{ --accent: {}; --accent-hover: {}; --accent-soft: {}; }}\n",
            color.css(),
            color.hover_css(),
            color.soft_css()
        )));
    }
    let wanted = format!("/brand/{slug}/{file}");
    let image = [&c.brand.logo, &c.brand.hero]
        .into_iter()
        .flatten()
        .find(|i| i.url == wanted)
        .ok_or(WebError::NotFound)?;
    Ok(cached(image.content_type).body(image.bytes.to_vec()))
}
