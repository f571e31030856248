//! The README's quick start is `examples/quickstart.rs`, byte for byte, and it works: this test
//! checks the two are equal, then runs the example's binary (built by `cargo test` with the
//! other examples) on a free loopback port and drives it over HTTP: 401 with a challenge, 200,
//! 403, and 404 for an unknown path.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tower_jwt_auth::{NumericDate, SigningKey};

const SECRET: &str = "a-quick-start-secret-of-32-bytes-or-more";

fn manifest_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_readme_quick_start_is_examples_quickstart_rs() {
    let readme = manifest_file("README.md");
    let section = readme
        .split("## Quick start (axum)")
        .nth(1)
        .expect("the README has a quick start section");
    let code = section
        .split("```rust,no_run\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the quick start has a rust block");
    assert_eq!(code, manifest_file("examples/quickstart.rs"));
}

/// The example binary beside this test's: `target/<profile>/examples/quickstart`.
fn quickstart_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let binary = profile_dir
        .join("examples")
        .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds the examples (run the whole suite, not only this test)",
        binary.display()
    );
    binary
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One HTTP/1.1 request; the status and the raw head and body.
fn get(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    (status, response)
}

#[test]
fn the_quick_start_answers_401_200_403_and_404() {
    let port = free_port();
    let child = Command::new(quickstart_binary())
        .env("JWT_SECRET", SECRET)
        .env("BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the quick start starts");
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            let mut err = String::new();
            if let Some(stderr) = server.0.stderr.take() {
                let _ = BufReader::new(stderr).read_line(&mut err);
            }
            panic!("the quick start exited with {status}: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "the quick start did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let signing = SigningKey::hs256(SECRET).expect("a long secret");
    let token = |role: &str| {
        let claims = serde_json::json!({
            "sub": "alice",
            "role": role,
            "iss": "https://auth.example.com",
            "aud": "my-api",
            "exp": NumericDate::now().as_secs() + 300,
        });
        signing.sign(&claims).expect("claims sign")
    };

    let (status, response) = get(port, "/me", None);
    assert_eq!(status, 401, "{response}");
    assert!(
        response.to_ascii_lowercase().contains("www-authenticate: bearer"),
        "{response}"
    );
    let (status, response) = get(port, "/me", Some(&token("user")));
    assert_eq!(status, 200, "{response}");
    assert!(response.ends_with("hello alice"), "{response}");
    let (status, response) = get(port, "/admin", Some(&token("user")));
    assert_eq!(status, 403, "{response}");
    assert!(response.contains("insufficient_scope"), "{response}");
    let (status, response) = get(port, "/admin", Some(&token("admin")));
    assert_eq!(status, 200, "{response}");
    let forged = SigningKey::hs256("another-secret-of-thirty-two-bytes-or-more")
        .expect("a long secret")
        .sign(&serde_json::json!({"sub": "alice", "role": "admin", "exp": 4_000_000_000u64}))
        .expect("a forged token");
    assert_eq!(get(port, "/admin", Some(&forged)).0, 401);
    assert_eq!(get(port, "/nowhere", None).0, 404);
}
