//! `kluis-bench export`: the access-export budget of DESIGN §6.
//!
//! One subject with `--values` values (default 1,000) and `--events` audit events (default
//! 10,000) under `examples/hosting-provider.toml`: building the `AccessExport` (the Art. 15
//! information derived from the register), rendering it as JSON, as the CSV zip and as HTML, each
//! timed `--runs` times, interleaved run by run with the baseline: `serde_json::to_vec` of the
//! same raw input (the value and event tuples), which is the least any export of these data costs.
//! Medians are reported. CPU only: no database, no decryption (the vault's part is measured by
//! `http` and `import`).

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use kluis_export::{AccessExport, EventInput, RegisterInput, SubjectInput, ValueInput};
use kluis_register::Lang;

use crate::audit::parse_count;
use crate::stats::{Latencies, Rng, count, dur, ratio, times};

/// DESIGN §6: an access export of a subject with 1,000 values and 10,000 events in ≤ 50 ms.
const TARGET: Duration = Duration::from_millis(50);
const REGISTER: &str = include_str!("../../../examples/hosting-provider.toml");

/// Options of `kluis-bench export`.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Values of the subject. Accepts 1k, ….
    #[arg(long, default_value = "1k", value_parser = parse_count)]
    values: u64,
    /// Audit events about the subject. Accepts 10k, ….
    #[arg(long, default_value = "10k", value_parser = parse_count)]
    events: u64,
    /// Timed runs of every step (the median is reported); one untimed warm-up run comes first.
    #[arg(long, default_value_t = 31)]
    runs: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// A value as the baseline serialises it: field, category, label NL, label EN, value.
type RawValue = (String, String, String, String, String);
/// An event as the baseline serialises it: seq, time, actor, action, purpose, fields, outcome.
type RawEvent = (u64, i64, String, String, Option<String>, Vec<String>, String);

/// Fields of the catalogue (and two the register knows but the catalogue does not), with their
/// categories and labels, so the values spread over most of the register's purposes.
const FIELDS: [(&str, &str, &str, &str); 12] = [
    ("first_names", "user.name.first", "Voornamen", "First names"),
    ("last_name", "user.name.last", "Achternaam", "Last name"),
    ("email", "user.contact.email", "E-mailadres", "E-mail address"),
    ("phone", "user.contact.phone_number", "Telefoonnummer", "Phone number"),
    ("iban", "user.financial.bank_account", "IBAN", "IBAN"),
    ("street", "user.contact.address.street", "Straat", "Street"),
    ("postcode", "user.contact.address.postal_code", "Postcode", "Postcode"),
    ("city", "user.contact.address.city", "Plaats", "City"),
    ("company_name", "user.workplace", "Bedrijfsnaam", "Company name"),
    ("customer_number", "user.unique_id", "Klantnummer", "Customer number"),
    ("ip_address", "user.device.ip_address", "IP-adres", "IP address"),
    ("call_record", "user.communication.call_record", "Gespreksgegevens", "Call record"),
];
const ACTORS: [&str; 4] = ["staff", "application", "system", "cli"];
const ACTIONS: [&str; 5] = ["subject.read", "subject.find", "subject.update", "subject.create", "subject.restrict"];
const OUTCOMES: [&str; 3] = ["ok", "ok", "denied"];

fn generate(rng: &mut Rng, values: u64, events: u64, purposes: &[String]) -> (Vec<RawValue>, Vec<RawEvent>) {
    let raw_values = (0..values)
        .map(|i| {
            let (field, category, nl, en) = *rng.pick(&FIELDS);
            let value = match field {
                "phone" => format!("+316{:08}", rng.below(100_000_000)),
                "email" => format!("klant.{i}@example.nl"),
                "iban" => format!("NL{:02}KLUI{:010}", rng.below(100), rng.below(10_000_000_000)),
                "ip_address" => format!("192.0.2.{}", rng.below(256)),
                "city" => "Den Haag, \"Zuid\"".to_owned(),
                _ => format!("{field} waarde {i} <b>&</b>"),
            };
            (field.to_owned(), category.to_owned(), nl.to_owned(), en.to_owned(), value)
        })
        .collect();
    let start_ms = 1_704_067_200_000_i64; // 2024-01-01
    let raw_events = (0..events)
        .map(|i| {
            let fields: Vec<String> = (0..=rng.below(3)).map(|_| rng.pick(&FIELDS).0.to_owned()).collect();
            let purpose = (rng.percent() < 90).then(|| rng.pick(purposes).clone());
            let offset = i64::try_from(i).unwrap_or(0) * 60_000 + i64::try_from(rng.below(60_000)).unwrap_or(0);
            (
                i + 1,
                start_ms + offset,
                (*rng.pick(&ACTORS)).to_owned(),
                (*rng.pick(&ACTIONS)).to_owned(),
                purpose,
                fields,
                (*rng.pick(&OUTCOMES)).to_owned(),
            )
        })
        .collect();
    (raw_values, raw_events)
}

