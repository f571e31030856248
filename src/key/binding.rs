//! [`Binding`]: the issuer a key is bound to, and that issuer's own rules.

use std::sync::Arc;

/// What a key bound to an issuer carries: the one issuer whose tokens it may verify, and, for
/// a key of a multi-issuer resolver (`issuers::Issuers`), that issuer's own audiences and
/// leeway, which replace the validation's for tokens the key verifies. Shared by every key of
/// the issuer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    /// One element: the shape the claims readers match against.
    issuer: [Box<str>; 1],
    audiences: Option<Arc<[Box<str>]>>,
    leeway: Option<u64>,
}

impl Binding {
    /// Bound to `issuer`, under the validation's other rules.
    pub(crate) fn issuer(issuer: &str) -> Self {
        Self::new(issuer, None, None)
    }

    /// Bound to `issuer`, with its own audiences and leeway when given.
    pub(crate) fn new(issuer: &str, audiences: Option<Arc<[Box<str>]>>, leeway: Option<u64>) -> Self {
        Self {
            issuer: [Box::from(issuer)],
            audiences,
            leeway,
        }
    }

    /// The issuer.
    pub(crate) fn issuer_str(&self) -> &str {
        let [issuer] = &self.issuer;
        issuer
    }

    /// The issuer as a one-element list.
    pub(crate) fn issuer_list(&self) -> &[Box<str>] {
        &self.issuer
    }

    /// The issuer's own audiences, if it has some.
    pub(crate) fn audiences(&self) -> Option<&[Box<str>]> {
        self.audiences.as_deref()
    }

    /// The issuer's own leeway in seconds, if it has one.
    pub(crate) fn leeway(&self) -> Option<u64> {
        self.leeway
    }
}
