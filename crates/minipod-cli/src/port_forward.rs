//! `minipod port-forward NAME|pod/NAME [LOCAL:]REMOTE... [--address ADDR,...]`: a userspace
//! proxy from host ports into the pod's network namespace, as `kubectl port-forward` is.
//!
//! kubectl streams each connection through the API server to the kubelet, which dials
//! `localhost:REMOTE` inside the pod's network namespace. Here the same dial happens in this
//! process (`NetnsDialer`), and one thread per connection direction copies bytes, passing
//! half-closes on so that request/response protocols that end with a shutdown still work.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::Pod;
use minipod_pod::store::{PodRecord, PodStore};
use minipod_runtime::netns_dial::NetnsDialer;
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::exit::input;
use crate::get::{is_pod_type, not_found};
use crate::global::GlobalArgs;
use crate::pods::run_dir_of;

#[derive(Debug, Args)]
pub struct PortForwardArgs {
    /// The pod: NAME or pod/NAME.
    #[arg(value_name = "NAME|pod/NAME")]
    pub pod: String,
    /// `LOCAL:REMOTE`, `PORT` (the same port locally) or `:REMOTE` (a random local port);
    /// REMOTE may name a containerPort.
    #[arg(value_name = "[LOCAL:]REMOTE", required = true)]
    pub ports: Vec<String>,
    /// Addresses to listen on, comma-separated: `localhost` (127.0.0.1) or IP addresses.
    #[arg(
        long = "address",
        value_name = "ADDR",
        value_delimiter = ',',
        default_value = "localhost"
    )]
    pub addresses: Vec<String>,
    /// The namespace.
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub namespace: String,
}

