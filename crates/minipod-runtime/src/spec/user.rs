//! Which uid, gid and supplementary groups a container process gets.
//!
//! Resolution follows containerd's CRI plugin (pkg/oci/spec_opts.go WithUser / WithUserID /
//! WithUsername / WithAdditionalGIDs, internal/cri/opts WithSupplementalGroups) and runc's
//! `GetExecUser`: `runAsUser`/`runAsGroup` win over the image's `User`; names are looked up in
//! the container's own `/etc/passwd` and `/etc/group`; a numeric uid missing from passwd gets
//! gid 0. The two files are read **inside** the root filesystem with `pathrs` (openat2
//! `RESOLVE_IN_ROOT`): an image whose `/etc/passwd` is a symlink to `/etc/shadow` or any other
//! absolute path reads `<rootfs>/etc/shadow`, never the host's.
//!
//! The `runAsNonRoot` check is the kubelet's (pkg/kubelet/kuberuntime/security_context_others.go
//! verifyRunAsNonRoot), made before any lookup, with its messages.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use pathrs::flags::OpenFlags;
use pathrs::Root;

use crate::config::UserRequest;

/// The process credentials, ready for the OCI `process.user`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, sorted and unique; includes `gid` (containerd adds the primary
    /// group since CVE-2023-25173 so `setgroups` cannot leave it out).
    pub additional_gids: Vec<u32>,
    /// The user's name when passwd knows it (informational).
    pub username: Option<String>,
}

/// Why the user could not be resolved, or may not run.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("open root filesystem {}", rootfs.display())]
    OpenRoot {
        rootfs: PathBuf,
        #[source]
        source: pathrs::error::Error,
    },
    #[error("read {path} in root filesystem {}", rootfs.display())]
    ReadFile {
        rootfs: PathBuf,
        path: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("open {path} in root filesystem {}", rootfs.display())]
    OpenFile {
        rootfs: PathBuf,
        path: &'static str,
        #[source]
        source: pathrs::error::Error,
    },
    #[error("{path} in root filesystem {} is not a regular file", rootfs.display())]
    NotRegular { rootfs: PathBuf, path: &'static str },
    #[error("{path} in root filesystem {} is larger than {limit} bytes", rootfs.display())]
    TooLarge {
        rootfs: PathBuf,
        path: &'static str,
        limit: u64,
    },
    #[error("unable to find user {name}: no matching entries in passwd file")]
    UnknownUser { name: String },
    #[error("unable to find group {name}: no matching entries in group file")]
    UnknownGroup { name: String },
    #[error("invalid user {user:?}")]
    InvalidUser { user: String },
    #[error("{field} {value} is out of range (0 to 4294967294)")]
    IdOutOfRange { field: &'static str, value: i64 },
    #[error("container's runAsUser breaks non-root policy (pod: {pod:?}, container: {container})")]
    RunAsUserIsRoot { pod: String, container: String },
    #[error("container has runAsNonRoot and image will run as root (pod: {pod:?}, container: {container})")]
    ImageRunsAsRoot { pod: String, container: String },
    #[error("container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root (pod: {pod:?}, container: {container})")]
    NonNumericUser {
        user: String,
        pod: String,
        container: String,
    },
}

/// The kubelet's `runAsNonRoot` verification, made on the request alone (before looking at
/// passwd): an explicit `runAsUser: 0` breaks the policy; otherwise the image's user must be a
/// non-zero number (an empty image user means root; a name cannot be verified).
/// `pod` is the kubelet's pod description (`name_namespace(uid)`), `container` the name.
pub fn verify_run_as_non_root(
    request: &UserRequest,
    pod: &str,
    container: &str,
) -> Result<(), UserError> {
    if !request.run_as_non_root {
        return Ok(());
    }
    let pod = pod.to_string();
    let container = container.to_string();
    if let Some(uid) = request.run_as_user {
        if uid == 0 {
            return Err(UserError::RunAsUserIsRoot { pod, container });
        }
        return Ok(());
    }
    let image_user = request.image_user.as_deref().unwrap_or("");
    let (user, _) = split_user(image_user);
    if user.is_empty() {
        return Err(UserError::ImageRunsAsRoot { pod, container });
    }
    match parse_numeric(user) {
        Some(Ok(0)) => Err(UserError::ImageRunsAsRoot { pod, container }),
        Some(Ok(_)) => Ok(()),
        Some(Err(())) | None => Err(UserError::NonNumericUser {
            user: user.to_string(),
            pod,
            container,
        }),
    }
}

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The container's user database. `None` means the file does not exist in the image (many
/// minimal images have none), which is only an error when a name must be looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDb {
    pub passwd: Option<Vec<PasswdEntry>>,
    pub group: Option<Vec<GroupEntry>>,
}

