//! The permission check applications ask: may this user do this, on this application (or
//! in this environment)? Answered from the maintained effective roles, so it is exactly as
//! fresh as they are: a check after any committed change, on any node, sees it.

use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::authorization::{check_one_by_id, check_privileges, CheckRow};

/// Checks one request may carry.
pub const MAX_CHECKS: usize = 100;
const MAX_TEXT: usize = 256;

/// One check as a client sends it (query string or JSON).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckRequest {
    pub user_id: Option<Uuid>,
    #[serde(alias = "userName")]
    pub user_name: Option<String>,
    #[serde(alias = "externalId")]
    pub external_id: Option<String>,
    pub privilege: String,
    pub application_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBatch {
    pub checks: Vec<CheckRequest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckAnswer {
    pub allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckResults {
    pub results: Vec<CheckAnswer>,
}

/// Whom a check is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(Uuid),
    UserName(String),
    ExternalId(String),
}

/// Where the privilege is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckScope {
    Application(Uuid),
    Environment(Uuid),
}

/// A well-formed check: one user, one privilege key, one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub user: UserRef,
    pub privilege: String,
    pub scope: CheckScope,
}

fn text(value: String, what: &str) -> Result<String, String> {
    if value.is_empty() || value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(format!(
            "{what} must be 1 to {MAX_TEXT} characters without control characters"
        ));
    }
    Ok(value)
}

impl TryFrom<CheckRequest> for Check {
    type Error = String;

    fn try_from(r: CheckRequest) -> Result<Self, String> {
        let user = match (r.user_id, r.user_name, r.external_id) {
            (Some(id), None, None) => UserRef::Id(id),
            (None, Some(name), None) => UserRef::UserName(text(name, "user_name")?),
            (None, None, Some(ext)) => UserRef::ExternalId(text(ext, "external_id")?),
            _ => {
                return Err(
                    "name the user by exactly one of user_id, user_name, external_id".into(),
                )
            }
        };
        let scope = match (r.application_id, r.environment_id) {
            (Some(app), None) => CheckScope::Application(app),
            (None, Some(env)) => CheckScope::Environment(env),
            _ => return Err("give exactly one of application_id, environment_id".into()),
        };
        Ok(Check {
            user,
            privilege: text(r.privilege, "privilege")?,
            scope,
        })
    }
}

/// Parses a batch: at most `MAX_CHECKS`, each well-formed (the error names the position).
pub fn parse_batch(batch: CheckBatch) -> Result<Vec<Check>, String> {
    if batch.checks.is_empty() || batch.checks.len() > MAX_CHECKS {
        return Err(format!("send 1 to {MAX_CHECKS} checks"));
    }
    batch
        .checks
        .into_iter()
        .enumerate()
        .map(|(i, c)| Check::try_from(c).map_err(|e| format!("checks[{i}]: {e}")))
        .collect()
}

/// Answers the checks, in order, in one statement.
pub fn run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    checks: &[Check],
) -> diesel::QueryResult<Vec<bool>> {
    if let [Check {
        user: UserRef::Id(user),
        privilege,
        scope,
    }] = checks
    {
        let (environment, application) = match *scope {
            CheckScope::Application(a) => (None, Some(a)),
            CheckScope::Environment(e) => (Some(e), None),
        };
        return check_one_by_id(conn, tenant_id, *user, privilege, environment, application)
            .map(|allowed| vec![allowed]);
    }
    let rows: Vec<CheckRow> = checks
        .iter()
        .map(|c| {
            let mut row = CheckRow {
                privilege: c.privilege.clone(),
                ..CheckRow::default()
            };
            match &c.user {
                UserRef::Id(id) => row.user_id = Some(*id),
                UserRef::UserName(n) => row.user_name = Some(n.clone()),
                UserRef::ExternalId(e) => row.external_id = Some(e.clone()),
            }
            match c.scope {
                CheckScope::Application(a) => row.application_id = Some(a),
                CheckScope::Environment(e) => row.environment_id = Some(e),
            }
            row
        })
        .collect();
    check_privileges(conn, tenant_id, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> CheckRequest {
        CheckRequest {
            user_id: Some(Uuid::nil()),
            privilege: "app.read".into(),
            application_id: Some(Uuid::nil()),
            ..CheckRequest::default()
        }
    }

    #[test]
    fn a_check_names_one_user_and_one_scope() {
        assert!(Check::try_from(request()).is_ok());
        let two_users = CheckRequest {
            user_name: Some("x".into()),
            ..request()
        };
        assert!(Check::try_from(two_users).is_err());
        let no_user = CheckRequest {
            user_id: None,
            ..request()
        };
        assert!(Check::try_from(no_user).is_err());
        let two_scopes = CheckRequest {
            environment_id: Some(Uuid::nil()),
            ..request()
        };
        assert!(Check::try_from(two_scopes).is_err());
        let no_scope = CheckRequest {
            application_id: None,
            ..request()
        };
        assert!(Check::try_from(no_scope).is_err());
    }

    #[test]
    fn privilege_and_names_are_bounded_text() {
        for bad in ["", "a\u{0}b", &"p".repeat(MAX_TEXT + 1)] {
            let r = CheckRequest {
                privilege: bad.to_string(),
                ..request()
            };
            assert!(Check::try_from(r).is_err(), "{bad:?}");
        }
        // The bound counts characters, not bytes: the longest key is accepted.
        let longest = "é".repeat(MAX_TEXT);
        let r = CheckRequest {
            privilege: longest.clone(),
            ..request()
        };
        assert_eq!(Check::try_from(r).map(|c| c.privilege), Ok(longest));
        let by_name = CheckRequest {
            user_id: None,
            user_name: Some("élodie".into()),
            ..request()
        };
        assert_eq!(
            Check::try_from(by_name).map(|c| c.user),
            Ok(UserRef::UserName("élodie".into()))
        );
    }

    #[test]
    fn a_batch_holds_one_to_a_hundred_checks() {
        assert!(parse_batch(CheckBatch { checks: vec![] }).is_err());
        assert!(parse_batch(CheckBatch {
            checks: vec![request(); MAX_CHECKS]
        })
        .is_ok());
        assert!(parse_batch(CheckBatch {
            checks: vec![request(); MAX_CHECKS + 1]
        })
        .is_err());
        let mut checks = vec![request(); 3];
        checks[2].privilege = String::new();
        assert!(parse_batch(CheckBatch { checks })
            .err()
            .is_some_and(|e| e.starts_with("checks[2]")));
    }
}
