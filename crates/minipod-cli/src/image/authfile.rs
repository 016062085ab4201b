//! Registry credentials from podman's `auth.json` / docker's `config.json`
//! (`{"auths": {"HOST[:PORT][/NAMESPACE]": {"auth": base64("USER:PASSWORD")}}}`), looked up
//! the way podman does (containers-auth.json(5)): `--authfile`, else `$REGISTRY_AUTH_FILE`,
//! else `$XDG_RUNTIME_DIR/containers/auth.json`, `$XDG_CONFIG_HOME/containers/auth.json`
//! (default `~/.config`), then docker's `$DOCKER_CONFIG/config.json` (default
//! `~/.docker/config.json`). The first file with an entry for the registry wins; the most
//! specific key (`host/namespace` over `host`) wins within a file. A file named by the flag
//! or the variable must exist; any file that exists must be valid.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};

/// The files to look in, in order, with whether each must exist.
fn candidates(flag: Option<&Path>) -> Vec<(PathBuf, bool)> {
    if let Some(f) = flag {
        return vec![(f.to_path_buf(), true)];
    }
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|v| !v.is_empty()) {
        return vec![(PathBuf::from(f), true)];
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME");
    let mut out = Vec::new();
    if let Some(run) = env("XDG_RUNTIME_DIR") {
        out.push((run.join("containers/auth.json"), false));
    }
    if let Some(cfg) = env("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config"))) {
        out.push((cfg.join("containers/auth.json"), false));
    }
    if let Some(d) = env("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker"))) {
        out.push((d.join("config.json"), false));
    }
    out
}

/// Credentials for `domain` (`host[:port]`) and repository `path`, or `None` when no file
/// has an entry for it.
pub fn credentials_for(
    flag: Option<&Path>,
    domain: &str,
    path: &str,
) -> anyhow::Result<Option<(String, String)>> {
    for (file, required) in candidates(flag) {
        let text = match std::fs::read(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(e) => return Err(anyhow!(e).context(format!("auth file {}", file.display()))),
        };
        if let Some(c) =
            lookup(&text, domain, path).with_context(|| format!("auth file {}", file.display()))?
        {
            log::debug!("registry credentials for {domain} from {}", file.display());
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// `https://host:port/v1/` → `host:port`; `host/ns` stays.
fn normalize_key(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.trim_end_matches('/');
    k.strip_suffix("/v1")
        .or_else(|| k.strip_suffix("/v2"))
        .unwrap_or(k)
}

/// Docker Hub is written under several names.
fn same_registry(a: &str, b: &str) -> bool {
    let hub = |h: &str| matches!(h, "docker.io" | "index.docker.io" | "registry-1.docker.io");
    a == b || (hub(a) && hub(b))
}

fn lookup(text: &[u8], domain: &str, path: &str) -> anyhow::Result<Option<(String, String)>> {
    let v: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| anyhow!("invalid JSON: {e}"))?;
    let Some(obj) = v.as_object() else {
        bail!("expected a JSON object with \"auths\"");
    };
    let Some(auths) = obj.get("auths") else {
        return Ok(None);
    };
    let Some(auths) = auths.as_object() else {
        bail!("\"auths\" must be an object of registry entries");
    };
    // The most specific matching key: host/namespace/... over host.
    let mut best: Option<(usize, &String, &serde_json::Value)> = None;
    for (key, entry) in auths {
        let k = normalize_key(key);
        let (host, ns) = k.split_once('/').unwrap_or((k, ""));
        let matches = same_registry(host, domain)
            && (ns.is_empty() || path == ns || path.starts_with(&format!("{ns}/")));
        if matches && best.is_none_or(|(len, _, _)| k.len() > len) {
            best = Some((k.len(), key, entry));
        }
    }
    let Some((_, key, entry)) = best else {
        return Ok(None);
    };
    let field = |name: &str| format!("auths.{key:?}.{name}");
    let Some(entry) = entry.as_object() else {
        bail!("auths.{key:?} must be an object");
    };
    if let Some(auth) = entry.get("auth") {
        let Some(auth) = auth.as_str() else {
            bail!("{} must be a string", field("auth"));
        };
        if !auth.is_empty() {
            let raw = base64_decode(auth.trim())
                .ok_or_else(|| anyhow!("{}: not valid base64", field("auth")))?;
            let raw = String::from_utf8(raw)
                .map_err(|_| anyhow!("{}: not UTF-8 once decoded", field("auth")))?;
            return match raw.split_once(':') {
                Some((u, p)) if !u.is_empty() => Ok(Some((u.to_string(), p.to_string()))),
                _ => bail!("{}: expected base64 of USER:PASSWORD", field("auth")),
            };
        }
    }
    match (entry.get("username"), entry.get("password")) {
        (Some(serde_json::Value::String(u)), Some(serde_json::Value::String(p)))
            if !u.is_empty() =>
        {
            Ok(Some((u.clone(), p.clone())))
        }
        _ if entry.contains_key("identitytoken") => bail!(
            "auths.{key:?}: identity tokens are not supported; log in with a user name and password"
        ),
        _ => bail!("auths.{key:?} has no \"auth\" (base64 of USER:PASSWORD)"),
    }
}

/// Standard base64 (RFC 4648) with optional padding.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(json: &str, domain: &str, path: &str) -> anyhow::Result<Option<(String, String)>> {
        lookup(json.as_bytes(), domain, path)
    }

    #[test]
    fn entries_match_by_host_and_the_most_specific_namespace() {
        // base64("u:p") = dTpw, base64("ns:pw") = bnM6cHc=
        let json = r#"{"auths": {"https://127.0.0.1:5000/v1/": {"auth": "dTpw"},
                                  "127.0.0.1:5000/team": {"auth": "bnM6cHc="},
                                  "https://index.docker.io/v1/": {"auth": "dTpw"}}}"#;
        let c = |u: &str, p: &str| Some((u.to_string(), p.to_string()));
        assert_eq!(
            find(json, "127.0.0.1:5000", "busybox").unwrap(),
            c("u", "p")
        );
        assert_eq!(
            find(json, "127.0.0.1:5000", "team/app").unwrap(),
            c("ns", "pw")
        );
        assert_eq!(
            find(json, "docker.io", "library/busybox").unwrap(),
            c("u", "p")
        );
        assert_eq!(find(json, "127.0.0.1:5001", "busybox").unwrap(), None);
        assert_eq!(find("{}", "h", "p").unwrap(), None);
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        for (json, needle) in [
            ("not json", "invalid JSON"),
            (r#"{"auths": []}"#, "\"auths\" must be an object"),
            (
                r#"{"auths": {"h": {"auth": "%%%"}}}"#,
                "auths.\"h\".auth: not valid base64",
            ),
            (
                r#"{"auths": {"h": {"auth": "dXNlcg=="}}}"#,
                "expected base64 of USER:PASSWORD",
            ),
            (r#"{"auths": {"h": {}}}"#, "has no \"auth\""),
        ] {
            let e = find(json, "h", "p").unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI").unwrap(), b"ab");
        assert!(base64_decode("Y").is_none());
    }
}
