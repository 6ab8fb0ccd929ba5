//! The OpenAPI 3 document of the admin API, served at `/admin/v1/openapi.json`.
//!
//! Schemas come from the request and response types themselves (`utoipa::ToSchema`); the
//! operations are listed once in `ROUTES`, which a test checks against the routes the
//! server actually registers.

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};
use utoipa::openapi::ComponentsBuilder;
use utoipa::ToSchema;

use super::admin::method_not_allowed;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/openapi.json")
            .route(web::get().to(document))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn document() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}

/// What an operation answers on success.
#[derive(Clone, Copy)]
pub enum Answer {
    /// 200/201 with a schema.
    Body(u16, &'static str),
    /// 200 with `{"<key>": [schema]}`.
    List(&'static str, &'static str),
    /// 204, no body.
    Empty,
}

/// One operation of the admin API.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub body: Option<&'static str>,
    pub answer: Answer,
    /// Query parameters besides the mutation flags: (name, type, description).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    /// Takes `dry_run` and `confirm_self_lockout`.
    pub mutation: bool,
}

const fn read(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    answer: Answer,
    query: &'static [(&'static str, &'static str, &'static str)],
) -> Route {
    Route {
        method: "get",
        path,
        tag,
        summary,
        body: None,
        answer,
        query,
        mutation: false,
    }
}

const fn write(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    answer: Answer,
) -> Route {
    Route {
        method,
        path,
        tag,
        summary,
        body,
        answer,
        query: &[],
        mutation: true,
    }
}

use Answer::{Body, Empty, List};

const ENVIRONMENT_FILTER: &[(&str, &str, &str)] =
    &[("environment_id", "uuid", "only those of this environment")];

