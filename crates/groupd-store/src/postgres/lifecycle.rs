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
    HistoryQuery, LifecycleStore, PropertyVersion, StoreError, StoreResult, VersionOp,
    lifecycle::{self, properties_from_versions, with_previous},
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

/// Removes a deleted group's row and history, and leaves its tombstone.
pub(super) async fn forget_group(
    c: &impl GenericClient,
    project: ProjectId,
    index: i32,
    key: &str,
    id: i64,
    deleted_at: i64,
) -> StoreResult<()> {
    let st = c
        .prepare_cached(
            "DELETE FROM group_property_versions WHERE project_id = $1 AND group_id = $2",
        )
        .await?;
    c.execute(&st, &[&project.0, &id]).await?;
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

/// Versions to insert, in order.
#[derive(Default)]
pub(super) struct VersionRows {
    group_ids: Vec<i64>,
    properties: Vec<String>,
    event_times: Vec<Ts>,
    ops: Vec<i16>,
    values: Vec<Option<String>>,
    sources: Vec<String>,
}

impl VersionRows {
    /// The versions of an applied edit of group `id`.
    pub(super) fn push(
        &mut self,
        id: i64,
        applied: &groupd_core::groups::Applied<'_>,
        source: &ChangeSource,
    ) {
        let rows = lifecycle::versions_of(applied);
        if rows.is_empty() {
            return;
        }
        let source = nul_safe(&source.to_stored()).into_owned();
        for v in rows {
            self.group_ids.push(id);
            self.properties.push(nul_safe(&v.property).into_owned());
            self.event_times.push(Ts(v.event_us));
            self.ops.push(v.op.code());
            self.values.push(v.value.map(|t| nul_safe(&t).into_owned()));
            self.sources.push(source.clone());
        }
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
                "INSERT INTO group_property_versions
                   (project_id, group_id, property, event_time, recorded_at, op, value, source)
                 SELECT $1, g, p, e, $2, o, v, s
                 FROM unnest($3::int8[], $4::text[], $5::timestamptz[], $6::int2[], $7::text[], $8::text[])
                      WITH ORDINALITY AS x(g, p, e, o, v, s, n)
                 ORDER BY n",
            )
            .await?;
        c.execute(
            &st,
            &[
                &project.0,
                &Ts(now),
                &self.group_ids,
                &self.properties,
                &self.event_times,
                &self.ops,
                &self.values,
                &self.sources,
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
    let st = c
        .prepare_cached(
            "SELECT property, op, value FROM group_property_versions
             WHERE project_id = $1 AND group_id = $2 AND event_time <= $3
             ORDER BY property, event_time DESC, recorded_at DESC, id DESC",
        )
        .await?;
    let rows = c.query(&st, &[&project.0, &g.id, &Ts(at)]).await?;
    let props = properties_from_versions(rows.iter().map(|r| {
        (
            r.get::<_, String>(0),
            VersionOp::from_code(i64::from(r.get::<_, i16>(1))),
            r.get::<_, Option<String>>(2),
        )
    }));
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
        // Oldest first, to derive each version's predecessor; the page is cut after.
        let st = c
            .prepare_cached(
                "SELECT property, op, value, event_time, recorded_at, source
                 FROM group_property_versions
                 WHERE project_id = $1 AND group_id = $2 AND ($3::text IS NULL OR property = $3)
                 ORDER BY event_time, recorded_at, id",
            )
            .await?;
        let property = q.property.as_deref().map(|p| nul_safe(p).into_owned());
        let rows = c
            .query(&st, &[&q.group.project.0, &group.id, &property])
            .await?;
        let versions = rows
            .iter()
            .map(|r| {
                let value: Option<String> = r.get(2);
                let source: String = r.get(5);
                PropertyVersion {
                    property: r.get(0),
                    op: VersionOp::from_code(i64::from(r.get::<_, i16>(1))),
                    value: value.and_then(|t| serde_json::from_str(&t).ok()),
                    previous_value: None,
                    event_time: r.get::<_, Ts>(3).0,
                    recorded_at: r.get::<_, Ts>(4).0,
                    source: ChangeSource::from_stored(&source),
                }
            })
            .collect();
        Ok(Some(lifecycle::history_page(
            with_previous(versions),
            q.offset,
            q.limit,
        )))
    }
}
