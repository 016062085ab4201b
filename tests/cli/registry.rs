//! A private OCI registry for pull tests: Debian's `docker-registry` on a free loopback
//! port, storing in a temp folder, killed on drop; test images are pushed with `skopeo`.
//! Shared by the CLI tests and minipod-image's unit tests (included there by path).
//! Both tools come from scripts/install-deps.sh; a missing one fails the test.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Child,
    pub port: u16,
    /// The registry's storage root (`docker/registry/v2/...` below it).
    pub storage: PathBuf,
    _dir: tempfile::TempDir,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

impl Registry {
    pub fn start() -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("minipod-registry-")
            .tempdir()
            .expect("registry temp dir");
        let storage = dir.path().join("storage");
        std::fs::create_dir(&storage).unwrap();
        let port = free_port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start /usr/bin/docker-registry (run scripts/install-deps.sh)");
        let mut registry = Registry {
            child,
            port,
            storage,
            _dir: dir,
        };
        registry.wait_ready();
        registry
    }

    /// Polls `GET /v2/` until it answers 200 (10 s at most).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited early: {status}");
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let req = format!(
                    "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                    self.port
                );
                let mut resp = String::new();
                if s.write_all(req.as_bytes()).is_ok()
                    && s.read_to_string(&mut resp).is_ok()
                    && resp.starts_with("HTTP/1.1 200")
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry never answered /v2/"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `skopeo copy [--all] SOURCE docker://127.0.0.1:PORT/DEST`.
    pub fn push(&self, source: &str, dest: &str, all: bool) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if all {
            cmd.arg("--all");
        }
        let out = cmd
            .arg(source)
            .arg(format!("docker://{}/{dest}", self.host()))
            .output()
            .expect("run skopeo (run scripts/install-deps.sh)");
        assert!(
            out.status.success(),
            "skopeo copy {source}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The registry's data file of a blob.
    pub fn blob_file(&self, digest_hex: &str) -> PathBuf {
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&digest_hex[..2])
            .join(digest_hex)
            .join("data")
    }

    /// The manifest digest `repo:tag` points at, from the registry's storage.
    pub fn tag_digest(&self, repo: &str, tag: &str) -> String {
        let link = self
            .storage
            .join("docker/registry/v2/repositories")
            .join(repo)
            .join("_manifests/tags")
            .join(tag)
            .join("current/link");
        std::fs::read_to_string(&link)
            .unwrap_or_else(|e| panic!("{}: {e}", link.display()))
            .trim()
            .to_string()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `build/test-images/NAME` as a `skopeo` transport source (`docker-archive:` etc.).
pub fn test_image(transport: &str, name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/test-images");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing (run scripts/build-test-images.sh)",
        p.display()
    );
    format!("{transport}:{}", p.display())
}