pub const ROUTES: &[Route] = &[
    read(
        "/environments",
        "environments",
        "The tenant's environments, in order",
        List("environments", "Environment"),
        &[],
    ),
    write(
        "post",
        "/environments",
        "environments",
        "Create an environment",
        Some("EnvironmentInput"),
        Body(201, "Environment"),
    ),
    read(
        "/environments/{id}",
        "environments",
        "Read an environment",
        Body(200, "Environment"),
        &[],
    ),
    write(
        "patch",
        "/environments/{id}",
        "environments",
        "Rename or reorder an environment",
        Some("EnvironmentInput"),
        Body(200, "Environment"),
    ),
    write(
        "delete",
        "/environments/{id}",
        "environments",
        "Delete an environment and everything in it (not the last one)",
        None,
        Empty,
    ),
    read(
        "/privileges",
        "roles",
        "The privilege catalogue",
        List("privileges", "Privilege"),
        &[("scope", "string", "environment or application")],
    ),
    read(
        "/roles",
        "roles",
        "System and custom roles with their privileges",
        List("roles", "RoleView"),
        &[("scope", "string", "environment or application")],
    ),
    write(
        "post",
        "/roles",
        "roles",
        "Create a custom role from the catalogue",
        Some("RoleCreate"),
        Body(201, "RoleView"),
    ),
    read(
        "/roles/{id}",
        "roles",
        "Read a role",
        Body(200, "RoleView"),
        &[],
    ),
    write(
        "patch",
        "/roles/{id}",
        "roles",
        "Change a custom role (holders are affected at once)",
        Some("RoleUpdate"),
        Body(200, "RoleView"),
    ),
    write(
        "delete",
        "/roles/{id}",
        "roles",
        "Delete a custom role and its assignments",
        None,
        Empty,
    ),
    read(
        "/applications",
        "applications",
        "Applications",
        List("applications", "Application"),
        ENVIRONMENT_FILTER,
    ),
    write(
        "post",
        "/applications",
        "applications",
        "Create an application; a user-bound token's user becomes Project admin",
        Some("ApplicationCreate"),
        Body(201, "Application"),
    ),
    read(
        "/applications/{id}",
        "applications",
        "Read an application",
        Body(200, "Application"),
        &[],
    ),
    write(
        "patch",
        "/applications/{id}",
        "applications",
        "Rename or re-describe an application",
        Some("ApplicationUpdate"),
        Body(200, "Application"),
    ),
    write(
        "delete",
        "/applications/{id}",
        "applications",
        "Delete an application and its assignments",
        None,
        Empty,
    ),
    read(
        "/end-user-groups",
        "end-user groups",
        "End-user groups",
        List("end_user_groups", "EndUserGroup"),
        ENVIRONMENT_FILTER,
    ),
    write(
        "post",
        "/end-user-groups",
        "end-user groups",
        "Create an end-user group in one environment",
        Some("EndUserGroupCreate"),
        Body(201, "EndUserGroupView"),
    ),
    read(
        "/end-user-groups/{id}",
        "end-user groups",
        "Read an end-user group with its direct members",
        Body(200, "EndUserGroupView"),
        &[],
    ),
    write(
        "patch",
        "/end-user-groups/{id}",
        "end-user groups",
        "Rename or re-describe an end-user group",
        Some("EndUserGroupUpdate"),
        Body(200, "EndUserGroupView"),
    ),
    Route {
        query: &[("force", "boolean", "delete even with direct members")],
        ..write(
            "delete",
            "/end-user-groups/{id}",
            "end-user groups",
            "Delete an end-user group, revoking what it granted",
            None,
            Empty,
        )
    },
    write(
        "post",
        "/end-user-groups/{id}/members",
        "end-user groups",
        "Add direct members",
        Some("MembersInput"),
        Body(200, "EndUserGroupView"),
    ),
    write(
        "delete",
        "/end-user-groups/{id}/members",
        "end-user groups",
        "Remove direct members",
        Some("MembersInput"),
        Body(200, "EndUserGroupView"),
    ),
    write(
        "post",
        "/end-user-groups/{id}/duplicate",
        "end-user groups",
        "Copy a group with the chosen parts",
        Some("DuplicateInput"),
        Body(201, "EndUserGroupView"),
    ),
    read(
        "/collaborator-groups",
        "collaborator groups",
        "Collaborator groups",
        List("collaborator_groups", "CollaboratorGroup"),
        &[],
    ),
    write(
        "post",
        "/collaborator-groups",
        "collaborator groups",
        "Create a collaborator group",
        Some("CollaboratorGroupCreate"),
        Body(201, "CollaboratorGroupView"),
    ),
    read(
        "/collaborator-groups/{id}",
        "collaborator groups",
        "Read a collaborator group with its members",
        Body(200, "CollaboratorGroupView"),
        &[],
    ),
    write(
        "patch",
        "/collaborator-groups/{id}",
        "collaborator groups",
        "Rename or re-describe a collaborator group",
        Some("CollaboratorGroupUpdate"),
        Body(200, "CollaboratorGroupView"),
    ),
    write(
        "delete",
        "/collaborator-groups/{id}",
        "collaborator groups",
        "Delete a collaborator group, revoking what it granted",
        None,
        Empty,
    ),
    write(
        "post",
        "/collaborator-groups/{id}/members",
        "collaborator groups",
        "Add members",
        Some("MembersInput"),
        Body(200, "CollaboratorGroupView"),
    ),
    write(
        "delete",
        "/collaborator-groups/{id}/members",
        "collaborator groups",
        "Remove members",
        Some("MembersInput"),
        Body(200, "CollaboratorGroupView"),
    ),
    read(
        "/group-mappings",
        "group mappings",
        "IdP group → end-user group mappings",
        List("group_mappings", "GroupMapping"),
        &[
            ("idp_group_id", "uuid", "of this IdP group"),
            ("end_user_group_id", "uuid", "into this end-user group"),
        ],
    ),
    write(
        "post",
        "/group-mappings",
        "group mappings",
        "Map an IdP group into an end-user group",
        Some("MappingInput"),
        Body(201, "GroupMapping"),
    ),
    write(
        "delete",
        "/group-mappings/{idp_group_id}/{end_user_group_id}",
        "group mappings",
        "Remove a mapping and only what it granted",
        None,
        Empty,
    ),
    read(
        "/assignments",
        "assignments",
        "Role assignments",
        List("assignments", "Assignment"),
        &[
            ("environment_id", "uuid", "in this environment"),
            ("application_id", "uuid", "on this application"),
            ("role_id", "uuid", "of this role"),
            ("user_id", "uuid", "to this user"),
            ("end_user_group_id", "uuid", "to this end-user group"),
            (
                "collaborator_group_id",
                "uuid",
                "to this collaborator group",
            ),
            (
                "environment_scope",
                "boolean",
                "only environment (true) or application (false) roles",
            ),
        ],
    ),
    write(
        "post",
        "/assignments",
        "assignments",
        "Assign a role to a principal in an environment or on an application",
        Some("AssignmentCreate"),
        Body(201, "Assignment"),
    ),
    read(
        "/assignments/{id}",
        "assignments",
        "Read an assignment",
        Body(200, "Assignment"),
        &[],
    ),
    write(
        "patch",
        "/assignments/{id}",
        "assignments",
        "Change an assignment's role",
        Some("AssignmentUpdate"),
        Body(200, "Assignment"),
    ),
    write(
        "delete",
        "/assignments/{id}",
        "assignments",
        "Revoke an assignment",
        None,
        Empty,
    ),
    write(
        "post",
        "/users",
        "users",
        "Invite a user",
        Some("InviteInput"),
        Body(201, "UserView"),
    ),
    write(
        "post",
        "/users/import",
        "users",
        "Invite users from a CSV file (text/csv)",
        Some("csv"),
        Body(200, "ImportReport"),
    ),
    read(
        "/users/{id}",
        "users",
        "A user's status and environment access",
        Body(200, "UserView"),
        &[],
    ),
    write(
        "post",
        "/users/{id}/archive",
        "users",
        "Archive a user (no roles; data kept)",
        None,
        Body(200, "UserView"),
    ),
    write(
        "post",
        "/users/{id}/unarchive",
        "users",
        "Unarchive a user (invited again)",
        None,
        Body(200, "UserView"),
    ),
    write(
        "put",
        "/users/{id}/environments/{environment_id}/access",
        "users",
        "Restore a user's access to an environment",
        None,
        Body(200, "UserView"),
    ),
    write(
        "delete",
        "/users/{id}/environments/{environment_id}/access",
        "users",
        "Revoke a user's access to an environment",
        None,
        Body(200, "UserView"),
    ),
    write(
        "put",
        "/users/{id}/environments/{environment_id}/role",
        "users",
        "Set the user's one environment role there",
        Some("RoleInput"),
        Body(200, "Assignment"),
    ),
    read(
        "/users/{id}/effective-roles",
        "effective roles",
        "A user's effective roles and privileges, with every path",
        Body(200, "EffectiveAccess"),
        ENVIRONMENT_FILTER,
    ),
    read(
        "/users/{id}/end-user-groups",
        "effective roles",
        "The end-user groups a user is in, with every path",
        List("memberships", "MembershipPath"),
        &[],
    ),
    read(
        "/effective-roles",
        "effective roles",
        "Who holds a role, or a role carrying a privilege",
        List("users", "Holder"),
        &[
            ("role_id", "uuid", "holders of this role"),
            (
                "privilege",
                "string",
                "holders of a role with this privilege",
            ),
            ("environment_id", "uuid", "in this environment"),
            ("application_id", "uuid", "on this application"),
            ("after", "uuid", "users after this id (paging)"),
            (
                "limit",
                "integer",
                "at most this many (1–1000, default 100)",
            ),
        ],
    ),
    read(
        "/settings",
        "settings",
        "The tenant's access settings",
        Body(200, "Settings"),
        &[],
    ),
    write(
        "patch",
        "/settings",
        "settings",
        "Change the tenant's access settings",
        Some("SettingsInput"),
        Body(200, "Settings"),
    ),
    read(
        "/audit",
        "audit",
        "The audit log, newest first",
        List("entries", "AuditEntry"),
        &[
            ("resource_type", "string", "e.g. User, Group, EndUserGroup"),
            ("resource_id", "string", "one resource"),
            ("operation", "string", "e.g. create, patch, delete"),
            ("actor", "string", "who made the change"),
            ("since", "string", "RFC 3339 time, inclusive"),
            ("until", "string", "RFC 3339 time, exclusive"),
            (
                "before_id",
                "integer",
                "entries older than this id (paging)",
            ),
            ("limit", "integer", "at most this many (≤ 1000)"),
        ],
    ),
    read(
        "/oidc-providers",
        "oidc providers",
        "OpenID Connect providers end-users log in with",
        List("oidc_providers", "ProviderView"),
        &[],
    ),
    write(
        "post",
        "/oidc-providers",
        "oidc providers",
        "Add a provider (the client secret is stored sealed and never returned)",
        Some("ProviderInput"),
        Body(201, "ProviderView"),
    ),
    read(
        "/oidc-providers/{id}",
        "oidc providers",
        "One provider",
        Body(200, "ProviderView"),
        &[],
    ),
    write(
        "patch",
        "/oidc-providers/{id}",
        "oidc providers",
        "Change a provider; fields left out keep their value",
        Some("ProviderPatch"),
        Body(200, "ProviderView"),
    ),
    write(
        "delete",
        "/oidc-providers/{id}",
        "oidc providers",
        "Delete a provider with its linked identities and claim groups",
        None,
        Empty,
    ),
    read(
        "/oidc-providers/{id}/groups",
        "oidc providers",
        "IdP groups seen in the provider's groups claim (map them with group mappings)",
        List("groups", "ClaimGroup"),
        &[],
    ),
    write(
        "post",
        "/oidc-providers/{id}/groups",
        "oidc providers",
        "Register claim values as IdP groups before anyone logs in with them",
        Some("ClaimGroupsInput"),
        List("groups", "ClaimGroup"),
    ),
    write(
        "post",
        "/signing-keys/rotate",
        "oidc providers",
        "Retire the session signing key and make a new one (old tokens stay valid until they expire)",
        None,
        Body(200, "object"),
    ),
    read(
        "/openapi.json",
        "meta",
        "This document",
        Body(200, "object"),
        &[],
    ),
];

