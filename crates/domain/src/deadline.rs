//! The legal deadlines of a data-subject request (Art. 12(3) GDPR; R-12-2, R-12-3, R-12-8 of
//! `gdpr-requirements.md`): when the answer is due, when it may be due at the latest, whether an
//! extension may still be taken, and how urgent a request is. Pure calendar arithmetic, no I/O.
//!
//! # The rule
//!
//! * **Receipt.** A request is received on the calendar day in Europe/Amsterdam on which its
//!   timestamp falls ([`amsterdam_date`]): 23:30 UTC on 31 March is 1 April in Amsterdam.
//!   Amsterdam is UTC+1, and UTC+2 from 01:00 UTC on the last Sunday of March until 01:00 UTC on
//!   the last Sunday of October (the EU summer-time rule, Directive 2000/84/EC). That rule is
//!   implemented here rather than read from a time-zone database, and is applied to every year.
//! * **One month** (Art. 12(3); Regulation 1182/71 art. 3(2)(c), applied to Art. 12(3) by EDPB
//!   Guidelines 01/2022 on the right of access, §5.3, as cited for R-12-2): the period starts the
//!   day after receipt and ends on the same day of the next month; if that day does not exist, on
//!   the last day of that month (31 January → 28 or 29 February, 31 March → 30 April). See
//!   [`add_months_clamped`].
//! * **Saturday, Sunday, public holiday** (Reg. 1182/71 art. 3(4)): a period that would end on such
//!   a day ends on the next working day ([`next_working_day_on_or_after`]). Only the last day moves;
//!   days inside the period are counted as they come.
//! * **At least two working days** (Reg. 1182/71 art. 3(5), likewise Algemene termijnenwet art. 2):
//!   a period of two days or more includes at least two working days. This never matters for a
//!   month; it can for a short promised response time such as `2d` ([`period_due_date`]).
//! * **A shorter promise.** When the register promises a shorter response time
//!   (`rights.response_time`, see [`PromisedPeriod`]), that period, computed by the same rules, is
//!   the due date if it is earlier ([`due_date`]).
//! * **Extension** (Art. 12(3), R-12-3): by two further months, so to three months after receipt
//!   under the same rules ([`extended_due_date`], which is also the `max_due_at` of R-12-2). Only
//!   a staff action with non-empty reasons, taken on or before the due date, may extend
//!   ([`check_extension`]). Art. 12(3) asks that the extension be communicated "within one month of
//!   receipt", and the due date is the last day of that month, so the due date itself is still in
//!   time; the day after is not.
//! * **Urgency** (R-12-8): alerts at seven and at two calendar days before the due date
//!   ([`urgency`]).
//!
//! # Dutch public holidays
//!
//! Reg. 1182/71 art. 2(1) takes the public holidays "designated as such in the Member State". The
//! Dutch designation used for statutory time limits is the Algemene termijnenwet (Atw), art. 3,
//! which we follow ([`is_dutch_public_holiday`]):
//!
//! * art. 3(1), the "algemeen erkende feestdagen": Nieuwjaarsdag (1 January), Tweede Paasdag (Easter
//!   Monday), Hemelvaartsdag (Easter + 39), Tweede Pinksterdag (Easter + 50), Eerste and Tweede
//!   Kerstdag (25 and 26 December), the day the King's birthday is celebrated (Koningsdag: 27 April,
//!   or Saturday 26 April when 27 April is a Sunday, the rule since 2014), and **5 May**
//!   (Bevrijdingsdag). Bevrijdingsdag counts **every year** under the Atw: the "once every five
//!   years" day off belongs to collective labour agreements, not to the law on time limits.
//! * art. 3(2): **Goede Vrijdag** (Easter − 2) is equated with those days "for the application of
//!   this law", so it **counts** too.
//! * Eerste Paasdag and Eerste Pinksterdag are not listed (they are Sundays anyway); they are named
//!   here for the calendar, which changes nothing.
//! * **Not counted:** the days equated by Royal decree under art. 3(3), published each few years in
//!   the Staatscourant (typically the Friday after Hemelvaartsdag, and bridge days next to holidays
//!   on a Tuesday or Thursday). They are decided case by case and cannot be computed; leaving them
//!   out can only make a due date earlier, never later. Nor do regional or religious days, 24 or
//!   31 December, or Koninginnedag (30 April, before 2014) count.
//!
//! The holidays are the law as in force since 2014, applied to every year; the GDPR applies from
//! 25 May 2018, so no request predates it. Easter is the Gregorian Easter of the anonymous
//! (Meeus/Jones/Butcher) computus ([`easter_sunday`]).
//!
//! With these holidays the longest run of days that are not working days is five, once Easter falls
//! on 25 April (2038: Goede Vrijdag 23 April, Saturday, Easter, Easter Monday, Koningsdag on Tuesday
//! 27 April), so a one-month due date is 28 to 36 days after receipt (36: received 23 March 2038,
//! due 28 April 2038).
//!
//! # Range
//!
//! Dates are [`time::Date`]s. Arithmetic that would leave its range (beyond the year 9999 without
//! the `large-dates` feature) saturates at [`Date::MAX`] or [`Date::MIN`]; no real request comes
//! near.
//!
//! Sources: Regulation (EEC, Euratom) No 1182/71, arts 2 and 3 (OJ L 124, 8.6.1971, p. 1); EDPB
//! Guidelines 01/2022 on data subject rights – right of access, §5.3; Algemene termijnenwet, arts 1
//! to 3 (wetten.overheid.nl); Directive 2000/84/EC on summer-time arrangements.

