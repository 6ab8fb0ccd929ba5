//! What a successful login does to the directory, in one transaction: find the user (by
//! provider subject, then externalId, then a *verified* e-mail), or create them just in
//! time; refuse archived and deactivated users; make their memberships in the provider's
//! claim groups match the token; refresh their effective roles.
//!
//! Anything refused here rolls the whole transaction back: a refused login changes nothing.

use diesel::{Connection, PgConnection};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::claims::MappedIdentity;
use crate::access::effective::{self, Pending, Scope, Users};
use crate::db::audit::{self as audit_log, NewAuditEntry};
use crate::db::oidc::{self as rows, ProviderRow};
use crate::db::users::{self as user_rows, UserFields, UserRow, UserSource};
use crate::error::OidcError;
use crate::events::{self, EventType, GroupKind, Subject, UserState};

/// How the login found its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkedBy {
    /// An earlier login linked this subject.
    Subject,
    ExternalId,
    VerifiedEmail,
    /// The invited user, through their invitation's link.
    Invitation,
    /// Created by this login.
    Created,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub linked_by: LinkedBy,
    pub groups_added: Vec<String>,
    pub groups_removed: Vec<String>,
}

fn refused(status: u16, slug: &'static str, message: impl Into<String>) -> OidcError {
    OidcError::refused(status, slug, message)
}

/// Exactly one candidate, none, or a refusal when several users match (linking would be a
/// guess).
fn single(candidates: Vec<UserRow>, what: &str) -> Result<Option<UserRow>, OidcError> {
    match candidates.len() {
        0 => Ok(None),
        1 => Ok(candidates.into_iter().next()),
        _ => Err(refused(
            409,
            "ambiguous_account",
            format!("several users match this login's {what}; an administrator must resolve it"),
        )),
    }
}

/// The user attributes the claims describe, for a user the login created.
fn attributes_from(identity: &MappedIdentity, previous: Option<&Value>) -> Value {
    let mut attributes = previous
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    let mut name = Map::new();
    if let Some(g) = &identity.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &identity.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if let Some(d) = &identity.display_name {
        name.insert("formatted".into(), json!(d));
    }
    if name.is_empty() {
        attributes.remove("name");
    } else {
        attributes.insert("name".into(), Value::Object(name));
    }
    // Only an address the provider verified is stored: an unverified one would let whoever
    // controls the provider account claim somebody else's address.
    match identity.email.as_ref().filter(|_| identity.email_verified) {
        Some(email) => {
            attributes.insert(
                "emails".into(),
                json!([{"value": email, "type": "work", "primary": true}]),
            );
        }
        None => {
            attributes.remove("emails");
        }
    }
    Value::Object(attributes)
}

/// The userName of a user the login creates (and keeps following): the verified e-mail
/// address when the claimed name is that address, otherwise the claimed name in the
/// provider's namespace (`<provider>:<name>`), so that a login can never occupy a name —
/// somebody's address above all — that the identity provider may provision by SCIM later.
fn jit_user_name(provider: &ProviderRow, identity: &MappedIdentity) -> String {
    let verified = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified);
    match verified {
        Some(email) if crate::casefold::eq(email, &identity.user_name) => {
            identity.user_name.clone()
        }
        _ => format!("{}:{}", provider.name, identity.user_name),
    }
}

/// A unique violation on userName, as the refusal it is.
fn name_conflict(e: diesel::result::Error, user_name: &str) -> OidcError {
    if crate::db::is_unique_violation(&e) {
        refused(
            409,
            "user_name_taken",
            format!(
                "another user already has the userName {user_name:?}, and this login does not prove it is the same \
                 person (no matching externalId or verified e-mail)"
            ),
        )
    } else {
        e.into()
    }
}

fn check_may_log_in(conn: &mut PgConnection, user: &UserRow) -> Result<String, OidcError> {
    let status = rows::user_status(conn, user.tenant_id, user.id)?;
    if status == "archived" {
        return Err(refused(
            403,
            "user_archived",
            "this account is archived; ask an administrator to restore it",
        ));
    }
    if user.active == Some(false) {
        return Err(refused(
            403,
            "user_deactivated",
            "this account is deactivated at the identity provider",
        ));
    }
    Ok(status)
}

