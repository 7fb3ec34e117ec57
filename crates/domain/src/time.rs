//! Time as milliseconds since the Unix epoch, and the clock that produces it. The clock is passed
//! in, never read ambiently, so tests and deadline rules can control it.

use serde::{Deserialize, Serialize};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// The UTC calendar date, `YYYY-MM-DD` (the date printed on a privacy statement).
    pub fn date_utc(self) -> String {
        let (y, m, d) = civil_from_days(self.0.div_euclid(MILLIS_PER_DAY));
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// RFC 3339 in UTC with milliseconds: `2023-11-14T22:13:20.000Z`.
    pub fn rfc3339_utc(self) -> String {
        let ms = self.0.rem_euclid(MILLIS_PER_DAY);
        let (h, min, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        format!("{}T{h:02}:{min:02}:{s:02}.{milli:03}Z", self.date_utc())
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): Howard Hinnant's
/// `civil_from_days`, exact for every `i64` millisecond timestamp.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now(&self) -> Timestamp {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that stands still until moved: for tests of timeouts, lockouts and deadlines.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(at.0))
    }

    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(1_000));
        clock.advance(500);
        assert_eq!(clock.now(), Timestamp(1_500));
        clock.set(Timestamp(7));
        assert_eq!(clock.now(), Timestamp(7));
    }

    #[test]
    fn dates_and_rfc3339_are_utc() {
        assert_eq!(Timestamp(0).rfc3339_utc(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_700_000_000_000).rfc3339_utc(), "2023-11-14T22:13:20.000Z");
        assert_eq!(Timestamp(1_709_251_199_999).rfc3339_utc(), "2024-02-29T23:59:59.999Z");
        assert_eq!(Timestamp(1_709_251_200_000).date_utc(), "2024-03-01");
        assert_eq!(Timestamp(-1).rfc3339_utc(), "1969-12-31T23:59:59.999Z");
        assert_eq!(Timestamp(951_782_400_000).date_utc(), "2000-02-29");
    }

    #[test]
    fn system_clock_is_after_2025() {
        // 2025-01-01T00:00:00Z
        assert!(SystemClock.now() > Timestamp(1_735_689_600_000));
    }
}
