//! The service's own subcommands, beside the platform's `serve`, `api`, `work` and `migrate`.

use std::io::BufRead as _;

use anyhow::Context as _;
use clap::Subcommand;
use penny_contract::Role;
use penny_platform::db::{self, DbConfig};
use penny_platform::{CommonSettings, Settings};
use secrecy::SecretString;

use crate::accounts::{self, NewAccount};
use crate::error::AuthError;
use crate::passwords::{HashParams, PasswordHasher};
use crate::settings::AuthSettings;

/// auth's subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Create an admin account. The password is read from PENNY_ADMIN_PASSWORD or, when that is
    /// unset, from the first line of standard input (never from the command line, where other
    /// users of the machine could see it).
    CreateAdmin {
        /// Username (3–32 of letters, digits, `.`, `_`, `-`).
        #[arg(long)]
        username: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name (defaults to the username).
        #[arg(long)]
        name: Option<String>,
    },
}

impl AuthCommand {
    /// Runs the subcommand.
    pub async fn run(self, settings: Settings<AuthSettings>) -> anyhow::Result<()> {
        match self {
            AuthCommand::CreateAdmin { username, email, name } => {
                let password = match &settings.service.admin_password {
                    Some(password) => password.clone(),
                    None => read_password()?,
                };
                create_admin(&settings.common, &settings.service, username, email, name, password).await
            }
        }
    }
}

fn read_password() -> anyhow::Result<SecretString> {
    eprintln!("password for the new admin (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("failed to read the password")?;
    Ok(SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned()))
}

async fn create_admin(
    common: &CommonSettings,
    service: &AuthSettings,
    username: String,
    email: String,
    name: Option<String>,
    password: SecretString,
) -> anyhow::Result<()> {
    let config = DbConfig::new(common.database_url.clone(), crate::INFO.schema, 2)?;
    if common.migrate_on_start {
        db::migrate(&config, &crate::MIGRATIONS).await?;
    }
    let pool = db::pool(&config)?;
    let params = HashParams {
        memory_kib: service.argon2_memory_kib,
        iterations: service.argon2_iterations,
        parallelism: service.argon2_parallelism,
    };
    let hasher = PasswordHasher::start(params, 1, service.password_min_score).await?;
    let account = NewAccount { name: name.unwrap_or_else(|| username.clone()), username, email, password };
    match accounts::create(&pool, &hasher, account, Role::Admin).await {
        Ok(user) => {
            println!("created admin {} ({})", user.username, user.id);
            Ok(())
        }
        Err(AuthError::Validation(fields)) => {
            let reasons: Vec<String> = fields.iter().map(|(k, v)| format!("{k} {v}")).collect();
            anyhow::bail!("invalid admin: {}", reasons.join("; "))
        }
        Err(AuthError::UsernameTaken) => anyhow::bail!("the username is taken"),
        Err(AuthError::EmailTaken) => anyhow::bail!("the email is taken"),
        Err(error) => Err(anyhow::anyhow!("failed to create the admin: {error}")),
    }
}
