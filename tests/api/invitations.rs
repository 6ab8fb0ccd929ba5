//! Invitations: an invited user holds nothing until they accept by signing in through
//! their link, whose provider's verified e-mail must be the invited address; a link works
//! once, and re-sending or revoking it ends the old one; unarchived users accept anew.

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{application, application_roles, effective, environment_roles, Model};
use crate::oidc::{param, setup, Login, Setup};

impl Setup {
    /// Opens an invitation's link in this browser: a redirect to the provider.
    async fn open(&self, url: &str) -> Result<Login, (u16, Value)> {
        let reply = self.no_redirects.get(url).send().await.expect("answers");
        let status = reply.status().as_u16();
        if status != 302 {
            return Err((status, reply.json().await.unwrap_or(Value::Null)));
        }
        let location = reply.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        let url = reqwest::Url::parse(&location).expect("a URL");
        assert_eq!(param(&url, "login_hint"), "ivy@example.com");
        Ok(Login {
            state: param(&url, "state"),
            nonce: param(&url, "nonce"),
            challenge: param(&url, "code_challenge"),
            location,
        })
    }

    /// Accepts through `url` as the account with these claims.
    async fn accept(&self, url: &str, claims: Value) -> (u16, Value) {
        let login = self.open(url).await.expect("the link starts a login");
        let code = self.code(&login, claims);
        self.callback(&code, &login.state).await
    }

