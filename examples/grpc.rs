//! A protected gRPC service: the standard `grpc.health.v1.Health` behind the layer, on tonic's
//! server (HTTP/2 without TLS).
//!
//! Run with
//!
//! ```sh
//! cargo run --example grpc
//! ```
//!
//! | method | needs |
//! | --- | --- |
//! | `grpc.health.v1.Health/Check` | a valid token |
//! | `grpc.health.v1.Health/Watch` | a valid token with `role` = `"admin"` (a guard on the method path) |
//! | server reflection (for `grpcurl`) | a valid token |
//!
//! Refusals are gRPC statuses: `UNAUTHENTICATED` (16) for a missing, forged or expired token,
//! with the reason in the message ("token expired"); `PERMISSION_DENIED` (7) for a genuine
//! token without the role; `INVALID_ARGUMENT` (3) for a malformed `authorization`. The health
//! statuses are `""` (the server) and `grpc.health.v1.Health`, both `SERVING`; any other
//! service name is `NOT_FOUND`.
//!
//! Environment (all optional), as in the main example:
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `JWT_SECRET` | HS256 secret (UTF-8, at least 32 bytes) | random; then a user token, an admin token and a `grpcurl` line are printed |
//! | `JWT_ISSUER` | tokens must carry this `iss`; printed tokens carry it | none |
//! | `JWT_AUDIENCE` | tokens must carry this `aud`; printed tokens carry it | none |
//! | `BIND` | listen address | `127.0.0.1:50051` |
//!
//! Ready tokens are printed only for a secret made for this run: with a configured
//! `JWT_SECRET` a token in the logs would be a credential for anyone who reads them (mint your
//! own with `jwtck sign`).
//!
//! Limits (people copy this): at most 2,048 connections (fewer under a lower descriptor limit:
//! the soft `RLIMIT_NOFILE` less 64), each of which must send its first bytes (the HTTP/2
//! preface) within 10 s and is closed gracefully after 10 min (clients reconnect; a `Watch`
//! stream is cut then); accept errors (out of descriptors) back off instead of spinning; at
//! most 64 concurrent streams and 64 requests in progress per connection, 16 KiB of request
//! headers, 30 s to answer a call (a `Watch` stream may then run on), keep-alive pings every
//! 30 s with 10 s to answer, and a drain of 30 s on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};
use tonic_health::ServingStatus;
use tower_jwt_auth::{
    Audience, Claims, JwtAuthLayer, NumericDate, RequireClaimsLayer, SigningKey, Validation,
};

/// The full path of the method that needs `role` = `"admin"`.
pub const WATCH: &str = "/grpc.health.v1.Health/Watch";
/// Printed tokens live 15 minutes.
const TOKEN_TTL: i64 = 15 * 60;

/// The claims this service reads (and the tokens it prints carry).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MyClaims {
    /// Who.
    pub sub: String,
    /// `user` or `admin`.
    #[serde(default)]
    pub role: String,
    /// Expiry.
    pub exp: NumericDate,
    /// The issuer (`JWT_ISSUER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The audience (`JWT_AUDIENCE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// The settings, read from the environment by [`Config::from_env`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The HS256 secret.
    pub secret: String,
    /// Whether the secret was made for this run (then tokens are printed).
    pub generated: bool,
    /// Required `iss`.
    pub issuer: Option<String>,
    /// Required `aud`.
    pub audience: Option<String>,
}

impl Config {
    /// Reads `JWT_SECRET`, `JWT_ISSUER` and `JWT_AUDIENCE` (empty counts as unset).
    pub fn from_env() -> Self {
        let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (secret, generated) = match non_empty("JWT_SECRET") {
            Some(secret) => (secret, false),
            None => (random_secret(), true),
        };
        Self {
            secret,
            generated,
            issuer: non_empty("JWT_ISSUER"),
            audience: non_empty("JWT_AUDIENCE"),
        }
    }

    /// The layer that verifies every call: HS256 with the secret, `iss` and `aud` when set.
    ///
    /// # Errors
    /// A secret shorter than 32 bytes, an empty issuer or audience.
    pub fn layer(&self) -> Result<JwtAuthLayer<MyClaims>, tower_jwt_auth::ConfigError> {
        let mut validation = Validation::new();
        if let Some(issuer) = &self.issuer {
            validation = validation.issuer(issuer.as_str())?;
        }
        if let Some(audience) = &self.audience {
            validation = validation.audience(audience.as_str())?;
        }
        Ok(JwtAuthLayer::<MyClaims>::hs256(self.secret.as_bytes())?.validation(validation))
    }

