//! Newtypes that turn raw input into domain values: parse, don't validate.
mod group_key;
mod ids;
mod project_token;
mod scope;
mod secret;

pub use group_key::{GROUP_KEY_MAX_CHARS, GroupKey, GroupKeyError};
pub use ids::{GroupTypeIndex, MAX_GROUP_TYPES_LIMIT, ProjectId, parse_int};
pub use project_token::{
    InvalidProjectToken, PROJECT_TOKEN_MAX_CHARS, PROJECT_TOKEN_MIN_CHARS, ProjectToken,
};
pub use scope::{Scope, ScopeSet, UnknownScope};
pub use secret::{
    PERSONAL_KEY_PREFIX, PROJECT_TOKEN_PREFIX, SecretDigest, generate_secret, mask_secret,
};

/// Who made a change: an API key (by its label) or the capture pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A personal API key, shown in activity by its label.
    Key(String),
    /// Capture (`$groupidentify`) and other server-made changes.
    System,
}
