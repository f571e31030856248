//! Several issuers, each with its own keys and rules: [`Issuers`] (feature `jwks`).
//!
//! A token's `iss` is read before verification **only to choose** the issuer; that issuer's
//! keys, audiences, algorithms and leeway then apply in full, and the keys of one issuer never
//! verify another's tokens (each key is bound to its issuer, so even a shared `kid` cannot
//! cross). A token whose `iss` is not trusted is refused with
//! [`AuthErrorKind::UntrustedIssuer`](crate::AuthErrorKind::UntrustedIssuer) before any key is
//! looked up: no discovery, no key set fetch, no I/O of any kind. Each issuer's remote key set
//! has its own cache, cooldown and failures: one issuer being down answers 503 for its tokens
//! only.
//!
//! ```
//! use std::time::Duration;
//! use tower_jwt_auth::issuers::{IssuerTemplate, Issuers, TrustedIssuer};
//! use tower_jwt_auth::{JwksOptions, JwtAuthLayer, Validation, VerifyingKey};
//!
//! #[derive(Clone, serde::Deserialize)]
//! struct MyClaims { sub: String, iss: String }
//!
//! let issuers = Issuers::new()
//!     // Workforce IdP: OpenID Connect discovery, its own audience.
//!     .trust(TrustedIssuer::discover("https://login.workforce.example.com")?.audience("api://orders")?)?
//!     // Customer IdP: a JWK Set URL, a shorter leeway.
//!     .trust(
//!         TrustedIssuer::jwks("https://id.customers.example.com", "https://id.customers.example.com/keys")?
//!             .leeway(Duration::from_secs(5)),
//!     )?
//!     // A service of ours: a static key.
//!     .trust(TrustedIssuer::keys("https://batch.internal", [VerifyingKey::hs256([7u8; 32])?])?)?
//!     // One issuer per tenant, for the tenants we know.
//!     .trust_template(IssuerTemplate::new(
//!         "https://login.microsoftonline.com/{tenant}/v2.0",
//!         |tenant: &str| ["8b2f3c1e-0000-4000-8000-000000000001"].contains(&tenant),
//!     )?)?;
//! // Rules every issuer shares (here none: each issuer's own apply).
//! let auth = JwtAuthLayer::<MyClaims>::new(issuers).validation(Validation::new());
//! # let _ = auth;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Handlers learn which issuer accepted a token from its `iss` claim: after verification it is
//! exactly the trusted issuer (or the tenant's issuer, for a template).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::jwks::{check_issuer_url, check_jwks_url, JwksClient, JwksFuture, JwksOptions, JwksResolver};
use crate::key::{Binding, KeyError, KeyQuery, KeyRef, KeyResolver, Resolution};
use crate::{Algorithm, ConfigError, KeySet, VerifyingKey};

/// The most issuers a template keeps (discovered, with their key sets) by default.
const DEFAULT_TEMPLATE_CAPACITY: usize = 64;
/// The longest value of a template's variable.
const MAX_VARIABLE_LEN: usize = 128;

