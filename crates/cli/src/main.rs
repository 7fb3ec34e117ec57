//! `kluis`: the operator's command line and the server binary.

mod access;
mod config;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use kluis_crypto::SecretKey;
use kluis_domain::audit::{Actor, AuditContext};
use kluis_domain::fields::{Catalogue, IndexName};
use kluis_domain::time::SystemClock;
use kluis_domain::{Purpose, SubjectKind};
use kluis_register::{Diagnostic, Format, Lang, Register, RopaFormat, StatementMeta};
use kluis_server::{AppState, ServerConfig};
use kluis_store_sql::SqlStore;
use kluis_vault::{
    AuditSigningKey, AuditVerifyingKey, FirstAdmin, Initialised, IssuedToken, Store, StoredRegisterVersion, Subject,
    Vault, VaultError,
};
use sha2::Digest as _;
use zeroize::Zeroizing;

use crate::config::{Config, LogFormat, Overrides};

#[derive(Debug, Parser)]
#[command(name = "kluis", version, about = "Personal-data vault and GDPR/AVG compliance engine")]
struct Cli {
    /// Data directory (SQLite database, key files, kluis.toml).
    #[arg(long, global = true, env = "KLUIS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Config file (default: <data-dir>/kluis.toml when it exists).
    #[arg(long, global = true, env = "KLUIS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the data directory, the root key (mode 0600), the database, the break-glass token
    /// and the first admin account (password from the terminal or --admin-password-file; its
    /// TOTP enrolment URI and recovery codes are shown once).
    Init {
        /// The first admin's account name.
        #[arg(long, default_value = "admin")]
        admin: String,
        /// Read the first admin's password from this file instead of the terminal.
        #[arg(long, value_name = "FILE")]
        admin_password_file: Option<PathBuf>,
        /// Create no admin account (provisioning by script; create accounts later with
        /// `kluis account add`).
        #[arg(long, conflicts_with = "admin_password_file")]
        no_admin: bool,
    },
    /// Run the HTTP server (initialises a fresh data directory first).
    Serve {
        /// Listen address, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Serve HTTPS with this PEM certificate chain (config `tls_cert`); needs --tls-key.
        #[arg(long, value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert (config `tls_key`).
        #[arg(long, value_name = "FILE")]
        tls_key: Option<PathBuf>,
    },
    /// Work with data subjects in the local store.
    #[command(subcommand)]
    Subject(SubjectCommand),
    /// Staff accounts: add, list, disable, allowlists, unlock, reset enrolment.
    #[command(subcommand)]
    Account(access::AccountCommand),
    /// API tokens: create (scoped to purposes, addresses, an expiry), list, revoke.
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// The tamper-evident audit log: verify, export, sign a checkpoint, show the public key.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The register as code (docs/REGISTER.md): check a file, load it as a new version, list,
    /// show and diff the stored versions.
    #[command(subcommand)]
    Register(RegisterCommand),
    /// Print the privacy statement (Art. 13) generated from the register.
    Statement {
        /// Language: nl or en.
        #[arg(long, default_value = "nl")]
        lang: Lang,
        /// Format: md or html.
        #[arg(long, default_value = "md")]
        format: Format,
        #[command(flatten)]
        source: RegisterSource,
    },
    /// Print the record of processing activities (Art. 30) generated from the register.
    Ropa {
        /// Format: csv, json or html.
        #[arg(long, default_value = "csv")]
        format: RopaFormat,
        #[command(flatten)]
        source: RegisterSource,
    },
}

