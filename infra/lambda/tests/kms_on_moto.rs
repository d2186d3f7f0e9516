//! The KMS secret box against moto's KMS (its server speaks the KMS wire
//! protocol and binds the encryption context as KMS does).

use admit_app::{LocalKey, SecretBox, SecretError};
use admit_lambda::kms::KmsSecretBox;
use admit_tests::moto::Moto;
use aws_sdk_kms::Client;

const CONTEXT: &str = "admit/org/o1/oidc.client_secret";

async fn key(client: &Client) -> (String, String) {
    let key = client
        .create_key()
        .description("admit test key")
        .send()
        .await
        .expect("moto creates the key");
    let meta = key.key_metadata().expect("key metadata");
    let alias = format!("alias/admit-test-{}", meta.key_id());
    client
        .create_alias()
        .alias_name(&alias)
        .target_key_id(meta.key_id())
        .send()
        .await
        .expect("moto creates the alias");
    (meta.arn().expect("an ARN").to_owned(), alias)
}

#[tokio::test]
async fn kms_seals_and_opens_in_context_only() {
    let client = Client::new(&Moto::shared().sdk_config());
    let (arn, alias) = key(&client).await;
    // Configured by alias, as the template does; stored with the key's ARN.
    let secrets = KmsSecretBox::new(client.clone(), &alias);
    let sealed = secrets.seal(b"client-secret-42", CONTEXT).await.unwrap();
    assert_eq!(sealed.key_id, arn);
    assert_eq!(sealed.nonce.len(), 12);
    let stored = serde_json::to_string(&sealed).unwrap();
    assert!(!stored.contains("client-secret-42"), "{stored}");
    assert_eq!(
        secrets.open(&sealed, CONTEXT).await.unwrap().as_slice(),
        b"client-secret-42"
    );
    // A box configured with another key still opens it: the value names its key.
    let (_, other_alias) = key(&client).await;
    let other = KmsSecretBox::new(client.clone(), &other_alias);
    assert_eq!(
        other.open(&sealed, CONTEXT).await.unwrap().as_slice(),
        b"client-secret-42"
    );

    // Another organization's context: KMS refuses to unwrap the data key.
    let err = secrets
        .open(&sealed, "admit/org/o2/oidc.client_secret")
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::Rejected(_)), "{err}");

    // Altered ciphertext or nonce: the local AEAD refuses.
    let mut altered = sealed.clone();
    altered.ciphertext[0] ^= 1;
    assert!(matches!(
        secrets.open(&altered, CONTEXT).await,
        Err(SecretError::Rejected(_))
    ));
    let mut altered = sealed.clone();
    altered.nonce[3] ^= 1;
    assert!(matches!(
        secrets.open(&altered, CONTEXT).await,
        Err(SecretError::Rejected(_))
    ));
    // An altered wrapped data key: KMS refuses.
    let mut altered = sealed.clone();
    let last = altered.wrapped_data_key.len() - 1;
    altered.wrapped_data_key[last] ^= 1;
    assert!(secrets.open(&altered, CONTEXT).await.is_err());

    // Sealed by a key file, not KMS: refused without a call.
    let local = LocalKey::generate().seal(b"x", CONTEXT).await.unwrap();
    let err = secrets.open(&local, CONTEXT).await.unwrap_err();
    assert!(err.to_string().contains("not a KMS key"), "{err}");
}

#[tokio::test]
async fn a_missing_key_is_unavailable_and_says_which_call() {
    let client = Client::new(&Moto::shared().sdk_config());
    let secrets = KmsSecretBox::new(client, "alias/admit-no-such-key");
    let err = secrets.seal(b"s3cret", CONTEXT).await.unwrap_err();
    assert!(matches!(err, SecretError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("kms:GenerateDataKey"), "{err}");
    assert!(!err.to_string().contains("s3cret"));
}
