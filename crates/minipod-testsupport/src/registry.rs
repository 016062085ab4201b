//! A private OCI registry for pull tests: Debian's `docker-registry` on a free loopback
//! port, storing in a temp folder, killed on drop; test images are pushed with `skopeo`.
//! Also [`FakeRegistry`], a hand-made one that misbehaves on purpose. Used by the CLI's
//! end-to-end tests and minipod-image's pull tests. `docker-registry` and `skopeo` come from
//! scripts/install-deps.sh; a missing one fails the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
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
    format!("{transport}:{}", crate::test_image_path(name).display())
}

/// What a [`FakeRegistry`] answers on one path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this content type and body (with its Content-Length).
    Body(&'static str, Vec<u8>),
    /// 200 with no Content-Length, the body ended by closing: `prefix` then `0x20` bytes
    /// up to `total` (or until the client hangs up). Counts what was written.
    Endless(&'static str, Vec<u8>, u64),
    /// 200 with Content-Length `len`, `prefix` sent, then nothing until the registry stops.
    Stall(&'static str, Vec<u8>, u64),
}

/// A hand-made registry on loopback for what `docker-registry` will not do: misbehave
/// (endless manifests, blobs longer than declared, stalls) and ask for Basic credentials.
/// One thread per connection; every response closes its connection.
pub struct FakeRegistry {
    pub port: u16,
    /// Body bytes written by `Endless` replies.
    pub written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FakeRegistry {
    /// Serves `routes` (request path → reply); with `basic` set ("user:pass"), every
    /// request without those credentials gets a 401 Basic challenge.
    pub fn start(routes: Vec<(String, Reply)>, basic: Option<&str>) -> FakeRegistry {
        use std::sync::atomic::{AtomicBool, AtomicU64};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let expected = basic.map(|b| format!("Basic {}", base64(b.as_bytes())));
        let routes = Arc::new(routes);
        let (w, s) = (written.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (routes, w, s, expected) =
                    (routes.clone(), w.clone(), s.clone(), expected.clone());
                std::thread::spawn(move || serve(conn, &routes, &w, &s, expected.as_deref()));
            }
        });
        FakeRegistry {
            port,
            written,
            stop,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    mut conn: TcpStream,
    routes: &[(String, Reply)],
    written: &std::sync::atomic::AtomicU64,
    stop: &std::sync::atomic::AtomicBool,
    expected: Option<&str>,
) {
    use std::sync::atomic::Ordering;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let authorized = match expected {
        None => true,
        Some(e) => head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("authorization:") && l[14..].trim() == e),
    };
    if !authorized {
        return json_error(
            &mut conn,
            "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"minipod-test\"",
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
    }
    if path == "/v2/" {
        let _ =
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        return;
    }
    let Some((_, reply)) = routes.iter().find(|(p, _)| *p == path) else {
        return json_error(
            &mut conn,
            "404 Not Found",
            r#"{"errors":[{"code":"NOT_FOUND","message":"not found"}]}"#,
        );
    };
    match reply {
        Reply::Body(ct, body) => {
            let _ = conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = conn.write_all(body);
        }
        Reply::Endless(ct, prefix, total) => {
            let _ = conn.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            if conn.write_all(prefix).is_err() {
                return;
            }
            written.fetch_add(prefix.len() as u64, Ordering::SeqCst);
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = prefix.len() as u64;
            while sent < *total && !stop.load(Ordering::SeqCst) {
                if conn.write_all(&chunk).is_err() {
                    return;
                }
                sent += chunk.len() as u64;
                written.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
        Reply::Stall(ct, prefix, len) => {
            let _ = conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
            let _ = conn.write_all(prefix);
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// A JSON error `body` with `status` (which may carry more header lines), then close.
fn json_error(conn: &mut TcpStream, status: &str, body: &str) {
    let _ = conn.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A complete image `tiny:1` of one empty layer (an end-of-archive marker), as routes for
/// a [`FakeRegistry`]; `digest` hashes bytes to `sha256:<hex>`. Returns the routes and
/// the layer's path, so that a test can replace that reply.
pub fn tiny_image(digest: fn(&[u8]) -> String) -> (Vec<(String, Reply)>, String) {
    let layer = vec![0u8; 1024];
    let layer_digest = digest(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}},"config":{{"Cmd":["sh"]}}}}"#
    )
    .into_bytes();
    let config_digest = digest(&config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    )
    .into_bytes();
    let layer_path = format!("/v2/tiny/blobs/{layer_digest}");
    let routes = vec![
        (
            "/v2/tiny/manifests/1".to_string(),
            Reply::Body("application/vnd.oci.image.manifest.v1+json", manifest),
        ),
        (
            format!("/v2/tiny/blobs/{config_digest}"),
            Reply::Body("application/octet-stream", config),
        ),
        (
            layer_path.clone(),
            Reply::Body("application/octet-stream", layer),
        ),
    ];
    (routes, layer_path)
}

/// Replaces the reply on `path`.
pub fn with_reply(
    mut routes: Vec<(String, Reply)>,
    path: &str,
    reply: Reply,
) -> Vec<(String, Reply)> {
    for r in routes.iter_mut() {
        if r.0 == path {
            r.1 = reply.clone();
        }
    }
    routes
}
