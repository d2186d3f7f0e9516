//! The secret box on AWS: envelope encryption under a KMS key
//! (`ADMIT_KMS_KEY_ID`).
//!
//! Sealing calls `GenerateDataKey` (AES-256) with the context as the
//! encryption context: KMS draws the data key, returns it in clear and
//! wrapped, and binds the wrapped copy to the context; the secret is then
//! encrypted locally with it (AES-256-GCM, the context as associated data)
//! and the clear data key dropped. Opening calls `Decrypt` with the same
//! context and the key id the value was sealed under. One KMS call either
//! way; the data key never comes from this process's own randomness, and
//! CloudTrail records each use of the key with the context it was bound to
//! (which organization's secret).

use admit_app::{DataKey, SecretBox, SecretError, seal_with};
use admit_domain::sso_config::SealedSecret;
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use zeroize::Zeroizing;

/// The encryption context's one key; its value is the sealing context.
pub const CONTEXT_KEY: &str = "admit:context";

pub struct KmsSecretBox {
    client: Client,
    key_id: String,
}

impl KmsSecretBox {
    /// Seal under `key_id`: a key id, key ARN, alias name or alias ARN.
    pub fn new(client: Client, key_id: &str) -> KmsSecretBox {
        KmsSecretBox {
            client,
            key_id: key_id.to_owned(),
        }
    }
}

fn unavailable<E: std::error::Error>(what: &str, e: E) -> SecretError {
    SecretError::Unavailable(format!("{what}: {}", DisplayErrorContext(&e)))
}

#[async_trait]
impl SecretBox for KmsSecretBox {
    async fn seal(&self, plaintext: &[u8], context: &str) -> Result<SealedSecret, SecretError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(|e| unavailable("kms:GenerateDataKey", e))?;
        let (Some(clear), Some(wrapped), Some(key_arn)) =
            (out.plaintext(), out.ciphertext_blob(), out.key_id())
        else {
            return Err(SecretError::Unavailable(
                "kms:GenerateDataKey answered without a data key".into(),
            ));
        };
        let data_key = DataKey::from_slice(clear.as_ref())?;
        // Stored with the key's ARN (what KMS answers), not an alias: the
        // value names the key it needs even after the alias moves.
        seal_with(
            key_arn,
            &data_key,
            wrapped.as_ref().to_vec(),
            plaintext,
            context,
        )
    }

    async fn open(
        &self,
        sealed: &SealedSecret,
        context: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        if !sealed.key_id.starts_with("arn:") {
            return Err(SecretError::Rejected(format!(
                "sealed under {}, not a KMS key",
                sealed.key_id
            )));
        }
        let out = self
            .client
            .decrypt()
            .key_id(&sealed.key_id)
            .ciphertext_blob(Blob::new(sealed.wrapped_data_key.clone()))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(|e| {
                let refused = e.as_service_error().is_some_and(|s| {
                    s.is_invalid_ciphertext_exception() || s.is_incorrect_key_exception()
                });
                if refused {
                    SecretError::Rejected(format!("kms:Decrypt: {}", DisplayErrorContext(&e)))
                } else {
                    unavailable("kms:Decrypt", e)
                }
            })?;
        let clear = out
            .plaintext()
            .ok_or_else(|| SecretError::Unavailable("kms:Decrypt answered no plaintext".into()))?;
        let data_key = DataKey::from_slice(clear.as_ref())?;
        data_key.decrypt(&sealed.nonce, &sealed.ciphertext, context.as_bytes())
    }
}
