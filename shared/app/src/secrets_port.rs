//! Secrets at rest: the port that seals what Admit must read back (an OIDC
//! client secret; later SAML SP private keys) before it is stored, and opens
//! it only where it is used.
//!
//! Envelope encryption: each [`SecretBox::seal`] draws a fresh 256-bit data
//! key, encrypts the secret with it (AES-256-GCM, a random 96-bit nonce, the
//! context as associated data), and has the master key wrap the data key,
//! bound to the same context. The context names where the secret belongs
//! ([`context`]: organization and field), so a sealed value copied into
//! another organization or field does not open. The master key is the
//! adapter's: an AWS KMS key on Lambda (`admit-lambda`), a key file in the
//! data directory for `admit serve` ([`LocalKey`] holds its bytes).

use admit_domain::OrgId;
use admit_domain::sso_config::SealedSecret;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key service could not be reached or refused the call.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
    /// The sealed value does not open: another key or context, or altered.
    #[error("sealed secret does not open: {0}")]
    Rejected(String),
}

/// The port a master key's adapter implements.
#[async_trait]
pub trait SecretBox: Send + Sync + 'static {
    /// Seal `plaintext` for `context` ([`context`]) under a fresh data key.
    async fn seal(&self, plaintext: &[u8], context: &str) -> Result<SealedSecret, SecretError>;

    /// Open what [`SecretBox::seal`] sealed for the same `context`.
    async fn open(
        &self,
        sealed: &SealedSecret,
        context: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SecretError>;
}

/// What a secret of `org` in `field` is bound to: the associated data of its
/// ciphertext and of its wrapped data key (the KMS encryption context).
pub fn context(org: &OrgId, field: &str) -> String {
    format!("admit/org/{org}/{field}")
}

/// A 256-bit data key, zeroed when dropped.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> DataKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(key.as_mut());
        DataKey(key)
    }

    /// A key from its bytes (as a key service returned them): 32 of them.
    pub fn from_slice(bytes: &[u8]) -> Result<DataKey, SecretError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SecretError::Rejected("a data key is 32 bytes".into()))?;
        Ok(DataKey(Zeroizing::new(key)))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&(*self.0).into())
    }

    /// AES-256-GCM of `plaintext` with `aad`: a random nonce, and the
    /// ciphertext with its tag.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SecretError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SecretError::Rejected("cannot encrypt".into()))?;
        Ok((nonce.to_vec(), ciphertext))
    }

    /// The plaintext of what [`DataKey::encrypt`] returned, if it was made
    /// with this key and `aad` and not altered since.
    pub fn decrypt(
        &self,
        nonce: &[u8],
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| SecretError::Rejected("a nonce is 12 bytes".into()))?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SecretError::Rejected("wrong key or context, or altered".into()))
    }
}

/// Seal `plaintext` under `data_key` for `context`, the data key already
/// wrapped (`wrapped_data_key`) by the master key `key_id`: what every
/// adapter stores.
pub fn seal_with(
    key_id: &str,
    data_key: &DataKey,
    wrapped_data_key: Vec<u8>,
    plaintext: &[u8],
    context: &str,
) -> Result<SealedSecret, SecretError> {
    let (nonce, ciphertext) = data_key.encrypt(plaintext, context.as_bytes())?;
    Ok(SealedSecret {
        key_id: key_id.to_owned(),
        wrapped_data_key,
        nonce,
        ciphertext,
    })
}

/// A master key held in memory: the key file's bytes under `admit serve`, or
/// a key made for one process ([`LocalKey::generate`], tests). The data key
/// is wrapped with AES-256-GCM under the master key, the context as
/// associated data; `wrapped_data_key` is the nonce and that ciphertext.
pub struct LocalKey {
    key_id: String,
    master: DataKey,
}

impl LocalKey {
    /// The key of these 32 bytes; its id is `local:` and a fingerprint, so a
    /// value sealed under another key file says so instead of failing blind.
    pub fn from_bytes(bytes: &[u8]) -> Result<LocalKey, SecretError> {
        let master = DataKey::from_slice(bytes)?;
        // A hash of the key under a label of its own: it tells keys apart,
        // and a 256-bit random key cannot be found from it.
        let digest = Sha256::new()
            .chain_update(b"admit local key id\0")
            .chain_update(master.as_bytes())
            .finalize();
        let fingerprint: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(LocalKey {
            key_id: format!("local:{fingerprint}"),
            master,
        })
    }

