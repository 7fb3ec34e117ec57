//! `kluis account …` and `kluis token …`: staff accounts and API tokens, managed by the local
//! operator (who holds the root key). Every change is audited with the operator as actor.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use kluis_crypto::password::Password;
use kluis_domain::{Timestamp, TokenId};
use kluis_store_sql::SqlStore;
use kluis_vault::{AccountChange, Enrolment, TokenSpec, Vault};

use crate::config::Config;
use crate::{describe, open_vault};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create a staff account. The password is asked on the terminal (twice) or read from
    /// --password-file; the TOTP enrolment URI and the recovery codes are shown once.
    Add {
        /// Account name: 2-32 characters a-z, 0-9, '.', '_', '-'.
        username: String,
        /// admin, dpo, staff, accountant or auditor.
        #[arg(long)]
        role: String,
        /// An address range (CIDR) the account may log in from; repeat for more. None: any.
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allow_ip: Vec<String>,
        /// Read the password from this file (first line) instead of the terminal.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// List accounts.
    List,
    /// Disable an account and end its sessions.
    Disable { username: String },
    /// Enable a disabled account.
    Enable { username: String },
    /// Replace the address ranges an account may log in from (none given: any address).
    AllowIp {
        username: String,
        #[arg(value_name = "CIDR")]
        cidrs: Vec<String>,
    },
    /// Lift the login lock after repeated failures.
    Unlock { username: String },
    /// End every session of an account.
    RevokeSessions { username: String },
    /// Drop password, TOTP seed and recovery codes and print a new enrolment secret.
    Reset { username: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is shown once.
    Create {
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Purposes the token may name, comma-separated (e.g. billing,service_delivery).
        #[arg(long, value_delimiter = ',')]
        purposes: Vec<String>,
        /// A staff role the token acts with (e.g. auditor) instead of, or besides, purposes.
        #[arg(long)]
        role: Option<String>,
        /// An address range (CIDR) the token may be used from; repeat for more. None: any.
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allow_ip: Vec<String>,
        /// Expiry: an RFC 3339 date-time (2027-01-31T23:59:59Z) or a duration from now (90d, 12h).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

/// A password from a file (first line) or the terminal (asked twice). `no_terminal` tells what to
/// do instead when there is no terminal (the option that gives the file).
pub fn read_password(file: Option<&Path>, what: &str, no_terminal: &str) -> anyhow::Result<Password> {
    if let Some(path) = file {
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        );
        let line = text.lines().next().unwrap_or_default();
        return Ok(Password::new(line.to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask the password of {what} on: {no_terminal}");
    }
    let first = zeroize::Zeroizing::new(rpassword::prompt_password(format!("Password for {what}: "))?);
    let second = zeroize::Zeroizing::new(rpassword::prompt_password("Repeat the password: ")?);
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(Password::new(first.to_string()))
}

/// Prints what enrolment hands out, once.
pub fn print_enrolment(username: &str, enrolment: &Enrolment) {
    println!("Account `{username}` ({}) created.", enrolment.account);
    println!();
    println!("Add this to an authenticator app (shown once; the seed is stored encrypted):");
    println!();
    println!("    {}", enrolment.otpauth_uri.as_str());
    println!();
    println!("Recovery codes (each works once; keep them offline):");
    for code in &enrolment.recovery_codes {
        println!("    {}", code.as_str());
    }
    println!();
    println!("The first login with a valid code completes enrolment.");
}

async fn account_id(vault: &Vault<SqlStore>, username: &str) -> anyhow::Result<kluis_domain::AccountId> {
    Ok(vault.account_by_username(username).await.map_err(describe)?.id)
}

pub async fn account(config: &Config, cmd: AccountCommand) -> anyhow::Result<()> {
    let vault = open_vault(config).await?;
    let ctx = crate::cli_context_without_purpose();
    match cmd {
        AccountCommand::Add { username, role, allow_ip, password_file } => {
            let password = read_password(password_file.as_deref(), &username, "give --password-file FILE")?;
            let enrolment = vault
                .create_account_with_password(&ctx, &username, &role, &allow_ip, password)
                .await
                .map_err(describe)?;
            print_enrolment(&username, &enrolment);
        }
        AccountCommand::List => {
            let accounts = vault.accounts().await.map_err(describe)?;
            let list: Vec<_> = accounts
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "id": a.id.to_string(),
                        "username": a.username,
                        "role": a.role,
                        "allowed_ips": a.allowed_ips,
                        "enrolled": a.enrolled,
                        "disabled": a.disabled_at.is_some(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "accounts": list }))?);
        }
        AccountCommand::Disable { username } => {
            let id = account_id(&vault, &username).await?;
            vault
                .update_account(&ctx, id, &AccountChange { disabled: Some(true), ..AccountChange::default() })
                .await
                .map_err(describe)?;
            println!("account `{username}` disabled; its sessions ended");
        }
        AccountCommand::Enable { username } => {
            let id = account_id(&vault, &username).await?;
            vault
                .update_account(&ctx, id, &AccountChange { disabled: Some(false), ..AccountChange::default() })
                .await
                .map_err(describe)?;
            println!("account `{username}` enabled");
        }
        AccountCommand::AllowIp { username, cidrs } => {
            let id = account_id(&vault, &username).await?;
            let info = vault
                .update_account(&ctx, id, &AccountChange { allowed_ips: Some(cidrs), ..AccountChange::default() })
                .await
                .map_err(describe)?;
            println!(
                "account `{username}` may log in from: {}",
                if info.allowed_ips.is_empty() { "any address".to_owned() } else { info.allowed_ips.join(", ") }
            );
        }
        AccountCommand::Unlock { username } => {
            let id = account_id(&vault, &username).await?;
            vault.unlock_account(&ctx, id).await.map_err(describe)?;
            println!("account `{username}` unlocked");
        }
        AccountCommand::RevokeSessions { username } => {
            let id = account_id(&vault, &username).await?;
            let n = vault.revoke_sessions(&ctx, id).await.map_err(describe)?;
            println!("{n} session(s) of `{username}` ended");
        }
        AccountCommand::Reset { username } => {
            let id = account_id(&vault, &username).await?;
            let new = vault.reset_enrolment(&ctx, id).await.map_err(describe)?;
            println!(
                "Enrolment of `{username}` reset. Enrolment secret (shown once, valid until {}):",
                new.enrolment_expires_at.rfc3339_utc()
            );
            println!();
            println!("    {}", new.enrolment_secret.as_str());
            println!();
            println!("The person sets a new password with it at POST /api/v1/auth/enrol.");
        }
    }
    vault.store().close().await;
    Ok(())
}

/// `2027-01-31T23:59:59Z`, or `90d` / `12h` / `30m` from `now`.
pub fn parse_expiry(raw: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    let unit = |c: char| match c {
        'd' => Some(86_400_000_i64),
        'h' => Some(3_600_000),
        'm' => Some(60_000),
        _ => None,
    };
    if let Some(last) = raw.chars().last()
        && let Some(ms) = unit(last)
        && let Ok(n) = raw[..raw.len() - 1].parse::<i64>()
        && n > 0
    {
        return Ok(Timestamp::from_millis(now.as_millis().saturating_add(n.saturating_mul(ms))));
    }
    let t = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).map_err(|_| {
        anyhow::anyhow!(
            "--expires: expected an RFC 3339 date-time such as 2027-01-31T23:59:59Z or a duration such as 90d or 12h"
        )
    })?;
    Ok(Timestamp::from_millis(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).context("--expires: out of range")?))
}

