//! What `load` and `pull` report while they work, for the CLI's progress bars. Every method
//! has an empty default, so a caller implements only what it shows.

use crate::digest::Digest;

/// Receives progress from [`crate::ImageStore::load_with_progress`] and
/// [`crate::ImageStore::pull`]. Layers unpack on several threads, hence `Sync`.
pub trait Progress: Sync {
    /// A blob of `size` bytes starts downloading.
    fn blob_started(&self, _digest: &Digest, _size: u64) {}
    /// `bytes` more bytes of the blob arrived.
    fn blob_advanced(&self, _digest: &Digest, _bytes: u64) {}
    /// The blob is verified and staged.
    fn blob_done(&self, _digest: &Digest) {}
    /// The blob is already in the store: nothing to download.
    fn blob_present(&self, _digest: &Digest) {}
    /// `count` layers start unpacking.
    fn unpack_started(&self, _count: usize) {}
    /// One layer is unpacked and verified against its diff_id.
    fn layer_unpacked(&self, _diff_id: &Digest) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
