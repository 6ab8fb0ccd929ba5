//! OpenID Connect login: providers per tenant, the login flow, the claim mapper, account
//! linking, and the session tokens Rolegate signs for applications.

pub mod claims;
pub mod discovery;
pub mod invitations;
pub mod keys;
pub mod linking;
pub mod login;
pub mod providers;
pub mod secrets;
pub mod session;
