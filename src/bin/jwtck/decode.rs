//! `jwtck decode`: the header and claims, NOT VERIFIED, with dates and review warnings.

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::{json, Map, Value};
use tower_jwt_auth::dangerous;

use crate::civil;
use crate::output::{pretty, Output};
use crate::{read_token, Fail};

/// Arguments of `jwtck decode`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The token, or `-` to read it from standard input (keeps it out of shell history).
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

/// The label on everything `decode` shows.
const NOT_VERIFIED: &str = "NOT VERIFIED: decoded without checking the signature; anyone can write these \
                            claims. Use `jwtck verify` to check them.";

/// Access tokens living longer than this get a warning.
const LONG_LIVED: i64 = 3600;

/// Decodes without validating anything: what a reviewer sees.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Value,
    pub(crate) warnings: Vec<String>,
}

/// base64url decoding that forgives what the verifier refuses (padding, the standard alphabet,
/// stray trailing bits), so that such tokens can still be shown, with a warning.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The canonical encoding: base64url without padding.
const CANONICAL: GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn lenient_decode(segment: &str) -> Option<Vec<u8>> {
    let mapped: String = segment
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    LENIENT.decode(mapped).ok()
}

/// Why a token cannot be decoded at all.
#[derive(Debug)]
pub(crate) struct Undecodable(String);

impl fmt::Display for Undecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes a compact token leniently and lists what a reviewer would object to.
pub(crate) fn decode(token: &str, now: i64) -> Result<Decoded, Undecodable> {
    let segments: Vec<&str> = token.split('.').collect();
    match segments.len() {
        3 => {}
        5 => {
            return Err(Undecodable(
                "this is a JWE (five segments): its claims are encrypted and cannot be shown".into(),
            ))
        }
        n => {
            return Err(Undecodable(format!(
                "a compact JWT has three dot-separated segments, this has {n}"
            )))
        }
    }
    let mut warnings = Vec::new();
    let names = ["header", "payload", "signature"];
    let mut decoded = Vec::with_capacity(3);
    for (segment, name) in segments.iter().zip(names) {
        let bytes = lenient_decode(segment)
            .ok_or_else(|| Undecodable(format!("the {name} segment is not base64url")))?;
        if CANONICAL.encode(&bytes) != *segment {
            warnings.push(format!(
                "non-canonical encoding of the {name} segment (padding, `+`/`/`, whitespace or \
                 stray bits): re-encoded it differs, and the verifier refuses the token as malformed"
            ));
        }
        decoded.push(bytes);
    }
    let (header_bytes, payload_bytes, signature) = (&decoded[0], &decoded[1], &decoded[2]);
    let header: Map<String, Value> = serde_json::from_slice(header_bytes)
        .map_err(|_| Undecodable("the header is not a JSON object".into()))?;
    let claims: Value = serde_json::from_slice(payload_bytes).map_err(|_| {
        Undecodable("the payload is not JSON (not a JWT; perhaps a JWS of other content)".into())
    })?;
    for (bytes, name) in [(header_bytes, "header"), (payload_bytes, "claims")] {
        for dup in duplicate_names(bytes) {
            warnings.push(format!(
                "duplicate member {dup:?} in the {name}: parsers disagree on which one counts; \
                 the verifier refuses the token"
            ));
        }
    }
    // The library's own unverified decoder: if it refuses what was decoded above, say so.
    if let Err(e) = dangerous::decode_header_unverified(token)
        .and_then(|_| dangerous::decode_claims_unverified::<Value>(token))
    {
        if warnings.is_empty() {
            warnings.push(format!(
                "the verifier refuses this token before any key is tried: {e}"
            ));
        }
    }
    header_warnings(&header, signature, &mut warnings);
    claim_warnings(&claims, now, &mut warnings);
    Ok(Decoded {
        header,
        claims,
        warnings,
    })
}