/// The invited user of an open invitation (both locked), when the login's verified
/// e-mail is the invited address.
fn invited_user(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    invitation_id: Uuid,
    identity: &MappedIdentity,
) -> Result<UserRow, OidcError> {
    let invitation = crate::db::invitations::find_for_update(conn, tenant_id, invitation_id)?
        .filter(|i| i.is_open(chrono::Utc::now()))
        .ok_or_else(|| {
            refused(
                410,
                "invitation_invalid",
                "this invitation was already used, revoked or has expired; ask for a new one",
            )
        })?;
    let user = user_rows::find_for_update(conn, tenant_id, invitation.user_id)?;
    let invited_address = match (&identity.email, identity.email_verified) {
        (Some(email), true) => rows::users_by_email(conn, tenant_id, email)?
            .iter()
            .any(|u| u.id == user.id),
        _ => false,
    };
    if !invited_address {
        return Err(refused(
            403,
            "invitation_email_mismatch",
            "this account's verified e-mail is not the address the invitation was sent to",
        ));
    }
    Ok(user)
}

/// Finds or creates the user and brings their claim groups and effective roles up to date.
/// A login started from an invitation's link (`invitation`) signs in the invited user and
/// accepts the invitation; an invited user signs in no other way.
pub fn sign_in(
    conn: &mut PgConnection,
    provider: &ProviderRow,
    identity: &MappedIdentity,
    invitation: Option<Uuid>,
) -> Result<SignedIn, OidcError> {
    let tenant_id = provider.tenant_id;
    conn.transaction(|conn| {
        // Shared: a login changes only its own user's memberships and effective roles (the
        // user row lock orders logins of one user), so logins run side by side while admin
        // changes and SCIM group pushes, which take the lock exclusively, wait for them.
        effective::lock_tenant_shared(conn, tenant_id)?;
        let invited = invitation
            .map(|id| invited_user(conn, tenant_id, id, identity))
            .transpose()?;
        let known = rows::find_identity(conn, tenant_id, provider.id, &identity.subject)?;
        if let (Some(link), Some(invited)) = (&known, &invited) {
            if link.user_id != invited.id {
                return Err(refused(
                    409,
                    "account_linked_elsewhere",
                    "this account already signs in as another user; an administrator must resolve it",
                ));
            }
        }
        let (user, linked_by, created_by_login) = match (&known, invited) {
            (None, Some(invited)) => {
                if rows::identity_of_user(conn, tenant_id, provider.id, invited.id)?.is_some() {
                    return Err(refused(
                        409,
                        "account_linked_elsewhere",
                        "the invited user is already linked to another account of this provider; an administrator must resolve it",
                    ));
                }
                (invited, LinkedBy::Invitation, false)
            }
            (Some(link), _) => (
                user_rows::find_for_update(conn, tenant_id, link.user_id)?,
                LinkedBy::Subject,
                link.created_by_login,
            ),
            (None, None) => match find_existing(conn, tenant_id, identity)? {
                Some((user, how)) => {
                    if rows::identity_of_user(conn, tenant_id, provider.id, user.id)?.is_some() {
                        return Err(refused(
                            409,
                            "account_linked_elsewhere",
                            "the matching user is already linked to another account of this provider; an administrator must resolve it",
                        ));
                    }
                    (user, how, false)
                }
                None if provider.jit_provisioning => {
                    let fields = UserFields {
                        user_name: jit_user_name(provider, identity),
                        external_id: identity.external_id.clone(),
                        display_name: identity.display_name.clone(),
                        active: Some(true),
                        attributes: attributes_from(identity, None),
                    };
                    let user = user_rows::insert(conn, tenant_id, Uuid::new_v4(), &fields, UserSource::Login)
                        .map_err(|e| name_conflict(e, &identity.user_name))?;
                    (user, LinkedBy::Created, true)
                }
                None => {
                    return Err(refused(
                        403,
                        "no_account",
                        "no user matches this login and this provider does not create users; ask an administrator for access",
                    ))
                }
            },
        };
        // What the user holds is noted before this login changes it (its status, its claim
        // groups); a user the login creates held nothing.
        let actor = format!("oidc:{}", provider.name);
        let mut pending = Pending::new(tenant_id, "oidc_login", &actor);
        if linked_by == LinkedBy::Created {
            pending.mark_new(conn, &[user.id], Scope::Tenant)?;
        } else {
            pending.mark(conn, Users::Ids(&[user.id]), Scope::Tenant)?;
        }
        let status = check_may_log_in(conn, &user)?;
        if let Some(invitation) = invitation {
            crate::db::invitations::mark_accepted(conn, tenant_id, invitation)?;
        }
        if status == "invited" {
            if invitation.is_none() {
                return Err(refused(
                    403,
                    "invitation_not_accepted",
                    "this user is invited: open the invitation link to accept it",
                ));
            }
            rows::set_user_status(conn, tenant_id, user.id, "active")?;
        }
        if created_by_login && linked_by == LinkedBy::Subject {
            // The login owns this user's attributes: follow the claims.
            let fields = UserFields {
                user_name: jit_user_name(provider, identity),
                external_id: identity.external_id.clone(),
                display_name: identity.display_name.clone(),
                active: user.active,
                attributes: attributes_from(identity, Some(&user.attributes)),
            };
            let changed = fields.user_name != user.user_name
                || fields.external_id != user.external_id
                || fields.display_name != user.display_name
                || fields.attributes != user.attributes;
            if changed {
                user_rows::update(conn, tenant_id, user.id, &fields)
                    .map_err(|e| name_conflict(e, &identity.user_name))?;
                events::record(
                    conn,
                    tenant_id,
                    &format!("oidc:{}", provider.name),
                    EventType::UserUpdated,
                    Subject::User(user.id),
                    json!({}),
                )?;
            }
        }
        match &known {
            Some(_) => rows::touch_identity(conn, tenant_id, provider.id, &identity.subject)?,
            None => rows::link_identity(
                conn,
                tenant_id,
                provider.id,
                &identity.subject,
                user.id,
                created_by_login,
                match linked_by {
                    LinkedBy::ExternalId => "external_id",
                    LinkedBy::VerifiedEmail => "verified_email",
                    LinkedBy::Invitation => "invitation",
                    _ => "created",
                },
            )?,
        }
        let sync = match &identity.groups {
            Some(values) => rows::sync_claim_memberships(conn, tenant_id, provider.id, user.id, values)?,
            None => rows::ClaimSync::default(),
        };
        login_events(conn, tenant_id, &actor, user.id, created_by_login && known.is_none(), &sync)?;
        // Effective roles are kept current by every change; this login's own changes are
        // the only ones to apply (none for a returning user whose groups are the same).
        let memberships_changed = !sync.added.is_empty() || !sync.removed.is_empty();
        if known.is_none() || status == "invited" || memberships_changed {
            effective::refresh(conn, &pending, false)?;
        }
        let outcome = SignedIn {
            user_id: user.id,
            linked_by,
            groups_added: sync.added.into_iter().map(|(v, _)| v).collect(),
            groups_removed: sync.removed.into_iter().map(|(v, _)| v).collect(),
        };
        let changed = known.is_none() || !outcome.groups_added.is_empty() || !outcome.groups_removed.is_empty();
        if changed {
            audit_log::append(
                conn,
                NewAuditEntry {
                    tenant_id,
                    actor: &actor,
                    resource_type: "User",
                    resource_id: user.id.to_string(),
                    operation: "login",
                    before: None,
                    after: Some(json!({"subject": identity.subject, "login": outcome})),
                },
            )?;
        }
        Ok(outcome)
    })
}

