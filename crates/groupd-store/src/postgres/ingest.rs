//! Capture's write path on PostgreSQL: one request is one transaction. Its events go in with one
//! multi-row insert (`unnest` arrays), duplicates (same uuid and client timestamp) fall out of
//! `ON CONFLICT DO NOTHING … RETURNING`, and the groups its `$groupidentify` events touch are
//! created with one `INSERT … ON CONFLICT DO NOTHING`, locked with one `SELECT … FOR UPDATE` (in
//! key order, so concurrent requests cannot deadlock on them), merged in memory by the same rules
//! as the SQLite backend and written back with one `UPDATE … FROM unnest`. The property count
//! changes are handed back to the caller, which applies them once for its whole transaction
//! ([`PropCounts`]).
//!
//! The outcome matches the SQLite backend event for event: type indexes are assigned in the same
//! order (an event's `$groups` types, then its `$groupidentify` type, event after event, a
//! duplicate's identify type excepted), activity and warnings are recorded in the same order.
use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;
use groupd_core::{
    Actor,
    capture::{CaptureEvent, GroupIdentify, INVALID_GROUP_IDENTIFY, merge_time_us, parse_time_us},
    merge::{self, PropMetaMap, PropOp},
};
use serde_json::{Map, Value, json};

use super::{
    ActivityRows, PgStore, PropCounts, StoredProps, Ts, activity_detail, internal, jsonb_safe,
    lock_group_types, nul_safe,
};
use crate::{IngestSummary, StoreResult};

/// Most warnings kept per project.
const WARNINGS_KEPT: i64 = 1000;
/// `sent_ts` of events sent without a timestamp (one value, as the spec counts them).
const NO_TIMESTAMP: i64 = i64::MIN;

/// The idempotency key of each event.
fn sent_ts(ev: &CaptureEvent) -> i64 {
    ev.client_timestamp
        .as_deref()
        .and_then(parse_time_us)
        .unwrap_or(NO_TIMESTAMP)
}

/// The `$groups` pairs that name a type (non-blank name, non-empty key).
fn group_pairs(ev: &CaptureEvent) -> impl Iterator<Item = (&str, &str)> {
    ev.groups
        .iter()
        .filter(|(name, key)| !name.trim().is_empty() && !key.is_empty())
        .map(|(n, k)| (n.as_str(), k.as_str()))
}

/// The event's group keys by type index (`''` for none), for types that have an index.
fn group_keys_of<'a>(ev: &'a CaptureEvent, types: &TypeMap) -> Vec<&'a str> {
    let mut gk: Vec<&str> = Vec::new();
    for (name, key) in group_pairs(ev) {
        if let Some(t) = types.get(name) {
            let t = t as usize;
            if gk.len() <= t {
                gk.resize(t + 1, "");
            }
            gk[t] = key;
        }
    }
    gk
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

/// Group type name → index for one project within the transaction.
struct TypeMap {
    by_name: HashMap<String, i64>,
    max: i64,
}

impl TypeMap {
    async fn load(c: &impl GenericClient, project: i64, max: u32) -> StoreResult<Self> {
        let st = c
            .prepare_cached(
                "SELECT group_type, group_type_index FROM group_types WHERE project_id = $1",
            )
            .await?;
        let by_name = c
            .query(&st, &[&project])
            .await?
            .iter()
            .map(|r| (r.get::<_, String>(0), i64::from(r.get::<_, i32>(1))))
            .collect();
        Ok(Self {
            by_name,
            max: i64::from(max),
        })
    }

    /// Assigns the smallest free index to `name` (the caller holds the project's type lock).
    async fn create(
        &mut self,
        c: &impl GenericClient,
        project: i64,
        name: &str,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        if let Some(i) = self.by_name.get(name) {
            return Ok(Some(*i));
        }
        let Some(free) = (0..self.max).find(|i| !self.by_name.values().any(|v| v == i)) else {
            return Ok(None);
        };
        let st = c
            .prepare_cached(
                "INSERT INTO group_types (project_id, group_type_index, group_type, created_at) VALUES ($1, $2, $3, $4)",
            )
            .await?;
        let index = i32::try_from(free).map_err(internal)?;
        c.execute(&st, &[&project, &index, &nul_safe(name), &Ts(now)])
            .await?;
        self.by_name.insert(name.to_owned(), free);
        Ok(Some(free))
    }

    fn get(&self, name: &str) -> Option<i64> {
        self.by_name.get(name).copied()
    }
}

