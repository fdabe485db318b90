//! The maintained property counts of migration 0002 (`group_prop_keys`, `group_prop_values`):
//! how many of a type's groups hold each property name and each value, so that
//! `property_definitions` and `property_values` read a few rows instead of every group. The
//! SQLite backend keeps the same counts (sqlite/counts.rs).
//!
//! Every write that creates a group or changes its properties records the count changes the group
//! rule reported ([`PropCounts::add`], the same changes the SQLite backend applies one by one) and
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
use groupd_core::{
    GroupTypeIndex, ProjectId,
    groups::{CountChange, PropertyType},
};
use serde_json::Value;
use tokio_postgres::Row;

use super::values::{jsonb_safe, nul_safe};
use crate::{PropertyCount, StoreResult, ValueCount};

/// A property value as `property_values` shows it ([`groupd_core::groups::value_text`]), made
/// storable: NUL becomes U+FFFD, as everywhere in PostgreSQL text (and a `\u0000` escape inside a
/// nested value `\ufffd`, which is what the migration's backfill reads from the stored text).
pub(super) fn value_text(v: &Value) -> String {
    let text = groupd_core::groups::value_text(v);
    match v {
        Value::String(_) => nul_safe(&text).into_owned(),
        _ => jsonb_safe(&text).into_owned(),
    }
}

/// Count changes not yet written, by (project, type index, name) and (…, value): sorted maps, so
/// they are applied in one order by every transaction.
#[derive(Default)]
pub(super) struct PropCounts {
    keys: BTreeMap<(i64, i32, String), i64>,
    values: BTreeMap<(i64, i32, String, String), i64>,
    /// The first typed value's type per name (the first recorded decides, as in PostHog).
    types: BTreeMap<(i64, i32, String), PropertyType>,
}