pub async fn token(config: &Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let vault = open_vault(config).await?;
    let ctx = crate::cli_context_without_purpose();
    match cmd {
        TokenCommand::Create { name, purposes, role, allow_ip, expires } => {
            let now = kluis_domain::time::Clock::now(&kluis_domain::time::SystemClock);
            let expires_at = expires.as_deref().map(|e| parse_expiry(e, now)).transpose()?;
            let spec = TokenSpec {
                name,
                role,
                purposes: if purposes.is_empty() { None } else { Some(purposes) },
                allowed_ips: allow_ip,
                expires_at,
            };
            let issued = vault.create_token(&ctx, &spec).await.map_err(describe)?;
            println!("Token {} (shown once; only its hash is stored):", issued.id);
            println!();
            println!("    {}", issued.secret.as_str());
            println!();
            println!("Use it as `Authorization: Bearer <token>` with a `Kluis-Purpose` header.");
        }
        TokenCommand::List => {
            let tokens = vault.tokens().await.map_err(describe)?;
            let list: Vec<_> = tokens
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "id": t.id.to_string(),
                        "name": t.name,
                        "role": t.role,
                        "purposes": t.purposes,
                        "allowed_ips": t.allowed_ips,
                        "created_at": t.created_at.rfc3339_utc(),
                        "expires_at": t.expires_at.map(Timestamp::rfc3339_utc),
                        "revoked_at": t.revoked_at.map(Timestamp::rfc3339_utc),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "tokens": list }))?);
        }
        TokenCommand::Revoke { id } => {
            let id: TokenId = id.parse().map_err(|e| anyhow::anyhow!("token id: {e}"))?;
            vault.revoke_token(&ctx, id).await.map_err(describe)?;
            println!("token {id} revoked");
        }
    }
    vault.store().close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_parse_as_durations_or_instants() {
        let now = Timestamp::from_millis(1_000_000);
        assert_eq!(parse_expiry("2d", now).unwrap(), Timestamp::from_millis(1_000_000 + 2 * 86_400_000));
        assert_eq!(parse_expiry("12h", now).unwrap(), Timestamp::from_millis(1_000_000 + 12 * 3_600_000));
        assert_eq!(parse_expiry("1970-01-01T00:00:10Z", now).unwrap(), Timestamp::from_millis(10_000));
        for bad in ["", "d", "0d", "-3d", "tomorrow", "2027-13-01T00:00:00Z"] {
            assert!(parse_expiry(bad, now).is_err(), "{bad}");
        }
    }
}
