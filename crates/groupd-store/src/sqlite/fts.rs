//! The trigram search index (`groups_fts`, migration 0003): candidates for a list `search`, which
//! the exact predicate then confirms. Writes do not touch it: they queue the group's id
//! (`groups_fts_pending`, migration 0012) in their own transaction, and the writer indexes the
//! queue in large batches ([`index_pending`]): once enough has queued, and while it idles. A search
//! takes the queued groups as candidates too, so it sees every answered write. Its segments are
//! merged while the writer idles.
use std::cell::Cell;

use rusqlite::{Connection, OptionalExtension, params};

use crate::{StoreResult, TypeRef};

/// Most trigram candidates a search reads by id before walking the list order instead.
pub(super) const CANDIDATES_MAX: i64 = 2000;

/// Groups indexed per batch. FTS5 flushes its postings once per transaction and merges the
/// segments each flush leaves: one flush per write batch of ~1000 groups was a third of the
/// ingest time, one per this many costs a fraction of it.
pub(super) const INDEX_BATCH: usize = 20_000;

thread_local! {
    /// Set when a job on this (the writer's) thread changed the trigram index.
    static FTS_TOUCHED: Cell<bool> = const { Cell::new(false) };
    /// Groups queued on this (the writer's) thread since the last [`take_queued`].
    static QUEUED: Cell<usize> = const { Cell::new(0) };
}

/// Whether the trigram index changed since the last call (on the writer thread).
pub(super) fn take_fts_touched() -> bool {
    FTS_TOUCHED.with(|f| f.replace(false))
}

/// How many groups were queued since the last call (on the writer thread; a group queued twice
/// counts twice).
pub(super) fn take_queued() -> usize {
    QUEUED.with(|q| q.replace(0))
}

/// Leaf pages merged per idle step: a few milliseconds, so a write arriving meanwhile waits little.
const MERGE_STEP_PAGES: i64 = 16;

