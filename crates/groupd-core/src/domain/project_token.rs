use std::fmt;

use serde::Serialize;

use super::secret::{PROJECT_TOKEN_PREFIX, generate_secret};

/// Shortest accepted project token, in characters.
pub const PROJECT_TOKEN_MIN_CHARS: usize = 8;
/// Longest accepted project token, in characters.
pub const PROJECT_TOKEN_MAX_CHARS: usize = 200;

/// A project's public capture token: 8 to 200 characters of ASCII letters, digits, `_` or `-`.
/// Generated tokens are `phc_` and 40 base62 characters; a kept PostHog token (the one SDKs
/// already send) passes the same check. The token is public (SDKs ship it), but it is still
/// never logged.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ProjectToken(String);

/// Why a string is not a project token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a project token must be 8 to 200 characters of letters, digits, '_' or '-'")]
pub struct InvalidProjectToken;

impl ProjectToken {
    /// Validates `s` as a token.
    pub fn parse(s: impl Into<String>) -> Result<Self, InvalidProjectToken> {
        let s = s.into();
        let valid = (PROJECT_TOKEN_MIN_CHARS..=PROJECT_TOKEN_MAX_CHARS).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(s))
        } else {
            Err(InvalidProjectToken)
        }
    }

    /// A fresh random token (`phc_` + 40 base62 characters).
    pub fn generate() -> Self {
        Self(generate_secret(PROJECT_TOKEN_PREFIX))
    }

    /// A token read back from the database, where only parsed or generated tokens are written.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ProjectToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Redacted: tokens stay out of logs and panic messages.
impl fmt::Debug for ProjectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProjectToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_8_to_200_url_safe_characters() {
        for ok in ["phc_abcd", "A-b_9012", &"x".repeat(200)] {
            assert!(ProjectToken::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "short",
            "",
            "has space1",
            "phc_ümlaut",
            "a.b.c.d.e",
            &"x".repeat(201),
        ] {
            assert_eq!(ProjectToken::parse(bad), Err(InvalidProjectToken), "{bad}");
        }
    }

    #[test]
    fn generated_tokens_parse_and_differ() {
        let t = ProjectToken::generate();
        assert!(t.as_str().starts_with("phc_"));
        assert_eq!(ProjectToken::parse(t.as_str()), Ok(t.clone()));
        assert_ne!(t, ProjectToken::generate());
    }

    #[test]
    fn debug_hides_the_token() {
        assert_eq!(
            format!("{:?}", ProjectToken::parse("phc_secret1").unwrap()),
            "ProjectToken(..)"
        );
    }
}
