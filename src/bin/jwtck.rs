//! `jwtck`: decode, verify, sign JSON Web Tokens and generate keys, with the same verification
//! code as the `tower-jwt-auth` middleware (so its verdict is the server's).
//!
//! Install with `cargo install tower-jwt-auth --features cli`.
//!
//! Exit codes: 0 valid / done, 1 token refused or undecodable, 2 usage or configuration error,
//! 3 key source unavailable.

#[path = "jwtck/civil.rs"]
mod civil;
#[path = "jwtck/decode.rs"]
mod decode;
#[path = "jwtck/keygen.rs"]
mod keygen;
#[path = "jwtck/keys.rs"]
mod keys;
#[path = "jwtck/output.rs"]
mod output;
#[path = "jwtck/sign.rs"]
mod sign;
#[path = "jwtck/verify.rs"]
mod verify;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::Output;

/// Decode, verify and sign JSON Web Tokens with tower-jwt-auth's strict rules.
///
/// Exit codes: 0 valid / done, 1 token refused or undecodable, 2 usage or configuration error,
/// 3 key source unavailable. Tokens are read from an argument or, with `-`, from standard input
/// (which keeps them out of shell history); they are never sent anywhere.
#[derive(Debug, Parser)]
#[command(name = "jwtck", version, max_term_width = 100)]
struct Cli {
    /// Machine-readable JSON on standard output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a token's header and claims (NOT VERIFIED), its dates in UTC, and what a reviewer
    /// would object to.
    #[command(visible_alias = "inspect")]
    Decode(decode::Args),
    /// Verify a token exactly as the middleware does and say why it is refused.
    Verify(verify::Args),
    /// Sign claims into a token (printed alone on standard output).
    Sign(sign::Args),
    /// Generate an HMAC secret or a key pair (PKCS#8 PEM), and optionally its public JWK Set.
    Keygen(keygen::Args),
}

/// How a command failed; the exit code follows.
#[derive(Debug)]
pub(crate) enum Fail {
    /// A usage or configuration error (exit 2); the message is printed by `main`.
    Usage(String),
    /// The token was refused or could not be decoded (exit 1); the verdict is already printed.
    Refused,
    /// The key source could not be reached (exit 3); the verdict is already printed.
    Unavailable,
}

impl Fail {
    /// A usage or configuration error.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(cli.json);
    let result = match cli.command {
        Command::Decode(args) => decode::run(args, &out),
        Command::Verify(args) => verify::run(args, &out),
        Command::Sign(args) => sign::run(&args, &out),
        Command::Keygen(args) => keygen::run(&args, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Refused) => ExitCode::from(1),
        Err(Fail::Unavailable) => ExitCode::from(3),
        Err(Fail::Usage(message)) => {
            eprintln!("jwtck: error: {message}");
            if out.json {
                out.print_json(&serde_json::json!({ "error": message }));
            }
            ExitCode::from(2)
        }
    }
}

/// Reads the token from the argument, or from standard input when it is `-` or absent (and
/// standard input is not a terminal). Surrounding whitespace and a `Bearer ` prefix (as copied
/// from an `Authorization` header) are removed.
pub(crate) fn read_token(arg: Option<String>) -> Result<String, Fail> {
    let raw = match arg.as_deref() {
        Some("-") => read_stdin("the token")?,
        Some(_) => arg.unwrap_or_default(),
        None if std::io::stdin().is_terminal() => {
            return Err(Fail::usage(
                "no token: pass it as an argument, or `-` to read it from standard input",
            ))
        }
        None => read_stdin("the token")?,
    };
    let mut token = raw.trim();
    if token.len() > 7 && token.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("bearer ")) {
        token = token.get(7..).unwrap_or_default().trim_start();
    }
    if token.is_empty() {
        return Err(Fail::usage("the token is empty"));
    }
    Ok(token.to_owned())
}

/// Reads all of standard input as UTF-8.
pub(crate) fn read_stdin(what: &str) -> Result<String, Fail> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Fail::usage(format!("cannot read {what} from standard input: {e}")))?;
    Ok(text)
}
