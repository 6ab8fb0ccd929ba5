//! SCIM operations on groups. Members live one row per membership: a PATCH that adds or
//! removes members touches only the named rows, whatever the size of the group.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::resource::{audit_entry, location, ResourcePage, ScimResource};
use super::{check_version, meta, parse_id, Rendered, ScimContext};
use crate::access::effective::{self, Pending, Scope, Users};
use crate::db::audit;
use crate::db::filter::{ColumnMap, GROUP_COLUMNS};
use crate::db::groups::{self, GroupFields, GroupRow, KeyedGroupRow};
use crate::db::query::{QueryPlan, Window};
use crate::db::users;
use crate::error::ScimApiError;
use crate::events::{self, EventType, GroupKind};
use crate::scim::filter::{AttrPath, AttributeInfo, Filter};
use crate::scim::patch::{apply, parse_patch_request, Op, PatchOperation};
use crate::scim::projection::Projection;
use crate::scim::resource::{normalize, renormalize, Document};
use crate::scim::schema::{ResourceType, GROUP_RESOURCE, GROUP_SCHEMA};
use crate::scim::ScimError;

type Result<T> = std::result::Result<T, ScimApiError>;

/// A change to the membership table.
#[derive(Debug, Clone, PartialEq)]
enum MemberChange {
    Add(Vec<Uuid>),
    Remove(Vec<Uuid>),
    /// Remove the members a value filter selects (`members[value eq "…"]`).
    RemoveMatching(Filter),
    RemoveAll,
}

/// Takes `members` out of a validated document and returns the member ids.
fn take_members(doc: &mut Document) -> Result<Vec<Uuid>> {
    match doc.remove("members") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(member_id).collect(),
        Some(_) => Err(ScimError::invalid_value("'members' must be an array").into()),
    }
}

fn member_id(item: &Value) -> Result<Uuid> {
    let value = item
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("each member needs a 'value' naming a user"))?;
    if item
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.eq_ignore_ascii_case("User"))
    {
        return Err(ScimError::invalid_value("only users can be members of a group").into());
    }
    Uuid::parse_str(value).map_err(|_| {
        ScimError::invalid_value(format!("member '{value}' is not a user of this tenant")).into()
    })
}

fn fields_from(mut doc: Document) -> Result<GroupFields> {
    let display_name = match doc.remove("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => return Err(ScimError::invalid_value("'displayName' is required").into()),
    };
    let external_id = doc
        .remove("externalId")
        .and_then(|v| v.as_str().map(str::to_string));
    doc.remove("members");
    Ok(GroupFields {
        display_name,
        external_id,
        attributes: Value::Object(doc),
    })
}

fn document_of(row: &GroupRow) -> Document {
    let mut doc = Document::new();
    if let Some(e) = &row.external_id {
        doc.insert("externalId".into(), json!(e));
    }
    doc.insert("displayName".into(), json!(row.display_name));
    if let Value::Object(attrs) = &row.attributes {
        doc.extend(attrs.clone());
    }
    doc
}