/// Which register a document is generated from: the current stored version by default.
#[derive(Debug, Args)]
struct RegisterSource {
    /// A stored version instead of the current one.
    #[arg(long, conflicts_with = "file")]
    version: Option<u64>,
    /// A register file, checked and rendered without a data directory (printed as version 0,
    /// dated today).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum RegisterCommand {
    /// Check a register file against the schema and every rule; prints each problem as
    /// FILE:LINE:COLUMN: RULE: message and exits non-zero if there is one. Needs no data directory.
    Check { file: PathBuf },
    /// Check a register file and store it as the next version (audited). Loading the current
    /// version's text again changes nothing.
    Load { file: PathBuf },
    /// List the stored versions.
    List,
    /// Print a stored version's source (default: the current version).
    Show { version: Option<u64> },
    /// Unified diff of the sources of two stored versions.
    Diff { from: u64, to: u64 },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the whole Merkle tree from the stored events and check every stored node, every
    /// checkpoint signature and the consistency between consecutive checkpoints. Exits non-zero
    /// and names the first bad entry on any mismatch. With --file, checks an export instead,
    /// needing only the public key.
    Verify {
        /// An export written by `kluis audit export`.
        #[arg(long, requires = "public_key")]
        file: Option<PathBuf>,
        /// The verifier key (`origin+keyid+key`, as printed by `kluis audit public-key`), or a file
        /// holding it. Default for the store: `<data-dir>/audit.pub`.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Write every event and checkpoint to FILE (JSON lines) for an auditor.
    Export { file: PathBuf },
    /// Sign a checkpoint of the log as it is now.
    Checkpoint,
    /// Print the verifier key of the audit log.
    PublicKey,
}

#[derive(Debug, Args)]
struct PurposeArg {
    /// Purpose of processing, recorded in the audit log (e.g. service_delivery).
    #[arg(long)]
    purpose: String,
}

#[derive(Debug, Subcommand)]
enum SubjectCommand {
    /// Add a subject. Values come from `--set field=value` or a JSON object (`--json FILE`, `-` for
    /// stdin), which keeps them out of the shell history.
    Add {
        #[command(flatten)]
        purpose: PurposeArg,
        /// Data-subject category.
        #[arg(long, default_value = "customer")]
        kind: String,
        /// A value as field=value; repeatable.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// A JSON object of field values, from a file or `-` for stdin.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Import subjects from JSON lines: one object of field → value per line (blank lines are
    /// skipped), from FILE or `-` for stdin. Every --batch lines are checked and stored in one
    /// transaction, with one audited `subject.create` per subject. A malformed or invalid line
    /// stops the import with an error naming its line number (never its content) and nothing of
    /// its batch is stored; earlier batches stay stored (the error says how many subjects).
    /// Prints `{"imported": N}`; with --print-ids first one `{"line": L, "id": ID}` per subject.
    Import {
        #[command(flatten)]
        purpose: PurposeArg,
        /// Data-subject category of every imported subject.
        #[arg(long, default_value = "customer")]
        kind: String,
        /// Lines per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Print the id of every imported subject with its line number.
        #[arg(long)]
        print_ids: bool,
        /// The JSON-lines file, or `-` for stdin.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
    /// Show a subject as JSON.
    Get {
        id: String,
        #[command(flatten)]
        purpose: PurposeArg,
    },
    /// Find subjects by an indexed field.
    Find {
        #[command(flatten)]
        purpose: PurposeArg,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        iban: Option<String>,
        #[arg(long)]
        customer_number: Option<String>,
        #[arg(long, requires = "house_number")]
        postcode: Option<String>,
        #[arg(long, requires = "postcode")]
        house_number: Option<String>,
    },
    /// Erase a subject (Art. 17): destroys its data key, values and index entries.
    Erase {
        id: String,
        #[command(flatten)]
        purpose: PurposeArg,
    },
}

/// jemalloc instead of glibc's malloc: under load glibc's arenas showed lock waits (memory freed
/// on another thread than the one that allocated it: a request's task and the group-commit
/// writer) and `malloc_consolidate`; jemalloc served ~16 % more audited reads per second for 3–4 MiB
/// more peak RSS (docs/BENCHMARKS.md, "The writer follows its queue, and jemalloc").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kluis: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kluis: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (listen, tls_cert, tls_key) = match &cli.command {
        Command::Serve { listen, tls_cert, tls_key } => (*listen, tls_cert.clone(), tls_key.clone()),
        _ => (None, None, None),
    };
    let overrides = Overrides { data_dir: cli.data_dir.clone(), listen, tls_cert, tls_key };
    let config = config::load(cli.config.as_deref(), &overrides).context("invalid configuration")?;
    init_logging(&config)?;
    match cli.command {
        Command::Init { admin, admin_password_file, no_admin } => {
            let first = if no_admin {
                None
            } else {
                let password = access::read_password(
                    admin_password_file.as_deref(),
                    &admin,
                    "give --admin-password-file FILE (or --no-admin)",
                )?;
                Some(FirstAdmin { username: admin.clone(), password })
            };
            let (_, init) = initialise(&config, first).await?;
            print_token(&config, &init.break_glass);
            if let Some(enrolment) = &init.admin {
                println!();
                access::print_enrolment(&admin, enrolment);
            }
            Ok(())
        }
        Command::Account(cmd) => access::account(&config, cmd).await,
        Command::Token(cmd) => access::token(&config, cmd).await,
        Command::Serve { .. } => serve(config).await,
        Command::Subject(cmd) => subject(&config, cmd).await,
        Command::Audit(cmd) => audit(&config, cmd).await,
        Command::Register(cmd) => register(&config, cmd).await,
        Command::Statement { lang, format, source } => {
            let (meta, register) = register_for_document(&config, &source).await?;
            print!("{}", kluis_register::statement(&register, lang, format, &meta));
            Ok(())
        }
        Command::Ropa { format, source } => {
            let (meta, register) = register_for_document(&config, &source).await?;
            print!("{}", kluis_register::ropa(&register, format, &meta));
            Ok(())
        }
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("log_level {:?} is not a valid filter", config.log_level))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}

/// Opens the configured store: PostgreSQL when a URL is set, else SQLite in the data directory.
/// This is the one place the backend is chosen.
async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    if let Some(url) = config.database_url()? {
        kluis_store_postgres::connect(&url, config.database_max_connections)
            .await
            .context("cannot open the PostgreSQL store")
    } else {
        create_data_dir(&config.data_dir)?;
        Ok(kluis_store_sqlite::open(&config.data_dir.join(kluis_store_sqlite::DATABASE_FILE)).await?)
    }
}

fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// Where the root key comes from.
enum KeySource {
    Env,
    File(PathBuf),
}

fn key_source(config: &Config) -> anyhow::Result<KeySource> {
    match (&config.root_key, &config.root_key_file) {
        (Some(_), Some(_)) => bail!("set root_key or root_key_file, not both"),
        (Some(_), None) => Ok(KeySource::Env),
        _ => Ok(KeySource::File(config.root_key_path())),
    }
}

fn load_root_key(config: &Config) -> anyhow::Result<SecretKey> {
    match key_source(config)? {
        KeySource::Env => {
            let hex = config.root_key.as_deref().unwrap_or_default();
            SecretKey::from_hex(hex).context("KLUIS_ROOT_KEY is not a root key (64 hex characters)")
        }
        KeySource::File(path) => {
            let text = read_secret_file(&path, "root key")?;
            SecretKey::from_hex(&text)
                .with_context(|| format!("{} does not hold a root key (64 hex characters)", path.display()))
        }
    }
}

/// Reads a key file, refusing one that others can read.
fn read_secret_file(path: &Path, what: &str) -> anyhow::Result<Zeroizing<String>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read the {what} file {}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "the {what} file {} is readable by others (mode {:o}); run `chmod 600 {}`",
                path.display(),
                meta.permissions().mode() & 0o777,
                path.display()
            );
        }
    }
    Ok(Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} file {}", path.display()))?,
    ))
}

/// The audit signing key, if its file exists.
fn load_audit_key(config: &Config) -> anyhow::Result<Option<AuditSigningKey>> {
    let path = config.audit_key_path();
    if !path.exists() {
        return Ok(None);
    }
    let text = read_secret_file(&path, "audit key")?;
    let key = AuditSigningKey::from_hex(&text)
        .with_context(|| format!("{} does not hold an audit key (64 hex characters)", path.display()))?;
    Ok(Some(key))
}

