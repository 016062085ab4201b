//! Memory-backed emptyDir: a tmpfs with the size limit, living as long as the pod, and a
//! container writing to it across a restart.

mod common;

use common::*;
use minipod_runtime::config::MountSource;
use minipod_runtime::volumes::{prepare_empty_dir, remove_volumes, EmptyDirMedium};
use minipod_testsupport::or_skip;
use serde_json::json;

#[test]
fn memory_empty_dir_is_a_sized_tmpfs_shared_across_restarts() {
    let (env, rootfs) = or_skip!(setup("memdir"));
    let vols = env.path().join("volumes");
    let medium = EmptyDirMedium::Memory {
        size_limit: Some(4 * 1024 * 1024),
    };
    let MountSource::Bind(dir) = prepare_empty_dir(&vols, "scratch", medium).unwrap() else {
        panic!("emptyDir is a bind of a host directory");
    };
    let st = nix::sys::statfs::statfs(&dir).unwrap();
    assert_eq!(st.filesystem_type(), nix::sys::statfs::TMPFS_MAGIC);
    assert_eq!(st.blocks() * st.block_size() as u64, 4 * 1024 * 1024);
    // Prepared again (supervisor restart): still the one tmpfs, not a second mount.
    prepare_empty_dir(&vols, "scratch", medium).unwrap();
    assert_eq!(env.mounts().len(), 1);

    let mount = json!([{"host": dir, "dest": "/scratch"}]);
    let report = run_probe(
        &env,
        one_pod(
            &env,
            json!([
                {"pod": "p", "name": "c", "rootfs": rootfs, "mounts": mount,
                 "args": ["/bin/sh", "-c", "echo kept > /scratch/f; dd if=/dev/zero of=/scratch/big bs=1M count=8 2>&1 | grep -o 'No space left'; exit 2"]},
                {"pod": "p", "name": "c", "rootfs": rootfs, "mounts": mount, "restart_count": 1,
                 "args": ["/bin/cat", "/scratch/f"]},
            ]),
        ),
    );
    assert_no_errors(&report);
    assert_eq!(container(&report, "c")["stdout"], "kept\n", "{report:#}");
    let first = &report["containers"][0];
    assert!(
        first["stdout"].as_str().unwrap().contains("No space left"),
        "size limit enforced: {report:#}"
    );
    remove_volumes(&vols).unwrap();
    assert!(!vols.exists());
    env.assert_clean();
}