/// The group as SCIM represents it; `members` is `None` when the response leaves it out.
pub fn render(ctx: &ScimContext, row: &GroupRow, members: Option<&[Uuid]>) -> Rendered {
    let location = location(ctx, &GROUP_RESOURCE, row.id);
    let mut body = Map::new();
    body.insert("schemas".into(), json!([GROUP_SCHEMA]));
    body.insert("id".into(), json!(row.id));
    body.extend(document_of(row));
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        let list: Vec<Value> = members
            .iter()
            .map(|id| json!({"value": id, "$ref": format!("{}/Users/{id}", ctx.base_url), "type": "User"}))
            .collect();
        body.insert("members".into(), Value::Array(list));
    }
    body.insert(
        "meta".into(),
        meta(
            "Group",
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

fn group_event(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    event_type: EventType,
    row: &GroupRow,
) -> Result<()> {
    events::group(
        conn,
        ctx.tenant_id(),
        &ctx.actor.name,
        event_type,
        GroupKind::Idp,
        row.id,
        &row.display_name,
    )?;
    Ok(())
}

/// Refuses member ids that are not users of the tenant.
fn check_members_exist(conn: &mut PgConnection, ctx: &ScimContext, ids: &[Uuid]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    let unique: Vec<Uuid> = unique.into_iter().collect();
    let found: HashSet<Uuid> = users::existing_ids(conn, ctx.tenant_id(), &unique)?
        .into_iter()
        .collect();
    if let Some(missing) = unique.iter().find(|id| !found.contains(id)) {
        return Err(ScimError::invalid_value(format!(
            "member '{missing}' is not a user of this tenant"
        ))
        .into());
    }
    Ok(())
}

fn members_of_one(conn: &mut PgConnection, ctx: &ScimContext, id: Uuid) -> Result<Vec<Uuid>> {
    Ok(groups::members_of(conn, ctx.tenant_id(), &[id])?
        .into_iter()
        .map(|(_, u)| u)
        .collect())
}

/// Keeps effective roles right as a group's members change, and records which members
/// actually came and went for the `membership.changed` event. Only a group mapped into some
/// end-user group holding roles grants anything; for the others the refresh does nothing.
/// The caller holds the tenant's access lock, so no mapping can appear meanwhile.
struct MembershipUpkeep {
    group_id: Uuid,
    added: Vec<Uuid>,
    removed: Vec<Uuid>,
    /// The applications the group's mappings grant roles on; None when there are none.
    scope: Option<Scope>,
    pending: Option<Pending>,
}

impl MembershipUpkeep {
    fn begin(conn: &mut PgConnection, ctx: &ScimContext, group_id: Uuid) -> Result<Self> {
        // Most groups are mapped nowhere: one primary-key probe settles it.
        let scope = if crate::db::group_mappings::is_mapped(conn, ctx.tenant_id(), group_id)? {
            Scope::of_idp_group(conn, ctx.tenant_id(), group_id)?
        } else {
            Scope::Applications(Vec::new())
        };
        let grants = !scope.is_nothing();
        Ok(MembershipUpkeep {
            group_id,
            added: Vec::new(),
            removed: Vec::new(),
            scope: grants.then_some(scope),
            pending: grants
                .then(|| Pending::new(ctx.tenant_id(), "scim_group_members", &ctx.actor.name)),
        })
    }

    fn users(&mut self, conn: &mut PgConnection, ids: &[Uuid]) -> Result<()> {
        if let (Some(pending), Some(scope)) = (&mut self.pending, &self.scope) {
            if !ids.is_empty() {
                pending.mark(conn, Users::Ids(ids), scope.clone())?;
            }
        }
        Ok(())
    }

    /// Marks every current member; call it before they are removed.
    fn all_members(&mut self, conn: &mut PgConnection) -> Result<()> {
        if let (Some(pending), Some(scope)) = (&mut self.pending, &self.scope) {
            pending.mark(conn, Users::IdpGroupMembers(self.group_id), scope.clone())?;
        }
        Ok(())
    }

    /// Notes members that were added (`added`) or removed; returns whether there were any.
    fn changed(&mut self, added: bool, ids: Vec<Uuid>) -> bool {
        let any = !ids.is_empty();
        if added {
            self.added.extend(ids);
        } else {
            self.removed.extend(ids);
        }
        any
    }

    /// The membership event, then the access events the refresh writes (cause, then effect).
    fn finish(&mut self, conn: &mut PgConnection, ctx: &ScimContext) -> Result<()> {
        events::membership_changed(
            conn,
            ctx.tenant_id(),
            &ctx.actor.name,
            GroupKind::Idp,
            self.group_id,
            &std::mem::take(&mut self.added),
            &std::mem::take(&mut self.removed),
        )?;
        if let Some(pending) = self.pending.take() {
            effective::refresh(conn, &pending, false)?;
        }
        Ok(())
    }
}

fn create(conn: &mut PgConnection, ctx: &ScimContext, body: &Value) -> Result<Rendered> {
    let mut doc = normalize(&GROUP_RESOURCE, body)?;
    let members = take_members(&mut doc)?;
    let fields = fields_from(doc)?;
    conn.transaction(|conn| {
        check_members_exist(conn, ctx, &members)?;
        let row = groups::insert(conn, ctx.tenant_id(), Uuid::new_v4(), &fields)?;
        let added = groups::add_members(conn, ctx.tenant_id(), row.id, &members)?;
        group_event(conn, ctx, EventType::GroupCreated, &row)?;
        events::membership_changed(
            conn,
            ctx.tenant_id(),
            &ctx.actor.name,
            GroupKind::Idp,
            row.id,
            &added,
            &[],
        )?;
        let members = members_of_one(conn, ctx, row.id)?;
        let rendered = render(ctx, &row, Some(&members));
        audit::append(
            conn,
            audit_entry(
                ctx,
                &GROUP_RESOURCE,
                row.id,
                "create",
                None,
                Some(rendered.body.clone()),
            ),
        )?;
        Ok(rendered)
    })
}

fn get(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: &str,
    with_members: bool,
) -> Result<Rendered> {
    let id = parse_id(id)?;
    let row = groups::find(conn, ctx.tenant_id(), id)?;
    // `excludedAttributes=members` does not read the membership table at all.
    let members = if with_members {
        Some(members_of_one(conn, ctx, id)?)
    } else {
        None
    };
    Ok(render(ctx, &row, members.as_deref()))
}

/// Renders a page of groups; members of all of them come from one query, and none is read
/// when the response leaves members out.
fn render_rows(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    rows: &[KeyedGroupRow],
    projection: &Projection,
) -> Result<Vec<Value>> {
    let want_members = projection.wants(&GROUP_RESOURCE, "members");
    let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if want_members && !rows.is_empty() {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.record.id).collect();
        for (group, user) in groups::members_of(conn, ctx.tenant_id(), &ids)? {
            members.entry(group).or_default().push(user);
        }
    }
    Ok(rows
        .iter()
        .map(|r| {
            let m = want_members.then(|| {
                members
                    .get(&r.record.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
            });
            projection.apply(&GROUP_RESOURCE, render(ctx, &r.record, m).body)
        })
        .collect())
}

fn replace(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Rendered> {
    let id = parse_id(id)?;
    let mut doc = normalize(&GROUP_RESOURCE, body)?;
    let members = take_members(&mut doc)?;
    let fields = fields_from(doc)?;
    conn.transaction(|conn| {
        effective::lock_tenant(conn, ctx.tenant_id())?;
        let before = groups::find_for_update(conn, ctx.tenant_id(), id)?;
        check_version(if_match, before.version)?;
        check_members_exist(conn, ctx, &members)?;
        let mut upkeep = MembershipUpkeep::begin(conn, ctx, id)?;
        let before_members = members_of_one(conn, ctx, id)?;
        let row = groups::update(conn, ctx.tenant_id(), id, &fields)?;
        let wanted: HashSet<Uuid> = members.iter().copied().collect();
        let current: HashSet<Uuid> = before_members.iter().copied().collect();
        let to_remove: Vec<Uuid> = current.difference(&wanted).copied().collect();
        let to_add: Vec<Uuid> = members
            .iter()
            .copied()
            .filter(|m| !current.contains(m))
            .collect();
        upkeep.users(conn, &to_remove)?;
        upkeep.users(conn, &to_add)?;
        let removed = groups::remove_members(conn, ctx.tenant_id(), id, &to_remove)?;
        let added = groups::add_members(conn, ctx.tenant_id(), id, &to_add)?;
        upkeep.changed(false, removed);
        upkeep.changed(true, added);
        upkeep.finish(conn, ctx)?;
        if document_of(&row) != document_of(&before) {
            group_event(conn, ctx, EventType::GroupUpdated, &row)?;
        }
        let after_members = members_of_one(conn, ctx, id)?;
        let rendered = render(ctx, &row, Some(&after_members));
        audit::append(
            conn,
            audit_entry(
                ctx,
                &GROUP_RESOURCE,
                id,
                "replace",
                Some(render(ctx, &before, Some(&before_members)).body),
                Some(rendered.body.clone()),
            ),
        )?;
        Ok(rendered)
    })
}

/// Splits PATCH operations into membership changes and changes to the other attributes.
fn split_operations(
    operations: Vec<PatchOperation>,
) -> Result<Vec<(Option<MemberChange>, Option<PatchOperation>)>> {
    let mut out = Vec::new();
    for op in operations {
        let targets_members = op.path.as_ref().is_some_and(|p| {
            p.attr.is("members")
                && p.attr
                    .urn
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(GROUP_SCHEMA))
        });
        if targets_members {
            out.extend(member_changes(&op)?.into_iter().map(|c| (Some(c), None)));
            continue;
        }
        // A path-less add/replace may carry `members` next to other attributes.
        if op.path.is_none() {
            if let Some(Value::Object(fields)) = &op.value {
                let (member_fields, rest): (Map<String, Value>, Map<String, Value>) = fields
                    .clone()
                    .into_iter()
                    .partition(|(k, _)| k.eq_ignore_ascii_case("members"));
                if let Some((_, members)) = member_fields.into_iter().next() {
                    let ids = member_ids(&members)?;
                    if op.op == Op::Replace {
                        out.push((Some(MemberChange::RemoveAll), None));
                    }
                    out.push((Some(MemberChange::Add(ids)), None));
                    if !rest.is_empty() {
                        out.push((
                            None,
                            Some(PatchOperation {
                                value: Some(Value::Object(rest)),
                                ..op
                            }),
                        ));
                    }
                    continue;
                }
            }
        }
        out.push((None, Some(op)));
    }
    Ok(out)
}

fn member_ids(value: &Value) -> Result<Vec<Uuid>> {
    match value {
        Value::Array(items) => items.iter().map(member_id).collect(),
        Value::Object(_) => Ok(vec![member_id(value)?]),
        Value::Null => Ok(Vec::new()),
        _ => Err(ScimError::invalid_value("'members' must be an array of {\"value\": id}").into()),
    }
}

fn member_changes(op: &PatchOperation) -> Result<Vec<MemberChange>> {
    let path = op
        .path
        .as_ref()
        .ok_or_else(|| ScimError::invalid_path("members"))?;
    if path.attr.sub.is_some() || path.sub.is_some() {
        return Err(ScimError::mutability(
            "member values are immutable; add or remove members instead",
        )
        .into());
    }
    let value = op.value.as_ref().unwrap_or(&Value::Null);
    match (op.op, &path.filter) {
        (Op::Add, None) => Ok(vec![MemberChange::Add(member_ids(value)?)]),
        (Op::Replace, None) => Ok(vec![
            MemberChange::RemoveAll,
            MemberChange::Add(member_ids(value)?),
        ]),
        (Op::Remove, None) if !value.is_null() => {
            Ok(vec![MemberChange::Remove(member_ids(value)?)])
        }
        (Op::Remove, None) => Ok(vec![MemberChange::RemoveAll]),
        (Op::Remove, Some(filter)) => Ok(vec![MemberChange::RemoveMatching(filter.clone())]),
        (Op::Replace, Some(filter)) => Ok(vec![
            MemberChange::RemoveMatching(filter.clone()),
            MemberChange::Add(member_ids(value)?),
        ]),
        (Op::Add, Some(_)) => {
            Err(ScimError::invalid_path("'add' to members takes no value filter").into())
        }
    }
}

struct MemberAttributes;
impl AttributeInfo for MemberAttributes {
    fn case_exact(&self, _: &AttrPath) -> bool {
        false
    }
}

/// The ids a `members[...]` filter selects. `value eq` terms (and `or` of them) are read
/// straight from the filter; anything else is evaluated against the member rows.
fn filter_ids(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: Uuid,
    filter: &Filter,
) -> Result<Vec<Uuid>> {
    fn direct(filter: &Filter, out: &mut Vec<Uuid>) -> bool {
        use crate::scim::filter::{CompValue, CompareOp};
        match filter {
            Filter::Or(a, b) => direct(a, out) && direct(b, out),
            Filter::Compare(p, CompareOp::Eq, CompValue::String(s))
                if p.is("value") && p.sub.is_none() =>
            {
                // A value that is not an id names no member: nothing to remove.
                if let Ok(id) = Uuid::parse_str(s) {
                    out.push(id);
                }
                true
            }
            _ => false,
        }
    }
    let mut ids = Vec::new();
    if direct(filter, &mut ids) {
        return Ok(ids);
    }
    Ok(members_of_one(conn, ctx, id)?
        .into_iter()
        .filter(|m| filter.matches(&json!({"value": m, "type": "User"}), &MemberAttributes))
        .collect())
}

/// Applies a PatchOp. Returns the resource (with members) only when `want_resource`: a
/// membership change on a huge group need not send the member list back.
fn patch(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    want_resource: bool,
) -> Result<Rendered> {
    let id = parse_id(id)?;
    let operations = split_operations(parse_patch_request(body)?)?;
    conn.transaction(|conn| {
        effective::lock_tenant(conn, ctx.tenant_id())?;
        let before = groups::find_for_update(conn, ctx.tenant_id(), id)?;
        check_version(if_match, before.version)?;
        let mut upkeep = MembershipUpkeep::begin(conn, ctx, id)?;
        let stored = document_of(&before);
        let mut doc = stored.clone();
        let mut membership_changed = false;
        let mut audit_changes = Vec::new();
        for (change, op) in operations {
            if let Some(op) = op {
                apply(&GROUP_RESOURCE, &mut doc, &op)?;
            }
            let Some(change) = change else { continue };
            let tenant = ctx.tenant_id();
            let changed = match &change {
                MemberChange::Add(ids) => {
                    check_members_exist(conn, ctx, ids)?;
                    upkeep.users(conn, ids)?;
                    let added = groups::add_members(conn, tenant, id, ids)?;
                    upkeep.changed(true, added)
                }
                MemberChange::Remove(ids) => {
                    upkeep.users(conn, ids)?;
                    let removed = groups::remove_members(conn, tenant, id, ids)?;
                    upkeep.changed(false, removed)
                }
                MemberChange::RemoveMatching(filter) => {
                    let ids = filter_ids(conn, ctx, id, filter)?;
                    upkeep.users(conn, &ids)?;
                    let removed = groups::remove_members(conn, tenant, id, &ids)?;
                    upkeep.changed(false, removed)
                }
                MemberChange::RemoveAll => {
                    upkeep.all_members(conn)?;
                    let removed = groups::remove_all_members(conn, tenant, id)?;
                    upkeep.changed(false, removed)
                }
            };
            if changed {
                membership_changed = true;
                audit_changes.push(match change {
                    MemberChange::Add(ids) => json!({"op": "add", "members": ids}),
                    MemberChange::Remove(ids) => json!({"op": "remove", "members": ids}),
                    MemberChange::RemoveMatching(f) => json!({"op": "remove", "filter": f.to_string()}),
                    MemberChange::RemoveAll => json!({"op": "remove", "members": "all"}),
                });
            }
        }
        upkeep.finish(conn, ctx)?;
        let doc = renormalize(&GROUP_RESOURCE, &doc)?;
        let attributes_changed = doc != stored;
        let row = if attributes_changed {
            let row = groups::update(conn, ctx.tenant_id(), id, &fields_from(doc)?)?;
            group_event(conn, ctx, EventType::GroupUpdated, &row)?;
            row
        } else if membership_changed {
            groups::touch(conn, ctx.tenant_id(), id)?
        } else {
            before.clone()
        };
        if attributes_changed || membership_changed {
            // Membership changes are recorded as the operations applied, not as full member
            // lists, so auditing a change to a huge group costs the same as to a small one.
            audit::append(
                conn,
                audit_entry(ctx, &GROUP_RESOURCE,
                    id,
                    "patch",
                    Some(render(ctx, &before, None).body),
                    Some(json!({"resource": render(ctx, &row, None).body, "memberChanges": audit_changes})),
                ),
            )?;
        }
        if want_resource {
            let members = members_of_one(conn, ctx, id)?;
            Ok(render(ctx, &row, Some(&members)))
        } else {
            Ok(render(ctx, &row, None))
        }
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
        effective::lock_tenant(conn, ctx.tenant_id())?;
        let before = groups::find_for_update(conn, ctx.tenant_id(), id)?;
        check_version(if_match, before.version)?;
        // Members lose what the group's mappings granted.
        let mut upkeep = MembershipUpkeep::begin(conn, ctx, id)?;
        upkeep.all_members(conn)?;
        groups::delete(conn, ctx.tenant_id(), id)?;
        upkeep.finish(conn, ctx)?;
        group_event(conn, ctx, EventType::GroupDeleted, &before)?;
        audit::append(
            conn,
            audit_entry(
                ctx,
                &GROUP_RESOURCE,
                id,
                "delete",
                Some(render(ctx, &before, None).body),
                None,
            ),
        )?;
        Ok(())
    })
}

/// SCIM Groups (RFC 7643 §4.2) as the IdP sends them; members are users of the tenant.
pub struct ScimGroups;

impl ScimResource for ScimGroups {
    fn resource_type(&self) -> &'static ResourceType {
        &GROUP_RESOURCE
    }

    fn columns(&self) -> &'static ColumnMap {
        &GROUP_COLUMNS
    }

    fn create(&self, conn: &mut PgConnection, ctx: &ScimContext, body: &Value) -> Result<Rendered> {
        create(conn, ctx, body)
    }

    fn get(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        projection: &Projection,
    ) -> Result<Rendered> {
        get(conn, ctx, id, projection.wants(&GROUP_RESOURCE, "members"))
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
        answer: bool,
    ) -> Result<Rendered> {
        patch(conn, ctx, id, body, if_match, answer)
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
        ResourcePage::read::<KeyedGroupRow, _>(conn, plan, window, count, |conn, rows| {
            render_rows(conn, ctx, rows, projection)
        })
    }

    /// A group's member list can be huge: a PATCH answers 204 unless `attributes` asks.
    fn patch_answers_resource(&self) -> bool {
        false
    }
}
