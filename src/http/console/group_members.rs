//! An end-user group's direct members: adding one by userName and removing one, each
//! previewed (the member gains or loses the group's roles).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Section;
use super::{previewed, Change, Confirmation, ConsoleError, Signed};
use crate::access::assignments;
use crate::access::end_user_groups::{self, MembersInput};
use crate::state::AppState;

type Page = Result<HttpResponse, ConsoleError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/groups/{id}/members/add", web::post().to(add))
        .route("/groups/{id}/members/remove", web::post().to(remove));
}

#[derive(Debug, Deserialize)]
struct AddForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    user_name: String,
}

async fn add(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<AddForm>,
) -> Page {
    let id = id.into_inner();
    let AddForm {
        confirmation,
        user_name,
    } = form.into_inner();
    let change = Change {
        section: Section::Environments,
        method: "post",
        path: "/end-user-groups/{id}/members",
        cause: "end_user_group_members",
        question: format!("Add {:?} to the group?", user_name.trim()),
        action: format!("/console/groups/{id}/members/add"),
        fields: vec![("user_name".into(), user_name.clone())],
        done: format!("/console/groups/{id}"),
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, pending| {
            let user = assignments::user_named(conn, ctx, &user_name)?;
            let input = MembersInput { users: vec![user] };
            end_user_groups::add_members(conn, ctx, pending, id, &input)
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct RemoveForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    user_id: Uuid,
}

async fn remove(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<RemoveForm>,
) -> Page {
    let id = id.into_inner();
    let RemoveForm {
        confirmation,
        user_id,
    } = form.into_inner();
    let change = Change {
        section: Section::Environments,
        method: "delete",
        path: "/end-user-groups/{id}/members",
        cause: "end_user_group_members",
        question: "Remove this member from the group?".into(),
        action: format!("/console/groups/{id}/members/remove"),
        fields: vec![("user_id".into(), user_id.to_string())],
        done: format!("/console/groups/{id}"),
    };
    let input = MembersInput {
        users: vec![user_id],
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, pending| end_user_groups::remove_members(conn, ctx, pending, id, &input),
    )
    .await
}
