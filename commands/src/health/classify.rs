//! What an HTTP answer means for each kind of target.

use super::{Outcome, Status, TargetKind};

/// Classifies one HTTP response. For edge functions (Supabase's documented platform errors):
/// a response below 500 without `sb-error-code` means the function ran — a 4xx only rejected the
/// test payload; a 5xx, 546 or any `sb-error-code` means down; a 401 with an `UNAUTHORIZED_*` code
/// means the probe's own credentials are wrong, which is not an outage.
pub fn classify_http(kind: TargetKind, status: u16, sb_error_code: Option<&str>) -> (Status, String) {
    let code = sb_error_code.map(str::trim).filter(|c| !c.is_empty());
    match kind {
        TargetKind::Function => match (status, code) {
            (401, Some(code)) if code.starts_with("UNAUTHORIZED") => {
                (Status::Misconfigured, format!("HTTP 401 {code}: the probe's key was refused, check SUPABASE_ANON_KEY"))
            }
            (_, Some(code)) => (Status::Down, format!("HTTP {status} {code}")),
            (500.., None) => (Status::Down, format!("HTTP {status}")),
            (400..=499, None) => (Status::Up, format!("HTTP {status}: ran, rejected the test payload")),
            (_, None) => (Status::Up, format!("HTTP {status}")),
        },
        TargetKind::Auth | TargetKind::Rest if status == 401 || status == 403 => {
            (Status::Misconfigured, format!("HTTP {status}: the key was refused, check SUPABASE_ANON_KEY"))
        }
        TargetKind::Rest if status == 404 => (Status::Misconfigured, "HTTP 404: table not found, check BELLHOP_REST_TABLE".to_string()),
        _ if (200..300).contains(&status) => (Status::Up, format!("HTTP {status}")),
        _ => (Status::Down, format!("HTTP {status}")),
    }
}

impl From<(u16, (Status, String))> for Outcome {
    fn from((http_status, (status, detail)): (u16, (Status, String))) -> Self {
        Outcome { status, http_status: Some(http_status), detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;
    use TargetKind::*;

    #[test]
    fn functions_follow_supabase_error_codes() {
        let cases = [
            (200, None, Up),
            (400, None, Up),
            (404, None, Up),
            (400, Some("EDGE_FUNCTION_ERROR"), Down),
            (500, None, Down),
            (503, Some("BOOT_ERROR"), Down),
            (546, None, Down),
            (401, Some("UNAUTHORIZED_INVALID_JWT_FORMAT"), Misconfigured),
            (401, None, Up),
        ];
        for (status, code, expected) in cases {
            assert_eq!(classify_http(Function, status, code).0, expected, "{status} {code:?}");
        }
    }

    #[test]
    fn other_targets_are_up_only_on_2xx() {
        assert_eq!(classify_http(Frontend, 204, None).0, Up);
        assert_eq!(classify_http(Frontend, 404, None).0, Down);
        assert_eq!(classify_http(Frontend, 401, None).0, Down);
        assert_eq!(classify_http(Auth, 401, None).0, Misconfigured);
        assert_eq!(classify_http(Rest, 404, None).0, Misconfigured);
        assert_eq!(classify_http(Rest, 502, None).0, Down);
    }
}
