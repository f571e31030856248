//! Project Wycheproof JWS and JWK test vectors (C2SP/wycheproof, `testvectors_v1`; see
//! `tests/vectors/wycheproof/README.md` for the pinned commit and checksums).
//!
//! `json_web_signature_test.json`: every group's key is read with [`VerifyingKey::from_jwk`] (the
//! group's `public` JWK, else its `private` one, of which only the public half is used). With the
//! `aws-lc` feature every group runs; without it, the groups of public keys (EC, RSA) are skipped
//! and counted, so that the totals prove no case was silently lost. A key that the crate refuses
//! to build makes every case of its group a refusal. Where the crate's strict behaviour knowingly
//! departs from a label, the case is listed in [`DISAGREEMENTS`] with its reason, and the test
//! asserts the crate's actual outcome for it instead of skipping it. Any other disagreement fails
//! the test.
//!
//! `json_web_key_test.json`: sets of `oct` keys only are configured the way an application
//! configures its own secrets (a [`KeyRing`] of HMAC keys); with the `aws-lc` feature, every other
//! set is read with [`KeySet::from_set`], the resolver for published key sets, and the key is
//! chosen by that resolver. Every case must match its label.

use std::collections::BTreeMap;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
#[cfg(feature = "aws-lc")]
use tower_jwt_auth::key::{KeyQuery, Resolution};
use tower_jwt_auth::{
    dangerous, Algorithm, AuthError, AuthErrorKind, ConfigError, KeyRing, Validation, VerifyingKey,
};
#[cfg(feature = "aws-lc")]
use tower_jwt_auth::{KeyResolver, KeySet};

const JWS_VECTORS: &str = include_str!("vectors/wycheproof/json_web_signature_test.json");
const JWK_VECTORS: &str = include_str!("vectors/wycheproof/json_web_key_test.json");

/// The number of HS256 cases in `json_web_signature_test.json` at the pinned commit: groups 0
/// (`hs256`, 17), 12 and 16 (`rfc7520`, 1 each) and 21 (`base64`, 21).
const HS256_CASES: usize = 40;

/// A case where this crate deliberately answers differently from the Wycheproof label.
struct Disagreement {
    tc_id: u32,
    /// What the crate does.
    crate_does: CrateOutcome,
    /// When the disagreement comes from a mislabelled duplicate: the case it is identical to.
    identical_to: Option<u32>,
    /// Whether the case's key is a public key, whose group runs only with the `aws-lc` feature.
    needs_aws_lc: bool,
    reason: &'static str,
}

/// The crate's outcome for an allow-listed case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrateOutcome {
    Accepts,
    Refuses(AuthErrorKind),
    /// The group's key is refused when it is built, so no token can be verified with it.
    RefusesTheKey,
}

/// Known disagreements with the labels, each asserted as the crate's actual strict outcome.
const DISAGREEMENTS: &[Disagreement] = &[
    Disagreement {
        tc_id: 346,
        crate_does: CrateOutcome::Refuses(AuthErrorKind::AlgorithmMismatch),
        identical_to: None,
        needs_aws_lc: true,
        reason: "RFC 7520 figure 20: a PS384 token, labelled valid for a JWK whose alg is PS256; \
                 algorithms are bound to keys, so the crate refuses the token's alg (AlgorithmMismatch). \
                 The same key rebound to PS384 verifies it (see \
                 the_rfc_7520_ps384_token_verifies_with_the_key_bound_to_ps384)",
    },
    Disagreement {
        tc_id: 347,
        crate_does: CrateOutcome::RefusesTheKey,
        identical_to: None,
        needs_aws_lc: true,
        reason: "RFC 7520 figure 27: the JWK's alg is \"ES521\", which is not a JWA algorithm name \
                 (RFC 7518 section 3.1 says ES512); the crate refuses the key when it is built, so no \
                 token verifies with it. With alg ES512 the token verifies (see \
                 the_rfc_7520_es512_token_verifies_once_the_key_names_es512)",
    },
    Disagreement {
        tc_id: 350,
        crate_does: CrateOutcome::Refuses(AuthErrorKind::AlgorithmMismatch),
        identical_to: None,
        needs_aws_lc: true,
        reason: "the tc346 token with a key_ops [\"verify\"] key bound to PS256: refused as an \
                 AlgorithmMismatch, like tc346",
    },
    Disagreement {
        tc_id: 351,
        crate_does: CrateOutcome::RefusesTheKey,
        identical_to: None,
        needs_aws_lc: true,
        reason: "the tc347 token with a key_ops [\"verify\"] key whose alg is the non-JWA \"ES521\": \
                 the key is refused when it is built, like tc347",
    },
    Disagreement {
        tc_id: 367,
        crate_does: CrateOutcome::Accepts,
        identical_to: Some(357),
        needs_aws_lc: false,
        reason: "labelled invalid (invalidBase64Padding) but byte-identical to tc357, which is labelled \
                 valid; the crate must accept tc357, so it accepts this one too (C2SP/wycheproof issue #236)",
    },
    Disagreement {
        tc_id: 370,
        crate_does: CrateOutcome::Accepts,
        identical_to: Some(357),
        needs_aws_lc: false,
        reason: "labelled invalid (invalidBase64PaddingInPayload) but byte-identical to tc357, which is \
                 labelled valid (C2SP/wycheproof issue #236)",
    },
    Disagreement {
        tc_id: 372,
        crate_does: CrateOutcome::Refuses(AuthErrorKind::Malformed),
        identical_to: None,
        needs_aws_lc: false,
        reason: "labelled valid but has a `?` inside the header segment; RFC 7515 section 7.1 requires \
                 base64url, so the crate refuses it (Malformed)",
    },
    Disagreement {
        tc_id: 373,
        crate_does: CrateOutcome::Refuses(AuthErrorKind::Malformed),
        identical_to: None,
        needs_aws_lc: false,
        reason: "labelled valid but has a `?` inside the payload segment; RFC 7515 section 7.1 requires \
                 base64url, so the crate refuses it (Malformed)",
    },
];

