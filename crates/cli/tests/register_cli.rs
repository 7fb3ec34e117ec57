//! `kluis register …`, `kluis statement` and `kluis ropa` as an operator uses them, on SQLite and
//! PostgreSQL: check (no data directory needed) with `FILE:LINE:COLUMN: RULE:` diagnostics, load
//! (versioned, audited, idempotent), list, show, diff, and the generated documents.

use std::path::{Path, PathBuf};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn repo_file(relative: &str) -> PathBuf {
    Path::new(WORKSPACE).join(relative)
}

mod common;

use common::{fails, kluis, ok, run, stderr, stdout};

fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(repo_file(dir))
        .expect("read the directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no {suffix} files in {dir}");
    found
}

#[test]
fn check_passes_the_examples_without_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("never-created");
    for file in files("examples", ".toml") {
        let out = run(kluis(&data, None).args(["register", "check"]).arg(&file));
        assert_eq!(ok(&out).trim(), format!("{}: ok", file.display()));
    }
    assert!(!data.exists(), "check needs no data directory and creates none");
}

#[test]
fn check_reports_each_problem_with_file_line_column_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    for file in files("crates/register/tests/fixtures", ".faithful.toml") {
        let out = run(kluis(&dir.path().join("data"), None).args(["register", "check"]).arg(&file));
        fails(&out, "problem");
        let prefix = format!("{}:", file.display());
        let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
        assert!(!lines.is_empty(), "diagnostics are printed");
        for line in &lines {
            let rest = line.strip_prefix(&prefix).unwrap_or_else(|| panic!("line starts with the file: {line}"));
            let parts: Vec<&str> = rest.splitn(4, ':').collect();
            assert_eq!(parts.len(), 4, "FILE:LINE:COL: RULE: message: {line}");
            assert!(parts[0].parse::<usize>().is_ok_and(|n| n > 0), "line number: {line}");
            assert!(parts[1].parse::<usize>().is_ok_and(|n| n > 0), "column number: {line}");
            let rule = parts[2].trim();
            assert!(!rule.is_empty() && rule.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "rule code: {line}");
            assert!(!parts[3].trim().is_empty(), "message: {line}");
        }
    }
    // A file that is not there is a clear error too.
    let out = run(kluis(&dir.path().join("data"), None).args(["register", "check", "/nonexistent/register.toml"]));
    fails(&out, "cannot read the register file");
}

#[test]
fn documents_render_from_a_file_without_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("never-created");
    let example = repo_file("examples/hosting-provider.toml");
    let out = run(kluis(&data, None).args(["statement", "--lang", "en", "--format", "md", "--file"]).arg(&example));
    assert!(ok(&out).contains("Voorbeeld Hosting"), "{}", stdout(&out));
    let out = run(kluis(&data, None).args(["ropa", "--format", "csv", "--file"]).arg(&example));
    assert!(ok(&out).contains("Voorbeeld Hosting B.V."), "{}", stdout(&out));
    let faithful = repo_file("crates/register/tests/fixtures/hosting-provider.faithful.toml");
    fails(&run(kluis(&data, None).args(["statement", "--file"]).arg(&faithful)), "problem");
    let out = run(kluis(&data, None).args(["statement", "--lang", "de", "--file"]).arg(&example));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nl, en"), "{}", stderr(&out));
    assert!(!data.exists());
}

#[tokio::test]
async fn sqlite_register_commands() {
    register_commands(None);
}

#[tokio::test]
async fn postgres_register_commands() {
    let Some(url) = kluis_store_conformance::fresh_postgres_url().await else { return };
    register_commands(Some(&url));
}

fn register_commands(url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let k = || kluis(&data, url);
    ok(&run(k().args(["init", "--no-admin"])));

    // Before any load: clear errors, no document.
    fails(&run(k().args(["statement", "--lang", "en", "--format", "md"])), "no register is loaded yet");
    fails(&run(k().args(["ropa", "--format", "csv"])), "no register is loaded yet");
    assert_eq!(ok(&run(k().args(["register", "list"]))).trim(), "no register loaded yet");

    let example = repo_file("examples/hosting-provider.toml");
    let first = ok(&run(k().args(["register", "load"]).arg(&example)));
    assert!(first.starts_with("register version 1 loaded (sha256 "), "{first}");
    let again = ok(&run(k().args(["register", "load"]).arg(&example)));
    assert!(again.starts_with("register unchanged: version 1 "), "{again}");

    // An invalid file is refused with its diagnostics and stores nothing.
    let faithful = repo_file("crates/register/tests/fixtures/hosting-provider.faithful.toml");
    let refused = run(k().args(["register", "load"]).arg(&faithful));
    fails(&refused, "problem");
    assert!(stdout(&refused).starts_with(&format!("{}:", faithful.display())), "{}", stdout(&refused));

    let text = std::fs::read_to_string(&example).unwrap();
    let changed_path = dir.path().join("changed.toml");
    std::fs::write(&changed_path, text.replace("Serverstraat 12", "Serverstraat 14")).unwrap();
    let second = ok(&run(k().args(["register", "load"]).arg(&changed_path)));
    assert!(second.starts_with("register version 2 loaded"), "{second}");

    let list = ok(&run(k().args(["register", "list"])));
    let versions: Vec<&str> = list.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(versions, ["1", "2"], "{list}");

    assert_eq!(ok(&run(k().args(["register", "show", "1"]))), text);
    assert!(ok(&run(k().args(["register", "show"]))).contains("Serverstraat 14"));
    fails(&run(k().args(["register", "show", "9"])), "there is no register version 9");

    let diff = ok(&run(k().args(["register", "diff", "1", "2"])));
    assert!(diff.contains("--- register v1") && diff.contains("+++ register v2"), "{diff}");
    assert!(diff.lines().any(|l| l.starts_with('-') && l.contains("Serverstraat 12")), "{diff}");
    assert!(diff.lines().any(|l| l.starts_with('+') && l.contains("Serverstraat 14")), "{diff}");
    assert_eq!(ok(&run(k().args(["register", "diff", "2", "2"]))), "", "no difference, no output");

    let statement = ok(&run(k().args(["statement", "--lang", "en", "--format", "md"])));
    assert!(statement.contains("Voorbeeld Hosting"), "{statement}");
    let html = ok(&run(k().args(["statement", "--lang", "nl", "--format", "html", "--version", "1"])));
    assert!(html.contains("<html") && html.contains("Voorbeeld Hosting"), "{html}");
    let csv = ok(&run(k().args(["ropa", "--format", "csv"])));
    assert!(csv.contains("Voorbeeld Hosting B.V."), "{csv}");
    let json = ok(&run(k().args(["ropa", "--format", "json"])));
    serde_json::from_str::<serde_json::Value>(&json).expect("ropa --format json is JSON");

    // The loads are in the audit log, and the log still verifies.
    let verify = ok(&run(k().args(["audit", "verify"])));
    assert!(verify.starts_with("audit log OK"), "{verify}");
}
