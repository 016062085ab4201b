//! The server's credentials: a CA, a server certificate and a client certificate made on
//! first start under `<root>/serve/` (directory 0700, keys 0600) and reused afterwards, the
//! kubeconfig that carries them (`certificate-authority-data`, `client-certificate-data`,
//! `client-key-data`, as kind and k3s write theirs), and the rustls configuration: TLS 1.2/1.3
//! on ring, ALPN `http/1.1` only, and a client certificate signed by the CA required.
//!
//! The client certificate says `CN=minipod-admin, O=system:masters`, the identity kubeadm
//! gives its admin kubeconfig (cmd/kubeadm/app/phases/kubeconfig); minipod does no
//! authorization beyond the certificate check.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The names of the files under `<root>/serve/`.
pub const CA_CERT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const SERVER_CERT: &str = "server.crt";
pub const SERVER_KEY: &str = "server.key";
/// The subject alternative names the server certificate was made for, one per line: a
/// listen address not among them gets a new server certificate from the same CA.
pub const SERVER_SANS: &str = "server.sans";
pub const CLIENT_CERT: &str = "client.crt";
pub const CLIENT_KEY: &str = "client.key";

/// The client identity written into the kubeconfig.
pub const CLIENT_CN: &str = "minipod-admin";
pub const CLIENT_ORG: &str = "system:masters";
/// The cluster, user and context name in the kubeconfig.
pub const KUBECONFIG_NAME: &str = "minipod";

/// The PEM files the server and its kubeconfig use.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub ca_cert_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

/// The names the server certificate must carry for a listen address.
pub fn server_sans(listen: SocketAddr) -> Vec<String> {
    let mut sans = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let ip = listen.ip();
    if !ip.is_unspecified() && !sans.contains(&ip.to_string()) {
        sans.push(ip.to_string());
    }
    if ip.is_ipv6() && !sans.contains(&"::1".to_owned()) {
        sans.push("::1".to_owned());
    }
    sans
}

/// Loads the credentials under `dir`, making what is missing: the CA once, the client
/// certificate once, the server certificate again when `sans` are not all in it.
pub fn ensure_credentials(dir: &Path, sans: &[String]) -> anyhow::Result<Credentials> {
    private_dir(dir)?;
    let ca_cert_path = dir.join(CA_CERT);
    let ca_key_path = dir.join(CA_KEY);
    let (ca_key, ca_cert_pem) = if ca_cert_path.exists() && ca_key_path.exists() {
        let key = KeyPair::from_pem(&read(&ca_key_path)?).context("parse the CA key")?;
        (key, read(&ca_cert_path)?)
    } else {
        let key = KeyPair::generate().context("generate the CA key")?;
        let cert = ca_params()?
            .self_signed(&key)
            .context("make the CA certificate")?;
        write_private(&ca_key_path, &key.serialize_pem())?;
        write_private(&ca_cert_path, &cert.pem())?;
        // A new CA invalidates whatever it did not sign.
        for f in [
            SERVER_CERT,
            SERVER_KEY,
            SERVER_SANS,
            CLIENT_CERT,
            CLIENT_KEY,
        ] {
            let _ = fs::remove_file(dir.join(f));
        }
        (key, cert.pem())
    };
    let issuer = Issuer::new(ca_params()?, ca_key);

    let have_sans = fs::read_to_string(dir.join(SERVER_SANS)).unwrap_or_default();
    let covered = sans.iter().all(|s| have_sans.lines().any(|l| l == s));
    if !covered || !dir.join(SERVER_CERT).exists() || !dir.join(SERVER_KEY).exists() {
        let mut params = CertificateParams::new(sans.to_vec()).context("server names")?;
        params
            .distinguished_name
            .push(DnType::CommonName, "minipod-apiserver");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, 10);
        let key = KeyPair::generate().context("generate the server key")?;
        let cert = params
            .signed_by(&key, &issuer)
            .context("sign the server certificate")?;
        write_private(&dir.join(SERVER_KEY), &key.serialize_pem())?;
        write_private(&dir.join(SERVER_CERT), &cert.pem())?;
        write_private(&dir.join(SERVER_SANS), &(sans.join("\n") + "\n"))?;
    }

    if !dir.join(CLIENT_CERT).exists() || !dir.join(CLIENT_KEY).exists() {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, CLIENT_ORG);
        params
            .distinguished_name
            .push(DnType::CommonName, CLIENT_CN);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, 10);
        let key = KeyPair::generate().context("generate the client key")?;
        let cert = params
            .signed_by(&key, &issuer)
            .context("sign the client certificate")?;
        write_private(&dir.join(CLIENT_KEY), &key.serialize_pem())?;
        write_private(&dir.join(CLIENT_CERT), &cert.pem())?;
    }

    Ok(Credentials {
        ca_cert_pem,
        server_cert_pem: read(&dir.join(SERVER_CERT))?,
        server_key_pem: read(&dir.join(SERVER_KEY))?,
        client_cert_pem: read(&dir.join(CLIENT_CERT))?,
        client_key_pem: read(&dir.join(CLIENT_KEY))?,
    })
}

/// The CA's parameters: the same every time, so that a CA key read back from disk signs
/// certificates whose issuer matches the stored CA certificate.
fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "minipod-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, 10);
    Ok(params)
}