fn disagreement(tc_id: u32) -> Option<&'static Disagreement> {
    DISAGREEMENTS.iter().find(|d| d.tc_id == tc_id)
}

/// The allow-listed cases that run in this build.
fn active_disagreements() -> Vec<u32> {
    DISAGREEMENTS
        .iter()
        .filter(|d| cfg!(feature = "aws-lc") || !d.needs_aws_lc)
        .map(|d| d.tc_id)
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VectorFile<G> {
    number_of_tests: usize,
    test_groups: Vec<G>,
}

/// A group of the JWS file; its keys are kept as JSON, read by the crate's own JWK reader.
#[derive(Deserialize)]
struct JwsGroup {
    comment: String,
    public: Option<Value>,
    private: Option<Value>,
    tests: Vec<Case>,
}

impl JwsGroup {
    /// The group's `public` JWK if it has one, else its `private` one.
    fn jwk(&self) -> &Value {
        self.public
            .as_ref()
            .or(self.private.as_ref())
            .expect("every JWS group has a key")
    }
}

#[derive(Deserialize)]
struct JwkGroup {
    comment: String,
    public: Option<Value>,
    private: Option<Value>,
    tests: Vec<Case>,
}

impl JwkGroup {
    /// The group's `public` key set if it has one, else its `private` one.
    fn key_set(&self) -> &Value {
        self.public
            .as_ref()
            .or(self.private.as_ref())
            .expect("every JWK group has a key set")
    }
}

/// The members of a JWK Set this harness reads itself (for sets of `oct` keys).
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    alg: Option<String>,
    kid: Option<String>,
    k: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    tc_id: u32,
    comment: String,
    jws: String,
    result: Expected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expected {
    Valid,
    Invalid,
    Acceptable,
}

impl Expected {
    fn admits(self, accepted: bool) -> bool {
        match self {
            Self::Valid => accepted,
            Self::Invalid => !accepted,
            Self::Acceptable => true,
        }
    }
}

/// Why a key could not be turned into a [`VerifyingKey`].
#[derive(Debug)]
enum KeyProblem {
    /// Not a key type this crate supports (EC, RSA, OKP...): the case is skipped.
    Unsupported(String),
    /// A supported key type that the crate refuses to configure: the case expects a refusal.
    Config(String),
}

/// Decodes a JWK `k`. Lenient about non-zero unused trailing bits: decoding `k` is this harness's
/// job, not the crate's (which takes raw secret bytes), and the second key of the
/// `jws_duplicate_kid` set ends in such a character (`...ingge`). Rejecting it here would refuse
/// that set for the wrong reason instead of letting [`KeyRing::new`] find the duplicate `kid`.
const JWK_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn build_key(jwk: &Jwk) -> Result<VerifyingKey, KeyProblem> {
    if jwk.kty != "oct" {
        return Err(KeyProblem::Unsupported(format!("{} key", jwk.kty)));
    }
    let alg_name = jwk.alg.as_deref().unwrap_or("<none>");
    let alg: Algorithm = alg_name
        .parse()
        .map_err(|_| KeyProblem::Config(format!("alg {alg_name} is not an HMAC algorithm")))?;
    let k = jwk
        .k
        .as_deref()
        .ok_or_else(|| KeyProblem::Config("no k".to_owned()))?;
    let secret = JWK_B64
        .decode(k)
        .map_err(|e| KeyProblem::Config(format!("k is not base64url: {e}")))?;
    let key = VerifyingKey::hmac(alg, secret).map_err(|e| KeyProblem::Config(config_error(&e)))?;
    match &jwk.kid {
        Some(kid) => key
            .with_kid(kid.as_str())
            .map_err(|e| KeyProblem::Config(config_error(&e))),
        None => Ok(key),
    }
}

fn config_error(e: &ConfigError) -> String {
    format!("{e:?}")
}

/// Builds the key of a JWS group with the crate's own JWK reader. Without the `aws-lc` feature,
/// public keys are not supported and their groups are skipped.
fn jws_key(jwk: &Value) -> Result<VerifyingKey, KeyProblem> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("<no kty>");
    if kty != "oct" && !cfg!(feature = "aws-lc") {
        return Err(KeyProblem::Unsupported(format!(
            "{kty} key: needs the aws-lc feature"
        )));
    }
    let jwk: tower_jwt_auth::Jwk =
        serde_json::from_value(jwk.clone()).map_err(|e| KeyProblem::Config(format!("not a JWK: {e}")))?;
    VerifyingKey::from_jwk(&jwk).map_err(|e| KeyProblem::Config(config_error(&e)))
}

