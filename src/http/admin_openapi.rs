//! The OpenAPI 3 document of the admin API, served at `/admin/v1/openapi.json`.
//!
//! Schemas come from the request and response types themselves (`utoipa::ToSchema`); the
//! operations are the declared routes (`admin_routes::all`), the same ones the server
//! registers, each with its privilege requirement as `x-rolegate-privilege`.

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};
use utoipa::openapi::ComponentsBuilder;
use utoipa::ToSchema;

use super::admin_routes::{self, Answer, Answer::Body, Route};
use crate::access::authorization::Requirement;

/// This document's own route.
pub const ROUTES: &[Route] = &[Route::read(
    "/openapi.json",
    |r| r.to(document),
    Requirement::Public,
    "meta",
    "This document",
    Body(200, "object"),
    &[],
)];

async fn document() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}

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
        "x-rolegate-privilege": route.requirement.describe(),
    });
    if route.requirement == Requirement::Public {
        op["security"] = json!([]);
    }
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
    c = add::<access::user_list::UserPage>(c);
    c = add::<access::user_list::ListedUser>(c);
    c = add::<access::idp_groups::IdpGroupPage>(c);
    c = add::<access::idp_groups::IdpGroup>(c);
    c = add::<access::idp_groups::MappedInto>(c);
    c = add::<access::idp_groups::MemberOf>(c);
    c = add::<access::users::Invited>(c);
    c = add::<access::invitations::InvitationLink>(c);
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
    c = add::<access::preview::PrivilegeChange>(c);
    c = add::<access::preview::WorkspacePreview>(c);
    c = add::<access::preview::Preview>(c);
    c = add::<access::deployments::DeployInput>(c);
    c = add::<access::deployments::Deployment>(c);
    c = add::<access::deployments::AcceptInput>(c);
    c = add::<db::role_suggestions::Suggestion>(c);
    c = add::<access::workspaces::ModeratorInput>(c);
    c = add::<db::moderators::Moderator>(c);
    c = add::<db::workspaces::WorkspaceTotals>(c);
    c = add::<access::workspaces::WorkspaceList>(c);
    c = add::<access::workspaces::WorkspaceUser>(c);
    c = add::<access::workspaces::WorkspaceUsers>(c);
    c = add::<db::audit::AuditEntry>(c);
    c = add::<crate::events::Event>(c);
    c = add::<crate::events::FeedPage>(c);
    c = add::<crate::events::webhooks::CreateInput>(c);
    c = add::<crate::events::webhooks::WebhookView>(c);
    c = add::<db::webhooks::DeliveryRow>(c);
    c = add::<crate::oidc::providers::ProviderInput>(c);
    c = add::<crate::oidc::providers::ProviderPatch>(c);
    c = add::<crate::oidc::providers::ProviderView>(c);
    c = add::<crate::oidc::providers::ClaimGroupsInput>(c);
    c = add::<db::oidc::ClaimGroup>(c);
    c = add::<access::tokens::TokenView>(c);
    c = add::<access::tokens::IssuedTokenView>(c);
    c = add::<access::tokens::CreateInput>(c);
    c = add::<crate::error::Problem>(c);
    serde_json::to_value(c.build()).unwrap_or_else(|_| json!({}))
}

/// The whole document.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in admin_routes::all() {
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
