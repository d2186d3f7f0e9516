//! Master-password verifiers: Argon2id over the client's KDF output, stored
//! as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, the
//! argon2 crate's defaults), computed off the async threads in a bounded
//! amount of memory.
//!
//! Each computation needs a 19 MiB working buffer (m = 19,456 KiB blocks).
//! Unbounded, a flood of failed sign-ins ran one per request on tokio's
//! blocking pool (up to 512 threads) and the process's memory grew with the
//! flood (200 concurrent failed sign-ins: 3.8 GiB) and stayed grown. So:
//!
//! - **A fixed budget.** At most `permits` computations run at once: as
//!   many as the process may use cores (`available_parallelism`, which on
//!   Linux honours the CPU affinity mask and the cgroup's CPU quota), at
//!   least one. Argon2 with p = 1 is one core's work; more at once would
//!   not finish more per second, it would only need more buffers. A request
//!   takes a permit (a FIFO [`Semaphore`]: first come, first served, so an
//!   honest sign-in waits its turn behind a flood but is never starved)
//!   before its work goes to `spawn_blocking`, and the permit travels with
//!   the work: a client that hangs up while its hash runs does not free a
//!   permit early.
//! - **Buffers reused, never more than permits.** A permit's work leases a
//!   buffer from a pool (allocated on first need, so a Lambda function that
//!   never hashes holds none) and gives it back before the permit is
//!   released, so the pool holds at most one buffer per permit: memory for
//!   hashing is bounded at `permits × 19 MiB` however many requests come.
//!   Argon2's first pass overwrites every block, so a reused buffer gives the
//!   same hash as a fresh one.
//! - **Waiting costs nothing more.** A waiting request holds only its own
//!   future (the request it already is): secrets and verifiers are copied
//!   when the permit is granted, and a request dropped while waiting leaves
//!   the queue. There is no queue limit: refusing would need an error the
//!   HTTP adapter maps to 503/429, and a cap on waiters alone cannot tell an
//!   honest sign-in from the flood; rate limits by client belong in front.
//!
//! Verification parses the stored PHC string, computes with its algorithm,
//! version, parameters and salt into the leased buffer, and compares with
//! the stored hash in constant time. Verifiers whose parameters need more
//! memory than a pool buffer are refused as an internal error rather than
//! allocated for: every verifier Admit writes uses the defaults.
//! An unknown account gets the same computation against a dummy verifier, so
//! it takes as long as a wrong password.

use crate::{Error, Result};
use admit_domain::MasterPasswordHash;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use subtle::ConstantTimeEq;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Blocks in one working buffer: what argon2's default parameters (those of
/// every verifier Admit writes) need.
const BLOCKS: usize = Params::DEFAULT.block_count();

/// A new verifier: the defaults, a fresh random salt, a 32-byte hash.
pub(crate) async fn hash(secret: &MasterPasswordHash) -> Result<String> {
    let permit = acquire().await?;
    let bytes = secret.as_bytes().to_vec();
    run(permit, move |blocks| {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::default()
            .hash_password_into_with_memory(&bytes, salt_bytes, &mut out, blocks)
            .map_err(internal)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&Params::DEFAULT).map_err(internal)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(internal)?),
        };
        Ok(phc.to_string())
    })
    .await?
}

/// Does `secret` match `verifier`? With no verifier, a dummy one is checked
/// so that an unknown account takes as long as a wrong password.
pub(crate) async fn verify(secret: &MasterPasswordHash, verifier: Option<&str>) -> Result<bool> {
    let permit = acquire().await?;
    let real = verifier.is_some();
    let verifier = match verifier {
        Some(v) => v.to_owned(),
        None => dummy_verifier().to_owned(),
    };
    let bytes = secret.as_bytes().to_vec();
    run(permit, move |blocks| {
        let phc = PasswordHash::new(&verifier).map_err(internal)?;
        let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
            return Err(Error::Internal("the verifier has no salt or hash".into()));
        };
        let algorithm = Algorithm::try_from(phc.algorithm).map_err(internal)?;
        let version = match phc.version {
            Some(v) => Version::try_from(v).map_err(internal)?,
            None => Version::default(),
        };
        let params = Params::try_from(&phc).map_err(internal)?;
        if params.block_count() > blocks.len() {
            return Err(Error::Internal(format!(
                "the verifier needs {} KiB, more than a hashing buffer's {}",
                params.block_count(),
                blocks.len()
            )));
        }
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = &mut out[..expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(&bytes, salt_bytes, &mut *out, blocks)
            .map_err(internal)?;
        Ok(bool::from(out.ct_eq(expected.as_bytes())) && real)
    })
    .await?
}

