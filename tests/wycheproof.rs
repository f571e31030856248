//! Project Wycheproof JWS and JWK test vectors (C2SP/wycheproof, `testvectors_v1`; see
//! `tests/vectors/wycheproof/README.md` for the pinned commit and checksums).
//!
//! Every case whose key this crate can represent (an `oct` key bound to HS256, HS384 or HS512)
//! is run; the others (EC, RSA, OKP keys) are skipped and counted, so that the totals prove no
//! case was silently lost. Where the crate's strict behaviour knowingly departs from a label, the
//! case is listed in [`DISAGREEMENTS`] with its reason, and the test asserts the crate's actual
//! outcome for it instead of skipping it. Any other disagreement fails the test.

use std::collections::BTreeMap;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::Deserialize;
use tower_jwt_auth::{dangerous, Algorithm, AuthError, ConfigError, KeyRing, Validation, VerifyingKey};

const JWS_VECTORS: &str = include_str!("vectors/wycheproof/json_web_signature_test.json");
const JWK_VECTORS: &str = include_str!("vectors/wycheproof/json_web_key_test.json");

/// The number of HS256 cases in `json_web_signature_test.json` at the pinned commit: groups 0
/// (`hs256`, 17), 12 and 16 (`rfc7520`, 1 each) and 21 (`base64`, 21).
const HS256_CASES: usize = 40;

/// A case where this crate deliberately answers differently from the Wycheproof label.
struct Disagreement {
    tc_id: u32,
    /// What the crate does: `true` accepts, `false` refuses.
    crate_accepts: bool,
    /// When the disagreement comes from a mislabelled duplicate: the case it is identical to.
    identical_to: Option<u32>,
    reason: &'static str,
}

/// Known disagreements with the labels, each asserted as the crate's actual strict outcome.
///
/// Not listed because their groups are skipped (RSA/EC keys are unsupported for now): tc346 and
/// tc350 (a PS384 token labelled valid for a key bound to PS256: this crate would refuse it as an
/// algorithm mismatch) and tc347 and tc351 (an ES512 token labelled valid for a key whose `alg`
/// is the misspelt `ES521`). They belong here once those key types are supported.
const DISAGREEMENTS: &[Disagreement] = &[
    Disagreement {
        tc_id: 367,
        crate_accepts: true,
        identical_to: Some(357),
        reason: "labelled invalid (invalidBase64Padding) but byte-identical to tc357, which is labelled \
                 valid; the crate must accept tc357, so it accepts this one too (C2SP/wycheproof issue #236)",
    },
    Disagreement {
        tc_id: 370,
        crate_accepts: true,
        identical_to: Some(357),
        reason: "labelled invalid (invalidBase64PaddingInPayload) but byte-identical to tc357, which is \
                 labelled valid (C2SP/wycheproof issue #236)",
    },
    Disagreement {
        tc_id: 372,
        crate_accepts: false,
        identical_to: None,
        reason: "labelled valid but has a `?` inside the header segment; RFC 7515 section 7.1 requires \
                 base64url, so the crate refuses it (Malformed)",
    },
    Disagreement {
        tc_id: 373,
        crate_accepts: false,
        identical_to: None,
        reason: "labelled valid but has a `?` inside the payload segment; RFC 7515 section 7.1 requires \
                 base64url, so the crate refuses it (Malformed)",
    },
];

