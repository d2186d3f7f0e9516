//! Keys, end to end (docs/api.md, "Keys: what confirmation hands over"):
//! a client written here, with RSA-OAEP (SHA-256) and AES-256-GCM, does what
//! the pages do. The bootstrap owner brings the organization key encrypted
//! with its own public key; an administrator's client decrypts it, encrypts
//! it for a member's public key (fetched with its fingerprint) and confirms;
//! the member's client decrypts exactly the organization key. Admit only
//! stores and relays: it checks the public key and the shape of the rest.

use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::{setup_token, sso_sign_in};
use admit_tests::keys::{
    EC_P256_PUBLIC_KEY, PKCS1_PUBLIC_KEY, PRIVATE_KEY, PRIVATE_KEY_2, PRIVATE_KEY_3, PUBLIC_KEY,
    PUBLIC_KEY_2, PUBLIC_KEY_3, RSA_1024_PUBLIC_KEY, RSA_2047_PUBLIC_KEY, RSA_4096_PUBLIC_KEY,
    RSA_4098_PUBLIC_KEY,
};
use admit_tests::oidc::{Browser, OidcClient, OidcProvider};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::StatusCode;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

on_both_backends!(
    the_org_key_travels_from_the_owner_to_each_member,
    a_member_set_up_through_sso_gets_the_org_key,
    who_may_read_a_members_public_key,
    accept_refuses_a_bad_public_key_and_writes_nothing,
    only_the_bootstrap_owner_brings_an_org_key,
    confirm_refuses_a_malformed_key,
);

/// The organization key the owner's client makes (AES-256: 32 bytes).
const ORG_KEY: [u8; 32] = [
    0x6f, 0x72, 0x67, 0x2d, 0x6b, 0x65, 0x79, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x80, 0x7f, 0xfe, 0x02, 0x10, 0x20, 0x30, 0x40,
];

// ------------------------------------------------------------------ client

/// What a client (the accept page, the setup page, an admin's browser) keeps
/// and computes. The RSA key pair is a fixture (key generation is slow in
/// debug builds); everything else is made here.
struct Client {
    password: String,
    /// What the client made when it registered: the private key, and the
    /// user key that encrypts it.
    private_key: RsaPrivateKey,
    /// The three keys as sent to Admit.
    keys: Value,
}

impl Client {
    fn new(private_key_pkcs8_base64: &str, password: &str) -> Client {
        let private_key =
            RsaPrivateKey::from_pkcs8_der(&B64.decode(private_key_pkcs8_base64).unwrap()).unwrap();
        let user_key: [u8; 32] = rand::random();
        let public_key = B64.encode(
            RsaPublicKey::from(&private_key)
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
        );
        let keys = json!({
            "user_key": seal(&stretch(password), &user_key),
            "public_key": public_key,
            "encrypted_private_key": seal(&user_key, private_key.to_pkcs8_der().unwrap().as_bytes()),
        });
        Client {
            password: password.to_owned(),
            private_key,
            keys,
        }
    }

    fn public_key(&self) -> &str {
        self.keys["public_key"].as_str().unwrap()
    }

    /// What the client shows its user to compare with the administrator.
    fn fingerprint(&self) -> String {
        fingerprint(self.public_key())
    }

    /// Unlock the keys `GET /me` handed back: the master password opens the
    /// user key, which opens the private key; it must be the one made.
    fn unlock(&self, keys: &Value) -> RsaPrivateKey {
        let user_key = open(
            &stretch(&self.password),
            keys["user_key"].as_str().expect("keys.user_key"),
        );
        let user_key: [u8; 32] = user_key.try_into().expect("a 256-bit user key");
        let der = open(
            &user_key,
            keys["encrypted_private_key"]
                .as_str()
                .expect("keys.encrypted_private_key"),
        );
        let private_key = RsaPrivateKey::from_pkcs8_der(&der).expect("a PKCS#8 private key");
        assert_eq!(private_key, self.private_key);
        assert_eq!(
            keys["public_key"].as_str(),
            Some(self.public_key()),
            "the stored public key is the client's"
        );
        private_key
    }

    /// The bootstrap owner's `org_key`: the organization key encrypted with
    /// its own public key.
    fn org_key_for_myself(&self) -> String {
        encrypt_for(self.public_key(), &ORG_KEY)
    }

