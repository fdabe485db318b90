//! The group lifecycle on PostgreSQL: tombstones, property versions, `PATCH`, deletion, history
//! and as-of reads. Edits hold their group's row lock (`FOR UPDATE`) like every other edit, and
//! number their stream entries as their transaction's last step ([`super::changes`]).
use std::collections::HashSet;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use groupd_core::{ProjectId, groups::Edit};

use super::{
    PgStore,
    changes::PendingChanges,
    groups::edit_in,
    rows::{GROUP_COLS, group_from_row, select_one},
    tx::run_with_tx,
    values::{Ts, nul_safe, pg_index},
};
use crate::{
    Change, ChangeSource, DeletionOutcome, Group, GroupDeletion, GroupPatch, GroupRef,
    HistoryQuery, LifecycleStore, PropertyVersion, StoreError, StoreResult,
    lifecycle::{self, StoredEdit},
};

/// The group's tombstone: its deletion's event time and the deleted row's id.
pub(super) async fn tombstone(
    c: &impl GenericClient,
    project: ProjectId,
    index: i32,
    key: &str,
) -> StoreResult<Option<(i64, i64)>> {
    let st = c
        .prepare_cached(
            "SELECT deleted_at, group_id FROM group_tombstones
             WHERE project_id = $1 AND group_type_index = $2 AND group_key = $3",
        )
        .await?;
    Ok(c.query_opt(&st, &[&project.0, &index, &key])
        .await?
        .map(|r| (r.get::<_, Ts>(0).0, r.get(1))))
}

/// Group `id`'s stored edits with `event_time <= until`, in no order: the rows of
/// `group_versions` and, each as an edit, the per-property rows written before them.
async fn edits(
    c: &impl GenericClient,
    project: ProjectId,
    id: i64,
    until: i64,
) -> StoreResult<Vec<StoredEdit>> {
    let st = c
        .prepare_cached(
            "SELECT id, event_time, recorded_at, source, ops FROM group_versions
             WHERE project_id = $1 AND group_id = $2 AND event_time <= $3",
        )
        .await?;
    let mut out: Vec<StoredEdit> = c
        .query(&st, &[&project.0, &id, &Ts(until)])
        .await?
        .iter()
        .map(|r| StoredEdit {
            id: r.get(0),
            event_time: r.get::<_, Ts>(1).0,
            recorded_at: r.get::<_, Ts>(2).0,
            source: r.get(3),
            ops: r.get(4),
        })
        .collect();
    let st = c
        .prepare_cached(
            "SELECT id, property, op, value, event_time, recorded_at, source
             FROM group_property_versions
             WHERE project_id = $1 AND group_id = $2 AND event_time <= $3",
        )
        .await?;
    for r in c.query(&st, &[&project.0, &id, &Ts(until)]).await? {
        out.push(StoredEdit::legacy(
            r.get(0),
            r.get(1),
            i64::from(r.get::<_, i16>(2)),
            r.get(3),
            r.get::<_, Ts>(4).0,
            r.get::<_, Ts>(5).0,
            r.get(6),
        ));
    }
    Ok(out)
}

/// One page of a group's activity, newest first, and how many entries it has in all
/// ([`lifecycle::activity_page`]).
pub(super) async fn activity_page(
    c: &impl GenericClient,
    project: ProjectId,
    group_id: i64,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<crate::ActivityEntry>, u64)> {
    let st = c
        .prepare_cached(
            "SELECT id, uuid, actor, activity, action, name, before, after, created_at
             FROM group_activity WHERE project_id = $1 AND group_id = $2",
        )
        .await?;
    let rows = c
        .query(&st, &[&project.0, &group_id])
        .await?
        .iter()
        .map(|r| {
            let json = |i: usize| -> serde_json::Value {
                r.get::<_, Option<String>>(i)
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default()
            };
            let code = |i: usize| usize::try_from(r.get::<_, i16>(i)).unwrap_or(0);
            let entry = crate::common::ActivityColumns {
                id: r.get::<_, uuid::Uuid>(1).to_string(),
                actor: r.get(2),
                activity: code(3),
                action: code(4),
                property: r.get(5),
                before: json(6),
                after: json(7),
                created_at: r.get::<_, Ts>(8).0,
            };
            (r.get::<_, i64>(0), entry.entry(group_id))
        })
        .collect();
    let edits = edits(c, project, group_id, i64::MAX).await?;
    Ok(lifecycle::activity_page(
        edits, rows, group_id, offset, limit,
    ))
}