#[derive(Debug, Default)]
struct Samples {
    baseline: Vec<Duration>,
    build: Vec<Duration>,
    json: Vec<Duration>,
    zip: Vec<Duration>,
    html: Vec<Duration>,
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = black_box(f());
    (t.elapsed(), out)
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.runs > 0, "--runs must be positive");
    let register = kluis_register::check(REGISTER)
        .map_err(|d| anyhow::anyhow!("examples/hosting-provider.toml does not pass check: {d:?}"))?;
    let purposes: Vec<String> = register.purposes.keys().cloned().collect();
    let mut rng = Rng::new(options.seed);
    let (raw_values, raw_events) = generate(&mut rng, options.values, options.events, &purposes);
    let subject = SubjectInput {
        id: "0190f2a4-0000-7000-8000-000000000001".to_owned(),
        kind: "customer".to_owned(),
        created_at_ms: 1_704_067_200_000,
        restricted: false,
        archived_until_ms: None,
        values: raw_values
            .iter()
            .map(|(field, category, label_nl, label_en, value)| ValueInput {
                field: field.clone(),
                category: category.clone(),
                label_nl: label_nl.clone(),
                label_en: label_en.clone(),
                value: value.clone(),
            })
            .collect(),
    };
    let events: Vec<EventInput> = raw_events
        .iter()
        .map(|(seq, time_ms, actor, action, purpose, fields, outcome)| EventInput {
            seq: *seq,
            time_ms: *time_ms,
            actor: actor.clone(),
            action: action.clone(),
            purpose: purpose.clone(),
            fields: fields.clone(),
            outcome: outcome.clone(),
        })
        .collect();
    let reg = RegisterInput { register: Some(&register), version: Some(1), sha256_hex: Some("0".repeat(64)) };
    let now_ms = 1_714_566_896_789;
    eprintln!(
        "[1/1] export: {} values, {} events, {} runs (+1 warm-up)",
        count(options.values),
        count(options.events),
        options.runs
    );
    let mut s = Samples::default();
    let mut sizes = (0, 0, 0, 0);
    let mut purposes_listed = 0;
    for run in 0..=options.runs {
        let baseline_first = run % 2 == 0;
        let baseline = || serde_json::to_vec(&(&raw_values, &raw_events)).map(|v| v.len());
        let mut b = Duration::ZERO;
        let mut base_len = 0;
        if baseline_first {
            let (d, len) = time(baseline);
            (b, base_len) = (d, len?);
        }
        let (d_build, export) = time(|| AccessExport::build(&subject, &events, &reg, None, now_ms));
        let export = export.context("building the access export")?;
        let (d_json, json) = time(|| export.to_json());
        let (d_zip, zip) = time(|| export.to_csv_zip());
        let (d_html, html) = time(|| export.to_html(Lang::Nl));
        if !baseline_first {
            let (d, len) = time(baseline);
            (b, base_len) = (d, len?);
        }
        if run == 0 {
            ensure!(export.subject.values.len() == raw_values.len() && export.events.len() == raw_events.len());
            purposes_listed = export.purposes.len();
            sizes = (base_len, json.len(), zip.len(), html.len());
            continue;
        }
        s.baseline.push(b);
        s.build.push(d_build);
        s.json.push(d_json);
        s.zip.push(d_zip);
        s.html.push(d_html);
    }
    print!("{}", report(options, &s, sizes, purposes_listed));
    Ok(())
}

fn kib(bytes: usize) -> String {
    #[allow(clippy::cast_precision_loss)] // sizes stay far below 2^52
    let k = bytes as f64 / 1024.0;
    format!("{k:.0} KiB")
}

fn report(options: &Options, s: &Samples, sizes: (usize, usize, usize, usize), purposes: usize) -> String {
    let lat = |v: &[Duration]| Latencies::new(v.to_vec());
    let sum = |parts: &[&[Duration]]| -> Vec<Duration> {
        (0..s.build.len()).map(|i| parts.iter().map(|p| p[i]).sum()).collect()
    };
    let access = sum(&[&s.build, &s.json]);
    let all = sum(&[&s.build, &s.json, &s.zip, &s.html]);
    let base = lat(&s.baseline).pct(50);
    let mut doc = String::new();
    let _ = writeln!(
        doc,
        "One subject with {} values and {} events under `examples/hosting-provider.toml` ({purposes} purposes \
         apply); {} timed runs after one warm-up, baseline interleaved run by run (alternating which goes first). \
         Baseline: `serde_json::to_vec` of the raw input tuples ({}).\n",
        count(options.values),
        count(options.events),
        options.runs,
        kib(sizes.0)
    );
    let _ = writeln!(doc, "| step | median | min | max | output | × baseline (median) |");
    let _ = writeln!(doc, "|---|---:|---:|---:|---:|---:|");
    let rows: [(&str, Vec<Duration>, String); 7] = [
        ("baseline: `serde_json::to_vec` of the input", s.baseline.clone(), kib(sizes.0)),
        ("`AccessExport::build`", s.build.clone(), String::new()),
        ("`to_json` (pretty)", s.json.clone(), kib(sizes.1)),
        ("`to_csv_zip`", s.zip.clone(), kib(sizes.2)),
        ("`to_html(Lang::Nl)`", s.html.clone(), kib(sizes.3)),
        ("**access export: build + JSON**", access, kib(sizes.1)),
        ("all: build + JSON + CSV zip + HTML", all, String::new()),
    ];
    for (label, samples, size) in rows {
        let l = lat(&samples);
        let _ = writeln!(
            doc,
            "| {label} | {} | {} | {} | {size} | {} |",
            dur(l.pct(50)),
            dur(l.pct(0)),
            dur(l.pct(100)),
            times(ratio(l.pct(50).as_secs_f64(), base.as_secs_f64()))
        );
    }
    let access_median = Latencies::new(sum(&[&s.build, &s.json])).pct(50);
    let all_median = Latencies::new(sum(&[&s.build, &s.json, &s.zip, &s.html])).pct(50);
    let _ = writeln!(
        doc,
        "\nTarget (DESIGN §6): an access export of a subject with 1,000 values and 10,000 events in ≤ {} ms: \
         build + JSON {} ({}); all four formats {} ({}).",
        TARGET.as_millis(),
        dur(access_median),
        if access_median <= TARGET { "**met**" } else { "**not met**" },
        dur(all_median),
        if all_median <= TARGET { "**met**" } else { "**not met**" },
    );
    doc
}
