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
    HistoryQuery, LifecycleStore, PropertyVersion, StoreError, StoreResult, VersionOp,
    lifecycle::{self, properties_from_versions, with_previous},
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
    c.prepare_cached("DELETE FROM group_property_versions WHERE group_id = ?1")?
        .execute([id])?;
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

/// Records the versions of an applied edit of group `id`.
pub(super) fn insert_versions(
    c: &Connection,
    id: i64,
    applied: &groupd_core::groups::Applied<'_>,
    source: &ChangeSource,
    now: i64,
) -> StoreResult<()> {
    let rows = lifecycle::versions_of(applied);
    if rows.is_empty() {
        return Ok(());
    }
    let source = source.to_stored();
    let mut st = c.prepare_cached(
        "INSERT INTO group_property_versions (group_id, property, event_time, recorded_at, op, value, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for v in rows {
        st.execute(params![
            id,
            v.property,
            v.event_us,
            now,
            v.op.code(),
            v.value,
            source
        ])?;
    }
    Ok(())
}

/// The group with its properties as of `as_of`: `None` when created after it.
pub(super) fn as_of(c: &Connection, mut g: Group, as_of: i64) -> StoreResult<Option<Group>> {
    if g.created_at > as_of {
        return Ok(None);
    }
    let mut st = c.prepare_cached(
        "SELECT property, op, value FROM group_property_versions
         WHERE group_id = ?1 AND event_time <= ?2
         ORDER BY property, event_time DESC, recorded_at DESC, id DESC",
    )?;
    let rows = st
        .query_map(params![g.id, as_of], |r| {
            Ok((
                r.get::<_, String>(0)?,
                VersionOp::from_code(r.get(1)?),
                r.get::<_, Option<String>>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    g.properties_json = crate::to_json_text(&properties_from_versions(rows))?;
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
                // Oldest first, to derive each version's predecessor; the page is cut after.
                let mut st = c.prepare_cached(
                    "SELECT property, op, value, event_time, recorded_at, source
                     FROM group_property_versions
                     WHERE group_id = ?1 AND (?2 IS NULL OR property = ?2)
                     ORDER BY event_time, recorded_at, id",
                )?;
                let rows = st
                    .query_map(params![group.id, q.property], |r| {
                        let value: Option<String> = r.get(2)?;
                        let source: String = r.get(5)?;
                        Ok(PropertyVersion {
                            property: r.get(0)?,
                            op: VersionOp::from_code(r.get(1)?),
                            value: value.and_then(|t| serde_json::from_str(&t).ok()),
                            previous_value: None,
                            event_time: r.get(3)?,
                            recorded_at: r.get(4)?,
                            source: ChangeSource::from_stored(&source),
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(Some(lifecycle::history_page(
                    with_previous(rows),
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
