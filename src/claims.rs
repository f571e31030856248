//! [`Claims<T>`]: verified claims in the request extensions.

use std::ops::{Deref, DerefMut};

/// The verified claims of a request, inserted into its extensions by [`JwtAuth`](crate::JwtAuth).
///
/// The newtype keeps the entry from colliding with the application's own `T` in the
/// extensions. With the `axum` feature it is an extractor (and `Option<Claims<T>>` one for
/// routes where authentication is optional); elsewhere read it with
/// `request.extensions().get::<Claims<T>>()`.
///
/// ```
/// use tower_jwt_auth::Claims;
///
/// #[derive(Clone)]
/// struct MyClaims { sub: String }
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Claims(MyClaims { sub: "alice".into() }));
/// let claims = request.extensions().get::<Claims<MyClaims>>().unwrap();
/// assert_eq!(claims.sub, "alice");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use]
pub struct Claims<T>(pub T);

impl<T> Claims<T> {
    /// The claims.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Claims<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Claims<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
