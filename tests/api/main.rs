//! Integration tests: the real server, a real PostgreSQL, one database per test.

#[path = "../common/filter_strategy.rs"]
mod filter_strategy;
mod helpers;
mod hostile;

mod access;
mod admin;
mod audit;
mod auth;
mod bulk;
mod check;
mod concurrency;
mod console;
mod default_groups;
mod delegation;
mod delegation_properties;
mod deployments;
mod dialects;
mod differential;
mod discovery;
mod distribution;
mod effective_properties;
mod end_user_groups;
mod errors;
mod events;
mod fairness;
mod fake_provider;
mod group_mappings;
mod groups;
mod invitations;
mod listing;
mod mapped_groups;
mod oidc;
mod openapi;
mod operations;
mod paging;
mod request_connection;
mod robustness;
mod unicode_case;
mod users;
mod webhooks;
mod workspaces;
