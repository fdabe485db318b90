//! Capture's write path on PostgreSQL: one request is one transaction. Its events go in with one
//! multi-row insert (`unnest` arrays), duplicates (same uuid and client timestamp) fall out of
//! `ON CONFLICT DO NOTHING … RETURNING`, and the groups its `$groupidentify` events touch are
//! locked with one `SELECT … FOR UPDATE` (in key order, so concurrent requests cannot deadlock on
//! them), changed in memory by the group rule, and written with one `UPDATE … FROM unnest` for
//! those that exist and one `INSERT` of the new ones in their final state. The property count
//! changes are handed back to the caller, which applies them once for its whole transaction
//! ([`PropCounts`]).
//!
//! Which types get which index, which events are retries and which warnings are recorded is the
//! ingest plan's, as on SQLite; only the order of the writes differs (types before events here,
//! since the events go in at once).
use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use groupd_core::{
    ProjectId,
    capture::{CaptureEvent, GroupUpdate, IngestPlan, WARNINGS_KEPT},
    groups::{self, GroupSlot, GroupState, Refusal, TypeAssigner},
};

use super::{
    PgStore,
    changes::PendingChanges,
    counts::PropCounts,
    lifecycle::VersionRows,
    rows::{StoredProps, insert_types, state_from_row, type_names},
    tx::{lock_group_types, retrying},
    values::{Ts, jsonb_safe, nul_safe},
    writer,
};
use crate::{
    ChangeSource, IngestBatch, IngestSource, IngestStore, IngestSummary, IngestionWarning,
    StoreError, StoreResult, lifecycle::change_of,
};

/// What a capture transaction applies once, at its end: the property count changes (summed, in
/// sorted order) and then the change-stream entries (numbered last).
#[derive(Default)]
pub(super) struct Deferred {
    pub(super) counts: PropCounts,
    pub(super) changes: PendingChanges,
}

/// The idempotency key of each event, and which events repeat a key earlier in the request.
fn keys_and_dups(events: &[CaptureEvent]) -> (Vec<(i64, uuid::Uuid)>, Vec<bool>) {
    let keys: Vec<(i64, uuid::Uuid)> = events.iter().map(CaptureEvent::idempotency_key).collect();
    let mut dup = vec![false; events.len()];
    let mut seen = HashSet::with_capacity(events.len());
    for (i, k) in keys.iter().enumerate() {
        if !seen.insert(*k) {
            dup[i] = true;
        }
    }
    (keys, dup)
}