/// The events of a login: the user it created, the claim groups it created, and each
/// claim group the user joined or left.
fn login_events(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &str,
    user_id: Uuid,
    created_user: bool,
    sync: &rows::ClaimSync,
) -> Result<(), OidcError> {
    let live = UserState {
        active: true,
        archived: false,
    };
    if created_user {
        events::user_changed(conn, tenant_id, actor, user_id, None, Some(live), true)?;
    }
    for (value, group) in &sync.created {
        events::group(
            conn,
            tenant_id,
            actor,
            EventType::GroupCreated,
            GroupKind::Idp,
            *group,
            value,
        )?;
    }
    for (_, group) in &sync.added {
        events::membership_changed(
            conn,
            tenant_id,
            actor,
            GroupKind::Idp,
            *group,
            &[user_id],
            &[],
        )?;
    }
    for (_, group) in &sync.removed {
        events::membership_changed(
            conn,
            tenant_id,
            actor,
            GroupKind::Idp,
            *group,
            &[],
            &[user_id],
        )?;
    }
    Ok(())
}

/// A user provisioned otherwise that this login proves to be: same externalId, or the same
/// e-mail address when the provider says it verified it.
fn find_existing(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    identity: &MappedIdentity,
) -> Result<Option<(UserRow, LinkedBy)>, OidcError> {
    if let Some(external_id) = &identity.external_id {
        if let Some(user) = single(
            rows::users_by_external_id(conn, tenant_id, external_id)?,
            "externalId",
        )? {
            return Ok(Some((lock(conn, user)?, LinkedBy::ExternalId)));
        }
    }
    if let (Some(email), true) = (&identity.email, identity.email_verified) {
        if let Some(user) = single(
            rows::users_by_email(conn, tenant_id, email)?,
            "verified e-mail",
        )? {
            return Ok(Some((lock(conn, user)?, LinkedBy::VerifiedEmail)));
        }
    }
    Ok(None)
}

fn lock(conn: &mut PgConnection, user: UserRow) -> Result<UserRow, OidcError> {
    Ok(user_rows::find_for_update(conn, user.tenant_id, user.id)?)
}