impl PropCounts {
    /// Records a group's count changes (a group of type `index` of `project`).
    pub(super) fn add(
        &mut self,
        project: ProjectId,
        index: GroupTypeIndex,
        changes: &[CountChange<'_>],
    ) {
        // Indexes come from rows, so they fit the column.
        let index = i32::try_from(index.0).unwrap_or(i32::MAX);
        for ch in changes {
            let key = nul_safe(ch.property).into_owned();
            match ch.value {
                None => *self.keys.entry((project.0, index, key)).or_default() += ch.by,
                Some(v) => {
                    if ch.by > 0
                        && let Some(t) = PropertyType::of(v)
                    {
                        self.types
                            .entry((project.0, index, key.clone()))
                            .or_insert(t);
                    }
                    *self
                        .values
                        .entry((project.0, index, key, value_text(v)))
                        .or_default() += ch.by;
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
        for (k, t) in other.types {
            self.types.entry(k).or_insert(t);
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
        write_types(c, self.types).await
    }
}

/// Records the types of names that have none yet, in the sorted order of the map (so two
/// transactions never wait for each other's rows in opposite orders).
async fn write_types(
    c: &impl GenericClient,
    types: BTreeMap<(i64, i32, String), PropertyType>,
) -> StoreResult<()> {
    if types.is_empty() {
        return Ok(());
    }
    let mut cols: (Vec<i64>, Vec<i32>, Vec<String>, Vec<&str>) = Default::default();
    for ((project, index, key), t) in types {
        cols.0.push(project);
        cols.1.push(index);
        cols.2.push(key);
        cols.3.push(t.as_str());
    }
    let st = c
        .prepare_cached(
            "INSERT INTO group_prop_types (project_id, group_type_index, key_hash, key, property_type)
             SELECT p, i, substring(sha256(convert_to(k, 'UTF8')) for 16), k, t
             FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[]) WITH ORDINALITY AS x(p, i, k, t, o)
             ORDER BY o
             ON CONFLICT DO NOTHING",
        )
        .await?;
    c.execute(&st, &[&cols.0, &cols.1, &cols.2, &cols.3])
        .await?;
    Ok(())
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
pub(super) async fn drop_type(
    c: &impl GenericClient,
    project: ProjectId,
    index: i32,
) -> StoreResult<()> {
    for table in ["group_prop_keys", "group_prop_values", "group_prop_types"] {
        let st = c
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE project_id = $1 AND group_type_index = $2"
            ))
            .await?;
        c.execute(&st, &[&project.0, &index]).await?;
    }
    Ok(())
}

/// Most values `property_values` returns (as the SQLite backend).
const VALUES_SHOWN: usize = 20;
/// The values of one property (`$1` project, `$2` type, `$3` name) with their counts, in
/// `property_values` order: count descending, then value in byte order. The order is that of the
/// index `group_prop_values_by_count`, whose value prefix sorts as the value does.
const VALUES_IN_ORDER: &str = "SELECT value, groups FROM group_prop_values
     WHERE project_id = $1 AND group_type_index = $2
       AND left(key, 100) = left($3, 100) AND key = $3 AND groups > 0
     ORDER BY groups DESC, left(value, 100), value";
/// The non-ASCII characters whose lower case (Rust's, Unicode) holds an ASCII character (İ is
/// "i̇", the Kelvin sign "k"): a value matches a `value` filter of ASCII text through ASCII
/// characters lower-cased or through one of these (test `ascii_from_lower_case_is_complete`).
const ASCII_FROM_LOWER: [char; 2] = ['\u{130}', '\u{212A}'];

/// Property names per type with their group counts.
pub(super) async fn definitions(
    c: &impl GenericClient,
    project: ProjectId,
) -> StoreResult<Vec<PropertyCount>> {
    let st = c
        .prepare_cached(
            "SELECT group_type_index, key, groups FROM group_prop_keys
             WHERE project_id = $1 AND groups > 0
             ORDER BY group_type_index, groups DESC, key",
        )
        .await?;
    Ok(c.query(&st, &[&project.0])
        .await?
        .iter()
        .map(|r| PropertyCount {
            index: GroupTypeIndex(i64::from(r.get::<_, i32>(0))),
            name: r.get(1),
            count: r.get(2),
        })
        .collect())
}

/// A property's top values, `value_contains` a case-insensitive substring.
pub(super) async fn top_values(
    c: &mut deadpool_postgres::Client,
    project: ProjectId,
    index: i32,
    property: &str,
    value_contains: Option<&str>,
) -> StoreResult<Vec<ValueCount>> {
    let key = nul_safe(property);
    let value_count = |r: &Row| ValueCount {
        name: r.get(0),
        count: r.get(1),
    };
    let Some(filter) = value_contains.map(|f| nul_safe(f).to_lowercase()) else {
        let st = c
            .prepare_cached(&format!("{VALUES_IN_ORDER} LIMIT {VALUES_SHOWN}"))
            .await?;
        return Ok(c
            .query(&st, &[&project.0, &index, &key])
            .await?
            .iter()
            .map(value_count)
            .collect());
    };
    // The substring test lower-cases by Rust's Unicode rules, as the SQLite backend does
    // (the database's lower() depends on its locale): the values are read in order through a
    // cursor (planned to start fast, so from the index), a chunk at a time, until enough match.
    // An ASCII filter (the usual one) is first tried by the database on the value with its
    // ASCII letters lower-cased (`lower` under "C" folds only those); a value holding one of
    // `ASCII_FROM_LOWER` is a candidate too. Every value that matches in Rust is one of these
    // candidates, and only candidates cross the wire.
    let tx = c.build_transaction().read_only(true).start().await?;
    if filter.is_ascii() {
        let specials: String = ASCII_FROM_LOWER
            .iter()
            .map(|c| format!(" OR strpos(value, '{c}') > 0"))
            .collect();
        let st = tx
            .prepare_cached(&format!(
                "DECLARE property_values NO SCROLL CURSOR FOR
                 SELECT * FROM ({VALUES_IN_ORDER}) AS v
                 WHERE strpos(lower(value), $4) > 0{specials}"
            ))
            .await?;
        tx.execute(&st, &[&project.0, &index, &key, &filter])
            .await?;
    } else {
        let st = tx
            .prepare_cached(&format!(
                "DECLARE property_values NO SCROLL CURSOR FOR {VALUES_IN_ORDER}"
            ))
            .await?;
        tx.execute(&st, &[&project.0, &index, &key]).await?;
    }
    let mut out = Vec::new();
    let mut chunk: usize = 256;
    loop {
        let st = tx
            .prepare_cached(&format!("FETCH {chunk} FROM property_values"))
            .await?;
        let rows = tx.query(&st, &[]).await?;
        for r in &rows {
            let name: &str = r.get(0);
            if name.to_lowercase().contains(&filter) {
                out.push(value_count(r));
                if out.len() == VALUES_SHOWN {
                    break;
                }
            }
        }
        if out.len() == VALUES_SHOWN || rows.len() < chunk {
            break;
        }
        chunk = (chunk * 4).min(16_384);
    }
    tx.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use groupd_core::groups::{self, Edit, GroupSlot};
    use serde_json::{Map, json};

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn ascii_from_lower_case_is_complete() {
        for c in (0x80..=0x10_FFFF).filter_map(char::from_u32) {
            if c.to_lowercase().any(|x| x.is_ascii()) {
                assert!(ASCII_FROM_LOWER.contains(&c), "{c:?}");
            }
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
        let (a, b) = (
            obj(json!({"plan": "pro", "seats": 3, "gone": 1})),
            obj(json!({"plan": "free", "seats": 3, "new": true})),
        );
        let unset = vec!["gone".to_owned()];
        let (p, i) = (ProjectId(1), GroupTypeIndex(0));
        let created = groups::apply(GroupSlot::default(), &Edit::Create { properties: &a }, 1, 1);
        c.add(p, i, &created.count_changes());
        let edit = Edit::Identify {
            set_once: &Map::new(),
            set: &b,
            unset: &unset,
        };
        let changed = groups::apply(created.slot.clone(), &edit, 2, 2);
        c.add(p, i, &changed.count_changes());
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
