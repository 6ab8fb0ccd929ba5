//! Pagination cursors (RFC 9865): opaque, signed with the tenant's key, bound to the query
//! they were issued for, and valid for a limited time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::query::{Position, Window};
use crate::scim::{ScimError, ScimType};

/// How long a cursor stays valid, in seconds (advertised as `cursorTimeout`).
pub const CURSOR_TIMEOUT_SECONDS: i64 = 3600;

const SIGNATURE_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claims {
    /// Fingerprint of the query (resource type, filter, sort).
    q: String,
    /// `a`: rows after the position; `b`: rows before it.
    d: char,
    k: Option<String>,
    i: Uuid,
    /// Expiry, seconds since the epoch.
    e: i64,
}

/// Identifies a query so a cursor cannot be replayed against another one.
pub fn fingerprint(resource: &str, filter: Option<&str>, sort: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [resource, filter.unwrap_or(""), sort.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    URL_SAFE_NO_PAD.encode(&h.finalize()[..12])
}

fn sign(secret: &[u8], payload: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return vec![0; SIGNATURE_LEN],
    };
    mac.update(payload);
    mac.finalize().into_bytes()[..SIGNATURE_LEN].to_vec()
}

/// A cursor for the rows after (`forward`) or before a position.
pub fn encode(secret: &[u8], query: &str, position: &Position, forward: bool, now: i64) -> String {
    let claims = Claims {
        q: query.to_string(),
        d: if forward { 'a' } else { 'b' },
        k: position.key.clone(),
        i: position.id,
        e: now + CURSOR_TIMEOUT_SECONDS,
    };
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    let mut bytes = sign(secret, &payload);
    bytes.extend_from_slice(&payload);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The window a cursor designates, if it is genuine, for this query, and not expired.
pub fn decode(secret: &[u8], query: &str, cursor: &str, now: i64) -> Result<Window, ScimError> {
    let invalid = || {
        ScimError::bad_request(
            ScimType::InvalidCursor,
            "the cursor is not valid for this query",
        )
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| invalid())?;
    if bytes.len() <= SIGNATURE_LEN {
        return Err(invalid());
    }
    let (signature, payload) = bytes.split_at(SIGNATURE_LEN);
    let expected = sign(secret, payload);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        signature,
        expected.as_slice(),
    )) {
        return Err(invalid());
    }
    let claims: Claims = serde_json::from_slice(payload).map_err(|_| invalid())?;
    if claims.q != query {
        return Err(invalid());
    }
    if claims.e < now {
        return Err(ScimError::bad_request(
            ScimType::ExpiredCursor,
            "the cursor has expired; start again",
        ));
    }
    let position = Position {
        key: claims.k,
        id: claims.i,
    };
    Ok(if claims.d == 'a' {
        Window::After(position)
    } else {
        Window::Before(position)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering_other_queries_and_expiry() {
        let position = Position {
            key: Some("alice".into()),
            id: Uuid::new_v4(),
        };
        let cursor = encode(b"secret", "q1", &position, true, 1000);
        assert_eq!(
            decode(b"secret", "q1", &cursor, 1000),
            Ok(Window::After(position.clone()))
        );
        let invalid = Some(ScimType::InvalidCursor);
        assert_eq!(
            decode(b"other", "q1", &cursor, 1000).map_err(|e| e.scim_type),
            Err(invalid)
        );
        assert_eq!(
            decode(b"secret", "q2", &cursor, 1000).map_err(|e| e.scim_type),
            Err(invalid)
        );
        let mut tampered = cursor.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap_or_default();
        assert_eq!(
            decode(b"secret", "q1", &tampered, 1000).map_err(|e| e.scim_type),
            Err(invalid)
        );
        assert_eq!(
            decode(b"secret", "q1", "garbage!", 1000).map_err(|e| e.scim_type),
            Err(invalid)
        );
        let late = 1000 + CURSOR_TIMEOUT_SECONDS + 1;
        assert_eq!(
            decode(b"secret", "q1", &cursor, late).map_err(|e| e.scim_type),
            Err(Some(ScimType::ExpiredCursor))
        );
    }
}
