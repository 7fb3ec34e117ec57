//! `kluis subject import`: JSON lines in batches, one transaction per batch. Runs the real binary
//! on SQLite and on PostgreSQL (a fresh database in the test cluster); row counts are read from
//! the database directly.

use std::io::Write;
use std::process::{Output, Stdio};

mod common;

use common::{Setup, fails, ok, run, stderr};
use sqlx::Row;

/// Line `i` (from 0) of a test import: eight fields, a unique e-mail address.
fn line(i: usize) -> String {
    serde_line(&[
        ("first_names", "Anna".to_owned()),
        ("last_name", "Importa".to_owned()),
        ("email", format!("import.{i}@example.nl")),
        ("phone", format!("06{:08}", 20_000_000 + i)),
        ("street", "Dorpsstraat".to_owned()),
        ("postcode", "1234 AB".to_owned()),
        ("house_number", (i + 1).to_string()),
        ("city", "Utrecht".to_owned()),
    ])
}

fn serde_line(pairs: &[(&str, String)]) -> String {
    let fields: Vec<String> = pairs.iter().map(|(f, v)| format!("\"{f}\":\"{v}\"")).collect();
    format!("{{{}}}\n", fields.join(","))
}

/// A fresh data directory (and database) after `kluis init --no-admin`.
async fn initialised(postgres: bool) -> Option<Setup> {
    let setup = Setup::new(postgres).await?;
    ok(&run(setup.kluis().args(["init", "--no-admin"])));
    Some(setup)
}

impl Setup {
    /// `kluis subject import --purpose storage … -` with `input` on stdin.
    fn import(&self, args: &[&str], input: &str) -> Output {
        self.import_as("storage", args, input)
    }

    fn import_as(&self, purpose: &str, args: &[&str], input: &str) -> Output {
        let mut child = self
            .kluis()
            .args(["subject", "import", "--purpose", purpose])
            .args(args)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kluis");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
        drop(stdin);
        child.wait_with_output().expect("wait for kluis")
    }

    /// (subjects, e-mail index entries, successful `subject.create` events) in the database.
    async fn counts(&self) -> (i64, i64, i64) {
        sqlx::any::install_default_drivers();
        let url = match &self.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=ro", self.data.join("kluis.db").display()),
        };
        let pool = sqlx::AnyPool::connect(&url).await.expect("open the database");
        let count = async |sql: &str| -> i64 {
            sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.expect("count").try_get("n").expect("n")
        };
        let subjects = count("SELECT COUNT(*) AS n FROM subjects").await;
        let emails = count("SELECT COUNT(*) AS n FROM blind_index WHERE index_name = 'email'").await;
        let events = count(
            "SELECT COUNT(*) AS n FROM audit_events WHERE event LIKE '%\"action\":\"subject.create\"%\"outcome\":\"success\"%'",
        )
        .await;
        pool.close().await;
        (subjects, emails, events)
    }

    fn find(&self, email: &str) -> String {
        ok(&run(self.kluis().args(["subject", "find", "--purpose", "support", "--email", email])))
    }
}

async fn imports_1200_lines(postgres: bool) {
    let Some(s) = initialised(postgres).await else { return };
    // A file, with a blank line in the middle (skipped, but counted as a line).
    let mut text: String = (0..600).map(line).collect();
    text.push('\n');
    text.extend((600..1200).map(line));
    let file = s.data.join("import.jsonl");
    std::fs::write(&file, &text).unwrap();
    let out = ok(&run(s.kluis().args(["subject", "import", "--purpose", "storage", "--print-ids"]).arg(&file)));
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 1201, "one line per id and the total: {out:.300}");
    assert_eq!(lines[1200], serde_json::json!({ "imported": 1200 }));
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[600]["line"], 602, "the blank line 601 counts as a line");
    assert_eq!(lines[1199]["line"], 1201);
    assert_eq!(s.counts().await, (1200, 1200, 1200), "1,200 subjects, e-mail index entries and create events");
    for (i, row) in [(0, 0), (499, 499), (500, 500), (1199, 1199)] {
        let found = s.find(&format!("Import.{i}@Example.NL"));
        let id = lines[row]["id"].as_str().expect("id");
        assert!(found.contains(id), "line {} is found by its e-mail address: {found}", i + 1);
    }

    // Without --print-ids only the total is printed (here from stdin).
    let more: String = (1200..1210).map(line).collect();
    let out = ok(&s.import(&["--batch", "3"], &more));
    assert_eq!(out.trim(), r#"{"imported":10}"#);
    assert_eq!(s.counts().await, (1210, 1210, 1210));
}

async fn bad_line_names_its_number(postgres: bool) {
    let Some(s) = initialised(postgres).await else { return };
    let secret = "geheim-canary-9876";
    // Lines 1–5 are the first batch of 5 (stored); line 8 is cut off in the second batch.
    let mut lines: Vec<String> = (0..10).map(line).collect();
    lines[7] = format!("{{\"email\": \"{secret}@example.nl\"\n");
    let out = s.import(&["--batch", "5", "--print-ids"], &lines.concat());
    fails(&out, "line 8: expected a JSON object");
    let err = stderr(&out);
    assert!(!err.contains(secret), "the error never quotes the line: {err}");
    assert!(err.contains("nothing of this batch was stored"), "{err}");
    assert!(err.contains("the 5 subject(s) of earlier batches stay stored"), "{err}");
    assert_eq!(s.counts().await, (5, 5, 5), "the first batch stays, nothing of the second");
    assert!(s.find("import.5@example.nl").contains("\"subjects\": []"), "line 6 was not stored");

    // A well-formed line with invalid values: named by line and field, the batch refused.
    let mut lines: Vec<String> = (20..24).map(line).collect();
    lines[2] = serde_line(&[("email", format!("{secret}-at-example.nl")), ("last_name", "Jansen".to_owned())]);
    let out = s.import(&[], &lines.concat());
    fails(&out, "line 3: email:");
    let err = stderr(&out);
    assert!(err.contains("invalid_email") && !err.contains(secret), "{err}");
    assert!(!err.contains("earlier batches"), "there were none: {err}");
    assert_eq!(s.counts().await, (5, 5, 5), "nothing of the batch stored");

    // Not an object of strings, an empty object, a purpose that does not cover a field.
    fails(&s.import(&[], "[\"a\"]\n"), "line 1: expected a JSON object");
    fails(&s.import(&[], "{\"house_number\": 12}\n"), "line 1: expected a JSON object");
    fails(&s.import(&[], "\n{}\n"), "line 2: the object names no field");
    let out = s.import_as("newsletter", &[], &line(30));
    fails(&out, "does not cover the field(s)");
    assert!(stderr(&out).contains("lines 1–1 not imported"), "{}", stderr(&out));
    assert_eq!(s.counts().await, (5, 5, 5), "the refusal is audited, but as denied");
}

#[tokio::test]
async fn sqlite_imports_1200_lines() {
    imports_1200_lines(false).await;
}

#[tokio::test]
async fn postgres_imports_1200_lines() {
    imports_1200_lines(true).await;
}

#[tokio::test]
async fn sqlite_bad_line_names_its_number() {
    bad_line_names_its_number(false).await;
}

#[tokio::test]
async fn postgres_bad_line_names_its_number() {
    bad_line_names_its_number(true).await;
}
