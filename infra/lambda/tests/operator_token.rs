//! The operator token is read from Secrets Manager (moto's server speaks
//! its wire protocol), as a deployed function reads it at init.

use admit_lambda::operator_token_from_secret;
use admit_tests::moto::Moto;
use aws_sdk_secretsmanager::Client;

#[tokio::test]
async fn the_operator_token_comes_from_its_secret() {
    let client = Client::new(&Moto::shared().sdk_config());
    let created = client
        .create_secret()
        .name(format!("admit-operator-{}", std::process::id()))
        .secret_string("  op-token-from-the-secret\n")
        .send()
        .await
        .expect("moto creates the secret");
    let arn = created.arn().unwrap();
    assert_eq!(
        operator_token_from_secret(&client, arn).await.unwrap(),
        "op-token-from-the-secret"
    );

    // A missing or empty secret stops the function at init, with a reason.
    let missing = operator_token_from_secret(&client, "admit-no-such-secret")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("cannot read the operator token secret"),
        "{missing}"
    );
    let blank = client
        .create_secret()
        .name(format!("admit-blank-{}", std::process::id()))
        .secret_string("   ")
        .send()
        .await
        .unwrap();
    let err = operator_token_from_secret(&client, blank.arn().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds no string"), "{err}");
    // The token is never in an error.
    assert!(!missing.contains("op-token") && !err.contains("op-token"));
}