/// What the crate did with one JWS case.
#[derive(Debug)]
enum CaseResult {
    Accepted(Vec<u8>),
    Refused(AuthErrorKind),
    /// The group's key could not be built.
    KeyRefused(String),
}

impl CaseResult {
    fn of(result: Result<Vec<u8>, AuthError>) -> Self {
        match result {
            Ok(payload) => Self::Accepted(payload),
            Err(e) => Self::Refused(e.kind()),
        }
    }

    fn accepted(&self) -> bool {
        matches!(self, Self::Accepted(_))
    }

    fn is(&self, outcome: CrateOutcome) -> bool {
        match (self, outcome) {
            (Self::Accepted(_), CrateOutcome::Accepts) => true,
            (Self::Refused(kind), CrateOutcome::Refuses(expected)) => *kind == expected,
            (Self::KeyRefused(_), CrateOutcome::RefusesTheKey) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for CaseResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Accepted(payload) => write!(f, "accepted, payload {:?}", String::from_utf8_lossy(payload)),
            Self::Refused(kind) => write!(f, "refused: {kind:?}"),
            Self::KeyRefused(why) => write!(f, "refused: the key was refused ({why})"),
        }
    }
}

/// What running the JWS vectors found.
struct JwsReport {
    number_of_tests: usize,
    groups: Vec<GroupRun>,
    ran: usize,
    skipped: usize,
    hs256_in_file: usize,
    hs256_ran: usize,
    /// Allow-listed disagreements actually observed (tcId).
    observed_disagreements: Vec<u32>,
    failures: Vec<String>,
}

/// One group of the JWS file: how many of its cases ran, how many were skipped and why.
struct GroupRun {
    index: usize,
    comment: String,
    alg: String,
    ran: usize,
    skipped: usize,
    why_skipped: Option<String>,
    /// Why the crate refused the group's key, if it did (its cases then all ran as refusals).
    key_refused: Option<String>,
}

impl GroupRun {
    fn print(&self) {
        let (index, comment, alg, ran, skipped) =
            (self.index, &self.comment, &self.alg, self.ran, self.skipped);
        let note = match (&self.why_skipped, &self.key_refused) {
            (Some(why), _) => format!(" ({why})"),
            (None, Some(why)) => format!(" (key refused: {why})"),
            (None, None) => String::new(),
        };
        println!("group {index} ({comment}, {alg}): ran {ran}, skipped {skipped}{note}");
    }
}