/// One bounded step of merging the trigram index's segments toward one, for the writer to run
/// while idle. Each indexing transaction adds a segment and FTS5's automerge leaves a dozen or
/// more, and a query opens one iterator per segment per trigram: a rare-term match at 100k groups
/// took 69 µs over 8 segments and 14 µs over one. Returns whether work may remain (the index's
/// structure record changed).
pub(super) fn merge_step(c: &Connection) -> bool {
    let structure = |c: &Connection| {
        c.query_row("SELECT block FROM groups_fts_data WHERE id = 10", [], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .ok()
    };
    let before = structure(c);
    if let Err(e) = c.execute(
        "INSERT INTO groups_fts (groups_fts, rank) VALUES ('merge', ?1)",
        [-MERGE_STEP_PAGES],
    ) {
        tracing::warn!(error = %e, "search index merge step failed");
        return false;
    }
    before != structure(c)
}

/// Queues group `id` for indexing: a new group (`replace` false) or one whose properties
/// changed (the index may hold its older text).
pub(super) fn index_group(c: &Connection, id: i64, replace: bool) -> StoreResult<()> {
    QUEUED.with(|q| q.set(q.get() + 1));
    // Already queued: the flag it has stays right (a group queued new is still not indexed).
    c.prepare_cached(
        "INSERT INTO groups_fts_pending (group_id, indexed) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![id, replace])?;
    Ok(())
}

/// Indexes up to `max` queued groups, lowest id first, in the caller's transaction: their older
/// entries out, their current text in (a group deleted meanwhile left the queue then). Returns
/// how many were indexed.
pub(super) fn index_pending(c: &Connection, max: usize) -> StoreResult<usize> {
    let last: Option<i64> = c
        .prepare_cached(
            "SELECT max(group_id) FROM (SELECT group_id FROM groups_fts_pending ORDER BY group_id LIMIT ?1)",
        )?
        .query_row([i64::try_from(max).unwrap_or(i64::MAX)], |r| r.get(0))?;
    let Some(last) = last else {
        return Ok(0);
    };
    FTS_TOUCHED.with(|f| f.set(true));
    c.prepare_cached(
        "DELETE FROM groups_fts WHERE rowid IN
           (SELECT group_id FROM groups_fts_pending WHERE group_id <= ?1 AND indexed = 1)",
    )?
    .execute([last])?;
    c.prepare_cached(
        "INSERT INTO groups_fts (rowid, props)
         SELECT g.id, g.properties FROM groups_fts_pending p JOIN groups g ON g.id = p.group_id
         WHERE p.group_id <= ?1 ORDER BY p.group_id",
    )?
    .execute([last])?;
    let n = c
        .prepare_cached("DELETE FROM groups_fts_pending WHERE group_id <= ?1")?
        .execute([last])?;
    Ok(n)
}

/// Forgets one group's entry (the group is being deleted): its indexed text goes at once, so the
/// row id, which SQLite may give a later group, names nothing in the index.
pub(super) fn forget_group(c: &Connection, id: i64) -> StoreResult<()> {
    let queued: Option<bool> = c
        .prepare_cached("DELETE FROM groups_fts_pending WHERE group_id = ?1 RETURNING indexed")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if queued != Some(false) {
        FTS_TOUCHED.with(|f| f.set(true));
        c.prepare_cached("DELETE FROM groups_fts WHERE rowid = ?1")?
            .execute([id])?;
    }
    Ok(())
}

/// Forgets the index entries of every group of a type (the type is being deleted).
pub(super) fn drop_type(c: &Connection, t: TypeRef) -> StoreResult<()> {
    FTS_TOUCHED.with(|f| f.set(true));
    c.prepare_cached(
        "DELETE FROM groups_fts WHERE rowid IN
           (SELECT id FROM groups g WHERE project_id = ?1 AND group_type_index = ?2
              AND NOT EXISTS (SELECT 1 FROM groups_fts_pending p WHERE p.group_id = g.id AND p.indexed = 0))",
    )?
    .execute(params![t.project.0, t.index.0])?;
    c.prepare_cached(
        "DELETE FROM groups_fts_pending WHERE group_id IN
           (SELECT id FROM groups WHERE project_id = ?1 AND group_type_index = ?2)",
    )?
    .execute(params![t.project.0, t.index.0])?;
    Ok(())
}

/// Whether `query` ([`fts_query`]) matches few enough groups, with the queued ones, to read
/// them by id.
pub(super) fn is_selective(c: &Connection, query: &str) -> StoreResult<bool> {
    let n: i64 = c
        .prepare_cached(
            "SELECT (SELECT count(*) FROM (SELECT rowid FROM groups_fts WHERE groups_fts MATCH ?1 LIMIT ?2))
                  + (SELECT count(*) FROM (SELECT 1 FROM groups_fts_pending LIMIT ?2))",
        )?
        .query_row(params![query, CANDIDATES_MAX + 1], |r| r.get(0))?;
    Ok(n <= CANDIDATES_MAX)
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
    use super::{fts_query, merge_step};

    /// An in-memory database with the trigram index of migration 0003 only.
    fn fts_db() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            include_str!("migrations/0003_group_indexes.sql")
                .split("-- `search` also")
                .next()
                .unwrap(),
        )
        .unwrap_or(());
        c
    }

    /// Ids of the candidates the index gives for `search`.
    fn candidates(c: &rusqlite::Connection, search: &str) -> Vec<i64> {
        c.prepare("SELECT rowid FROM groups_fts WHERE groups_fts MATCH ?1 ORDER BY rowid")
            .unwrap()
            .query_map([fts_query(search).unwrap()], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn matches(rows: &[(i64, &str)], search: &str) -> Vec<i64> {
        let c = fts_db();
        for (id, text) in rows {
            c.execute(
                "INSERT INTO groups_fts (rowid, props) VALUES (?1, ?2)",
                rusqlite::params![id, text],
            )
            .unwrap();
        }
        candidates(&c, search)
    }

    #[test]
    fn idle_merge_steps_leave_one_segment_and_the_same_matches() {
        let c = fts_db();
        // One transaction per insert, as separate write batches would: one segment each.
        for id in 0..200i64 {
            c.execute(
                "INSERT INTO groups_fts (rowid, props) VALUES (?1, ?2)",
                rusqlite::params![id, format!(r#"{{"name":"acme {id}","plan":"gold"}}"#)],
            )
            .unwrap();
        }
        let segments = |c: &rusqlite::Connection| -> i64 {
            c.query_row(
                "SELECT count(DISTINCT segid) FROM groups_fts_idx",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let before = candidates(&c, "me 12");
        assert!(segments(&c) > 1);
        let mut steps = 0;
        while merge_step(&c) {
            steps += 1;
            assert!(steps < 10_000, "merging never settles");
        }
        assert_eq!(segments(&c), 1);
        assert_eq!(candidates(&c, "me 12"), before);
        assert_eq!(
            before,
            [12, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129]
        );
        assert!(!merge_step(&c), "a merged index has nothing left to do");
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
