//! The maintained property counts of migration 0002 (`group_prop_keys`, `group_prop_values`):
//! how many of a type's groups hold each property name and each value, so that
//! `property_definitions` and `property_values` read a few rows instead of every group. The
//! SQLite backend keeps the same counts (sqlite/index.rs).
//!
//! Every write that creates a group or changes its properties records the group's old and new
//! properties here ([`PropCounts::group_changed`], the comparison sqlite `reindex` makes) and
//! applies the summed deltas in the same transaction, just before it commits
//! ([`PropCounts::apply`]): one multi-row upsert per table and project, rows in one sorted order.
//! A count row is a hot row shared by every writer of a popular value, across processes; summing
//! first makes a whole write batch one increment per row, taken at the end of the transaction so the
//! lock is held only until the commit, and the sorted order means two transactions never wait for
//! each other's count rows in opposite orders (no deadlock among them).
//!
//! Names and values are unbounded, and a btree entry is limited to about 2.7 kB: rows are keyed by
//! a hash of their text (the expressions of migration 0002, computed by the statements here).
use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;
use serde_json::{Map, Value};

use super::{jsonb_safe, nul_safe};
use crate::StoreResult;

/// A property value as `property_values` shows it, as the SQLite backend renders it (strings
/// bare, anything else as compact JSON), made storable: NUL becomes U+FFFD, as everywhere in
/// PostgreSQL text (and a `\u0000` escape inside a nested value `\ufffd`, which is what the
/// migration's backfill reads from the stored text).
pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => nul_safe(s).into_owned(),
        other => jsonb_safe(&other.to_string()).into_owned(),
    }
}

/// Count changes not yet written, by (project, type index, name) and (…, value): sorted maps, so
/// they are applied in one order by every transaction.
#[derive(Default)]
pub(super) struct PropCounts {
    keys: BTreeMap<(i64, i32, String), i64>,
    values: BTreeMap<(i64, i32, String, String), i64>,
}

impl PropCounts {
    fn bump_key(&mut self, project: i64, index: i32, key: &str, by: i64) {
        *self
            .keys
            .entry((project, index, nul_safe(key).into_owned()))
            .or_default() += by;
    }

    fn bump_value(&mut self, project: i64, index: i32, key: &str, value: &Value, by: i64) {
        *self
            .values
            .entry((
                project,
                index,
                nul_safe(key).into_owned(),
                value_text(value),
            ))
            .or_default() += by;
    }

    /// Records that a group of type `index` went from `old` properties (empty for a new group)
    /// to `new`.
    pub(super) fn group_changed(
        &mut self,
        project: i64,
        index: i32,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) {
        for (k, v) in old {
            match new.get(k) {
                Some(nv) if nv == v => {}
                Some(_) => self.bump_value(project, index, k, v, -1),
                None => {
                    self.bump_value(project, index, k, v, -1);
                    self.bump_key(project, index, k, -1);
                }
            }
        }
        for (k, v) in new {
            match old.get(k) {
                Some(ov) if ov == v => {}
                Some(_) => self.bump_value(project, index, k, v, 1),
                None => {
                    self.bump_value(project, index, k, v, 1);
                    self.bump_key(project, index, k, 1);
                }
            }
        }
    }

    /// Adds the changes of `other` (a write batch's job that committed its savepoint).
    pub(super) fn absorb(&mut self, other: PropCounts) {
        for (k, n) in other.keys {
            *self.keys.entry(k).or_default() += n;
        }
        for (k, n) in other.values {
            *self.values.entry(k).or_default() += n;
        }
    }

    /// Writes the changes within the caller's transaction: per project, one upsert of the names
    /// and one of the values, in sorted order, then the rows that fell to zero are deleted.
    pub(super) async fn apply(self, c: &impl GenericClient) -> StoreResult<()> {
        let mut keys: BTreeMap<i64, Rows> = BTreeMap::new();
        for ((project, index, key), n) in self.keys {
            if n != 0 {
                keys.entry(project).or_default().push(index, key, None, n);
            }
        }
        let mut values: BTreeMap<i64, Rows> = BTreeMap::new();
        for ((project, index, key, value), n) in self.values {
            if n != 0 {
                values
                    .entry(project)
                    .or_default()
                    .push(index, key, Some(value), n);
            }
        }
        for (project, rows) in keys {
            rows.write_keys(c, project).await?;
        }
        for (project, rows) in values {
            rows.write_values(c, project).await?;
        }
        Ok(())
    }
}

/// One project's count changes as columns, in sorted order.
#[derive(Default)]
struct Rows {
    indexes: Vec<i32>,
    keys: Vec<String>,
    values: Vec<String>,
    deltas: Vec<i64>,
    /// Positions of the negative deltas: rows that may have fallen to zero.
    falling: Vec<usize>,
}

impl Rows {
    fn push(&mut self, index: i32, key: String, value: Option<String>, n: i64) {
        if n < 0 {
            self.falling.push(self.deltas.len());
        }
        self.indexes.push(index);
        self.keys.push(key);
        if let Some(v) = value {
            self.values.push(v);
        }
        self.deltas.push(n);
    }

    fn falling<T: Clone>(&self, col: &[T]) -> Vec<T> {
        self.falling.iter().map(|i| col[*i].clone()).collect()
    }

