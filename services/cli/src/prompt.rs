//! Asking the person at the terminal: a login name on standard input, a password without echo
//! (rpassword, through the terminal), or a password as the first line of standard input for
//! scripts (`--password-stdin`).

use std::io::{BufRead as _, Write as _};

use secrecy::SecretString;

use crate::error::CliError;

/// A password: the first line of standard input with `from_stdin`, else asked without echo.
pub fn password(from_stdin: bool, prompt: &str) -> Result<SecretString, CliError> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::io("cannot read the password from standard input", e))?;
        line.truncate(line.trim_end_matches(['\r', '\n']).len());
        line
    } else {
        rpassword::prompt_password(prompt).map_err(|e| {
            CliError::io("cannot read the password from the terminal (try --password-stdin)", e)
        })?
    };
    if text.is_empty() {
        return Err(CliError::Usage("the password is empty".into()));
    }
    Ok(SecretString::from(text))
}

/// A line typed after `prompt` (on standard error, so standard output stays clean).
pub fn line(prompt: &str) -> Result<String, CliError> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut text)
        .map_err(|e| CliError::io("cannot read standard input", e))?;
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(CliError::Usage(format!("{} is required", prompt.trim_end_matches([':', ' ']))));
    }
    Ok(text)
}
