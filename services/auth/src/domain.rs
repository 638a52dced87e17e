//! Account fields as parsed types: a value of these types has been checked, so the store and
//! the handlers never re-validate.

use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

/// Shortest and longest password, in characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

/// A display name: 1–100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a name as given by the user.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty");
        }
        if name.chars().count() > 100 {
            return Err("must be at most 100 characters");
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: 3–32 of `a-z A-Z 0-9 . _ -`. It never contains `@`, so a login that does is an
/// email and one that does not is a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if !(3..=32).contains(&name.len()) {
            return Err("must be 3 to 32 characters");
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err("may contain only letters, digits, '.', '_' and '-'");
        }
        Ok(Self(name.to_owned()))
    }

    /// The username as chosen (case kept; uniqueness ignores case).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, syntax checked, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim();
        if email.len() > 254 {
            return Err("must be at most 254 characters");
        }
        lettre::Address::from_str(email).map_err(|_| "is not a valid email address")?;
        Ok(Self(email.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password's length (strength is checked with the user's details, see
/// [`crate::passwords`]).
pub fn check_password_length(password: &SecretString) -> Result<(), &'static str> {
    let chars = password.expose_secret().chars().count();
    if PASSWORD_CHARS.contains(&chars) { Ok(()) } else { Err("must be 8 to 128 characters") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada Lovelace ").unwrap().as_str(), "Ada Lovelace");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn usernames_never_look_like_emails() {
        assert!(Username::parse("ada.l-2_x").is_ok());
        for bad in ["ab", "ada@home", "ada lovelace", "ädä", &"x".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_checked() {
        assert!(EmailAddress::parse("ada@example.org").is_ok());
        for bad in ["ada", "@example.org", "ada@", "a b@example.org"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(check_password_length(&SecretString::from("1234567")).is_err());
        assert!(check_password_length(&SecretString::from("12345678")).is_ok());
        assert!(check_password_length(&SecretString::from("é".repeat(128))).is_ok());
        assert!(check_password_length(&SecretString::from("x".repeat(129))).is_err());
    }
}
