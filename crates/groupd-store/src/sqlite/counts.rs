//! The property counts of migration 0003 (`group_prop_keys`, `group_prop_values`): how many of a
//! type's groups hold each property name and each value, so `property_definitions` and
//! `property_values` read a few rows instead of every group. Every write that changes a group's
//! properties applies its [`CountChange`]s here in the same transaction. (PostgreSQL keeps the
//! same counts, summed per batch: `postgres/counts.rs`.)
use std::collections::BTreeMap;

use groupd_core::{
    GroupTypeIndex, ProjectId,
    groups::{CountChange, PropertyType, value_text},
};
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::{PropertyCount, StoreResult, TypeRef, ValueCount};

/// A property's 20 most common values (`?4`: a lower-cased substring filter or NULL), read in
/// count order off the index `group_prop_values_top` (no sort of every value).
pub(super) const TOP_VALUES: &str = "SELECT value, groups FROM group_prop_values
     WHERE project_id = ?1 AND group_type_index = ?2 AND key = ?3 AND groups > 0
       AND (?4 IS NULL OR instr(groupd_lower(value), ?4) > 0)
     ORDER BY groups DESC, value LIMIT 20";

/// The count changes of one writer job, summed: a job of a thousand new groups moves the row of
/// a common value (`industry = technology`) once instead of hundreds of times, and a property's
/// name once per job. Applied by [`Self::apply`] before the job ends, in the job's transaction;
/// nothing in the write path reads the counts meanwhile. Keyed by type index, then name: a name
/// or a string value already met is found by reference, so only the first sight of each in a job
/// allocates (a `String` per change was 2.5 % of the writer's time creating groups).
#[derive(Default)]
pub(super) struct PendingCounts {
    by_type: BTreeMap<i64, BTreeMap<String, NameCounts>>,
}

/// One property name's summed changes within a job.
#[derive(Default)]
struct NameCounts {
    /// The name's own count change.
    by: i64,
    /// Per value text.
    values: BTreeMap<String, i64>,
    /// The first typed value's type, in the order the job met them (the first recorded decides,
    /// as in PostHog).
    first_type: Option<PropertyType>,
}

impl NameCounts {
    fn add(&mut self, ch: &CountChange<'_>) {
        let Some(v) = ch.value else {
            self.by += ch.by;
            return;
        };
        if ch.by > 0 && self.first_type.is_none() {
            self.first_type = PropertyType::of(v);
        }
        match v {
            Value::String(s) => match self.values.get_mut(s.as_str()) {
                Some(n) => *n += ch.by,
                None => {
                    self.values.insert(s.clone(), ch.by);
                }
            },
            other => *self.values.entry(value_text(other)).or_default() += ch.by,
        }
    }
}

impl PendingCounts {
    /// Adds one group's count changes (a group of type `index`).
    pub(super) fn add(&mut self, index: GroupTypeIndex, changes: &[CountChange<'_>]) {
        let names = self.by_type.entry(index.0).or_default();
        for ch in changes {
            match names.get_mut(ch.property) {
                Some(n) => n.add(ch),
                None => {
                    let mut n = NameCounts::default();
                    n.add(ch);
                    names.insert(ch.property.to_owned(), n);
                }
            }
        }
    }

    /// Writes the summed changes of `project`'s groups (the maps are emptied).
    pub(super) fn apply(&mut self, c: &Connection, project: ProjectId) -> StoreResult<()> {
        for (index, names) in std::mem::take(&mut self.by_type) {
            let index = GroupTypeIndex(index);
            for (key, n) in names {
                if n.by != 0 {
                    bump_key(c, project, index, &key, n.by)?;
                }
                for (text, by) in n.values {
                    if by != 0 {
                        bump_value(c, project, index, &key, &text, by)?;
                    }
                }
                if let Some(t) = n.first_type {
                    record_type(c, project, index, &key, t)?;
                }
            }
        }
        Ok(())
    }
}

/// Records a property's type from a value newly held, unless one is recorded already (the
/// first typed value decides, as in PostHog).
fn record_type(
    c: &Connection,
    project: ProjectId,
    index: GroupTypeIndex,
    key: &str,
    t: PropertyType,
) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT OR IGNORE INTO group_prop_types (project_id, group_type_index, key, property_type)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![project.0, index.0, key, t.as_str()])?;
    Ok(())
}

fn bump_key(
    c: &Connection,
    project: ProjectId,
    index: GroupTypeIndex,
    key: &str,
    by: i64,
) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO group_prop_keys (project_id, group_type_index, key, groups) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET groups = groups + excluded.groups",
    )?
    .execute(params![project.0, index.0, key, by])?;
    if by < 0 {
        c.prepare_cached(
            "DELETE FROM group_prop_keys WHERE project_id = ?1 AND group_type_index = ?2 AND key = ?3 AND groups <= 0",
        )?
        .execute(params![project.0, index.0, key])?;
    }
    Ok(())
}

fn bump_value(
    c: &Connection,
    project: ProjectId,
    index: GroupTypeIndex,
    key: &str,
    text: &str,
    by: i64,
) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO group_prop_values (project_id, group_type_index, key, value, groups) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO UPDATE SET groups = groups + excluded.groups",
    )?
    .execute(params![project.0, index.0, key, text, by])?;
    if by < 0 {
        c.prepare_cached(
            "DELETE FROM group_prop_values
             WHERE project_id = ?1 AND group_type_index = ?2 AND key = ?3 AND value = ?4 AND groups <= 0",
        )?
        .execute(params![project.0, index.0, key, text])?;
    }
    Ok(())
}

/// Forgets the counts of a type (its groups are being deleted in the same transaction).
pub(super) fn drop_type(c: &Connection, t: TypeRef) -> StoreResult<()> {
    for table in ["group_prop_keys", "group_prop_values", "group_prop_types"] {
        c.prepare_cached(&format!(
            "DELETE FROM {table} WHERE project_id = ?1 AND group_type_index = ?2"
        ))?
        .execute(params![t.project.0, t.index.0])?;
    }
    Ok(())
}

/// Property names per type with their group counts.
pub(super) fn definitions(c: &Connection, project: ProjectId) -> StoreResult<Vec<PropertyCount>> {
    let mut st = c.prepare_cached(
        "SELECT group_type_index, key, groups FROM group_prop_keys
         WHERE project_id = ?1 AND groups > 0
         ORDER BY group_type_index, groups DESC, key",
    )?;
    let rows = st.query_map([project.0], |r| {
        Ok(PropertyCount {
            index: GroupTypeIndex(r.get(0)?),
            name: r.get(1)?,
            count: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A property's top values (`filter`: lower-cased substring).
pub(super) fn top_values(
    c: &Connection,
    project: ProjectId,
    index: GroupTypeIndex,
    property: &str,
    filter: Option<&str>,
) -> StoreResult<Vec<ValueCount>> {
    let mut st = c.prepare_cached(TOP_VALUES)?;
    let rows = st.query_map(params![project.0, index.0, property, filter], |r| {
        Ok(ValueCount {
            name: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top values come off the index in order, without sorting every value of the property.
    #[test]
    fn top_values_need_no_sort() {
        let dir = tempfile::tempdir().unwrap();
        let c = super::super::migrate::connect(&dir.path().join("plan.db")).unwrap();
        super::super::migrate::migrate(&c).unwrap();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {TOP_VALUES}"))
            .unwrap()
            .query_map(params![1, 0, "name", None::<String>], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter().any(|p| p.contains("group_prop_values_top")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
    }
}
