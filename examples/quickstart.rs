//! The README's quick start: `JWT_SECRET=$(openssl rand -base64 32) cargo run --example quickstart`.
use axum::{routing::get, Router};
use serde::Deserialize;
use tower_jwt_auth::{Claims, JwtAuthLayer, RequireClaimsLayer, Validation};

#[derive(Clone, Deserialize)]
struct MyClaims {
    sub: String,
    role: String,
}

async fn me(Claims(c): Claims<MyClaims>) -> String {
    format!("hello {}", c.sub)
}

async fn admin() -> &'static str {
    "hello, admin"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("JWT_SECRET")?; // at least 32 bytes for HS256
    let validation = Validation::new()
        .issuer("https://auth.example.com")?
        .audience("my-api")?;
    let auth = JwtAuthLayer::<MyClaims>::hs256(secret)?.validation(validation);
    let is_admin = RequireClaimsLayer::equals(|c: &MyClaims| c.role.as_str(), "admin");
    let app = Router::new()
        .route("/admin", get(admin))
        .route_layer(is_admin) // 403 unless the token's role is admin
        .route("/me", get(me))
        .route_layer(auth); // 401 without a valid token; route_layer keeps unknown paths 404
    let addr = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