    /// Accept an invitation as a new account, with these keys (and `extra`
    /// fields merged in).
    fn accept_body(&self, token: &str, extra: Value) -> Value {
        let mut body = json!({"token": token, "master_password_hash": mp_hash(&self.password),
                              "kdf": kdf(), "keys": self.keys});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    }
}

/// The key a client stretches from its master password (the pages use
/// PBKDF2; any client-side derivation does here: Admit never sees it).
fn stretch(password: &str) -> [u8; 32] {
    Sha256::digest(format!("stretch:{password}").as_bytes()).into()
}

/// AES-256-GCM under `key`, in a printable form: `aesgcm.<nonce>|<ciphertext>`.
fn seal(key: &[u8; 32], plaintext: &[u8]) -> String {
    let nonce: [u8; 12] = rand::random();
    let ct = Aes256Gcm::new(&(*key).into())
        .encrypt(&Nonce::from(nonce), plaintext)
        .unwrap();
    format!("aesgcm.{}|{}", B64.encode(nonce), B64.encode(ct))
}

fn open(key: &[u8; 32], sealed: &str) -> Vec<u8> {
    let (nonce, ct) = sealed
        .strip_prefix("aesgcm.")
        .and_then(|s| s.split_once('|'))
        .unwrap_or_else(|| panic!("what seal made: {sealed}"));
    let nonce: [u8; 12] = B64.decode(nonce).unwrap().try_into().unwrap();
    Aes256Gcm::new(&(*key).into())
        .decrypt(&Nonce::from(nonce), B64.decode(ct).unwrap().as_slice())
        .expect("the key opens it: stored as sent")
}

/// RSA-OAEP with SHA-256 for a public key as Admit hands it out (base64 of a
/// DER SubjectPublicKeyInfo); base64 of the ciphertext.
fn encrypt_for(public_key: &str, plaintext: &[u8]) -> String {
    let key = RsaPublicKey::from_public_key_der(&B64.decode(public_key).unwrap())
        .expect("an RSA SubjectPublicKeyInfo");
    B64.encode(
        key.encrypt(&mut rsa::rand_core::OsRng, Oaep::new::<Sha256>(), plaintext)
            .unwrap(),
    )
}

fn decrypt_with(private_key: &RsaPrivateKey, ciphertext: &str) -> Vec<u8> {
    private_key
        .decrypt(Oaep::new::<Sha256>(), &B64.decode(ciphertext).unwrap())
        .expect("RSA-OAEP (SHA-256) for this key")
}

/// The fingerprint as the contract defines it, computed independently: the
/// first 16 bytes of the SHA-256 of the DER, as eight groups of four
/// lower-case hex digits joined by `-`.
fn fingerprint(public_key: &str) -> String {
    let digest = Sha256::digest(B64.decode(public_key).unwrap());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    hex.as_bytes()
        .chunks(4)
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect::<Vec<_>>()
        .join("-")
}

// ------------------------------------------------------------------ steps

/// `GET /me` and its membership of `org`.
async fn me_in(app: &TestApp, session: &str, org: &str) -> (Value, Value) {
    let (s, me) = app.get("/me", Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let membership = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["org_id"] == org)
        .unwrap_or_else(|| panic!("a membership of {org}: {me}"))
        .clone();
    (me, membership)
}

/// What a client decrypts from its confirmed membership of `org`.
async fn org_key_seen_by(app: &TestApp, session: &str, client: &Client, org: &str) -> Vec<u8> {
    let (me, membership) = me_in(app, session, org).await;
    assert_eq!(membership["status"], "confirmed", "{me}");
    assert_eq!(me["keys"], client.keys, "the keys as stored");
    assert_eq!(
        me["fingerprint"].as_str(),
        Some(client.fingerprint().as_str())
    );
    let key = membership["key"]
        .as_str()
        .unwrap_or_else(|| panic!("a confirmed membership carries its key: {me}"));
    decrypt_with(&client.unlock(&me["keys"]), key)
}

