//! Accounts: a person, with an optional master-password verifier.
//!
//! The server never sees a master password. The client sends the output of
//! a KDF (`MasterPasswordHash`); the server keeps an Argon2id hash of that
//! (the `verifier`, produced outside this crate) and opaque key material it
//! never decrypts.

use crate::{Email, ParseError, Timestamp, UserId};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The client-side KDF output a member proves knowledge of its master password with.
#[derive(Clone)]
pub struct MasterPasswordHash(Vec<u8>);

impl MasterPasswordHash {
    pub fn parse(base64: &str) -> Result<Self, ParseError> {
        let bytes = STANDARD
            .decode(base64.trim())
            .map_err(|_| ParseError::new("master_password_hash", "must be base64"))?;
        if !(32..=128).contains(&bytes.len()) {
            return Err(ParseError::new(
                "master_password_hash",
                "must be 32 to 128 bytes",
            ));
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for MasterPasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterPasswordHash(..)")
    }
}

/// The KDF the client used; returned to it so it can derive the same hash again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Kdf {
    Pbkdf2Sha256 { iterations: u32 },
}

impl Kdf {
    pub const MIN_PBKDF2_ITERATIONS: u32 = 100_000;
    pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
    /// What the bundled pages use.
    pub const DEFAULT: Kdf = Kdf::Pbkdf2Sha256 {
        iterations: 600_000,
    };

    pub fn validate(self) -> Result<Self, ParseError> {
        match self {
            Kdf::Pbkdf2Sha256 { iterations }
                if (Self::MIN_PBKDF2_ITERATIONS..=Self::MAX_PBKDF2_ITERATIONS)
                    .contains(&iterations) =>
            {
                Ok(self)
            }
            Kdf::Pbkdf2Sha256 { .. } => Err(ParseError::new(
                "kdf",
                "iterations must be 100000 to 2000000",
            )),
        }
    }
}

/// Whether `v` is fit to be an opaque key: printable ASCII without the
/// space, `!` to `~` (0x21–0x7E). Keys are encrypted or public keys the
/// clients encode as base64 (with `.`, `|` and `:` around it in their
/// encrypted-value formats), which never needs anything else. The server
/// stores them as given and hands them back, so a control character (a NUL),
/// whitespace or a non-ASCII character is refused rather than kept.
pub fn is_key_text(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_graphic())
}

/// [`is_key_text`], as the refusal of the field `what`.
pub fn check_key_text(what: &'static str, v: &str) -> Result<(), ParseError> {
    if is_key_text(v) {
        Ok(())
    } else {
        Err(ParseError::new(
            what,
            "must be printable ASCII without spaces",
        ))
    }
}

/// The longest opaque key a client may store: an encrypted key, an
/// organization key encrypted for a member.
pub const MAX_KEY_LEN: usize = 10_000;

/// [`check_key_text`] and 1 to [`MAX_KEY_LEN`] characters.
pub fn check_key(what: &'static str, v: &str) -> Result<(), ParseError> {
    if v.is_empty() || v.len() > MAX_KEY_LEN {
        return Err(ParseError::new(what, "must be 1 to 10000 characters"));
    }
    check_key_text(what, v)
}

/// The client's keys, as it keeps them on the server. Admit reads only the
/// public key (to check it and show its fingerprint); the user key and the
/// private key arrive encrypted by the client and stay opaque.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyMaterial {
    /// The user key, encrypted by the client (with a key stretched from the
    /// master password, a device key, or the key connector's).
    pub user_key: String,
    /// Base64 of a DER SubjectPublicKeyInfo: an RSA key of 2048–4096 bits.
    pub public_key: String,
    /// The private key, encrypted with the user key.
    pub encrypted_private_key: String,
}

impl KeyMaterial {
    pub fn validate(self) -> Result<Self, ParseError> {
        check_key("keys.user_key", &self.user_key)?;
        check_key("keys.encrypted_private_key", &self.encrypted_private_key)?;
        check_key("keys.public_key", &self.public_key)?;
        PublicKey::parse(&self.public_key)?;
        Ok(self)
    }

    /// The fingerprint of the public key (validated when stored).
    pub fn fingerprint(&self) -> String {
        PublicKey::parse(&self.public_key)
            .map(|k| k.fingerprint())
            .unwrap_or_default()
    }
}