/// Copies the activity entries of group `id`'s versions into `group_activity`, oldest first
/// (their ids ascend as the versions' did), before a deletion removes the versions: a deleted
/// group's activity stays readable, the same entries with the same ids.
async fn keep_activity(c: &impl GenericClient, project: ProjectId, id: i64) -> StoreResult<()> {
    let mut rows = super::rows::ActivityRows::default();
    for e in lifecycle::activity_of(edits(c, project, id, i64::MAX).await?) {
        rows.push_columns(id, e);
    }
    rows.insert(c, project).await
}

/// Keeps the creating version of groups `ids` out of reach of every group read, by negating its
/// group id: the change stream's `created` entry may name it (`lifecycle::version_ref`) until
/// the entry expires (pruned with it).
pub(super) async fn keep_created_version(
    c: &impl GenericClient,
    project: ProjectId,
    ids: &[i64],
) -> StoreResult<()> {
    let st = c
        .prepare_cached(
            "UPDATE group_versions SET group_id = -group_id
             WHERE project_id = $1 AND group_id = ANY($2) AND left(ops, 1) = '{'",
        )
        .await?;
    c.execute(&st, &[&project.0, &ids]).await?;
    Ok(())
}

/// Removes a deleted group's row and history, and leaves its tombstone.
pub(super) async fn forget_group(
    c: &impl GenericClient,
    project: ProjectId,
    index: i32,
    key: &str,
    id: i64,
    deleted_at: i64,
) -> StoreResult<()> {
    keep_activity(c, project, id).await?;
    keep_created_version(c, project, &[id]).await?;
    for table in ["group_versions", "group_property_versions"] {
        let st = c
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE project_id = $1 AND group_id = $2"
            ))
            .await?;
        c.execute(&st, &[&project.0, &id]).await?;
    }
    let st = c
        .prepare_cached("DELETE FROM groups WHERE project_id = $1 AND id = $2")
        .await?;
    c.execute(&st, &[&project.0, &id]).await?;
    let st = c
        .prepare_cached(
            "INSERT INTO group_tombstones (project_id, group_type_index, group_key, deleted_at, group_id)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (project_id, group_type_index, group_key)
             DO UPDATE SET deleted_at = greatest(group_tombstones.deleted_at, excluded.deleted_at),
                           group_id = excluded.group_id",
        )
        .await?;
    c.execute(&st, &[&project.0, &index, &key, &Ts(deleted_at), &id])
        .await?;
    Ok(())
}

/// Versions to insert, one row per edit, in order.
#[derive(Default)]
pub(super) struct VersionRows {
    group_ids: Vec<i64>,
    event_times: Vec<Ts>,
    sources: Vec<String>,
    ops: Vec<String>,
}

impl VersionRows {
    /// The versions of an applied edit of group `id` (none when it records none).
    pub(super) fn push(
        &mut self,
        id: i64,
        applied: &groupd_core::groups::Applied<'_>,
        source: &ChangeSource,
    ) {
        let Some(ops) = lifecycle::edit_ops(applied) else {
            return;
        };
        let Some(event_us) = applied.changes.first().map(|c| c.event_us) else {
            return;
        };
        self.group_ids.push(id);
        self.event_times.push(Ts(event_us));
        self.sources
            .push(nul_safe(&source.to_stored()).into_owned());
        // JSON text escapes every control character: no NUL to guard against.
        self.ops.push(ops);
    }

    pub(super) async fn insert(
        self,
        c: &impl GenericClient,
        project: ProjectId,
        now: i64,
    ) -> StoreResult<()> {
        if self.group_ids.is_empty() {
            return Ok(());
        }
        let st = c
            .prepare_cached(
                "INSERT INTO group_versions (project_id, group_id, event_time, recorded_at, source, ops)
                 SELECT $1, g, e, $2, s, o
                 FROM unnest($3::int8[], $4::timestamptz[], $5::text[], $6::text[])
                      WITH ORDINALITY AS x(g, e, s, o, n)
                 ORDER BY n",
            )
            .await?;
        c.execute(
            &st,
            &[
                &project.0,
                &Ts(now),
                &self.group_ids,
                &self.event_times,
                &self.sources,
                &self.ops,
            ],
        )
        .await?;
        Ok(())
    }
}

/// The group with its properties as of `at`: `None` when created after it.
async fn as_of(
    c: &impl GenericClient,
    project: ProjectId,
    mut g: Group,
    at: i64,
) -> StoreResult<Option<Group>> {
    if g.created_at > at {
        return Ok(None);
    }
    let props = lifecycle::properties_as_of(edits(c, project, g.id, at).await?, at);
    g.properties_json = crate::to_json_text(&props)?;
    Ok(Some(g))
}

/// The listed groups as of `at`.
pub(super) async fn list_as_of(
    c: &impl GenericClient,
    project: ProjectId,
    rows: Vec<Group>,
    at: i64,
) -> StoreResult<Vec<Group>> {
    let mut out = Vec::with_capacity(rows.len());
    for g in rows {
        out.extend(as_of(c, project, g, at).await?);
    }
    Ok(out)
}