/// The first occurrence of each idempotency key in the request, and which events repeat one.
fn keys_and_dups(events: &[CaptureEvent]) -> (Vec<(i64, uuid::Uuid)>, Vec<bool>) {
    let keys: Vec<(i64, uuid::Uuid)> = events.iter().map(|ev| (sent_ts(ev), ev.uuid)).collect();
    let mut dup = vec![false; events.len()];
    let mut seen = HashSet::with_capacity(events.len());
    for (i, k) in keys.iter().enumerate() {
        if !seen.insert(*k) {
            dup[i] = true;
        }
    }
    (keys, dup)
}

/// The common request, plain events of known types, needs no transaction: one multi-row insert
/// is atomic by itself. `None` when the request changes groups or types (see [`ingest_in`]).
pub(super) async fn plain(
    store: &PgStore,
    project: i64,
    events: &[CaptureEvent],
    max_group_types: u32,
) -> StoreResult<Option<IngestSummary>> {
    let client = store.client().await?;
    let types = TypeMap::load(&client, project, max_group_types).await?;
    let simple = events.iter().all(|ev| {
        ev.group_identify.is_none() && group_pairs(ev).all(|(n, _)| types.get(n).is_some())
    });
    if !simple {
        return Ok(None);
    }
    let (keys, dup) = keys_and_dups(events);
    let mut rows = EventRows::default();
    for (i, ev) in events.iter().enumerate() {
        if !dup[i] {
            rows.push(keys[i], ev, array_literal(&group_keys_of(ev, &types)));
        }
    }
    let inserted = rows.insert(&client, project).await?;
    let stored = (0..events.len())
        .filter(|i| !dup[*i] && inserted.contains(&keys[*i]))
        .count();
    Ok(Some(IngestSummary {
        stored,
        duplicates: events.len() - stored,
        ..IngestSummary::default()
    }))
}

