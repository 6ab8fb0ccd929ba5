//! A scriptable OpenID Provider for negative tests: it serves discovery, its keys and a
//! token endpoint that checks PKCE, and it signs whatever ID token the test asks for
//! (wrong issuer, expired, unsigned, …). The real provider runs in `conformance/`.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How the next ID token goes wrong, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    None,
    WrongIssuer,
    WrongAudience,
    Expired,
    /// Signed by a key the provider does not publish, under a published kid.
    BadSignature,
    WrongNonce,
    /// `alg: none`, no signature.
    Unsigned,
    /// HS256 with the provider's public key (PEM) as the HMAC secret.
    Hs256WithPublicKey,
    /// `at_hash` of another access token.
    WrongAtHash,
}

pub struct Key {
    pub kid: String,
    secret: p256::SecretKey,
}

impl Key {
    pub fn generate() -> Key {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        Key {
            kid: uuid::Uuid::new_v4().to_string(),
            secret,
        }
    }

    fn jwk(&self) -> Value {
        let point = self.secret.public_key().to_encoded_point(false);
        json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
               "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
               "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())})
    }

    fn encoding(&self) -> EncodingKey {
        let pem = self.secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()
    }

    fn public_pem(&self) -> String {
        self.secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }
}

struct Grant {
    claims: Value,
    challenge: String,
    forgery: Forgery,
}

#[derive(Default)]
struct State {
    keys: Vec<Key>,
    codes: HashMap<String, Grant>,
    /// Token requests answered, and how many had a matching PKCE verifier.
    token_requests: usize,
    verified_pkce: usize,
}

#[derive(Clone)]
pub struct FakeProvider {
    pub issuer: String,
    /// Where its endpoints are (the issuer without a trailing slash).
    base: String,
    pub client_id: String,
    state: Arc<Mutex<State>>,
}

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        Self::start_with_issuer_suffix("").await
    }

    /// A provider whose issuer ends with `suffix` (e.g. `/`, as Auth0's does).
    pub async fn start_with_issuer_suffix(suffix: &str) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = format!("{base}{suffix}");
        let state = Arc::new(Mutex::new(State {
            keys: vec![Key::generate()],
            ..State::default()
        }));
        let provider = FakeProvider {
            issuer: issuer.clone(),
            base,
            client_id: "rolegate-test".into(),
            state,
        };
        let data = web::Data::new(provider.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        provider
    }

    /// Publishes a new key (dropping the old ones) and signs with it from now on.
    pub fn rotate_keys(&self) -> String {
        let key = Key::generate();
        let kid = key.kid.clone();
        self.state.lock().unwrap().keys = vec![key];
        kid
    }

    /// Issues an authorization code for the claims, bound to the PKCE challenge of a
    /// login request.
    pub fn issue_code(&self, claims: Value, challenge: &str, forgery: Forgery) -> String {
        let code = uuid::Uuid::new_v4().to_string();
        self.state.lock().unwrap().codes.insert(
            code.clone(),
            Grant {
                claims,
                challenge: challenge.to_string(),
                forgery,
            },
        );
        code
    }

    pub fn pkce_counts(&self) -> (usize, usize) {
        let s = self.state.lock().unwrap();
        (s.token_requests, s.verified_pkce)
    }
}

async fn discovery(p: web::Data<FakeProvider>) -> HttpResponse {
    let i = &p.base;
    HttpResponse::Ok().json(json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

async fn jwks(p: web::Data<FakeProvider>) -> HttpResponse {
    let keys: Vec<Value> = p.state.lock().unwrap().keys.iter().map(Key::jwk).collect();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

async fn token(
    p: web::Data<FakeProvider>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let mut state = p.state.lock().unwrap();
    state.token_requests += 1;
    let Some(grant) = form.get("code").and_then(|c| state.codes.remove(c)) else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    };
    let verifier_ok = form
        .get("code_verifier")
        .is_some_and(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == grant.challenge);
    if !verifier_ok {
        return HttpResponse::BadRequest().json(
            json!({"error": "invalid_grant", "error_description": "PKCE verification failed"}),
        );
    }
    state.verified_pkce += 1;
    let access_token = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now().timestamp();
    let mut claims = grant.claims.clone();
    claims["iss"] = json!(p.issuer);
    claims["aud"] = json!(p.client_id);
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 300);
    claims["at_hash"] = json!(at_hash(&access_token));
    let key = &state.keys[0];
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    let id_token = match grant.forgery {
        Forgery::None => jsonwebtoken::encode(&header, &claims, &key.encoding()).unwrap(),
        Forgery::WrongIssuer => {
            claims["iss"] = json!("https://attacker.example");
            jsonwebtoken::encode(&header, &claims, &key.encoding()).unwrap()
        }
        Forgery::WrongAudience => {
            claims["aud"] = json!("another-client");
            jsonwebtoken::encode(&header, &claims, &key.encoding()).unwrap()
        }
        Forgery::Expired => {
            claims["iat"] = json!(now - 3600);
            claims["exp"] = json!(now - 600);
            jsonwebtoken::encode(&header, &claims, &key.encoding()).unwrap()
        }
        Forgery::BadSignature => {
            jsonwebtoken::encode(&header, &claims, &Key::generate().encoding()).unwrap()
        }
        Forgery::WrongNonce => {
            claims["nonce"] = json!("not-the-nonce");
            jsonwebtoken::encode(&header, &claims, &key.encoding()).unwrap()
        }
        Forgery::Unsigned => {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": key.kid}).to_string());
            let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("{header}.{payload}.")
        }
        Forgery::Hs256WithPublicKey => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.kid.clone());
            jsonwebtoken::encode(
                &header,
                &claims,
                &EncodingKey::from_secret(key.public_pem().as_bytes()),
            )
            .unwrap()
        }
        Forgery::WrongAtHash => {
            claims["at_hash"] = json!(at_hash("another access token"));
            jsonwebtoken::encode(&header, &claims, &key.encoding()).unwrap()
        }
    };
    HttpResponse::Ok().json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
}