/// How often the forwarder checks that the pod still runs.
const POD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The local side of one port argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocalPort {
    /// `PORT` alone: the same number as the remote port.
    SameAsRemote,
    /// `:REMOTE` or `0:REMOTE`: whatever port the kernel picks.
    Random,
    Fixed(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RemotePort {
    Number(u16),
    /// A containerPort name, resolved against the pod.
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PortSpec {
    local: LocalPort,
    remote: RemotePort,
}

/// Parses one `[LOCAL:]REMOTE` argument (kubectl's forms), without looking at the pod.
fn parse_port_spec(spec: &str) -> anyhow::Result<PortSpec> {
    let bad = |why: String| anyhow::anyhow!("invalid port {spec:?}: {why}");
    let (local, remote) = match spec.split(':').collect::<Vec<_>>()[..] {
        [port] => (None, port),
        [local, remote] => (Some(local), remote),
        _ => return Err(bad("use [LOCAL:]REMOTE".into())),
    };
    let remote = if remote.is_empty() {
        return Err(bad("the remote port is missing".into()));
    } else if remote.bytes().all(|b| b.is_ascii_digit()) {
        match remote.parse::<u16>() {
            Ok(0) => return Err(bad("the remote port must be > 0".into())),
            Ok(n) => RemotePort::Number(n),
            Err(_) => return Err(bad(format!("remote port {remote} is out of range"))),
        }
    } else {
        RemotePort::Named(remote.to_owned())
    };
    let local = match local {
        None => LocalPort::SameAsRemote,
        Some("") | Some("0") => LocalPort::Random,
        Some(l) => match l.parse::<u16>() {
            Ok(n) => LocalPort::Fixed(n),
            Err(_) => return Err(bad(format!("local port {l:?} is not a port number"))),
        },
    };
    Ok(PortSpec { local, remote })
}

/// `--address` values: `localhost` or IP addresses, each once, in the order given.
fn parse_addresses(values: &[String]) -> anyhow::Result<Vec<IpAddr>> {
    let mut out: Vec<IpAddr> = Vec::new();
    for value in values {
        let value = value.trim();
        let ip = if value.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            value
                .parse()
                .map_err(|_| anyhow::anyhow!("{value} is not a valid IP"))?
        };
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// `NAME` or `pod/NAME` (also `pods/`, `po/`).
fn pod_name(arg: &str) -> anyhow::Result<String> {
    let name = match arg.split_once('/') {
        Some((kind, name)) if is_pod_type(kind) => name,
        Some((kind, _)) => anyhow::bail!("minipod forwards ports of pods only, not {kind:?}"),
        None => arg,
    };
    if name.is_empty() {
        anyhow::bail!("the pod name is missing in {arg:?}");
    }
    Ok(name.to_owned())
}

/// The containerPort called `name` in one of the pod's (app) containers, as kubectl looks
/// it up.
fn named_port(pod: &Pod, name: &str) -> Option<u16> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name))
        .and_then(|p| u16::try_from(p.container_port).ok())
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// One port to forward, resolved against the pod.
#[derive(Debug, Clone, Copy)]
struct Forward {
    /// 0 until the first listener has taken a random port.
    local: u16,
    remote: u16,
}

pub fn run(args: PortForwardArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    // Stage 1: the arguments alone.
    let name = pod_name(&args.pod).map_err(input)?;
    let specs = args
        .ports
        .iter()
        .map(|p| parse_port_spec(p))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(input)?;
    let addresses = parse_addresses(&args.addresses).map_err(input)?;

    // Stage 2: the pod.
    let store = PodStore::open(&global.root_dir()).context("open pod store")?;
    let Some(record) = store.find(&args.namespace, &name)? else {
        eprintln!("{}", not_found(&name));
        return Ok(ExitCode::from(1));
    };
    let mut forwards = Vec::new();
    for spec in &specs {
        let remote = match &spec.remote {
            RemotePort::Number(n) => *n,
            RemotePort::Named(port) => named_port(&record.pod, port).ok_or_else(|| {
                input(anyhow::anyhow!(
                    "pod {name:?} has no containerPort named {port:?}"
                ))
            })?,
        };
        let local = match spec.local {
            LocalPort::SameAsRemote => remote,
            LocalPort::Random => 0,
            LocalPort::Fixed(n) => n,
        };
        forwards.push(Forward { local, remote });
    }
    // kubectl: port-forward needs a running pod and does not wait for one.
    if phase(&record.pod) != "Running" {
        anyhow::bail!(
            "unable to forward port because pod is not running. Current status={}",
            phase(&record.pod)
        );
    }
    let host_network = record
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false);
    let dialer = if host_network {
        NetnsDialer::host()
    } else {
        let netns = run_dir_of(global, record.uid()).join("ns").join("net");
        NetnsDialer::enter(&netns).with_context(|| format!("pod {name:?}"))?
    };
    let target = Arc::new(Target { dialer, pod: name });

    // Stage 3: listen, then serve until a signal or the pod ends.
    let (events, stop) = mpsc::channel::<()>();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .context("handle SIGINT and SIGTERM")?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = events.send(());
        }
    });
    let mut listening = 0;
    for forward in &mut forwards {
        for ip in &addresses {
            match TcpListener::bind(SocketAddr::new(*ip, forward.local)) {
                Ok(listener) => {
                    let addr = listener.local_addr()?;
                    // A random port is picked once: the other addresses listen on the same.
                    forward.local = addr.port();
                    say(&format!("Forwarding from {addr} -> {}", forward.remote));
                    let (forward, target) = (*forward, Arc::clone(&target));
                    std::thread::spawn(move || accept_loop(listener, forward, &target));
                    listening += 1;
                }
                Err(e) => eprintln!(
                    "error: listen on {}: {e}",
                    SocketAddr::new(*ip, forward.local)
                ),
            }
        }
    }
    if listening == 0 {
        anyhow::bail!("unable to listen on any of the requested ports");
    }
    loop {
        match stop.recv_timeout(POD_CHECK_INTERVAL) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(ExitCode::SUCCESS),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !still_running(&store, &record) {
            anyhow::bail!("lost connection to pod");
        }
    }
}

/// Whether the same pod (same uid, not a new one of the same name) still runs.
fn still_running(store: &PodStore, record: &PodRecord) -> bool {
    match store.load(record.uid()) {
        Ok(Some(now)) => phase(&now.pod) == "Running",
        Ok(None) => false,
        // A read racing with an atomic replace is retried at the next check.
        Err(_) => true,
    }
}

/// Where connections go: the pod's loopback, dialled from its network namespace.
struct Target {
    dialer: NetnsDialer,
    pod: String,
}