/// Waits, in line, for a permit to compute.
async fn acquire() -> Result<SemaphorePermit<'static>> {
    pool()
        .semaphore
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Runs `work` on the blocking pool with a leased working buffer; the
/// permit goes with it and is released only when the work is done.
async fn run<T: Send + 'static>(
    permit: SemaphorePermit<'static>,
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        let mut lease = pool().lease(permit);
        work(lease.blocks())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

struct Pool {
    permits: usize,
    semaphore: Semaphore,
    /// Buffers not leased right now.
    idle: Mutex<Vec<Box<[Block]>>>,
    /// Buffers ever allocated: never more than `permits`.
    allocated: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let permits = std::thread::available_parallelism().map_or(1, |n| n.get());
        tracing::debug!(permits, "password hashing: concurrent Argon2 computations");
        Pool {
            permits,
            semaphore: Semaphore::new(permits),
            idle: Mutex::new(Vec::with_capacity(permits)),
            allocated: AtomicUsize::new(0),
        }
    })
}

impl Pool {
    /// A buffer for the holder of `permit`: an idle one, or a new one when
    /// every buffer allocated so far is leased (fewer than `permits` are).
    fn lease(&'static self, permit: SemaphorePermit<'static>) -> Lease {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let blocks = idle.unwrap_or_else(|| {
            let allocated = self.allocated.fetch_add(1, Ordering::Relaxed) + 1;
            debug_assert!(allocated <= self.permits, "a buffer beyond the budget");
            vec![Block::new(); BLOCKS].into_boxed_slice()
        });
        Lease {
            pool: self,
            blocks: Some(blocks),
            _permit: permit,
        }
    }
}

/// A leased buffer; dropping it (also in a panic) returns the buffer to the
/// pool and then, as the field drops after `drop`, releases the permit.
struct Lease {
    pool: &'static Pool,
    blocks: Option<Box<[Block]>>,
    _permit: SemaphorePermit<'static>,
}

impl Lease {
    fn blocks(&mut self) -> &mut [Block] {
        self.blocks.as_deref_mut().expect("leased until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(blocks) = self.blocks.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(blocks);
        }
    }
}

/// A verifier nothing matches (its hash is random, not computed), with the
/// defaults' cost. Made without hashing, so the first unknown email costs
/// what every other does.
fn dummy_verifier() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let mut hash = [0u8; Params::DEFAULT_OUTPUT_LEN];
        OsRng.fill_bytes(&mut hash);
        PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&Params::DEFAULT).expect("default params encode"),
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&hash).expect("32 bytes is a valid output")),
        }
        .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// 32 bytes, as a client sends them (base64).
    fn secret(letter: char) -> MasterPasswordHash {
        MasterPasswordHash::parse(&format!("{}A=", letter.to_string().repeat(42))).unwrap()
    }

    #[tokio::test]
    async fn new_verifiers_keep_the_format_and_verify_as_before() {
        let s = secret('a');
        let phc = hash(&s).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        // The argon2 crate's own verifier (the code before the pool) agrees.
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(s.as_bytes(), &parsed)
                .is_ok()
        );
        assert!(verify(&s, Some(&phc)).await.unwrap());
        assert!(!verify(&secret('b'), Some(&phc)).await.unwrap());
    }

    #[tokio::test]
    async fn verifiers_stored_before_the_pool_still_verify() {
        let s = secret('c');
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::default()
            .hash_password(s.as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(verify(&s, Some(&stored)).await.unwrap());
        assert!(!verify(&secret('d'), Some(&stored)).await.unwrap());
        // Twice: the second run reuses a buffer the first one dirtied.
        assert!(verify(&s, Some(&stored)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches() {
        assert!(!verify(&secret('e'), None).await.unwrap());
        assert!(PasswordHash::new(dummy_verifier()).is_ok());
    }

    #[tokio::test]
    async fn a_verifier_asking_for_more_memory_than_a_buffer_is_refused() {
        let params = Params::new(Params::DEFAULT_M_COST * 2, 1, 1, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let big = argon2
            .hash_password(
                b"0123456789abcdef0123456789abcdef",
                &SaltString::generate(&mut OsRng),
            )
            .unwrap()
            .to_string();
        assert!(matches!(
            verify(&secret('f'), Some(&big)).await,
            Err(Error::Internal(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_allocates_at_most_one_buffer_per_permit() {
        let burst: Vec<_> = (0..4 * pool().permits + 2)
            .map(|i| {
                tokio::spawn(async move {
                    let known = i % 2 == 0;
                    verify(&secret('g'), known.then_some(dummy_verifier())).await
                })
            })
            .collect();
        for b in burst {
            assert!(!b.await.unwrap().unwrap());
        }
        let pool = pool();
        assert!(
            pool.allocated.load(Ordering::Relaxed) <= pool.permits,
            "{} buffers for {} permits",
            pool.allocated.load(Ordering::Relaxed),
            pool.permits
        );
    }
}
