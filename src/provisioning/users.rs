//! SCIM operations on users.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::resource::{audit_entry, location, ResourcePage, ScimResource};
use super::{check_version, meta, parse_id, Rendered, ScimContext};
use crate::access::effective::{self, Pending, Scope, Users};
use crate::db::audit;
use crate::db::filter::{ColumnMap, USER_COLUMNS};
use crate::db::query::{QueryPlan, Window};
use crate::db::users::{self, GroupSources, KeyedUserRow, UserFields, UserRow, UserSource};
use crate::error::ScimApiError;
use crate::events::{self, UserState};
use crate::scim::patch::{apply, parse_patch_request};
use crate::scim::projection::Projection;
use crate::scim::resource::{normalize, renormalize, Document};
use crate::scim::schema::{ResourceType, ENTERPRISE_USER_SCHEMA, USER_RESOURCE, USER_SCHEMA};
use crate::scim::ScimError;

type Result<T> = std::result::Result<T, ScimApiError>;

/// Splits a validated document into the columns and the remaining attributes.
fn fields_from(mut doc: Document) -> Result<UserFields> {
    let user_name = match doc.remove("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => return Err(ScimError::invalid_value("'userName' is required").into()),
    };
    let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
    let external_id = text(doc.remove("externalId"));
    let display_name = text(doc.remove("displayName"));
    let active = doc.remove("active").and_then(|v| v.as_bool());
    Ok(UserFields {
        user_name,
        external_id,
        display_name,
        active,
        attributes: Value::Object(doc),
    })
}

/// The stored user as a document, the form PATCH operates on.
fn document_of(row: &UserRow) -> Document {
    let mut doc = Document::new();
    if let Some(e) = &row.external_id {
        doc.insert("externalId".into(), json!(e));
    }
    doc.insert("userName".into(), json!(row.user_name));
    if let Some(d) = &row.display_name {
        doc.insert("displayName".into(), json!(d));
    }
    if let Some(active) = row.active {
        doc.insert("active".into(), json!(active));
    }
    if let Value::Object(attrs) = &row.attributes {
        doc.extend(attrs.clone());
    }
    doc
}

/// The user as SCIM represents it. `groups` lists (group id, display name) of its direct
/// memberships, or `None` when the response does not include them.
pub fn render(ctx: &ScimContext, row: &UserRow, groups: Option<&[(Uuid, String)]>) -> Rendered {
    let location = location(ctx, &USER_RESOURCE, row.id);
    let mut body = Map::new();
    let doc = document_of(row);
    let mut schemas = vec![json!(USER_SCHEMA)];
    if doc.contains_key(ENTERPRISE_USER_SCHEMA) {
        schemas.push(json!(ENTERPRISE_USER_SCHEMA));
    }
    body.insert("schemas".into(), Value::Array(schemas));
    body.insert("id".into(), json!(row.id));
    body.extend(doc);
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        let list: Vec<Value> = groups
            .iter()
            .map(|(id, name)| {
                json!({
                    "value": id,
                    "$ref": format!("{}/Groups/{id}", ctx.base_url),
                    "display": name,
                    "type": "direct",
                })
            })
            .collect();
        body.insert("groups".into(), Value::Array(list));
    }
    body.insert(
        "meta".into(),
        meta(
            "User",
            &location,
            row.created_at,
            row.updated_at,
            row.version,
        ),
    );
    Rendered {
        body: Value::Object(body),
        location,
        version: row.version,
    }
}

fn groups_of_one(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: Uuid,
) -> Result<Vec<(Uuid, String)>> {
    Ok(
        users::groups_of(conn, ctx.tenant_id(), &[id], GroupSources::Scim)?
            .into_iter()
            .map(|g| (g.group_id, g.display_name))
            .collect(),
    )
}

/// A user's state as lifecycle events see it (SCIM cannot archive).
fn state_of(row: &UserRow) -> UserState {
    UserState {
        active: row.active != Some(false),
        archived: false,
    }
}

/// Whether anything but `active` changed.
fn attributes_changed(before: &UserRow, after: &UserRow) -> bool {
    before.user_name != after.user_name
        || before.external_id != after.external_id
        || before.display_name != after.display_name
        || before.attributes != after.attributes
}