fn run_jws_vectors() -> JwsReport {
    let file: VectorFile<JwsGroup> = serde_json::from_str(JWS_VECTORS).expect("JWS vectors parse");
    let validation = Validation::new();
    let by_id: BTreeMap<u32, &str> = file
        .test_groups
        .iter()
        .flat_map(|g| g.tests.iter().map(|c| (c.tc_id, c.jws.as_str())))
        .collect();
    let mut report = JwsReport {
        number_of_tests: file.number_of_tests,
        groups: Vec::new(),
        ran: 0,
        skipped: 0,
        hs256_in_file: 0,
        hs256_ran: 0,
        observed_disagreements: Vec::new(),
        failures: Vec::new(),
    };
    for (index, group) in file.test_groups.iter().enumerate() {
        let jwk = group.jwk();
        let alg = jwk.get("alg").and_then(Value::as_str).unwrap_or("-").to_owned();
        let n = group.tests.len();
        if alg == "HS256" {
            report.hs256_in_file += n;
        }
        let key = match jws_key(jwk) {
            Ok(key) => Ok(key),
            Err(KeyProblem::Unsupported(why)) => {
                report.skipped += n;
                report.groups.push(GroupRun {
                    index,
                    comment: group.comment.clone(),
                    alg,
                    ran: 0,
                    skipped: n,
                    why_skipped: Some(why),
                    key_refused: None,
                });
                continue;
            }
            Err(KeyProblem::Config(why)) => Err(why),
        };
        for case in &group.tests {
            let result = match &key {
                Ok(key) => CaseResult::of(validation.verify_jws(&case.jws, key)),
                Err(why) => CaseResult::KeyRefused(why.clone()),
            };
            match disagreement(case.tc_id) {
                Some(d) => {
                    if !result.is(d.crate_does) {
                        report.failures.push(format!(
                            "tc{} ({}): allow-listed as {:?} by the crate, but {result}",
                            case.tc_id, case.comment, d.crate_does
                        ));
                    } else if case.result.admits(result.accepted()) {
                        report.failures.push(format!(
                            "tc{} ({}): allow-listed, but the crate now agrees with the label {:?}",
                            case.tc_id, case.comment, case.result
                        ));
                    } else {
                        report.observed_disagreements.push(case.tc_id);
                    }
                    if let Some(twin) = d.identical_to {
                        if by_id.get(&twin) != Some(&case.jws.as_str()) {
                            report.failures.push(format!(
                                "tc{} is allow-listed as identical to tc{twin}, but it is not",
                                case.tc_id
                            ));
                        }
                    }
                }
                None => {
                    // A key the crate refuses to build must be one whose cases are all invalid.
                    if !case.result.admits(result.accepted()) {
                        report.failures.push(format!(
                            "tc{} ({}): expected {:?}, {result}",
                            case.tc_id, case.comment, case.result
                        ));
                    }
                }
            }
        }
        report.ran += n;
        if alg == "HS256" {
            report.hs256_ran += n;
        }
        report.groups.push(GroupRun {
            index,
            comment: group.comment.clone(),
            alg,
            ran: n,
            skipped: 0,
            why_skipped: None,
            key_refused: key.err(),
        });
    }
    report
}

