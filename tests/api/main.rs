//! Integration tests: the real server, a real PostgreSQL, one database per test.

mod helpers;

mod audit;
mod auth;
mod bulk;
mod concurrency;
mod discovery;
mod errors;
mod groups;
mod listing;
mod paging;
mod users;
