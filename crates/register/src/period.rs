//! Durations in the register: retention periods, the response-time promise and cookie lifetimes.
//!
//! Written as a whole number and a unit, `0d` (at once), `30d`, `4w`, `6m`, `7y`, so a sweeper can
//! execute them and a DPO can read them.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest amount accepted in a period (`9999y`); keeps the arithmetic of a sweeper bounded.
pub const MAX_AMOUNT: u32 = 9999;

const PERIOD_PATTERN: &str = "^(0|[1-9][0-9]{0,3})[dwmy]$";

/// The unit of a [`Period`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PeriodUnit {
    Days,
    Weeks,
    Months,
    Years,
}

impl PeriodUnit {
    fn suffix(self) -> char {
        match self {
            PeriodUnit::Days => 'd',
            PeriodUnit::Weeks => 'w',
            PeriodUnit::Months => 'm',
            PeriodUnit::Years => 'y',
        }
    }
}

/// A calendar period such as `7y` or `0d`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Period {
    pub amount: u32,
    pub unit: PeriodUnit,
}

/// Why a string is not a period.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PeriodError;

impl fmt::Display for PeriodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a period is a whole number (0 to {MAX_AMOUNT}) followed by d, w, m or y, such as `0d`, `4w`, `6m` or `7y`"
        )
    }
}

impl std::error::Error for PeriodError {}

impl Period {
    pub const IMMEDIATELY: Period = Period { amount: 0, unit: PeriodUnit::Days };

    pub fn parse(raw: &str) -> Result<Period, PeriodError> {
        let unit = match raw.chars().last() {
            Some('d') => PeriodUnit::Days,
            Some('w') => PeriodUnit::Weeks,
            Some('m') => PeriodUnit::Months,
            Some('y') => PeriodUnit::Years,
            _ => return Err(PeriodError),
        };
        let digits = &raw[..raw.len() - 1];
        let canonical = !digits.is_empty()
            && digits.len() <= 4
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !canonical {
            return Err(PeriodError);
        }
        let amount = digits.parse::<u32>().map_err(|_| PeriodError)?;
        Ok(Period { amount, unit })
    }

    /// True when the period is zero: the action happens as soon as the event occurs.
    pub fn is_immediate(self) -> bool {
        self.amount == 0
    }

    /// True when the period can never be longer than one calendar month, whatever day it starts
    /// on (Art. 12(3)): up to 28 days, 4 weeks, or 1 month.
    pub fn within_one_month(self) -> bool {
        match self.unit {
            PeriodUnit::Days => self.amount <= 28,
            PeriodUnit::Weeks => self.amount <= 4,
            PeriodUnit::Months => self.amount <= 1,
            PeriodUnit::Years => self.amount == 0,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

impl FromStr for Period {
    type Err = PeriodError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::parse(s)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Period::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Period {
    fn schema_name() -> Cow<'static, str> {
        "Period".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": PERIOD_PATTERN,
            "description": "A whole number and a unit: d (days), w (weeks), m (months), y (years). `0d` means at once.",
            "examples": ["0d", "4w", "6m", "7y"]
        })
    }
}

/// How long a cookie or similar technology lives: `session` or a [`Period`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Lifetime {
    Session,
    Period(Period),
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lifetime::Session => f.write_str("session"),
            Lifetime::Period(period) => period.fmt(f),
        }
    }
}

impl Serialize for Lifetime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lifetime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        if raw == "session" {
            return Ok(Lifetime::Session);
        }
        Period::parse(&raw)
            .map(Lifetime::Period)
            .map_err(|_| serde::de::Error::custom(format!("a lifetime is `session` or a period: {PeriodError}")))
    }
}

impl JsonSchema for Lifetime {
    fn schema_name() -> Cow<'static, str> {
        "Lifetime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(session|(0|[1-9][0-9]{0,3})[dwmy])$",
            "description": "`session` (deleted when the browser closes) or a period such as `1y`.",
            "examples": ["session", "1y"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonical_periods() {
        for raw in ["0d", "30d", "4w", "6m", "7y", "9999y"] {
            assert_eq!(Period::parse(raw).map(|p| p.to_string()), Ok(raw.to_owned()));
        }
        assert_eq!(Period::parse("7y"), Ok(Period { amount: 7, unit: PeriodUnit::Years }));
    }

    #[test]
    fn refuses_other_spellings() {
        for raw in ["", "d", "7", "07y", "7Y", "7 y", "-1d", "10000d", "1.5y", "P7Y", "7yr"] {
            assert_eq!(Period::parse(raw), Err(PeriodError), "{raw}");
        }
    }

    #[test]
    fn one_month_bound_holds_for_every_start_day() {
        let inside = ["0d", "28d", "4w", "1m", "0y"];
        let outside = ["29d", "31d", "5w", "2m", "1y"];
        for raw in inside {
            assert!(Period::parse(raw).is_ok_and(Period::within_one_month), "{raw}");
        }
        for raw in outside {
            assert!(Period::parse(raw).is_ok_and(|p| !p.within_one_month()), "{raw}");
        }
    }
}
