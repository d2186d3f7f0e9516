//! The port the DNS adapter (`admit-dns`) implements: TXT lookups for domain verification.
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist, or has no TXT records.
    #[error("no TXT record")]
    NotFound,
    /// The DNS server could not be reached, timed out, or failed.
    #[error("DNS lookup failed: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait TxtLookup: Send + Sync + 'static {
    /// The TXT records at `name` (a fully qualified name without a trailing dot), each record's
    /// character-strings joined into one string (RFC 7208 style), in the order received.
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}