/// A user database file larger than this is refused rather than read (an image could ship a
/// multi-gigabyte `/etc/passwd` to exhaust the supervisor's memory).
const USER_DB_SIZE_LIMIT: u64 = 16 << 20;

impl UserDb {
    /// Parses the text of `/etc/passwd` and `/etc/group`. Malformed lines (too few fields,
    /// non-numeric ids) are skipped: unlike runc, which reads a bad id as 0, a broken line must
    /// never make someone root.
    pub fn parse(passwd: Option<&str>, group: Option<&str>) -> UserDb {
        UserDb {
            passwd: passwd.map(parse_passwd),
            group: group.map(parse_group),
        }
    }

    /// Reads `/etc/passwd` and `/etc/group` inside `rootfs`, resolving every symlink within it.
    pub fn read_in_root(rootfs: &Path) -> Result<UserDb, UserError> {
        let root = Root::open(rootfs).map_err(|source| UserError::OpenRoot {
            rootfs: rootfs.to_path_buf(),
            source,
        })?;
        let passwd = read_db_file(&root, rootfs, "/etc/passwd")?;
        let group = read_db_file(&root, rootfs, "/etc/group")?;
        Ok(UserDb::parse(passwd.as_deref(), group.as_deref()))
    }

    fn user_by_name(&self, name: &str) -> Option<&PasswdEntry> {
        self.passwd.iter().flatten().find(|u| u.name == name)
    }

    fn user_by_uid(&self, uid: u32) -> Option<&PasswdEntry> {
        self.passwd.iter().flatten().find(|u| u.uid == uid)
    }

    fn group_by_name(&self, name: &str) -> Option<&GroupEntry> {
        self.group.iter().flatten().find(|g| g.name == name)
    }
}