use ::time::{Date, Month, Weekday};

use crate::time::Timestamp;

const MILLIS_PER_DAY: i64 = 86_400_000;
const MILLIS_PER_HOUR: i64 = 3_600_000;
/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

// ---------------------------------------------------------------------------------------------
// Europe/Amsterdam

/// The offset of Amsterdam from UTC at `at`, in hours: 2 from 01:00 UTC on the last Sunday of
/// March until 01:00 UTC on the last Sunday of October, else 1.
pub fn amsterdam_utc_offset_hours(at: Timestamp) -> i64 {
    let ms = at.as_millis();
    let year = date_from_unix_days(ms.div_euclid(MILLIS_PER_DAY)).year();
    let switch =
        |month: Month| last_sunday(year, month).map(|sunday| unix_days(sunday) * MILLIS_PER_DAY + MILLIS_PER_HOUR);
    match (switch(Month::March), switch(Month::October)) {
        (Some(start), Some(end)) if (start..end).contains(&ms) => 2,
        _ => 1,
    }
}

/// The calendar day in Europe/Amsterdam at `at`: the day a request is received, or today for the
/// checks of [`check_extension`] and [`urgency`].
pub fn amsterdam_date(at: Timestamp) -> Date {
    let local = at.as_millis().saturating_add(amsterdam_utc_offset_hours(at) * MILLIS_PER_HOUR);
    date_from_unix_days(local.div_euclid(MILLIS_PER_DAY))
}

fn date_from_unix_days(days: i64) -> Date {
    let julian = days.saturating_add(UNIX_EPOCH_JULIAN_DAY);
    let beyond = if julian < 0 { Date::MIN } else { Date::MAX };
    i32::try_from(julian).ok().and_then(|j| Date::from_julian_day(j).ok()).unwrap_or(beyond)
}

fn unix_days(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
}

fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back = last.weekday().number_days_from_sunday();
    last.checked_sub(::time::Duration::days(i64::from(back)))
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic

/// `date` plus `months` calendar months: the same day of the month, or the last day of the target
/// month when that day does not exist there (31 January + 1 → 28 or 29 February).
pub fn add_months_clamped(date: Date, months: u32) -> Date {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let Ok(year) = i32::try_from(index.div_euclid(12)) else { return Date::MAX };
    // `rem_euclid(12)` is 0 to 11.
    let month = Month::January.nth_next(u8::try_from(index.rem_euclid(12)).unwrap_or(0));
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

fn add_days(date: Date, days: u64) -> Date {
    let days = i64::try_from(days).unwrap_or(i64::MAX);
    date.saturating_add(::time::Duration::days(days))
}

fn next_day(date: Date) -> Date {
    date.next_day().unwrap_or(date)
}

// ---------------------------------------------------------------------------------------------
// Holidays and working days

/// Gregorian Easter Sunday of `year` by the anonymous (Meeus/Jones/Butcher) computus; `None` when
/// the year lies outside the range of [`Date`].
#[allow(clippy::many_single_char_names)] // the letters of the published algorithm
pub fn easter_sunday(year: i32) -> Option<Date> {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let (b, c) = (y.div_euclid(100), y.rem_euclid(100));
    let (d, e) = (b.div_euclid(4), b.rem_euclid(4));
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let (i, k) = (c.div_euclid(4), c.rem_euclid(4));
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let n = h + l - 7 * m + 114;
    let month = Month::try_from(u8::try_from(n.div_euclid(31)).ok()?).ok()?;
    let day = u8::try_from(n.rem_euclid(31) + 1).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// The Dutch name of the public holiday on `date` under Atw art. 3 (see the module documentation),
/// or `None`. When Hemelvaartsdag falls on 5 May both names are given.
pub fn is_dutch_public_holiday(date: Date) -> Option<&'static str> {
    let (month, day) = (date.month(), date.day());
    let fixed = match (month, day) {
        (Month::January, 1) => Some("Nieuwjaarsdag"),
        (Month::April, 27) if date.weekday() != Weekday::Sunday => Some("Koningsdag"),
        (Month::April, 26) if date.weekday() == Weekday::Saturday => Some("Koningsdag"),
        (Month::May, 5) => Some("Bevrijdingsdag"),
        (Month::December, 25) => Some("Eerste Kerstdag"),
        (Month::December, 26) => Some("Tweede Kerstdag"),
        _ => None,
    };
    let movable = easter_sunday(date.year()).and_then(|easter| match (date - easter).whole_days() {
        -2 => Some("Goede Vrijdag"),
        0 => Some("Eerste Paasdag"),
        1 => Some("Tweede Paasdag"),
        39 => Some("Hemelvaartsdag"),
        49 => Some("Eerste Pinksterdag"),
        50 => Some("Tweede Pinksterdag"),
        _ => None,
    });
    match (fixed, movable) {
        // Easter on 27 March puts Hemelvaartsdag on 5 May (2016, then 2157); no other days can meet.
        (Some(_), Some(_)) => Some("Hemelvaartsdag en Bevrijdingsdag"),
        (one, other) => one.or(other),
    }
}

/// Monday to Friday, and not a public holiday.
pub fn is_working_day(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && is_dutch_public_holiday(date).is_none()
}

/// `date` if it is a working day, else the first working day after it.
pub fn next_working_day_on_or_after(date: Date) -> Date {
    let mut day = date;
    while !is_working_day(day) {
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    day
}

// ---------------------------------------------------------------------------------------------
// Due dates

/// A response period: the one month of Art. 12(3), the three months of an extension, or the
/// shorter response time a register promises.
///
/// The register's `Period` (`14d`, `2w`, `1m`; crates/register) maps unit for unit; a period in
/// years maps to twelve months per year.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PromisedPeriod {
    Days(u32),
    Weeks(u32),
    Months(u32),
}

/// The last day of `period` after a request received on `received`, under Reg. 1182/71 art. 3:
/// the period starts the day after receipt; a period in days ends `n` days later, in weeks on the
/// same weekday, in months on the same day of the month (or that month's last day); an end on a
/// Saturday, Sunday or public holiday moves to the next working day; and a period of two days or
/// more includes at least two working days. A period of zero days ends on the day of receipt, or
/// the next working day.
pub fn period_due_date(received: Date, period: PromisedPeriod) -> Date {
    let end = match period {
        PromisedPeriod::Days(n) => add_days(received, u64::from(n)),
        PromisedPeriod::Weeks(n) => add_days(received, u64::from(n) * 7),
        PromisedPeriod::Months(n) => add_months_clamped(received, n),
    };
    let due = next_working_day_on_or_after(end);
    if (end - received).whole_days() >= 2 {
        let first = next_working_day_on_or_after(next_day(received));
        let second = next_working_day_on_or_after(next_day(first));
        due.max(second)
    } else {
        due
    }
}

/// When the answer to a request received on `received` is due (`due_at`, R-12-2): one calendar
/// month, or the register's promised response time if that ends earlier.
pub fn due_date(received: Date, promise: Option<PromisedPeriod>) -> Date {
    let month = period_due_date(received, PromisedPeriod::Months(1));
    promise.map_or(month, |promise| month.min(period_due_date(received, promise)))
}

/// The due date after an extension by two further months: three months after receipt, under the
/// same rules. This is also the latest possible due date (`max_due_at`, R-12-2).
pub fn extended_due_date(received: Date) -> Date {
    period_due_date(received, PromisedPeriod::Months(3))
}

// ---------------------------------------------------------------------------------------------
// Extension

/// Why an extension is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ExtensionError {
    /// Taken after the due date: Art. 12(3) requires the extension within the first month.
    #[error("{}", self.message_en())]
    AfterDueDate { due: Date, today: Date },
    /// No reasons given: Art. 12(3) requires the reasons for the delay.
    #[error("{}", self.message_en())]
    WithoutReasons,
}