/// A member's RSA public key: base64 of a DER SubjectPublicKeyInfo, of
/// 2048 to 4096 bits (the pages use it with RSA-OAEP and SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    der: Vec<u8>,
}

impl PublicKey {
    pub fn parse(base64: &str) -> Result<Self, ParseError> {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        let bad = || {
            ParseError::new(
                "keys.public_key",
                "must be base64 of a DER SubjectPublicKeyInfo of an RSA key of 2048 to 4096 bits",
            )
        };
        let der = STANDARD.decode(base64).map_err(|_| bad())?;
        let key = rsa::RsaPublicKey::from_public_key_der(&der).map_err(|_| bad())?;
        if !(2048..=4096).contains(&key.n().bits()) {
            return Err(bad());
        }
        Ok(PublicKey { der })
    }

    /// A short rendering of the SHA-256 of the DER, to compare by eye:
    /// the first 16 bytes as eight groups of four hex digits
    /// (`3f2a-91bc-…`). The pages compute the same ([`fingerprint`]).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.der)
    }
}

/// The fingerprint of `bytes`: the first 16 bytes of their SHA-256 as eight
/// groups of four lower-case hex digits joined by `-`. Admit's pages render
/// public keys and organization keys the same way.
pub fn fingerprint(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    digest[..16]
        .chunks(2)
        .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
        .collect::<Vec<_>>()
        .join("-")
}

/// What is stored to verify a master password: a PHC-format Argon2id hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterPassword {
    pub verifier: String,
    pub kdf: Kdf,
}

impl fmt::Debug for MasterPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterPassword {{ verifier: .., kdf: {:?} }}", self.kdf)
    }
}

/// A device a member registered; a trusted one can decrypt without a master password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub identifier: String,
    pub name: String,
    pub device_type: String,
    pub trusted: bool,
    pub registered_at: Timestamp,
}