fn disagreement(tc_id: u32) -> Option<&'static Disagreement> {
    DISAGREEMENTS.iter().find(|d| d.tc_id == tc_id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VectorFile<G> {
    number_of_tests: usize,
    test_groups: Vec<G>,
}

#[derive(Deserialize)]
struct JwsGroup {
    comment: String,
    public: Option<Jwk>,
    private: Option<Jwk>,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct JwkGroup {
    comment: String,
    public: Option<JwkSet>,
    private: Option<JwkSet>,
    tests: Vec<Case>,
}

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

fn outcome(result: &Result<Vec<u8>, AuthError>) -> String {
    match result {
        Ok(payload) => format!("accepted, payload {:?}", String::from_utf8_lossy(payload)),
        Err(e) => format!("refused: {:?}", e.kind()),
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
}

impl GroupRun {
    fn skipped(index: usize, comment: &str, alg: String, n: usize, why: String) -> Self {
        Self {
            index,
            comment: comment.to_owned(),
            alg,
            ran: 0,
            skipped: n,
            why_skipped: Some(why),
        }
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
        let jwk = group
            .public
            .as_ref()
            .or(group.private.as_ref())
            .expect("every JWS group has a key");
        let alg = jwk.alg.clone().unwrap_or_else(|| "-".to_owned());
        let n = group.tests.len();
        if alg == "HS256" {
            report.hs256_in_file += n;
        }
        let key = match build_key(jwk) {
            Ok(key) => key,
            Err(KeyProblem::Unsupported(why)) => {
                report.skipped += n;
                report
                    .groups
                    .push(GroupRun::skipped(index, &group.comment, alg, n, why));
                continue;
            }
            Err(KeyProblem::Config(why)) => {
                // Every supported key of the JWS file is well formed: a refusal is a bug.
                report.failures.push(format!("group {index}: key refused: {why}"));
                report.skipped += n;
                report
                    .groups
                    .push(GroupRun::skipped(index, &group.comment, alg, n, why));
                continue;
            }
        };
        for case in &group.tests {
            let result = validation.verify_jws(&case.jws, &key);
            let accepted = result.is_ok();
            match disagreement(case.tc_id) {
                Some(d) => {
                    if d.crate_accepts != accepted {
                        report.failures.push(format!(
                            "tc{} ({}): allow-listed as {} by the crate, but {}",
                            case.tc_id,
                            case.comment,
                            if d.crate_accepts { "accepted" } else { "refused" },
                            outcome(&result)
                        ));
                    } else if case.result.admits(accepted) {
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
                    if !case.result.admits(accepted) {
                        report.failures.push(format!(
                            "tc{} ({}): expected {:?}, {}",
                            case.tc_id,
                            case.comment,
                            case.result,
                            outcome(&result)
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
        });
    }
    report
}

#[test]
fn every_hs256_case_runs_and_matches_its_expected_result() {
    let report = run_jws_vectors();
    for g in &report.groups {
        let (index, comment, alg, ran, skipped) = (g.index, &g.comment, &g.alg, g.ran, g.skipped);
        match &g.why_skipped {
            Some(why) => println!("group {index} ({comment}, {alg}): ran {ran}, skipped {skipped} ({why})"),
            None => println!("group {index} ({comment}, {alg}): ran {ran}, skipped {skipped}"),
        }
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
    assert!(
        report.failures.is_empty(),
        "{} disagreement(s) with the Wycheproof labels:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
    assert_eq!(report.hs256_in_file, HS256_CASES, "the vector file changed");
    assert_eq!(report.hs256_ran, HS256_CASES, "some HS256 case was skipped");
    let base64 = report
        .groups
        .iter()
        .find(|g| g.comment == "base64")
        .expect("the base64 group");
    assert_eq!((base64.ran, base64.skipped), (21, 0));
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
    let listed: Vec<u32> = DISAGREEMENTS.iter().map(|d| d.tc_id).collect();
    assert_eq!(report.observed_disagreements, listed, "{:?}", report.failures);
    for d in DISAGREEMENTS {
        assert!(!d.reason.is_empty());
    }
}

/// The token of JWS case `tc_id` and the key of its group (which must be supported).
fn jws_case(tc_id: u32) -> (String, VerifyingKey) {
    let file: VectorFile<JwsGroup> = serde_json::from_str(JWS_VECTORS).expect("JWS vectors parse");
    for group in file.test_groups {
        if let Some(case) = group.tests.into_iter().find(|c| c.tc_id == tc_id) {
            let jwk = group.public.as_ref().or(group.private.as_ref()).expect("a key");
            let key = build_key(jwk).unwrap_or_else(|e| panic!("tc{tc_id}: {e:?}"));
            return (case.jws, key);
        }
    }
    panic!("no tc{tc_id}")
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

/// Builds a key set the way an application would configure a [`KeyRing`]: every key must be a
/// valid HMAC key with a distinct `kid`. Returns the keys, or why the set is refused.
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
        let set = group
            .public
            .as_ref()
            .or(group.private.as_ref())
            .expect("every JWK group has a key set");
        let n = group.tests.len();
        let keys = match build_key_set(set) {
            Err(why) => {
                report.skipped += n;
                report.lines.push(format!(
                    "group {index} ({}): ran 0, skipped {n} ({why})",
                    group.comment
                ));
                continue;
            }
            Ok(keys) => keys,
        };
        report
            .lines
            .push(format!("group {index} ({}): ran {n}, skipped 0", group.comment));
        for case in &group.tests {
            let result = match &keys {
                Ok(keys) => verify_with_set(&case.jws, keys).map_err(|e| format!("refused: {e}")),
                Err(why) => Err(format!("refused at configuration: {why}")),
            };
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
fn every_oct_key_set_case_matches_its_expected_result() {
    let report = run_jwk_vectors();
    for line in &report.lines {
        println!("{line}");
    }
    println!(
        "total: ran {}, skipped {}, of {}",
        report.ran, report.skipped, report.number_of_tests
    );
    assert!(
        report.failures.is_empty(),
        "{} disagreement(s) with the Wycheproof labels:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
    // Groups 1 (two cases), 2, 8 to 16, 23 and 24 hold only `oct` keys.
    assert_eq!(report.ran, 14);
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
    let expected: &[(u32, &str)] = &[
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
    for (tc_id, reason) in expected {
        let shown = report.outcomes.get(tc_id).map_or("not run", String::as_str);
        assert!(
            shown.starts_with(reason),
            "tc{tc_id}: expected {reason:?}, got {shown:?}"
        );
    }
    for tc_id in [2, 13, 14, 15] {
        assert_eq!(
            report.outcomes.get(&tc_id).map(String::as_str),
            Some("accepted, payload \"foo\""),
            "tc{tc_id}"
        );
    }
}
