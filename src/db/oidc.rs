//! Rows and queries of OpenID Connect login: providers, their environments, linked
//! identities, logins in flight, session signing keys and the IdP groups seen in claims.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use serde_json::Value;
use uuid::Uuid;

use super::schema::{
    environments, group_members, groups, oidc_identities, oidc_login_attempts,
    oidc_provider_environments, oidc_providers, signing_keys, users,
};
use super::users::UserRow;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = oidc_providers)]
pub struct ProviderRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_encrypted: Option<Vec<u8>>,
    pub scopes: String,
    pub claim_mapping: Value,
    pub jit_provisioning: bool,
    pub redirect_uris: Value,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = oidc_providers, treat_none_as_null = true)]
pub struct ProviderFields {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_encrypted: Option<Vec<u8>>,
    pub scopes: String,
    pub claim_mapping: Value,
    pub jit_provisioning: bool,
    pub redirect_uris: Value,
    pub enabled: bool,
}

pub fn insert_provider(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &ProviderFields,
) -> QueryResult<ProviderRow> {
    diesel::insert_into(oidc_providers::table)
        .values((
            oidc_providers::tenant_id.eq(tenant_id),
            oidc_providers::id.eq(id),
            fields,
        ))
        .returning(ProviderRow::as_returning())
        .get_result(conn)
}

pub fn update_provider(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &ProviderFields,
) -> QueryResult<ProviderRow> {
    diesel::update(oidc_providers::table.find((tenant_id, id)))
        .set((fields, oidc_providers::updated_at.eq(diesel::dsl::now)))
        .returning(ProviderRow::as_returning())
        .get_result(conn)
}

pub fn delete_provider(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(oidc_providers::table.find((tenant_id, id))).execute(conn)
}

