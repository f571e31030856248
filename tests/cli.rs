//! The `jwtck` binary, run for real: every command, output mode and exit code, and agreement
//! with the example server.
#![cfg(feature = "cli")]

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use serde_json::Value;

use support::b64;
#[cfg(feature = "axum")]
use support::example_server as server;

const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
const OTHER_SECRET: &str = "another-secret-that-is-at-least-32-bytes";

/// What a run of `jwtck` printed and how it exited.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    fn first_line(&self) -> &str {
        self.stdout.lines().next().unwrap_or("")
    }
}

fn jwtck_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("jwtck");
    cmd.args(args).env_remove("NO_COLOR");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.write_stdin(stdin.unwrap_or(""));
    let output = cmd.output().expect("jwtck runs");
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

fn jwtck(args: &[&str]) -> Run {
    jwtck_with(args, None, &[])
}

/// Signs with `jwtck sign` and returns the token, checking it is alone on standard output.
fn sign(args: &[&str]) -> String {
    let mut all = vec!["sign"];
    all.extend_from_slice(args);
    let run = jwtck(&all);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    let token = run.stdout.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    token
}

/// A new, empty directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "jwtck-{name}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn keys_dir(file: &str) -> String {
    format!("{}/tests/keys/{file}", env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// decode

#[test]
fn decode_shows_the_header_claims_and_utc_dates_labelled_not_verified() {
    let token = sign(&[
        "--secret",
        SECRET,
        "--sub",
        "alice",
        "--exp",
        "10m",
        r#"{"role":"user"}"#,
    ]);
    let run = jwtck(&["decode", &token]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.first_line().starts_with("NOT VERIFIED"), "{}", run.stdout);
    assert!(run.stdout.contains(r#""alg": "HS256""#), "{}", run.stdout);
    assert!(run.stdout.contains(r#""sub": "alice""#), "{}", run.stdout);
    assert!(run.stdout.contains("valid for 9 more min") || run.stdout.contains("valid for 10 more min"));
    assert!(run.stdout.contains("issued 0 s ago") || run.stdout.contains("issued 1 s ago"));
    assert!(
        run.stdout.contains("lifetime (exp - iat): 10 min"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("No warnings"), "{}", run.stdout);
    // RFC 3339 UTC, from our own calendar arithmetic.
    assert!(run.stdout.contains("Z  "), "{}", run.stdout);
    // Not a terminal: no colour.
    assert!(!run.stdout.contains('\x1b'));
}

#[test]
fn decode_converts_numeric_dates_to_utc_exactly() {
    let token = format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"HS256"}"#),
        b64(r#"{"iat":1700000000,"exp":1700000600}"#)
    );
    let run = jwtck(&["decode", "--json", &token]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["dates"]["iat"]["utc"], "2023-11-14T22:13:20Z");
    assert_eq!(doc["dates"]["exp"]["utc"], "2023-11-14T22:23:20Z");
    assert!(doc["dates"]["exp"]["relative"]
        .as_str()
        .unwrap()
        .starts_with("expired "));
    assert_eq!(doc["lifetime_secs"], 600);
}

#[test]
fn decode_reads_the_token_from_standard_input_with_a_dash() {
    let token = sign(&["--secret", SECRET, "--sub", "stdin-user"]);
    let run = jwtck_with(&["decode", "-"], Some(&format!("{token}\n")), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("stdin-user"));
    // A pasted `Bearer` prefix is fine too.
    let run = jwtck_with(&["inspect", "-"], Some(&format!("Bearer {token}")), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("stdin-user"));
}

#[test]
fn decode_json_says_not_verified_and_carries_header_claims_and_warnings() {
    let token = sign(&["--secret", SECRET, "--sub", "alice"]);
    let run = jwtck(&["decode", "--json", &token]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["verified"], false);
    assert!(doc["notice"].as_str().unwrap().starts_with("NOT VERIFIED"));
    assert_eq!(doc["header"]["typ"], "JWT");
    assert_eq!(doc["claims"]["sub"], "alice");
    assert_eq!(doc["lifetime_secs"], 900);
    assert_eq!(doc["warnings"], serde_json::json!([]));
}

#[test]
fn decode_warns_about_what_a_reviewer_would_raise() {
    let header = b64(r#"{"alg":"none","crit":["exp"],"jku":"https://evil.example/jwks","x5c":["MIIB"]}"#);
    let claims = b64(
        r#"{"sub":"bob","password":"hunter2","card":"4111 1111 1111 1111","profile":{"ssn":"078-05-1120"}}"#,
    );
    let token = format!("{header}.{claims}.c2ln");
    let run = jwtck(&["decode", &token]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    for expected in [
        "alg none",
        "crit header",
        "header jku",
        "header x5c",
        "no exp",
        "\"password\" looks like a secret",
        "\"profile.ssn\" looks like a secret",
        "\"card\" holds what looks like a payment card number",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(out.starts_with("NOT VERIFIED"));
}

/// Defect: a token whose `exp` is before its `iat` printed "lifetime (exp - iat): 5 min" and
/// "No warnings".
#[test]
fn decode_shows_a_negative_lifetime_and_warns_when_exp_is_before_iat() {
    let token = format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64(r#"{"sub":"alice","iat":2000000300,"exp":2000000000}"#)
    );
    let run = jwtck(&["decode", &token]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("lifetime (exp - iat): -5 min"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("No warnings"), "{}", run.stdout);
    assert!(run.stdout.contains("exp is 5 min before iat"), "{}", run.stdout);
    let run = jwtck(&["decode", "--json", &token]);
    assert_eq!(run.json()["lifetime_secs"], -300);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("expired before it was issued"), "{warnings}");
}

#[test]
fn decode_warns_about_long_lived_tokens_and_non_canonical_encoding() {
    let long = sign(&["--secret", SECRET, "--exp", "2h"]);
    let run = jwtck(&["decode", "--json", &long]);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("long-lived: 2 h"), "{warnings}");

    // The same token with a padded payload: decodable, but refused by the verifier.
    let token = sign(&["--secret", SECRET, "--sub", "ab"]);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let padding = (4 - parts[1].len() % 4) % 4;
    assert!(padding > 0, "pick claims whose encoding needs padding");
    parts[1].push_str(&"=".repeat(padding));
    let padded = parts.join(".");
    let run = jwtck(&["decode", "--json", &padded]);
    assert_eq!(run.code, 0, "{run:?}");
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("non-canonical encoding of the payload"),
        "{warnings}"
    );
    let run = jwtck(&["verify", "--secret", SECRET, &padded]);
    assert_eq!(run.code, 1);
    assert!(
        run.first_line().starts_with("refused: malformed token"),
        "{run:?}"
    );
}

#[test]
fn decode_of_something_that_is_not_a_token_exits_1() {
    let run = jwtck(&["decode", "not-a-token"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("cannot decode"), "{run:?}");
    let run = jwtck(&["decode", "--json", "a.b.c"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.json()["error"].is_string());
}

// ---------------------------------------------------------------------------------------------
// verify

#[test]
fn verify_says_valid_and_prints_the_claims() {
    let token = sign(&["--secret", SECRET, "--sub", "alice", r#"{"role":"admin"}"#]);
    let run = jwtck(&["verify", "--secret", SECRET, &token]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.first_line(), "valid");
    let claims: Value = serde_json::from_str(run.stdout.split_once('\n').unwrap().1).unwrap();
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["sub"], "alice");
}

#[test]
fn verify_json_reports_valid_reason_kind_and_claims() {
    let token = sign(&["--secret", SECRET, "--sub", "alice"]);
    let doc = jwtck(&["verify", "--json", "--secret", SECRET, &token]).json();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["claims"]["sub"], "alice");
    assert!(doc["reason"].is_null());

    let expired = sign(&["--secret", SECRET, "--exp", "-5m"]);
    let run = jwtck(&["verify", "--json", "--secret", SECRET, &expired]);
    assert_eq!(run.code, 1);
    let doc = run.json();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["kind"], "Expired");
    assert!(doc["reason"].as_str().unwrap().starts_with("token expired at "));
    assert!(doc["claims"].is_null());
}

#[test]
fn a_token_signed_with_exp_minus_5m_is_refused_as_expired_5_min_ago() {
    let token = sign(&["--secret", SECRET, "--sub", "alice", "--exp", "-5m"]);
    let run = jwtck(&["verify", "--secret", SECRET, &token]);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.first_line();
    assert!(line.starts_with("refused: token expired at "), "{line}");
    assert!(
        line.ends_with("Z (5 min ago)") || line.ends_with("Z (4 min ago)"),
        "{line}"
    );
}

#[test]
fn verify_refuses_a_token_signed_with_another_secret() {
    let token = sign(&["--secret", OTHER_SECRET, "--sub", "mallory"]);
    let run = jwtck(&["verify", "--secret", SECRET, &token]);
    assert_eq!(run.code, 1);
    assert!(
        run.first_line().starts_with("refused: invalid signature"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("mallory"), "refused claims are not shown");
}

#[test]
fn verify_refuses_the_wrong_audience_and_names_both() {
    let token = sign(&["--secret", SECRET, "--aud", "billing"]);
    let run = jwtck(&["verify", "--secret", SECRET, "--aud", "orders", &token]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.first_line(),
        r#"refused: invalid audience: token aud "billing", expected "orders""#
    );
    let run = jwtck(&["verify", "--json", "--secret", SECRET, "--aud", "orders", &token]);
    assert_eq!(run.json()["kind"], "InvalidAudience");
}

#[test]
fn verify_checks_the_issuer_and_the_leeway() {
    let token = sign(&["--secret", SECRET, "--iss", "https://a.example", "--exp", "-10s"]);
    let run = jwtck(&["verify", "--secret", SECRET, "--iss", "https://a.example", &token]);
    assert_eq!(run.code, 0, "within the default 30 s leeway: {run:?}");
    let run = jwtck(&["verify", "--secret", SECRET, "--leeway", "0", &token]);
    assert_eq!(run.code, 1);
    assert!(
        run.first_line().starts_with("refused: token expired at"),
        "{run:?}"
    );
    let run = jwtck(&["verify", "--secret", SECRET, "--iss", "https://b.example", &token]);
    assert!(run.first_line().starts_with("refused: invalid issuer"), "{run:?}");
}

#[test]
fn verify_refuses_an_unknown_kid_from_a_jwks_file() {
    let dir = temp_dir("unknown-kid");
    let key = dir.join("key.pem");
    let jwks = dir.join("jwks.json");
    let run = jwtck(&[
        "keygen",
        "ES256",
        "--out",
        path_str(&key),
        "--public-jwk",
        path_str(&jwks),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let token = sign(&["--key", path_str(&key), "--kid", "not-in-the-set", "--sub", "x"]);
    let run = jwtck(&["verify", "--jwks", path_str(&jwks), &token]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.first_line().starts_with("refused: unknown signing key"),
        "{run:?}"
    );
    assert!(run.first_line().contains("\"not-in-the-set\""), "{run:?}");
    let run = jwtck(&["verify", "--json", "--jwks", path_str(&jwks), &token]);
    assert_eq!(run.json()["kind"], "UnknownKey");
}

#[test]
fn verify_exits_3_when_the_key_set_cannot_be_fetched() {
    let token = sign(&["--secret", SECRET, "--sub", "x"]);
    let run = jwtck(&["verify", "--jwks", "http://127.0.0.1:1/jwks", &token]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run
        .first_line()
        .starts_with("refused: key source unavailable: http://127.0.0.1:1/jwks"));
    let run = jwtck(&["verify", "--json", "--jwks", "http://127.0.0.1:1/jwks", &token]);
    assert_eq!(run.code, 3);
    assert_eq!(run.json()["kind"], "KeyUnavailable");
}

/// Serves `body` as JSON on a loopback port, to any number of requests.
fn serve_json(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://{addr}/jwks.json")
}

#[test]
fn verify_fetches_a_jwks_url_like_the_middleware() {
    let dir = temp_dir("jwks-url");
    let key = dir.join("key.pem");
    let jwks = dir.join("jwks.json");
    let run = jwtck(&[
        "keygen",
        "EdDSA",
        "--out",
        path_str(&key),
        "--public-jwk",
        path_str(&jwks),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let url = serve_json(std::fs::read_to_string(&jwks).unwrap());
    let token = sign(&["--key", path_str(&key), "--sub", "remote"]);
    let run = jwtck(&["verify", "--jwks", &url, &token]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.first_line(), "valid");
}

#[test]
fn verify_reads_public_keys_certificates_and_private_keys() {
    let token = sign(&["--key", &keys_dir("p256.pem"), "--sub", "pem"]);
    for key in [
        "p256.pub.pem",
        "p256.pub.der",
        "p256.crt.pem",
        "p256.crt.der",
        "p256.pem",
    ] {
        let run = jwtck(&["verify", "--key", &keys_dir(key), &token]);
        assert_eq!(run.code, 0, "{key}: {run:?}");
    }
    // An RSA key rebound to PS256 with --alg, on both sides.
    let token = sign(&["--key", &keys_dir("rsa2048.pem"), "--alg", "PS256"]);
    let run = jwtck(&[
        "verify",
        "--key",
        &keys_dir("rsa2048.pub.pem"),
        "--alg",
        "PS256",
        &token,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = jwtck(&["verify", "--key", &keys_dir("rsa2048.pub.pem"), &token]);
    assert_eq!(run.code, 1);
    assert!(run.first_line().contains("token alg PS256, key RS256"), "{run:?}");
}

#[test]
fn verify_reads_the_secret_from_a_file_or_an_environment_variable() {
    let dir = temp_dir("secret-file");
    let file = dir.join("secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let token = sign(&["--secret", SECRET]);
    let run = jwtck(&["verify", "--secret-file", path_str(&file), &token]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = jwtck_with(
        &["verify", "--secret-env", "MY_JWT_SECRET", &token],
        None,
        &[("MY_JWT_SECRET", SECRET)],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let run = jwtck_with(&["verify", "--secret", SECRET, "-"], Some(&token), &[]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let token = sign(&["--secret", SECRET]);
    // No key source, two key sources, an unknown flag, an unknown algorithm.
    for args in [
        vec!["verify", token.as_str()],
        vec!["verify", "--secret", SECRET, "--key", "x.pem", token.as_str()],
        vec!["verify", "--bogus", token.as_str()],
        vec!["verify", "--secret", SECRET, "--alg", "none", token.as_str()],
        vec!["nonsense"],
    ] {
        let run = jwtck(&args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    // Configuration: a short secret, a plain-HTTP issuer, a missing key file.
    let run = jwtck(&["verify", "--secret", "short", &token]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("at least 32 bytes"), "{run:?}");
    let run = jwtck(&["verify", "--oidc", "http://issuer.example", &token]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = jwtck(&["verify", "--key", "/nonexistent/key.pem", &token]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = jwtck(&["verify", "--json", "--key", "/nonexistent/key.pem", &token]);
    assert!(run.json()["error"].as_str().unwrap().contains("cannot read"));
    // Help is not an error.
    assert_eq!(jwtck(&["--help"]).code, 0);
}

// ---------------------------------------------------------------------------------------------
// sign and keygen

#[test]
fn hmac_tokens_round_trip_for_every_hash() {
    let long = "x".repeat(64);
    for alg in ["HS256", "HS384", "HS512"] {
        let token = sign(&["--secret", &long, "--alg", alg, "--sub", "alice"]);
        let header = jwtck(&["decode", "--json", &token]).json()["header"].clone();
        assert_eq!(header["alg"], alg);
        let run = jwtck(&["verify", "--secret", &long, "--alg", alg, &token]);
        assert_eq!(run.code, 0, "{alg}: {run:?}");
    }
}

#[test]
fn keygen_key_pairs_sign_and_verify_by_key_file_and_jwk_set() {
    let dir = temp_dir("keygen-pairs");
    for (alg, extra) in [
        ("ES256", None),
        ("ES384", None),
        ("EdDSA", None),
        ("RS256", None),
        ("PS256", Some("PS256")),
    ] {
        let key = dir.join(format!("{alg}.pem"));
        let jwks = dir.join(format!("{alg}.jwks.json"));
        let run = jwtck(&[
            "keygen",
            alg,
            "--out",
            path_str(&key),
            "--public-jwk",
            path_str(&jwks),
        ]);
        assert_eq!(run.code, 0, "{alg}: {run:?}");
        let set: Value = serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
        assert_eq!(set["keys"][0]["alg"], alg);
        assert!(set["keys"][0].get("d").is_none(), "public only");
        let mut args = vec!["--key", path_str(&key), "--sub", "alice"];
        if let Some(alg) = extra {
            args.extend(["--alg", alg]);
        }
        let token = sign(&args);
        let header = jwtck(&["decode", "--json", &token]).json()["header"].clone();
        assert_eq!(header["alg"], alg);
        assert_eq!(header["kid"], set["keys"][0]["kid"], "kid is the thumbprint");
        let run = jwtck(&["verify", "--jwks", path_str(&jwks), &token]);
        assert_eq!(run.code, 0, "{alg}: {run:?}");
        let mut verify = vec!["verify", "--key", path_str(&key)];
        if let Some(alg) = extra {
            verify.extend(["--alg", alg]);
        }
        verify.push(&token);
        let run = jwtck(&verify);
        assert_eq!(run.code, 0, "{alg}: {run:?}");
    }
}

#[test]
fn keygen_prints_a_pkcs8_pem_to_standard_output_by_default() {
    let run = jwtck(&["keygen", "ES256"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("-----END PRIVATE KEY-----\n"));
    assert!(run.stderr.contains("kid (RFC 7638 thumbprint)"));
}

#[test]
fn keygen_hmac_secrets_have_the_hash_length_and_work_as_secrets() {
    for (alg, bytes) in [("HS256", 32), ("HS384", 48), ("HS512", 64)] {
        let run = jwtck(&["keygen", alg]);
        assert_eq!(run.code, 0);
        let secret = run.stdout.trim();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret)
            .unwrap();
        assert_eq!(raw.len(), bytes, "{alg}");
        // `--secret=...`: a base64url secret may begin with `-`, which clap would otherwise
        // read as a flag (one run in 64 did).
        let secret_arg = format!("--secret={secret}");
        let token = sign(&[&secret_arg, "--alg", alg]);
        assert_eq!(jwtck(&["verify", &secret_arg, "--alg", alg, &token]).code, 0);
    }
    assert_eq!(jwtck(&["keygen", "HS256", "--public-jwk", "x.json"]).code, 2);
    assert_eq!(jwtck(&["keygen", "ES256", "--bits", "4096"]).code, 2);
}

#[test]
fn keygen_writes_the_private_key_with_mode_0600_and_never_overwrites() {
    let dir = temp_dir("keygen-file");
    let key = dir.join("key.pem");
    let run = jwtck(&["keygen", "EdDSA", "--out", path_str(&key)]);
    assert_eq!(run.code, 0, "{run:?}");
    // The public JWK Set goes to standard output when the key goes to a file.
    let set: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(set["keys"][0]["crv"], "Ed25519");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let before = std::fs::read(&key).unwrap();
    let run = jwtck(&["keygen", "EdDSA", "--out", path_str(&key)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("already exists"), "{run:?}");
    assert_eq!(std::fs::read(&key).unwrap(), before, "untouched");
}

#[test]
fn sign_adds_registered_claims_from_flags_and_reads_claims_from_a_file_or_stdin() {
    let dir = temp_dir("sign-claims");
    let file = dir.join("claims.json");
    std::fs::write(&file, r#"{"role":"admin","sub":"from-file"}"#).unwrap();
    let token = sign(&[
        "--secret",
        SECRET,
        "--sub",
        "from-flag",
        "--iss",
        "https://issuer.example",
        "--aud",
        "a",
        "--aud",
        "b",
        "--kid",
        "v1",
        "--typ",
        "at+jwt",
        "--exp",
        "1d",
        &format!("@{}", file.display()),
    ]);
    let doc = jwtck(&["decode", "--json", &token]).json();
    assert_eq!(doc["claims"]["sub"], "from-flag", "flags win");
    assert_eq!(doc["claims"]["role"], "admin");
    assert_eq!(doc["claims"]["aud"], serde_json::json!(["a", "b"]));
    assert_eq!(doc["header"]["kid"], "v1");
    assert_eq!(doc["header"]["typ"], "at+jwt");
    let claims = &doc["claims"];
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_400
    );

    let run = jwtck_with(
        &["sign", "--secret", SECRET, "--exp", "1700000000", "-"],
        Some(r#"{"x":1}"#),
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let doc = jwtck(&["decode", "--json", run.stdout.trim()]).json();
    assert_eq!(
        doc["claims"]["exp"], 1_700_000_000,
        "a bare number is an absolute date"
    );
    assert_eq!(doc["claims"]["x"], 1);

    let run = jwtck(&["sign", "--secret", SECRET, "[1,2]"]);
    assert_eq!(run.code, 2, "claims must be an object: {run:?}");
    let run = jwtck(&["sign", "--secret", SECRET, "--exp", "soon"]);
    assert_eq!(run.code, 2, "{run:?}");
}

// ---------------------------------------------------------------------------------------------
// agreement with the example server

#[cfg(feature = "axum")]
mod with_the_example_server {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    fn config(audience: Option<&str>) -> server::Config {
        server::Config {
            secret: SECRET.into(),
            issuer: None,
            audience: audience.map(Into::into),
            signing_key_pem: None,
            rfc9068: false,
            resource: None,
            remote: None,
        }
    }

    async fn get(app: &axum::Router, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn a_token_signed_by_the_cli_is_accepted_by_the_example_server() {
        let app = server::app(config(None)).unwrap();
        let token = sign(&["--secret", SECRET, "--sub", "alice", r#"{"role":"user"}"#]);
        let (status, body) = get(&app, "/me", Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["sub"], "alice");
        assert_eq!(body["role"], "user");
        assert_eq!(jwtck(&["verify", "--secret", SECRET, &token]).code, 0);
    }

    #[tokio::test]
    async fn a_token_the_example_server_refuses_gets_the_same_reason_from_verify() {
        let cases: [(&str, Option<&str>, Vec<&str>); 4] = [
            (
                "expired",
                None,
                vec!["--secret", SECRET, "--sub", "a", "--exp", "-5m"],
            ),
            ("wrong secret", None, vec!["--secret", OTHER_SECRET, "--sub", "a"]),
            (
                "unexpected audience",
                None,
                vec!["--secret", SECRET, "--aud", "elsewhere"],
            ),
            (
                "wrong audience",
                Some("example-api"),
                vec!["--secret", SECRET, "--aud", "elsewhere"],
            ),
        ];
        for (case, audience, sign_args) in cases {
            let app = server::app(config(audience)).unwrap();
            let token = sign(&sign_args);
            let (status, body) = get(&app, "/me", Some(&token)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
            let server_reason = body["error_description"].as_str().unwrap().to_owned();

            let mut args = vec!["verify", "--json", "--secret", SECRET];
            if let Some(aud) = audience {
                args.extend(["--aud", aud]);
            }
            args.push(&token);
            let run = jwtck(&args);
            assert_eq!(run.code, 1, "{case}: {run:?}");
            let reason = run.json()["reason"].as_str().unwrap().to_owned();
            assert!(
                reason.starts_with(&server_reason),
                "{case}: server said {server_reason:?}, jwtck said {reason:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_example_servers_key_file_mode_accepts_cli_tokens_and_its_jwks_verifies_them() {
        let dir = temp_dir("server-key-file");
        let key = dir.join("signing.pem");
        let run = jwtck(&["keygen", "ES256", "--out", path_str(&key)]);
        assert_eq!(run.code, 0, "{run:?}");
        let mut config = config(None);
        config.signing_key_pem = Some(std::fs::read(&key).unwrap());
        let app = server::app(config).unwrap();

        let token = sign(&["--key", path_str(&key), "--sub", "alice", r#"{"role":"admin"}"#]);
        let (status, body) = get(&app, "/admin", Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // The server's published key set verifies the CLI's token.
        let (status, jwks) = get(&app, "/.well-known/jwks.json", None).await;
        assert_eq!(status, StatusCode::OK);
        let file = dir.join("published.json");
        std::fs::write(&file, jwks.to_string()).unwrap();
        assert_eq!(jwtck(&["verify", "--jwks", path_str(&file), &token]).code, 0);
        // An HS256 token is refused by both, for the same reason.
        let hs = sign(&["--secret", SECRET, "--sub", "alice"]);
        let (status, body) = get(&app, "/me", Some(&hs)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let run = jwtck(&["verify", "--json", "--key", path_str(&key), &hs]);
        assert_eq!(run.code, 1);
        let reason = run.json()["reason"].as_str().unwrap().to_owned();
        assert!(
            reason.starts_with(body["error_description"].as_str().unwrap()),
            "{reason} / {body}"
        );
    }
}
