//! The server loop: credentials and kubeconfig first, then TLS (a client certificate of the
//! CA required) and HTTP/1.1 on a tokio current-thread runtime; each request is answered on
//! the blocking pool (the store is files). SIGINT or SIGTERM stops it: no new connections,
//! and the process returns.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::router::{parse_query, Api, ApiRequest, Reply};
use crate::status::ApiError;
use crate::tls;
use crate::watch::{self, PodWatch};
use crate::ServeConfig;

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// Runs `minipod serve` until SIGINT or SIGTERM.
pub fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let creds = tls::ensure_credentials(&config.serve_dir(), &tls::server_sans(config.listen))
        .context("make the server's certificates")?;
    let tls_config = tls::server_config(&creds)?;
    // Bound before the kubeconfig is written: with port 0 the kubeconfig names the port the
    // system picked, and once it exists the server takes connections.
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let kubeconfig = config.kubeconfig_path();
    tls::write_kubeconfig(
        &kubeconfig,
        &tls::kubeconfig_yaml(&creds, &tls::server_url(local)),
    )
    .context("write the kubeconfig")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let api = Api {
        root: config.root.clone(),
        listen: local,
    };
    runtime.block_on(run(api, listener, tls_config, kubeconfig))
}

async fn run(
    api: Api,
    listener: std::net::TcpListener,
    tls_config: Arc<rustls::ServerConfig>,
    kubeconfig: std::path::PathBuf,
) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let local = listener.local_addr()?;
    eprintln!(
        "minipod serve: listening on {} (kubeconfig {})",
        tls::server_url(local),
        kubeconfig.display()
    );
    let acceptor = TlsAcceptor::from(tls_config);
    let mut sigint = signal(SignalKind::interrupt()).context("handle SIGINT")?;
    let mut sigterm = signal(SignalKind::terminate()).context("handle SIGTERM")?;
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    log::warn!("accept: {e}");
                    continue;
                }
            },
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        };
        let acceptor = acceptor.clone();
        let api = api.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    // No client certificate, or one the CA did not sign: refused here.
                    log::info!("TLS handshake with {peer}: {e}");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(answer(api, req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .with_upgrades()
                .await
            {
                log::debug!("connection from {peer}: {e}");
            }
        });
    }
    eprintln!("minipod serve: stopped");
    Ok(())
}

/// One request: decoded, handled on the blocking pool, encoded.
async fn answer(api: Api, req: Request<Incoming>) -> Response<Body> {
    let request = ApiRequest {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        query: parse_query(req.uri().query().unwrap_or("")),
        accept: req
            .headers()
            .get(hyper::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    };
    log::debug!("{} {}", request.method, req.uri());
    let head = request.method == "HEAD";
    let reply = match tokio::task::spawn_blocking(move || api.handle(&request)).await {
        Ok(reply) => reply,
        Err(e) => Reply::error(&ApiError::internal(e)),
    };
    encode(reply, head)
}

fn encode(reply: Reply, head: bool) -> Response<Body> {
    let (code, content_type, bytes) = match reply {
        Reply::Watch(watch) => return watch_response(*watch),
        Reply::Json {
            code,
            content_type,
            body,
        } => {
            let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
            bytes.push(b'\n');
            (code, content_type, bytes)
        }
        Reply::Text { code, body } => (code, "text/plain; charset=utf-8", body.into_bytes()),
    };
    let bytes = if head { Vec::new() } else { bytes };
    response(code, content_type, Full::new(Bytes::from(bytes)).boxed())
}

fn response(code: u16, content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() =
        hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache, private"),
    );
    response
}

/// A watch: a chunked body of JSON lines, written by a task that polls the store until the
/// watch times out or the client goes away.
fn watch_response(watch: PodWatch) -> Response<Body> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        stream_watch(watch, tx).await;
        log::debug!("watch ended");
    });
    response(200, "application/json", WatchBody(rx).boxed())
}

/// The body of a watch: the lines the watch task sends. hyper drops it when the client goes
/// away, which the task sees as a closed channel.
struct WatchBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for WatchBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|line| line.map(|b| Ok(Frame::data(b))))
    }
}

async fn stream_watch(mut watch: PodWatch, mut tx: mpsc::Sender<Bytes>) {
    let start = tokio::time::Instant::now();
    let deadline = start + watch.timeout;
    let mut next_bookmark = start + watch::BOOKMARK_INTERVAL;
    loop {
        if tx.is_closed() {
            return;
        }
        let polled = tokio::task::spawn_blocking(move || {
            let result = watch.poll();
            (result, watch)
        })
        .await;
        let (result, back) = match polled {
            Ok(done) => done,
            Err(e) => {
                let _ = send_line(&mut tx, &watch::error_event(&ApiError::internal(e))).await;
                return;
            }
        };
        watch = back;
        let rv = match result {
            Ok((lines, rv)) => {
                for line in &lines {
                    if send_line(&mut tx, line).await.is_err() {
                        return;
                    }
                }
                rv
            }
            Err(e) => {
                let _ = send_line(&mut tx, &watch::error_event(&e)).await;
                return;
            }
        };
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return;
        }
        if watch.bookmarks && now >= next_bookmark {
            if send_line(&mut tx, &watch::bookmark(rv)).await.is_err() {
                return;
            }
            next_bookmark = now + watch::BOOKMARK_INTERVAL;
        }
        tokio::time::sleep(watch::POLL_INTERVAL.min(deadline - now)).await;
    }
}

async fn send_line(tx: &mut mpsc::Sender<Bytes>, value: &serde_json::Value) -> Result<(), ()> {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    tx.send(Bytes::from(bytes)).await.map_err(|_| ())
}
