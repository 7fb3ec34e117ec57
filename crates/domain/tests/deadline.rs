//! Integration tests of `kluis_domain::deadline`: due dates of data-subject requests under
//! Art. 12(3) GDPR and Reg. 1182/71 with the Dutch public holidays of the Algemene termijnenwet.
//!
//! Every expected date was worked out by hand (weekdays checked against a printed calendar), not
//! by the code under test; timestamps are built with the `time` crate, independently of
//! `amsterdam_date`.

use kluis_domain::Timestamp;
use kluis_domain::deadline::{
    ExtensionError, PromisedPeriod, Urgency, add_months_clamped, amsterdam_date, amsterdam_utc_offset_hours,
    check_extension, due_date, easter_sunday, extended_due_date, is_dutch_public_holiday, is_working_day,
    next_working_day_on_or_after, period_due_date, urgency,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use time::{Date, Month};

fn d(year: i32, month: u8, day: u8) -> Date {
    Date::from_calendar_date(year, Month::try_from(month).unwrap(), day).unwrap()
}

/// Milliseconds since the epoch of a UTC date and time, computed by the `time` crate.
fn utc(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8, milli: u16) -> Timestamp {
    let at = d(year, month, day).with_hms_milli(hour, minute, second, milli).unwrap().assume_utc();
    Timestamp::from_millis(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap())
}

fn one_month(received: Date) -> Date {
    due_date(received, None)
}

// ---------------------------------------------------------------------------------------------
// Easter

#[test]
fn easter_known_answers() {
    let known = [
        (1818, 3, 22),
        (1943, 4, 25),
        (2000, 4, 23),
        (2008, 3, 23),
        (2009, 4, 12),
        (2010, 4, 4),
        (2011, 4, 24),
        (2012, 4, 8),
        (2013, 3, 31),
        (2014, 4, 20),
        (2015, 4, 5),
        (2016, 3, 27),
        (2017, 4, 16),
        (2018, 4, 1),
        (2019, 4, 21),
        (2020, 4, 12),
        (2021, 4, 4),
        (2022, 4, 17),
        (2023, 4, 9),
        (2024, 3, 31),
        (2025, 4, 20),
        (2026, 4, 5),
        (2027, 3, 28),
        (2028, 4, 16),
        (2029, 4, 1),
        (2030, 4, 21),
        (2038, 4, 25),
        (2100, 3, 28),
        (2285, 3, 22),
    ];
    for (year, month, day) in known {
        assert_eq!(easter_sunday(year), Some(d(year, month, day)), "Easter {year}");
    }
}

// ---------------------------------------------------------------------------------------------
// Holidays

/// Every public holiday of `year`, in order, by walking the calendar.
fn holidays(year: i32) -> Vec<(Date, &'static str)> {
    let mut day = d(year, 1, 1);
    let mut found = Vec::new();
    while day.year() == year {
        if let Some(name) = is_dutch_public_holiday(day) {
            found.push((day, name));
        }
        day = day.next_day().unwrap();
    }
    found
}

#[test]
fn holidays_of_2026() {
    assert_eq!(
        holidays(2026),
        [
            (d(2026, 1, 1), "Nieuwjaarsdag"),
            (d(2026, 4, 3), "Goede Vrijdag"),
            (d(2026, 4, 5), "Eerste Paasdag"),
            (d(2026, 4, 6), "Tweede Paasdag"),
            (d(2026, 4, 27), "Koningsdag"),
            (d(2026, 5, 5), "Bevrijdingsdag"),
            (d(2026, 5, 14), "Hemelvaartsdag"),
            (d(2026, 5, 24), "Eerste Pinksterdag"),
            (d(2026, 5, 25), "Tweede Pinksterdag"),
            (d(2026, 12, 25), "Eerste Kerstdag"),
            (d(2026, 12, 26), "Tweede Kerstdag"),
        ]
    );
}

#[test]
fn holidays_of_2025_with_koningsdag_on_saturday_26_april() {
    // 27 April 2025 is a Sunday, so Koningsdag is Saturday 26 April.
    assert_eq!(
        holidays(2025),
        [
            (d(2025, 1, 1), "Nieuwjaarsdag"),
            (d(2025, 4, 18), "Goede Vrijdag"),
            (d(2025, 4, 20), "Eerste Paasdag"),
            (d(2025, 4, 21), "Tweede Paasdag"),
            (d(2025, 4, 26), "Koningsdag"),
            (d(2025, 5, 5), "Bevrijdingsdag"),
            (d(2025, 5, 29), "Hemelvaartsdag"),
            (d(2025, 6, 8), "Eerste Pinksterdag"),
            (d(2025, 6, 9), "Tweede Pinksterdag"),
            (d(2025, 12, 25), "Eerste Kerstdag"),
            (d(2025, 12, 26), "Tweede Kerstdag"),
        ]
    );
    assert_eq!(is_dutch_public_holiday(d(2025, 4, 27)), None);
}

#[test]
fn koningsdag_moves_only_off_a_sunday() {
    // 2031: 27 April is a Sunday → Saturday 26 April.
    assert_eq!(is_dutch_public_holiday(d(2031, 4, 26)), Some("Koningsdag"));
    assert_eq!(is_dutch_public_holiday(d(2031, 4, 27)), None);
    // 2037: 26 April is a Sunday, 27 April a Monday: Koningsdag stays on the 27th.
    assert_eq!(is_dutch_public_holiday(d(2037, 4, 26)), None);
    assert_eq!(is_dutch_public_holiday(d(2037, 4, 27)), Some("Koningsdag"));
    // 2024: 27 April is a Saturday, and stays Koningsdag; 26 April is an ordinary Friday.
    assert_eq!(is_dutch_public_holiday(d(2024, 4, 27)), Some("Koningsdag"));
    assert_eq!(is_dutch_public_holiday(d(2024, 4, 26)), None);
    assert!(is_working_day(d(2024, 4, 26)));
}

#[test]
fn bevrijdingsdag_counts_every_year_not_only_every_fifth() {
    for year in [2026, 2027, 2028, 2029, 2030, 2031] {
        assert!(
            matches!(is_dutch_public_holiday(d(year, 5, 5)), Some(name) if name.contains("Bevrijdingsdag")),
            "{year}"
        );
    }
    assert!(!is_working_day(d(2027, 5, 5))); // a Wednesday
}

#[test]
fn hemelvaartsdag_on_5_may_gives_both_names() {
    // Easter 27 March 2016 + 39 days = Thursday 5 May 2016.
    assert_eq!(is_dutch_public_holiday(d(2016, 5, 5)), Some("Hemelvaartsdag en Bevrijdingsdag"));
    assert_eq!(holidays(2016).len(), 10);
}

#[test]
fn goede_vrijdag_counts_under_atw_article_3_2() {
    assert_eq!(is_dutch_public_holiday(d(2022, 4, 15)), Some("Goede Vrijdag"));
    assert_eq!(is_dutch_public_holiday(d(2024, 3, 29)), Some("Goede Vrijdag"));
    assert!(!is_working_day(d(2026, 4, 3)));
}

#[test]
fn days_that_are_not_holidays() {
    for (y, m, day) in [
        (2026, 5, 15),  // Friday after Hemelvaartsdag (only by Royal decree, not computed)
        (2026, 12, 24), // Christmas Eve
        (2026, 12, 31), // New Year's Eve
        (2026, 4, 30),  // the old Koninginnedag
        (2026, 4, 2),   // Witte Donderdag
        (2026, 5, 1),   // Labour Day
        (2026, 12, 5),  // Sinterklaas
    ] {
        assert_eq!(is_dutch_public_holiday(d(y, m, day)), None, "{y}-{m}-{day}");
    }
    assert!(is_working_day(d(2026, 5, 15)));
    assert!(is_working_day(d(2026, 12, 24)));
    assert!(is_working_day(d(2026, 12, 31)));
}

#[test]
fn weekends_are_not_working_days() {
    assert!(!is_working_day(d(2026, 3, 7))); // Saturday
    assert!(!is_working_day(d(2026, 3, 8))); // Sunday
    assert!(is_working_day(d(2026, 3, 9))); // Monday
    assert_eq!(next_working_day_on_or_after(d(2026, 3, 7)), d(2026, 3, 9));
    assert_eq!(next_working_day_on_or_after(d(2026, 3, 9)), d(2026, 3, 9));
    // Goede Vrijdag to Tweede Paasdag 2026.
    assert_eq!(next_working_day_on_or_after(d(2026, 4, 3)), d(2026, 4, 7));
}

// ---------------------------------------------------------------------------------------------
// Months

#[test]
fn add_months_clamps_to_the_end_of_the_month() {
    assert_eq!(add_months_clamped(d(2026, 1, 31), 1), d(2026, 2, 28));
    assert_eq!(add_months_clamped(d(2028, 1, 31), 1), d(2028, 2, 29));
    assert_eq!(add_months_clamped(d(2026, 3, 31), 1), d(2026, 4, 30));
    assert_eq!(add_months_clamped(d(2027, 1, 30), 1), d(2027, 2, 28));
    assert_eq!(add_months_clamped(d(2028, 2, 29), 1), d(2028, 3, 29));
    assert_eq!(add_months_clamped(d(2026, 8, 31), 1), d(2026, 9, 30));
    assert_eq!(add_months_clamped(d(2026, 12, 15), 1), d(2027, 1, 15));
    assert_eq!(add_months_clamped(d(2026, 11, 30), 3), d(2027, 2, 28));
    assert_eq!(add_months_clamped(d(2026, 5, 31), 0), d(2026, 5, 31));
    assert_eq!(add_months_clamped(d(2026, 5, 31), 25), d(2028, 6, 30));
}

#[test]
fn century_leap_years() {
    // 2100 is not a leap year (divisible by 100, not by 400); 2000 was.
    assert_eq!(add_months_clamped(d(2100, 1, 29), 1), d(2100, 2, 28));
    assert_eq!(add_months_clamped(d(2100, 1, 31), 1), d(2100, 2, 28));
    assert_eq!(add_months_clamped(d(2000, 1, 31), 1), d(2000, 2, 29));
    // 28 February 2100 is a Sunday.
    assert_eq!(one_month(d(2100, 1, 31)), d(2100, 3, 1));
}

#[test]
fn add_months_saturates_at_the_end_of_the_range() {
    assert_eq!(add_months_clamped(Date::MAX, 1), Date::MAX);
    assert_eq!(add_months_clamped(d(2026, 1, 1), u32::MAX), Date::MAX);
}

// ---------------------------------------------------------------------------------------------
// One-month due dates

#[test]
fn due_on_the_same_day_next_month() {
    assert_eq!(one_month(d(2026, 3, 17)), d(2026, 4, 17)); // Friday
    assert_eq!(one_month(d(2028, 2, 29)), d(2028, 3, 29)); // Wednesday
    assert_eq!(one_month(d(2028, 1, 31)), d(2028, 2, 29)); // Tuesday, leap day
    assert_eq!(one_month(d(2026, 3, 31)), d(2026, 4, 30)); // Thursday
}

#[test]
fn month_end_on_a_weekend_moves_to_monday() {
    // 31 Jan 2026 → 28 Feb 2026, a Saturday → Monday 2 March.
    assert_eq!(one_month(d(2026, 1, 31)), d(2026, 3, 2));
    // 30 Jan 2027 → 28 Feb 2027, a Sunday → Monday 1 March.
    assert_eq!(one_month(d(2027, 1, 30)), d(2027, 3, 1));
}

#[test]
fn due_on_koningsdag_moves() {
    // 27 April 2026 is a Monday.
    assert_eq!(one_month(d(2026, 3, 27)), d(2026, 4, 28));
}

#[test]
fn due_on_bevrijdingsdag_moves() {
    // Tuesday 5 May 2026 → Wednesday 6 May.
    assert_eq!(one_month(d(2026, 4, 5)), d(2026, 5, 6));
}

#[test]
fn due_on_hemelvaartsdag_moves_to_the_friday() {
    // Thursday 14 May 2026 → Friday 15 May (the Friday is not a holiday under the Atw itself).
    assert_eq!(one_month(d(2026, 4, 14)), d(2026, 5, 15));
}

#[test]
fn due_on_pinksteren_moves() {
    // Monday 25 May 2026, Tweede Pinksterdag → Tuesday 26 May.
    assert_eq!(one_month(d(2026, 4, 25)), d(2026, 5, 26));
    // Sunday 24 May 2026, Eerste Pinksterdag, then Tweede → Tuesday 26 May.
    assert_eq!(one_month(d(2026, 4, 24)), d(2026, 5, 26));
}

#[test]
fn due_on_goede_vrijdag_moves_past_easter() {
    // Friday 3 April 2026 (Goede Vrijdag), Saturday, Easter Sunday, Easter Monday → Tuesday 7 April.
    assert_eq!(one_month(d(2026, 3, 3)), d(2026, 4, 7));
}

#[test]
fn christmas_chain() {
    // 25 Dec 2026 (Friday) → 26 (Saturday) → 27 (Sunday) → Monday 28 Dec.
    assert_eq!(one_month(d(2026, 11, 25)), d(2026, 12, 28));
    // 25 Dec 2025 (Thursday), 26 (Friday), weekend → Monday 29 Dec.
    assert_eq!(one_month(d(2025, 11, 25)), d(2025, 12, 29));
}

#[test]
fn new_year() {
    // 1 January 2027 is a Friday → Monday 4 January.
    assert_eq!(one_month(d(2026, 12, 1)), d(2027, 1, 4));
}

#[test]
fn the_longest_chain_easter_on_25_april_2038() {
    // Goede Vrijdag 23 April, Saturday, Easter 25, Easter Monday 26, Koningsdag Tuesday 27 April
    // → Wednesday 28 April: 36 days after receipt on 23 March.
    let received = d(2038, 3, 23);
    assert_eq!(one_month(received), d(2038, 4, 28));
    assert_eq!((one_month(received) - received).whole_days(), 36);
}

// ---------------------------------------------------------------------------------------------
// Promised (shorter) response times

#[test]
fn a_shorter_promise_is_the_due_date() {
    let received = d(2026, 3, 3); // Tuesday
    assert_eq!(due_date(received, Some(PromisedPeriod::Weeks(2))), d(2026, 3, 17));
    assert_eq!(due_date(received, Some(PromisedPeriod::Days(28))), d(2026, 3, 31));
    // 7 March is a Saturday → Monday 9 March.
    assert_eq!(due_date(received, Some(PromisedPeriod::Days(4))), d(2026, 3, 9));
    assert_eq!(due_date(received, Some(PromisedPeriod::Months(1))), d(2026, 4, 7));
}

#[test]
fn a_longer_promise_does_not_extend_the_month() {
    let received = d(2026, 3, 3);
    assert_eq!(due_date(received, Some(PromisedPeriod::Months(2))), d(2026, 4, 7));
    // 31 Jan 2027 + 30 days = Tuesday 2 March; one month is 28 Feb (Sunday) → Monday 1 March.
    assert_eq!(due_date(d(2027, 1, 31), Some(PromisedPeriod::Days(30))), d(2027, 3, 1));
}

#[test]
fn short_promises_include_two_working_days() {
    let friday = d(2026, 3, 6);
    // 2 days: Sunday → Monday 9 March, which holds only one working day → Tuesday 10 March.
    assert_eq!(period_due_date(friday, PromisedPeriod::Days(2)), d(2026, 3, 10));
    // 1 day: Saturday → Monday; a one-day period needs no second working day.
    assert_eq!(period_due_date(friday, PromisedPeriod::Days(1)), d(2026, 3, 9));
    // 0 days: the day of receipt, or the next working day.
    assert_eq!(period_due_date(friday, PromisedPeriod::Days(0)), friday);
    assert_eq!(period_due_date(d(2026, 3, 7), PromisedPeriod::Days(0)), d(2026, 3, 9));
    // 3 days from Tuesday: Friday, with Wednesday to Friday inside.
    assert_eq!(period_due_date(d(2026, 3, 3), PromisedPeriod::Days(3)), d(2026, 3, 6));
}

// ---------------------------------------------------------------------------------------------
// Amsterdam calendar day

#[test]
fn received_in_amsterdam_in_winter() {
    // CET, UTC+1.
    assert_eq!(amsterdam_date(utc(2026, 1, 31, 22, 59, 59, 999)), d(2026, 1, 31));
    assert_eq!(amsterdam_date(utc(2026, 1, 31, 23, 0, 0, 0)), d(2026, 2, 1));
    assert_eq!(amsterdam_date(utc(2026, 12, 31, 23, 0, 0, 0)), d(2027, 1, 1));
    assert_eq!(amsterdam_date(utc(2026, 12, 31, 22, 59, 59, 999)), d(2026, 12, 31));
    assert_eq!(amsterdam_date(utc(2026, 2, 1, 0, 30, 0, 0)), d(2026, 2, 1));
}

#[test]
fn received_in_amsterdam_in_summer() {
    // CEST, UTC+2.
    assert_eq!(amsterdam_date(utc(2026, 6, 30, 21, 59, 59, 999)), d(2026, 6, 30));
    assert_eq!(amsterdam_date(utc(2026, 6, 30, 22, 0, 0, 0)), d(2026, 7, 1));
    assert_eq!(amsterdam_date(utc(2026, 3, 31, 23, 30, 0, 0)), d(2026, 4, 1));
}

#[test]
fn summer_time_starts_on_the_last_sunday_of_march_at_one_utc() {
    // 2026: Sunday 29 March; 2025: Sunday 30 March.
    assert_eq!(amsterdam_utc_offset_hours(utc(2026, 3, 29, 0, 59, 59, 999)), 1);
    assert_eq!(amsterdam_utc_offset_hours(utc(2026, 3, 29, 1, 0, 0, 0)), 2);
    assert_eq!(amsterdam_utc_offset_hours(utc(2025, 3, 30, 0, 59, 59, 999)), 1);
    assert_eq!(amsterdam_utc_offset_hours(utc(2025, 3, 30, 1, 0, 0, 0)), 2);
    assert_eq!(amsterdam_utc_offset_hours(utc(2026, 3, 22, 12, 0, 0, 0)), 1); // a Sunday, not the last
    // Midnight before the switch is at 23:00 UTC, the one after at 22:00 UTC.
    assert_eq!(amsterdam_date(utc(2026, 3, 28, 22, 59, 59, 999)), d(2026, 3, 28));
    assert_eq!(amsterdam_date(utc(2026, 3, 28, 23, 0, 0, 0)), d(2026, 3, 29));
    assert_eq!(amsterdam_date(utc(2026, 3, 29, 21, 59, 59, 999)), d(2026, 3, 29));
    assert_eq!(amsterdam_date(utc(2026, 3, 29, 22, 0, 0, 0)), d(2026, 3, 30));
}

#[test]
fn summer_time_ends_on_the_last_sunday_of_october_at_one_utc() {
    // 2026: Sunday 25 October; 2025: Sunday 26 October.
    assert_eq!(amsterdam_utc_offset_hours(utc(2026, 10, 25, 0, 59, 59, 999)), 2);
    assert_eq!(amsterdam_utc_offset_hours(utc(2026, 10, 25, 1, 0, 0, 0)), 1);
    assert_eq!(amsterdam_utc_offset_hours(utc(2025, 10, 26, 0, 59, 59, 999)), 2);
    assert_eq!(amsterdam_utc_offset_hours(utc(2025, 10, 26, 1, 0, 0, 0)), 1);
    assert_eq!(amsterdam_utc_offset_hours(utc(2026, 10, 18, 12, 0, 0, 0)), 2); // a Sunday, not the last
    // Midnight before the switch is at 22:00 UTC, the one after at 23:00 UTC.
    assert_eq!(amsterdam_date(utc(2026, 10, 24, 21, 59, 59, 999)), d(2026, 10, 24));
    assert_eq!(amsterdam_date(utc(2026, 10, 24, 22, 0, 0, 0)), d(2026, 10, 25));
    assert_eq!(amsterdam_date(utc(2026, 10, 25, 22, 59, 59, 999)), d(2026, 10, 25));
    assert_eq!(amsterdam_date(utc(2026, 10, 25, 23, 0, 0, 0)), d(2026, 10, 26));
}

#[test]
fn the_due_date_counts_from_the_amsterdam_day() {
    // 22:30 UTC on Monday 15 June 2026 is 00:30 on Tuesday 16 June in Amsterdam: due Thursday
    // 16 July, not Wednesday 15 July.
    let received = amsterdam_date(utc(2026, 6, 15, 22, 30, 0, 0));
    assert_eq!(received, d(2026, 6, 16));
    assert_eq!(one_month(received), d(2026, 7, 16));
}

#[test]
fn extreme_timestamps_saturate() {
    assert_eq!(amsterdam_date(Timestamp::from_millis(i64::MAX)), Date::MAX);
    assert_eq!(amsterdam_date(Timestamp::from_millis(i64::MIN)), Date::MIN);
    assert_eq!(amsterdam_date(Timestamp::from_millis(0)), d(1970, 1, 1));
}

// ---------------------------------------------------------------------------------------------
// Extension

#[test]
fn extension_gives_three_months() {
    // Received Tuesday 3 March 2026: due Tuesday 7 April; extended to Wednesday 3 June.
    let received = d(2026, 3, 3);
    assert_eq!(extended_due_date(received), d(2026, 6, 3));
    // 30 Nov 2026 + 3 months = 28 Feb 2027 (clamped), a Sunday → Monday 1 March.
    assert_eq!(extended_due_date(d(2026, 11, 30)), d(2027, 3, 1));
}

#[test]
fn extension_is_allowed_up_to_and_on_the_due_date() {
    let (received, due) = (d(2026, 3, 3), d(2026, 4, 7));
    assert_eq!(check_extension(received, due, d(2026, 3, 3), "many requests"), Ok(d(2026, 6, 3)));
    assert_eq!(check_extension(received, due, d(2026, 4, 7), "complex request"), Ok(d(2026, 6, 3)));
}

#[test]
fn extension_after_the_due_date_is_refused() {
    let (received, due) = (d(2026, 3, 3), d(2026, 4, 7));
    let late = check_extension(received, due, d(2026, 4, 8), "complex request");
    assert_eq!(late, Err(ExtensionError::AfterDueDate { due, today: d(2026, 4, 8) }));
    let error = late.unwrap_err();
    assert_eq!(error.code(), "extension_after_due_date");
    assert!(error.message_en().contains("7 April 2026"), "{}", error.message_en());
    assert!(error.message_en().contains("8 April 2026"), "{}", error.message_en());
    assert!(error.message_nl().contains("7 april 2026"), "{}", error.message_nl());
    assert!(error.message_nl().contains("art. 12 lid 3 AVG"), "{}", error.message_nl());
    assert_eq!(error.to_string(), error.message_en());
    // Late and without reasons: lateness is reported.
    assert_eq!(
        check_extension(received, due, d(2026, 5, 1), ""),
        Err(ExtensionError::AfterDueDate { due, today: d(2026, 5, 1) })
    );
}

#[test]
fn extension_without_reasons_is_refused() {
    let (received, due) = (d(2026, 3, 3), d(2026, 4, 7));
    for reasons in ["", " ", "\n\t "] {
        let error = check_extension(received, due, d(2026, 3, 20), reasons).unwrap_err();
        assert_eq!(error, ExtensionError::WithoutReasons);
        assert_eq!(error.code(), "extension_without_reasons");
        assert!(error.message_en().contains("reasons"));
        assert!(error.message_nl().contains("redenen"));
    }
}

// ---------------------------------------------------------------------------------------------
// Urgency

#[test]
fn urgency_at_seven_and_two_days() {
    let due = d(2026, 4, 7);
    assert_eq!(urgency(d(2026, 3, 30), due), Urgency::OnTrack); // 8 days
    assert_eq!(urgency(d(2026, 3, 31), due), Urgency::DueWithin7Days); // 7 days
    assert_eq!(urgency(d(2026, 4, 4), due), Urgency::DueWithin7Days); // 3 days
    assert_eq!(urgency(d(2026, 4, 5), due), Urgency::DueWithin2Days); // 2 days
    assert_eq!(urgency(d(2026, 4, 7), due), Urgency::DueWithin2Days); // due today
    assert_eq!(urgency(d(2026, 4, 8), due), Urgency::Overdue);
    assert_eq!(urgency(d(2027, 1, 1), due), Urgency::Overdue);
}

#[test]
fn urgency_codes_are_stable() {
    assert_eq!(Urgency::Overdue.code(), "overdue");
    assert_eq!(Urgency::DueWithin2Days.code(), "due_within_2_days");
    assert_eq!(Urgency::DueWithin7Days.code(), "due_within_7_days");
    assert_eq!(Urgency::OnTrack.code(), "on_track");
    for u in [Urgency::Overdue, Urgency::DueWithin2Days, Urgency::DueWithin7Days, Urgency::OnTrack] {
        assert_eq!(serde_json::to_string(&u).unwrap(), format!("\"{}\"", u.code()));
    }
}

// ---------------------------------------------------------------------------------------------
// Whole-calendar checks

#[test]
fn one_month_is_28_to_36_days_and_36_is_reached() {
    let mut received = d(2018, 1, 1);
    let mut longest = (0, received);
    while received.year() <= 2400 {
        let days = (one_month(received) - received).whole_days();
        assert!((28..=36).contains(&days), "{received}: {days} days");
        if days > longest.0 {
            longest = (days, received);
        }
        received = received.next_day().unwrap();
    }
    assert_eq!(longest, (36, d(2038, 3, 23)));
}

#[test]
fn movable_holidays_fall_on_their_weekdays() {
    use time::Weekday;
    for year in 2018..=2400 {
        let easter = easter_sunday(year).unwrap();
        assert_eq!(easter.weekday(), Weekday::Sunday, "{year}");
        assert!(d(year, 3, 22) <= easter && easter <= d(year, 4, 25), "{year}: {easter}");
        let names: Vec<_> = holidays(year).into_iter().map(|(day, name)| (day.weekday(), name)).collect();
        for (weekday, name) in names {
            match name {
                "Goede Vrijdag" => assert_eq!(weekday, Weekday::Friday),
                "Eerste Paasdag" | "Eerste Pinksterdag" => assert_eq!(weekday, Weekday::Sunday),
                "Tweede Paasdag" | "Tweede Pinksterdag" => assert_eq!(weekday, Weekday::Monday),
                "Hemelvaartsdag" | "Hemelvaartsdag en Bevrijdingsdag" => assert_eq!(weekday, Weekday::Thursday),
                "Koningsdag" => assert_ne!(weekday, Weekday::Sunday),
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/deadline.txt"))),
        ..ProptestConfig::default()
    }
}

/// A date from 2018-01-01 (Julian day 2,458,120) to 2200-12-31 (2,524,958).
fn date() -> impl Strategy<Value = Date> {
    (2_458_120..=2_524_958i32).prop_map(|j| Date::from_julian_day(j).unwrap())
}

fn promise() -> impl Strategy<Value = PromisedPeriod> {
    prop_oneof![
        (0..=40u32).prop_map(PromisedPeriod::Days),
        (0..=6u32).prop_map(PromisedPeriod::Weeks),
        (0..=3u32).prop_map(PromisedPeriod::Months),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn due_date_is_a_working_day_28_to_36_days_on(received in date()) {
        let due = one_month(received);
        prop_assert!(is_working_day(due));
        let days = (due - received).whole_days();
        prop_assert!((28..=36).contains(&days), "{} days", days);
    }

    #[test]
    fn due_date_is_monotone(a in date(), b in date()) {
        let (early, late) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(one_month(early) <= one_month(late));
        prop_assert!(extended_due_date(early) <= extended_due_date(late));
    }

    #[test]
    fn extended_due_date_is_a_later_working_day(received in date(), promise in proptest::option::of(promise())) {
        let due = due_date(received, promise);
        let extended = extended_due_date(received);
        prop_assert!(is_working_day(extended));
        prop_assert!(extended >= due);
        prop_assert!(extended >= add_months_clamped(received, 3));
        prop_assert_eq!(check_extension(received, due, due, "reasons"), Ok(extended));
    }

    #[test]
    fn a_promise_never_makes_the_due_date_later(received in date(), promise in promise()) {
        let promised = due_date(received, Some(promise));
        prop_assert!(is_working_day(promised));
        prop_assert!(promised >= received);
        prop_assert!(promised <= one_month(received));
    }

    #[test]
    fn the_amsterdam_day_is_the_utc_day_or_the_next(ms in -4_102_444_800_000i64..=7_258_118_400_000) {
        let at = Timestamp::from_millis(ms);
        let offset = amsterdam_utc_offset_hours(at);
        prop_assert!(offset == 1 || offset == 2);
        let local = amsterdam_date(at);
        let utc_day = Date::from_julian_day(i32::try_from(ms.div_euclid(86_400_000) + 2_440_588).unwrap()).unwrap();
        prop_assert!(local == utc_day || Some(local) == utc_day.next_day());
        prop_assert!(amsterdam_date(Timestamp::from_millis(ms + 3_600_000)) >= local);
    }
}
