//! Invitation links: every write to `invitations` is here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::invitations;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct InvitationRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl InvitationRow {
    /// Neither accepted, revoked nor expired.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

/// Revokes the user's open link, if any; answers how many were revoked.
pub fn revoke_open(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::tenant_id.eq(tenant_id))
            .filter(invitations::user_id.eq(user_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
}

/// A new open link for the user (revoke the previous one first).
pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    secret_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<InvitationRow> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::tenant_id.eq(tenant_id),
            invitations::id.eq(Uuid::new_v4()),
            invitations::user_id.eq(user_id),
            invitations::secret_hash.eq(secret_hash),
            invitations::expires_at.eq(expires_at),
        ))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
}

/// The tenant's invitation whose secret hashes to this, open or not.
pub fn find_by_secret_hash(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    secret_hash: &[u8],
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::tenant_id.eq(tenant_id))
        .filter(invitations::secret_hash.eq(secret_hash))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()
}

/// The invitation, locked until the transaction ends (accepting it is once only).
pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .find((tenant_id, id))
        .select(InvitationRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn mark_accepted(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::update(invitations::table.find((tenant_id, id)))
        .set(invitations::accepted_at.eq(diesel::dsl::now))
        .execute(conn)
}
