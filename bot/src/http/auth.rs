//! Who may ingest: `Authorization: Bearer <BELLHOP_INGEST_TOKEN>`, compared in constant time.

use axum::http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};

/// Refuses a request without the token (when one is configured), with one line saying why.
pub(crate) fn check(token: Option<&SecretString>, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let Some(token) = token else { return Ok(()) };
    let given = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => Err((StatusCode::UNAUTHORIZED, "missing `Authorization: Bearer <token>`\n")),
        Some(given) if same(given.trim().as_bytes(), token.expose_secret().as_bytes()) => Ok(()),
        Some(_) => Err((StatusCode::UNAUTHORIZED, "wrong ingest token\n")),
    }
}

/// Equality that takes as long whichever byte differs.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_passes() {
        let token = SecretString::from("s3cret");
        let mut headers = HeaderMap::new();
        assert!(check(None, &headers).is_ok(), "no token configured: loopback only, anyone there");
        assert_eq!(check(Some(&token), &headers).unwrap_err().0, StatusCode::UNAUTHORIZED);
        headers.insert("authorization", "Bearer s3cre".parse().unwrap());
        assert_eq!(check(Some(&token), &headers).unwrap_err().1, "wrong ingest token\n");
        headers.insert("authorization", "Bearer s3cret".parse().unwrap());
        assert!(check(Some(&token), &headers).is_ok());
    }
}