/// The administrator's client: fetches the member's public key, checks its
/// fingerprint against the one the member sees, decrypts the organization
/// key from its own membership and encrypts it for the member.
async fn key_for_member(
    app: &TestApp,
    org: &str,
    admin_session: &str,
    admin: &Client,
    member_id: &str,
    member: &Client,
) -> String {
    let (s, body) = app
        .get(
            &format!("/orgs/{org}/members/{member_id}/public-key"),
            Some(admin_session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let public_key = body["public_key"].as_str().unwrap();
    assert_eq!(body["member_id"], member_id);
    assert!(body["user_id"].is_string(), "{body}");
    assert_eq!(public_key, member.public_key(), "the key the member stored");
    assert_eq!(
        body["fingerprint"].as_str(),
        Some(fingerprint(public_key).as_str()),
        "the fingerprint as specified"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        4,
        "member_id, user_id, public_key, fingerprint: {body}"
    );
    let org_key = org_key_seen_by(app, admin_session, admin, org).await;
    assert_eq!(org_key, ORG_KEY);
    encrypt_for(public_key, &org_key)
}

struct Owned {
    org: String,
    session: String,
    owner: Client,
    owner_email: String,
}

/// The operator creates an organization; its owner accepts as a new account
/// with keys and the organization key.
async fn bootstrap(app: &TestApp) -> Owned {
    let owner_email = app.email(&format!("owner-{}", unique()));
    let org = app.create_org("Keyed", &owner_email, json!({})).await;
    let owner = Client::new(PRIVATE_KEY, "owner pw");
    let token = app.last_mail_to(&owner_email).await.accept_token();
    let org_key = owner.org_key_for_myself();
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            owner.accept_body(&token, json!({"org_key": org_key})),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("confirmed")),
        "{body}"
    );
    let session = app.login(&owner_email, "owner pw").await;
    // `GET /me` hands back the keys and the organization key as sent.
    let (me, membership) = me_in(app, &session, &org).await;
    assert_eq!(me["keys"], owner.keys, "{me}");
    assert_eq!(membership["key"].as_str(), Some(org_key.as_str()), "{me}");
    Owned {
        org,
        session,
        owner,
        owner_email,
    }
}

/// Invite `email` (as `role`) and accept as a new account with `client`'s keys.
async fn join(app: &TestApp, o: &Owned, email: &str, role: &str, client: &Client) -> String {
    let (s, body) = app.invite(&o.org, &o.session, &[email], role).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let token = app.last_mail_to(email).await.accept_token();
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            client.accept_body(&token, json!({})),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
    body["member_id"].as_str().unwrap().to_owned()
}

fn error_of(body: &Value) -> Option<&str> {
    body["error"].as_str()
}

// ------------------------------------------------------------------ scenarios

