//! What a dry run answers: who would gain and who would lose which roles, with names.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::effective::{Diff, RoleChange};
use crate::db::schema::{applications, environments, roles, users};

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Named {
    pub id: Uuid,
    pub name: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct DescribedChange {
    pub user: Named,
    pub environment: Named,
    pub application: Option<Named>,
    pub role: Named,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Preview {
    pub dry_run: bool,
    pub gains: Vec<DescribedChange>,
    pub losses: Vec<DescribedChange>,
    pub users_gaining: usize,
    pub users_losing: usize,
}

fn names<I: IntoIterator<Item = (Uuid, String)>>(rows: I) -> HashMap<Uuid, String> {
    rows.into_iter().collect()
}

/// Attaches names to a diff's role changes (inside the transaction, before it rolls back).
pub fn describe(conn: &mut PgConnection, tenant_id: Uuid, diff: Diff) -> QueryResult<Preview> {
    let all: Vec<&RoleChange> = diff.gains.iter().chain(diff.losses.iter()).collect();
    let ids = |f: &dyn Fn(&RoleChange) -> Option<Uuid>| -> Vec<Uuid> {
        all.iter()
            .filter_map(|c| f(c))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect()
    };
    let user_names = names(
        users::table
            .filter(users::tenant_id.eq(tenant_id))
            .filter(users::id.eq_any(ids(&|c| Some(c.user_id))))
            .select((users::id, users::user_name))
            .load::<(Uuid, String)>(conn)?,
    );
    let environment_names = names(
        environments::table
            .filter(environments::tenant_id.eq(tenant_id))
            .filter(environments::id.eq_any(ids(&|c| Some(c.environment_id))))
            .select((environments::id, environments::name))
            .load::<(Uuid, String)>(conn)?,
    );
    let application_names = names(
        applications::table
            .filter(applications::tenant_id.eq(tenant_id))
            .filter(applications::id.eq_any(ids(&|c| c.application_id)))
            .select((applications::id, applications::name))
            .load::<(Uuid, String)>(conn)?,
    );
    let role_names = names(
        roles::table
            .filter(roles::tenant_id.eq(tenant_id))
            .filter(roles::id.eq_any(ids(&|c| Some(c.role_id))))
            .select((roles::id, roles::name))
            .load::<(Uuid, String)>(conn)?,
    );
    let named = |map: &HashMap<Uuid, String>, id: Uuid| Named {
        id,
        name: map.get(&id).cloned().unwrap_or_default(),
    };
    let describe_one = |c: &RoleChange| DescribedChange {
        user: named(&user_names, c.user_id),
        environment: named(&environment_names, c.environment_id),
        application: c.application_id.map(|a| named(&application_names, a)),
        role: named(&role_names, c.role_id),
    };
    let count_users = |changes: &[RoleChange]| {
        changes
            .iter()
            .map(|c| c.user_id)
            .collect::<HashSet<_>>()
            .len()
    };
    Ok(Preview {
        dry_run: true,
        users_gaining: count_users(&diff.gains),
        users_losing: count_users(&diff.losses),
        gains: diff.gains.iter().map(describe_one).collect(),
        losses: diff.losses.iter().map(describe_one).collect(),
    })
}
