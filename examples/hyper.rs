//! Run with `cargo run --example hyper`: a plain hyper 1 server (no axum) behind `JwtAuthLayer`.
//!
//! ```sh
//! cargo run --example hyper
//! BIND=127.0.0.1:8080 cargo run --example hyper
//! ```
//!
//! With no configuration it makes a random HS256 secret for the run and prints a ready token and
//! a curl line. Every path needs a valid token: the middleware wraps the whole service, puts the
//! verified claims into the request extensions as `Claims<MyClaims>`, and answers refusals itself
//! (401 with an RFC 6750 `WWW-Authenticate` challenge, 400 for malformed requests).
//!
//! The stack is `tower::ServiceBuilder` → `JwtAuthLayer` → `service_fn(handle)`, handed to hyper
//! through `hyper_util::service::TowerToHyperService`.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;
use tower_jwt_auth::{AuthError, Claims, JwtAuthLayer, NumericDate, SigningKey};

/// Tokens printed at start-up live 15 minutes.
const TOKEN_TTL: i64 = 15 * 60;

/// The claims this server reads (and signs, for the demo token).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct MyClaims {
    sub: String,
    exp: i64,
}

/// The protected handler: the middleware only calls it with verified claims.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.extensions().get::<Claims<MyClaims>>() {
        Some(Claims(claims)) => format!("hello, {} (you asked for {})\n", claims.sub, req.uri().path()),
        // Unreachable behind a non-optional `JwtAuthLayer`; answer sensibly anyway.
        None => "hello, stranger\n".to_owned(),
    };
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// Refusals as one line of text; the middleware keeps the status and the challenge.
fn text_rejection(error: &AuthError) -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from(format!(
        "{}: {}\n",
        error.status(),
        error.description()
    ))))
}

/// A random secret of `len` bytes from the OS.
fn random_secret(len: usize) -> Vec<u8> {
    let mut secret = vec![0u8; len];
    if let Err(e) = getrandom::getrandom(&mut secret) {
        eprintln!("error: the OS random source failed: {e}");
        std::process::exit(1);
    }
    secret
}

#[tokio::main]
async fn main() {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let addr: SocketAddr = match bind.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: BIND={bind:?} is not a socket address: {e}");
            std::process::exit(2);
        }
    };

    // Zero configuration: a fresh 32-byte secret for this run.
    let secret = random_secret(32);
    let (signing, auth) = match (
        SigningKey::hs256(&secret),
        JwtAuthLayer::<MyClaims>::hs256(&secret),
    ) {
        (Ok(signing), Ok(auth)) => (signing, auth.with_rejection(text_rejection)),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
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
    let base = format!("http://{}", listener.local_addr().unwrap_or(addr));
    println!("listening on {base}");

    let claims = MyClaims {
        sub: "alice".to_owned(),
        exp: NumericDate::now().as_secs() + TOKEN_TTL,
    };
    match signing.sign(&claims) {
        Ok(token) => {
            println!("\nA token for alice, valid 15 minutes:\n  {token}\n");
            println!("Try:");
            println!("  curl -i {base}/hello -H 'Authorization: Bearer {token}'");
            println!("  curl -i {base}/hello                      # 401: no token");
        }
        Err(e) => eprintln!("error: could not sign a demo token: {e}"),
    }

    // One service for all connections: the layer's configuration is shared, not copied.
    let service = ServiceBuilder::new().layer(auth).service_fn(handle);

    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("error: accept failed: {e}");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("error: connection failed: {e}");
            }
        });
    }
    println!("shutting down");
}