/// Writes a new key file with mode 0600; never overwrites.
fn write_key_file(path: &Path, hex: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create the root key file {}", path.display()))?;
    file.write_all(hex.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

/// The built-in catalogue with the fields the configuration turns on (`enable_fields`).
fn catalogue(config: &Config) -> anyhow::Result<Catalogue> {
    let mut catalogue = Catalogue::dutch_it_provider();
    for name in &config.enable_fields {
        catalogue.enable(name).map_err(|e| anyhow::anyhow!("enable_fields: {e}"))?;
    }
    Ok(catalogue)
}

/// `kluis init`: refuses to touch an existing key or an initialised database.
async fn initialise(
    config: &Config,
    first_admin: Option<FirstAdmin>,
) -> anyhow::Result<(Vault<SqlStore>, Initialised)> {
    let source = key_source(config)?;
    if let KeySource::File(path) = &source
        && path.exists()
    {
        bail!("a root key already exists at {}; kluis init never touches an existing key", path.display());
    }
    let audit_path = config.audit_key_path();
    if audit_path.exists() {
        bail!("an audit key already exists at {}; kluis init never touches an existing key", audit_path.display());
    }
    // The data directory holds the key files whichever database holds the data.
    let dir_existed = config.data_dir.exists();
    create_data_dir(&config.data_dir)?;
    let new_sqlite_file = match config.database_url()? {
        None => Some(config.data_dir.join(kluis_store_sqlite::DATABASE_FILE)).filter(|path| !path.exists()),
        Some(_) => None,
    };
    let store = open_store(config).await?;
    if store.keyring().await?.is_some() {
        bail!("the database is already initialised; kluis init changes nothing");
    }
    let handle = store.clone();
    let mut written: Vec<PathBuf> = Vec::new();
    let result = async {
        let root = match &source {
            KeySource::Env => load_root_key(config)?,
            KeySource::File(path) => {
                let key = SecretKey::generate()?;
                write_key_file(path, &key.to_hex())?;
                written.push(path.clone());
                key
            }
        };
        let audit_key = AuditSigningKey::generate()?;
        write_key_file(&audit_path, &audit_key.to_hex())?;
        written.push(audit_path.clone());
        let (vault, init) =
            Vault::initialise_full(store, &root, audit_key, catalogue(config)?, Arc::new(SystemClock), first_admin)
                .await
                .map_err(describe)
                .context("initialisation failed")?;
        let public = config.data_dir.join(config::AUDIT_PUB_FILE);
        std::fs::write(&public, format!("{}\n", vault.audit_verifier_string()))
            .with_context(|| format!("cannot write {}", public.display()))?;
        anyhow::Ok((vault, init))
    }
    .await;
    if result.is_err() {
        // Leave no key behind that matches no database.
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
        // All or nothing: a SQLite database this run created goes too (a weak admin password
        // must not leave a directory that is neither fresh nor usable).
        handle.close().await;
        if let Some(db) = new_sqlite_file {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = db.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
        }
        if !dir_existed {
            // Only when empty: nothing but what this run created was in it.
            let _ = std::fs::remove_dir(&config.data_dir);
        }
    }
    result
}

fn print_token(config: &Config, token: &IssuedToken) {
    println!("kluis initialised in {}", config.data_dir.display());
    println!("Break-glass token (shown once; only its hash is stored; works from this machine only):");
    println!();
    println!("    {}", token.secret.as_str());
    println!();
    println!("It manages accounts, tokens and the register and reads the audit log, never personal");
    println!("data; every use is audited. Keep it offline. Use it as `Authorization: Bearer <token>`.");
}

async fn open_vault(config: &Config) -> anyhow::Result<Vault<SqlStore>> {
    let root = load_root_key(config)?;
    let store = open_store(config).await?;
    let vault = match Vault::open(store, &root, catalogue(config)?, Arc::new(SystemClock)).await {
        Ok(v) => v,
        Err(e @ VaultError::WrongRootKey { .. }) => return Err(anyhow::anyhow!(e)),
        Err(e) => return Err(e).context("cannot open the vault"),
    };
    match load_audit_key(config)? {
        Some(key) => {
            Ok(vault.with_audit_key(key).map_err(|e| anyhow::anyhow!("{}: {e}", config.audit_key_path().display()))?)
        }
        None => Ok(vault),
    }
}

/// A data directory that holds neither a key nor a database is fresh: `serve` initialises it.
async fn is_fresh(config: &Config) -> anyhow::Result<bool> {
    let key_missing = match key_source(config)? {
        KeySource::File(path) => !path.exists(),
        KeySource::Env => true,
    };
    if !key_missing {
        return Ok(false);
    }
    if config.database_url()?.is_some() {
        let store = open_store(config).await?;
        let fresh = store.keyring().await?.is_none();
        store.close().await;
        Ok(fresh)
    } else {
        Ok(!config.data_dir.join(kluis_store_sqlite::DATABASE_FILE).exists())
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // The TLS files are checked first, so a typo leaves no freshly initialised directory behind.
    let tls = match config.tls_files()? {
        Some(files) => Some(files.load()?),
        None => None,
    };
    let trusted_proxies = kluis_domain::access::IpAllowlist::parse(&config.trusted_proxies)
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {}", e.message_en()))?;
    // The mailer of the data-subject request notices, also before anything is initialised.
    let mail = config.mail()?;
    let mailer = kluis_mail::from_config(&mail, Arc::new(SystemClock)).context("[mail]")?;
    let settings = config.request_settings(tls.is_some())?;
    let vault = if is_fresh(&config).await? {
        let (vault, init) = initialise(&config, None).await?;
        print_token(&config, &init.break_glass);
        println!();
        println!("Create the first staff account with `kluis account add NAME --role admin`.");
        vault
    } else {
        open_vault(&config).await?
    };
    let vault = vault.with_requests(settings, Some(Arc::clone(&mailer)));
    if let Err(e) = mailer.check().await {
        // Requests are still taken; their notices show as not sent in the timeline until mail works.
        tracing::warn!(error = %e, "the mail transport does not work yet");
        eprintln!("warning: mail cannot be sent yet: {e}");
    }
    if !vault.can_sign_checkpoints() {
        bail!(
            "no audit signing key at {}; kluis serve signs audit checkpoints and needs it (kluis init creates it)",
            config.audit_key_path().display()
        );
    }
    let policy = kluis_vault::audit::CheckpointPolicy {
        every_events: config.audit_checkpoint_every_events.max(1),
        every: std::time::Duration::from_secs(config.audit_checkpoint_every_seconds.max(1)),
    };
    let checkpointer = tokio::spawn(kluis_vault::audit::run_checkpointer(vault.clone(), policy));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, backend = vault.store().backend(), scheme, "kluis listening");
    println!("kluis listening on {scheme}://{addr}");
    // Another process (`kluis register load`, a second server) may load a register: pick up the
    // policy it defines within seconds.
    let refresher = tokio::spawn(refresh_policy(vault.clone()));
    let sweeper = tokio::spawn(sweep_exports(vault.clone()));
    let server_config = ServerConfig {
        max_body_bytes: config.max_body_bytes,
        upload_max_bytes: config.requests.upload_max_bytes,
        trusted_proxies,
        secure_cookies: config.secure_cookies || tls.is_some(),
        ..ServerConfig::default()
    };
    let state = AppState { vault: Arc::new(vault), config: Arc::new(server_config) };
    // With TLS, `serve_tls` turns `ServerConfig::tls` on (HSTS).
    let served = match tls {
        Some(tls) => kluis_server::serve_tls(listener, state, shutdown_signal(), tls).await,
        None => kluis_server::serve(listener, state, shutdown_signal()).await,
    }
    .context("server error");
    checkpointer.abort();
    refresher.abort();
    sweeper.abort();
    served
}

/// Deletes expired access and portability exports once a minute.
async fn sweep_exports(vault: Vault<SqlStore>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_mins(1));
    loop {
        tick.tick().await;
        match vault.sweep_exports().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired exports deleted"),
            Err(e) => tracing::error!(error = %e, "could not delete expired exports"),
        }
    }
}