    /// A token for `sub` with `role`, valid 15 minutes.
    ///
    /// # Errors
    /// A secret shorter than 32 bytes.
    pub fn token(&self, sub: &str, role: &str) -> Result<String, Box<dyn std::error::Error>> {
        let claims = MyClaims {
            sub: sub.to_owned(),
            role: role.to_owned(),
            exp: NumericDate::from_secs(NumericDate::now().as_secs() + TOKEN_TTL),
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(Audience::One),
        };
        Ok(SigningKey::hs256(self.secret.as_bytes())?.sign(&claims)?)
    }
}

/// The health service, as tonic-health implements it, with the caller's claims read in each
/// handler (the layer put them in the request's extensions).
#[derive(Debug)]
pub struct Checked(HealthService);

#[tonic::async_trait]
impl Health for Checked {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        // With the `tonic` feature: `use tower_jwt_auth::grpc::RequestClaims;` and
        // `let claims = request.claims::<MyClaims>()?;`.
        let Some(Claims(claims)) = request.extensions().get::<Claims<MyClaims>>() else {
            return Err(Status::unauthenticated("no token"));
        };
        println!("Check from {} ({})", claims.sub, claims.role);
        self.0.check(request).await
    }

    type WatchStream = tonic_health::server::WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let Some(Claims(claims)) = request.extensions().get::<Claims<MyClaims>>() else {
            return Err(Status::unauthenticated("no token"));
        };
        println!("Watch from {} ({})", claims.sub, claims.role);
        self.0.watch(request).await
    }
}

/// The routes: the health service (its `Watch` behind a role guard) and server reflection.
/// What [`serve`] puts behind the layer; tests drive it too.
pub async fn routes() -> Routes {
    let reporter = HealthReporter::new();
    reporter.set_service_status("", ServingStatus::Serving).await;
    reporter.set_serving::<HealthServer<Checked>>().await;
    let health = HealthServer::from_arc(Arc::new(Checked(HealthService::from_health_reporter(reporter))));
    // A guard on one method path: an axum route layer, then the router is tonic's `Routes`.
    let watch = axum::Router::new()
        .route_service(WATCH, health.clone())
        .route_layer(RequireClaimsLayer::equals(
            |c: &MyClaims| c.role.as_str(),
            "admin",
        ));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1();
    let mut routes = Routes::from(watch).add_service(health);
    if let Ok(reflection) = reflection {
        routes = routes.add_service(reflection);
    }
    routes
}