fn header_warnings(header: &Map<String, Value>, signature: &[u8], warnings: &mut Vec<String>) {
    match header.get("alg") {
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => warnings.push(
            "alg none: an unsecured token that anyone can forge; never accept it (the verifier refuses it)"
                .into(),
        ),
        Some(Value::String(alg)) if alg.parse::<tower_jwt_auth::Algorithm>().is_err() => warnings.push(
            format!("alg {alg:?} is not a JWS algorithm the verifier supports"),
        ),
        Some(Value::String(_)) => {}
        _ => warnings.push("no alg string in the header: the verifier refuses the token".into()),
    }
    if signature.is_empty() {
        warnings.push("empty signature: the token is unsigned".into());
    }
    if header.contains_key("crit") {
        warnings
            .push("crit header: the token demands extensions be understood; the verifier refuses it".into());
    }
    if header.get("b64") == Some(&Value::Bool(false)) {
        warnings.push("b64: false (unencoded payload): the verifier refuses it".into());
    }
    for (name, what) in [
        ("jku", "a URL to fetch keys from"),
        ("x5u", "a URL to fetch a certificate from"),
        ("jwk", "an embedded public key"),
        ("x5c", "an embedded certificate chain"),
    ] {
        if header.contains_key(name) {
            warnings.push(format!(
                "header {name}: {what}, chosen by whoever wrote the token; a verifier must never \
                 trust it to find the key (this one ignores it)"
            ));
        }
    }
    if let Some(typ) = header.get("typ") {
        let ok = typ.as_str().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            let t = t.strip_prefix("application/").unwrap_or(&t);
            t == "jwt" || t == "at+jwt"
        });
        if !ok {
            warnings.push(format!(
                "typ {typ}: not JWT or at+jwt, so not an access token; the verifier refuses it"
            ));
        }
    }
    if let Some(Value::String(kid)) = header.get("kid") {
        if kid.contains('/') || kid.contains('\\') || kid.contains("..") || kid.contains('\'') {
            warnings.push(format!(
                "kid {kid:?} looks like a path, URL or query: a kid must only ever be compared"
            ));
        }
    }
}

fn claim_warnings(claims: &Value, now: i64, warnings: &mut Vec<String>) {
    let Some(map) = claims.as_object() else {
        warnings.push("the claims are not a JSON object: the verifier refuses the token".into());
        return;
    };
    let exp = numeric_date(map, "exp", warnings);
    let iat = numeric_date(map, "iat", warnings);
    numeric_date(map, "nbf", warnings);
    match (exp, iat) {
        (None, _) if !map.contains_key("exp") => {
            warnings.push("no exp: the token never expires (the verifier refuses it by default)".into())
        }
        (Some(exp), Some(iat)) if exp < iat => warnings.push(format!(
            "exp is {} before iat: the token expired before it was issued (a clock or unit mistake?)",
            civil::span(iat - exp)
        )),
        (Some(exp), Some(iat)) if exp - iat > LONG_LIVED => warnings.push(format!(
            "long-lived: {} between iat and exp; an access token should live an hour or less",
            civil::span(exp - iat)
        )),
        (Some(exp), None) if exp - now > LONG_LIVED => warnings.push(format!(
            "long-lived: still valid for {}; an access token should live an hour or less",
            civil::span(exp - now)
        )),
        _ => {}
    }
    if let Some(Value::String(alg)) = map.get("alg") {
        warnings.push(format!("claim alg {alg:?}: algorithms belong in the header"));
    }
    sensitive(claims, "", warnings);
}

/// A NumericDate claim as whole seconds; a warning when it is not a number.
pub(crate) fn numeric_date(map: &Map<String, Value>, name: &str, warnings: &mut Vec<String>) -> Option<i64> {
    let value = map.get(name)?;
    match value
        .as_i64()
        .or_else(|| value.as_f64().map(|f| f.floor() as i64))
    {
        Some(secs) => Some(secs),
        None => {
            warnings.push(format!(
                "{name} is {value}, not a NumericDate (a number of seconds): the verifier refuses it"
            ));
            None
        }
    }
}

/// Claims whose names or values look like secrets, recursively.
fn sensitive(value: &Value, path: &str, warnings: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map {
                let here = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                if secret_name(name) {
                    warnings.push(format!(
                        "claim {here:?} looks like a secret: tokens are only base64url, readable by anyone \
                         who holds them (and by logs)"
                    ));
                }
                sensitive(inner, &here, warnings);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                sensitive(inner, &format!("{path}[{i}]"), warnings);
            }
        }
        Value::String(s) if card_number(s) => warnings.push(format!(
            "claim {path:?} holds what looks like a payment card number (passes the Luhn check)"
        )),
        Value::Number(n) if card_number(&n.to_string()) => warnings.push(format!(
            "claim {path:?} holds what looks like a payment card number (passes the Luhn check)"
        )),
        _ => {}
    }
}