fn user_events(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: Uuid,
    before: Option<&UserRow>,
    after: Option<&UserRow>,
) -> Result<()> {
    events::user_changed(
        conn,
        ctx.tenant_id(),
        &ctx.actor.name,
        id,
        before.map(state_of),
        after.map(state_of),
        matches!((before, after), (Some(b), Some(a)) if attributes_changed(b, a)),
    )?;
    Ok(())
}

/// Marks one user whose `active` flag is about to change (a deactivated user holds
/// nothing), or who was just created; `refresh` then brings its roles up to date.
fn mark_user(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: Uuid,
    created: bool,
) -> Result<Pending> {
    let mut pending = Pending::new(ctx.tenant_id(), "scim_user", &ctx.actor.name);
    if created {
        pending.mark_new(conn, &[id], Scope::Tenant)?;
    } else {
        pending.mark(conn, Users::Ids(&[id]), Scope::Tenant)?;
    }
    Ok(pending)
}

fn refresh_user(conn: &mut PgConnection, pending: &Pending) -> Result<()> {
    effective::refresh(conn, pending, false)?;
    Ok(())
}

fn create(conn: &mut PgConnection, ctx: &ScimContext, body: &Value) -> Result<Rendered> {
    let fields = fields_from(normalize(&USER_RESOURCE, body)?)?;
    conn.transaction(|conn| {
        effective::lock_tenant_shared(conn, ctx.tenant_id())?;
        let row = users::insert(
            conn,
            ctx.tenant_id(),
            Uuid::new_v4(),
            &fields,
            UserSource::Scim,
        )?;
        // "Everyone else" roles reach a new user at once; nothing else can yet.
        if effective::has_everyone_else(conn, ctx.tenant_id())? {
            let pending = mark_user(conn, ctx, row.id, true)?;
            refresh_user(conn, &pending)?;
        }
        let rendered = render(ctx, &row, None);
        user_events(conn, ctx, row.id, None, Some(&row))?;
        audit::append(
            conn,
            audit_entry(
                ctx,
                &USER_RESOURCE,
                row.id,
                "create",
                None,
                Some(rendered.body.clone()),
            ),
        )?;
        Ok(rendered)
    })
}

fn get(conn: &mut PgConnection, ctx: &ScimContext, id: &str) -> Result<Rendered> {
    let id = parse_id(id)?;
    let (row, groups) = users::find_with_groups(conn, ctx.tenant_id(), id)?;
    Ok(render(ctx, &row, Some(&groups)))
}

/// Renders a page of users, loading the groups of all of them in one query when the
/// response includes groups.
fn render_rows(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    rows: &[KeyedUserRow],
    projection: &Projection,
) -> Result<Vec<Value>> {
    let mut groups: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    if projection.wants(&USER_RESOURCE, "groups") && !rows.is_empty() {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.record.id).collect();
        for g in users::groups_of(conn, ctx.tenant_id(), &ids, GroupSources::Scim)? {
            groups
                .entry(g.user_id)
                .or_default()
                .push((g.group_id, g.display_name));
        }
    }
    Ok(rows
        .iter()
        .map(|r| {
            let g = groups
                .get(&r.record.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            projection.apply(&USER_RESOURCE, render(ctx, &r.record, Some(g)).body)
        })
        .collect())
}