/// A key resolver over a configured set of issuers, chosen by the token's `iss`; see the
/// [module docs](self).
#[derive(Clone, Default)]
pub struct Issuers {
    trusted: Arc<HashMap<Box<str>, Entry>>,
    templates: Arc<[Template]>,
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuers")
            .field("trusted", &self.trusted.keys().collect::<Vec<_>>())
            .field(
                "templates",
                &self.templates.iter().map(|t| &t.pattern).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// One trusted issuer: where its keys come from and its own rules. Built with
/// [`discover`](Self::discover), [`jwks`](Self::jwks) or [`keys`](Self::keys), then given to
/// [`Issuers::trust`].
#[derive(Debug)]
pub struct TrustedIssuer {
    issuer: String,
    source: Source,
    rules: IssuerRules,
}

/// What a trusted issuer's keys come from.
#[derive(Debug)]
enum Source {
    Discover,
    Jwks(String),
    Keys(Vec<VerifyingKey>),
}

/// An issuer's own rules (also a template's, for each issuer it admits).
#[derive(Clone, Debug, Default)]
struct IssuerRules {
    audiences: Vec<Box<str>>,
    leeway: Option<u64>,
    algorithms: Option<Arc<[Algorithm]>>,
    options: JwksOptions,
}

impl IssuerRules {
    fn binding(&self, issuer: &str) -> Arc<Binding> {
        let audiences = (!self.audiences.is_empty()).then(|| Arc::from(self.audiences.clone()));
        Arc::new(Binding::new(issuer, audiences, self.leeway))
    }

    fn audience(&mut self, audience: String) -> Result<(), ConfigError> {
        if audience.is_empty() {
            return Err(ConfigError::EmptyValue("audience"));
        }
        self.audiences.push(audience.into_boxed_str());
        Ok(())
    }

    fn algorithms(&mut self, algorithms: impl IntoIterator<Item = Algorithm>) {
        self.algorithms = Some(algorithms.into_iter().collect());
    }
}

/// The rule builders shared by [`TrustedIssuer`] and [`IssuerTemplate`].
macro_rules! issuer_rules {
    () => {
        /// Tokens of this issuer must carry this `aud` (call again for several); they replace
        /// the layer's [`Validation`](crate::Validation) audiences for this issuer. Default:
        /// the validation's.
        ///
        /// # Errors
        /// [`ConfigError::EmptyValue`] for an empty audience.
        pub fn audience(mut self, audience: impl Into<String>) -> Result<Self, ConfigError> {
            self.rules.audience(audience.into())?;
            Ok(self)
        }

        /// The clock leeway for this issuer's tokens (`exp`, `nbf`, `iat`). Default: the
        /// validation's.
        pub fn leeway(mut self, leeway: Duration) -> Self {
            self.rules.leeway = Some(leeway.as_secs());
            self
        }

        /// The only algorithms this issuer's tokens may use; a token of another is refused as
        /// [`UnknownKey`](crate::AuthErrorKind::UnknownKey) before any key is looked up.
        /// Default: any its keys are bound to.
        pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
            self.rules.algorithms(algorithms);
            self
        }

        /// The options of this issuer's remote key set (cooldown, timeouts, sizes). Default:
        /// [`JwksOptions::default`].
        pub fn jwks_options(mut self, options: JwksOptions) -> Self {
            self.rules.options = options;
            self
        }
    };
}

impl TrustedIssuer {
    /// An issuer whose key set is found by OpenID Connect discovery
    /// (`<issuer>/.well-known/openid-configuration`, whose `issuer` must equal `issuer`).
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for an issuer that is not an HTTPS URL (plain HTTP on
    /// loopback only).
    pub fn discover(issuer: &str) -> Result<Self, ConfigError> {
        Self::with_source(issuer, Source::Discover)
    }

    /// An issuer whose key set is the JWK Set at `url`.
    ///
    /// # Errors
    /// [`ConfigError::EmptyValue`] for an empty issuer; [`ConfigError::InvalidUrl`] for a URL
    /// that is not HTTPS (plain HTTP on loopback only).
    pub fn jwks(issuer: &str, url: &str) -> Result<Self, ConfigError> {
        Self::with_source(issuer, Source::Jwks(url.to_owned()))
    }

    /// An issuer with static keys (HMAC secrets or public keys), chosen by `kid` and `alg` as
    /// in a [`KeySet`].
    ///
    /// # Errors
    /// [`ConfigError::EmptyValue`] for an empty issuer or no keys.
    pub fn keys(issuer: &str, keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, ConfigError> {
        let keys: Vec<VerifyingKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(ConfigError::EmptyValue("keys"));
        }
        Self::with_source(issuer, Source::Keys(keys))
    }

    fn with_source(issuer: &str, source: Source) -> Result<Self, ConfigError> {
        if issuer.is_empty() {
            return Err(ConfigError::EmptyValue("issuer"));
        }
        let trusted = Self {
            issuer: issuer.to_owned(),
            source,
            rules: IssuerRules::default(),
        };
        // URLs are checked now, not at first use.
        trusted.check()?;
        Ok(trusted)
    }

    fn check(&self) -> Result<(), ConfigError> {
        match &self.source {
            Source::Discover => check_issuer_url(&self.issuer),
            Source::Jwks(url) => check_jwks_url(url),
            Source::Keys(_) => Ok(()),
        }
    }

    issuer_rules!();

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn into_entry(self) -> Result<Entry, ConfigError> {
        let binding = self.rules.binding(&self.issuer);
        let keys = match self.source {
            Source::Keys(keys) => Keys::Static(KeySet::from_keys(
                keys.into_iter()
                    .map(|key| key.with_binding(Arc::clone(&binding)))
                    .collect(),
            )),
            Source::Discover => Keys::Remote(JwksResolver::for_issuer(
                &self.issuer,
                None,
                self.rules.options,
                binding,
                None,
            )?),
            Source::Jwks(url) => Keys::Remote(JwksResolver::for_issuer(
                &self.issuer,
                Some(&url),
                self.rules.options,
                binding,
                None,
            )?),
        };
        Ok(Entry {
            keys,
            algorithms: self.rules.algorithms,
        })
    }
}

/// Issuers of one shape, such as one per tenant
/// (`https://login.microsoftonline.com/{tenant}/v2.0`): an issuer that fits the pattern and
/// whose variable passes the allow-list predicate is discovered (OpenID Connect) on first use
/// and kept, with its key set, in a bounded cache (the oldest evicted past
/// [`capacity`](Self::capacity)). An issuer that does not fit, or fails the predicate, costs no
/// I/O and is refused as untrusted. A discovery or fetch that fails is retried only after the
/// key set's cooldown ([`JwksOptions::cooldown`]): the failure is cached.
///
/// The predicate is the allow-list: make it name your tenants. One that admits every value
/// (`|_| true`) lets any client make the server discover a new issuer under the pattern per
/// request, and push the tenants you serve out of the cache.
pub struct IssuerTemplate {
    pattern: String,
    prefix: String,
    suffix: String,
    allow: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    capacity: usize,
    rules: IssuerRules,
}

impl fmt::Debug for IssuerTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerTemplate")
            .field("pattern", &self.pattern)
            .field("capacity", &self.capacity)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl IssuerTemplate {
    /// A template with one variable in braces (`{tenant}`), whose values `allow` admits. A
    /// value is 1 to 128 ASCII letters, digits, `-`, `_` or `.` (never `/`, `?`, `#`, `%` or
    /// `@`), so no admitted issuer can point anywhere but where the pattern says.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a pattern without exactly one `{...}` variable, or
    /// whose variable sits in the host part (the scheme and host are fixed), or that is not an
    /// HTTPS URL (plain HTTP on loopback only).
    pub fn new(
        pattern: &str,
        allow: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::InvalidUrl("an issuer template has one {variable} in its path");
        let open = pattern.find('{').ok_or_else(invalid)?;
        let close = pattern
            .get(open..)
            .and_then(|rest| rest.find('}'))
            .ok_or_else(invalid)?
            + open;
        let prefix = pattern.get(..open).ok_or_else(invalid)?;
        let suffix = pattern.get(close + 1..).ok_or_else(invalid)?;
        if suffix.contains(['{', '}']) || prefix.contains('}') {
            return Err(invalid());
        }
        // An issuer has no query or fragment (RFC 8414 §2): every admitted issuer is a path.
        if pattern.contains(['?', '#']) {
            return Err(ConfigError::InvalidUrl(
                "an issuer template has no query or fragment",
            ));
        }
        // The variable must come after the authority: `https://host/` at least.
        let after_scheme = prefix
            .split_once("://")
            .map(|(_, rest)| rest)
            .ok_or_else(invalid)?;
        if !after_scheme.contains('/') {
            return Err(invalid());
        }
        // The pattern with a sample value is a URL this crate would fetch.
        check_issuer_url(&format!("{prefix}x{suffix}"))?;
        Ok(Self {
            pattern: pattern.to_owned(),
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            allow: Arc::new(allow),
            capacity: DEFAULT_TEMPLATE_CAPACITY,
            rules: IssuerRules::default(),
        })
    }

    issuer_rules!();

    /// The most issuers kept at once (default 64); past it the oldest is dropped (its key set
    /// with it) and discovered again if it comes back.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] for 0.
    pub fn capacity(mut self, capacity: usize) -> Result<Self, ConfigError> {
        if capacity == 0 {
            return Err(ConfigError::OutOfRange("capacity"));
        }
        self.capacity = capacity;
        Ok(self)
    }

    /// The variable's value when `iss` fits the pattern.
    fn variable<'i>(&self, iss: &'i str) -> Option<&'i str> {
        let value = iss.strip_prefix(&*self.prefix)?.strip_suffix(&*self.suffix)?;
        let fits = !value.is_empty()
            && value.len() <= MAX_VARIABLE_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value != "."
            && value != "..";
        fits.then_some(value)
    }
}