fn schema_ref(name: &str) -> Value {
    match name {
        "object" => json!({"type": "object"}),
        _ => json!({"$ref": format!("#/components/schemas/{name}")}),
    }
}

fn parameter(name: &str, kind: &str, location: &str, description: &str) -> Value {
    let schema = match kind {
        "uuid" => json!({"type": "string", "format": "uuid"}),
        other => json!({"type": other}),
    };
    json!({"name": name, "in": location, "required": location == "path",
           "description": description, "schema": schema})
}

fn operation(route: &Route) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| parameter(name, "uuid", "path", "identifier"))
        .collect();
    for (name, kind, description) in route.query {
        parameters.push(parameter(name, kind, "query", description));
    }
    let mut responses = Map::new();
    match route.answer {
        Answer::Body(status, schema) => {
            responses.insert(
                status.to_string(),
                json!({"description": "success", "content": {"application/json": {"schema": schema_ref(schema)}}}),
            );
        }
        Answer::List(key, schema) => {
            responses.insert(
                "200".into(),
                json!({"description": "success", "content": {"application/json": {"schema": {
                    "type": "object", "required": [key],
                    "properties": {key: {"type": "array", "items": schema_ref(schema)}}}}}}),
            );
        }
        Answer::Empty => {
            responses.insert("204".into(), json!({"description": "done"}));
        }
    }
    if route.mutation {
        parameters.push(parameter(
            "dry_run",
            "boolean",
            "query",
            "report who would gain and lose which roles; change nothing",
        ));
        parameters.push(parameter(
            "confirm_self_lockout",
            "boolean",
            "query",
            "allow removing your own admin access",
        ));
        let preview = json!({"description": "dry run: the roles that would be gained and lost",
                             "content": {"application/json": {"schema": schema_ref("Preview")}}});
        responses.entry("200").or_insert(preview);
    }
    let problem = json!({"description": "refused: a problem-details body naming the rule",
                         "content": {"application/problem+json": {"schema": schema_ref("Problem")}}});
    responses.insert("4XX".into(), problem);
    let mut op = json!({
        "tags": [route.tag],
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = route.body {
        op["requestBody"] = if body == "csv" {
            json!({"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}})
        } else {
            json!({"required": true, "content": {"application/json": {"schema": schema_ref(body)}}})
        };
    }
    op
}

fn add<T: ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder {
    components.schema(T::name(), T::schema())
}

fn components() -> Value {
    use crate::access;
    use crate::db;
    let mut c = ComponentsBuilder::new();
    c = add::<db::environments::Environment>(c);
    c = add::<access::environments::EnvironmentInput>(c);
    c = add::<db::roles::Privilege>(c);
    c = add::<db::roles::Role>(c);
    c = add::<access::roles::RoleScope>(c);
    c = add::<access::roles::RoleView>(c);
    c = add::<access::roles::CreateInput>(c);
    c = add::<access::roles::UpdateInput>(c);
    c = add::<db::applications::Application>(c);
    c = add::<access::applications::CreateInput>(c);
    c = add::<access::applications::UpdateInput>(c);
    c = add::<db::end_user_groups::EndUserGroup>(c);
    c = add::<access::end_user_groups::GroupView>(c);
    c = add::<access::end_user_groups::CreateInput>(c);
    c = add::<access::end_user_groups::UpdateInput>(c);
    c = add::<access::end_user_groups::MembersInput>(c);
    c = add::<access::end_user_groups::DuplicateInput>(c);
    c = add::<db::collaborator_groups::CollaboratorGroup>(c);
    c = add::<access::collaborator_groups::GroupView>(c);
    c = add::<access::collaborator_groups::CreateInput>(c);
    c = add::<access::collaborator_groups::UpdateInput>(c);
    c = add::<db::group_mappings::GroupMapping>(c);
    c = add::<db::group_mappings::MembershipPath>(c);
    c = add::<access::group_mappings::MappingInput>(c);
    c = add::<db::assignments::Principal>(c);
    c = add::<db::assignments::Assignment>(c);
    c = add::<access::assignments::CreateInput>(c);
    c = add::<access::assignments::UpdateInput>(c);
    c = add::<access::users::InviteInput>(c);
    c = add::<access::users::EnvironmentRoleInput>(c);
    c = add::<access::users::UserView>(c);
    c = add::<access::users::ImportRow>(c);
    c = add::<access::users::ImportReport>(c);
    c = add::<access::users::NamedRef>(c);
    c = add::<access::users::RolePath>(c);
    c = add::<access::users::HeldRole>(c);
    c = add::<access::users::ApplicationAccess>(c);
    c = add::<access::users::EnvironmentAccess>(c);
    c = add::<access::users::EffectiveAccess>(c);
    c = add::<access::users::Holder>(c);
    c = add::<access::users::RoleInput>(c);
    c = add::<access::settings::Settings>(c);
    c = add::<access::settings::SettingsInput>(c);
    c = add::<access::preview::Named>(c);
    c = add::<access::preview::DescribedChange>(c);
    c = add::<access::preview::Preview>(c);
    c = add::<db::audit::AuditEntry>(c);
    c = add::<crate::oidc::providers::ProviderInput>(c);
    c = add::<crate::oidc::providers::ProviderPatch>(c);
    c = add::<crate::oidc::providers::ProviderView>(c);
    c = add::<crate::oidc::providers::ClaimGroupsInput>(c);
    c = add::<db::oidc::ClaimGroup>(c);
    c = add::<crate::error::Problem>(c);
    serde_json::to_value(c.build()).unwrap_or_else(|_| json!({}))
}

/// The whole document.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(format!("/admin/v1{}", route.path))
            .or_insert_with(|| json!({}));
        entry[route.method] = operation(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Rolegate admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Environments, applications, roles, groups, assignments, group mappings, \
                            users and their effective roles. Authenticate with an admin token \
                            (`Authorization: Bearer …`).",
        },
        "components": {
            "schemas": components()["schemas"].clone(),
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"adminToken": []}],
        "paths": paths,
    })
}