impl Target {
    /// kubelet: the port is dialled at localhost, IPv4 first, then IPv6.
    fn connect(&self, port: u16) -> io::Result<TcpStream> {
        let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        match self.dialer.connect(v4) {
            Ok(stream) => Ok(stream),
            Err(e4) => self
                .dialer
                .connect(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port))
                .map_err(|_| io::Error::new(e4.kind(), format!("connect to {v4}: {e4}"))),
        }
    }
}

fn accept_loop(listener: TcpListener, forward: Forward, target: &Arc<Target>) {
    for client in listener.incoming() {
        match client {
            Ok(client) => {
                say(&format!("Handling connection for {}", forward.local));
                let target = Arc::clone(target);
                std::thread::spawn(move || serve(client, forward, &target));
            }
            Err(e) => {
                eprintln!("error: accept on port {}: {e}", forward.local);
                // Out of file descriptors and the like: do not spin.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// One client connection: dial the pod, then copy both ways until both sides are done.
/// A failed dial closes this client only.
fn serve(client: TcpStream, forward: Forward, target: &Target) {
    let upstream = match target.connect(forward.remote) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: forwarding port {} -> {} of pod {:?}: {e}",
                forward.local, forward.remote, target.pod
            );
            return;
        }
    };
    let (client_in, upstream_out) = match (client.try_clone(), upstream.try_clone()) {
        (Ok(c), Ok(u)) => (c, u),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: forwarding port {}: {e}", forward.local);
            return;
        }
    };
    let to_pod = std::thread::spawn(move || copy_half(client_in, upstream_out));
    copy_half(upstream, client);
    let _ = to_pod.join();
}

/// Copies `from` into `to` until `from` ends, then closes `to` for writing so that the peer
/// sees the same end (half-close). On an error both connections are closed, which ends the
/// other direction too.
fn copy_half(mut from: TcpStream, mut to: TcpStream) {
    match io::copy(&mut from, &mut to) {
        Ok(_) => {
            let _ = to.shutdown(Shutdown::Write);
        }
        Err(_) => {
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        }
    }
}

/// A line on stdout, flushed at once (scripts read the port from it). A closed stdout is not
/// a reason to stop forwarding.
fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(local: LocalPort, remote: RemotePort) -> PortSpec {
        PortSpec { local, remote }
    }

    #[test]
    fn port_specs_take_kubectls_forms() {
        use LocalPort::*;
        use RemotePort::*;
        assert_eq!(
            parse_port_spec("8080:80").unwrap(),
            spec(Fixed(8080), Number(80))
        );
        assert_eq!(
            parse_port_spec("80").unwrap(),
            spec(SameAsRemote, Number(80))
        );
        assert_eq!(parse_port_spec(":80").unwrap(), spec(Random, Number(80)));
        assert_eq!(parse_port_spec("0:80").unwrap(), spec(Random, Number(80)));
        assert_eq!(
            parse_port_spec("9000:http").unwrap(),
            spec(Fixed(9000), Named("http".into()))
        );
        assert_eq!(
            parse_port_spec("http").unwrap(),
            spec(SameAsRemote, Named("http".into()))
        );
    }

    #[test]
    fn bad_port_specs_are_refused_with_the_argument_named() {
        for bad in [
            "1:2:3", "80:", "", "0", "8080:0", "x:80", "70000:80", "80:70000",
        ] {
            let err = parse_port_spec(bad).expect_err(bad).to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn addresses_are_localhost_or_ips_each_once() {
        let got = parse_addresses(&["localhost".into(), "127.0.0.1".into(), "::1".into()]).unwrap();
        assert_eq!(
            got,
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST)
            ]
        );
        let err = parse_addresses(&["example.com".into()]).unwrap_err();
        assert_eq!(err.to_string(), "example.com is not a valid IP");
    }

    #[test]
    fn the_pod_is_a_name_or_pod_slash_name() {
        assert_eq!(pod_name("web").unwrap(), "web");
        assert_eq!(pod_name("pod/web").unwrap(), "web");
        assert_eq!(pod_name("pods/web").unwrap(), "web");
        assert!(pod_name("svc/web").is_err());
        assert!(pod_name("pod/").is_err());
    }
}