impl Issuers {
    /// No issuer trusted yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `issuer`.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] for an issuer already trusted, or one a clone already
    /// shares (configure before cloning); the errors of building its key set.
    pub fn trust(mut self, issuer: TrustedIssuer) -> Result<Self, ConfigError> {
        let trusted = Arc::get_mut(&mut self.trusted).ok_or(ConfigError::OutOfRange("trust after clone"))?;
        if trusted.contains_key(issuer.issuer.as_str()) {
            return Err(ConfigError::OutOfRange("an issuer trusted twice"));
        }
        let name = issuer.issuer.clone().into_boxed_str();
        trusted.insert(name, issuer.into_entry()?);
        Ok(self)
    }

    /// Trusts the issuers `template` admits (after the fixed issuers, in the order added).
    ///
    /// # Errors
    /// [`ConfigError::Tls`] if the template's TLS client cannot be set up.
    pub fn trust_template(mut self, template: IssuerTemplate) -> Result<Self, ConfigError> {
        let mut templates: Vec<Template> = self.templates.iter().cloned().collect();
        // One HTTP client (one TLS root store) for every issuer the template admits.
        let client = JwksClient::new(&template.rules.options)?;
        templates.push(Template {
            pattern: template.pattern.clone().into_boxed_str(),
            template: Arc::new(template),
            client,
            cache: Arc::new(Mutex::new(Cache::default())),
        });
        self.templates = templates.into();
        Ok(self)
    }

