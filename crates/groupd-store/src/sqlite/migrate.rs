//! The schema: connections set up the same way (WAL, full sync, foreign keys, a Unicode-aware
//! `groupd_lower`), and versioned migrations recorded in `PRAGMA user_version`.
use std::{path::Path, time::Duration};

use rusqlite::{Connection, functions::FunctionFlags};

use crate::{StoreError, StoreResult};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_events.sql"),
    include_str!("migrations/0003_group_indexes.sql"),
    include_str!("migrations/0004_compact_activity.sql"),
    include_str!("migrations/0005_top_values.sql"),
    include_str!("migrations/0006_key_lifecycle.sql"),
    include_str!("migrations/0007_parity.sql"),
    include_str!("migrations/0008_segments.sql"),
    include_str!("migrations/0009_lifecycle.sql"),
    include_str!("migrations/0010_ui_sessions.sql"),
    include_str!("migrations/0011_changes_rowid.sql"),
    include_str!("migrations/0012_fts_queue.sql"),
    include_str!("migrations/0013_edit_versions.sql"),
];

/// How long a statement waits for another process's write lock before it fails as `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection to the database file at `path`.
pub(super) fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(|e| {
        StoreError::Config(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!(
            "SQLite refused WAL mode (got {mode})"
        )));
    }
    // FULL: an answered write survives power loss too; measured free with group commit.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Unicode-aware lower(): SQLite's own only folds ASCII.
    conn.create_scalar_function(
        "groupd_lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| s.to_lowercase())),
    )?;
    Ok(conn)
}

/// Applies pending migrations in one IMMEDIATE transaction, so concurrent processes (a CLI next to
/// a server) never run one twice.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> StoreResult<()> {
        let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let done = usize::try_from(done).unwrap_or(0);
        if done > MIGRATIONS.len() {
            return Err(StoreError::Config(format!(
                "the database schema (version {done}) is newer than this groupd (version {}); upgrade groupd",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use groupd_core::{Actor, ProjectId};
    use rusqlite::params;
    use serde_json::json;

    use super::*;
    use crate::{ActivityPage, GroupStore, StoreOptions, sqlite::SqliteStore};

    /// Activity written in the JSON-document layout before migration 0004 reads the same after.
    #[tokio::test]
    async fn compact_activity_migration_keeps_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let old = [
            (
                "0190c4a1-0000-7000-8000-000000000001",
                "create_group",
                json!({"changes": [{"type": "Group", "action": "created", "field": null, "before": null, "after": {"a": [1, "x"]}}],
                       "trigger": null, "name": "nested", "short_id": null, "type": null}),
                None,
                5,
            ),
            (
                "0190c4a1-0000-7000-8000-000000000002",
                "update_property",
                json!({"changes": [{"type": "Group", "action": "changed", "field": null, "before": "finance", "after": 3.5}],
                       "trigger": null, "name": "industry", "short_id": null, "type": null}),
                Some("ci-key"),
                6,
            ),
            (
                "0190c4a1-0000-7000-8000-000000000003",
                "update_property",
                json!({"changes": [{"type": "Group", "action": "deleted", "field": null, "before": true, "after": null}],
                       "trigger": null, "name": "flag", "short_id": null, "type": null}),
                Some("ci-key"),
                7,
            ),
        ];
        {
            let c = connect(&path).unwrap();
            for sql in &MIGRATIONS[..3] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 3).unwrap();
            for (uuid, activity, detail, actor, at) in &old {
                c.execute(
                    "INSERT INTO group_activity (project_id, group_id, uuid, activity, detail, actor, created_at)
                     VALUES (1, 7, ?1, ?2, ?3, ?4, ?5)",
                    params![uuid, activity, detail.to_string(), actor, at],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(path.to_str().unwrap(), &StoreOptions::default())
            .await
            .unwrap();
        let (entries, total) = store
            .group_activity(
                ProjectId(1),
                ActivityPage {
                    group_id: 7,
                    offset: 0,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(total, 3);
        let got: Vec<_> = entries
            .iter()
            .map(|e| {
                let actor = match &e.actor {
                    Actor::Key(l) => Some(l.as_str()),
                    Actor::System => None,
                };
                (
                    e.id.as_str(),
                    e.activity.as_str(),
                    e.detail.clone(),
                    actor,
                    e.created_at,
                )
            })
            .collect();
        let want: Vec<_> = old
            .iter()
            .rev()
            .map(|(u, a, d, k, t)| (*u, *a, d.clone(), *k, *t))
            .collect();
        assert_eq!(got, want);
    }

    /// Migration 11 moves the change stream into a rowid table: every entry stays, in seq
    /// order, read as before (older JSON diffs and sources included), and the head still bounds
    /// the page.
    #[tokio::test]
    async fn changes_move_to_a_rowid_table_without_loss() {
        use crate::{ChangeKind, ChangeSource, ChangeStore, ChangesQuery};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = connect(&path).unwrap();
            for sql in &MIGRATIONS[..10] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 10).unwrap();
            let rows = [
                (1, "created", Some("acme"), json!({"plan": {"old": null, "new": {"b": 1, "a": 2}}}).to_string(),
                 json!({"kind": "capture", "event_uuid": "0190c4a1-0000-7000-8000-000000000001"}).to_string()),
                (2, "updated", Some("acme"), json!({"plan": {"old": {"b": 1, "a": 2}, "new": "pro"}}).to_string(),
                 json!({"kind": "api", "key_label": "crm"}).to_string()),
                (3, "type_deleted", None, "{}".to_owned(), json!({"kind": "api", "key_label": null}).to_string()),
            ];
            for (seq, kind, key, changes, source) in &rows {
                c.execute(
                    "INSERT INTO group_changes (project_id, seq, kind, group_type_index, group_type,
                                                group_key, changes, event_time, recorded_at, source)
                     VALUES (1, ?1, ?2, 0, 'org', ?3, ?4, ?5, ?6, ?7)",
                    params![seq, kind, key, changes, 100 + seq, 200 + seq, source],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO project_change_seq (project_id, head) VALUES (1, 3)",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(path.to_str().unwrap(), &StoreOptions::default())
            .await
            .unwrap();
        let page = store
            .changes(ChangesQuery {
                project: ProjectId(1),
                since: 0,
                index: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(page.head, 3);
        assert_eq!(page.oldest, 1);
        let seqs: Vec<i64> = page.results.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        let r = &page.results;
        assert_eq!(r[0].kind, ChangeKind::Created);
        assert_eq!(
            serde_json::Value::Object(r[0].changes.clone()).to_string(),
            r#"{"plan":{"old":null,"new":{"b":1,"a":2}}}"#
        );
        assert_eq!(
            r[0].source,
            ChangeSource::Capture {
                event_uuid: Some(
                    uuid::Uuid::parse_str("0190c4a1-0000-7000-8000-000000000001").unwrap()
                )
            }
        );
        assert_eq!(
            r[1].source,
            ChangeSource::Api {
                key_label: Some("crm".into())
            }
        );
        assert_eq!((r[1].event_time, r[1].recorded_at), (102, 202));
        assert_eq!(r[2].kind, ChangeKind::TypeDeleted);
        assert_eq!(r[2].key, None);
        assert_eq!(r[2].group_type.as_deref(), Some("org"));
        let c = connect(&path).unwrap();
        let ids: Vec<i64> = c
            .prepare("SELECT id FROM group_changes ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids.len(), 3, "a rowid table now");
    }
}
