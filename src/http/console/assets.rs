//! The console's stylesheet, script and icon, embedded in the binary. Their URLs carry a hash of
//! their content, so they can be cached for good and a new release is fetched at once.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
const ICON: &str = include_str!("assets/icon.svg");

fn fingerprint(content: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(content.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

static CSS_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/console/assets/console.{}.css", fingerprint(CSS)));
static JS_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/console/assets/console.{}.js", fingerprint(JS)));
static ICON_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/console/assets/icon.{}.svg", fingerprint(ICON)));

pub fn stylesheet() -> &'static str {
    CSS_PATH.as_str()
}

pub fn script() -> &'static str {
    JS_PATH.as_str()
}

/// Named by every page, so the browser does not ask for `/favicon.ico`.
pub fn icon() -> &'static str {
    ICON_PATH.as_str()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{name}", web::get().to(asset));
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    let name = format!("/console/assets/{}", name.into_inner());
    let (body, kind) = if name == *CSS_PATH {
        (CSS, "text/css; charset=utf-8")
    } else if name == *JS_PATH {
        (JS, "text/javascript; charset=utf-8")
    } else if name == *ICON_PATH {
        (ICON, "image/svg+xml")
    } else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .content_type(kind)
        .body(body)
}
