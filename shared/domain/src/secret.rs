//! Bearer secrets (invitation, session and setup tokens) and their digests.
//!
//! A secret is shown once (in an email link or a response) and stored only as
//! its SHA-256 digest. 256 random bits need no slow hash: guessing is
//! hopeless, and a digest comparison is done in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// 256 random bits, shown to its holder as 43 characters of base64url.
#[derive(Clone)]
pub struct Secret([u8; 32]);

impl Secret {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn expose(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What is stored of a secret. Its `Debug` shows only a prefix.
#[derive(Clone, Copy, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of a secret that is not one of ours (an operator token).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        TokenDigest(Sha256::digest(bytes).into())
    }

    /// Constant-time equality: use this, not `==`, when checking a presented token.
    pub fn matches(&self, other: &TokenDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(Self(out))
    }
}

impl PartialEq for TokenDigest {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({}…)", &self.to_hex()[..8])
    }
}

impl From<TokenDigest> for String {
    fn from(d: TokenDigest) -> String {
        d.to_hex()
    }
}

impl TryFrom<String> for TokenDigest {
    type Error = crate::ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::from_hex(&s).ok_or(crate::ParseError::new("digest", "not 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trips_and_digests_compare() {
        let mut rng = rand::rng();
        let s = Secret::generate(&mut rng);
        let shown = s.expose();
        assert_eq!(shown.len(), 43);
        let back = Secret::parse(&shown).unwrap();
        assert!(back.digest().matches(&s.digest()));
        assert!(!Secret::generate(&mut rng).digest().matches(&s.digest()));
        assert_eq!(
            TokenDigest::from_hex(&s.digest().to_hex()).unwrap(),
            s.digest()
        );
    }

    #[test]
    fn refuses_malformed_secrets() {
        assert!(Secret::parse("short").is_none());
        assert!(Secret::parse(&"*".repeat(43)).is_none());
        assert!(TokenDigest::from_hex("zz").is_none());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let s = Secret::generate(&mut rand::rng());
        assert!(!format!("{s:?}").contains(&s.expose()));
        assert!(!format!("{:?}", s.digest()).contains(&s.digest().to_hex()));
    }
}