pub fn find_provider(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<ProviderRow> {
    oidc_providers::table
        .find((tenant_id, id))
        .select(ProviderRow::as_select())
        .first(conn)
}

/// The provider a login URL names (names compare case-insensitively).
pub fn find_provider_by_name(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
) -> QueryResult<ProviderRow> {
    diesel::sql_query(
        "SELECT * FROM oidc_providers \
         WHERE tenant_id = $1 AND (rolegate_fold(name) COLLATE \"C\") = (rolegate_fold($2) COLLATE \"C\")",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(name)
    .get_result(conn)
}

pub fn list_providers(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<ProviderRow>> {
    oidc_providers::table
        .filter(oidc_providers::tenant_id.eq(tenant_id))
        .order((oidc_providers::name, oidc_providers::id))
        .select(ProviderRow::as_select())
        .load(conn)
}

/// (provider, environment id, environment name) for the given providers, in environment order.
pub fn environments_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid, String)>> {
    oidc_provider_environments::table
        .inner_join(
            environments::table.on(environments::tenant_id
                .eq(oidc_provider_environments::tenant_id)
                .and(environments::id.eq(oidc_provider_environments::environment_id))),
        )
        .filter(oidc_provider_environments::tenant_id.eq(tenant_id))
        .filter(oidc_provider_environments::provider_id.eq_any(provider_ids))
        .order((environments::position, environments::id))
        .select((
            oidc_provider_environments::provider_id,
            environments::id,
            environments::name,
        ))
        .load(conn)
}

pub fn set_environments(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
    environment_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(
        oidc_provider_environments::table
            .filter(oidc_provider_environments::tenant_id.eq(tenant_id))
            .filter(oidc_provider_environments::provider_id.eq(provider_id)),
    )
    .execute(conn)?;
    let rows: Vec<_> = environment_ids
        .iter()
        .map(|e| {
            (
                oidc_provider_environments::tenant_id.eq(tenant_id),
                oidc_provider_environments::provider_id.eq(provider_id),
                oidc_provider_environments::environment_id.eq(*e),
            )
        })
        .collect();
    diesel::insert_into(oidc_provider_environments::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oidc_login_attempts)]
pub struct LoginAttempt {
    pub tenant_id: Uuid,
    pub state: String,
    pub provider_id: Uuid,
    pub environment_id: Uuid,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when the login was started from an invitation's link.
    pub invitation_id: Option<Uuid>,
    /// Set when the login was started from the console's sign-in page.
    pub for_console: bool,
}

/// Expired logins cleared per login start: bounded, so that a start after a flood never
/// pays for the whole flood.
const PURGE_BATCH: i64 = 100;

/// Records a login in flight, and clears up to [`PURGE_BATCH`] of this tenant's expired
/// ones while at it.
pub fn insert_attempt(conn: &mut PgConnection, attempt: &LoginAttempt) -> QueryResult<()> {
    diesel::sql_query(
        "DELETE FROM oidc_login_attempts WHERE tenant_id = $1 AND state IN \
         (SELECT state FROM oidc_login_attempts \
          WHERE tenant_id = $1 AND expires_at < now() LIMIT $2)",
    )
    .bind::<SqlUuid, _>(attempt.tenant_id)
    .bind::<diesel::sql_types::BigInt, _>(PURGE_BATCH)
    .execute(conn)?;
    diesel::insert_into(oidc_login_attempts::table)
        .values(attempt)
        .execute(conn)?;
    Ok(())
}

/// Takes the login with this state out of the table: a state is good for one callback.
pub fn consume_attempt(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    state: &str,
) -> QueryResult<Option<LoginAttempt>> {
    diesel::delete(oidc_login_attempts::table.find((tenant_id, state)))
        .returning(LoginAttempt::as_returning())
        .get_result(conn)
        .optional()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oidc_identities)]
pub struct Identity {
    pub tenant_id: Uuid,
    pub provider_id: Uuid,
    pub subject: String,
    pub user_id: Uuid,
    pub created_by_login: bool,
    pub linked_by: String,
    pub created_at: DateTime<Utc>,
    pub last_login_at: DateTime<Utc>,
}

pub fn find_identity(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
    subject: &str,
) -> QueryResult<Option<Identity>> {
    oidc_identities::table
        .find((tenant_id, provider_id, subject))
        .select(Identity::as_select())
        .first(conn)
        .optional()
}

/// The subject a user is already linked to at this provider, if any.
pub fn identity_of_user(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<Identity>> {
    oidc_identities::table
        .filter(oidc_identities::tenant_id.eq(tenant_id))
        .filter(oidc_identities::user_id.eq(user_id))
        .filter(oidc_identities::provider_id.eq(provider_id))
        .select(Identity::as_select())
        .first(conn)
        .optional()
}

pub fn link_identity(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
    subject: &str,
    user_id: Uuid,
    created_by_login: bool,
    linked_by: &str,
) -> QueryResult<()> {
    diesel::insert_into(oidc_identities::table)
        .values((
            oidc_identities::tenant_id.eq(tenant_id),
            oidc_identities::provider_id.eq(provider_id),
            oidc_identities::subject.eq(subject),
            oidc_identities::user_id.eq(user_id),
            oidc_identities::created_by_login.eq(created_by_login),
            oidc_identities::linked_by.eq(linked_by),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn touch_identity(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
    subject: &str,
) -> QueryResult<()> {
    diesel::update(oidc_identities::table.find((tenant_id, provider_id, subject)))
        .set(oidc_identities::last_login_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// Users whose externalId is exactly `external_id` (at most two are read: one is a match,
/// two is ambiguous).
pub fn users_by_external_id(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    external_id: &str,
) -> QueryResult<Vec<UserRow>> {
    diesel::sql_query(
        "SELECT * FROM users WHERE tenant_id = $1 AND (external_id COLLATE \"C\") = $2 LIMIT 2",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(external_id)
    .load(conn)
}

/// Users with this e-mail address (any of their `emails`, or a userName equal to it),
/// compared case-insensitively: a probe of the userName index and one of the e-mail index.
pub fn users_by_email(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    email: &str,
) -> QueryResult<Vec<UserRow>> {
    diesel::sql_query(
        "SELECT * FROM users u WHERE u.tenant_id = $1 AND ( \
            (rolegate_fold(u.user_name) COLLATE \"C\") = (rolegate_fold($2) COLLATE \"C\") \
            OR user_emails(u.attributes) @> ARRAY[rolegate_fold($2)]) \
         LIMIT 2",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(email)
    .load(conn)
}

pub fn set_user_status(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    status: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find((tenant_id, user_id)))
        .set(users::status.eq(status))
        .execute(conn)?;
    Ok(())
}

pub fn user_status(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<String> {
    users::table
        .find((tenant_id, user_id))
        .select(users::status)
        .first(conn)
}

/// A group that came from a provider's groups claim.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct ClaimGroup {
    pub id: Uuid,
    /// The claim value, as the provider sends it.
    pub value: String,
    /// Members (users whose last login carried the value).
    pub members: i64,
}

#[derive(QueryableByName)]
struct ClaimGroupRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    members: i64,
}

pub fn claim_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
) -> QueryResult<Vec<ClaimGroup>> {
    let rows: Vec<ClaimGroupRow> = diesel::sql_query(
        "SELECT g.id, g.external_id AS value, \
                (SELECT count(*) FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id) AS members \
         FROM groups g WHERE g.tenant_id = $1 AND g.oidc_provider_id = $2 \
         ORDER BY g.external_id COLLATE \"C\"",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(provider_id)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ClaimGroup {
            id: r.id,
            value: r.value,
            members: r.members,
        })
        .collect())
}

/// Claim groups by value: `(claim value, group id)`.
pub type ClaimGroupIds = Vec<(String, Uuid)>;

/// Makes sure a group exists for each claim value of the provider (so it can be mapped
/// before anyone logs in with it); returns the ids of all of them, in `values` order, and
/// the ones this call created.
pub fn ensure_claim_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
    values: &[String],
) -> QueryResult<(ClaimGroupIds, ClaimGroupIds)> {
    let created: Vec<(String, Uuid)> = diesel::sql_query(
        "INSERT INTO groups (tenant_id, id, display_name, external_id, oidc_provider_id) \
         SELECT $1, gen_random_uuid(), v, v, $2 FROM unnest($3::text[]) AS v \
         ON CONFLICT (tenant_id, oidc_provider_id, external_id COLLATE \"C\") \
             WHERE oidc_provider_id IS NOT NULL DO NOTHING \
         RETURNING display_name AS value, id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(provider_id)
    .bind::<Array<Text>, _>(values)
    .load::<GroupValueId>(conn)?
    .into_iter()
    .map(|g| (g.value, g.id))
    .collect();
    let found: Vec<(Option<String>, Uuid)> = groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::oidc_provider_id.eq(provider_id))
        .filter(groups::external_id.eq_any(values))
        .select((groups::external_id, groups::id))
        .load(conn)?;
    let all = values
        .iter()
        .filter_map(|v| {
            found
                .iter()
                .find(|(value, _)| value.as_deref() == Some(v.as_str()))
                .map(|(_, id)| (v.clone(), *id))
        })
        .collect();
    Ok((all, created))
}

#[derive(QueryableByName)]
struct GroupValueId {
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// What a login changed in its user's claim-group memberships.
#[derive(Debug, Default)]
pub struct ClaimSync {
    pub added: ClaimGroupIds,
    pub removed: ClaimGroupIds,
    /// Claim groups that did not exist before this login.
    pub created: ClaimGroupIds,
}

/// Makes the user's memberships in this provider's claim groups exactly `values`; other
/// groups (SCIM's, other providers') are untouched.
pub fn sync_claim_memberships(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
    user_id: Uuid,
    values: &[String],
) -> QueryResult<ClaimSync> {
    let removed: Vec<GroupValueId> = diesel::sql_query(
        "DELETE FROM group_members m USING groups g \
         WHERE m.tenant_id = $1 AND m.user_id = $3 \
           AND g.tenant_id = m.tenant_id AND g.id = m.group_id AND g.oidc_provider_id = $2 \
           AND NOT ((g.external_id COLLATE \"C\") = ANY ($4::text[])) \
         RETURNING g.external_id AS value, g.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(provider_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<Array<Text>, _>(values)
    .load(conn)?;
    let (groups, created) = ensure_claim_groups(conn, tenant_id, provider_id, values)?;
    let ids: Vec<Uuid> = groups.iter().map(|(_, id)| *id).collect();
    let added: Vec<Uuid> = diesel::insert_into(group_members::table)
        .values(
            ids.iter()
                .map(|g| {
                    (
                        group_members::tenant_id.eq(tenant_id),
                        group_members::group_id.eq(*g),
                        group_members::user_id.eq(user_id),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .on_conflict_do_nothing()
        .returning(group_members::group_id)
        .get_results(conn)?;
    Ok(ClaimSync {
        added: groups
            .into_iter()
            .filter(|(_, id)| added.contains(id))
            .collect(),
        removed: removed.into_iter().map(|r| (r.value, r.id)).collect(),
        created,
    })
}

/// Users holding roles through the provider's claim groups: members of those of its groups
/// that are mapped into end-user groups. One statement.
pub fn members_of_mapped_claim_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    provider_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    use super::schema::group_mappings;
    let mapped = group_mappings::table
        .filter(group_mappings::tenant_id.eq(tenant_id))
        .select(group_mappings::idp_group_id);
    group_members::table
        .inner_join(
            groups::table.on(groups::tenant_id
                .eq(group_members::tenant_id)
                .and(groups::id.eq(group_members::group_id))),
        )
        .filter(group_members::tenant_id.eq(tenant_id))
        .filter(groups::oidc_provider_id.eq(provider_id))
        .filter(groups::id.eq_any(mapped))
        .select(group_members::user_id)
        .distinct()
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub tenant_id: Uuid,
    pub kid: String,
    pub algorithm: String,
    pub private_key_encrypted: Vec<u8>,
    pub public_jwk: Value,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

pub fn active_signing_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> QueryResult<Option<SigningKeyRow>> {
    signing_keys::table
        .filter(signing_keys::tenant_id.eq(tenant_id))
        .filter(signing_keys::retired_at.is_null())
        .select(SigningKeyRow::as_select())
        .first(conn)
        .optional()
}

/// Stores a new key unless another node stored one first (one active key per tenant).
pub fn insert_signing_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kid: &str,
    algorithm: &str,
    private_key_encrypted: &[u8],
    public_jwk: &Value,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO signing_keys (tenant_id, kid, algorithm, private_key_encrypted, public_jwk) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(kid)
    .bind::<Text, _>(algorithm)
    .bind::<diesel::sql_types::Bytea, _>(private_key_encrypted)
    .bind::<diesel::sql_types::Jsonb, _>(public_jwk)
    .execute(conn)
}

pub fn retire_signing_keys(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::tenant_id.eq(tenant_id))
            .filter(signing_keys::retired_at.is_null()),
    )
    .set(signing_keys::retired_at.eq(diesel::dsl::now))
    .execute(conn)
}

/// Keys applications must still accept: the active one and those retired less than
/// `grace_seconds` ago (the tokens they signed may not have expired yet).
pub fn published_signing_keys(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    grace_seconds: i64,
) -> QueryResult<Vec<SigningKeyRow>> {
    let cutoff = Utc::now() - chrono::Duration::seconds(grace_seconds);
    signing_keys::table
        .filter(signing_keys::tenant_id.eq(tenant_id))
        .filter(
            signing_keys::retired_at
                .is_null()
                .or(signing_keys::retired_at.gt(cutoff)),
        )
        .order(signing_keys::created_at.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)
}

/// Whether any tenant has an OpenID Connect provider (for the start-up check of the public
/// URL that login redirects depend on).
pub fn any_provider(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        oidc_providers::table.select(oidc_providers::id),
    ))
    .get_result(conn)
}
