//! Secrets at rest: OIDC client secrets and session signing keys are stored sealed with
//! AES-256-GCM under the server's secret key. Each value is bound to what it is (its
//! "context", e.g. the provider it belongs to), so a sealed value copied to another row
//! does not open.

use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("a sealed secret does not open with this server's secret key (was the key changed?)")]
    Unsealable,
    #[error("the secret key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("reading or writing the secret key file: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// A box with a fresh random key (tests; a single process that keeps nothing).
    pub fn random() -> Self {
        Self::new(&random_key())
    }

    /// The key given in configuration (base64 of 32 bytes).
    pub fn from_base64(encoded: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self::new(&key))
    }

    /// The key kept in `path`, created (readable by its owner only) when missing.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        match std::fs::read_to_string(path) {
            Ok(encoded) => Self::from_base64(&encoded),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let key = random_key();
                write_private(path, &STANDARD.encode(key))?;
                Ok(Self::new(&key))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            // Encryption fails only for inputs of gigabytes; secrets are short.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Unsealable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Unsealable)
    }
}

fn random_key() -> [u8; 32] {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let a = SecretBox::random();
        let sealed = a.seal(b"client-secret", "provider:1");
        assert_eq!(a.open(&sealed, "provider:1").unwrap(), b"client-secret");
        assert!(a.open(&sealed, "provider:2").is_err());
        assert!(SecretBox::random().open(&sealed, "provider:1").is_err());
        assert!(a.open(&sealed[..5], "provider:1").is_err());
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("rolegate-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret-key");
        let first = SecretBox::from_file(&path).unwrap();
        let sealed = first.seal(b"x", "c");
        let second = SecretBox::from_file(&path).unwrap();
        assert_eq!(second.open(&sealed, "c").unwrap(), b"x");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
