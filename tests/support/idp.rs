//! An in-process identity provider on loopback, for the tests of several issuers: OpenID
//! Connect discovery and a JWK Set, for its own issuer and for tenants under it, counting every
//! request it receives.
//!
//! The issuer is the base URL (`http://127.0.0.1:<port>`); a tenant `t` is the issuer
//! `<base>/tenants/t`. Any path ending in `/.well-known/openid-configuration` answers the
//! discovery document of the issuer before it (`jwks_uri` is that issuer plus `/jwks`), any path
//! ending in `/jwks` the current key set.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower_jwt_auth::{PublishJwks, SigningKey};

/// A running identity provider.
pub(crate) struct Idp {
    pub(crate) base: String,
    shared: Arc<Shared>,
}

struct Shared {
    jwks: Mutex<String>,
    down: AtomicBool,
    discoveries: AtomicUsize,
    fetches: AtomicUsize,
    /// Requests for any other path (RFC 8414's document among them).
    others: AtomicUsize,
    /// Serves RFC 8414's document (at the path RFC 8414 §3.1 gives) instead of OpenID
    /// Connect's, which then answers 404.
    rfc8414_only: AtomicBool,
    /// The `issuer` the discovery document claims, when it lies.
    claimed_issuer: Mutex<Option<String>>,
}

/// Issuer A's signing key (P-256, `kid` `a-1`).
pub(crate) fn key_a() -> SigningKey {
    SigningKey::from_pkcs8(include_bytes!("../keys/jwks-a-p256.pem"))
        .unwrap()
        .with_kid("a-1")
        .unwrap()
}

/// Issuer B's signing key (Ed25519, `kid` `b-1`).
pub(crate) fn key_b() -> SigningKey {
    SigningKey::from_pkcs8(include_bytes!("../keys/jwks-b-ed25519.pem"))
        .unwrap()
        .with_kid("b-1")
        .unwrap()
}

/// The JWK Set document of `keys`' public halves.
pub(crate) fn jwks_of(keys: &[&SigningKey]) -> String {
    let publish: PublishJwks = PublishJwks::new(keys.iter().map(|k| k.verifying_key()), 300).unwrap();
    publish.document().to_owned()
}

impl Idp {
    /// Starts one serving `keys`.
    pub(crate) async fn start(keys: &[&SigningKey]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            jwks: Mutex::new(jwks_of(keys)),
            down: AtomicBool::new(false),
            discoveries: AtomicUsize::new(0),
            fetches: AtomicUsize::new(0),
            others: AtomicUsize::new(0),
            rfc8414_only: AtomicBool::new(false),
            claimed_issuer: Mutex::new(None),
        });
        let serving = Arc::clone(&shared);
        let origin = base.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (shared, origin) = (Arc::clone(&serving), origin.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let answer = shared.answer(&origin, req.uri().path());
                        async move { Ok::<_, Infallible>(answer) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { base, shared }
    }

    /// The issuer of a tenant.
    pub(crate) fn tenant(&self, tenant: &str) -> String {
        format!("{}/tenants/{tenant}", self.base)
    }

    /// Every request received: discovery documents, key sets and any other path.
    pub(crate) fn requests(&self) -> usize {
        self.discoveries() + self.fetches() + self.others()
    }

    /// Requests for paths other than discovery and key sets.
    pub(crate) fn others(&self) -> usize {
        self.shared.others.load(Ordering::SeqCst)
    }

    pub(crate) fn discoveries(&self) -> usize {
        self.shared.discoveries.load(Ordering::SeqCst)
    }

    pub(crate) fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    /// Answers 503 to everything while `down`.
    pub(crate) fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Serves `keys` from now on.
    pub(crate) fn set_keys(&self, keys: &[&SigningKey]) {
        *self.shared.jwks.lock().unwrap() = jwks_of(keys);
    }

    /// Serves only RFC 8414's metadata: `/.well-known/oauth-authorization-server/<issuer path>`.
    pub(crate) fn set_rfc8414_only(&self) {
        self.shared.rfc8414_only.store(true, Ordering::SeqCst);
    }

    /// Makes the discovery document claim `issuer` (a lying or misconfigured provider).
    pub(crate) fn claim_issuer(&self, issuer: &str) {
        *self.shared.claimed_issuer.lock().unwrap() = Some(issuer.to_owned());
    }
}

impl Shared {
    fn answer(&self, origin: &str, path: &str) -> Response<Full<Bytes>> {
        let rfc8414 = self.rfc8414_only.load(Ordering::SeqCst);
        if let Some(issuer_path) = path.strip_prefix("/.well-known/oauth-authorization-server") {
            if rfc8414 {
                self.discoveries.fetch_add(1, Ordering::SeqCst);
                let issuer = format!("{origin}{issuer_path}");
                return json(
                    200,
                    format!(r#"{{"issuer":"{issuer}","jwks_uri":"{issuer}/jwks"}}"#),
                );
            }
        }
        if let Some(prefix) = path
            .strip_suffix("/.well-known/openid-configuration")
            .filter(|_| !rfc8414)
        {
            self.discoveries.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return json(503, "{}".to_owned());
            }
            let issuer = format!("{origin}{prefix}");
            let claimed = self
                .claimed_issuer
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| issuer.clone());
            return json(
                200,
                format!(r#"{{"issuer":"{claimed}","jwks_uri":"{issuer}/jwks"}}"#),
            );
        }
        if path.ends_with("/jwks") {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return json(503, "{}".to_owned());
            }
            return json(200, self.jwks.lock().unwrap().clone());
        }
        self.others.fetch_add(1, Ordering::SeqCst);
        json(404, "{}".to_owned())
    }
}

fn json(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
