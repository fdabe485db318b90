//! Keeps the read-side indexes of migration 0003 in step with a group's properties: the
//! per-type name and value counts and the trigram search index. Called in the same transaction
//! as every write that creates a group or changes its properties.
use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use crate::StoreResult;

/// A property value as `property_values` shows it: strings bare, anything else as compact JSON.
pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn bump_key(c: &Connection, project: i64, index: i64, key: &str, by: i64) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO group_prop_keys (project_id, group_type_index, key, groups) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET groups = groups + excluded.groups",
    )?
    .execute(params![project, index, key, by])?;
    if by < 0 {
        c.prepare_cached(
            "DELETE FROM group_prop_keys WHERE project_id = ?1 AND group_type_index = ?2 AND key = ?3 AND groups <= 0",
        )?
        .execute(params![project, index, key])?;
    }
    Ok(())
}

fn bump_value(
    c: &Connection,
    project: i64,
    index: i64,
    key: &str,
    value: &Value,
    by: i64,
) -> StoreResult<()> {
    let text = value_text(value);
    c.prepare_cached(
        "INSERT INTO group_prop_values (project_id, group_type_index, key, value, groups) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO UPDATE SET groups = groups + excluded.groups",
    )?
    .execute(params![project, index, key, text, by])?;
    if by < 0 {
        c.prepare_cached(
            "DELETE FROM group_prop_values
             WHERE project_id = ?1 AND group_type_index = ?2 AND key = ?3 AND value = ?4 AND groups <= 0",
        )?
        .execute(params![project, index, key, text])?;
    }
    Ok(())
}

/// Moves the indexes of group `id` from `old` properties (`None` for a new group) to `new`.
/// `props_text` is `new` as stored.
#[allow(clippy::too_many_arguments)]
pub(super) fn reindex(
    c: &Connection,
    project: i64,
    index: i64,
    id: i64,
    old: Option<&Map<String, Value>>,
    new: &Map<String, Value>,
    props_text: &str,
) -> StoreResult<()> {
    let empty = Map::new();
    let before = old.unwrap_or(&empty);
    for (k, v) in before {
        match new.get(k) {
            Some(nv) if nv == v => {}
            Some(_) => bump_value(c, project, index, k, v, -1)?,
            None => {
                bump_value(c, project, index, k, v, -1)?;
                bump_key(c, project, index, k, -1)?;
            }
        }
    }
    for (k, v) in new {
        match before.get(k) {
            Some(ov) if ov == v => {}
            Some(_) => bump_value(c, project, index, k, v, 1)?,
            None => {
                bump_value(c, project, index, k, v, 1)?;
                bump_key(c, project, index, k, 1)?;
            }
        }
    }
    if old.is_some() {
        if old == Some(new) {
            return Ok(());
        }
        c.prepare_cached("DELETE FROM groups_fts WHERE rowid = ?1")?
            .execute([id])?;
    }
    c.prepare_cached("INSERT INTO groups_fts (rowid, props) VALUES (?1, ?2)")?
        .execute(params![id, props_text])?;
    Ok(())
}

/// Forgets the indexes of every group of a type (the type is being deleted).
pub(super) fn drop_type(c: &Connection, project: i64, index: i64) -> StoreResult<()> {
    c.prepare_cached(
        "DELETE FROM groups_fts WHERE rowid IN (SELECT id FROM groups WHERE project_id = ?1 AND group_type_index = ?2)",
    )?
    .execute(params![project, index])?;
    for table in ["group_prop_keys", "group_prop_values"] {
        c.prepare_cached(&format!(
            "DELETE FROM {table} WHERE project_id = ?1 AND group_type_index = ?2"
        ))?
        .execute(params![project, index])?;
    }
    Ok(())
}

/// Most trigrams a search query asks for; more only narrow the candidates further.
const MAX_TRIGRAMS: usize = 16;

/// The FTS5 query whose matches are a superset of the groups containing `s` (lower-cased):
/// every trigram of `s`, ANDed. (`detail=none` keeps the index small but has no positions, so
/// the exact predicate confirms each candidate.) `None` below three characters.
pub(super) fn fts_query(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let mut grams: Vec<String> = Vec::new();
    for w in chars.windows(3) {
        let g: String = w.iter().collect();
        if !grams.contains(&g) {
            grams.push(g);
        }
    }
    let step = grams.len().div_ceil(MAX_TRIGRAMS);
    let picked: Vec<String> = grams
        .iter()
        .step_by(step.max(1))
        .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
        .collect();
    Some(picked.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    fn matches(rows: &[(i64, &str)], search: &str) -> Vec<i64> {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            include_str!("migrations/0003_group_indexes.sql")
                .split("-- `search` also")
                .next()
                .unwrap(),
        )
        .unwrap_or(());
        for (id, text) in rows {
            c.execute(
                "INSERT INTO groups_fts (rowid, props) VALUES (?1, ?2)",
                rusqlite::params![id, text],
            )
            .unwrap();
        }
        let q = fts_query(search).unwrap();
        c.prepare("SELECT rowid FROM groups_fts WHERE groups_fts MATCH ?1 ORDER BY rowid")
            .unwrap()
            .query_map([q], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn candidates_include_every_substring_match() {
        let rows = [
            (1, r#"{"tier":"Gold Plan"}"#),
            (2, r#"{"a":"plan gold"}"#),
            (3, r#"{"n":"École \"q\""}"#),
        ];
        assert_eq!(matches(&rows, "gold plan"), [1]);
        assert_eq!(matches(&rows, "gold"), [1, 2]);
        assert_eq!(matches(&rows, "école"), [3]);
        assert_eq!(matches(&rows, "\"q\\"), [3]);
        assert_eq!(fts_query("ab"), None);
        let long = "x".repeat(200) + "abcdefghijklmnopqrstuvwxyz";
        assert!(fts_query(&long).unwrap().matches(" AND ").count() < 16);
    }
}