fn read_db_file(
    root: &Root,
    rootfs: &Path,
    path: &'static str,
) -> Result<Option<String>, UserError> {
    // O_NDELAY (= O_NONBLOCK): a FIFO planted at /etc/passwd must not block the supervisor.
    let flags = OpenFlags::O_RDONLY | OpenFlags::O_CLOEXEC | OpenFlags::O_NDELAY;
    let file = match root.open_subpath(path, flags) {
        Ok(file) => file,
        Err(err) => {
            return match err.kind() {
                // Missing, or a path component is not a directory: the image has no such file.
                pathrs::error::ErrorKind::OsError(Some(libc::ENOENT | libc::ENOTDIR)) => Ok(None),
                _ => Err(UserError::OpenFile {
                    rootfs: rootfs.to_path_buf(),
                    path,
                    source: err,
                }),
            };
        }
    };
    let read_err = |source| UserError::ReadFile {
        rootfs: rootfs.to_path_buf(),
        path,
        source,
    };
    if !file.metadata().map_err(read_err)?.is_file() {
        return Err(UserError::NotRegular {
            rootfs: rootfs.to_path_buf(),
            path,
        });
    }
    let mut bytes = Vec::new();
    file.take(USER_DB_SIZE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > USER_DB_SIZE_LIMIT {
        return Err(UserError::TooLarge {
            rootfs: rootfs.to_path_buf(),
            path,
            limit: USER_DB_SIZE_LIMIT,
        });
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

fn db_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    db_lines(text)
        .filter_map(|line| {
            // name:password:uid:gid:gecos:home:shell
            let mut fields = line.split(':');
            let name = fields.next()?;
            let _password = fields.next()?;
            let uid = fields.next()?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some(PasswdEntry {
                name: name.to_string(),
                uid,
                gid,
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    db_lines(text)
        .filter_map(|line| {
            // name:password:gid:member,member
            let mut fields = line.split(':');
            let name = fields.next()?;
            let _password = fields.next()?;
            let gid = fields.next()?.parse().ok()?;
            let members = fields
                .next()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
            Some(GroupEntry {
                name: name.to_string(),
                gid,
                members,
            })
        })
        .collect()
}

/// Splits an image `User` into its user and optional group part (`name:group`, `uid:gid`).
fn split_user(user: &str) -> (&str, Option<&str>) {
    match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    }
}

/// `Some(Ok(n))` for a valid id, `Some(Err)` for all digits but out of range, `None` for a name.
fn parse_numeric(s: &str) -> Option<Result<u32, ()>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // u32::MAX is (uid_t)-1, which setuid(2) reads as "unchanged".
    Some(s.parse::<u32>().ok().filter(|n| *n != u32::MAX).ok_or(()))
}

fn id_from_i64(field: &'static str, value: i64) -> Result<u32, UserError> {
    u32::try_from(value)
        .ok()
        .filter(|n| *n != u32::MAX)
        .ok_or(UserError::IdOutOfRange { field, value })
}

/// Resolves the request against an already-read user database. Pure.
pub fn resolve(request: &UserRequest, db: &UserDb) -> Result<ResolvedUser, UserError> {
    // containerd CRI: runAsUser replaces the whole image user (its group part included);
    // without either, the image default is root.
    let image_user = request.image_user.as_deref().unwrap_or("");
    let (user_part, group_part) = match request.run_as_user {
        Some(_) => ("", None),
        None => split_user(image_user),
    };

    let (uid, entry) = match request.run_as_user {
        Some(value) => {
            let uid = id_from_i64("runAsUser", value)?;
            (uid, db.user_by_uid(uid))
        }
        None if user_part.is_empty() => (0, db.user_by_uid(0)),
        None => match parse_numeric(user_part) {
            Some(Ok(uid)) => (uid, db.user_by_uid(uid)),
            Some(Err(())) => {
                return Err(UserError::InvalidUser {
                    user: image_user.to_string(),
                })
            }
            None => {
                let entry = db
                    .user_by_name(user_part)
                    .ok_or_else(|| UserError::UnknownUser {
                        name: user_part.to_string(),
                    })?;
                (entry.uid, Some(entry))
            }
        },
    };

    let gid = match (request.run_as_group, group_part) {
        (Some(value), _) => id_from_i64("runAsGroup", value)?,
        (None, Some(group)) if !group.is_empty() => match parse_numeric(group) {
            Some(Ok(gid)) => gid,
            Some(Err(())) => {
                return Err(UserError::InvalidUser {
                    user: image_user.to_string(),
                })
            }
            None => {
                db.group_by_name(group)
                    .ok_or_else(|| UserError::UnknownGroup {
                        name: group.to_string(),
                    })?
                    .gid
            }
        },
        // runc GetExecUser: the passwd entry's group, else 0 for an unknown numeric uid.
        _ => entry.map(|e| e.gid).unwrap_or(0),
    };

    let mut groups = BTreeSet::from([gid]);
    // containerd WithAdditionalGIDs: groups that list the user as a member, except the group
    // named like the user (that one is its primary group).
    if let Some(entry) = entry {
        groups.extend(
            db.group
                .iter()
                .flatten()
                .filter(|g| g.name != entry.name && g.members.contains(&entry.name))
                .map(|g| g.gid),
        );
    }
    for value in &request.supplemental_groups {
        groups.insert(id_from_i64("supplementalGroups", *value)?);
    }
    if let Some(value) = request.fs_group {
        groups.insert(id_from_i64("fsGroup", value)?);
    }

    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids: groups.into_iter().collect(),
        username: entry.map(|e| e.name.clone()),
    })
}

/// Reads the user database inside `rootfs` and resolves the request. The only I/O of user
/// resolution; call [`verify_run_as_non_root`] first.
pub fn resolve_user(rootfs: &Path, request: &UserRequest) -> Result<ResolvedUser, UserError> {
    // Always read both files: even fully numeric ids need /etc/group for membership.
    let db = UserDb::read_in_root(rootfs)?;
    resolve(request, &db)
}

#[cfg(test)]
mod tests;
