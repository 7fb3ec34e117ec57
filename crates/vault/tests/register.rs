//! The register as code in the vault: each load of a changed file is a new, immutable, audited
//! version; an unchanged file changes nothing; an invalid file is refused whole. Every case runs
//! on SQLite and on PostgreSQL.

use std::sync::Arc;

use kluis_crypto::SecretKey;
use kluis_domain::audit::{Actor, AuditContext};
use kluis_domain::fields::Catalogue;
use kluis_domain::time::SystemClock;
use kluis_store_conformance::{Backend, TestDb, fresh};
use kluis_store_sql::SqlStore;
use kluis_vault::{Store, Vault, VaultError};

macro_rules! on_both_backends {
    ($($case:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            $case(Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            $case(Backend::Postgres).await;
        }
    )*};
}

on_both_backends! {
    loads_are_versioned_and_audited => sqlite_loads_are_versioned_and_audited, postgres_loads_are_versioned_and_audited;
    invalid_register_changes_nothing => sqlite_invalid_register_changes_nothing, postgres_invalid_register_changes_nothing;
}

const EXAMPLE: &str = include_str!("../../../examples/hosting-provider.toml");
const FAITHFUL: &str = include_str!("../../register/tests/fixtures/hosting-provider.faithful.toml");

async fn vault(backend: Backend) -> Option<(TestDb, Vault<SqlStore>)> {
    let db = fresh(backend).await?;
    let root = SecretKey::generate().expect("root key");
    let (vault, _) = Vault::initialise(db.store.clone(), &root, Catalogue::dutch_it_provider(), Arc::new(SystemClock))
        .await
        .expect("initialise the vault");
    Some((db, vault))
}

fn ctx() -> AuditContext {
    AuditContext { actor: Actor::Cli("tester".to_owned()), ..AuditContext::system() }
}

async fn events(vault: &Vault<SqlStore>) -> Vec<String> {
    vault
        .store()
        .audit_events(0, 10_000)
        .await
        .expect("audit events")
        .into_iter()
        .map(|e| String::from_utf8(e.event).expect("UTF-8 event"))
        .collect()
}

async fn loads_are_versioned_and_audited(backend: Backend) {
    let Some((_db, vault)) = vault(backend).await else { return };
    assert!(vault.current_register().await.expect("current").is_none(), "no register before a load");

    let first = vault.load_register(&ctx(), EXAMPLE).await.expect("load the example");
    assert_eq!(first.version, 1);
    assert_eq!(first.source, EXAMPLE);
    assert_eq!(first.loaded_by, "cli:tester");
    let log = events(&vault).await;
    let load = log.last().expect("an event");
    assert!(load.contains(r#""action":"register.load""#), "{load}");
    assert!(load.contains(r#""actor":"cli:tester""#), "{load}");
    let hash = first.sha256.iter().fold(String::new(), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    });
    assert!(load.contains(&format!(r#""register":{{"version":1,"sha256":"{hash}"}}"#)), "{load}");

    // The same text again: the same version, no new event.
    let again = vault.load_register(&ctx(), EXAMPLE).await.expect("load again");
    assert_eq!(again, first, "an unchanged register keeps its version");
    assert_eq!(events(&vault).await.len(), log.len(), "an unchanged load is not audited");

    let changed = EXAMPLE.replace("Voorbeeld Hosting B.V.", "Voorbeeld Hosting Nederland B.V.");
    let second = vault.load_register(&ctx(), &changed).await.expect("load a changed register");
    assert_eq!(second.version, 2);
    assert_ne!(second.sha256, first.sha256);
    assert_eq!(events(&vault).await.len(), log.len() + 1, "the change is audited");

    let (current, register) = vault.current_register().await.expect("current").expect("a current register");
    assert_eq!(current, second);
    assert_eq!(register.controller.name, "Voorbeeld Hosting Nederland B.V.");
    assert_eq!(vault.register_version(1).await.expect("version 1"), Some(first.clone()), "version 1 is kept");
    assert_eq!(vault.register_version(3).await.expect("version 3"), None);
    let list = vault.register_versions().await.expect("list");
    assert_eq!(list.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2]);
}

async fn invalid_register_changes_nothing(backend: Backend) {
    let Some((_db, vault)) = vault(backend).await else { return };
    let before = events(&vault).await;
    let Err(VaultError::Register(diagnostics)) = vault.load_register(&ctx(), FAITHFUL).await else {
        panic!("the faithful copy of a weak statement must be refused");
    };
    assert!(!diagnostics.is_empty());
    assert!(diagnostics.iter().all(|d| d.line > 0 && d.column > 0 && !d.rule.is_empty()), "{diagnostics:?}");
    let Err(VaultError::Register(syntax)) = vault.load_register(&ctx(), "[controller\nname = 1").await else {
        panic!("broken TOML must be refused");
    };
    assert_eq!(syntax[0].rule, "syntax");
    assert!(vault.register_versions().await.expect("list").is_empty(), "nothing was stored");
    assert!(vault.current_register().await.expect("current").is_none());
    assert_eq!(events(&vault).await, before, "nothing was audited");
}
