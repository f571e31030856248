//! The HTTPS client of a resolver: which URLs are allowed, the hyper + rustls client, and one
//! bounded GET (status, content type, body size and total time checked; `max-age` read).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::error::FetchError;
use super::options::JwksOptions;
use crate::ConfigError;

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A URL a key set or discovery document may be fetched from: HTTPS, or plain HTTP on loopback.
///
/// [`ConfigError::InvalidUrl`] for anything else.
pub(super) fn check_url(url: &str) -> Result<Uri, ConfigError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| ConfigError::InvalidUrl("cannot be parsed"))?;
    let host = uri.host().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if loopback => Ok(uri),
        _ => Err(ConfigError::InvalidUrl(
            "must be HTTPS (plain HTTP only on loopback)",
        )),
    }
}

/// The hyper client over rustls (aws-lc-rs, webpki roots), with the limits of one fetch.
/// Clones share the connection pool and the TLS configuration.
#[derive(Clone)]
pub(super) struct HttpClient {
    client: HttpsClient,
    total_timeout: Duration,
    max_body: usize,
}

impl HttpClient {
    /// A client with the connection timeout, total timeout and body limit of `options`;
    /// [`ConfigError::Tls`] if rustls cannot be configured.
    pub(super) fn new(options: &JwksOptions) -> Result<Self, ConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        #[cfg(feature = "jwks-native-roots")]
        {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| ConfigError::Tls("the TLS provider supports no safe protocol version"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            total_timeout: options.total_timeout,
            max_body: options.max_body,
        })
    }

    /// GET `url`: `200 OK`, JSON, a bounded body, within the total timeout.
    pub(super) async fn get(&self, url: &Uri) -> Result<(Bytes, Option<Duration>), FetchError> {
        let request = Request::get(url.clone())
            .header(ACCEPT, "application/jwk-set+json, application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| FetchError::Connect(e.to_string()))?;
            if response.status() != StatusCode::OK {
                return Err(FetchError::Status(response.status().as_u16()));
            }
            let json = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
            if !json {
                return Err(FetchError::NotJson);
            }
            let max_age = response
                .headers()
                .get(CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_max_age);
            let body = Limited::new(response.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge
                    } else {
                        FetchError::Body(e.to_string())
                    }
                })?
                .to_bytes();
            Ok((body, max_age))
        };
        tokio::time::timeout(self.total_timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

fn parse_max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let (name, secs) = directive.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| secs.trim().parse::<u64>().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_except_on_loopback() {
        assert!(check_url("https://example.com/jwks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("http://[::1]:8080/jwks").is_ok());
        assert!(check_url("http://localhost/jwks").is_ok());
        let https_only = Err(ConfigError::InvalidUrl(
            "must be HTTPS (plain HTTP only on loopback)",
        ));
        assert_eq!(check_url("http://example.com/jwks"), https_only);
        assert_eq!(check_url("http://10.0.0.1/jwks"), https_only);
        assert_eq!(check_url("ftp://example.com/jwks"), https_only);
        assert_eq!(
            check_url("not a url"),
            Err(ConfigError::InvalidUrl("cannot be parsed"))
        );
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            parse_max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(parse_max_age("no-cache"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }
}
