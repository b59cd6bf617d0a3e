//! `server create-staff --email EMAIL --name NAME [--promote]`: makes the first staff account
//! (or promotes an existing account with `--promote`). The password is read from the terminal
//! without echo, or from the first line of standard input when it is not a terminal; it is
//! never taken from the command line, where other users and shell history would see it.

use crate::config::Config;
use std::io::{BufRead, IsTerminal, Write};

/// Parses the arguments after `create-staff`, asks for the password, and writes the account.
/// Returns the message for the person at the terminal.
pub async fn create_staff(config: &Config, args: &[String]) -> Result<String, String> {
    let mut email = None;
    let mut name = None;
    let mut promote = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--email" => email = args.next().cloned(),
            "--name" => name = args.next().cloned(),
            "--promote" => promote = true,
            "--password" => return Err("the password is never taken from the command line; run without --password and type it when asked".into()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let email = email.ok_or("--email is required")?.trim().to_owned();
    let pool = crate::database::connect(&config.database_url, &config.pool)
        .await
        .map_err(|err| err.to_string())?;
    crate::database::migrate(&pool)
        .await
        .map_err(|err| err.to_string())?;
    if promote {
        let done = sqlx::query("UPDATE users SET role = 'staff' WHERE lower(email) = lower($1)")
            .bind(&email)
            .execute(&pool)
            .await
            .map_err(|err| err.to_string())?;
        return if done.rows_affected() == 1 {
            Ok(format!("{email} is staff now."))
        } else {
            Err(format!("there is no account with the email {email}"))
        };
    }
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("Staff").to_owned());
    let password = read_password()?;
    app::ssr::accounts::check_sign_up(&email, &name, &password).map_err(|(_, message)| message)?;
    match app::ssr::accounts::create_user(&pool, &email, &name, &password, true).await {
        Ok(user) => Ok(format!(
            "Staff account {} ({}) created; sign in at /admin.",
            user.name, user.email
        )),
        Err(app::ssr::accounts::AccountError::EmailTaken) => Err(format!(
            "an account with the email {email} exists already; add --promote to make it staff"
        )),
        Err(err) => Err(err.to_string()),
    }
}

fn read_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password (at least 10 characters): ")
            .map_err(|e| e.to_string())?;
        let again =
            rpassword::prompt_password("The same password again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let _ = std::io::stderr().flush();
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
