//! HTTP retries, shared by the Convex client and the LLM client: `Retry-After` read as seconds or
//! an HTTP date, exponential backoff with jitter and an upper bound, and a deadline the caller
//! gives that no wait may pass.
//!
//! Every conversion is checked: a header such as `Retry-After: 1e300`, `inf` or a date in the
//! year 9999 is capped, never a panic or an overflow.

use std::hash::BuildHasher as _;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// How often and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; it doubles on each retry.
    pub first_backoff: Duration,
    /// The longest single wait, whether backoff or a server's `Retry-After`.
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first): the server's `Retry-After` when it
    /// sent one, else `first_backoff * 2^retry` with jitter (between half and all of it, so that
    /// concurrent requests spread out); either way at most `max_wait`.
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_wait);
        }
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        let full = self.first_backoff.saturating_mul(factor).min(self.max_wait);
        full.mul_f64(0.5 + jitter_unit(retry) / 2.0)
    }
}

/// A number in `[0, 1)`, different on every call (std's per-instance random hash keys).
fn jitter_unit(salt: u32) -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(salt) >> 11;
    // 53 bits fit an f64 exactly.
    bits as f64 / (1u64 << 53) as f64
}

/// The retries of one request: counts them and keeps every wait inside the caller's deadline.
#[derive(Debug, Clone)]
pub struct Retries {
    policy: RetryPolicy,
    deadline: Instant,
    done: u32,
}

/// Why no further attempt is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// All `max_retries` retries were made.
    Exhausted { retries: u32 },
    /// The next wait would end at or past the deadline.
    Deadline { wait: Duration },
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exhausted { retries } => write!(f, "gave up after {retries} transport retries"),
            Self::Deadline { wait } => {
                write!(f, "gave up: waiting {:.1} s more would pass the deadline", wait.as_secs_f64())
            }
        }
    }
}

impl Retries {
    /// Retries under `policy` that end by `deadline`.
    pub fn new(policy: RetryPolicy, deadline: Instant) -> Self {
        Self { policy, deadline, done: 0 }
    }

    /// Retries made so far.
    pub fn done(&self) -> u32 {
        self.done
    }

    /// Time left before the deadline (zero once it passed): the most one attempt may take.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The wait before the next attempt, counting it as made; or why there is none: the retries
    /// are spent, or the wait would reach the deadline (an attempt needs time after it).
    pub fn next_wait(&mut self, retry_after: Option<Duration>) -> Result<Duration, GiveUp> {
        if self.done >= self.policy.max_retries {
            return Err(GiveUp::Exhausted { retries: self.done });
        }
        let wait = self.policy.wait(self.done, retry_after);
        if wait >= self.remaining() {
            return Err(GiveUp::Deadline { wait });
        }
        self.done += 1;
        Ok(wait)
    }
}

/// How long a response asks to be left alone: `retry-after-ms` (milliseconds, sent by some LLM
/// endpoints), else `Retry-After` as seconds or an HTTP date (measured from `now`). Garbage,
/// negative and non-finite values are ignored; huge ones come back huge, for the caller's cap.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = get("retry-after-ms").and_then(|v| seconds(v, 1e-3)) {
        return Some(ms);
    }
    parse_retry_after(get("retry-after")?, now)
}

/// `Retry-After`'s value: delay seconds (`120`, also `1.5` as some servers send) or an HTTP date
/// (`Wed, 21 Oct 2026 07:28:00 GMT`, or the two obsolete forms), a past date meaning no wait.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(d) = seconds(value, 1.0) {
        return Some(d);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A non-negative decimal number of `unit` seconds, saturating at [`Duration::MAX`].
fn seconds(value: &str, unit: f64) -> Option<Duration> {
    let n: f64 = value.trim().parse().ok()?;
    if n.is_nan() || n < 0.0 {
        return None;
    }
    // Infinity and values past `Duration::MAX` are simply very long: the caller caps them.
    Some(Duration::try_from_secs_f64(n * unit).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-10-21 07:28:00 UTC.
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_792_567_680)
    }

    fn check(value: &str, expected: Option<Duration>) {
        assert_eq!(parse_retry_after(value, now()), expected, "Retry-After: {value:?}");
    }

    #[test]
    fn seconds_and_http_dates_are_read() {
        check("120", Some(Duration::from_secs(120)));
        check(" 0 ", Some(Duration::ZERO));
        check("1.5", Some(Duration::from_millis(1500)));
        check("Wed, 21 Oct 2026 07:28:30 GMT", Some(Duration::from_secs(30)));
        check("Wednesday, 21-Oct-26 07:29:00 GMT", Some(Duration::from_secs(60)));
        check("Wed Oct 21 07:30:00 2026", Some(Duration::from_secs(120)));
        // A date in the past asks for no wait.
        check("Sun, 06 Nov 1994 08:49:37 GMT", Some(Duration::ZERO));
    }

    #[test]
    fn garbage_and_negative_values_are_ignored() {
        for value in ["", "soon", "-1", "-inf", "NaN", "12 seconds", "Wed, 32 Oct 2026 07:28:00 GMT"] {
            check(value, None);
        }
    }

    #[test]
    fn huge_and_infinite_values_saturate_instead_of_panicking() {
        for value in ["1e300", "inf", "+infinity", "18446744073709551616", "1.9e19"] {
            check(value, Some(Duration::MAX));
        }
        check("Fri, 31 Dec 9999 23:59:59 GMT", Some(Duration::from_secs(253_402_300_799 - 1_792_567_680)));
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers, now()), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&headers, now()), Some(Duration::from_millis(250)));
        headers.insert("retry-after-ms", "1e308".parse().unwrap());
        assert_eq!(retry_after(&headers, now()), Some(Duration::MAX));
        assert_eq!(retry_after(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy =
            RetryPolicy { max_retries: 100, first_backoff: Duration::from_secs(1), max_wait: Duration::from_secs(10) };
        for (retry, full) in [(0, 1), (1, 2), (2, 4), (3, 8), (4, 10), (40, 10), (u32::MAX, 10)] {
            let wait = policy.wait(retry, None);
            let full = Duration::from_secs(full);
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?} of {full:?}");
        }
        assert_eq!(policy.wait(0, Some(Duration::MAX)), Duration::from_secs(10));
        assert_eq!(policy.wait(0, Some(Duration::from_secs(3))), Duration::from_secs(3));
    }

    #[tokio::test]
    async fn no_wait_passes_the_deadline_and_retries_are_counted() {
        let policy =
            RetryPolicy { max_retries: 2, first_backoff: Duration::from_millis(1), max_wait: Duration::from_secs(60) };
        let mut retries = Retries::new(policy, Instant::now() + Duration::from_secs(5));
        assert_eq!(retries.next_wait(Some(Duration::MAX)), Err(GiveUp::Deadline { wait: Duration::from_secs(60) }));
        assert_eq!(retries.next_wait(Some(Duration::from_secs(1))), Ok(Duration::from_secs(1)));
        assert!(retries.next_wait(None).is_ok());
        assert_eq!(retries.next_wait(None), Err(GiveUp::Exhausted { retries: 2 }));
        assert_eq!(retries.done(), 2);
        let mut late = Retries::new(policy, Instant::now());
        assert!(matches!(late.next_wait(Some(Duration::ZERO)), Err(GiveUp::Deadline { .. })));
    }
}