    /// A fresh key that lives as long as this process: what it seals, no
    /// other process opens. For tests, and for debug builds of an `App`
    /// nobody gave a secret box.
    pub fn generate() -> LocalKey {
        let master = DataKey::generate();
        LocalKey::from_bytes(master.as_bytes()).expect("32 bytes")
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalKey({})", self.key_id)
    }
}

#[async_trait]
impl SecretBox for LocalKey {
    async fn seal(&self, plaintext: &[u8], context: &str) -> Result<SealedSecret, SecretError> {
        let data_key = DataKey::generate();
        let (nonce, wrapped) = self
            .master
            .encrypt(data_key.as_bytes(), context.as_bytes())?;
        seal_with(
            &self.key_id,
            &data_key,
            [nonce, wrapped].concat(),
            plaintext,
            context,
        )
    }

    async fn open(
        &self,
        sealed: &SealedSecret,
        context: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        if sealed.key_id != self.key_id {
            return Err(SecretError::Rejected(format!(
                "sealed under key {}, this is {}",
                sealed.key_id, self.key_id
            )));
        }
        if sealed.wrapped_data_key.len() < 12 {
            return Err(SecretError::Rejected(
                "the wrapped data key is short".into(),
            ));
        }
        let (nonce, wrapped) = sealed.wrapped_data_key.split_at(12);
        let data_key =
            DataKey::from_slice(&self.master.decrypt(nonce, wrapped, context.as_bytes())?)?;
        data_key.decrypt(&sealed.nonce, &sealed.ciphertext, context.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: &str = "admit/org/o1/oidc.client_secret";

    #[tokio::test]
    async fn a_sealed_secret_opens_in_its_context_only() {
        let key = LocalKey::generate();
        let sealed = key.seal(b"client-secret-42", CONTEXT).await.unwrap();
        assert_eq!(sealed.key_id, key.key_id());
        assert!(
            !sealed
                .ciphertext
                .windows(b"client-secret-42".len())
                .any(|w| w == b"client-secret-42")
        );
        assert_eq!(
            key.open(&sealed, CONTEXT).await.unwrap().as_slice(),
            b"client-secret-42"
        );
        // A fresh data key and nonce each time.
        let again = key.seal(b"client-secret-42", CONTEXT).await.unwrap();
        assert_ne!(again.wrapped_data_key, sealed.wrapped_data_key);
        assert_ne!(again.ciphertext, sealed.ciphertext);

        // Another organization or field: refused.
        for other in [
            "admit/org/o2/oidc.client_secret",
            "admit/org/o1/saml.sp_key",
        ] {
            assert!(matches!(
                key.open(&sealed, other).await,
                Err(SecretError::Rejected(_))
            ));
        }
    }

    #[tokio::test]
    async fn an_altered_or_foreign_sealed_secret_is_refused() {
        let key = LocalKey::generate();
        let sealed = key.seal(b"s3cret", CONTEXT).await.unwrap();
        let flip = |v: &mut Vec<u8>, i: usize| v[i] ^= 1;
        let mut altered = Vec::new();
        for i in [0, sealed.ciphertext.len() - 1] {
            let mut s = sealed.clone();
            flip(&mut s.ciphertext, i);
            altered.push(s);
        }
        let mut s = sealed.clone();
        flip(&mut s.nonce, 0);
        altered.push(s);
        let mut s = sealed.clone();
        flip(&mut s.wrapped_data_key, 20);
        altered.push(s);
        let mut s = sealed.clone();
        s.wrapped_data_key.truncate(5);
        altered.push(s);
        for s in &altered {
            assert!(
                matches!(key.open(s, CONTEXT).await, Err(SecretError::Rejected(_))),
                "{s:?}"
            );
        }
        // Another key does not open it, and says which key sealed it.
        let other = LocalKey::generate();
        let Err(SecretError::Rejected(why)) = other.open(&sealed, CONTEXT).await else {
            panic!("another key opened it");
        };
        assert!(why.contains(key.key_id()), "{why}");
        // Even under the same key id (a forged id), the bytes do not open.
        let mut forged = sealed.clone();
        forged.key_id = other.key_id().to_owned();
        assert!(other.open(&forged, CONTEXT).await.is_err());
    }

    #[test]
    fn the_same_bytes_are_the_same_key() {
        let a = LocalKey::from_bytes(&[7u8; 32]).unwrap();
        let b = LocalKey::from_bytes(&[7u8; 32]).unwrap();
        let c = LocalKey::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        assert_ne!(a.key_id(), c.key_id());
        assert!(a.key_id().starts_with("local:") && a.key_id().len() == 22);
        assert!(LocalKey::from_bytes(&[7u8; 31]).is_err());
        assert!(!format!("{a:?}").contains("0707"));
    }
}