/// Re-reads the current register version every few seconds and rebuilds the purpose policy when
/// it changed.
async fn refresh_policy(vault: Vault<SqlStore>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tick.tick().await;
        if let Err(e) = vault.refresh_policy().await {
            tracing::error!(error = %e, "could not refresh the purpose policy from the register");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// The operator at the command line, as the audit log names them.
fn cli_actor() -> Actor {
    Actor::Cli(std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "unknown".to_owned()))
}

/// The audit context of a local operator action without a purpose (accounts, tokens).
fn cli_context_without_purpose() -> AuditContext {
    AuditContext { actor: cli_actor(), purpose: None, client: None, request_id: None }
}

fn cli_context(purpose: &str) -> anyhow::Result<AuditContext> {
    let purpose = Purpose::parse(purpose).map_err(|e| anyhow::anyhow!("--purpose: {e}"))?;
    Ok(AuditContext { actor: cli_actor(), purpose: Some(purpose), client: None, request_id: None })
}

fn subject_json(s: &Subject) -> serde_json::Value {
    serde_json::json!({
        "id": s.id.to_string(),
        "kind": s.kind.as_str(),
        "values": s.values.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.as_str().to_owned()))).collect::<serde_json::Map<_, _>>(),
        "withheld": s.withheld,
        "restricted": s.restricted,
    })
}

fn describe(e: VaultError) -> anyhow::Error {
    match e {
        VaultError::Validation(errors) => {
            let lines: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("  {}: {} ({})", e.field, e.code.message_en(), e.code.as_str()))
                .collect();
            anyhow::anyhow!("invalid values; nothing was stored:\n{}", lines.join("\n"))
        }
        VaultError::InvalidLookup(e) => {
            anyhow::anyhow!("invalid lookup value for {}: {}", e.field, e.code.message_en())
        }
        VaultError::Auth(e) => anyhow::anyhow!("{} ({})", e.message_en(), e.code()),
        VaultError::Denied(e) => anyhow::anyhow!("{} ({})", e.message_en(), e.code()),
        other => anyhow::anyhow!(other),
    }
}

fn read_json_values(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut text = Zeroizing::new(String::new());
    if path == Path::new("-") {
        if std::io::stdin().is_terminal() {
            eprintln!("reading a JSON object of field values from stdin…");
        }
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text =
            Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?);
    }
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("--json: expected an object of strings (line {}, column {})", e.line(), e.column())
    })?;
    Ok(map.into_iter().collect())
}