async fn patch_in(c: &impl GenericClient, p: &GroupPatch, change: &Change) -> StoreResult<Group> {
    let index = pg_index(p.group.index).ok_or(StoreError::NotFound)?;
    let edit = Edit::Patch {
        set: &p.set,
        unset: &p.unset,
    };
    let mut pending = PendingChanges::default();
    let mut check = |g: &groupd_core::groups::GroupState| {
        p.unset
            .iter()
            .find(|u| !g.properties.contains_key(*u))
            .map(|m| StoreError::PropertyMissing(m.clone()))
    };
    let edited = edit_in(
        c,
        &p.group,
        index,
        &edit,
        change,
        &mut pending,
        Some(&mut check),
    )
    .await?
    .map_err(StoreError::from)?;
    pending.commit(c, change.at_us).await?;
    edited.ok_or(StoreError::NotFound)
}

async fn delete_in(
    c: &impl GenericClient,
    d: &GroupDeletion,
    change: &Change,
) -> StoreResult<DeletionOutcome> {
    let mut out = DeletionOutcome::default();
    let Some(index) = pg_index(d.index) else {
        out.not_found = d.keys.iter().map(|k| k.as_str().to_owned()).collect();
        return Ok(out);
    };
    let mut pending = PendingChanges::default();
    let mut seen = HashSet::new();
    // Key order, so two bulk deletions cannot deadlock on each other's rows.
    let mut keys: Vec<&str> = d
        .keys
        .iter()
        .map(|k| k.as_str())
        .filter(|k| seen.insert(*k))
        .collect();
    keys.sort_unstable();
    let mut deleted = HashSet::new();
    for key in keys {
        let group = GroupRef {
            project: d.project,
            index: d.index,
            key: groupd_core::GroupKey::from_stored(key.to_owned()),
        };
        if edit_in(c, &group, index, &Edit::Delete, change, &mut pending, None)
            .await?
            .is_ok()
        {
            deleted.insert(key);
        }
    }
    pending.commit(c, change.at_us).await?;
    let mut listed = HashSet::new();
    for k in &d.keys {
        if !listed.insert(k.as_str()) {
            continue;
        }
        if deleted.contains(k.as_str()) {
            out.deleted.push(k.as_str().to_owned());
        } else {
            out.not_found.push(k.as_str().to_owned());
        }
    }
    Ok(out)
}

async fn find(c: &impl GenericClient, g: &GroupRef) -> StoreResult<Option<Group>> {
    let Some(i) = pg_index(g.index) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {GROUP_COLS} FROM groups WHERE project_id = $1 AND group_type_index = $2 AND group_key = $3"
    );
    let key = nul_safe(g.key.as_str());
    select_one(c, &sql, &[&g.project.0, &i, &key], group_from_row).await
}

#[async_trait]
impl LifecycleStore for PgStore {
    async fn patch_group(&self, p: GroupPatch, change: Change) -> StoreResult<Group> {
        let g = run_with_tx!(self.pool, |tx| patch_in(&tx, &p, &change).await)?;
        self.changed();
        Ok(g)
    }

    async fn delete_groups(
        &self,
        d: GroupDeletion,
        change: Change,
    ) -> StoreResult<DeletionOutcome> {
        let out = run_with_tx!(self.pool, |tx| delete_in(&tx, &d, &change).await)?;
        self.changed();
        Ok(out)
    }

    async fn activity_group_id(&self, group: &GroupRef) -> StoreResult<Option<i64>> {
        let c = self.client().await?;
        if let Some(g) = find(&c, group).await? {
            return Ok(Some(g.id));
        }
        let Some(i) = pg_index(group.index) else {
            return Ok(None);
        };
        let key = nul_safe(group.key.as_str());
        Ok(tombstone(&c, group.project, i, &key).await?.map(|t| t.1))
    }

    async fn find_group_as_of(&self, group: &GroupRef, at: i64) -> StoreResult<Option<Group>> {
        let c = self.client().await?;
        match find(&c, group).await? {
            Some(g) => as_of(&c, group.project, g, at).await,
            None => Ok(None),
        }
    }

    async fn property_history(&self, q: HistoryQuery) -> StoreResult<Option<Vec<PropertyVersion>>> {
        let c = self.client().await?;
        let Some(group) = find(&c, &q.group).await? else {
            return Ok(None);
        };
        Ok(Some(lifecycle::history_of(
            edits(&c, q.group.project, group.id, i64::MAX).await?,
            q.property.as_deref(),
            q.offset,
            q.limit,
        )))
    }
}
