use std::fmt;

/// A personal API key scope: what a key may do (`X:write` implies `X:read`, `*` everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `group:read`
    GroupRead,
    /// `group:write`
    GroupWrite,
    /// `activity_log:read`
    ActivityLogRead,
    /// `query:read`
    QueryRead,
    /// `project:read`
    ProjectRead,
    /// `project:write`
    ProjectWrite,
    /// `usage_metric:read` (also granted by `group:read`)
    UsageMetricRead,
    /// `usage_metric:write` (also granted by `group:write`)
    UsageMetricWrite,
    /// `personal_api_key:read`
    PersonalApiKeyRead,
    /// `personal_api_key:write`
    PersonalApiKeyWrite,
    /// `*`: everything.
    All,
}

/// A scope name that groupd does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope '{0}'; known scopes: group:read, group:write, activity_log:read, query:read, project:read, project:write, usage_metric:read, usage_metric:write, personal_api_key:read, personal_api_key:write, *"
)]
pub struct UnknownScope(pub String);

impl Scope {
    const ALL: [Scope; 11] = [
        Scope::GroupRead,
        Scope::GroupWrite,
        Scope::ActivityLogRead,
        Scope::QueryRead,
        Scope::ProjectRead,
        Scope::ProjectWrite,
        Scope::UsageMetricRead,
        Scope::UsageMetricWrite,
        Scope::PersonalApiKeyRead,
        Scope::PersonalApiKeyWrite,
        Scope::All,
    ];

    /// The wire name, e.g. `group:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::GroupRead => "group:read",
            Scope::GroupWrite => "group:write",
            Scope::ActivityLogRead => "activity_log:read",
            Scope::QueryRead => "query:read",
            Scope::ProjectRead => "project:read",
            Scope::ProjectWrite => "project:write",
            Scope::UsageMetricRead => "usage_metric:read",
            Scope::UsageMetricWrite => "usage_metric:write",
            Scope::PersonalApiKeyRead => "personal_api_key:read",
            Scope::PersonalApiKeyWrite => "personal_api_key:write",
            Scope::All => "*",
        }
    }

    /// Parses one wire name.
    pub fn parse(s: &str) -> Result<Self, UnknownScope> {
        Self::ALL
            .into_iter()
            .find(|sc| sc.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }

    /// True when holding `self` grants `needed`: itself, the read of its write, `*` everything,
    /// and the group scopes the usage-metric ones (usage metrics belong to group types).
    pub fn covers(self, needed: Scope) -> bool {
        use Scope::*;
        self == All
            || self == needed
            || matches!(
                (self, needed),
                (GroupWrite, GroupRead | UsageMetricRead | UsageMetricWrite)
                    | (GroupRead, UsageMetricRead)
                    | (ProjectWrite, ProjectRead)
                    | (UsageMetricWrite, UsageMetricRead)
                    | (PersonalApiKeyWrite, PersonalApiKeyRead)
            )
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes a key carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    /// Parses a comma-separated list (`group:read,group:write`); blanks between commas are skipped.
    pub fn parse_list(s: &str) -> Result<Self, UnknownScope> {
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let sc = Scope::parse(part)?;
            if !v.contains(&sc) {
                v.push(sc);
            }
        }
        Ok(Self(v))
    }

    /// Builds a set from parsed scopes.
    pub fn from_scopes(v: impl IntoIterator<Item = Scope>) -> Self {
        let mut out: Vec<Scope> = Vec::new();
        for s in v {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Self(out)
    }

    /// True when the set grants `needed` (`*` grants all; `X:write` grants `X:read`).
    pub fn grants(&self, needed: Scope) -> bool {
        self.0.iter().any(|&s| s.covers(needed))
    }

    /// True when every scope of `other` is granted by this set: what a key may hand on to a key
    /// it creates (`*` only from `*`).
    pub fn grants_all(&self, other: &ScopeSet) -> bool {
        other.0.iter().all(|&s| self.grants(s))
    }

    /// The scopes as wire names, in the order given.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    /// True when no scope is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_implies_read_and_star_implies_all() {
        let s = ScopeSet::parse_list("group:write").unwrap();
        assert!(s.grants(Scope::GroupRead) && s.grants(Scope::GroupWrite));
        assert!(!s.grants(Scope::ProjectRead) && !s.grants(Scope::ActivityLogRead));
        let r = ScopeSet::parse_list("group:read").unwrap();
        assert!(!r.grants(Scope::GroupWrite));
        assert!(ScopeSet::parse_list("*").unwrap().grants(Scope::QueryRead));
        assert!(s.grants(Scope::UsageMetricWrite) && r.grants(Scope::UsageMetricRead));
        assert!(!r.grants(Scope::UsageMetricWrite));
        let k = ScopeSet::parse_list("personal_api_key:write").unwrap();
        assert!(k.grants(Scope::PersonalApiKeyRead) && !k.grants(Scope::GroupRead));
    }

    #[test]
    fn group_scopes_grant_usage_metrics() {
        let r = ScopeSet::parse_list("group:read").unwrap();
        assert!(r.grants(Scope::UsageMetricRead) && !r.grants(Scope::UsageMetricWrite));
        let w = ScopeSet::parse_list("group:write").unwrap();
        assert!(w.grants(Scope::UsageMetricRead) && w.grants(Scope::UsageMetricWrite));
        let m = ScopeSet::parse_list("usage_metric:write").unwrap();
        assert!(m.grants(Scope::UsageMetricRead) && !m.grants(Scope::GroupRead));
    }

    #[test]
    fn a_set_hands_on_only_what_it_holds() {
        let own = ScopeSet::parse_list("group:write,personal_api_key:write").unwrap();
        assert!(own.grants_all(&ScopeSet::parse_list("group:read,usage_metric:write").unwrap()));
        assert!(!own.grants_all(&ScopeSet::parse_list("query:read").unwrap()));
        assert!(!own.grants_all(&ScopeSet::parse_list("*").unwrap()));
        let star = ScopeSet::parse_list("*").unwrap();
        assert!(star.grants_all(&ScopeSet::parse_list("*,query:read").unwrap()));
    }

    #[test]
    fn unknown_names_are_refused() {
        assert_eq!(
            ScopeSet::parse_list("group:read,groups:read"),
            Err(UnknownScope("groups:read".into()))
        );
        assert_eq!(
            ScopeSet::parse_list(" group:read , project:write ")
                .unwrap()
                .names(),
            ["group:read", "project:write"]
        );
    }
}
