//! The pod's volumes on the host, prepared with the sandbox (the kubelet's volume manager):
//! emptyDir, hostPath (the plan's [`HostPathType`] becomes the runtime's check: the kind of file
//! expected and whether to create it), and the configMap / secret / downwardAPI / projected
//! files.

use std::path::{Path, PathBuf};

use minipod_manifest::{HostPathType, StorageMedium, VolumeSource};
use minipod_runtime::config::MountSource;
use minipod_runtime::volumes::{self, EmptyDirMedium, ProjectedFile};

use super::ContainerBackend;

impl ContainerBackend {
    pub(super) fn volumes_dir(&self) -> PathBuf {
        self.dirs.pod_dir.join("volumes")
    }

    pub(super) fn prepare_volumes(&mut self) -> Result<(), String> {
        let dir = self.volumes_dir();
        let psc = &self.plan.sandbox.security_context;
        let fs_group = psc.fs_group.and_then(|g| u32::try_from(g).ok());
        let policy = match psc.fs_group_change_policy.as_deref() {
            Some("OnRootMismatch") => volumes::FsGroupChangePolicy::OnRootMismatch,
            _ => volumes::FsGroupChangePolicy::Always,
        };
        for v in &self.plan.volumes {
            let what = |e: &dyn std::fmt::Display| format!("volume {:?}: {e}", v.name);
            // The kubelet applies fsGroup to the volume types that support it: not hostPath;
            // configMap, secret, downwardAPI and projected volumes are read-only ones.
            let ownership = |path: &Path, read_only: bool| match fs_group {
                Some(gid) => volumes::set_volume_ownership(&v.name, path, gid, read_only, policy)
                    .map_err(|e| e.to_string()),
                None => Ok(()),
            };
            let source = match &v.source {
                VolumeSource::EmptyDir { medium, size_limit } => {
                    let medium = match medium {
                        StorageMedium::Memory => EmptyDirMedium::Memory {
                            size_limit: size_limit.map(|s| s.max(0) as u64),
                        },
                        StorageMedium::Default => EmptyDirMedium::Disk,
                        StorageMedium::HugePages(_) => {
                            return Err(what(&"hugepages emptyDir is not supported"))
                        }
                    };
                    let source =
                        volumes::prepare_empty_dir(&dir, &v.name, medium).map_err(|e| what(&e))?;
                    if let MountSource::Bind(path) = &source {
                        ownership(path, false)?;
                    }
                    source
                }
                VolumeSource::HostPath { path, type_ } => {
                    let path = PathBuf::from(path);
                    volumes::check_host_path(&path, host_path_check(*type_))
                        .map_err(|e| what(&e))?;
                    MountSource::Bind(path)
                }
                VolumeSource::ConfigMap { files, .. }
                | VolumeSource::Secret { files, .. }
                | VolumeSource::DownwardApi { files }
                | VolumeSource::Projected { files } => {
                    // The kubelet's wrappers: a memory emptyDir for secret, downwardAPI and
                    // projected volumes (secret data never on disk), a disk one for configMap.
                    let medium = if matches!(v.source, VolumeSource::ConfigMap { .. }) {
                        volumes::ProjectedMedium::Disk
                    } else {
                        volumes::ProjectedMedium::Memory
                    };
                    let files: Vec<ProjectedFile> = files
                        .iter()
                        .map(|f| ProjectedFile {
                            path: f.path.clone(),
                            data: f.data.clone(),
                            mode: f.mode,
                        })
                        .collect();
                    let path = volumes::project_files(&dir, &v.name, &files, medium)
                        .map_err(|e| what(&e))?;
                    ownership(&path, true)?;
                    MountSource::Bind(path)
                }
            };
            self.volumes.insert(v.name.clone(), source);
        }
        Ok(())
    }
}

/// `hostPath.type` as the runtime's check: the kind of file expected, and whether a missing
/// one is created (kubelet hostpath volume plugin `checkType`).
fn host_path_check(t: HostPathType) -> Option<volumes::HostPathCheck> {
    use volumes::FileKind;
    let (kind, create) = match t {
        HostPathType::Unset => return None,
        HostPathType::DirectoryOrCreate => (FileKind::Directory, true),
        HostPathType::Directory => (FileKind::Directory, false),
        HostPathType::FileOrCreate => (FileKind::File, true),
        HostPathType::File => (FileKind::File, false),
        HostPathType::Socket => (FileKind::Socket, false),
        HostPathType::CharDevice => (FileKind::CharDevice, false),
        HostPathType::BlockDevice => (FileKind::BlockDevice, false),
    };
    Some(volumes::HostPathCheck { kind, create })
}
