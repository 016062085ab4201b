//! A pod's volumes as resolved from the input: the source of each, with the files of
//! configMap, secret, downwardAPI and projected volumes already gathered.

use serde::{Deserialize, Serialize};

/// `emptyDir.medium`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageMedium {
    /// The node's disk (a directory under the pod's state).
    Default,
    /// tmpfs.
    Memory,
    /// hugetlbfs (`HugePages` or `HugePages-<size>`).
    HugePages(Option<String>),
}

/// `hostPath.type`: the check (or creation) done before mounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostPathType {
    /// `""`: no check.
    Unset,
    DirectoryOrCreate,
    Directory,
    FileOrCreate,
    File,
    Socket,
    CharDevice,
    BlockDevice,
}

/// A file to write into a configMap/secret/downwardAPI/projected volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeFile {
    /// Relative path inside the volume (may contain `/`).
    pub path: String,
    pub data: Vec<u8>,
    /// Permission bits (item `mode`, else the volume's `defaultMode`, default 0644).
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeSource {
    EmptyDir {
        medium: StorageMedium,
        /// Bytes (`sizeLimit`).
        size_limit: Option<i64>,
    },
    HostPath {
        path: String,
        type_: HostPathType,
    },
    /// Files from a ConfigMap of the same input (empty when optional and absent).
    ConfigMap {
        name: String,
        optional: bool,
        files: Vec<VolumeFile>,
    },
    Secret {
        name: String,
        optional: bool,
        files: Vec<VolumeFile>,
    },
    /// Files with pod metadata (labels, annotations, name, namespace, uid) and resources.
    DownwardApi {
        files: Vec<VolumeFile>,
    },
    /// configMap/secret/downwardAPI sources merged into one directory.
    Projected {
        files: Vec<VolumeFile>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumePlan {
    pub name: String,
    pub source: VolumeSource,
}
