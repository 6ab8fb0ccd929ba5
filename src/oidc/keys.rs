//! The keys Rolegate signs session tokens with: one active ES256 key per tenant, generated
//! the first time the tenant needs one (by whichever node gets there first) and stored
//! sealed; rotated on request, with retired keys published until their tokens expire.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::PgConnection;
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::secrets::SecretBox;
use crate::db::oidc::{self as rows, SigningKeyRow};
use crate::error::OidcError;

pub const ALGORITHM: &str = "ES256";

pub struct SigningKey {
    pub kid: String,
    pub key: EncodingKey,
}

fn context(tenant_id: Uuid, kid: &str) -> String {
    format!("signing-key:{tenant_id}:{kid}")
}

/// A new P-256 key pair: (kid, PKCS#8 PEM of the private key, public JWK). The kid is the
/// key's RFC 7638 thumbprint.
fn generate() -> Result<(String, String, Value), OidcError> {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| OidcError::Internal(format!("encoding a new signing key: {e}")))?;
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(OidcError::Internal(
            "a new signing key has no coordinates".into(),
        ));
    };
    let x = URL_SAFE_NO_PAD.encode(x);
    let y = URL_SAFE_NO_PAD.encode(y);
    let thumbprint = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes()));
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": ALGORITHM});
    Ok((kid, pem.to_string(), jwk))
}

fn store_new(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    secrets: &SecretBox,
) -> Result<(), OidcError> {
    let (kid, pem, jwk) = generate()?;
    let sealed = secrets.seal(pem.as_bytes(), &context(tenant_id, &kid));
    rows::insert_signing_key(conn, tenant_id, &kid, ALGORITHM, &sealed, &jwk)?;
    Ok(())
}

/// The tenant's active signing key, created when it has none.
pub fn active(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    secrets: &SecretBox,
) -> Result<SigningKey, OidcError> {
    let row = match rows::active_signing_key(conn, tenant_id)? {
        Some(row) => row,
        None => {
            store_new(conn, tenant_id, secrets)?;
            rows::active_signing_key(conn, tenant_id)?.ok_or(OidcError::Db(
                crate::db::DbError::Query(diesel::result::Error::NotFound),
            ))?
        }
    };
    let pem = match secrets.open(&row.private_key_encrypted, &context(tenant_id, &row.kid)) {
        Ok(pem) => pem,
        Err(_) => {
            // Sealed under another secret key: ROLEGATE_SECRET_KEY differs from the one this
            // key was made with (or differs between nodes). An operator error, not a reason
            // to replace keys behind everyone's back; `POST /admin/v1/signing-keys/rotate`
            // makes a new one once the setting is right.
            tracing::error!(%tenant_id, kid = %row.kid,
                "the active signing key cannot be unsealed with ROLEGATE_SECRET_KEY; check the setting on every node, or rotate the key");
            return Err(OidcError::Internal(format!(
                "signing key {} cannot be unsealed with the configured secret key",
                row.kid
            )));
        }
    };
    let key = EncodingKey::from_ec_pem(&pem)
        .map_err(|e| OidcError::Internal(format!("stored signing key unusable: {e}")))?;
    Ok(SigningKey { kid: row.kid, key })
}

/// Retires the active key and makes a new one; tokens signed with the old key stay
/// verifiable (it stays in the JWKS) until they expire.
pub fn rotate(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    secrets: &SecretBox,
) -> Result<String, OidcError> {
    rows::retire_signing_keys(conn, tenant_id)?;
    store_new(conn, tenant_id, secrets)?;
    rows::active_signing_key(conn, tenant_id)?
        .map(|row| row.kid)
        .ok_or(OidcError::Db(crate::db::DbError::Query(
            diesel::result::Error::NotFound,
        )))
}

/// The public keys applications should accept, as a JWK Set. A read: it never makes or
/// replaces a key (a tenant's first key is made by its first login or a rotation).
pub fn jwks(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    grace_seconds: i64,
) -> Result<Value, OidcError> {
    let keys: Vec<Value> = rows::published_signing_keys(conn, tenant_id, grace_seconds)?
        .into_iter()
        .map(|k| k.public_jwk)
        .collect();
    Ok(json!({ "keys": keys }))
}

/// The verification key for `kid`, if the tenant still publishes it.
pub fn decoding_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kid: &str,
    grace_seconds: i64,
) -> Result<Option<DecodingKey>, OidcError> {
    let keys: Vec<SigningKeyRow> = rows::published_signing_keys(conn, tenant_id, grace_seconds)?;
    let Some(row) = keys.into_iter().find(|k| k.kid == kid) else {
        return Ok(None);
    };
    let coordinate = |name: &str| {
        row.public_jwk[name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    Ok(DecodingKey::from_ec_components(&coordinate("x"), &coordinate("y")).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify() {
        let (kid, pem, jwk) = generate().unwrap();
        assert_eq!(kid.len(), 43);
        let key = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid);
        let token =
            jsonwebtoken::encode(&header, &json!({"sub": "u", "exp": 4_000_000_000u64}), &key)
                .unwrap();
        let decoding =
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
        assert_eq!(data.claims["sub"], "u");
    }
}
