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

/// Encrypted key material the client keeps on the server; opaque here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyMaterial {
    pub user_key: String,
    pub public_key: String,
    pub encrypted_private_key: String,
}

impl KeyMaterial {
    pub fn validate(self) -> Result<Self, ParseError> {
        for v in [
            &self.user_key,
            &self.public_key,
            &self.encrypted_private_key,
        ] {
            if v.is_empty() || v.len() > 16 * 1024 {
                return Err(ParseError::new(
                    "keys",
                    "each key must be 1 to 16384 characters",
                ));
            }
            check_key_text("keys", v)?;
        }
        Ok(self)
    }
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
            public_key: "cHVibGlj".into(),
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
            assert_eq!(e.what, "keys", "{bad:?}");
            assert!(!is_key_text(bad), "{bad:?}");
        }
        assert!(check_key_text("key", "k\0").is_err());
        assert!(
            check_key_text("key", "").is_ok(),
            "length is checked elsewhere"
        );
    }
}
