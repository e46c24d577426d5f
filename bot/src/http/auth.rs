//! Who may ingest and who may scrape: `Authorization: Bearer <token>`, checked from the headers
//! alone, before a byte of the body is read, and compared in constant time (`subtle`).

use super::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Which door a token opens; it names the token in the refusal.
#[derive(Clone, Copy)]
pub(crate) enum Door {
    /// `/events` and `/hooks/*`: `BELLHOP_INGEST_TOKEN`.
    Ingest,
    /// `/metrics` and `/readyz`: `BELLHOP_METRICS_TOKEN`, else the ingest token.
    Scrape,
}

/// Refuses a request without the token (when one is configured), with one line saying why.
pub(crate) fn check(token: Option<&SecretString>, headers: &HeaderMap, door: Door) -> Result<(), (StatusCode, &'static str)> {
    let Some(token) = token else { return Ok(()) };
    // The scheme's name is case-insensitive (RFC 9110): `bearer` is as good as `Bearer`.
    let given = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token)
    });
    match (given, door) {
        (None, _) => Err((StatusCode::UNAUTHORIZED, "missing `Authorization: Bearer <token>`\n")),
        (Some(given), _) if same(given.trim(), token.expose_secret()) => Ok(()),
        (Some(_), Door::Ingest) => Err((StatusCode::UNAUTHORIZED, "wrong ingest token\n")),
        (Some(_), Door::Scrape) => Err((StatusCode::UNAUTHORIZED, "wrong metrics token\n")),
    }
}

/// Equality whose time depends on neither where the two differ nor how long the token is: the
/// digests are compared, whole, by `subtle`.
fn same(given: &str, token: &str) -> bool {
    Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(token.as_bytes())).into()
}

/// Proof that a request carries the ingest token (or that none is configured): a handler that
/// takes it runs only then. axum runs the extractors that read headers before the one that
/// reads the body, so a request without the token is refused before a byte of it is read.
/// (An extractor rather than a middleware layer: no boxed service and future per request.)
pub(crate) struct Ingester;

#[axum::async_trait]
impl FromRequestParts<Arc<AppState>> for Ingester {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        check(state.settings.token.as_ref(), &parts.headers, Door::Ingest).map(|()| Ingester)
    }
}

/// The same for the scrape routes (`/metrics`, `/readyz`) and their token.
pub(crate) struct Scraper;

#[axum::async_trait]
impl FromRequestParts<Arc<AppState>> for Scraper {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        check(state.settings.scrape_token(), &parts.headers, Door::Scrape).map(|()| Scraper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_passes() {
        let token = SecretString::from("s3cret-s3cret-s3cret");
        let mut headers = HeaderMap::new();
        assert!(check(None, &headers, Door::Ingest).is_ok(), "no token configured: loopback only, anyone there");
        assert_eq!(check(Some(&token), &headers, Door::Ingest).unwrap_err().0, StatusCode::UNAUTHORIZED);
        headers.insert("authorization", "Bearer s3cret-s3cret-s3cre".parse().unwrap());
        assert_eq!(check(Some(&token), &headers, Door::Ingest).unwrap_err().1, "wrong ingest token\n");
        assert_eq!(check(Some(&token), &headers, Door::Scrape).unwrap_err().1, "wrong metrics token\n");
        headers.insert("authorization", "Basic s3cret-s3cret-s3cret".parse().unwrap());
        assert_eq!(check(Some(&token), &headers, Door::Ingest).unwrap_err().1, "missing `Authorization: Bearer <token>`\n");
        headers.insert("authorization", "Bearer s3cret-s3cret-s3cret".parse().unwrap());
        assert!(check(Some(&token), &headers, Door::Ingest).is_ok());
        headers.insert("authorization", "bearer s3cret-s3cret-s3cret".parse().unwrap());
        assert!(check(Some(&token), &headers, Door::Ingest).is_ok(), "the scheme's case does not matter");
    }

    #[test]
    fn tokens_of_any_length_compare_without_panicking() {
        for (given, token, expected) in [("", "a", false), ("a", "", false), ("", "", true), ("abc", "abcd", false), ("abcd", "abcd", true)]
        {
            assert_eq!(same(given, token), expected, "{given:?} vs {token:?}");
        }
    }
}
