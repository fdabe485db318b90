//! The group lifecycle on SQLite: tombstones, property versions, `PATCH`, deletion, history and
//! as-of reads. Every write runs in the writer's job, so a deletion and its tombstone, or an edit
//! and its versions, commit together.
use async_trait::async_trait;
use groupd_core::groups::Edit;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    SqliteStore, fts,
    groups::{At, Recorder, edit_group, rest_edit},
    rows,
};
use crate::{
    Change, ChangeSource, DeletionOutcome, Group, GroupDeletion, GroupPatch, GroupRef,
    HistoryQuery, LifecycleStore, PropertyVersion, StoreError, StoreResult,
    lifecycle::{self, StoredEdit},
};

/// The group's tombstone: its deletion's event time and the deleted row's id.
pub(super) fn tombstone(c: &Connection, at: At<'_>) -> StoreResult<Option<(i64, i64)>> {
    Ok(c.prepare_cached(
        "SELECT deleted_at, group_id FROM group_tombstones
             WHERE project_id = ?1 AND group_type_index = ?2 AND group_key = ?3",
    )?
    .query_row(params![at.project.0, at.index.0, at.key], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()?)
}

/// Removes a deleted group's row, search entry and history, and leaves its tombstone.
pub(super) fn forget_group(
    c: &Connection,
    at: At<'_>,
    id: i64,
    deleted_at: i64,
) -> StoreResult<()> {
    fts::forget_group(c, id)?;
    keep_activity(c, at.project.0, id)?;
    keep_created_version(c, "?1", &[&id])?;
    for table in ["group_versions", "group_property_versions"] {
        c.prepare_cached(&format!("DELETE FROM {table} WHERE group_id = ?1"))?
            .execute([id])?;
    }
    c.prepare_cached("DELETE FROM groups WHERE id = ?1")?
        .execute([id])?;
    c.prepare_cached(
        "INSERT INTO group_tombstones (project_id, group_type_index, group_key, deleted_at, group_id)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (project_id, group_type_index, group_key)
         DO UPDATE SET deleted_at = max(deleted_at, excluded.deleted_at), group_id = excluded.group_id",
    )?
    .execute(params![at.project.0, at.index.0, at.key, deleted_at, id])?;
    Ok(())
}

/// Keeps the creating version of the groups `which` selects (an SQL expression of group ids) out
/// of reach of every group read, by negating its group id: the change stream's `created` entry
/// may name it (`lifecycle::version_ref`) until the entry expires ([`prune_kept_versions`]).
pub(super) fn keep_created_version(
    c: &Connection,
    which: &str,
    args: &[&dyn rusqlite::ToSql],
) -> StoreResult<()> {
    c.prepare_cached(&format!(
        "UPDATE group_versions SET group_id = -group_id
         WHERE group_id IN ({which}) AND substr(ops, 1, 1) = '{{'"
    ))?
    .execute(args)?;
    Ok(())
}

/// Forgets the kept creating versions of deleted groups recorded before `before_us` (their
/// stream entries are being pruned).
pub(super) fn prune_kept_versions(c: &Connection, before_us: i64) -> StoreResult<()> {
    c.prepare_cached("DELETE FROM group_versions WHERE group_id < 0 AND recorded_at < ?1")?
        .execute([before_us])?;
    Ok(())
}

/// The operations of the creating version of group `group_id` recorded at `recorded_at` with
/// event time `event_time`, kept or not (a stream entry names it: `lifecycle::version_ref`).
pub(super) fn created_version(
    c: &Connection,
    group_id: i64,
    event_time: i64,
    recorded_at: i64,
) -> StoreResult<Option<String>> {
    Ok(c.prepare_cached(
        "SELECT ops FROM group_versions
         WHERE group_id IN (?1, -?1) AND event_time = ?2 AND recorded_at = ?3
           AND substr(ops, 1, 1) = '{'
         LIMIT 1",
    )?
    .query_row(params![group_id, event_time, recorded_at], |r| r.get(0))
    .optional()?)
}

/// Records the versions of an applied edit of group `id`: one row (none when it records none).
pub(super) fn insert_versions(
    c: &Connection,
    id: i64,
    applied: &groupd_core::groups::Applied<'_>,
    source: &ChangeSource,
    now: i64,
) -> StoreResult<()> {
    let Some(ops) = lifecycle::edit_ops(applied) else {
        return Ok(());
    };
    // Every operation of an edit carries its event time.
    let event_us = applied.changes.first().map_or(now, |c| c.event_us);
    c.prepare_cached(
        "INSERT INTO group_versions (group_id, event_time, recorded_at, source, ops)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, event_us, now, source.to_stored(), ops])?;
    Ok(())
}

/// Group `id`'s stored edits with `event_time <= until`, in no order: the rows of
/// `group_versions` and, each as an edit, the per-property rows written before them.
fn edits(c: &Connection, id: i64, until: i64) -> StoreResult<Vec<StoredEdit>> {
    let mut out: Vec<StoredEdit> = c
        .prepare_cached(
            "SELECT id, event_time, recorded_at, source, ops FROM group_versions
             WHERE group_id = ?1 AND event_time <= ?2",
        )?
        .query_map(params![id, until], |r| {
            Ok(StoredEdit {
                id: r.get(0)?,
                event_time: r.get(1)?,
                recorded_at: r.get(2)?,
                source: r.get(3)?,
                ops: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = c.prepare_cached(
        "SELECT id, property, op, value, event_time, recorded_at, source
         FROM group_property_versions WHERE group_id = ?1 AND event_time <= ?2",
    )?;
    let legacy = st.query_map(params![id, until], |r| {
        Ok(StoredEdit::legacy(
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })?;
    for e in legacy {
        out.push(e?);
    }
    Ok(out)
}

/// The `group_activity` rows of group `id` (project `project`): `(row id, entry)`.
fn activity_rows(
    c: &Connection,
    project: i64,
    id: i64,
) -> StoreResult<Vec<(i64, crate::ActivityEntry)>> {
    let mut st = c.prepare_cached(
        "SELECT id, uuid, actor, activity, action, name, before, after, created_at
         FROM group_activity WHERE project_id = ?1 AND group_id = ?2",
    )?;
    let rows = st.query_map(params![project, id], |r| {
        let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
            Ok(r.get::<_, Option<String>>(i)?
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default())
        };
        let code = |i: usize| -> rusqlite::Result<usize> {
            Ok(usize::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
        };
        let uuid: Vec<u8> = r.get(1)?;
        let entry = crate::common::ActivityColumns {
            id: uuid::Uuid::from_slice(&uuid)
                .unwrap_or_default()
                .to_string(),
            actor: r.get(2)?,
            activity: code(3)?,
            action: code(4)?,
            property: r.get(5)?,
            before: json(6)?,
            after: json(7)?,
            created_at: r.get(8)?,
        };
        Ok((r.get(0)?, entry.entry(id)))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One page of a group's activity, newest first, and how many entries it has in all
/// ([`lifecycle::activity_page`]).
pub(super) fn activity_page(
    c: &Connection,
    project: i64,
    group_id: i64,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<crate::ActivityEntry>, u64)> {
    // Versions have no project of their own: the group row says whose they are (a deleted
    // group's entries are all in group_activity).
    let owned = c
        .prepare_cached("SELECT 1 FROM groups WHERE id = ?1 AND project_id = ?2")?
        .query_row(params![group_id, project], |_| Ok(()))
        .optional()?
        .is_some();
    let edits = if owned {
        edits(c, group_id, i64::MAX)?
    } else {
        Vec::new()
    };
    let rows = activity_rows(c, project, group_id)?;
    Ok(lifecycle::activity_page(
        edits, rows, group_id, offset, limit,
    ))
}

/// Copies the activity entries of group `id`'s versions into `group_activity`, oldest first
/// (their ids ascend as the versions' did), before a deletion removes the versions: a deleted
/// group's activity stays readable, the same entries with the same ids.
fn keep_activity(c: &Connection, project: i64, id: i64) -> StoreResult<()> {
    let entries = lifecycle::activity_of(edits(c, id, i64::MAX)?);
    let mut write = c.prepare_cached(
        "INSERT INTO group_activity
           (project_id, group_id, uuid, activity, action, name, before, after, actor, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    // group_activity keeps JSON null as NULL.
    let json = |v: &serde_json::Value| (!v.is_null()).then(|| v.to_string());
    for e in entries {
        let uuid = uuid::Uuid::parse_str(&e.id).unwrap_or_default();
        write.execute(params![
            project,
            id,
            uuid.as_bytes().as_slice(),
            e.activity as i64,
            e.action as i64,
            e.property,
            json(&e.before),
            json(&e.after),
            e.actor,
            e.created_at
        ])?;
    }
    Ok(())
}

/// The group with its properties as of `as_of`: `None` when created after it.
pub(super) fn as_of(c: &Connection, mut g: Group, as_of: i64) -> StoreResult<Option<Group>> {
    if g.created_at > as_of {
        return Ok(None);
    }
    let props = lifecycle::properties_as_of(edits(c, g.id, as_of)?, as_of);
    g.properties_json = crate::to_json_text(&props)?;
    Ok(Some(g))
}

fn patch(c: &Connection, p: &GroupPatch, change: &Change) -> StoreResult<Group> {
    let at = At::of(&p.group);
    let Some(g) = rows::load_group(c, at.project, at.index, at.key)? else {
        return Err(StoreError::NotFound);
    };
    // The contract: an unknown property to unset refuses the whole patch.
    if let Some(missing) = p
        .unset
        .iter()
        .find(|u| !g.state.properties.contains_key(*u))
    {
        return Err(StoreError::PropertyMissing(missing.clone()));
    }
    let edit = Edit::Patch {
        set: &p.set,
        unset: &p.unset,
    };
    rest_edit(c, at, &edit, change)?.ok_or(StoreError::NotFound)
}

fn delete(c: &Connection, d: &GroupDeletion, change: &Change) -> StoreResult<DeletionOutcome> {
    let mut out = DeletionOutcome::default();
    let mut rec = Recorder::rest(change);
    let mut seen = std::collections::HashSet::new();
    for key in &d.keys {
        if !seen.insert(key.as_str()) {
            continue;
        }
        let at = At {
            project: d.project,
            index: d.index,
            key: key.as_str(),
        };
        match edit_group(c, at, &Edit::Delete, change.at_us, &mut rec)? {
            Ok(_) => out.deleted.push(key.as_str().to_owned()),
            Err(_) => out.not_found.push(key.as_str().to_owned()),
        }
    }
    rec.finish(c, d.project)?;
    Ok(out)
}

#[async_trait]
impl LifecycleStore for SqliteStore {
    async fn patch_group(&self, p: GroupPatch, change: Change) -> StoreResult<Group> {
        self.writer
            .write(move |c| patch(c, &p, &change))
            .await
            .inspect(|_| self.changed())
    }

    async fn delete_groups(
        &self,
        d: GroupDeletion,
        change: Change,
    ) -> StoreResult<DeletionOutcome> {
        self.writer
            .write(move |c| delete(c, &d, &change))
            .await
            .inspect(|_| self.changed())
    }

    async fn activity_group_id(&self, group: &GroupRef) -> StoreResult<Option<i64>> {
        let group = group.clone();
        self.readers
            .read_inline(move |c| {
                let at = At::of(&group);
                if let Some(g) = rows::find_group(c, at.project, at.index, at.key)? {
                    return Ok(Some(g.id));
                }
                Ok(tombstone(c, at)?.map(|t| t.1))
            })
            .await
    }

    async fn find_group_as_of(&self, group: &GroupRef, at: i64) -> StoreResult<Option<Group>> {
        let group = group.clone();
        self.readers
            .read(move |c| {
                match rows::find_group(c, group.project, group.index, group.key.as_str())? {
                    Some(g) => as_of(c, g, at),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn property_history(&self, q: HistoryQuery) -> StoreResult<Option<Vec<PropertyVersion>>> {
        self.readers
            .read(move |c| {
                let g = &q.group;
                let Some(group) = rows::find_group(c, g.project, g.index, g.key.as_str())? else {
                    return Ok(None);
                };
                Ok(Some(lifecycle::history_of(
                    edits(c, group.id, i64::MAX)?,
                    q.property.as_deref(),
                    q.offset,
                    q.limit,
                )))
            })
            .await
    }
}

/// Used by the list: the listed groups as of `at`.
pub(super) fn list_as_of(c: &Connection, rows: Vec<Group>, at: i64) -> StoreResult<Vec<Group>> {
    let mut out = Vec::with_capacity(rows.len());
    for g in rows {
        out.extend(as_of(c, g, at)?);
    }
    Ok(out)
}
