use std::fmt;

use serde::Serialize;

/// Longest accepted group key, in characters.
pub const GROUP_KEY_MAX_CHARS: usize = 400;

/// A group's key: non-blank, at most 400 characters, no NUL characters (PostgreSQL text cannot
/// hold them, and both backends must accept the same input).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct GroupKey(String);

/// Why a string is not a group key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKeyError {
    /// Empty or only whitespace.
    Blank,
    /// Longer than [`GROUP_KEY_MAX_CHARS`].
    TooLong,
    /// Contains U+0000.
    NulCharacter,
}

impl GroupKey {
    /// Validates `s` as a group key. The key is kept exactly as given (no trimming), so lookups
    /// are exact and case-sensitive.
    pub fn parse(s: impl Into<String>) -> Result<Self, GroupKeyError> {
        let s = s.into();
        if s.trim().is_empty() {
            return Err(GroupKeyError::Blank);
        }
        if s.chars().count() > GROUP_KEY_MAX_CHARS {
            return Err(GroupKeyError::TooLong);
        }
        if s.contains('\0') {
            return Err(GroupKeyError::NulCharacter);
        }
        Ok(Self(s))
    }

    /// A key read back from the database, where only parsed keys are written.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for GroupKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_keys_up_to_400_characters() {
        assert!(GroupKey::parse("a".repeat(400)).is_ok());
        assert_eq!(
            GroupKey::parse("é".repeat(401)),
            Err(GroupKeyError::TooLong)
        );
    }

    #[test]
    fn refuses_blank_and_nul() {
        assert_eq!(GroupKey::parse(""), Err(GroupKeyError::Blank));
        assert_eq!(GroupKey::parse("  \t"), Err(GroupKeyError::Blank));
        assert_eq!(GroupKey::parse("a\0b"), Err(GroupKeyError::NulCharacter));
    }

    #[test]
    fn keeps_the_key_verbatim() {
        assert_eq!(GroupKey::parse(" Acme ").unwrap().as_str(), " Acme ");
    }
}
