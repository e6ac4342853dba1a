//! The retry table (DESIGN.md §8), row by row, and the backoff schedule.

use funnelcake_core::retry::{backoff_ms, classify, Disposition, SendResult, MAX_RETRY_AFTER_MS};

fn status(code: u16) -> Disposition {
    classify(SendResult::Status { code, retry_after_ms: None })
}

#[test]
fn two_hundreds_are_delivered() {
    for code in [200, 201, 202, 204, 299] {
        assert_eq!(status(code), Disposition::Delivered, "{code}");
    }
}

#[test]
fn client_errors_are_dropped_and_never_retried() {
    for code in [400, 401, 403, 404, 422] {
        assert_eq!(status(code), Disposition::Drop, "{code}");
    }
}

#[test]
fn payload_too_large_splits() {
    assert_eq!(status(413), Disposition::Split);
}

#[test]
fn timeouts_rate_limits_server_errors_and_network_failures_are_retried() {
    for code in [408, 429, 500, 502, 503, 504, 507, 599] {
        assert_eq!(status(code), Disposition::Retry, "{code}");
    }
    assert_eq!(classify(SendResult::NetworkError), Disposition::Retry);
}

#[test]
fn not_implemented_and_version_not_supported_are_dropped() {
    assert_eq!(status(501), Disposition::Drop);
    assert_eq!(status(505), Disposition::Drop);
}

#[test]
fn other_statuses_are_dropped() {
    for code in [100, 301, 302, 304, 405, 409, 410, 418, 451] {
        assert_eq!(status(code), Disposition::Drop, "{code}");
    }
}

#[test]
fn backoff_doubles_from_one_second_with_full_jitter_and_a_sixty_second_cap() {
    let max = |attempt| backoff_ms(attempt, 1.0, None);
    let caps: Vec<u64> = (1..=8).map(max).collect();
    assert_eq!(caps, vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    assert_eq!(backoff_ms(5, 0.0, None), 0, "full jitter reaches zero");
    assert_eq!(backoff_ms(5, 0.25, None), 4_000);
    assert_eq!(backoff_ms(1000, 1.0, None), 60_000, "huge attempt counts do not overflow");
    assert_eq!(backoff_ms(3, f64::NAN, None), 2_000, "a bad jitter draw falls back to the middle");
}

#[test]
fn retry_after_is_honoured_when_longer_and_capped_at_ten_minutes() {
    assert_eq!(backoff_ms(1, 0.5, Some(30_000)), 30_000);
    assert_eq!(backoff_ms(7, 1.0, Some(5_000)), 60_000, "the computed backoff wins when longer");
    assert_eq!(backoff_ms(1, 0.0, Some(86_400_000)), MAX_RETRY_AFTER_MS);
}

#[test]
fn a_response_is_read_as_the_browser_reports_it() {
    assert_eq!(SendResult::from_response(0, None), SendResult::NetworkError);
    assert_eq!(SendResult::from_response(0, Some("5")), SendResult::NetworkError);
    assert_eq!(
        SendResult::from_response(503, Some(" 2.5 ")),
        SendResult::Status { code: 503, retry_after_ms: Some(2500) }
    );
    for odd in [None, Some("Wed, 21 Oct 2015 07:28:00 GMT"), Some("-1"), Some("soon"), Some("")] {
        assert_eq!(
            SendResult::from_response(429, odd),
            SendResult::Status { code: 429, retry_after_ms: None },
            "{odd:?}"
        );
    }
}