async fn subject(config: &Config, cmd: SubjectCommand) -> anyhow::Result<()> {
    let vault = open_vault(config).await?;
    // The operator holds the root key: every purpose of the policy, each still showing only the
    // fields it covers.
    let scope = vault.operator_scope();
    match cmd {
        SubjectCommand::Add { purpose, kind, set, json } => {
            let ctx = cli_context(&purpose.purpose)?;
            let kind: SubjectKind = kind.parse().map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
            let mut values = Vec::new();
            for pair in &set {
                let (field, value) = pair.split_once('=').context("--set takes FIELD=VALUE")?;
                values.push((field.to_owned(), value.to_owned()));
            }
            if let Some(path) = json {
                values.extend(read_json_values(&path)?);
            }
            if values.is_empty() {
                bail!("give at least one value with --set FIELD=VALUE or --json FILE");
            }
            let id = vault.create_subject(&ctx, &scope, kind, &values).await.map_err(describe)?;
            println!("{}", serde_json::json!({ "id": id.to_string() }));
        }
        SubjectCommand::Import { purpose, kind, batch, print_ids, file } => {
            let ctx = cli_context(&purpose.purpose)?;
            let kind: SubjectKind = kind.parse().map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
            let imported = import_subjects(&vault, &ctx, &scope, kind, &file, batch as usize, print_ids).await?;
            println!("{}", serde_json::json!({ "imported": imported }));
        }
        SubjectCommand::Get { id, purpose } => {
            let ctx = cli_context(&purpose.purpose)?;
            let id = id.parse().map_err(|e| anyhow::anyhow!("subject id: {e}"))?;
            let subject = vault.get_subject(&ctx, &scope, id).await.map_err(describe)?;
            println!("{}", serde_json::to_string_pretty(&subject_json(&subject))?);
        }
        SubjectCommand::Find { purpose, email, phone, iban, customer_number, postcode, house_number } => {
            let ctx = cli_context(&purpose.purpose)?;
            let mut given: Vec<(IndexName, Vec<String>)> = Vec::new();
            for (index, value) in [
                (IndexName::Email, email),
                (IndexName::Phone, phone),
                (IndexName::Iban, iban),
                (IndexName::CustomerNumber, customer_number),
            ] {
                if let Some(v) = value {
                    given.push((index, vec![v]));
                }
            }
            if let (Some(p), Some(h)) = (postcode, house_number) {
                given.push((IndexName::PostcodeHouseNumber, vec![p, h]));
            }
            if given.len() != 1 {
                bail!(
                    "give exactly one of --email, --phone, --iban, --customer-number, or --postcode with --house-number"
                );
            }
            let (index, raw) = given.remove(0);
            let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
            let found = vault.find_subjects(&ctx, &scope, index, &raw).await.map_err(describe)?;
            let list: Vec<_> = found.iter().map(subject_json).collect();
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "subjects": list }))?);
        }
        SubjectCommand::Erase { id, purpose } => {
            let ctx = cli_context(&purpose.purpose)?;
            let id = id.parse().map_err(|e| anyhow::anyhow!("subject id: {e}"))?;
            vault.erase_subject(&ctx, &scope, id).await.map_err(describe)?;
            println!("{}", serde_json::json!({ "erased": id.to_string() }));
        }
    }
    vault.store().close().await;
    Ok(())
}

/// One line of an import: a JSON object of field names to string values. The error names the
/// position only: serde_json's messages can quote the input.
fn import_line(text: &str, line: u64) -> anyhow::Result<Vec<(String, String)>> {
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!("line {line}: expected a JSON object of field names to string values (column {})", e.column())
    })?;
    if map.is_empty() {
        bail!("line {line}: the object names no field");
    }
    Ok(map.into_iter().collect())
}

/// `kluis subject import`: returns how many subjects were stored.
async fn import_subjects(
    vault: &Vault<SqlStore>,
    ctx: &AuditContext,
    scope: &kluis_domain::access::CallerScope,
    kind: SubjectKind,
    file: &Path,
    batch: usize,
    print_ids: bool,
) -> anyhow::Result<u64> {
    let mut reader: Box<dyn std::io::BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut imported = 0_u64;
    let mut line = 0_u64;
    let mut text = Zeroizing::new(String::new());
    let mut eof = false;
    let earlier = |n: u64| {
        if n == 0 { String::new() } else { format!("; the {n} subject(s) of earlier batches stay stored") }
    };
    while !eof {
        let mut rows: Vec<Vec<(String, String)>> = Vec::with_capacity(batch);
        let mut lines: Vec<u64> = Vec::with_capacity(batch);
        while rows.len() < batch {
            text.clear();
            line += 1;
            let read = reader.read_line(&mut text).map_err(|_| {
                anyhow::anyhow!(
                    "line {line}: cannot be read (not UTF-8?); nothing of this batch was stored{}",
                    earlier(imported)
                )
            })?;
            if read == 0 {
                eof = true;
                break;
            }
            if text.trim().is_empty() {
                continue;
            }
            let row = import_line(&text, line)
                .map_err(|e| anyhow::anyhow!("{e}; nothing of this batch was stored{}", earlier(imported)))?;
            rows.push(row);
            lines.push(line);
        }
        if rows.is_empty() {
            break;
        }
        let ids = match vault.import_subjects(ctx, scope, kind, &rows).await {
            Ok(ids) => ids,
            Err(VaultError::InvalidRows(invalid)) => {
                let mut out = Vec::new();
                for (row, errors) in &invalid {
                    for e in &errors.0 {
                        out.push(format!(
                            "  line {}: {}: {} ({})",
                            lines[*row],
                            e.field,
                            e.code.message_en(),
                            e.code.as_str()
                        ));
                    }
                }
                bail!(
                    "invalid values on {} line(s); nothing of this batch was stored{}:\n{}",
                    invalid.len(),
                    earlier(imported),
                    out.join("\n")
                );
            }
            Err(e) => {
                return Err(describe(e)).context(format!(
                    "lines {}–{} not imported; nothing of this batch was stored{}",
                    lines[0],
                    lines[lines.len() - 1],
                    earlier(imported)
                ));
            }
        };
        if print_ids {
            let mut out = std::io::stdout().lock();
            for (id, line) in ids.iter().zip(&lines) {
                writeln!(out, "{}", serde_json::json!({ "line": line, "id": id.to_string() }))?;
            }
        }
        imported += ids.len() as u64;
    }
    Ok(imported)
}

