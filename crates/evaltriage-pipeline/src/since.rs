//! `--since DATE|DURATION`: a start of a window, given as a date, a timestamp, or a duration back
//! from now.

use chrono::{DateTime, NaiveDate, Utc};

/// The start of a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Since {
    /// A moment, in milliseconds since the Unix epoch.
    At(f64),
    /// This many milliseconds before now.
    Ago(f64),
}

impl Since {
    /// The moment, in milliseconds since the Unix epoch, for a given now.
    pub fn ms(self, now_ms: f64) -> f64 {
        match self {
            Self::At(ms) => ms,
            Self::Ago(ms) => now_ms - ms,
        }
    }
}

/// Parses `2026-11-30` (midnight UTC), `2026-11-30T02:00:00Z` (RFC 3339), or `90m`, `24h`, `7d`,
/// `2w`.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let t = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let start = date.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp_millis());
        return start.map(|ms| Since::At(ms as f64)).ok_or_else(|| format!("{text:?} is not a date"));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(Since::At(at.with_timezone(&Utc).timestamp_millis() as f64));
    }
    let unit_ms = match t.chars().last() {
        Some('m') => 60_000.0,
        Some('h') => 3_600_000.0,
        Some('d') => 86_400_000.0,
        Some('w') => 7.0 * 86_400_000.0,
        _ => return Err(format!("{text:?} is not a date (2026-11-30), a timestamp or a duration (90m, 24h, 7d, 2w)")),
    };
    match t[..t.len() - 1].parse::<u32>() {
        Ok(n) => Ok(Since::Ago(f64::from(n) * unit_ms)),
        Err(_) => Err(format!("{text:?} is not a duration such as 90m, 24h, 7d or 2w")),
    }
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    Utc::now().timestamp_millis() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<f64, ()>) {
        let got = parse_since(text).map(|s| s.ms(1_000_000_000_000.0)).map_err(|_| ());
        assert_eq!(got, expected, "{text}");
    }

    #[test]
    fn dates_timestamps_and_durations() {
        check("2026-11-30", Ok(1_795_996_800_000.0));
        check("2026-11-30T02:00:00Z", Ok(1_796_004_000_000.0));
        check("24h", Ok(1_000_000_000_000.0 - 86_400_000.0));
        check("7d", Ok(1_000_000_000_000.0 - 7.0 * 86_400_000.0));
        check("90m", Ok(1_000_000_000_000.0 - 90.0 * 60_000.0));
        check("yesterday", Err(()));
        check("-5h", Err(()));
        check("h", Err(()));
    }
}