    /// The fixed issuers trusted.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.trusted.keys().map(|k| &**k)
    }

    /// The key set of a fixed issuer fetched remotely, to warm it up or read its status.
    #[must_use]
    pub fn jwks(&self, issuer: &str) -> Option<&JwksResolver> {
        match &self.trusted.get(issuer)?.keys {
            Keys::Remote(resolver) => Some(resolver),
            Keys::Static(_) => None,
        }
    }
}

/// A trusted issuer's keys and algorithm allow-list.
#[derive(Clone)]
struct Entry {
    keys: Keys,
    algorithms: Option<Arc<[Algorithm]>>,
}

#[derive(Clone)]
enum Keys {
    Static(KeySet),
    Remote(JwksResolver),
}

impl Entry {
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, JwksFuture> {
        if let Some(allowed) = &self.algorithms {
            if !allowed.contains(&query.alg()) {
                return Resolution::Ready(Err(KeyError::unknown_key()));
            }
        }
        match &self.keys {
            Keys::Static(set) => match set.resolve(query) {
                Resolution::Ready(key) => Resolution::Ready(key),
                Resolution::Pending(never) => match never {},
            },
            Keys::Remote(resolver) => resolver.resolve(query),
        }
    }
}

/// A template and the issuers it has admitted.
#[derive(Clone)]
struct Template {
    pattern: Box<str>,
    template: Arc<IssuerTemplate>,
    /// Shared by the key sets of every issuer the template admits.
    client: JwksClient,
    cache: Arc<Mutex<Cache>>,
}

/// The issuers a template admitted, oldest first.
#[derive(Default)]
struct Cache {
    entries: HashMap<Box<str>, Entry>,
    order: VecDeque<Box<str>>,
}

impl Template {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry for `iss` if the template admits it: cached, or created now (no I/O here:
    /// the key set is discovered and fetched by its resolver, on this request's behalf).
    fn entry(&self, iss: &str) -> Option<Result<Entry, KeyError>> {
        let variable = self.template.variable(iss)?;
        if !(self.template.allow)(variable) {
            return None;
        }
        if let Some(entry) = self.lock().entries.get(iss) {
            return Some(Ok(entry.clone()));
        }
        // Built outside the lock (no I/O: the shared client is reused; the key set is fetched
        // later, by its resolver).
        let binding = self.template.rules.binding(iss);
        let options = self.template.rules.options.clone();
        // A value the pattern admits makes a valid URL (checked in `new`); refuse if not.
        let Ok(resolver) = JwksResolver::for_issuer(iss, None, options, binding, Some(&self.client)) else {
            return Some(Err(KeyError::untrusted_issuer()));
        };
        let entry = Entry {
            keys: Keys::Remote(resolver),
            algorithms: self.template.rules.algorithms.clone(),
        };
        let mut cache = self.lock();
        // Another request may have added it meanwhile: keep the first.
        if let Some(entry) = cache.entries.get(iss) {
            return Some(Ok(entry.clone()));
        }
        while cache.entries.len() >= self.template.capacity {
            let Some(oldest) = cache.order.pop_front() else {
                break;
            };
            cache.entries.remove(&oldest);
        }
        cache.entries.insert(Box::from(iss), entry.clone());
        cache.order.push_back(Box::from(iss));
        Some(Ok(entry))
    }
}

impl KeyResolver for Issuers {
    type Future = JwksFuture;

    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, JwksFuture> {
        let Some(iss) = query.issuer() else {
            return Resolution::Ready(Err(KeyError::missing_issuer()));
        };
        if let Some(entry) = self.trusted.get(iss) {
            return entry.resolve(query);
        }
        for template in self.templates.iter() {
            match template.entry(iss) {
                None => continue,
                Some(Err(e)) => return Resolution::Ready(Err(e)),
                // The entry is a clone (its resolver is shared): a ready key must not borrow
                // from it. A remote set's keys are held by its snapshot: no copy.
                Some(Ok(entry)) => {
                    return match entry.resolve(query) {
                        Resolution::Ready(key) => Resolution::Ready(key.map(KeyRef::into_owned)),
                        Resolution::Pending(future) => Resolution::Pending(future),
                    }
                }
            }
        }
        Resolution::Ready(Err(KeyError::untrusted_issuer()))
    }

    fn wants_issuer(&self) -> bool {
        true
    }
}