/// Serves [`routes`] behind `config`'s layer on `listener` until `shutdown` completes, then
/// drains the calls in progress.
///
/// # Errors
/// A configuration the layer refuses, or the server failing.
pub async fn serve(
    config: &Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error>> {
    let incoming = connections::incoming(listener, connections::max_connections());
    Server::builder()
        .max_connection_age(Duration::from_secs(600))
        .max_connection_age_grace(Duration::from_secs(30))
        .timeout(Duration::from_secs(30))
        .concurrency_limit_per_connection(64)
        .max_concurrent_streams(64)
        .http2_max_header_list_size(16 * 1024)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(config.layer()?)
        .add_routes(routes().await)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// The connections the server accepts: bounded in number, and each given a deadline for its
/// first bytes (tonic's own accept loop has neither, and retries a failed accept at once).
pub mod connections {
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
    use tokio::time::{sleep, Sleep};
    use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
    use tonic::transport::server::{Connected, TcpConnectInfo};

    /// The most connections at once, whatever the descriptor limit.
    pub const MAX_CONNECTIONS: usize = 2048;
    /// Descriptors kept free for everything else.
    const HEADROOM: u64 = 64;
    /// How long a new connection may stay silent.
    pub const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

    /// The cap for this process: the soft descriptor limit less 64 (half of it if that is
    /// more), at most [`MAX_CONNECTIONS`].
    pub fn max_connections() -> usize {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let soft = limits
            .lines()
            .find_map(|line| line.strip_prefix("Max open files"))
            .and_then(|rest| rest.split_whitespace().next())
            .map_or(1024, |soft| soft.parse().unwrap_or(u64::MAX));
        let cap = soft.saturating_sub(HEADROOM).max(soft / 2);
        usize::try_from(cap).map_or(MAX_CONNECTIONS, |cap| cap.clamp(1, MAX_CONNECTIONS))
    }

    /// Accepts on `listener`, holding at most `cap` connections open (past it new ones wait in
    /// the kernel's backlog); an accept error waits 100 ms, doubling up to 1 s.
    pub fn incoming(listener: TcpListener, cap: usize) -> ReceiverStream<io::Result<Limited>> {
        let (sender, receiver) = mpsc::channel(1);
        let slots = Arc::new(Semaphore::new(cap.max(1)));
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                let stream = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = sender.closed() => return,
                };
                match stream {
                    Ok((stream, _)) => {
                        backoff = Duration::from_millis(100);
                        let _ = stream.set_nodelay(true);
                        if sender.send(Ok(Limited::new(stream, slot))).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => {
                        sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                    }
                }
            }
        });
        ReceiverStream::new(receiver)
    }

    /// An accepted connection: its slot under the cap, and its deadline for first bytes.
    #[derive(Debug)]
    pub struct Limited {
        stream: TcpStream,
        _slot: OwnedSemaphorePermit,
        /// Until the first bytes arrive.
        first_bytes: Option<Pin<Box<Sleep>>>,
    }

    impl Limited {
        fn new(stream: TcpStream, slot: OwnedSemaphorePermit) -> Self {
            Self {
                stream,
                _slot: slot,
                first_bytes: Some(Box::pin(sleep(FIRST_BYTES_TIMEOUT))),
            }
        }
    }

    impl AsyncRead for Limited {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            let before = buf.filled().len();
            let read = Pin::new(&mut this.stream).poll_read(cx, buf);
            if let Some(deadline) = &mut this.first_bytes {
                match read {
                    Poll::Ready(Ok(())) if buf.filled().len() > before => this.first_bytes = None,
                    Poll::Pending if deadline.as_mut().poll(cx).is_ready() => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "no bytes within the first-bytes timeout",
                        )));
                    }
                    _ => {}
                }
            }
            read
        }
    }

    impl AsyncWrite for Limited {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            self.stream.is_write_vectored()
        }
    }

    impl Connected for Limited {
        type ConnectInfo = TcpConnectInfo;

        fn connect_info(&self) -> TcpConnectInfo {
            self.stream.connect_info()
        }
    }
}

/// What is printed once listening on `addr`.
pub fn quick_start(config: &Config, addr: SocketAddr) -> String {
    let mut out = format!("gRPC (HTTP/2 without TLS) on {addr}\n");
    if !config.generated {
        out += "\nJWT_SECRET is set: send tokens signed with it (jwtck sign), for example\n";
        out += &format!(
            "  grpcurl -plaintext -H 'authorization: Bearer <token>' {addr} grpc.health.v1.Health/Check\n"
        );
        return out;
    }
    let (Ok(user), Ok(admin)) = (config.token("alice", "user"), config.token("admin", "admin")) else {
        return out;
    };
    out += &format!(
        "\nJWT_SECRET is not set: generated a random HS256 secret for this run:\n  JWT_SECRET={}\n",
        config.secret
    );
    out += &format!("\nA token for alice (role user), valid 15 minutes:\n  {user}\n");
    out += &format!("\nA token for admin (role admin), valid 15 minutes:\n  {admin}\n");
    out += "\nTry:\n";
    out += &format!(
        "  grpcurl -plaintext -H 'authorization: Bearer {user}' {addr} grpc.health.v1.Health/Check\n"
    );
    out += &format!(
        "  grpcurl -plaintext -H 'authorization: Bearer {admin}' {addr} grpc.health.v1.Health/Watch\n"
    );
    out
}

/// A random secret of 32 bytes, base64url.
fn random_secret() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    if getrandom::getrandom(&mut bytes).is_err() {
        eprintln!("error: the OS random source failed");
        std::process::exit(1);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[allow(dead_code)] // tests include this file as a module and start `serve` themselves
#[tokio::main]
async fn main() {
    let config = Config::from_env();
    if let Err(e) = config.layer() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:50051".to_owned());
    let addr: SocketAddr = match bind.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: BIND={bind:?} is not a socket address: {e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", quick_start(&config, listener.local_addr().unwrap_or(addr)));
    // Drain for at most 30 s after the signal.
    let drained = async {
        shutdown_signal().await;
        println!("shutting down: draining calls in progress (at most 30 s)");
    };
    let server = serve(&config, listener, drained);
    tokio::pin!(server);
    let outcome = tokio::select! {
        outcome = &mut server => outcome,
        () = async {
            shutdown_signal().await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        } => Ok(()),
    };
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
