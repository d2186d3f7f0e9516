//! `admit serve`'s master key: `<data-dir>/secret.key`, 32 random bytes,
//! created on first start with mode 0600 and read on every start after. A
//! key file that others may read or write is refused: whoever reads it
//! opens every secret the store holds.
//!
//! The file and the store belong together: a store copied without its key
//! file has secrets no one can open (each administrator sets the client
//! secret again), and a lost key file is the same. There is no rotation
//! command: a new key file makes the old secrets unreadable, so rotating is
//! setting every organization's client secret again under the new key.

use admit_app::LocalKey;
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "secret.key";

/// The master key of `data_dir`: read, or created when there is none.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<LocalKey> {
    let path = data_dir.join(KEY_FILE);
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    match read(&path)? {
        Some(key) => Ok(key),
        None => create(&path),
    }
}

fn read(path: &Path) -> anyhow::Result<Option<LocalKey>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    check_private(path, &file)?;
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(33));
    (&mut file)
        .take(33)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() != 32 {
        bail!("{} is not a key file (32 bytes)", path.display());
    }
    Ok(Some(LocalKey::from_bytes(&bytes)?))
}

#[cfg(unix)]
fn check_private(path: &Path, file: &std::fs::File) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is open to others (mode {mode:o}): it must be 0600 (chmod 600 {})",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &std::fs::File) -> anyhow::Result<()> {
    Ok(())
}

/// A new key file, written whole before it takes the name: `create_new`
/// on a temporary name with mode 0600, then a hard link to the final name,
/// so two processes starting at once end up with one key.
fn create(path: &Path) -> anyhow::Result<LocalKey> {
    let key = admit_app::DataKey::generate();
    let temp = PathBuf::from(format!("{}.{}.tmp", path.display(), std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(key.as_bytes())?;
            f.sync_all()
        })
        .with_context(|| format!("cannot write {}", temp.display()));
    let linked = written.and_then(|()| match std::fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        // Another process made it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    });
    let _ = std::fs::remove_file(&temp);
    if linked? {
        tracing::info!(path = %path.display(), "created the key file that seals stored secrets");
        Ok(LocalKey::from_bytes(key.as_bytes())?)
    } else {
        read(path)?.context("the key file vanished while it was created")
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use admit_app::SecretBox;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn created_private_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = load_or_create(&data).unwrap();
        let path = data.join(KEY_FILE);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        assert_eq!(
            std::fs::read_dir(&data).unwrap().count(),
            1,
            "no temporary left"
        );

        // The next start reads the same key: what it sealed still opens.
        let sealed = first.seal(b"s3cret", "ctx").await.unwrap();
        let again = load_or_create(&data).unwrap();
        assert_eq!(again.key_id(), first.key_id());
        assert_eq!(
            again.open(&sealed, "ctx").await.unwrap().as_slice(),
            b"s3cret"
        );
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = load_or_create(dir.path()).unwrap_err().to_string();
            assert!(err.contains("must be 0600"), "{mode:o}: {err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(
            load_or_create(dir.path()).is_ok(),
            "read-only for the owner is fine"
        );
    }

    #[test]
    fn a_file_of_another_size_is_not_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        for len in [0usize, 31, 33, 64] {
            std::fs::write(&path, vec![1u8; len]).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = load_or_create(dir.path()).unwrap_err().to_string();
            assert!(err.contains("not a key file"), "{len}: {err}");
        }
    }
}
