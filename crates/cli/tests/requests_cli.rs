//! `kluis serve` wires the data-subject request workflow: the `[mail]` section picks the mailer
//! (by default the file transport into `<data_dir>/mail`), `[requests]` its settings, and the
//! public portal takes a request, mails the code and accepts it, on SQLite and PostgreSQL.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Setup, start};

#[tokio::test]
async fn portal_request_with_the_file_mailer_sqlite() {
    portal_request_with_the_file_mailer(false).await;
}

#[tokio::test]
async fn portal_request_with_the_file_mailer_postgres() {
    portal_request_with_the_file_mailer(true).await;
}

/// The body of a quoted-printable `.eml`.
fn decode(raw: &str) -> String {
    let body = raw.replace("\r\n", "\n");
    let body = body.split_once("\n\n").map_or(body.as_str(), |(_, b)| b).replace("=\n", "");
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The bodies of the mails in `dir`, oldest first, once at least `n` are there.
fn mails(dir: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map(|entries| entries.map(|e| e.expect("an entry").path()).collect())
            .unwrap_or_default();
        paths.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "eml"));
        if paths.len() >= n {
            paths.sort();
            return paths.iter().map(|p| decode(&std::fs::read_to_string(p).expect("read a mail"))).collect();
        }
        assert!(Instant::now() < deadline, "only {} of {n} mails in {}", paths.len(), dir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn portal_request_with_the_file_mailer(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    std::fs::create_dir_all(&setup.data).expect("the data directory");
    std::fs::write(
        setup.data.join("kluis.toml"),
        "[mail]\nfrom = \"privacy@voorbeeld.nl\"\nfrom_name = \"Voorbeeld B.V.\"\n\n\
         [requests]\npublic_url = \"https://privacy.voorbeeld.nl\"\nexport_days = 7\n",
    )
    .expect("write kluis.toml");
    let server = start(setup.kluis());
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");

    let res = client
        .post(format!("{base}/privacy/request"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body("kind=access&email=aanvrager%40voorbeeld.nl&lang=nl")
        .send()
        .await
        .expect("post the form");
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    let location = res.headers()["location"].to_str().expect("ASCII").to_owned();
    let id = location.trim_start_matches("/privacy/request/").split('?').next().expect("id").to_owned();

    // The code went to the file mailer's default directory, signed by the configured sender.
    let mail = mails(&setup.data.join("mail"), 1).remove(0);
    assert!(mail.contains(&id) && mail.contains("Voorbeeld B.V."), "{mail}");
    let code = mail
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("an 8-digit code")
        .to_owned();
    let res = client
        .post(format!("{base}/privacy/request/{id}/verify"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(format!("code={code}"))
        .send()
        .await
        .expect("post the code");
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    let page = client.get(format!("{base}{location}")).send().await.expect("the page").text().await.expect("text");
    assert!(page.contains("In behandeling"), "{page}");
    // The receipt followed.
    assert_eq!(mails(&setup.data.join("mail"), 2).len(), 2);

    // From another site: refused.
    let res = client
        .post(format!("{base}/privacy/request"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body("kind=access&email=ander%40voorbeeld.nl")
        .send()
        .await
        .expect("post the form");
    assert_eq!(res.status(), 403);
    drop(server);
}
