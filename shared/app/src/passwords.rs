//! Master-password verifiers: Argon2id over the client's KDF output, run off
//! the async threads.

use crate::{Error, Result};
use admit_domain::MasterPasswordHash;
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

pub(crate) async fn hash(secret: &MasterPasswordHash) -> Result<String> {
    let bytes = secret.as_bytes().to_vec();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(&bytes, &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
    .map_err(|e| Error::Internal(e.to_string()))
}

/// Does `secret` match `verifier`? With no verifier, a dummy one is checked
/// so that an unknown account takes as long as a wrong password.
pub(crate) async fn verify(secret: &MasterPasswordHash, verifier: Option<&str>) -> Result<bool> {
    let bytes = secret.as_bytes().to_vec();
    let (verifier, real) = match verifier {
        Some(v) => (v.to_owned(), true),
        None => (dummy_verifier().to_owned(), false),
    };
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&verifier).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Argon2::default().verify_password(&bytes, &parsed).is_ok() && real)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

fn dummy_verifier() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"admit-dummy-verifier", &salt)
            .expect("argon2 hashes")
            .to_string()
    })
}
