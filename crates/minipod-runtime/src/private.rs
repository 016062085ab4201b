//! Private host state: every directory minipod makes under its root and its run directory is
//! 0700 and every file 0600, so that no other user of the host can read a container's
//! environment (secretKeyRef values in `config.json`), its logs or volumes, or reach its root
//! filesystem. The last one matters most: a container is root inside and can plant a setuid
//! binary in its own `/tmp`; if a host user could walk the host path to the overlay mount, that
//! binary would make them root (moby CVE-2021-41091, fixed there by making the data
//! directories 0710/0700).
//!
//! Files a container reads through a bind mount (`/etc/hosts`, volume contents, the
//! termination-message file) keep the modes the kubelet gives them: what keeps them private
//! is that every directory on the host path to them is 0700.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory minipod creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file minipod creates for itself.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents with mode 0700, and tightens `path` itself to 0700
/// when it already exists with a wider mode. Existing parents are left alone: they may be
/// the user's (`--root DIR`).
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    tighten(path).map(drop)
}

/// Creates the directory `path` (its parent must exist) with mode `mode`, whatever the umask;
/// an existing one gets `mode` too.
pub fn create_dir_with_mode(path: &Path, mode: u32) -> io::Result<()> {
    match fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
        Err(e) => return Err(e),
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Sets an existing directory to 0700 when group or others have any access to it. Returns
/// whether it changed anything; a missing directory is not an error (nothing to tighten).
pub fn tighten(path: &Path) -> io::Result<bool> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() || meta.permissions().mode() & 0o7777 == DIR_MODE {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))?;
    Ok(true)
}

/// Writes `data` to `path` (created or truncated) with mode 0600; an existing file is set to
/// 0600 as well, so a file written by an older minipod is tightened when rewritten.
pub fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    f.write_all(data)
}

/// Replaces `path` with `data` so that readers and a power cut see the old content or the
/// new, never a mix: a temporary file (`mode`) in the same directory, fsync, rename over
/// `path`, fsync of the directory. The temporary file is removed when a step fails. The one
/// atomic write of minipod's records (pod store, CNI cache, server certificates).
pub fn replace_file(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    };
    write().inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn new_directories_are_private_and_existing_parents_keep_their_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let user_root = tmp.path().join("root");
        fs::create_dir(&user_root).unwrap();
        fs::set_permissions(&user_root, fs::Permissions::from_mode(0o755)).unwrap();
        let deep = user_root.join("run/pods/u1");
        create_dir_all(&deep).unwrap();
        for p in ["run", "run/pods", "run/pods/u1"] {
            assert_eq!(mode(&user_root.join(p)), 0o700, "{p}");
        }
        assert_eq!(mode(&user_root), 0o755);
    }

    #[test]
    fn replace_file_swaps_whole_content_with_the_given_mode_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("record.json");
        fs::write(&f, b"old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        replace_file(&f, b"new", FILE_MODE).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new");
        assert_eq!(mode(&f), 0o600);
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
        // A failed write (the target is a directory) keeps nothing of the attempt.
        let d = tmp.path().join("dir");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x"), b"x").unwrap();
        assert!(replace_file(&d, b"new", FILE_MODE).is_err());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);
    }

    #[test]
    fn an_existing_open_directory_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("pods");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        create_dir_all(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        assert!(!tighten(&d).unwrap());
        assert!(!tighten(&tmp.path().join("missing")).unwrap());
    }

    #[test]
    fn files_are_written_0600_even_over_an_open_one() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("config.json");
        fs::write(&f, b"old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        write_file(&f, b"{}").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(fs::read(&f).unwrap(), b"{}");
    }
}