    async fn write_keys(self, c: &impl GenericClient, project: i64) -> StoreResult<()> {
        // ORDER BY the array position: the rows are locked in the order they were sorted in.
        let st = c
            .prepare_cached(
                "INSERT INTO group_prop_keys AS t (project_id, group_type_index, key_hash, key, groups)
                 SELECT $1, i, substring(sha256(convert_to(k, 'UTF8')) for 16), k, n
                 FROM unnest($2::int4[], $3::text[], $4::int8[]) WITH ORDINALITY AS x(i, k, n, o)
                 ORDER BY o
                 ON CONFLICT (project_id, group_type_index, key_hash)
                 DO UPDATE SET groups = t.groups + excluded.groups",
            )
            .await?;
        c.execute(&st, &[&project, &self.indexes, &self.keys, &self.deltas])
            .await?;
        if self.falling.is_empty() {
            return Ok(());
        }
        // Only rows this transaction already locked above can match.
        let st = c
            .prepare_cached(
                "DELETE FROM group_prop_keys t
                 USING unnest($2::int4[], $3::text[]) AS x(i, k)
                 WHERE t.project_id = $1 AND t.group_type_index = x.i
                   AND t.key_hash = substring(sha256(convert_to(x.k, 'UTF8')) for 16) AND t.groups <= 0",
            )
            .await?;
        c.execute(
            &st,
            &[
                &project,
                &self.falling(&self.indexes),
                &self.falling(&self.keys),
            ],
        )
        .await?;
        Ok(())
    }

    async fn write_values(self, c: &impl GenericClient, project: i64) -> StoreResult<()> {
        let st = c
            .prepare_cached(
                "INSERT INTO group_prop_values AS t (project_id, group_type_index, hash, key, value, groups)
                 SELECT $1, i,
                        substring(sha256(convert_to(k, 'UTF8') || '\\x00'::bytea || convert_to(v, 'UTF8')) for 16),
                        k, v, n
                 FROM unnest($2::int4[], $3::text[], $4::text[], $5::int8[]) WITH ORDINALITY AS x(i, k, v, n, o)
                 ORDER BY o
                 ON CONFLICT (project_id, group_type_index, hash)
                 DO UPDATE SET groups = t.groups + excluded.groups",
            )
            .await?;
        c.execute(
            &st,
            &[
                &project,
                &self.indexes,
                &self.keys,
                &self.values,
                &self.deltas,
            ],
        )
        .await?;
        if self.falling.is_empty() {
            return Ok(());
        }
        let st = c
            .prepare_cached(
                "DELETE FROM group_prop_values t
                 USING unnest($2::int4[], $3::text[], $4::text[]) AS x(i, k, v)
                 WHERE t.project_id = $1 AND t.group_type_index = x.i
                   AND t.hash = substring(sha256(convert_to(x.k, 'UTF8') || '\\x00'::bytea
                                                || convert_to(x.v, 'UTF8')) for 16)
                   AND t.groups <= 0",
            )
            .await?;
        c.execute(
            &st,
            &[
                &project,
                &self.falling(&self.indexes),
                &self.falling(&self.keys),
                &self.falling(&self.values),
            ],
        )
        .await?;
        Ok(())
    }
}

/// Forgets the counts of a type (its groups are being deleted in the same transaction).
pub(super) async fn drop_type(c: &impl GenericClient, project: i64, index: i32) -> StoreResult<()> {
    for table in ["group_prop_keys", "group_prop_values"] {
        let st = c
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE project_id = $1 AND group_type_index = $2"
            ))
            .await?;
        c.execute(&st, &[&project, &index]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn values_render_as_sqlite_does() {
        assert_eq!(value_text(&json!("x")), "x");
        assert_eq!(value_text(&json!(3)), "3");
        assert_eq!(value_text(&json!(1.5)), "1.5");
        assert_eq!(value_text(&json!(100.0)), "100.0");
        assert_eq!(value_text(&json!(true)), "true");
        assert_eq!(value_text(&json!(null)), "null");
        assert_eq!(value_text(&json!({"a": [1]})), "{\"a\":[1]}");
        // What PostgreSQL text can hold.
        assert_eq!(value_text(&json!("a\u{0}b")), "a\u{FFFD}b");
        assert_eq!(value_text(&json!(["a\u{0}"])), "[\"a\\ufffd\"]");
    }

    #[test]
    fn changes_sum_to_the_difference() {
        let mut c = PropCounts::default();
        let a = obj(json!({"plan": "pro", "seats": 3, "gone": 1}));
        let b = obj(json!({"plan": "free", "seats": 3, "new": true}));
        c.group_changed(1, 0, &Map::new(), &a);
        c.group_changed(1, 0, &a, &b);
        let keys: Vec<_> = c
            .keys
            .iter()
            .filter(|e| *e.1 != 0)
            .map(|((_, _, k), n)| (k.as_str(), *n))
            .collect();
        assert_eq!(keys, [("new", 1), ("plan", 1), ("seats", 1)]);
        let values: Vec<_> = c
            .values
            .iter()
            .filter(|e| *e.1 != 0)
            .map(|((_, _, k, v), n)| (k.as_str(), v.as_str(), *n))
            .collect();
        assert_eq!(
            values,
            [("new", "true", 1), ("plan", "free", 1), ("seats", "3", 1)]
        );
    }
}
