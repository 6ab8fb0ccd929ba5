//! OpenID Connect: how claims from a provider become a user and their IdP groups. The
//! login flow, account linking and session tokens build on this.

pub mod claims;
