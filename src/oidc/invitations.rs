//! Opening an invitation's link: which provider the login goes to, with the invitation
//! bound to it (accepted when the login completes, in `linking`).

use diesel::PgConnection;
use uuid::Uuid;

use super::login::LoginParams;
use crate::access::invitations::open_by_secret;
use crate::db::oidc as rows;
use crate::db::users as user_rows;
use crate::error::OidcError;

/// The provider to sign in with and the login's parameters, for an open invitation; the
/// tenant's one enabled provider unless `chosen` names one.
pub fn start(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    secret: &str,
    chosen: Option<String>,
) -> Result<(String, LoginParams), OidcError> {
    let invitation = open_by_secret(conn, tenant_id, secret)?.ok_or_else(|| {
        OidcError::refused(
            410,
            "invitation_invalid",
            "this invitation was already used, revoked or has expired; ask for a new one",
        )
    })?;
    let provider = match chosen {
        Some(name) => name,
        None => {
            let enabled: Vec<String> = rows::list_providers(conn, tenant_id)?
                .into_iter()
                .filter(|p| p.enabled)
                .map(|p| p.name)
                .collect();
            match enabled.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(OidcError::refused(
                        404,
                        "unknown_provider",
                        "this tenant has no login provider to accept the invitation with",
                    ))
                }
                several => {
                    return Err(OidcError::bad_request(format!(
                        "choose the login provider with ?provider= (one of {})",
                        several.join(", ")
                    )))
                }
            }
        }
    };
    let user = user_rows::find(conn, tenant_id, invitation.user_id)?;
    Ok((
        provider,
        LoginParams {
            environment: None,
            login_hint: Some(user.user_name),
            return_to: None,
            invitation_id: Some(invitation.id),
            for_console: false,
        },
    ))
}
