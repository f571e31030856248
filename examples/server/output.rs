//! What the server prints at start-up: its mode, then, when it generated its own secret, a
//! ready-made token and curl lines.
//!
//! A ready token is printed only for a secret made for this run: with a configured
//! `JWT_SECRET` or signing key, a token in the logs would be a valid credential for anyone who
//! can read them (an admin one at that). In JWKS mode this server issues nothing and has no
//! `/login`, so neither is printed.

use super::config::Config;
use super::keys::signing_key;
use super::tokens::issue_token;

/// Says how tokens are verified; prints the secret when it was generated for this run.
pub(crate) fn print_mode(config: &Config, generated: bool) {
    if let Some(super::config::Remote::Issuers { issuers, .. }) = &config.remote {
        println!(
            "several issuers: verifying tokens of {} with each one's own keys; POST /login is disabled",
            issuers.join(", ")
        );
    } else if let Some(remote) = &config.remote {
        println!("JWKS mode: verifying tokens with the keys of {remote:?}; POST /login is disabled");
    } else if config.signing_key_pem.is_some() {
        println!("signing with the key in JWT_SIGNING_KEY_FILE; its public key is at /.well-known/jwks.json");
    } else if generated {
        println!("JWT_SECRET is not set: generated a random HS256 secret for this run:");
        println!("  JWT_SECRET={}", config.secret);
    }
}

/// What to try, once listening on `base`; `generated` says whether the secret was made for this
/// run.
pub(crate) fn print_quick_start(config: &Config, generated: bool, base: &str) {
    print!("{}", quick_start(config, generated, base));
}

/// The text [`print_quick_start`] prints.
pub(crate) fn quick_start(config: &Config, generated: bool, base: &str) -> String {
    let mut out = format!("listening on {base}\n");
    if config.remote.is_some() {
        out += &format!(
            "\nTry:\n  curl -i {base}/me -H 'Authorization: Bearer <a token from the identity provider>'\n"
        );
        return out;
    }
    let login = format!(
        "  curl -i {base}/login -H 'content-type: application/json' -d '{{\"username\":\"alice\",\"password\":\"alice-password\"}}'\n"
    );
    let ready = if generated && config.signing_key_pem.is_none() {
        signing_key(config).ok().and_then(|key| {
            Some((
                issue_token(&key, config, "alice", "user", None).ok()?,
                issue_token(&key, config, "admin", "admin", None).ok()?,
            ))
        })
    } else {
        None
    };
    let Some((user, admin)) = ready else {
        out += &format!("\nTry:\n{login}");
        out += &format!("  curl -i {base}/me -H 'Authorization: Bearer <the access_token it answers>'\n");
        return out;
    };
    out += &format!("\nA token for alice (role user), valid 15 minutes:\n  {user}\n\n");
    out += "Try:\n";
    out += &format!("  curl -i {base}/me -H 'Authorization: Bearer {user}'\n");
    out +=
        &format!("  curl -i {base}/admin -H 'Authorization: Bearer {user}'    # 403: alice is not admin\n");
    out += &format!("  curl -i {base}/admin -H 'Authorization: Bearer {admin}'\n");
    out += &format!("  curl -i {base}/me                                          # 401: no token\n");
    out + &login
}
