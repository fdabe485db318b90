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
    /// `usage_metric:read`
    UsageMetricRead,
    /// `usage_metric:write`
    UsageMetricWrite,
    /// `*`: everything.
    All,
}

/// A scope name that groupd does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope '{0}'; known scopes: group:read, group:write, activity_log:read, query:read, project:read, project:write, usage_metric:read, usage_metric:write, *"
)]
pub struct UnknownScope(pub String);

impl Scope {
    const ALL: [Scope; 9] = [
        Scope::GroupRead,
        Scope::GroupWrite,
        Scope::ActivityLogRead,
        Scope::QueryRead,
        Scope::ProjectRead,
        Scope::ProjectWrite,
        Scope::UsageMetricRead,
        Scope::UsageMetricWrite,
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

    /// The other scopes that imply this one (`X:write` implies `X:read`; the group scopes
    /// also grant the usage metrics of group types).
    fn implied_by(self) -> &'static [Scope] {
        match self {
            Scope::GroupRead => &[Scope::GroupWrite],
            Scope::ProjectRead => &[Scope::ProjectWrite],
            Scope::UsageMetricRead => {
                &[Scope::UsageMetricWrite, Scope::GroupRead, Scope::GroupWrite]
            }
            Scope::UsageMetricWrite => &[Scope::GroupWrite],
            _ => &[],
        }
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
        self.0
            .iter()
            .any(|&s| s == Scope::All || s == needed || needed.implied_by().contains(&s))
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