impl Device {
    pub fn new(
        identifier: &str,
        name: &str,
        device_type: &str,
        trusted: bool,
        now: Timestamp,
    ) -> Result<Self, ParseError> {
        for (what, v, max) in [
            ("device.identifier", identifier, 200),
            ("device.name", name, 200),
            ("device.type", device_type, 50),
        ] {
            if v.trim().is_empty() || v.len() > max || v.chars().any(char::is_control) {
                return Err(ParseError::new(
                    what,
                    "must be present, short, and without control characters",
                ));
            }
        }
        Ok(Self {
            identifier: identifier.trim().to_owned(),
            name: name.trim().to_owned(),
            device_type: device_type.trim().to_owned(),
            trusted,
            registered_at: now,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: UserId,
    pub email: Email,
    pub name: Option<String>,
    /// `None` for accounts created by SSO whose organization decrypts otherwise.
    pub master_password: Option<MasterPassword>,
    pub keys: Option<KeyMaterial>,
    #[serde(default)]
    pub devices: Vec<Device>,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RSA-2048 public key (SubjectPublicKeyInfo, DER, base64).
    pub(crate) const RSA_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4zOLLFtpfJPbFxqzFcdHWkUErptATSoU0ovqEXaU6KtKT0vgVez5XgkKf8UiiB1ewZpy3IrYZcC2SqL1iA5VmLp3lphyxPo8Yc09Ay7w+B1OmoNc33YEWWYT02xrr3HAlhQ6Ytlahj9/RO90bTHqjeG+HxKtgggHLL9mT29mNhX8DauRRBu5hvjyphP+1wpznwMQRBDvKxD4kQnQ3VraxsDzsHLVG4x0iALnYF6ODS2OWTl3KoE10PW2gmoNA87gMFL4YvlzhISaJWdsKh660wzpXnHuXAyc+m5FQtjeWWcOVJlepwzi8hcC54qc1/RIuLUOeuaRb54o+hrqgSduBwIDAQAB";
    const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCfeEDgm6gnkVOpfGnxL0HpavrpWtLmEcOQq8TQzQiLGLm2rwbYR754TSgO4iHx0/z3nFnuzd/tznvd3fdcnDPzcss7kc0Fs/q2vM0gm1C5jIp043869CAjgl723zXMiUV7oxv6WEkzGQFMOqw0jM6yuV/khAXm83A0ihrl5ICaVwIDAQAB";
    const EC_P256: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkV1HylE1JYK/1rjyNvchXA8Cd1yQVNclHQkHiGQRdj97cmvI8Fx/nQIVkQb8bYRw+2qkQy/kJy089/7MXmJ9Fw==";

    #[test]
    fn public_keys_are_rsa_of_2048_to_4096_bits() {
        let key = PublicKey::parse(RSA_2048).unwrap();
        let fp = key.fingerprint();
        assert_eq!(fp.len(), 8 * 4 + 7);
        assert!(
            fp.split('-')
                .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        assert_eq!(fp, fingerprint(&STANDARD.decode(RSA_2048).unwrap()));
        for bad in [
            RSA_1024,
            EC_P256,
            "",
            "bm90IGEga2V5",
            "public-key-der-base64",
        ] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
        let keys = |public_key: &str| KeyMaterial {
            user_key: "2.a|b".into(),
            public_key: public_key.into(),
            encrypted_private_key: "2.c|d".into(),
        };
        assert_eq!(keys(RSA_2048).validate().unwrap().fingerprint(), fp);
        assert!(keys(RSA_1024).validate().is_err());
        let mut long = keys(RSA_2048);
        long.user_key = "k".repeat(MAX_KEY_LEN + 1);
        assert!(long.validate().is_err());
        let mut spaced = keys(RSA_2048);
        spaced.encrypted_private_key = "2.c d".into();
        assert!(spaced.validate().is_err());
    }

    #[test]
    fn fingerprints_are_the_first_16_bytes_of_sha256_in_groups() {
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 …
        assert_eq!(
            fingerprint(b"abc"),
            "ba78-16bf-8f01-cfea-4141-40de-5dae-2223"
        );
    }

    #[test]
    fn master_password_hash_is_base64_of_32_to_128_bytes() {
        assert!(MasterPasswordHash::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(MasterPasswordHash::parse(&STANDARD.encode([7u8; 31])).is_err());
        assert!(MasterPasswordHash::parse(&STANDARD.encode([7u8; 129])).is_err());
        assert!(MasterPasswordHash::parse("not base64!").is_err());
        let h = MasterPasswordHash::parse(&STANDARD.encode([7u8; 32])).unwrap();
        assert_eq!(format!("{h:?}"), "MasterPasswordHash(..)");
    }

    #[test]
    fn kdf_bounds() {
        assert!(Kdf::DEFAULT.validate().is_ok());
        assert!(Kdf::Pbkdf2Sha256 { iterations: 1 }.validate().is_err());
        let k: Kdf =
            serde_json::from_str(r#"{"type":"pbkdf2_sha256","iterations":600000}"#).unwrap();
        assert_eq!(k, Kdf::DEFAULT);
        assert!(serde_json::from_str::<Kdf>(r#"{"type":"md5","iterations":1}"#).is_err());
    }

    #[test]
    fn key_material_is_bounded() {
        let k = KeyMaterial {
            user_key: "a".into(),
            public_key: "b".into(),
            encrypted_private_key: String::new(),
        };
        assert!(k.validate().is_err());
    }

    #[test]
    fn keys_are_printable_ascii_without_spaces() {
        let keys = |user_key: &str| KeyMaterial {
            user_key: user_key.into(),
            public_key: RSA_2048.into(),
            encrypted_private_key: "2.aXY=|ZGF0YQ==|bWFj".into(),
        };
        assert!(keys("2.aXY=|ZGF0YQ==|bWFj!~").validate().is_ok());
        for bad in [
            "a\0b",
            "a b",
            " ab",
            "ab\n",
            "a\tb",
            "\u{7f}",
            "clé",
            "a\u{200b}b",
        ] {
            let e = keys(bad).validate().unwrap_err();
            assert_eq!(e.what, "keys.user_key", "{bad:?}");
            assert!(!is_key_text(bad), "{bad:?}");
        }
        assert!(check_key_text("key", "k\0").is_err());
        assert!(
            check_key_text("key", "").is_ok(),
            "length is checked elsewhere"
        );
    }
}
