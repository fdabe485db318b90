//! Capture's write path: one validated request becomes one writer job, so its events and the
//! group changes they cause commit together (all or nothing) and share the batch's fsync.
use std::collections::HashMap;

use groupd_core::{
    Actor,
    capture::{CaptureEvent, GroupIdentify, INVALID_GROUP_IDENTIFY, merge_time_us, parse_time_us},
    merge::{self, PropMetaMap, PropOp},
};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};

use super::{insert_activity, to_json_text};
use crate::{IngestSummary, StoreResult};

/// Most warnings kept per project.
const WARNINGS_KEPT: i64 = 1000;
/// `sent_ts` of events sent without a timestamp (one value, as the spec counts them).
const NO_TIMESTAMP: i64 = i64::MIN;

/// Group type name → index for one project, assigning the smallest free index on first sight.
struct TypeMap {
    by_name: HashMap<String, i64>,
    max: i64,
}

impl TypeMap {
    fn load(c: &Connection, project: i64, max: u32) -> StoreResult<Self> {
        let mut st = c.prepare_cached(
            "SELECT group_type, group_type_index FROM group_types WHERE project_id = ?1",
        )?;
        let by_name = st
            .query_map([project], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Self {
            by_name,
            max: i64::from(max),
        })
    }

    /// The type's index, creating the type when there is room; `None` when the project is full.
    fn resolve(
        &mut self,
        c: &Connection,
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
        c.prepare_cached(
            "INSERT INTO group_types (project_id, group_type_index, group_type, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![project, free, name, now])?;
        self.by_name.insert(name.to_owned(), free);
        Ok(Some(free))
    }
}

/// Writes one request's events and applies their group changes.
pub(super) fn ingest(
    c: &Connection,
    project: i64,
    events: &[CaptureEvent],
    max_group_types: u32,
    now: i64,
) -> StoreResult<IngestSummary> {
    let mut types = TypeMap::load(c, project, max_group_types)?;
    let mut summary = IngestSummary::default();
    let mut warnings: Vec<(&'static str, Value)> = Vec::new();
    // Prepared once per request, not looked up in the statement cache per event.
    let mut insert_event = c.prepare_cached(
        "INSERT OR IGNORE INTO events
           (project_id, sent_ts, uuid, event, distinct_id, timestamp, created_at, properties, group_keys)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for ev in events {
        let mut pending: Vec<(&'static str, Value)> = Vec::new();
        let mut keys: Vec<&str> = Vec::new();
        for (name, key) in &ev.groups {
            if name.trim().is_empty() || key.is_empty() {
                continue;
            }
            match types.resolve(c, project, name, now)? {
                Some(i) => {
                    let i = i as usize;
                    if keys.len() <= i {
                        keys.resize(i + 1, "");
                    }
                    keys[i] = key;
                }
                None => pending.push(limit_warning(name, ev, max_group_types)),
            }
        }
        let sent_ts = ev
            .client_timestamp
            .as_deref()
            .and_then(parse_time_us)
            .unwrap_or(NO_TIMESTAMP);
        let inserted = insert_event.execute(params![
            project,
            sent_ts,
            ev.uuid.as_bytes().as_slice(),
            ev.event,
            ev.distinct_id,
            ev.timestamp_us,
            ev.received_at_us,
            ev.properties_json,
            to_json_text(&keys)?,
        ])?;
        if inserted == 0 {
            // A retry of an event already stored: its group changes were applied then.
            summary.duplicates += 1;
            continue;
        }
        summary.stored += 1;
        match &ev.group_identify {
            None => {}
            Some(Err(invalid)) => pending.push((INVALID_GROUP_IDENTIFY, invalid.details(ev.uuid))),
            Some(Ok(gi)) => match types.resolve(c, project, &gi.group_type, now)? {
                Some(index) => {
                    apply_identify(c, project, index, gi, merge_time_us(ev), now)?;
                    summary.group_updates += 1;
                }
                None => pending.push(limit_warning(&gi.group_type, ev, max_group_types)),
            },
        }
        warnings.append(&mut pending);
    }
    if !warnings.is_empty() {
        for (kind, details) in &warnings {
            c.prepare_cached(
                "INSERT INTO ingestion_warnings (project_id, type, details, timestamp) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![project, kind, details.to_string(), now])?;
        }
        c.prepare_cached(
            "DELETE FROM ingestion_warnings WHERE project_id = ?1 AND id <
               (SELECT id FROM ingestion_warnings WHERE project_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![project, WARNINGS_KEPT - 1])?;
        summary.warnings = warnings.len();
    }
    Ok(summary)
}

fn limit_warning(group_type: &str, ev: &CaptureEvent, max: u32) -> (&'static str, Value) {
    (
        "group_type_limit_reached",
        json!({"group_type": group_type, "max_group_types": max, "event_uuid": ev.uuid.to_string(), "event": ev.event}),
    )
}

/// Creates the group if needed and applies `$group_set_once`, `$group_set`, `$group_unset` at
/// event time `t` through the merge rules; `created_at` becomes the earliest time seen.
fn apply_identify(
    c: &Connection,
    project: i64,
    index: i64,
    gi: &GroupIdentify,
    t: i64,
    now: i64,
) -> StoreResult<()> {
    let row = c
        .prepare_cached(
            "SELECT id, properties, props_meta, created_at FROM groups
             WHERE project_id = ?1 AND group_type_index = ?2 AND group_key = ?3",
        )?
        .query_row(params![project, index, gi.group_key], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    let (id, mut props, mut meta, created_at, is_new) = match row {
        Some((id, p, m, created)) => (
            id,
            serde_json::from_str::<Map<String, Value>>(&p).unwrap_or_default(),
            serde_json::from_str::<PropMetaMap>(&m).unwrap_or_default(),
            created,
            false,
        ),
        None => {
            c.prepare_cached(
                "INSERT INTO groups (project_id, group_type_index, group_key, properties, props_meta, created_at, updated_at)
                 VALUES (?1, ?2, ?3, '{}', '{}', ?4, ?5)",
            )?
            .execute(params![project, index, gi.group_key, t, now])?;
            (
                c.last_insert_rowid(),
                Map::new(),
                PropMetaMap::new(),
                t,
                true,
            )
        }
    };
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
    let old = (!is_new).then(|| props.clone());
    let mut changed = false;
    for (k, op) in ops {
        if let Some(ch) = merge::apply(&mut props, &mut meta, k, op, t) {
            changed = true;
            let (activity, action) = match (is_new, &ch.before, &ch.after) {
                (true, None, _) => ("create_group", "created"),
                (false, None, _) => ("create_property", "created"),
                (_, Some(_), Some(_)) => ("update_property", "changed"),
                (_, Some(_), None) => ("update_property", "deleted"),
            };
            insert_activity(c, project, id, (activity, action), &ch, &Actor::System, now)?;
        }
    }
    let created_at = created_at.min(t);
    let props_json = to_json_text(&props)?;
    if is_new || changed {
        super::index::reindex(c, project, index, id, old.as_ref(), &props, &props_json)?;
    }
    c.prepare_cached(
        "UPDATE groups SET properties = ?2, props_meta = ?3, created_at = ?4,
           updated_at = CASE WHEN ?5 THEN ?6 ELSE updated_at END WHERE id = ?1",
    )?
    .execute(params![
        id,
        props_json,
        to_json_text(&meta)?,
        created_at,
        changed,
        now
    ])?;
    Ok(())
}
