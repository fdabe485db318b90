//! The change stream on SQLite. A job's changes are numbered as its last step: the per-project
//! head row is bumped by their count (`… RETURNING head`) and the entries inserted below it. The
//! one writer makes commit order the seq order, and a job rolled back takes its numbers with it.
use async_trait::async_trait;
use groupd_core::{GroupTypeIndex, ProjectId};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::{
    ChangeKind, ChangePage, ChangeSource, ChangeStore, ChangesQuery, GroupChange, StoreResult,
    lifecycle::{self, PendingChange},
};

/// Numbers `pending` and stores it, in the caller's job (call it last).
pub(super) fn commit(
    c: &Connection,
    project: ProjectId,
    pending: &[PendingChange],
    now: i64,
) -> StoreResult<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let n = pending.len() as i64;
    // The type's name as it is now: an entry keeps it after the type is deleted.
    let names = super::rows::group_types(c, project)?;
    let name_of = |p: &PendingChange| {
        p.group_type.clone().or_else(|| {
            names
                .iter()
                .find(|t| t.index == p.index)
                .map(|t| t.group_type.clone())
        })
    };
    let head: i64 = c
        .prepare_cached(
            "INSERT INTO project_change_seq (project_id, head) VALUES (?1, ?2)
             ON CONFLICT (project_id) DO UPDATE SET head = head + ?2 RETURNING head",
        )?
        .query_row(params![project.0, n], |r| r.get(0))?;
    let mut st = c.prepare_cached(
        "INSERT INTO group_changes (project_id, seq, kind, group_type_index, group_type, group_key,
                                    changes, event_time, recorded_at, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (i, p) in pending.iter().enumerate() {
        st.execute(params![
            project.0,
            head - n + 1 + i as i64,
            p.kind.as_str(),
            p.index.0,
            name_of(p),
            p.key,
            p.changes,
            p.event_us,
            now,
            p.source
        ])?;
    }
    Ok(())
}

fn page(c: &Connection, q: &ChangesQuery) -> StoreResult<ChangePage> {
    // The head first: every change up to it is committed, so the rows read next hold them all.
    let head: i64 = c
        .prepare_cached("SELECT head FROM project_change_seq WHERE project_id = ?1")?
        .query_row([q.project.0], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let oldest: Option<i64> = c
        .prepare_cached("SELECT min(seq) FROM group_changes WHERE project_id = ?1")?
        .query_row([q.project.0], |r| r.get(0))?;
    let mut st = c.prepare_cached(
        "SELECT c.seq, c.kind, c.group_type_index, coalesce(c.group_type, t.group_type), c.group_key,
                c.changes, c.event_time, c.recorded_at, c.source
         FROM group_changes c
         LEFT JOIN group_types t ON t.project_id = c.project_id AND t.group_type_index = c.group_type_index
         WHERE c.project_id = ?1 AND c.seq > ?2 AND c.seq <= ?3 AND (?4 IS NULL OR c.group_type_index = ?4)
         ORDER BY c.seq LIMIT ?5",
    )?;
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let rows = st
        .query_map(
            params![q.project.0, q.since, head, q.index.map(|i| i.0), limit],
            |r| {
                let changes: String = r.get(5)?;
                let source: String = r.get(8)?;
                let change = GroupChange {
                    seq: r.get(0)?,
                    kind: ChangeKind::parse(&r.get::<_, String>(1)?),
                    index: GroupTypeIndex(r.get(2)?),
                    group_type: r.get(3)?,
                    key: r.get(4)?,
                    changes: Default::default(),
                    event_time: r.get(6)?,
                    recorded_at: r.get(7)?,
                    source: ChangeSource::from_stored(&source),
                };
                Ok((change, changes))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut results = Vec::with_capacity(rows.len());
    for (mut change, text) in rows {
        change.changes = match lifecycle::version_ref(&text) {
            Some(g) => {
                super::lifecycle::created_version(c, g, change.event_time, change.recorded_at)?
                    .map(|ops| lifecycle::changes_of_version(&ops))
                    .unwrap_or_default()
            }
            None => lifecycle::changes_from_stored(&text),
        };
        results.push(change);
    }
    Ok(lifecycle::finish_page(results, q, head, oldest))
}

#[async_trait]
impl ChangeStore for SqliteStore {
    async fn changes(&self, q: ChangesQuery) -> StoreResult<ChangePage> {
        self.readers.read(move |c| page(c, &q)).await
    }

    async fn prune_changes(&self, before_us: i64) -> StoreResult<u64> {
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached("DELETE FROM group_changes WHERE recorded_at < ?1")?
                    .execute([before_us])?;
                super::lifecycle::prune_kept_versions(c, before_us)?;
                Ok(n as u64)
            })
            .await
    }

    fn change_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.signal.subscribe()
    }
}