/// A progress bar on a terminal, nothing otherwise.
fn progress_bar(what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// A verifier key given on the command line, or read from the file it names.
fn parse_verifier(arg: &str) -> anyhow::Result<(String, AuditVerifyingKey)> {
    let text = if Path::new(arg).exists() {
        std::fs::read_to_string(arg).with_context(|| format!("cannot read {arg}"))?
    } else {
        arg.to_owned()
    };
    AuditVerifyingKey::from_verifier_string(text.trim())
        .map_err(|e| anyhow::anyhow!("--public-key is not a verifier key (origin+keyid+key): {e}"))
}

async fn audit(config: &Config, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify { file: Some(file), public_key } => {
            let (origin, key) = parse_verifier(public_key.as_deref().unwrap_or_default())?;
            let reader = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            let mut reader = std::io::BufReader::new(reader);
            let bar = progress_bar("verifying export");
            let result = kluis_vault::audit::verify_export(&mut reader, &origin, &key, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            });
            bar.finish_and_clear();
            let report = result.map_err(|fault| anyhow::anyhow!("audit export FAILED verification: {fault}"))?;
            println!(
                "audit export OK: {} events, {} checkpoints, root {}",
                report.events,
                report.checkpoints,
                hex::encode(report.root)
            );
        }
        AuditCommand::Verify { file: None, public_key } => {
            let store = open_store(config).await?;
            let record = store.keyring().await?.context("the database is not initialised")?;
            let stored_key = AuditVerifyingKey::from_bytes(&record.audit.public_key)
                .map_err(|_| anyhow::anyhow!("the stored audit public key is damaged"))?;
            // Trust the key the operator holds, not the one in the database under test.
            let pub_file = config.data_dir.join(config::AUDIT_PUB_FILE);
            let trusted = match public_key {
                Some(arg) => Some(parse_verifier(&arg)?),
                None if pub_file.exists() => Some(parse_verifier(&pub_file.to_string_lossy())?),
                None => None,
            };
            let (origin, key) = if let Some((origin, key)) = trusted {
                if origin != record.audit.origin || key != stored_key {
                    bail!(
                        "audit log FAILED verification: the database's audit identity differs from the trusted public key"
                    );
                }
                (origin, key)
            } else {
                eprintln!("warning: no audit.pub and no --public-key; checking against the key stored in the database");
                (record.audit.origin.clone(), stored_key)
            };
            let bar = progress_bar("verifying");
            let result = kluis_vault::audit::verify_store(&store, &origin, &key, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await;
            bar.finish_and_clear();
            let report = result.map_err(|e| anyhow::anyhow!("audit log FAILED verification: {e}"))?;
            println!(
                "audit log OK: {} events, {} Merkle nodes, {} checkpoints, root {}",
                report.events,
                report.nodes_checked,
                report.checkpoints,
                hex::encode(report.root)
            );
            store.close().await;
        }
        AuditCommand::Export { file } => {
            let vault = open_vault(config).await?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let out = options
                .open(&file)
                .with_context(|| format!("cannot create {} (it must not exist yet)", file.display()))?;
            let mut out = std::io::BufWriter::new(out);
            let bar = progress_bar("exporting");
            let written = kluis_vault::audit::export(&vault, &mut out, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await?;
            bar.finish_and_clear();
            out.into_inner().map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?.sync_all()?;
            println!("exported {written} audit events to {}", file.display());
            vault.store().close().await;
        }
        AuditCommand::Checkpoint => {
            let vault = open_vault(config).await?;
            let checkpoint = vault.checkpoint_now().await.map_err(|e| anyhow::anyhow!(e))?;
            print!("{}", checkpoint.note);
            vault.store().close().await;
        }
        AuditCommand::PublicKey => {
            let store = open_store(config).await?;
            let record = store.keyring().await?.context("the database is not initialised")?;
            let key = AuditVerifyingKey::from_bytes(&record.audit.public_key)
                .map_err(|_| anyhow::anyhow!("the stored audit public key is damaged"))?;
            println!("{}", key.to_verifier_string(&record.audit.origin));
            store.close().await;
        }
    }
    Ok(())
}

fn read_register_file(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read the register file {}", path.display()))
}

/// Prints each problem as `FILE:LINE:COLUMN: RULE: message` (the format editors and CI
/// annotations understand) and returns the error that ends the command.
fn report_diagnostics(path: &Path, diagnostics: &[Diagnostic]) -> anyhow::Error {
    for d in diagnostics {
        println!("{}:{}:{}: {}: {}", path.display(), d.line, d.column, d.rule, d.message);
    }
    let n = diagnostics.len();
    anyhow::anyhow!("{}: {n} problem{}; see docs/REGISTER.md", path.display(), if n == 1 { "" } else { "s" })
}

/// A file's register, or every problem with it.
fn checked_register(path: &Path) -> anyhow::Result<(String, Register)> {
    let text = read_register_file(path)?;
    match kluis_register::check(&text) {
        Ok(register) => Ok((text, register)),
        Err(diagnostics) => Err(report_diagnostics(path, &diagnostics)),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn meta_of(stored: &StoredRegisterVersion) -> StatementMeta {
    StatementMeta { version: stored.version, date: stored.loaded_at.date_utc(), hash: hex::encode(stored.sha256) }
}

fn no_register_loaded() -> anyhow::Error {
    anyhow::anyhow!("no register is loaded yet; run `kluis register load FILE` first (or pass --file FILE)")
}

async fn stored_version(vault: &Vault<SqlStore>, version: Option<u64>) -> anyhow::Result<StoredRegisterVersion> {
    match version {
        Some(n) => vault
            .register_version(n)
            .await
            .map_err(describe)?
            .ok_or_else(|| anyhow::anyhow!("there is no register version {n}; `kluis register list` shows them")),
        None => vault.store().latest_register_version().await?.ok_or_else(no_register_loaded),
    }
}

/// The register a statement or Art. 30 record is generated from, with its version line.
async fn register_for_document(config: &Config, source: &RegisterSource) -> anyhow::Result<(StatementMeta, Register)> {
    if let Some(path) = &source.file {
        let (text, register) = checked_register(path)?;
        let today = kluis_domain::time::Clock::now(&SystemClock).date_utc();
        return Ok((StatementMeta { version: 0, date: today, hash: sha256_hex(text.as_bytes()) }, register));
    }
    let vault = open_vault(config).await?;
    let stored = stored_version(&vault, source.version).await?;
    let register = kluis_vault::parse_stored(&stored).map_err(describe)?;
    vault.store().close().await;
    Ok((meta_of(&stored), register))
}

async fn register(config: &Config, cmd: RegisterCommand) -> anyhow::Result<()> {
    if let RegisterCommand::Check { file } = &cmd {
        checked_register(file)?;
        println!("{}: ok", file.display());
        return Ok(());
    }
    let vault = open_vault(config).await?;
    match cmd {
        RegisterCommand::Check { .. } => {}
        RegisterCommand::Load { file } => {
            let (text, _) = checked_register(&file)?;
            let before = vault.store().latest_register_version().await?.map(|v| v.version);
            let ctx = AuditContext { actor: cli_actor(), purpose: None, client: None, request_id: None };
            let stored = vault.load_register(&ctx, &text).await.map_err(|e| match e {
                VaultError::Register(diagnostics) => report_diagnostics(&file, &diagnostics),
                other => describe(other),
            })?;
            let sha256 = hex::encode(stored.sha256);
            if before == Some(stored.version) {
                println!("register unchanged: version {} (sha256 {sha256})", stored.version);
            } else {
                println!("register version {} loaded (sha256 {sha256})", stored.version);
            }
        }
        RegisterCommand::List => {
            let versions = vault.register_versions().await.map_err(describe)?;
            if versions.is_empty() {
                println!("no register loaded yet");
            }
            for v in versions {
                println!("{}\t{}\t{}\t{}", v.version, v.loaded_at.rfc3339_utc(), hex::encode(v.sha256), v.loaded_by);
            }
        }
        RegisterCommand::Show { version } => {
            print!("{}", stored_version(&vault, version).await?.source);
        }
        RegisterCommand::Diff { from, to } => {
            let a = stored_version(&vault, Some(from)).await?;
            let b = stored_version(&vault, Some(to)).await?;
            let diff = similar::TextDiff::from_lines(&a.source, &b.source);
            print!("{}", diff.unified_diff().header(&format!("register v{from}"), &format!("register v{to}")));
        }
    }
    vault.store().close().await;
    Ok(())
}
