//! What the server prints at start-up: its mode, then a ready-made token and curl lines.

use super::config::Config;
use super::keys::signing_key;
use super::tokens::issue_token;

/// Says how tokens are verified; prints the secret when it was generated for this run.
pub(crate) fn print_mode(config: &Config, generated: bool) {
    if let Some(remote) = &config.remote {
        println!("JWKS mode: verifying tokens with the keys of {remote:?}; POST /login is disabled");
    } else if config.signing_key_pem.is_some() {
        println!("signing with the key in JWT_SIGNING_KEY_FILE; its public key is at /.well-known/jwks.json");
    } else if generated {
        println!("JWT_SECRET is not set: generated a random HS256 secret for this run:");
        println!("  JWT_SECRET={}", config.secret);
    }
}

pub(crate) fn print_quick_start(config: &Config, base: &str) {
    println!("listening on {base}");
    if let Ok(key) = signing_key(config) {
        if let (Ok(user), Ok(admin)) = (
            issue_token(&key, config, "alice", "user", None),
            issue_token(&key, config, "admin", "admin", None),
        ) {
            println!("\nA token for alice (role user), valid 15 minutes:\n  {user}\n");
            println!("Try:");
            println!("  curl -i {base}/me -H 'Authorization: Bearer {user}'");
            println!("  curl -i {base}/admin -H 'Authorization: Bearer {user}'    # 403: alice is not admin");
            println!("  curl -i {base}/admin -H 'Authorization: Bearer {admin}'");
            println!("  curl -i {base}/me                                          # 401: no token");
            println!(
                "  curl -i {base}/login -H 'content-type: application/json' -d '{{\"username\":\"admin\",\"password\":\"admin-password\"}}'"
            );
        }
    }
}
