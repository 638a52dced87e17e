//! `penny login`, `penny logout` and `penny register`.

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::Context;
use crate::args::{LoginArgs, RegisterArgs};
use crate::client::read_json;
use crate::error::CliError;
use crate::prompt;

/// Logs in and stores the session.
pub async fn login(ctx: &mut Context, args: &LoginArgs) -> Result<(), CliError> {
    let user = match &args.user {
        Some(user) => user.clone(),
        None if args.password_stdin => {
            return Err(CliError::Usage("--password-stdin needs --user".into()));
        }
        None => prompt::line("Username or email: ")?,
    };
    let password = prompt::password(args.password_stdin, "Password: ")?;
    ctx.client.login(&user, &password).await?;
    println!("logged in to {} as {user}", ctx.client.base());
    Ok(())
}

/// Ends the session on the server (revoking its refresh token) and forgets it here. The local
/// session is forgotten even if the server cannot be told.
pub async fn logout(ctx: &mut Context) -> Result<(), CliError> {
    let session = match ctx.client.session() {
        Ok(session) => session.clone(),
        Err(CliError::NotLoggedIn { url }) => {
            println!("not logged in to {url}");
            return Ok(());
        }
        Err(other) => return Err(other),
    };
    let request = ctx
        .client
        .http()
        .post(ctx.client.url("/v1/auth/logout"))
        .json(&json!({"refresh_token": session.refresh_token.expose_secret()}));
    let revoked = ctx.client.send(request).await;
    ctx.client.store().remove(ctx.client.base())?;
    match revoked {
        Ok(_) | Err(CliError::Api { status: 401, .. }) => {
            println!("logged out of {}", ctx.client.base());
            Ok(())
        }
        Err(error) => {
            eprintln!("warning: the server was not told ({error}); the local session is forgotten");
            Ok(())
        }
    }
}

/// Creates an account; with `--login`, logs in with it too.
pub async fn register(ctx: &mut Context, args: &RegisterArgs) -> Result<(), CliError> {
    let password = prompt::password(args.password_stdin, "Password: ")?;
    let name = args.name.clone().unwrap_or_else(|| args.username.clone());
    let request = ctx.client.http().post(ctx.client.url("/v1/auth/register")).json(&json!({
        "name": name,
        "username": args.username,
        "email": args.email,
        "password": password.expose_secret(),
    }));
    let user: Value = read_json(ctx.client.send(request).await?).await?;
    if ctx.json {
        crate::output::print_json(&user)?;
    } else {
        let id = user.get("id").and_then(Value::as_str).unwrap_or("-");
        println!("registered {} ({id})", args.username);
    }
    if args.login {
        ctx.client.login(&args.username, &password).await?;
        if !ctx.json {
            println!("logged in to {} as {}", ctx.client.base(), args.username);
        }
    }
    Ok(())
}