impl ExtensionError {
    /// Stable snake_case code for problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            ExtensionError::AfterDueDate { .. } => "extension_after_due_date",
            ExtensionError::WithoutReasons => "extension_without_reasons",
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            ExtensionError::AfterDueDate { due, today } => format!(
                "the period can no longer be extended: the answer was due on {}, and today is {}; an extension \
                 must be sent within the first month (Art. 12(3) GDPR)",
                long_date_en(*due),
                long_date_en(*today)
            ),
            ExtensionError::WithoutReasons => {
                "give the reasons for the extension: they are sent to the requester (Art. 12(3) GDPR)".to_owned()
            }
        }
    }

    pub fn message_nl(&self) -> String {
        match self {
            ExtensionError::AfterDueDate { due, today } => format!(
                "de termijn kan niet meer worden verlengd: het antwoord moest uiterlijk {} worden gegeven en \
                 vandaag is het {}; een verlenging moet binnen de eerste maand worden gemeld (art. 12 lid 3 AVG)",
                long_date_nl(*due),
                long_date_nl(*today)
            ),
            ExtensionError::WithoutReasons => {
                "geef de redenen voor de verlenging: die worden aan de verzoeker gemeld (art. 12 lid 3 AVG)".to_owned()
            }
        }
    }
}

/// Checks a staff action extending the period of a request received on `received` whose answer is
/// due on `due` (the due date in force, [`due_date`]), taken on `today` (Amsterdam,
/// [`amsterdam_date`]) with `reasons`. Allowed up to and including the due date, with reasons that
/// are not blank; returns the new due date, [`extended_due_date`] (never earlier than `due`). A
/// late action is reported before missing reasons, since no reasons can mend it.
pub fn check_extension(received: Date, due: Date, today: Date, reasons: &str) -> Result<Date, ExtensionError> {
    if today > due {
        return Err(ExtensionError::AfterDueDate { due, today });
    }
    if reasons.trim().is_empty() {
        return Err(ExtensionError::WithoutReasons);
    }
    Ok(extended_due_date(received).max(due))
}

// ---------------------------------------------------------------------------------------------
// Urgency

/// How close a request is to its due date (R-12-8: alerts at T-7 and T-2 days).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// The due date has passed.
    Overdue,
    /// Due today or within two days.
    #[serde(rename = "due_within_2_days")]
    DueWithin2Days,
    /// Due in three to seven days.
    #[serde(rename = "due_within_7_days")]
    DueWithin7Days,
    /// Due in more than seven days.
    OnTrack,
}

impl Urgency {
    /// Stable snake_case code, as serialised.
    pub fn code(self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::DueWithin2Days => "due_within_2_days",
            Urgency::DueWithin7Days => "due_within_7_days",
            Urgency::OnTrack => "on_track",
        }
    }
}

/// The urgency on `today` (Amsterdam) of an answer due on `due`, counted in calendar days.
pub fn urgency(today: Date, due: Date) -> Urgency {
    match (due - today).whole_days() {
        i64::MIN..=-1 => Urgency::Overdue,
        0..=2 => Urgency::DueWithin2Days,
        3..=7 => Urgency::DueWithin7Days,
        _ => Urgency::OnTrack,
    }
}

// ---------------------------------------------------------------------------------------------
// Dates in messages

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

fn long_date_en(date: Date) -> String {
    format!("{} {} {}", date.day(), MONTHS_EN[usize::from(u8::from(date.month())) - 1], date.year())
}

fn long_date_nl(date: Date) -> String {
    format!("{} {} {}", date.day(), MONTHS_NL[usize::from(u8::from(date.month())) - 1], date.year())
}