/// A PostgreSQL array literal of texts.
fn array_literal(items: &[&str]) -> String {
    let mut s = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for c in nul_safe(item).chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// The common request, events without `$groupidentify` (decided from the events alone) of types
/// the project has, needs no transaction: one multi-row insert is atomic by itself. When a type is
/// new, the request goes to the writer instead, with the types this probe loaded.
pub(super) async fn plain(
    store: &PgStore,
    project: ProjectId,
    events: &[CaptureEvent],
    max_group_types: u32,
) -> StoreResult<Result<IngestSummary, TypeAssigner>> {
    let client = store.client().await?;
    let types = TypeAssigner::new(type_names(&client, project).await?, max_group_types);
    let mut plan = IngestPlan::new(types);
    if plan.needs_new_types(events) {
        return Ok(Err(plan.into_types()));
    }
    let (keys, dup) = keys_and_dups(events);
    let mut insert = EventRows::default();
    let rows: Vec<_> = events
        .iter()
        .enumerate()
        .map(|(i, ev)| {
            let row = plan.row(ev);
            if !dup[i] {
                insert.push(keys[i], ev, array_literal(&row.group_keys));
            }
            row
        })
        .collect();
    let inserted = insert.insert(&client, project).await?;
    for ((i, ev), row) in events.iter().enumerate().zip(rows) {
        plan.stored(ev, row, !dup[i] && inserted.contains(&keys[i]));
    }
    Ok(Ok(plan.finish().0))
}

/// Writes one request's events and applies their group changes within the caller's transaction
/// (the batch writer's savepoint), starting from `types` when the caller loaded them already; adds
/// the property count changes to `counts`, for the caller to apply once the savepoint is kept.
pub(super) async fn ingest_in(
    c: &impl GenericClient,
    project: ProjectId,
    events: &[CaptureEvent],
    types: TypeAssigner,
    now: i64,
    source: IngestSource,
    deferred: &mut Deferred,
) -> StoreResult<IngestSummary> {
    let (keys, mut dup) = keys_and_dups(events);
    let max_group_types = types.max_group_types();
    let mut plan = IngestPlan::new(types);
    if plan.needs_new_types(events) {
        // A retried event's identify takes no type: find the events already stored first.
        let st = c
            .prepare_cached(
                "SELECT e.sent_ts, e.uuid FROM events e
                 JOIN unnest($2::int8[], $3::uuid[]) AS x(s, u) ON e.sent_ts = x.s AND e.uuid = x.u
                 WHERE e.project_id = $1
                 UNION ALL
                 SELECT k.sent_ts, k.uuid FROM moved_event_keys k
                 JOIN unnest($2::int8[], $3::uuid[]) AS x(s, u) ON k.sent_ts = x.s AND k.uuid = x.u
                 WHERE k.project_id = $1",
            )
            .await?;
        let (ts, ids): (Vec<i64>, Vec<uuid::Uuid>) = keys.iter().copied().unzip();
        let stored: HashSet<(i64, uuid::Uuid)> = c
            .query(&st, &[&project.0, &ts, &ids])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            dup[i] |= stored.contains(k);
        }
        // Under the lock, the types as they now are (another process may have added some).
        lock_group_types(c, project.0).await?;
        plan = IngestPlan::new(TypeAssigner::new(
            type_names(c, project).await?,
            max_group_types,
        ));
    }
    let mut insert = EventRows::default();
    let mut rows = Vec::with_capacity(events.len());
    for (i, ev) in events.iter().enumerate() {
        let row = plan.row(ev);
        if !dup[i] {
            plan.claim_identify_type(ev);
            insert.push(keys[i], ev, array_literal(&row.group_keys));
        }
        rows.push(row);
    }
    insert_types(c, project, plan.take_new_types(), now).await?;
    let inserted = insert.insert(c, project).await?;
    let mut updates = Vec::new();
    for ((i, ev), row) in events.iter().enumerate().zip(rows) {
        // Not inserted: a retry of an event already stored, whose changes were applied then.
        let fresh = !dup[i] && inserted.contains(&keys[i]);
        updates.extend(plan.stored(ev, row, fresh));
    }
    if !updates.is_empty() {
        let refused = apply_identifies(c, project, &updates, now, source, deferred).await?;
        for (i, deleted_at_us) in refused {
            plan.group_deleted(&updates[i], deleted_at_us);
        }
    }
    let (summary, warnings) = plan.finish();
    if !warnings.is_empty() {
        // Recorded, then the project's pruned to the newest WARNINGS_KEPT.
        let st = c
            .prepare_cached(
                "INSERT INTO ingestion_warnings (project_id, type, details, timestamp)
                 SELECT $1, k, d, $4 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(k, d, n) ORDER BY n",
            )
            .await?;
        let kinds: Vec<&str> = warnings.iter().map(|w| w.kind).collect();
        let details: Vec<String> = warnings
            .iter()
            .map(|w| nul_safe(&w.details.to_string()).into_owned())
            .collect();
        c.execute(&st, &[&project.0, &kinds, &details, &Ts(now)])
            .await?;
        let st = c
            .prepare_cached(
                "DELETE FROM ingestion_warnings WHERE project_id = $1 AND id <
                   (SELECT id FROM ingestion_warnings WHERE project_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .await?;
        c.execute(&st, &[&project.0, &(WARNINGS_KEPT - 1)]).await?;
    }
    Ok(summary)
}

#[async_trait]
impl IngestStore for PgStore {
    async fn ingest(&self, project: ProjectId, batch: IngestBatch) -> StoreResult<IngestSummary> {
        let (events, max_group_types) = (batch.events, batch.max_group_types);
        // Decided from the events alone: a request without identifies may need no transaction.
        let mut types = None;
        if events.iter().all(|e| e.group_identify.is_none()) {
            match retrying!(plain(self, project, &events, max_group_types).await)? {
                Ok(summary) => return Ok(summary),
                Err(loaded) => types = Some(loaded),
            }
        }
        let identifies = events.iter().filter(|e| e.group_identify.is_some()).count() as u64;
        let job = writer::Job {
            project,
            source: batch.source,
            events,
            max_group_types,
            types,
            now: batch.now_us,
        };
        let summary = self.writer.ingest(job).await?;
        self.changed();
        // Groups and their activity grow with identifies.
        self.stats.wrote(&self.pool, identifies * 2);
        Ok(summary)
    }

    async fn ingestion_warnings(
        &self,
        project: ProjectId,
        limit: u32,
    ) -> StoreResult<Vec<IngestionWarning>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT type, details, timestamp FROM ingestion_warnings
                 WHERE project_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .await?;
        Ok(c.query(&st, &[&project.0, &i64::from(limit)])
            .await?
            .iter()
            .map(|r| {
                let details: String = r.get(1);
                IngestionWarning {
                    kind: r.get(0),
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                    timestamp: r.get::<_, Ts>(2).0,
                }
            })
            .collect())
    }
}

/// Columns of the events to insert.
#[derive(Default)]
struct EventRows {
    sent_ts: Vec<i64>,
    uuids: Vec<uuid::Uuid>,
    names: Vec<String>,
    distinct_ids: Vec<String>,
    timestamps: Vec<Ts>,
    created: Vec<Ts>,
    properties: Vec<String>,
    group_keys: Vec<String>,
}

impl EventRows {
    fn push(&mut self, key: (i64, uuid::Uuid), ev: &CaptureEvent, group_keys: String) {
        self.sent_ts.push(key.0);
        self.uuids.push(key.1);
        self.names.push(nul_safe(&ev.event).into_owned());
        self.distinct_ids
            .push(nul_safe(&ev.distinct_id).into_owned());
        self.timestamps.push(Ts(ev.timestamp_us));
        self.created.push(Ts(ev.received_at_us));
        self.properties
            .push(jsonb_safe(&ev.properties_json).into_owned());
        self.group_keys.push(group_keys);
    }

    /// Inserts in request order (a deadlock between two requests retrying the same events is
    /// retried whole), skipping keys already moved into a segment; returns the keys actually
    /// inserted. (A retry racing the compaction of its event can still slip in: the reads and the
    /// next compaction ignore such a row, see `analytics.rs`.)
    async fn insert(
        &self,
        c: &impl GenericClient,
        project: ProjectId,
    ) -> StoreResult<HashSet<(i64, uuid::Uuid)>> {
        if self.sent_ts.is_empty() {
            return Ok(HashSet::new());
        }
        let st = c
            .prepare_cached(
                "INSERT INTO events (project_id, sent_ts, uuid, event, distinct_id, timestamp, created_at, properties, group_keys)
                 SELECT $1, s, u, e, d, t, c, p::jsonb, g::text[]
                 FROM unnest($2::int8[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                             $8::text[], $9::text[]) AS x(s, u, e, d, t, c, p, g)
                 WHERE NOT EXISTS (SELECT 1 FROM moved_event_keys k
                                   WHERE k.project_id = $1 AND k.sent_ts = x.s AND k.uuid = x.u)
                 ON CONFLICT DO NOTHING
                 RETURNING sent_ts, uuid",
            )
            .await?;
        Ok(c.query(
            &st,
            &[
                &project.0,
                &self.sent_ts,
                &self.uuids,
                &self.names,
                &self.distinct_ids,
                &self.timestamps,
                &self.created,
                &self.properties,
                &self.group_keys,
            ],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
    }
}

/// One group as the transaction holds it.
struct Held {
    id: i64,
    /// Not stored yet: inserted in its final state, once its identifies are applied.
    new: bool,
    slot: GroupSlot,
    dirty: bool,
}

/// Another transaction created a group this one was about to create: the batch runs again,
/// and then finds the group (see `error::is_retryable`).
#[derive(Debug, thiserror::Error)]
#[error("a concurrent write created the same group")]
pub(super) struct CreationRace;

/// Locks the groups the identifies address, creates the missing ones and applies each
/// `$groupidentify` through the group rule, in event order. A missing group starts absent, so
/// its first identify is its creation (`create_group` activity, `created_at` its time); it is
/// inserted once, in its final state (a placeholder row updated at once cost a second heap
/// tuple and a second entry in every index). The count changes go to `counts`.
pub(super) async fn apply_identifies(
    c: &impl GenericClient,
    project: ProjectId,
    updates: &[GroupUpdate<'_>],
    now: i64,
    source: IngestSource,
    deferred: &mut Deferred,
) -> StoreResult<Vec<(usize, i64)>> {
    let Deferred {
        counts,
        changes: pending,
    } = deferred;
    // Distinct groups in key order.
    let mut order: Vec<(i32, String)> = updates
        .iter()
        .map(|u| {
            (
                u.index.0 as i32,
                nul_safe(&u.identify.group_key).into_owned(),
            )
        })
        .collect();
    order.sort_unstable();
    order.dedup();
    let (indexes, group_keys): (Vec<i32>, Vec<String>) = order.into_iter().unzip();

    let st = c
        .prepare_cached(
            "SELECT g.id, g.group_type_index, g.group_key,
                    g.properties_text, g.props_meta, g.created_at, g.updated_at
             FROM groups g JOIN unnest($2::int4[], $3::text[]) AS x(i, k)
               ON g.group_type_index = x.i AND g.group_key = x.k COLLATE \"C\"
             WHERE g.project_id = $1
             ORDER BY g.group_type_index, g.group_key
             FOR UPDATE OF g",
        )
        .await?;
    let mut held: HashMap<(i32, String), Held> = HashMap::with_capacity(group_keys.len());
    for r in c.query(&st, &[&project.0, &indexes, &group_keys]).await? {
        held.insert(
            (r.get(1), r.get(2)),
            Held {
                id: r.get(0),
                new: false,
                slot: GroupSlot::of(Some(state_from_row(&r, 3)?)),
                dirty: false,
            },
        );
    }
    // The missing ones get their ids now: versions and changes name a group by id.
    let missing = group_keys.len() - held.len();
    let mut created: Vec<(i32, &str)> = Vec::with_capacity(missing);
    if missing > 0 {
        let st = c
            .prepare_cached(
                "SELECT nextval(pg_get_serial_sequence('groups', 'id')) FROM generate_series(1, $1)",
            )
            .await?;
        let mut ids = c
            .query(&st, &[&i32::try_from(missing).unwrap_or(i32::MAX)])
            .await?
            .into_iter()
            .map(|r| r.get::<_, i64>(0));
        for (i, k) in indexes.iter().zip(&group_keys) {
            if let std::collections::hash_map::Entry::Vacant(slot) = held.entry((*i, k.clone())) {
                let id = ids
                    .next()
                    .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("too few ids")))?;
                slot.insert(Held {
                    id,
                    new: true,
                    slot: GroupSlot::default(),
                    dirty: false,
                });
                created.push((*i, k));
            }
        }
    }

    // Under the row locks: the tombstones of deleted groups refuse the identifies dated before.
    let st = c
        .prepare_cached(
            "SELECT t.group_type_index, t.group_key, t.deleted_at
             FROM group_tombstones t JOIN unnest($2::int4[], $3::text[]) AS x(i, k)
               ON t.group_type_index = x.i AND t.group_key = x.k COLLATE \"C\"
             WHERE t.project_id = $1",
        )
        .await?;
    for r in c.query(&st, &[&project.0, &indexes, &group_keys]).await? {
        let key: (i32, String) = (r.get(0), r.get(1));
        if let Some(g) = held.get_mut(&key) {
            g.slot.deleted_at_us = Some(r.get::<_, Ts>(2).0);
        }
    }

    // The versions are the activity log too (migration 10).
    let mut versions = VersionRows::default();
    let mut refused = Vec::new();
    for (n, u) in updates.iter().enumerate() {
        let key = (
            u.index.0 as i32,
            nul_safe(&u.identify.group_key).into_owned(),
        );
        let Some(g) = held.get_mut(&key) else {
            continue;
        };
        let edit = u.identify.edit();
        let slot = std::mem::take(&mut g.slot);
        let applied = groups::apply(slot, &edit, u.event_us, now);
        if let Some(Refusal::GroupDeleted { deleted_at_us }) = applied.refusal() {
            refused.push((n, *deleted_at_us));
        }
        let source = match source {
            IngestSource::Capture => ChangeSource::Capture {
                event_uuid: Some(u.event_uuid),
            },
            IngestSource::Import => ChangeSource::Import,
        };
        versions.push(g.id, &applied, &source);
        pending.extend(
            project,
            change_of(
                &applied,
                g.id,
                u.index,
                &u.identify.group_key,
                u.event_us,
                &source,
            ),
        );
        counts.add(project, u.index, &applied.count_changes());
        g.dirty |= applied.dirty;
        g.slot = applied.slot;
    }
    // A missing group whose every identify was refused (deleted later) is never inserted.
    insert_new(c, project, &created, &held).await?;

    let mut changed = GroupColumns::default();
    for g in held.values().filter(|g| g.dirty && !g.new) {
        if let Some(state) = &g.slot.group {
            changed.push(g.id, state)?;
        }
    }
    if !changed.ids.is_empty() {
        let st = c
            .prepare_cached(
                "UPDATE groups g SET properties = x.p::jsonb, properties_text = x.t, props_meta = x.m,
                                     search_text = x.s, created_at = x.c, updated_at = x.u
                 FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
                      AS x(id, p, t, m, s, c, u)
                 WHERE g.project_id = $1 AND g.id = x.id",
            )
            .await?;
        let GroupColumns {
            ids,
            jsonb,
            text,
            meta,
            search,
            created_at,
            updated_at,
        } = &changed;
        c.execute(
            &st,
            &[
                &project.0, ids, jsonb, text, meta, search, created_at, updated_at,
            ],
        )
        .await?;
    }
    versions.insert(c, project, now).await?;
    Ok(refused)
}

/// Inserts the groups `created` (in key order, their state in `held`) as they ended up, in key
/// order (two transactions creating the same groups then wait on each other in one order). One
/// created meanwhile by another transaction is a [`CreationRace`].
async fn insert_new(
    c: &impl GenericClient,
    project: ProjectId,
    created: &[(i32, &str)],
    held: &HashMap<(i32, String), Held>,
) -> StoreResult<()> {
    let mut rows = GroupColumns::default();
    let (mut indexes, mut keys, mut lowered) = (Vec::new(), Vec::new(), Vec::new());
    for &(i, k) in created {
        // A new group whose every identify a tombstone refused stays absent.
        let Some((id, state)) = held
            .get(&(i, k.to_owned()))
            .and_then(|g| g.slot.group.as_ref().map(|state| (g.id, state)))
        else {
            continue;
        };
        rows.push(id, state)?;
        indexes.push(i);
        keys.push(k);
        lowered.push(k.to_lowercase());
    }
    if rows.ids.is_empty() {
        return Ok(());
    }
    let st = c
        .prepare_cached(
            "INSERT INTO groups (id, project_id, group_type_index, group_key, properties, properties_text,
                                 props_meta, search_text, key_lower, created_at, updated_at)
             OVERRIDING SYSTEM VALUE
             SELECT id, $1, i, k, p::jsonb, t, m, s, l, c, u
             FROM unnest($2::int8[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::text[], $10::timestamptz[], $11::timestamptz[])
                  WITH ORDINALITY AS x(id, i, k, p, t, m, s, l, c, u, o)
             ORDER BY o
             ON CONFLICT DO NOTHING",
        )
        .await?;
    let inserted = c
        .execute(
            &st,
            &[
                &project.0,
                &rows.ids,
                &indexes,
                &keys,
                &rows.jsonb,
                &rows.text,
                &rows.meta,
                &rows.search,
                &lowered,
                &rows.created_at,
                &rows.updated_at,
            ],
        )
        .await?;
    if inserted as usize != rows.ids.len() {
        return Err(StoreError::Internal(anyhow::Error::new(CreationRace)));
    }
    Ok(())
}

/// The stored columns of groups to write: the UPDATE of changed groups, the INSERT of new ones.
#[derive(Default)]
struct GroupColumns {
    ids: Vec<i64>,
    jsonb: Vec<String>,
    text: Vec<String>,
    meta: Vec<String>,
    search: Vec<String>,
    created_at: Vec<Ts>,
    updated_at: Vec<Ts>,
}

impl GroupColumns {
    fn push(&mut self, id: i64, state: &GroupState) -> StoreResult<()> {
        let stored = StoredProps::new(state)?;
        self.ids.push(id);
        self.jsonb.push(stored.jsonb);
        self.text.push(stored.text);
        self.meta.push(stored.meta);
        self.search.push(stored.search);
        self.created_at.push(Ts(state.created_at_us));
        self.updated_at.push(Ts(state.updated_at_us));
        Ok(())
    }
}