fn secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "ssn",
        "social_security",
        "private_key",
        "privatekey",
        "api_key",
        "apikey",
        "card_number",
        "cardnumber",
        "cvv",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// 13 to 19 digits (spaces and dashes allowed between them) that pass the Luhn check.
fn card_number(s: &str) -> bool {
    if !s.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') {
        return false;
    }
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Top-level member names that occur more than once in a JSON object.
fn duplicate_names(json: &[u8]) -> Vec<String> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut seen: Vec<String> = Vec::new();
            let mut dups = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if seen.contains(&name) {
                    if !dups.contains(&name) {
                        dups.push(name);
                    }
                } else {
                    seen.push(name);
                }
            }
            Ok(dups)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    de.deserialize_map(Names).unwrap_or_default()
}

/// The dates of the claims: (name, seconds, UTC, relative).
pub(crate) fn dates(claims: &Value, now: i64) -> Vec<(&'static str, i64, String, String)> {
    let Some(map) = claims.as_object() else {
        return Vec::new();
    };
    let mut ignored = Vec::new();
    ["iat", "nbf", "exp"]
        .into_iter()
        .filter_map(|name| {
            let secs = numeric_date(map, name, &mut ignored)?;
            Some((
                name,
                secs,
                civil::utc_or_raw(secs),
                civil::relative(name, secs, now),
            ))
        })
        .collect()
}

/// `exp - iat`, when both are numbers.
fn lifetime(claims: &Value) -> Option<i64> {
    let map = claims.as_object()?;
    let mut ignored = Vec::new();
    Some(numeric_date(map, "exp", &mut ignored)? - numeric_date(map, "iat", &mut ignored)?)
}

/// Runs `jwtck decode`.
pub(crate) fn run(args: Args, out: &Output) -> Result<(), Fail> {
    let token = read_token(args.token)?;
    let now = civil::now();
    let decoded = match decode(&token, now) {
        Ok(decoded) => decoded,
        Err(why) => {
            if out.json {
                out.print_json(&json!({ "verified": false, "error": why.to_string() }));
            } else {
                println!("{} {why}", out.red("cannot decode:"));
            }
            return Err(Fail::Refused);
        }
    };
    let dates = dates(&decoded.claims, now);
    let lifetime = lifetime(&decoded.claims);
    if out.json {
        let dates: Map<String, Value> = dates
            .iter()
            .map(|(name, secs, utc, relative)| {
                (
                    (*name).to_owned(),
                    json!({ "value": secs, "utc": utc, "relative": relative }),
                )
            })
            .collect();
        out.print_json(&json!({
            "verified": false,
            "notice": NOT_VERIFIED,
            "header": decoded.header,
            "claims": decoded.claims,
            "dates": dates,
            "lifetime_secs": lifetime,
            "warnings": decoded.warnings,
        }));
        return Ok(());
    }
    println!("{}", out.red(NOT_VERIFIED));
    println!();
    println!("{}", out.bold("Header"));
    println!("{}", pretty(&Value::Object(decoded.header)));
    println!();
    println!("{}", out.bold("Claims"));
    println!("{}", pretty(&decoded.claims));
    if !dates.is_empty() {
        println!();
        println!("{}", out.bold("Dates (UTC)"));
        for (name, secs, utc, relative) in &dates {
            println!("  {name}  {secs}  {utc}  {}", out.dim(relative));
        }
        if let Some(lifetime) = lifetime {
            let sign = if lifetime < 0 { "-" } else { "" };
            println!("  lifetime (exp - iat): {sign}{}", civil::span(lifetime));
        }
    }
    println!();
    if decoded.warnings.is_empty() {
        println!("{}", out.bold("No warnings"));
    } else {
        println!("{}", out.bold(&format!("Warnings ({})", decoded.warnings.len())));
        for warning in &decoded.warnings {
            println!("  {} {warning}", out.yellow("!"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_finds_test_card_numbers_only() {
        assert!(card_number("4111111111111111"));
        assert!(card_number("4111 1111 1111 1111"));
        assert!(!card_number("4111111111111112"));
        assert!(!card_number("1700000000"));
        assert!(!card_number("abc"));
    }

    #[test]
    fn duplicate_member_names_are_found() {
        assert_eq!(duplicate_names(br#"{"a":1,"b":2,"a":3}"#), vec!["a".to_owned()]);
        assert!(duplicate_names(br#"{"a":{"a":1}}"#).is_empty());
    }
}
