//! OIDC login against a scriptable provider: account linking, just-in-time users, claim
//! groups and the roles they carry into session tokens, and every way an ID token can be
//! wrong — each refused with nothing changed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{application, assign, create, Model};
use crate::fake_provider::{FakeProvider, Forgery};
use crate::helpers::{spawn_app, spawn_app_with, Options, TestApp};

pub struct Login {
    pub state: String,
    pub nonce: String,
    pub challenge: String,
    pub location: String,
}

pub struct Setup {
    pub app: TestApp,
    pub idp: FakeProvider,
    pub provider_id: String,
    pub path: String,
    pub no_redirects: reqwest::Client,
}

async fn setup_with(mapping: Value, jit: bool) -> Setup {
    setup_on(spawn_app().await, FakeProvider::start().await, mapping, jit).await
}

async fn setup_on(app: TestApp, idp: FakeProvider, mapping: Value, jit: bool) -> Setup {
    let reply = app
        .admin(
            Method::POST,
            "/oidc-providers",
            Some(
                &json!({"name": "corp", "issuer": idp.issuer, "client_id": idp.client_id,
                         "client_secret": "s3cret", "claim_mapping": mapping,
                         "jit_provisioning": jit, "redirect_uris": ["http://127.0.0.1:9/app"]}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(reply.body.get("client_secret").is_none());
    assert_eq!(reply.body["has_client_secret"], true);
    let provider_id = reply.body["id"].as_str().unwrap().to_string();
    let path = format!("{}/oidc/{}/corp", app.address, app.tenant_id);
    Setup {
        app,
        idp,
        provider_id,
        path,
        // A browser: keeps the cookie that binds a login to it.
        no_redirects: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap(),
    }
}

pub async fn setup() -> Setup {
    setup_with(json!({"external_id": ["oid"]}), true).await
}

pub fn param(url: &reqwest::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

impl Setup {
    pub async fn start(&self, query: &str) -> Login {
        let reply = self
            .no_redirects
            .get(format!("{}/login{query}", self.path))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 302, "{}", reply.text().await.unwrap());
        let location = reply.headers()["location"].to_str().unwrap().to_string();
        let url = reqwest::Url::parse(&location).unwrap();
        assert!(location.contains("/authorize?"), "{location}");
        assert_eq!(param(&url, "code_challenge_method"), "S256");
        assert_eq!(param(&url, "response_type"), "code");
        assert_eq!(param(&url, "client_id"), self.idp.client_id);
        assert!(param(&url, "scope").split(' ').any(|s| s == "openid"));
        Login {
            state: param(&url, "state"),
            nonce: param(&url, "nonce"),
            challenge: param(&url, "code_challenge"),
            location,
        }
    }

    pub async fn callback(&self, code: &str, state: &str) -> (u16, Value) {
        let reply = self
            .no_redirects
            .get(format!("{}/callback", self.path))
            .query(&[("code", code), ("state", state)])
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }

    /// A whole login of an account with these claims.
    pub async fn login(&self, claims: Value) -> (u16, Value) {
        self.login_forged(claims, Forgery::None).await
    }

    async fn login_forged(&self, claims: Value, forgery: Forgery) -> (u16, Value) {
        let login = self.start("").await;
        let code = self.code_forged(&login, claims, forgery);
        self.callback(&code, &login.state).await
    }

    /// The provider's code for a login in flight, for an account with these claims.
    pub fn code(&self, login: &Login, claims: Value) -> String {
        self.code_forged(login, claims, Forgery::None)
    }

    fn code_forged(&self, login: &Login, mut claims: Value, forgery: Forgery) -> String {
        claims["nonce"] = json!(login.nonce);
        self.idp.issue_code(claims, &login.challenge, forgery)
    }

    async fn me(&self, token: &str) -> (u16, Value) {
        let reply = self
            .app
            .client
            .get(format!("{}/api/v1/me", self.app.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (
            reply.status().as_u16(),
            reply.json().await.unwrap_or(Value::Null),
        )
    }

    /// A login of Alice (with a newly seen group) started with `query` is refused with this
    /// error, and changes nothing.
    async fn assert_login_refused(&self, query: &str, status: u16, error: &str) {
        let before = self.directory();
        let login = self.start(query).await;
        let code = self.code(&login, alice(&["newly-seen"]));
        let (got, body) = self.callback(&code, &login.state).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{body}"
        );
        assert_eq!(self.directory(), before);
    }

    /// Everything a refused login must leave alone.
    fn directory(&self) -> (i64, i64, i64, usize) {
        use diesel::prelude::*;
        use rolegate::db::schema::{group_members, oidc_identities, users};
        let mut conn = self.app.pool.get().unwrap();
        (
            users::table.count().get_result(&mut conn).unwrap(),
            group_members::table.count().get_result(&mut conn).unwrap(),
            oidc_identities::table
                .count()
                .get_result(&mut conn)
                .unwrap(),
            self.app.audit_trail().len(),
        )
    }

    /// Registers a claim value and maps it into a new end-user group holding `role` on
    /// `application`.
    async fn map_claim(&self, value: &str, environment: &str, application: &str, role: &str) {
        let reply = self
            .app
            .admin(
                Method::POST,
                &format!("/oidc-providers/{}/groups", self.provider_id),
                Some(&json!({"values": [value]})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let idp_group = reply.body["groups"][0]["id"].as_str().unwrap().to_string();
        let group = create(
            &self.app,
            "/end-user-groups",
            json!({"environment_id": environment, "name": format!("{value} users")}),
        )
        .await;
        assign(
            &self.app,
            json!({"type": "end_user_group", "id": group}),
            role,
            json!({"application_id": application}),
        )
        .await;
        let mapped = self
            .app
            .admin(
                Method::POST,
                "/group-mappings",
                Some(&json!({"idp_group_id": idp_group, "end_user_group_id": group})),
            )
            .await;
        assert_eq!(mapped.status, 201, "{}", mapped.body);
    }
}

fn alice(groups: &[&str]) -> Value {
    json!({"sub": "alice-sub", "preferred_username": "alice@example.com", "name": "Alice Liddell",
           "given_name": "Alice", "family_name": "Liddell", "email": "alice@example.com",
           "email_verified": true, "oid": "alice-oid", "groups": groups})
}

fn app_roles(session: &Value, application: &str) -> Vec<String> {
    session["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["id"] == application)
        .flat_map(|a| a["roles"].as_array().unwrap().iter())
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

/// Verifies a session token offline, as an application would: with the tenant's JWKS.
async fn verify_offline(s: &Setup, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = s
        .app
        .client
        .get(format!(
            "{}/oidc/{}/.well-known/jwks.json",
            s.app.address, s.app.tenant_id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the token's key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["rolegate"]);
    validation.set_issuer(&[format!("{}/oidc/{}", s.app.address, s.app.tenant_id)]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the session token verifies with the JWKS")
        .claims
}

#[tokio::test]
async fn first_login_creates_the_user_and_claim_groups_carry_roles_until_they_are_lost() {
    let s = setup().await;
    let model = Model::load(&s.app).await;
    let crm = application(&s.app, &model.production, "CRM").await;
    s.map_claim(
        "engineering",
        &model.production,
        &crm,
        &model.role("builder"),
    )
    .await;

    let (status, body) = s.login(alice(&["engineering", "sales"])).await;
    assert_eq!(status, 200, "{body}");
    insta::assert_json_snapshot!("oidc_first_login", body, {
        ".session_token" => "[token]",
        ".session.tenant_id" => "[id]",
        ".session.user.id" => "[id]",
        ".session.environment.id" => "[id]",
        ".session.roles[].id" => "[id]",
        ".session.applications[].id" => "[id]",
        ".session.applications[].roles[].id" => "[id]",
    });
    assert_eq!(body["linked_by"], "created");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["session_token"].as_str().unwrap().to_string();
    let claims = verify_offline(&s, &token).await;
    assert_eq!(claims["tenant_id"], s.app.tenant_id.to_string());
    assert_eq!(claims["environment"]["id"], model.production);
    assert_eq!(claims["user"]["user_name"], "alice@example.com");
    assert_eq!(app_roles(&claims, &crm), vec!["Builder"]);
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 900);
    let (status, me) = s.me(&token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(app_roles(&me, &crm), vec!["Builder"]);
    assert_eq!(me["user"]["id"], claims["sub"]);

    // The user has the mapped attributes; SCIM sees the user but not the claim groups.
    let user_id = claims["sub"].as_str().unwrap();
    let user = s.app.get(&format!("/Users/{user_id}")).await;
    assert_eq!(user.status, 200);
    assert_eq!(user.body["userName"], "alice@example.com");
    assert_eq!(user.body["externalId"], "alice-oid");
    assert_eq!(user.body["displayName"], "Alice Liddell");
    assert_eq!(user.body["name"]["givenName"], "Alice");
    assert_eq!(user.body["emails"][0]["value"], "alice@example.com");
    assert!(
        user.body
            .get("groups")
            .is_none_or(|g| g.as_array().unwrap().is_empty()),
        "{}",
        user.body
    );
    assert_eq!(s.app.get("/Groups").await.body["totalResults"], 0);
    let groups = s
        .app
        .admin(
            Method::GET,
            &format!("/oidc-providers/{}/groups", s.provider_id),
            None,
        )
        .await;
    let values: Vec<&str> = groups.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, vec!["engineering", "sales"]);
    let claim_group = groups.body["groups"][0]["id"].as_str().unwrap();
    assert_eq!(
        s.app.get(&format!("/Groups/{claim_group}")).await.status,
        404,
        "SCIM cannot reach claim groups"
    );

    // Second login without the group: the role goes, in the new token and live in /me
    // (even for the earlier token).
    let (status, body) = s.login(alice(&["sales"])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked_by"], "subject");
    assert_eq!(body["session"]["user"]["id"], user_id);
    let claims = verify_offline(&s, body["session_token"].as_str().unwrap()).await;
    assert!(app_roles(&claims, &crm).is_empty());
    assert!(app_roles(&s.me(&token).await.1, &crm).is_empty());
    crate::mapped_groups::assert_no_drift(&s.app);

    // And back, a group added and none removed: membership follows every login, like a
    // SCIM push.
    let (_, body) = s.login(alice(&["sales", "engineering"])).await;
    assert_eq!(app_roles(&body["session"], &crm), vec!["Builder"]);
    assert_eq!(app_roles(&s.me(&token).await.1, &crm), vec!["Builder"]);
    // Each login that created the user or changed a membership is audited; one that
    // changed nothing is not.
    let logins = || async {
        let audit = s
            .app
            .admin(
                Method::GET,
                &format!("/audit?operation=login&resource_id={user_id}"),
                None,
            )
            .await;
        audit.body["entries"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(logins().await, 3);
    let (status, _) = s.login(alice(&["sales", "engineering"])).await;
    assert_eq!(status, 200);
    assert_eq!(logins().await, 3, "an unchanged login was audited");
    let (requests, verified) = s.idp.pkce_counts();
    assert_eq!(
        (requests, verified),
        (4, 4),
        "every code was redeemed with its PKCE verifier"
    );
}

#[tokio::test]
async fn scim_users_are_linked_by_verified_email_or_external_id_never_by_unverified_email() {
    let s = setup().await;
    let bob = s
        .app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob@example.com",
                    "emails": [{"value": "Bob@Example.com", "type": "work", "primary": true}]}),
        )
        .await
        .id();
    let claims = |verified: bool| json!({"sub": "bob-sub", "email": "bob@example.com", "email_verified": verified, "name": "Bob"});

    // An unverified address links nothing and is stored nowhere: the login gets a user of
    // its own, named in the provider's namespace, without e-mail.
    let (status, body) = s
        .login(
            json!({"sub": "mallory-sub", "email": "bob@example.com", "email_verified": false,
                      "preferred_username": "bob@example.com"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked_by"], "created");
    let mallory = body["session"]["user"]["id"].as_str().unwrap().to_string();
    assert_ne!(mallory, bob);
    let created = s.app.get(&format!("/Users/{mallory}")).await.body;
    assert_eq!(created["userName"], "corp:bob@example.com");
    assert!(created.get("emails").is_none(), "{created}");

    let (status, body) = s.login(claims(true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked_by"], "verified_email");
    assert_eq!(body["session"]["user"]["id"], bob);
    // SCIM stays in charge of a linked user's attributes.
    assert_eq!(
        s.app.get(&format!("/Users/{bob}")).await.body["userName"],
        "bob@example.com"
    );
    // Later logins find Bob by subject, whatever the e-mail says.
    let (_, body) = s
        .login(json!({"sub": "bob-sub", "email": "other@example.com"}))
        .await;
    assert_eq!(body["linked_by"], "subject");
    assert_eq!(body["session"]["user"]["id"], bob);

    // externalId links without any e-mail.
    let carol = s
        .app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "carol", "externalId": "carol-oid"}),
        )
        .await
        .id();
    let (status, body) = s
        .login(json!({"sub": "carol-sub", "oid": "carol-oid", "preferred_username": "c"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked_by"], "external_id");
    assert_eq!(body["session"]["user"]["id"], carol);
    // Each identity stores how it was linked.
    for (subject, how) in [
        ("mallory-sub", "created"),
        ("bob-sub", "verified_email"),
        ("carol-sub", "external_id"),
    ] {
        assert_eq!(stored_link(&s.app, subject), how, "{subject}");
    }
}

#[tokio::test]
async fn deactivated_archived_and_unknown_users_are_refused_with_nothing_changed() {
    let s = setup_with(json!({}), false).await;
    let dan = s
        .app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dan@example.com", "active": false}),
        )
        .await
        .id();
    let erin = s.app.create_user("erin@example.com").await;
    let reply = s
        .app
        .admin(Method::POST, &format!("/users/{erin}/archive"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let verified = |email: &str, sub: &str| json!({"sub": sub, "email": email, "email_verified": true, "groups": ["g"]});

    let before = s.directory();
    let (status, body) = s.login(verified("dan@example.com", "dan")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("user_deactivated")),
        "{body}"
    );
    let (status, body) = s.login(verified("erin@example.com", "erin")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("user_archived")),
        "{body}"
    );
    let (status, body) = s.login(verified("nobody@example.com", "nobody")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("no_account")),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("does not create users"));
    assert_eq!(s.directory(), before);
    let _ = dan;
}

#[tokio::test]
async fn every_kind_of_bad_id_token_is_refused_and_changes_nothing() {
    let s = setup().await;
    let before = s.directory();
    for forgery in [
        Forgery::WrongIssuer,
        Forgery::WrongAudience,
        Forgery::Expired,
        Forgery::BadSignature,
        Forgery::WrongNonce,
        Forgery::Unsigned,
        Forgery::Hs256WithPublicKey,
        Forgery::WrongAtHash,
    ] {
        let (status, body) = s.login_forged(alice(&["engineering"]), forgery).await;
        assert_eq!(status, 401, "{forgery:?}: {body}");
        assert_eq!(body["error"], "invalid_id_token", "{forgery:?}: {body}");
        assert_eq!(s.directory(), before, "{forgery:?} changed something");
    }

    // A code bound to another login's PKCE challenge (e.g. injected from elsewhere): the
    // provider refuses our verifier for it.
    let login = s.start("").await;
    let other = s.start("").await;
    let code = s.idp.issue_code(
        json!({"sub": "x", "nonce": login.nonce}),
        &other.challenge,
        Forgery::None,
    );
    let (status, body) = s.callback(&code, &login.state).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("token_exchange_failed")),
        "{body}"
    );

    // A state is good once: replaying a callback is refused even with a fresh code.
    let login = s.start("").await;
    let code = s.code(&login, alice(&[]));
    assert_eq!(s.callback(&code, &login.state).await.0, 200);
    let after_first = s.directory();
    let code = s.code(&login, alice(&[]));
    let (status, body) = s.callback(&code, &login.state).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_state")),
        "{body}"
    );
    // So is a state nobody issued, and a callback without one: no browser holds a
    // binding for them.
    assert_eq!(s.callback(&code, "made-up").await.0, 403);
    let reply = s
        .no_redirects
        .get(format!("{}/callback?code=x", s.path))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 403);
    assert_eq!(s.directory(), after_first);
    drop(login.location);
}

#[tokio::test]
async fn provider_key_rotation_is_picked_up_without_restart() {
    let s = setup().await;
    let (status, body) = s.login(alice(&[])).await;
    assert_eq!(status, 200, "{body}");
    s.idp.rotate_keys();
    let (status, body) = s.login(alice(&[])).await;
    assert_eq!(
        status, 200,
        "a token signed with the new key is accepted: {body}"
    );
    // A token signed by an unpublished key stays refused after the refresh.
    let (status, _) = s.login_forged(alice(&[]), Forgery::BadSignature).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn group_overage_is_reported_not_treated_as_no_groups() {
    let s = setup().await;
    let before = s.directory();
    let claims = json!({"sub": "big", "email": "big@example.com",
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}});
    let (status, body) = s.login(claims).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("group_overage")),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("graph.microsoft.com"));
    assert_eq!(s.directory(), before);
}

#[tokio::test]
async fn session_tokens_survive_signing_key_rotation_and_die_with_the_user() {
    let s = setup().await;
    let (_, body) = s.login(alice(&[])).await;
    let old = body["session_token"].as_str().unwrap().to_string();
    let rotated = s
        .app
        .admin(Method::POST, "/signing-keys/rotate", None)
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let (_, body) = s.login(alice(&[])).await;
    let new = body["session_token"].as_str().unwrap().to_string();
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_ne!(kid(&old), kid(&new));
    assert_eq!(kid(&new), rotated.body["kid"]);
    verify_offline(&s, &old).await;
    verify_offline(&s, &new).await;
    assert_eq!(s.me(&old).await.0, 200);

    // Tampered, foreign and absent tokens are refused.
    let mut tampered = new.clone();
    tampered.pop();
    tampered.push(if new.ends_with('A') { 'B' } else { 'A' });
    for bad in [tampered.as_str(), "not.a.token", ""] {
        let (status, body) = s.me(bad).await;
        assert_eq!(status, 401, "{bad}: {body}");
    }
    let no_token = s
        .app
        .client
        .get(format!("{}/api/v1/me", s.app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);

    // Archived since: the live view refuses the still-unexpired token.
    let user = body["session"]["user"]["id"].as_str().unwrap();
    s.app
        .admin(Method::POST, &format!("/users/{user}/archive"), None)
        .await;
    let (status, body) = s.me(&new).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("user_archived")),
        "{body}"
    );
}

#[tokio::test]
async fn login_can_hand_the_token_to_a_registered_application_url_only() {
    let s = setup().await;
    let reply = s
        .no_redirects
        .get(format!(
            "{}/login?return_to=https://evil.example/steal",
            s.path
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let login = s
        .start("?return_to=http://127.0.0.1:9/app&login_hint=alice")
        .await;
    assert!(login.location.contains("login_hint=alice"));
    let code = s.code(&login, alice(&[]));
    let reply = s
        .no_redirects
        .get(format!("{}/callback", s.path))
        .query(&[("code", code.as_str()), ("state", login.state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 303);
    let location = reply.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:9/app#session_token="),
        "{location}"
    );
    // The provider refusing the login is reported as such.
    let login = s.start("").await;
    let reply = s
        .no_redirects
        .get(format!("{}/callback", s.path))
        .query(&[("error", "access_denied"), ("state", login.state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["error"], "login_refused_by_provider");

    // A response claiming to come from another issuer (RFC 9207) is refused.
    let login = s.start("").await;
    let code = s.code(&login, alice(&[]));
    let reply = s
        .no_redirects
        .get(format!("{}/callback", s.path))
        .query(&[
            ("code", code.as_str()),
            ("state", login.state.as_str()),
            ("iss", "https://attacker.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    assert_eq!(
        reply.json::<Value>().await.unwrap()["error"],
        "issuer_mismatch"
    );

    // A person in a browser gets a page, not JSON.
    let reply = s
        .no_redirects
        .get(format!("{}/callback?state=<script>", s.path))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 403);
    assert!(reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = reply.text().await.unwrap();
    assert!(
        page.contains("Login failed") && page.contains("login_not_bound"),
        "{page}"
    );
    assert!(!page.contains("<script>"));
}

#[tokio::test]
async fn providers_are_validated_and_kept_per_tenant() {
    let app = spawn_app().await;
    let post = |body: Value| {
        let app = &app;
        async move {
            app.admin(Method::POST, "/oidc-providers", Some(&body))
                .await
        }
    };
    let base = json!({"name": "okta", "issuer": "https://example.okta.com", "client_id": "abc"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    post(with("issuer", json!("http://idp.example.com")))
        .await
        .assert_problem(400);
    post(with("name", json!("Has Spaces")))
        .await
        .assert_problem(400);
    post(with(
        "claim_mapping",
        json!({"groups": {"claim": "groups", "pattern": "("}}),
    ))
    .await
    .assert_rule(422, "invalid-pattern");
    post(with("claim_mapping", json!({"unknown": 1})))
        .await
        .assert_problem(400);
    post(with("environment_ids", json!([uuid::Uuid::new_v4()])))
        .await
        .assert_problem(400);
    let created = post(with("client_secret", json!("top-secret"))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(!created.body.to_string().contains("top-secret"));
    assert_eq!(
        created.body["scopes"],
        json!(["openid", "profile", "email"])
    );
    post(base.clone()).await.assert_problem(409);
    let id = created.body["id"].as_str().unwrap();

    let patched = app
        .admin(
            Method::PATCH,
            &format!("/oidc-providers/{id}"),
            Some(&json!({"client_secret": "", "enabled": false})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["has_client_secret"], false);
    assert_eq!(patched.body["enabled"], false);
    let login = app
        .client
        .get(format!("{}/oidc/{}/okta/login", app.address, app.tenant_id))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403);

    // Another tenant neither sees nor reaches it.
    let other = app.other_tenant_admin_token();
    let reply = app
        .admin_as(
            Some(&other),
            Method::GET,
            &format!("/oidc-providers/{id}"),
            None,
        )
        .await;
    reply.assert_problem(404);
    let unknown = app
        .client
        .get(format!(
            "{}/oidc/{}/okta/login",
            app.address,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(app
        .audit_trail()
        .iter()
        .any(|(t, _, op)| t == "OidcProvider" && op == "update"));
    assert_eq!(
        app.admin(Method::DELETE, &format!("/oidc-providers/{id}"), None)
            .await
            .status,
        204
    );
    app.admin(Method::GET, &format!("/oidc-providers/{id}"), None)
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn a_key_sealed_under_another_secret_key_is_an_operator_error_and_reads_never_write() {
    use rolegate::db::schema::signing_keys;
    use rolegate::oidc::{keys, secrets::SecretBox};
    let app = spawn_app().await;
    let count = |app: &TestApp| -> i64 {
        use diesel::prelude::*;
        let mut conn = app.pool.get().unwrap();
        signing_keys::table.count().get_result(&mut conn).unwrap()
    };
    // The JWKS of a tenant without keys is an empty set, and reading it makes none.
    let url = format!(
        "{}/oidc/{}/.well-known/jwks.json",
        app.address, app.tenant_id
    );
    let set: Value = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["keys"], json!([]));
    assert_eq!(count(&app), 0);
    let mut conn = app.pool.get().unwrap();
    let first = keys::active(&mut conn, app.tenant_id, &SecretBox::random())
        .unwrap()
        .kid;
    // Under another secret key the key cannot sign: refused, nothing replaced.
    let other = keys::active(&mut conn, app.tenant_id, &SecretBox::random());
    assert!(matches!(
        other,
        Err(rolegate::error::OidcError::Internal(_))
    ));
    assert_eq!(count(&app), 1);
    let set: Value = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["keys"][0]["kid"], first.as_str());
    assert_eq!(count(&app), 1);
}

#[tokio::test]
async fn two_first_logins_of_one_person_at_once_make_one_user() {
    let s = setup().await;
    for round in 0..5 {
        let subject = format!("twin{round}");
        let claims = json!({"sub": subject, "preferred_username": format!("{subject}@example.com"), "groups": ["g"]});
        let (one, two) = (s.start("").await, s.start("").await);
        let (code_one, code_two) = (s.code(&one, claims.clone()), s.code(&two, claims));
        let (a, b) = tokio::join!(
            s.callback(&code_one, &one.state),
            s.callback(&code_two, &two.state)
        );
        assert_eq!((a.0, b.0), (200, 200), "{} / {}", a.1, b.1);
        assert_eq!(a.1["session"]["user"]["id"], b.1["session"]["user"]["id"]);
    }
}

#[tokio::test]
async fn a_login_asks_for_one_of_the_providers_environments() {
    let s = setup().await;
    let model = Model::load(&s.app).await;
    let testing = crate::access::environment(&s.app, "Testing").await;
    let reply = s
        .app
        .admin(
            Method::PATCH,
            &format!("/oidc-providers/{}", s.provider_id),
            Some(&json!({"environment_ids": [model.production, testing]})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["environments"].as_array().unwrap().len(), 2);

    // By name or id; the default is the first.
    for (query, expected) in [("?environment=testing", "Testing"), ("", "Production")] {
        let login = s.start(query).await;
        let code = s.code(&login, alice(&[]));
        let (status, body) = s.callback(&code, &login.state).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["session"]["environment"]["name"], expected);
    }
    let reply = s
        .no_redirects
        .get(format!("{}/login?environment=Staging", s.path))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);

    // A user whose access to the environment is revoked is refused there, with nothing changed.
    let (_, body) = s.login(alice(&[])).await;
    let user = body["session"]["user"]["id"].as_str().unwrap().to_string();
    let revoked = s
        .app
        .admin(
            Method::DELETE,
            &format!("/users/{user}/environments/{testing}/access"),
            None,
        )
        .await;
    assert!(
        revoked.status == 200 || revoked.status == 204,
        "{}",
        revoked.body
    );
    s.assert_login_refused("?environment=Testing", 403, "environment_access_revoked")
        .await;
}

#[tokio::test]
async fn users_created_by_login_follow_their_claims_but_never_take_another_users_name() {
    let s = setup().await;
    s.app.create_user("taken@example.com").await;
    let claims = |name: &str, verified: bool| {
        json!({"sub": "mover", "preferred_username": name, "name": name,
               "email": name, "email_verified": verified})
    };
    let (status, body) = s.login(claims("mover@example.com", true)).await;
    assert_eq!(status, 200, "{body}");
    let id = body["session"]["user"]["id"].as_str().unwrap().to_string();

    let (status, _) = s.login(claims("moved@example.com", true)).await;
    assert_eq!(status, 200);
    let user = s.app.get(&format!("/Users/{id}")).await;
    assert_eq!(user.body["userName"], "moved@example.com");
    assert_eq!(user.body["displayName"], "moved@example.com");
    // An unverified name goes into the provider's namespace, and the e-mail goes.
    let (status, _) = s.login(claims("unverified@example.com", false)).await;
    assert_eq!(status, 200);
    let user = s.app.get(&format!("/Users/{id}")).await;
    assert_eq!(user.body["userName"], "corp:unverified@example.com");
    assert!(user.body.get("emails").is_none());

    let before = s.directory();
    let (status, body) = s.login(claims("taken@example.com", true)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("user_name_taken")),
        "{body}"
    );
    assert_eq!(s.directory(), before);
    assert_eq!(
        s.app.get(&format!("/Users/{id}")).await.body["userName"],
        "corp:unverified@example.com"
    );
}

/// A login-created user takes the claimed name bare only when it is the verified address;
/// a claimed name other than the verified address goes into the provider's namespace.
#[tokio::test]
async fn a_claimed_name_other_than_the_verified_address_is_namespaced() {
    let s = setup().await;
    let (status, body) = s
        .login(
            json!({"sub": "pat", "preferred_username": "pat", "name": "Pat",
                      "email": "pat@example.com", "email_verified": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["session"]["user"]["id"].as_str().unwrap().to_string();
    let user = s.app.get(&format!("/Users/{id}")).await;
    assert_eq!(user.body["userName"], "corp:pat");
    assert_eq!(user.body["emails"][0]["value"], "pat@example.com");
}

#[tokio::test]
async fn an_unverified_first_login_cannot_pre_empt_the_owner_of_an_address() {
    let s = setup().await;
    // Somebody logs in first claiming an address they do not own …
    let (status, body) = s
        .login(
            json!({"sub": "attacker", "preferred_username": "victim@example.com",
                      "email": "victim@example.com", "email_verified": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // … the identity provider can still provision the owner …
    let victim = s.app.create_user("victim@example.com").await;
    // … and the owner's own verified login links to that user, and says nothing about the
    // other account.
    let (status, body) = s
        .login(json!({"sub": "victim", "email": "victim@example.com", "email_verified": true}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked_by"], "verified_email");
    assert_eq!(body["session"]["user"]["id"], victim.as_str());
    let (status, body) = s
        .login(json!({"sub": "attacker-2", "email": "victim@example.com", "email_verified": true}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("account_linked_elsewhere"))
    );
    assert!(
        !body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("victim"),
        "{body}"
    );
}

#[tokio::test]
async fn login_starts_are_limited_per_client_address_when_configured() {
    let app = spawn_app_with(Options {
        login_rate_limit: 1,
        ..Options::default()
    })
    .await;
    let s = setup_on(app, FakeProvider::start().await, json!({}), true).await;
    // A burst of five passes, the sixth at once is refused with a hint when to retry.
    for _ in 0..5 {
        s.start("").await;
    }
    let reply = s
        .no_redirects
        .get(format!("{}/login", s.path))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 429);
    assert_eq!(reply.headers()["retry-after"], "1");
    assert_eq!(reply.json::<Value>().await.unwrap()["error"], "slow_down");
}

#[tokio::test]
async fn an_issuer_ending_with_a_slash_is_kept_exactly() {
    let idp = FakeProvider::start_with_issuer_suffix("/").await;
    let s = setup_on(spawn_app().await, idp, json!({}), true).await;
    let provider = s
        .app
        .admin(
            Method::GET,
            &format!("/oidc-providers/{}", s.provider_id),
            None,
        )
        .await;
    assert!(provider.body["issuer"].as_str().unwrap().ends_with('/'));
    let (status, body) = s.login(alice(&[])).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn no_access_in_an_environment_means_no_session_there() {
    let s = setup().await;
    let model = Model::load(&s.app).await;
    let (status, body) = s.login(alice(&[])).await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap().to_string();
    let user = body["session"]["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(s.me(&token).await.0, 200);
    crate::access::set_environment_role(
        &s.app,
        &user,
        &model.production,
        &model.role("environment_no_access"),
    )
    .await;
    // A session issued before is refused from now on …
    let (status, body) = s.me(&token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("environment_no_access")),
        "{body}"
    );
    // … and a new login asking for the environment is refused with nothing changed.
    s.assert_login_refused("", 403, "environment_no_access")
        .await;
}

#[tokio::test]
async fn a_callback_opened_in_another_browser_is_refused_and_changes_nothing() {
    let s = setup().await;
    let login = s.start("").await;
    let code = s.code(&login, alice(&["engineering"]));
    let before = s.directory();
    // The attacker's browser has no binding cookie for this login.
    let elsewhere = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reply = elsewhere
        .get(format!("{}/callback", s.path))
        .query(&[("code", code.as_str()), ("state", login.state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 403);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["error"], "login_not_bound");
    assert_eq!(s.directory(), before);
    // The browser that started it still finishes it.
    let (status, body) = s.callback(&code, &login.state).await;
    assert_eq!(status, 200, "{body}");
}

/// A login-created user follows each claim on its own: one field changing is enough.
#[tokio::test]
async fn each_claim_a_login_owns_is_followed_even_when_it_changes_alone() {
    let s = setup().await;
    let base = json!({"sub": "solo", "preferred_username": "solo-1", "name": "Solo",
                      "given_name": "Han", "email": "solo@example.com",
                      "email_verified": true, "oid": "solo-oid-1"});
    let (status, body) = s.login(base.clone()).await;
    assert_eq!(status, 200, "{body}");
    let id = body["session"]["user"]["id"].as_str().unwrap().to_string();
    let user = || async { s.app.get(&format!("/Users/{id}")).await.body };
    let with = |key: &str, value: &str| {
        let mut claims = base.clone();
        claims[key] = json!(value);
        claims
    };
    assert_eq!(user().await["userName"], "corp:solo-1");
    // The same claims again change nothing and say nothing changed.
    let updates = user_updates(&s).await;
    let (status, _) = s.login(base.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(user_updates(&s).await, updates);
    assert_eq!(stored_link(&s.app, "solo"), "created");

    // Only the claimed name: the userName follows, nothing else moves.
    let (status, _) = s.login(with("preferred_username", "solo-2")).await;
    assert_eq!(status, 200);
    let now = user().await;
    assert_eq!(now["userName"], "corp:solo-2");
    assert_eq!(
        (&now["externalId"], &now["displayName"]),
        (&json!("solo-oid-1"), &json!("Solo"))
    );

    // Only the externalId.
    let mut claims = with("preferred_username", "solo-2");
    claims["oid"] = json!("solo-oid-2");
    let (status, _) = s.login(claims.clone()).await;
    assert_eq!(status, 200);
    let now = user().await;
    assert_eq!(now["externalId"], "solo-oid-2");
    assert_eq!(now["name"]["givenName"], "Han");

    // Only the given name (an attribute, the display name unchanged).
    claims["given_name"] = json!("Hans");
    let (status, _) = s.login(claims).await;
    assert_eq!(status, 200);
    let now = user().await;
    assert_eq!(now["name"]["givenName"], "Hans");
    assert_eq!(now["displayName"], "Solo");
    assert_eq!(
        events_of(&s, "user.created").await,
        1,
        "created once, not at each login"
    );
}

/// A user the identity provider provisioned keeps its SCIM attributes however often it
/// logs in: the login links to it but owns none of its fields.
#[tokio::test]
async fn a_provisioned_user_keeps_its_scim_attributes_across_logins() {
    let s = setup().await;
    let id = s
        .app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "sam@example.com", "externalId": "sam-oid",
                    "displayName": "Sam (SCIM)"}),
        )
        .await
        .id();
    let claims = json!({"sub": "sam", "oid": "sam-oid", "preferred_username": "sam-claims",
                        "name": "Sam from claims", "email": "sam@example.com",
                        "email_verified": true});
    let before = user_updates(&s).await;
    for login in ["first (linked by externalId)", "second (known subject)"] {
        let (status, body) = s.login(claims.clone()).await;
        assert_eq!(status, 200, "{login}: {body}");
        assert_eq!(body["session"]["user"]["id"], id.as_str());
        let user = s.app.get(&format!("/Users/{id}")).await.body;
        assert_eq!(
            (&user["userName"], &user["displayName"]),
            (&json!("sam@example.com"), &json!("Sam (SCIM)")),
            "{login}"
        );
    }
    assert_eq!(
        user_updates(&s).await,
        before,
        "a login wrote a user.updated event"
    );
    assert_eq!(stored_link(&s.app, "sam"), "external_id");
    assert_eq!(
        events_of(&s, "user.created").await,
        1,
        "only the SCIM creation"
    );
}

/// How many events of this type the tenant's feed holds.
async fn events_of(s: &Setup, event_type: &str) -> usize {
    let feed = s
        .app
        .admin(
            Method::GET,
            &format!("/events?types={event_type}&limit=1000"),
            None,
        )
        .await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    feed.body["events"].as_array().map_or(0, Vec::len)
}

async fn user_updates(s: &Setup) -> usize {
    events_of(s, "user.updated").await
}

/// How the provider's identity with this subject was linked to its user, as stored.
pub fn stored_link(app: &TestApp, subject: &str) -> String {
    use diesel::prelude::*;
    use rolegate::db::schema::oidc_identities;
    let mut conn = app.pool.get().unwrap();
    oidc_identities::table
        .filter(oidc_identities::subject.eq(subject))
        .select(oidc_identities::linked_by)
        .first(&mut conn)
        .unwrap()
}