fn print_jws_report(report: &JwsReport) {
    for g in &report.groups {
        g.print();
    }
    println!(
        "total: ran {}, skipped {}, of {} (HS256: ran {} of {}; allow-listed disagreements observed: {:?})",
        report.ran,
        report.skipped,
        report.number_of_tests,
        report.hs256_ran,
        report.hs256_in_file,
        report.observed_disagreements
    );
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with the Wycheproof labels:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_hs256_case_runs_and_matches_its_expected_result() {
    let report = run_jws_vectors();
    print_jws_report(&report);
    assert_no_failures(&report.failures);
    assert_eq!(report.hs256_in_file, HS256_CASES, "the vector file changed");
    assert_eq!(report.hs256_ran, HS256_CASES, "some HS256 case was skipped");
    let base64 = report
        .groups
        .iter()
        .find(|g| g.comment == "base64")
        .expect("the base64 group");
    assert_eq!((base64.ran, base64.skipped), (21, 0));
}

#[cfg(feature = "aws-lc")]
#[test]
fn with_the_aws_lc_feature_every_jws_group_runs_and_every_case_matches_its_label() {
    let report = run_jws_vectors();
    print_jws_report(&report);
    assert_no_failures(&report.failures);
    for g in &report.groups {
        assert_eq!(
            (g.skipped, &g.why_skipped),
            (0, &None),
            "group {} ({}) was skipped",
            g.index,
            g.comment
        );
    }
    assert_eq!(report.groups.len(), 23);
    assert_eq!((report.ran, report.skipped), (401, 0));
    // The keys the crate refuses to build: the two misspelt ES521 keys (allow-listed) and the
    // four keys meant for encryption (`use: enc`, `key_ops: [encrypt]`), whose cases are invalid.
    let refused: Vec<(usize, &str)> = report
        .groups
        .iter()
        .filter_map(|g| g.key_refused.as_deref().map(|why| (g.index, why)))
        .collect();
    assert_eq!(
        refused,
        [
            (11, r#"InvalidKey("alg is not a supported JWS algorithm")"#),
            (15, r#"InvalidKey("alg is not a supported JWS algorithm")"#),
            (17, r#"InvalidKey("use is not sig")"#),
            (18, r#"InvalidKey("use is not sig")"#),
            (19, r#"InvalidKey("key_ops does not allow verify")"#),
            (20, r#"InvalidKey("key_ops does not allow verify")"#),
        ]
    );
}

#[cfg(not(feature = "aws-lc"))]
#[test]
fn without_the_aws_lc_feature_the_public_key_groups_are_skipped_and_counted() {
    let report = run_jws_vectors();
    print_jws_report(&report);
    assert_no_failures(&report.failures);
    assert_eq!((report.ran, report.skipped), (HS256_CASES, 401 - HS256_CASES));
    for g in &report.groups {
        let is_oct = g.alg == "HS256";
        assert_eq!(
            g.why_skipped.is_none(),
            is_oct,
            "group {} ({})",
            g.index,
            g.comment
        );
    }
}

#[test]
fn every_jws_case_is_either_run_or_skipped() {
    let report = run_jws_vectors();
    assert_eq!(report.ran + report.skipped, report.number_of_tests);
    assert_eq!(report.number_of_tests, 401);
    let per_group: usize = report.groups.iter().map(|g| g.ran + g.skipped).sum();
    assert_eq!(per_group, report.number_of_tests);
}

#[test]
fn every_allow_listed_disagreement_is_observed_with_the_strict_outcome() {
    let report = run_jws_vectors();
    assert_eq!(
        report.observed_disagreements,
        active_disagreements(),
        "{:?}",
        report.failures
    );
    for d in DISAGREEMENTS {
        assert!(!d.reason.is_empty());
    }
}

/// The token of JWS case `tc_id` and the JWK of its group.
fn jws_case_jwk(tc_id: u32) -> (String, Value) {
    let file: VectorFile<JwsGroup> = serde_json::from_str(JWS_VECTORS).expect("JWS vectors parse");
    for group in file.test_groups {
        let jwk = group.jwk().clone();
        if let Some(case) = group.tests.into_iter().find(|c| c.tc_id == tc_id) {
            return (case.jws, jwk);
        }
    }
    panic!("no tc{tc_id}")
}

/// The token of JWS case `tc_id` and the key of its group (which must be supported).
fn jws_case(tc_id: u32) -> (String, VerifyingKey) {
    let (jws, jwk) = jws_case_jwk(tc_id);
    let key = jws_key(&jwk).unwrap_or_else(|e| panic!("tc{tc_id}: {e:?}"));
    (jws, key)
}

#[test]
fn refusals_of_selected_cases_name_the_right_reason() {
    use tower_jwt_auth::AuthErrorKind::{InvalidSignature, Malformed, UnknownKey};
    let expected = [
        (2, InvalidSignature),
        (5, InvalidSignature),
        // An empty payload segment is well formed (RFC 7515 allows it); the MAC covers "Zm9v".
        (6, InvalidSignature),
        // The modified header names another kid, which a static key with a kid refuses.
        (8, UnknownKey),
        // JSON serialization is refused on its alphabet, before any decoding.
        (17, Malformed),
        // The allow-listed strict refusals: `?` inside a segment.
        (372, Malformed),
        (373, Malformed),
        // A non-canonical payload ("AB") whose MAC is over the canonical one: the signature check
        // comes first and fails.
        (374, InvalidSignature),
        // A non-canonical payload with a correct MAC over it: refused when the payload is decoded.
        (375, Malformed),
    ];
    let validation = Validation::new();
    for (tc_id, kind) in expected {
        let (jws, key) = jws_case(tc_id);
        let err = validation
            .verify_jws(&jws, &key)
            .expect_err("an invalid case is refused");
        assert_eq!(err.kind(), kind, "tc{tc_id}");
    }
}

#[cfg(feature = "aws-lc")]
#[test]
fn refusals_of_selected_public_key_cases_name_the_right_reason() {
    use tower_jwt_auth::AuthErrorKind::{AlgorithmMismatch, InvalidSignature, Malformed, UnknownKey};
    let expected = [
        (19, InvalidSignature),
        // The modified header names another kid, which a static key with a kid refuses.
        (25, UnknownKey),
        // An HS256 token whose MAC is keyed with the EC public key: HS256 is not the key's alg.
        (31, AlgorithmMismatch),
        // A key embedded in the header (`jwk`) is never used: the token is checked with the
        // configured key, and its signature does not verify.
        (32, InvalidSignature),
        (34, InvalidSignature),
        // A DER-encoded RSA signature with a long-form length.
        (46, InvalidSignature),
        // PS512 key. A PKCS#1 v1.5 signature under a PS512 header fails as a signature; the same
        // signature under its own RS256 header is refused before any signature check.
        (331, InvalidSignature),
        (332, AlgorithmMismatch),
        (337, InvalidSignature),
        // `alg: none` with an empty signature: refused on its shape, before the header is read.
        (341, Malformed),
        (343, Malformed),
        // The allow-listed RFC 7520 PS384 token on a PS256 key.
        (346, AlgorithmMismatch),
        (350, AlgorithmMismatch),
        // ECDSA special cases: signatures of the wrong length, r or s out of range.
        (379, InvalidSignature),
        (380, InvalidSignature),
        (386, InvalidSignature),
        (401, InvalidSignature),
        // Wrong shapes are refused before any key is involved.
        (20, Malformed),
        (21, Malformed),
    ];
    let validation = Validation::new();
    for (tc_id, kind) in expected {
        let (jws, key) = jws_case(tc_id);
        let err = validation
            .verify_jws(&jws, &key)
            .expect_err("an invalid case is refused");
        assert_eq!(err.kind(), kind, "tc{tc_id}: {jws}");
    }
}

#[cfg(feature = "aws-lc")]
#[test]
fn the_rfc_7520_ps384_token_verifies_with_the_key_bound_to_ps384() {
    for tc_id in [346, 350] {
        let (jws, key) = jws_case(tc_id);
        assert_eq!(key.algorithm(), Algorithm::PS256);
        let err = Validation::new().verify_jws(&jws, &key).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch, "tc{tc_id}");
        let rebound = key
            .with_algorithm(Algorithm::PS384)
            .expect("an RSA key fits PS384");
        let payload = Validation::new()
            .verify_jws(&jws, &rebound)
            .expect("a valid PS384 signature");
        assert!(
            payload.starts_with("It\u{2019}s a dangerous business, Frodo".as_bytes()),
            "tc{tc_id}"
        );
    }
}

#[cfg(feature = "aws-lc")]
#[test]
fn the_rfc_7520_es512_token_verifies_once_the_key_names_es512() {
    for tc_id in [347, 351] {
        let (jws, mut jwk) = jws_case_jwk(tc_id);
        assert_eq!(jwk["alg"], "ES521");
        let refused = jws_key(&jwk).unwrap_err();
        let refused_for_its_alg = matches!(&refused, KeyProblem::Config(why) if why.contains("alg is not a supported JWS algorithm"));
        assert!(refused_for_its_alg, "tc{tc_id}: {refused:?}");
        jwk["alg"] = Value::from("ES512");
        let key = jws_key(&jwk).expect("a P-521 key for ES512");
        let payload = Validation::new()
            .verify_jws(&jws, &key)
            .expect("a valid ES512 signature");
        assert!(
            payload.starts_with("It\u{2019}s a dangerous business, Frodo".as_bytes()),
            "tc{tc_id}"
        );
    }
}

/// What running the JWK (key set) vectors found.
struct JwkReport {
    number_of_tests: usize,
    ran: usize,
    skipped: usize,
    lines: Vec<String>,
    /// Per run case: tcId and what the crate did.
    outcomes: BTreeMap<u32, String>,
    failures: Vec<String>,
}

/// Builds a set of `oct` keys the way an application configures its own secrets in a
/// [`KeyRing`]: every key must be a valid HMAC key with a distinct `kid`. Returns the keys, or why
/// the set is refused; `Err` when the set holds a key that is not `oct`.
fn build_key_set(set: &JwkSet) -> Result<Result<Vec<VerifyingKey>, String>, String> {
    let mut keys = Vec::new();
    for jwk in &set.keys {
        match build_key(jwk) {
            Ok(key) => keys.push(key),
            Err(KeyProblem::Unsupported(why)) => return Err(why),
            Err(KeyProblem::Config(why)) => return Ok(Err(why)),
        }
    }
    // The ring is built for its configuration checks (distinct kids, every key named).
    if let Err(e) = KeyRing::new(keys.iter().cloned()) {
        return Ok(Err(config_error(&e)));
    }
    Ok(Ok(keys))
}

/// Verifies like a key ring, at the JWS layer (the payloads are not JWT claims): the key is the
/// one whose `kid` equals the token's, and that static key refuses any other `kid` itself.
fn verify_with_set(token: &str, keys: &[VerifyingKey]) -> Result<Vec<u8>, String> {
    let header = dangerous::decode_header_unverified(token).map_err(|e| format!("{:?}", e.kind()))?;
    let kid = header.get("kid").and_then(|v| v.as_str());
    let key = keys
        .iter()
        .find(|k| k.kid().is_some() && k.kid() == kid)
        .ok_or_else(|| "no key with the token's kid".to_owned())?;
    Validation::new()
        .verify_jws(token, key)
        .map_err(|e| format!("{:?}", e.kind()))
}

/// The key [`KeySet`]'s documented policy picks from [`KeySet::keys`]: with a `kid`, the key with
/// that `kid` and the token's `alg`; without one, the only key of the token's `alg`.
#[cfg(feature = "aws-lc")]
fn key_by_policy<'s>(set: &'s KeySet, alg: Algorithm, kid: Option<&str>) -> Option<&'s VerifyingKey> {
    match kid {
        Some(kid) => set.keys().find(|k| k.kid() == Some(kid) && k.algorithm() == alg),
        None => {
            let mut of_alg = set.keys().filter(|k| k.algorithm() == alg);
            match (of_alg.next(), of_alg.next()) {
                (Some(key), None) => Some(key),
                _ => None,
            }
        }
    }
}

/// Verifies at the JWS layer (the payloads are `foo`, not JWT claims) with the key the [`KeySet`]
/// resolver chooses for the token's `alg` and `kid`; the choice is checked against the documented
/// policy applied to [`KeySet::keys`].
#[cfg(feature = "aws-lc")]
fn verify_with_key_set(token: &str, set: &KeySet) -> Result<Vec<u8>, String> {
    let header = dangerous::decode_header_unverified(token).map_err(|e| format!("{:?}", e.kind()))?;
    let alg: Algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(|alg| alg.parse().ok())
        .ok_or_else(|| format!("{:?}", AuthErrorKind::UnsupportedAlgorithm))?;
    let kid = header.get("kid").and_then(Value::as_str);
    let resolved = match set.resolve(&KeyQuery::new(alg, kid)) {
        Resolution::Ready(resolved) => resolved,
        Resolution::Pending(never) => match never {},
    };
    let by_policy = key_by_policy(set, alg, kid);
    match (&resolved, by_policy) {
        (Ok(key), Some(expected)) => assert!(std::ptr::eq(&**key, expected), "{token}"),
        (Err(_), None) => {}
        _ => panic!("the resolver and the documented policy disagree on {token}"),
    }
    let key = resolved.map_err(|e| format!("{:?}", AuthErrorKind::from(e)))?;
    Validation::new()
        .verify_jws(token, &key)
        .map_err(|e| format!("{:?}", e.kind()))
}

fn run_jwk_vectors() -> JwkReport {
    let file: VectorFile<JwkGroup> = serde_json::from_str(JWK_VECTORS).expect("JWK vectors parse");
    let mut report = JwkReport {
        number_of_tests: file.number_of_tests,
        ran: 0,
        skipped: 0,
        lines: Vec::new(),
        outcomes: BTreeMap::new(),
        failures: Vec::new(),
    };
    for (index, group) in file.test_groups.iter().enumerate() {
        let set_json = group.key_set();
        let set: JwkSet = serde_json::from_value(set_json.clone()).expect("a JWK Set");
        let n = group.tests.len();
        let verdicts: Vec<Result<Vec<u8>, String>> = match build_key_set(&set) {
            Ok(keys) => {
                report.lines.push(format!(
                    "group {index} ({}): ran {n}, skipped 0 (oct keys, configured as a key ring)",
                    group.comment
                ));
                group
                    .tests
                    .iter()
                    .map(|case| match &keys {
                        Ok(keys) => verify_with_set(&case.jws, keys).map_err(|e| format!("refused: {e}")),
                        Err(why) => Err(format!("refused at configuration: {why}")),
                    })
                    .collect()
            }
            #[cfg(feature = "aws-lc")]
            Err(_) => {
                let set: tower_jwt_auth::JwkSet =
                    serde_json::from_value(set_json.clone()).expect("a JWK Set for the crate");
                let key_set = KeySet::from_set(&set);
                let skipped: Vec<String> = key_set
                    .skipped()
                    .iter()
                    .map(|s| format!("{}: {}", s.kid.as_deref().unwrap_or("-"), s.reason))
                    .collect();
                report.lines.push(format!(
                    "group {index} ({}): ran {n}, skipped 0 (KeySet: {} key(s) used, skipped {skipped:?})",
                    group.comment,
                    key_set.len()
                ));
                group
                    .tests
                    .iter()
                    .map(|case| {
                        verify_with_key_set(&case.jws, &key_set)
                            .map_err(|e| format!("refused: {e}; key set skipped {skipped:?}"))
                    })
                    .collect()
            }
            #[cfg(not(feature = "aws-lc"))]
            Err(why) => {
                report.skipped += n;
                report.lines.push(format!(
                    "group {index} ({}): ran 0, skipped {n} ({why}: needs the aws-lc feature)",
                    group.comment
                ));
                continue;
            }
        };
        for (case, result) in group.tests.iter().zip(verdicts) {
            let shown = match &result {
                Ok(payload) => format!("accepted, payload {:?}", String::from_utf8_lossy(payload)),
                Err(e) => e.clone(),
            };
            report.lines.push(format!(
                "  tc{} ({}): expected {:?}, {shown}",
                case.tc_id, case.comment, case.result
            ));
            if !case.result.admits(result.is_ok()) {
                report.failures.push(format!(
                    "tc{} ({}): expected {:?}, {shown}",
                    case.tc_id, case.comment, case.result
                ));
            }
            report.outcomes.insert(case.tc_id, shown);
        }
        report.ran += n;
    }
    report
}

#[test]
fn every_key_set_case_that_runs_matches_its_expected_result() {
    let report = run_jwk_vectors();
    for line in &report.lines {
        println!("{line}");
    }
    println!(
        "total: ran {}, skipped {}, of {}",
        report.ran, report.skipped, report.number_of_tests
    );
    assert_no_failures(&report.failures);
}

#[cfg(not(feature = "aws-lc"))]
#[test]
fn without_the_aws_lc_feature_only_the_oct_key_sets_run() {
    let report = run_jwk_vectors();
    // Groups 1 (two cases), 2, 8 to 16, 23 and 24 hold only `oct` keys.
    assert_eq!((report.ran, report.skipped), (14, 12));
}

#[cfg(feature = "aws-lc")]
#[test]
fn with_the_aws_lc_feature_every_key_set_case_runs() {
    let report = run_jwk_vectors();
    assert_eq!((report.ran, report.skipped), (26, 0));
}

#[test]
fn every_jwk_case_is_either_run_or_skipped() {
    let report = run_jwk_vectors();
    assert_eq!(report.ran + report.skipped, report.number_of_tests);
    assert_eq!(report.number_of_tests, 26);
}

#[test]
fn every_refused_key_set_case_is_refused_for_the_reason_it_tests() {
    let report = run_jwk_vectors();
    let mut expected: Vec<(u32, &str)> = vec![
        (3, "refused: InvalidSignature"),
        (4, "refused at configuration: DuplicateKeyId"),
        (10, "refused at configuration: KeyTooShort"),
        (11, "refused at configuration: KeyTooShort"),
        (12, "refused at configuration: KeyTooShort"),
        (16, "refused at configuration: KeyTooShort"),
        (17, "refused at configuration: KeyTooShort"),
        (18, "refused at configuration: KeyTooShort"),
        (
            25,
            "refused at configuration: alg A256GCM is not an HMAC algorithm",
        ),
        (
            26,
            "refused at configuration: alg A256KW is not an HMAC algorithm",
        ),
    ];
    if cfg!(feature = "aws-lc") {
        // Sets read by `KeySet`: the unusable key is skipped, so no key matches the token.
        expected.extend([
            // The oct key of the mixed set is never used from a key set; its EC key is.
            (1, "refused: UnknownKey; key set skipped [\"kid-aes-sign: symmetric keys"),
            (6, "refused: UnknownKey; key set skipped [\"kid-rsa-sign: unusable key: use is not sig\"]"),
            // RSA moduli with the ROCA fingerprint (CVE-2017-15361) are refused.
            (
                7,
                "refused: UnknownKey; key set skipped [\"kid-rsa-roca-sign: unusable key: RSA modulus has the ROCA \
                 weakness",
            ),
            (8, "refused: UnknownKey; key set skipped [\"RS256_1024: unusable key: RSA modulus under 2048 bits\"]"),
            (
                9,
                "refused: UnknownKey; key set skipped [\"RS256_2048: unusable key: RSA exponent must be odd and \
                 greater than 1\"]",
            ),
            (
                19,
                "refused: UnknownKey; key set skipped [\"kid-ec-sign: unusable key: alg is not a supported JWS \
                 algorithm\"]",
            ),
            (
                20,
                "refused: UnknownKey; key set skipped [\"kid-ec-sign: unusable key: alg is not a supported JWS \
                 algorithm\"]",
            ),
            (21, "refused: UnknownKey; key set skipped [\"kid-ec-sign: unusable key: use is not sig\"]"),
            (
                22,
                "refused: UnknownKey; key set skipped [\"kid-ec-sign: unusable key: the backend rejected the \
                 public key\"]",
            ),
            (
                23,
                "refused: UnknownKey; key set skipped [\"kid-ec-sign: unusable key: EC coordinates do not fit \
                 the curve\"]",
            ),
            (24, "refused: UnknownKey; key set skipped [\"kid-ec-sign: unusable key: bad or missing n\"]"),
        ]);
    }
    for (tc_id, reason) in expected {
        let shown = report.outcomes.get(&tc_id).map_or("not run", String::as_str);
        assert!(
            shown.starts_with(reason),
            "tc{tc_id}: expected {reason:?}, got {shown:?}"
        );
    }
    let mut accepted = vec![2, 13, 14, 15];
    if cfg!(feature = "aws-lc") {
        accepted.push(5);
    }
    for tc_id in accepted {
        assert_eq!(
            report.outcomes.get(&tc_id).map(String::as_str),
            Some("accepted, payload \"foo\""),
            "tc{tc_id}"
        );
    }
}

/// A key set never uses `oct` keys: for every set of the file that holds some, [`KeySet`] skips
/// them all and keeps the others. (The sets of only `oct` keys are therefore run as key rings.)
#[cfg(feature = "aws-lc")]
#[test]
fn a_key_set_never_uses_the_oct_keys_of_any_vector_set() {
    let file: VectorFile<JwkGroup> = serde_json::from_str(JWK_VECTORS).expect("JWK vectors parse");
    let mut sets_with_oct = 0;
    for group in &file.test_groups {
        let set: tower_jwt_auth::JwkSet = serde_json::from_value(group.key_set().clone()).expect("a JWK Set");
        let oct = set.keys.iter().filter(|k| k.kty == "oct").count();
        if oct == 0 {
            continue;
        }
        sets_with_oct += 1;
        let key_set = KeySet::from_set(&set);
        let symmetric = key_set
            .skipped()
            .iter()
            .filter(|s| s.reason == "symmetric keys from a key set are never used")
            .count();
        assert_eq!(symmetric, oct, "{}", group.comment);
        assert_eq!(key_set.len(), set.keys.len() - oct, "{}", group.comment);
        assert!(key_set.keys().all(|k| !k.algorithm().is_hmac()));
    }
    assert_eq!(sets_with_oct, 14);
}