async fn the_org_key_travels_from_the_owner_to_each_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = bootstrap(&app).await;

    // 1. The owner's own page: its keys, the fingerprint of its public key,
    //    and the organization key it brought, which it can decrypt.
    let (me, _) = me_in(&app, &o.session, &o.org).await;
    assert_eq!(
        me["fingerprint"].as_str(),
        Some(fingerprint(PUBLIC_KEY).as_str())
    );
    assert_eq!(
        o.owner.public_key(),
        PUBLIC_KEY,
        "the fixture's halves match"
    );
    assert_eq!(
        org_key_seen_by(&app, &o.session, &o.owner, &o.org).await,
        ORG_KEY
    );
    // The same fingerprint wherever it is shown.
    let owner_id = app.member_id(&o.org, &o.session, &o.owner_email).await;
    let (s, own) = app
        .get(
            &format!("/orgs/{}/members/{owner_id}/public-key", o.org),
            Some(&o.session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    assert_eq!(own["fingerprint"], me["fingerprint"]);
    assert_eq!(own["user_id"], me["user_id"]);

    // 2. Alice, invited as an admin, registers with her own keys. Until she
    //    is confirmed her page shows her keys and fingerprint, and no key.
    let alice_email = app.email("alice");
    let alice = Client::new(PRIVATE_KEY_2, "alice pw");
    let alice_id = join(&app, &o, &alice_email, "admin", &alice).await;
    let alice_session = app.login(&alice_email, "alice pw").await;
    let (me, membership) = me_in(&app, &alice_session, &o.org).await;
    assert_eq!(membership["status"], "accepted");
    assert!(membership.get("key").is_none_or(Value::is_null), "{me}");
    assert_eq!(me["keys"], alice.keys);
    assert_eq!(
        me["fingerprint"].as_str(),
        Some(fingerprint(PUBLIC_KEY_2).as_str())
    );
    assert_ne!(fingerprint(PUBLIC_KEY_2), fingerprint(PUBLIC_KEY));

    // The owner's client fetches Alice's public key, compares fingerprints,
    // and confirms her with the organization key encrypted for her.
    let key = key_for_member(&app, &o.org, &o.session, &o.owner, &alice_id, &alice).await;
    let (s, body) = app
        .post(
            &format!("/orgs/{}/members/{alice_id}/confirm", o.org),
            Some(&o.session),
            json!({"key": key}),
        )
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!({"status": "confirmed"})));
    let (_, membership) = me_in(&app, &alice_session, &o.org).await;
    assert_eq!(
        membership["key"].as_str(),
        Some(key.as_str()),
        "as handed over"
    );
    assert_eq!(
        org_key_seen_by(&app, &alice_session, &alice, &o.org).await,
        ORG_KEY,
        "Alice decrypts exactly the organization key"
    );
    // Confirmed, her public key is still there for administrators.
    let (s, body) = app
        .get(
            &format!("/orgs/{}/members/{alice_id}/public-key", o.org),
            Some(&o.session),
        )
        .await;
    assert_eq!(
        (s, body["public_key"].as_str()),
        (StatusCode::OK, Some(PUBLIC_KEY_2))
    );

    // Bob registers; Alice, now an admin holding the organization key,
    // confirms him through the bulk endpoint.
    let bob_email = app.email("bob");
    let bob = Client::new(PRIVATE_KEY_3, "bob pw");
    let bob_id = join(&app, &o, &bob_email, "user", &bob).await;
    let key = key_for_member(&app, &o.org, &alice_session, &alice, &bob_id, &bob).await;
    let (s, body) = app
        .post(
            &format!("/orgs/{}/members/confirm", o.org),
            Some(&alice_session),
            json!({"keys": [{"member_id": bob_id, "key": key}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"],
        json!([{"member_id": bob_id, "status": "confirmed"}])
    );
    let bob_session = app.login(&bob_email, "bob pw").await;
    assert_eq!(
        org_key_seen_by(&app, &bob_session, &bob, &o.org).await,
        ORG_KEY,
        "Bob decrypts exactly the organization key"
    );
    assert_eq!(
        me_in(&app, &bob_session, &o.org).await.0["fingerprint"].as_str(),
        Some(fingerprint(PUBLIC_KEY_3).as_str())
    );
}

/// Optional step 4: a member provisioned just in time sets up with a master
/// password and its keys, is confirmed, and decrypts its key.
async fn a_member_set_up_through_sso_gets_the_org_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = bootstrap(&app).await;
    let idp = OidcProvider::start(&[OidcClient::new(
        "admit",
        "idp-client-secret",
        app.url("/sso/oidc/callback"),
    )]);
    let ident = app
        .use_oidc(
            &o.org,
            &o.session,
            &idp.issuer,
            "admit",
            "idp-client-secret",
        )
        .await;

    let sam_email = app.email("sam");
    let sam = Client::new(PRIVATE_KEY_2, "sam pw");
    let page = sso_sign_in(&app, &Browser::new(), &ident, None, &sam_email).await;
    let token = setup_token(&page);
    // A bad public key at setup is refused too; the grant stays usable.
    let mut bad = sam.keys.clone();
    bad["public_key"] = json!(RSA_1024_PUBLIC_KEY);
    let (s, body) = app
        .post(
            "/setup/master-password",
            None,
            json!({"setup_token": token, "master_password_hash": mp_hash("sam pw"), "kdf": kdf(), "keys": bad}),
        )
        .await;
    assert_eq!(
        (s, error_of(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    let (s, done) = app
        .post(
            "/setup/master-password",
            None,
            json!({"setup_token": token, "master_password_hash": mp_hash("sam pw"), "kdf": kdf(), "keys": sam.keys}),
        )
        .await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    let sam_session = done["session_token"].as_str().unwrap().to_owned();
    let sam_id = done["member_id"].as_str().unwrap().to_owned();
    let (me, _) = me_in(&app, &sam_session, &o.org).await;
    assert_eq!(me["keys"], sam.keys);
    assert_eq!(me["fingerprint"].as_str(), Some(sam.fingerprint().as_str()));

    let key = key_for_member(&app, &o.org, &o.session, &o.owner, &sam_id, &sam).await;
    let (s, body) = app
        .post(
            &format!("/orgs/{}/members/{sam_id}/confirm", o.org),
            Some(&o.session),
            json!({"key": key}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        org_key_seen_by(&app, &sam_session, &sam, &o.org).await,
        ORG_KEY
    );
}

async fn who_may_read_a_members_public_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = bootstrap(&app).await;
    let path = |id: &str| format!("/orgs/{}/members/{id}/public-key", o.org);

    let uma_email = app.email("uma");
    let uma = Client::new(PRIVATE_KEY_2, "uma pw");
    let uma_id = join(&app, &o, &uma_email, "user", &uma).await;
    let uma_session = app.login(&uma_email, "uma pw").await;
    let owner_id = app.member_id(&o.org, &o.session, &o.owner_email).await;

    // A `user` may not, not even its own.
    for id in [&owner_id, &uma_id] {
        let (s, body) = app.get(&path(id), Some(&uma_session)).await;
        assert_eq!(
            (s, error_of(&body)),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{body}"
        );
    }
    // Without a session: 401.
    assert_eq!(
        app.get(&path(&uma_id), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Another organization's administrator sees nothing.
    let (_, other) = app.org_with_owner(json!({})).await;
    let (s, body) = app.get(&path(&uma_id), Some(&other)).await;
    assert_eq!(
        (s, error_of(&body)),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{body}"
    );
    // An unknown member: 404.
    assert_eq!(
        app.get(&path("mem_nope"), Some(&o.session)).await.0,
        StatusCode::NOT_FOUND
    );

    // Invited, no account yet: 409.
    let ivy = app.email("ivy");
    app.invite(&o.org, &o.session, &[&ivy], "user").await;
    let ivy_id = app.member_id(&o.org, &o.session, &ivy).await;
    let (s, body) = app.get(&path(&ivy_id), Some(&o.session)).await;
    assert_eq!(
        (s, error_of(&body)),
        (StatusCode::CONFLICT, Some("conflict")),
        "{body}"
    );

    // Accepted: 200 (for an admin); revoked: 409.
    let rex_email = app.email("rex");
    let rex = Client::new(PRIVATE_KEY_3, "rex pw");
    let rex_id = join(&app, &o, &rex_email, "user", &rex).await;
    let (s, body) = app.get(&path(&rex_id), Some(&o.session)).await;
    assert_eq!(
        (s, body["public_key"].as_str()),
        (StatusCode::OK, Some(PUBLIC_KEY_3))
    );
    let (s, body) = app
        .post(
            &format!("/orgs/{}/members/{rex_id}/revoke", o.org),
            Some(&o.session),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app.get(&path(&rex_id), Some(&o.session)).await;
    assert_eq!(
        (s, error_of(&body)),
        (StatusCode::CONFLICT, Some("conflict")),
        "{body}"
    );
    // A revoked invitation (never an account) too.
    let (s, _) = app
        .post(
            &format!("/orgs/{}/members/{ivy_id}/revoke", o.org),
            Some(&o.session),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.get(&path(&ivy_id), Some(&o.session)).await.0,
        StatusCode::CONFLICT
    );

    // The owner may read Uma's key, which Uma herself may not.
    let (s, body) = app.get(&path(&uma_id), Some(&o.session)).await;
    assert_eq!(
        (s, body["fingerprint"].as_str()),
        (StatusCode::OK, Some(fingerprint(PUBLIC_KEY_2).as_str()))
    );
}

async fn accept_refuses_a_bad_public_key_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = bootstrap(&app).await;
    let nia_email = app.email("nia");
    app.invite(&o.org, &o.session, &[&nia_email], "user").await;
    let token = app.last_mail_to(&nia_email).await.accept_token();
    let nia = Client::new(PRIVATE_KEY_2, "nia pw");

    let random: [u8; 294] = std::array::from_fn(|_| rand::random());
    let truncated = &PUBLIC_KEY_2[..200];
    let bad_keys = [
        ("not base64", "not-base64%%".to_owned()),
        ("EC P-256", EC_P256_PUBLIC_KEY.to_owned()),
        ("RSA-1024", RSA_1024_PUBLIC_KEY.to_owned()),
        ("RSA-2047", RSA_2047_PUBLIC_KEY.to_owned()),
        ("RSA-4098", RSA_4098_PUBLIC_KEY.to_owned()),
        ("random base64", B64.encode(random)),
        ("PKCS#1, not SPKI", PKCS1_PUBLIC_KEY.to_owned()),
        ("a PKCS#8 private key", PRIVATE_KEY_2.to_owned()),
        ("truncated DER", truncated.to_owned()),
        (
            "base64url",
            PUBLIC_KEY_2.replace('+', "-").replace('/', "_"),
        ),
        ("empty", String::new()),
    ];
    for (what, public_key) in &bad_keys {
        let mut keys = nia.keys.clone();
        keys["public_key"] = json!(public_key);
        let (s, body) = app
            .post(
                "/invitations/accept",
                None,
                json!({"token": token, "master_password_hash": mp_hash("nia pw"), "kdf": kdf(), "keys": keys}),
            )
            .await;
        assert_eq!(
            (s, error_of(&body)),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{what}: {body}"
        );
    }
    // Oversized opaque keys as well.
    for field in ["user_key", "encrypted_private_key"] {
        let mut keys = nia.keys.clone();
        keys[field] = json!("k".repeat(10_001));
        let (s, body) = app
            .post(
                "/invitations/accept",
                None,
                json!({"token": token, "master_password_hash": mp_hash("nia pw"), "kdf": kdf(), "keys": keys}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {body}");
    }
    // Nothing written: still invited, no account, the link still works.
    let m = app.member(&o.org, &o.session, &nia_email).await;
    assert_eq!(m["status"], "invited", "{m}");
    let (s, lookup) = app
        .post("/invitations/lookup", None, json!({"token": token}))
        .await;
    assert_eq!(
        (s, lookup["account_exists"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{lookup}"
    );
    let (s, body) = app
        .post(
            "/auth/login",
            None,
            json!({"email": nia_email, "master_password_hash": mp_hash("nia pw")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no account: {body}");
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            nia.accept_body(&token, json!({})),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
    let session = app.login(&nia_email, "nia pw").await;
    assert_eq!(me_in(&app, &session, &o.org).await.0["keys"], nia.keys);

    // The longest RSA key taken: 4096 bits.
    let max_email = app.email("max");
    app.invite(&o.org, &o.session, &[&max_email], "user").await;
    let token = app.last_mail_to(&max_email).await.accept_token();
    let mut keys = nia.keys.clone();
    keys["public_key"] = json!(RSA_4096_PUBLIC_KEY);
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            json!({"token": token, "master_password_hash": mp_hash("max pw"), "kdf": kdf(), "keys": keys}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let max_id = body["member_id"].as_str().unwrap().to_owned();
    let (s, body) = app
        .get(
            &format!("/orgs/{}/members/{max_id}/public-key", o.org),
            Some(&o.session),
        )
        .await;
    assert_eq!(
        (s, body["fingerprint"].as_str()),
        (
            StatusCode::OK,
            Some(fingerprint(RSA_4096_PUBLIC_KEY).as_str())
        )
    );
}

async fn only_the_bootstrap_owner_brings_an_org_key(backend: Backend) {
    let app = spawn_app(backend).await;

    // The bootstrap owner's org_key is printable ASCII of 1 to 10,000
    // characters; a refused one leaves the invitation open.
    let owner_email = app.email("owner");
    let org = app.create_org("Keyed", &owner_email, json!({})).await;
    let owner = Client::new(PRIVATE_KEY, "owner pw");
    let token = app.last_mail_to(&owner_email).await.accept_token();
    for bad in [
        String::new(),
        "k".repeat(10_001),
        "key\u{1}".to_owned(),
        "key with spaces".to_owned(),
        "clé".to_owned(),
    ] {
        let (s, body) = app
            .post(
                "/invitations/accept",
                None,
                owner.accept_body(&token, json!({"org_key": bad})),
            )
            .await;
        assert_eq!(
            (s, error_of(&body)),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad:?}: {body}"
        );
    }
    let (s, lookup) = app
        .post("/invitations/lookup", None, json!({"token": token}))
        .await;
    assert_eq!(
        (s, lookup["account_exists"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{lookup}"
    );
    let org_key = owner.org_key_for_myself();
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            owner.accept_body(&token, json!({"org_key": org_key})),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("confirmed")),
        "{body}"
    );
    let session = app.login(&owner_email, "owner pw").await;
    let o = Owned {
        org,
        session,
        owner,
        owner_email,
    };

    // A member's accept with org_key → 400, nothing written.
    let mo_email = app.email("mo");
    let mo = Client::new(PRIVATE_KEY_2, "mo pw");
    app.invite(&o.org, &o.session, &[&mo_email], "admin").await;
    let token = app.last_mail_to(&mo_email).await.accept_token();
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            mo.accept_body(&token, json!({"org_key": mo.org_key_for_myself()})),
        )
        .await;
    assert_eq!(
        (s, error_of(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    assert_eq!(
        app.member(&o.org, &o.session, &mo_email).await["status"],
        "invited"
    );
    let (_, lookup) = app
        .post("/invitations/lookup", None, json!({"token": token}))
        .await;
    assert_eq!(lookup["account_exists"], false, "{lookup}");
    // Without it, the same invitation works; no key until confirmed.
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            mo.accept_body(&token, json!({})),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
    let mo_session = app.login(&mo_email, "mo pw").await;
    let (me, membership) = me_in(&app, &mo_session, &o.org).await;
    assert!(membership.get("key").is_none_or(Value::is_null), "{me}");

    // An existing account accepting with its password: org_key → 400 too.
    let (org2, s2) = app.org_with_owner(json!({})).await;
    app.invite(&org2, &s2, &[&mo_email], "user").await;
    let token = app.last_mail_to(&mo_email).await.accept_token();
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            json!({"token": token, "master_password_hash": mp_hash("mo pw"), "org_key": mo.org_key_for_myself()}),
        )
        .await;
    assert_eq!(
        (s, error_of(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    assert_eq!(app.member(&org2, &s2, &mo_email).await["status"], "invited");
    let (s, body) = app.accept_latest(&mo_email, "mo pw", false).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
}

async fn confirm_refuses_a_malformed_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = bootstrap(&app).await;
    let cy_email = app.email("cy");
    let cy = Client::new(PRIVATE_KEY_2, "cy pw");
    let cy_id = join(&app, &o, &cy_email, "user", &cy).await;
    let one = format!("/orgs/{}/members/{cy_id}/confirm", o.org);
    let many = format!("/orgs/{}/members/confirm", o.org);
    let good = key_for_member(&app, &o.org, &o.session, &o.owner, &cy_id, &cy).await;

    let still_accepted = || async {
        let m = app.member(&o.org, &o.session, &cy_email).await;
        assert_eq!(m["status"], "accepted", "{m}");
    };
    for bad in [
        format!("{good}\u{7}"),
        format!("\n{good}"),
        format!("{} {}", &good[..10], &good[10..]),
        "k".repeat(10_001),
        String::new(),
    ] {
        let (s, body) = app.post(&one, Some(&o.session), json!({"key": bad})).await;
        assert_eq!(
            (s, error_of(&body)),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{:?}…: {body}",
            &bad[..bad.len().min(12)]
        );
        still_accepted().await;
    }
    // In bulk: a control character refuses the whole request.
    let (s, body) = app
        .post(
            &many,
            Some(&o.session),
            json!({"keys": [{"member_id": cy_id, "key": format!("{good}\u{1}")}]}),
        )
        .await;
    assert_eq!(
        (s, error_of(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    still_accepted().await;
    // An oversized key: that member's result says `invalid_request`.
    let (s, body) = app
        .post(
            &many,
            Some(&o.session),
            json!({"keys": [{"member_id": cy_id, "key": "k".repeat(10_001)}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"],
        json!([{"member_id": cy_id, "error": "invalid_request"}])
    );
    still_accepted().await;
    // Cy has no key until then.
    let cy_session = app.login(&cy_email, "cy pw").await;
    let (me, membership) = me_in(&app, &cy_session, &o.org).await;
    assert!(membership.get("key").is_none_or(Value::is_null), "{me}");

    // The well-formed key confirms, and decrypts to the organization key.
    let (s, body) = app.post(&one, Some(&o.session), json!({"key": good})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        org_key_seen_by(&app, &cy_session, &cy, &o.org).await,
        ORG_KEY
    );
    // 10,000 characters is the longest key taken.
    let dee_email = app.email("dee");
    let dee_id = join(
        &app,
        &o,
        &dee_email,
        "user",
        &Client::new(PRIVATE_KEY_3, "dee pw"),
    )
    .await;
    let (s, body) = app
        .post(
            &format!("/orgs/{}/members/{dee_id}/confirm", o.org),
            Some(&o.session),
            json!({"key": "k".repeat(10_000)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