/// Writes one request's events and applies their group changes within the caller's transaction
/// (the batch writer's savepoint); adds the property count changes to `counts`, for the caller
/// to apply once the savepoint is kept.
pub(super) async fn ingest_in(
    c: &impl GenericClient,
    project: i64,
    events: &[CaptureEvent],
    max_group_types: u32,
    now: i64,
    counts: &mut PropCounts,
) -> StoreResult<IngestSummary> {
    let (keys, mut dup) = keys_and_dups(events);
    let mut types = TypeMap::load(c, project, max_group_types).await?;
    let unknown = events.iter().any(|ev| {
        group_pairs(ev).any(|(n, _)| types.get(n).is_none())
            || matches!(&ev.group_identify, Some(Ok(gi)) if types.get(&gi.group_type).is_none())
    });
    if unknown {
        // New types are assigned in the SQLite backend's order, which skips the identify type
        // of an event already stored: find those first.
        let st = c
            .prepare_cached(
                "SELECT e.sent_ts, e.uuid FROM events e
                 JOIN unnest($2::int8[], $3::uuid[]) AS x(s, u) ON e.sent_ts = x.s AND e.uuid = x.u
                 WHERE e.project_id = $1",
            )
            .await?;
        let (ts, ids): (Vec<i64>, Vec<uuid::Uuid>) = keys.iter().copied().unzip();
        let stored: HashSet<(i64, uuid::Uuid)> = c
            .query(&st, &[&project, &ts, &ids])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            dup[i] |= stored.contains(k);
        }
        lock_group_types(c, project).await?;
        types = TypeMap::load(c, project, max_group_types).await?;
        for (i, ev) in events.iter().enumerate() {
            for (name, _) in group_pairs(ev) {
                types.create(c, project, name, now).await?;
            }
            if let (false, Some(Ok(gi))) = (dup[i], &ev.group_identify) {
                types.create(c, project, &gi.group_type, now).await?;
            }
        }
    }

    // The events not known to be duplicates, with their group keys and limit warnings.
    let mut pending: Vec<Vec<(&'static str, Value)>> = vec![Vec::new(); events.len()];
    let mut rows = EventRows::default();
    for (i, ev) in events.iter().enumerate() {
        if dup[i] {
            continue;
        }
        let mut gk: Vec<&str> = Vec::new();
        for (name, key) in group_pairs(ev) {
            match types.get(name) {
                Some(t) => {
                    let t = t as usize;
                    if gk.len() <= t {
                        gk.resize(t + 1, "");
                    }
                    gk[t] = key;
                }
                None => pending[i].push(limit_warning(name, ev, max_group_types)),
            }
        }
        rows.push(keys[i], ev, array_literal(&gk));
    }
    let inserted = rows.insert(c, project).await?;

    let mut summary = IngestSummary::default();
    let mut warnings: Vec<(&'static str, Value)> = Vec::new();
    let mut identifies: Vec<(i64, &GroupIdentify, i64)> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        if dup[i] || !inserted.contains(&keys[i]) {
            // A retry of an event already stored: its group changes were applied then.
            summary.duplicates += 1;
            continue;
        }
        summary.stored += 1;
        match &ev.group_identify {
            None => {}
            Some(Err(invalid)) => {
                pending[i].push((INVALID_GROUP_IDENTIFY, invalid.details(ev.uuid)))
            }
            Some(Ok(gi)) => match types.get(&gi.group_type) {
                Some(index) => {
                    identifies.push((index, gi, merge_time_us(ev)));
                    summary.group_updates += 1;
                }
                None => pending[i].push(limit_warning(&gi.group_type, ev, max_group_types)),
            },
        }
        warnings.append(&mut pending[i]);
    }

    if !identifies.is_empty() {
        apply_identifies(c, project, &identifies, now, counts).await?;
    }

    if !warnings.is_empty() {
        let st = c
            .prepare_cached(
                "INSERT INTO ingestion_warnings (project_id, type, details, timestamp)
                 SELECT $1, k, d, $4 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(k, d, n) ORDER BY n",
            )
            .await?;
        let kinds: Vec<&str> = warnings.iter().map(|w| w.0).collect();
        let details: Vec<String> = warnings
            .iter()
            .map(|w| nul_safe(&w.1.to_string()).into_owned())
            .collect();
        c.execute(&st, &[&project, &kinds, &details, &Ts(now)])
            .await?;
        let st = c
            .prepare_cached(
                "DELETE FROM ingestion_warnings WHERE project_id = $1 AND id <
                   (SELECT id FROM ingestion_warnings WHERE project_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .await?;
        c.execute(&st, &[&project, &(WARNINGS_KEPT - 1)]).await?;
        summary.warnings = warnings.len();
    }
    Ok(summary)
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
    /// retried whole); returns the keys actually inserted.
    async fn insert(
        &self,
        c: &impl GenericClient,
        project: i64,
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
                 ON CONFLICT DO NOTHING
                 RETURNING sent_ts, uuid",
            )
            .await?;
        Ok(c.query(
            &st,
            &[
                &project,
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

fn limit_warning(group_type: &str, ev: &CaptureEvent, max: u32) -> (&'static str, Value) {
    (
        "group_type_limit_reached",
        json!({"group_type": group_type, "max_group_types": max, "event_uuid": ev.uuid.to_string(), "event": ev.event}),
    )
}

/// One group as the transaction holds it.
struct Held {
    id: i64,
    props: Map<String, Value>,
    /// The properties as loaded (empty for a group this transaction created).
    before: Map<String, Value>,
    meta: PropMetaMap,
    created_at: i64,
    updated_at: i64,
    /// Created by this transaction and not yet touched by an event.
    is_new: bool,
    changed: bool,
}

/// Creates the groups if needed and applies each `$groupidentify` (`$group_set_once`,
/// `$group_set`, `$group_unset` at its event time) through the merge rules, in event order;
/// `created_at` becomes the earliest time seen. The count changes go to `counts`.
async fn apply_identifies(
    c: &impl GenericClient,
    project: i64,
    identifies: &[(i64, &GroupIdentify, i64)],
    now: i64,
    counts: &mut PropCounts,
) -> StoreResult<()> {
    // Distinct groups in key order, with the earliest event time of each.
    let mut first: HashMap<(i64, &str), i64> = HashMap::new();
    for (index, gi, t) in identifies {
        first
            .entry((*index, gi.group_key.as_str()))
            .and_modify(|m| *m = (*m).min(*t))
            .or_insert(*t);
    }
    let mut order: Vec<(i64, &str)> = first.keys().copied().collect();
    order.sort_unstable();
    let indexes: Vec<i32> = order.iter().map(|(i, _)| *i as i32).collect();
    let group_keys: Vec<String> = order
        .iter()
        .map(|(_, k)| nul_safe(k).into_owned())
        .collect();
    let times: Vec<Ts> = order.iter().map(|g| Ts(first[g])).collect();
    let lowered: Vec<String> = group_keys.iter().map(|k| k.to_lowercase()).collect();

    let st = c
        .prepare_cached(
            "INSERT INTO groups (project_id, group_type_index, group_key, properties, properties_text,
                                 props_meta, search_text, key_lower, created_at, updated_at)
             SELECT $1, i, k, '{}', '{}', '{}', '{}', l, t, $5
             FROM unnest($2::int4[], $3::text[], $4::timestamptz[], $6::text[]) AS x(i, k, t, l)
             ORDER BY i, k COLLATE \"C\"
             ON CONFLICT DO NOTHING
             RETURNING group_type_index, group_key",
        )
        .await?;
    let created: HashSet<(i32, String)> = c
        .query(
            &st,
            &[&project, &indexes, &group_keys, &times, &Ts(now), &lowered],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let st = c
        .prepare_cached(
            "SELECT g.id, g.group_type_index, g.group_key, g.properties_text, g.props_meta, g.created_at, g.updated_at
             FROM groups g JOIN unnest($2::int4[], $3::text[]) AS x(i, k)
               ON g.group_type_index = x.i AND g.group_key = x.k COLLATE \"C\"
             WHERE g.project_id = $1
             ORDER BY g.group_type_index, g.group_key
             FOR UPDATE OF g",
        )
        .await?;
    let mut held: HashMap<(i32, String), Held> = HashMap::new();
    for r in c.query(&st, &[&project, &indexes, &group_keys]).await? {
        let key: (i32, String) = (r.get(1), r.get(2));
        let is_new = created.contains(&key);
        let props: Map<String, Value> = serde_json::from_str(r.get(3)).unwrap_or_default();
        held.insert(
            key,
            Held {
                id: r.get(0),
                before: props.clone(),
                props,
                meta: serde_json::from_str(r.get(4)).unwrap_or_default(),
                created_at: r.get::<_, Ts>(5).0,
                updated_at: r.get::<_, Ts>(6).0,
                is_new,
                changed: false,
            },
        );
    }

    let mut activity = ActivityRows::default();
    for (index, gi, t) in identifies {
        let key = (*index as i32, nul_safe(&gi.group_key).into_owned());
        let Some(g) = held.get_mut(&key) else {
            // Deleted by a concurrent type deletion: nothing to apply to.
            continue;
        };
        let is_new = std::mem::replace(&mut g.is_new, false);
        let ops = gi
            .set_once
            .iter()
            .map(|(k, v)| (k.as_str(), PropOp::SetOnce(v.clone())))
            .chain(
                gi.set
                    .iter()
                    .map(|(k, v)| (k.as_str(), PropOp::Set(v.clone()))),
            )
            .chain(gi.unset.iter().map(|k| (k.as_str(), PropOp::Unset)));
        for (k, op) in ops {
            if let Some(ch) = merge::apply(&mut g.props, &mut g.meta, k, op, *t) {
                g.changed = true;
                let (name, action) = match (is_new, &ch.before, &ch.after) {
                    (true, None, _) => ("create_group", "created"),
                    (false, None, _) => ("create_property", "created"),
                    (_, Some(_), Some(_)) => ("update_property", "changed"),
                    (_, Some(_), None) => ("update_property", "deleted"),
                };
                let detail = activity_detail(&ch.key, action, ch.before, ch.after);
                activity.push(g.id, name, &detail, &Actor::System);
            }
        }
        g.created_at = g.created_at.min(*t);
    }

    let mut ids = Vec::with_capacity(held.len());
    let mut jsonb = Vec::with_capacity(held.len());
    let mut text = Vec::with_capacity(held.len());
    let mut meta = Vec::with_capacity(held.len());
    let mut search = Vec::with_capacity(held.len());
    let mut created_at = Vec::with_capacity(held.len());
    let mut updated_at = Vec::with_capacity(held.len());
    for ((index, _), g) in &held {
        if g.changed {
            counts.group_changed(project, *index, &g.before, &g.props);
        }
        let stored = StoredProps::new(&g.props, &g.meta)?;
        ids.push(g.id);
        jsonb.push(stored.jsonb);
        text.push(stored.text);
        meta.push(stored.meta);
        search.push(stored.search);
        created_at.push(Ts(g.created_at));
        updated_at.push(Ts(if g.changed { now } else { g.updated_at }));
    }
    let st = c
        .prepare_cached(
            "UPDATE groups g SET properties = x.p::jsonb, properties_text = x.t, props_meta = x.m,
                                 search_text = x.s, created_at = x.c, updated_at = x.u
             FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
                  AS x(id, p, t, m, s, c, u)
             WHERE g.project_id = $1 AND g.id = x.id",
        )
        .await?;
    c.execute(
        &st,
        &[
            &project,
            &ids,
            &jsonb,
            &text,
            &meta,
            &search,
            &created_at,
            &updated_at,
        ],
    )
    .await?;
    activity.insert(c, project, now).await
}