    async fn invite_ivy(&self, model: &Model, crm: &str) -> (String, String) {
        let reply = self
            .app
            .admin(
                Method::POST,
                "/users",
                Some(&json!({"email": "ivy@example.com", "name": "Ivy",
                             "environment_roles": [{"environment_id": model.production,
                                                    "role_id": model.role("member")}]})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.body["displayName"], "Ivy");
        assert_eq!(reply.body["userName"], "ivy@example.com");
        let ivy = reply.id();
        let url = reply.body["invitation_url"]
            .as_str()
            .expect("a link")
            .to_string();
        crate::access::assign(
            &self.app,
            json!({"type": "user", "id": ivy}),
            &model.role("builder"),
            json!({"application_id": crm}),
        )
        .await;
        (ivy, url)
    }

    async fn status_of(&self, user: &str) -> String {
        let reply = self
            .app
            .admin(Method::GET, &format!("/users/{user}"), None)
            .await;
        reply.body["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn ivy(sub: &str, email: &str, verified: bool) -> Value {
    json!({"sub": sub, "email": email, "email_verified": verified, "name": "Ivy"})
}

async fn holds_nothing(s: &Setup, user: &str, model: &Model, crm: &str) {
    let access = effective(&s.app, user).await;
    assert!(
        environment_roles(&access, &model.production).is_empty(),
        "{access}"
    );
    assert!(application_roles(&access, crm).is_empty(), "{access}");
}

async fn holds_everything(s: &Setup, user: &str, model: &Model, crm: &str) {
    let access = effective(&s.app, user).await;
    assert_eq!(
        environment_roles(&access, &model.production),
        vec!["Member"]
    );
    assert_eq!(
        application_roles(&access, crm),
        ["Builder".to_string()].into()
    );
}

#[tokio::test]
async fn an_invited_user_holds_nothing_until_accepting_through_the_link_once() {
    let s = setup().await;
    let model = Model::load(&s.app).await;
    let crm = application(&s.app, &model.production, "CRM").await;
    let (ivy_id, url) = s.invite_ivy(&model, &crm).await;
    holds_nothing(&s, &ivy_id, &model, &crm).await;

    // Signing in without the link does not accept it.
    let (status, body) = s.login(ivy("ivy-sub", "ivy@example.com", true)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invitation_not_accepted")),
        "{body}"
    );
    // Through the link, with another address or an unverified one: refused, the link kept.
    for claims in [
        ivy("ivy-sub", "mallory@example.com", true),
        ivy("ivy-sub", "ivy@example.com", false),
    ] {
        let (status, body) = s.accept(&url, claims).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("invitation_email_mismatch")),
            "{body}"
        );
    }
    assert_eq!(s.status_of(&ivy_id).await, "invited");
    holds_nothing(&s, &ivy_id, &model, &crm).await;

    let (status, body) = s
        .accept(&url, ivy("ivy-sub", "IVY@example.com", true))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked_by"], "invitation");
    assert_eq!(body["session"]["user"]["id"], ivy_id.as_str());
    assert_eq!(crate::oidc::stored_link(&s.app, "ivy-sub"), "invitation");
    assert_eq!(s.status_of(&ivy_id).await, "active");
    holds_everything(&s, &ivy_id, &model, &crm).await;
    // Once only.
    let (status, body) = s.open(&url).await.err().expect("a used link is refused");
    assert_eq!(
        (status, body["error"].as_str()),
        (410, Some("invitation_invalid")),
        "{body}"
    );
    // From now on Ivy signs in as anyone does.
    let (status, body) = s.login(ivy("ivy-sub", "ivy@example.com", true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked_by"], "subject");
}

#[tokio::test]
async fn a_link_can_be_re_sent_and_revoked() {
    let s = setup().await;
    let model = Model::load(&s.app).await;
    let crm = application(&s.app, &model.production, "CRM").await;
    let (ivy_id, first) = s.invite_ivy(&model, &crm).await;
    let path = format!("/users/{ivy_id}/invitation");
    let reply = s.app.admin(Method::POST, &path, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = reply.body["invitation_url"]
        .as_str()
        .expect("a link")
        .to_string();
    assert_ne!(first, second);
    assert_eq!(
        s.open(&first).await.err().map(|e| e.0),
        Some(410),
        "re-sending ends the old link"
    );
    // Revoked, the new one ends too; the user stays invited, and a new one can be sent.
    assert_eq!(s.app.admin(Method::DELETE, &path, None).await.status, 204);
    assert_eq!(s.open(&second).await.err().map(|e| e.0), Some(410));
    assert_eq!(s.app.admin(Method::DELETE, &path, None).await.status, 404);
    assert_eq!(s.status_of(&ivy_id).await, "invited");
    let third = s.app.admin(Method::POST, &path, None).await.body["invitation_url"]
        .as_str()
        .expect("a link")
        .to_string();
    let (status, body) = s
        .accept(&third, ivy("ivy-sub", "ivy@example.com", true))
        .await;
    assert_eq!(status, 200, "{body}");
    holds_everything(&s, &ivy_id, &model, &crm).await;
    // An active user has no invitation to re-send.
    s.app
        .admin(Method::POST, &path, None)
        .await
        .assert_rule(409, "not-invited");
    let audit = s.app.audit_trail();
    for op in ["send", "revoke"] {
        assert!(
            audit
                .iter()
                .any(|(t, id, o)| t == "Invitation" && id == &ivy_id && o == op),
            "{op}"
        );
    }
}

#[tokio::test]
async fn an_unarchived_user_accepts_again_before_holding_anything() {
    let s = setup().await;
    let model = Model::load(&s.app).await;
    let crm = application(&s.app, &model.production, "CRM").await;
    let (ivy_id, url) = s.invite_ivy(&model, &crm).await;
    assert_eq!(
        s.accept(&url, ivy("ivy-sub", "ivy@example.com", true))
            .await
            .0,
        200
    );
    holds_everything(&s, &ivy_id, &model, &crm).await;

    let archived = s
        .app
        .admin(Method::POST, &format!("/users/{ivy_id}/archive"), None)
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    let unarchived = s
        .app
        .admin(Method::POST, &format!("/users/{ivy_id}/unarchive"), None)
        .await;
    assert_eq!(unarchived.body["status"], "invited");
    let again = unarchived.body["invitation_url"]
        .as_str()
        .expect("a new link")
        .to_string();
    holds_nothing(&s, &ivy_id, &model, &crm).await;
    // Her linked account alone does not bring her back.
    let (status, body) = s.login(ivy("ivy-sub", "ivy@example.com", true)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invitation_not_accepted")),
        "{body}"
    );
    let (status, body) = s
        .accept(&again, ivy("ivy-sub", "ivy@example.com", true))
        .await;
    assert_eq!(status, 200, "{body}");
    holds_everything(&s, &ivy_id, &model, &crm).await;
}

#[tokio::test]
async fn an_imported_user_accepts_through_the_link_of_their_row() {
    let s = setup().await;
    let model = Model::load(&s.app).await;
    let reply = s
        .app
        .client
        .post(format!("{}/admin/v1/users/import", s.app.address))
        .bearer_auth(&s.app.admin_token)
        .header("Content-Type", "text/csv")
        .body("email,role\nivy@example.com,Member\n")
        .send()
        .await
        .expect("answers");
    assert_eq!(reply.status(), 200);
    let report: Value = reply.json().await.expect("json");
    let row = &report["rows"][0];
    let ivy_id = row["user_id"].as_str().expect("id").to_string();
    let url = row["invitation_url"].as_str().expect("a link").to_string();
    assert!(environment_roles(&effective(&s.app, &ivy_id).await, &model.production).is_empty());
    let (status, body) = s
        .accept(&url, ivy("ivy-sub", "ivy@example.com", true))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        environment_roles(&effective(&s.app, &ivy_id).await, &model.production),
        vec!["Member"]
    );
}

#[tokio::test]
async fn an_invitations_blank_name_is_no_name() {
    let s = setup().await;
    let reply = s
        .app
        .admin(
            Method::POST,
            "/users",
            Some(&json!({"email": "  kit@example.com ", "name": "   "})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["displayName"], Value::Null);
    assert_eq!(reply.body["userName"], "kit@example.com");
    s.app
        .admin(
            Method::POST,
            "/users",
            Some(&json!({"email": "kit@localhost"})),
        )
        .await
        .assert_problem(400);
}