/// From yesterday (clock skew) for `years` years.
fn set_validity(params: &mut CertificateParams, years: i16) {
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date();
    let from = today.yesterday().unwrap_or(today);
    let until = from
        .checked_add(jiff::Span::new().years(years))
        .unwrap_or(from);
    params.not_before =
        rcgen::date_time_ymd(i32::from(from.year()), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(
        i32::from(until.year()),
        until.month() as u8,
        until.day() as u8,
    );
}

/// The kubeconfig for a server at `server_url` ("https://127.0.0.1:6443").
pub fn kubeconfig_yaml(creds: &Credentials, server_url: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let n = KUBECONFIG_NAME;
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {n}\n  cluster:\n    server: {server_url}\n    certificate-authority-data: {}\n\
         users:\n\
         - name: {n}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n\
         contexts:\n\
         - name: {n}\n  context:\n    cluster: {n}\n    user: {n}\n    namespace: default\n\
         current-context: {n}\n\
         preferences: {{}}\n",
        b64(&creds.ca_cert_pem),
        b64(&creds.client_cert_pem),
        b64(&creds.client_key_pem),
    )
}

/// The URL clients use for a listen address: an unspecified address is reached on loopback.
pub fn server_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, listen.port()))
}

/// Writes the kubeconfig (0600), refusing to overwrite a file that is not one of minipod's
/// (say `~/.kube/config` given by mistake).
pub fn write_kubeconfig(path: &Path, yaml: &str) -> anyhow::Result<()> {
    if let Ok(old) = fs::read_to_string(path) {
        let ours = old.contains(&format!("current-context: {KUBECONFIG_NAME}\n"))
            && old.lines().count() == yaml.lines().count();
        if !ours && !old.trim().is_empty() {
            bail!(
                "{} exists and is not a kubeconfig minipod wrote: refusing to overwrite it",
                path.display()
            );
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            private_dir(parent)?;
        }
    }
    write_private(path, yaml)
}

/// The rustls server configuration: the server certificate, a client certificate signed by
/// the CA required, ALPN `http/1.1` only (WebSocket upgrades are HTTP/1.1).
pub fn server_config(creds: &Credentials) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(creds.ca_cert_pem.as_bytes()) {
        roots
            .add(cert.context("parse the CA certificate")?)
            .context("trust the CA certificate")?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .context("client certificate verifier")?;
    let chain = CertificateDer::pem_slice_iter(creds.server_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("parse the server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(creds.server_key_pem.as_bytes())
        .context("parse the server key")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("server certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Creates `dir` (and missing parents) 0700, and tightens it to 0700 if it exists.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    minipod_runtime::private::create_dir_all(dir)
        .with_context(|| format!("create {}", dir.display()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}

/// Writes `text` to `path`, 0600, atomically.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    minipod_runtime::private::replace_file(path, text.as_bytes(), 0o600)
        .with_context(|| format!("write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn credentials_are_made_once_private_and_verify() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("serve");
        let sans = server_sans("127.0.0.1:6443".parse().unwrap());
        let first = ensure_credentials(&dir, &sans).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for f in [CA_KEY, SERVER_KEY, CLIENT_KEY, CA_CERT] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        let again = ensure_credentials(&dir, &sans).unwrap();
        assert_eq!(first.ca_cert_pem, again.ca_cert_pem);
        assert_eq!(first.server_cert_pem, again.server_cert_pem);
        assert_eq!(first.client_cert_pem, again.client_cert_pem);
        server_config(&again).unwrap();

        // Another listen address: a new server certificate from the same CA.
        let other = server_sans("127.0.0.2:6443".parse().unwrap());
        let third = ensure_credentials(&dir, &other).unwrap();
        assert_eq!(first.ca_cert_pem, third.ca_cert_pem);
        assert_ne!(first.server_cert_pem, third.server_cert_pem);
        assert_eq!(first.client_cert_pem, third.client_cert_pem);
        server_config(&third).unwrap();
    }

    #[test]
    fn kubeconfig_carries_the_data_fields_and_is_not_written_over_a_foreign_file() {
        let root = tempfile::tempdir().unwrap();
        let creds = ensure_credentials(
            &root.path().join("serve"),
            &server_sans("127.0.0.1:6443".parse().unwrap()),
        )
        .unwrap();
        let yaml = kubeconfig_yaml(&creds, "https://127.0.0.1:6443");
        for field in [
            "certificate-authority-data: ",
            "client-certificate-data: ",
            "client-key-data: ",
            "server: https://127.0.0.1:6443\n",
        ] {
            assert!(yaml.contains(field), "{field}");
        }
        let path = root.path().join("kc");
        write_kubeconfig(&path, &yaml).unwrap();
        write_kubeconfig(&path, &yaml).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let foreign = root.path().join("config");
        fs::write(&foreign, "apiVersion: v1\nkind: Config\n").unwrap();
        assert!(write_kubeconfig(&foreign, &yaml).is_err());
    }

    #[test]
    fn unspecified_listen_addresses_are_reached_on_loopback() {
        assert_eq!(
            server_url("0.0.0.0:6443".parse().unwrap()),
            "https://127.0.0.1:6443"
        );
        assert_eq!(server_url("[::]:1".parse().unwrap()), "https://[::1]:1");
        assert_eq!(
            server_sans("10.1.2.3:6443".parse().unwrap()),
            ["localhost", "127.0.0.1", "10.1.2.3"]
        );
    }
}
