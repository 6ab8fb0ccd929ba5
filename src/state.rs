//! What every request handler shares.

use crate::db::PgPool;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Largest page a list request returns.
    pub max_page_size: i64,
    /// Externally visible base URL (e.g. `https://rolegate.example.com`); when unset, it
    /// is derived from each request's Host header.
    pub public_url: Option<String>,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Settings,
}