/// Replaces the user's attributes with the body (PUT).
fn replace(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Rendered> {
    let id = parse_id(id)?;
    let fields = fields_from(normalize(&USER_RESOURCE, body)?)?;
    conn.transaction(|conn| {
        effective::lock_tenant(conn, ctx.tenant_id())?;
        let before = users::find_for_update(conn, ctx.tenant_id(), id)?;
        check_version(if_match, before.version)?;
        let pending = (fields.active != before.active)
            .then(|| mark_user(conn, ctx, id, false))
            .transpose()?;
        let row = users::update(conn, ctx.tenant_id(), id, &fields)?;
        if let Some(pending) = &pending {
            refresh_user(conn, pending)?;
        }
        user_events(conn, ctx, id, Some(&before), Some(&row))?;
        let groups = groups_of_one(conn, ctx, id)?;
        let rendered = render(ctx, &row, Some(&groups));
        audit::append(
            conn,
            audit_entry(
                ctx,
                &USER_RESOURCE,
                id,
                "replace",
                Some(render(ctx, &before, None).body),
                Some(rendered.body.clone()),
            ),
        )?;
        Ok(rendered)
    })
}

/// Applies a PatchOp; all operations succeed together or nothing changes.
fn patch(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Rendered> {
    let id = parse_id(id)?;
    let operations = parse_patch_request(body)?;
    conn.transaction(|conn| {
        effective::lock_tenant(conn, ctx.tenant_id())?;
        let before = users::find_for_update(conn, ctx.tenant_id(), id)?;
        check_version(if_match, before.version)?;
        let stored = document_of(&before);
        let mut doc = stored.clone();
        for op in &operations {
            apply(&USER_RESOURCE, &mut doc, op)?;
        }
        let doc = renormalize(&USER_RESOURCE, &doc)?;
        let row = if doc == stored {
            before.clone()
        } else {
            let fields = fields_from(doc)?;
            let pending = (fields.active != before.active)
                .then(|| mark_user(conn, ctx, id, false))
                .transpose()?;
            let row = users::update(conn, ctx.tenant_id(), id, &fields)?;
            if let Some(pending) = &pending {
                refresh_user(conn, pending)?;
            }
            user_events(conn, ctx, id, Some(&before), Some(&row))?;
            audit::append(
                conn,
                audit_entry(
                    ctx,
                    &USER_RESOURCE,
                    id,
                    "patch",
                    Some(render(ctx, &before, None).body),
                    Some(render(ctx, &row, None).body),
                ),
            )?;
            row
        };
        let groups = groups_of_one(conn, ctx, id)?;
        Ok(render(ctx, &row, Some(&groups)))
    })
}

fn delete(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: &str,
    if_match: Option<&str>,
) -> Result<()> {
    let id = parse_id(id)?;
    conn.transaction(|conn| {
        // The user's effective roles go with the row (`users::delete`); the events
        // saying so are written first, while the roles can still be read.
        effective::lock_tenant(conn, ctx.tenant_id())?;
        let before = users::find_for_update(conn, ctx.tenant_id(), id)?;
        check_version(if_match, before.version)?;
        events::user_loses_everything(conn, ctx.tenant_id(), &ctx.actor.name, id)?;
        crate::db::groups::touch_groups_of_user(conn, ctx.tenant_id(), id)?;
        // At a parent tenant: the person's moderations of its workspaces end.
        crate::access::workspaces::person_deleted(conn, ctx.tenant_id(), &ctx.actor.name, id)?;
        users::delete(conn, ctx.tenant_id(), id)?;
        user_events(conn, ctx, id, Some(&before), None)?;
        audit::append(
            conn,
            audit_entry(
                ctx,
                &USER_RESOURCE,
                id,
                "delete",
                Some(render(ctx, &before, None).body),
                None,
            ),
        )?;
        Ok(())
    })
}

/// SCIM Users (RFC 7643 §4.1), with the enterprise extension.
pub struct ScimUsers;

impl ScimResource for ScimUsers {
    fn resource_type(&self) -> &'static ResourceType {
        &USER_RESOURCE
    }

    fn columns(&self) -> &'static ColumnMap {
        &USER_COLUMNS
    }

    fn create(&self, conn: &mut PgConnection, ctx: &ScimContext, body: &Value) -> Result<Rendered> {
        create(conn, ctx, body)
    }

    /// A user's groups come with it in one statement, so the projection changes nothing.
    fn get(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        _projection: &Projection,
    ) -> Result<Rendered> {
        get(conn, ctx, id)
    }

    fn replace(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Rendered> {
        replace(conn, ctx, id, body, if_match)
    }

    fn patch(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        _answer: bool,
    ) -> Result<Rendered> {
        patch(conn, ctx, id, body, if_match)
    }

    fn delete(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<()> {
        delete(conn, ctx, id, if_match)
    }

    fn page(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        plan: &QueryPlan,
        window: &Window,
        count: i64,
        projection: &Projection,
    ) -> Result<ResourcePage> {
        ResourcePage::read::<KeyedUserRow, _>(conn, plan, window, count, |conn, rows| {
            render_rows(conn, ctx, rows, projection)
        })
    }

    fn patch_answers_resource(&self) -> bool {
        true
    }
}
