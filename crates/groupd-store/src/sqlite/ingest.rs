//! Capture's write path on SQLite: one validated request is one writer job, so its events and the
//! group changes they cause commit together (all or nothing) and share the batch's fsync. The
//! decisions (type indexes, retries, warnings) are the ingest plan's; each `$groupidentify` goes
//! through the group rule like any other edit.
use async_trait::async_trait;
use groupd_core::{
    Actor, ProjectId,
    capture::{GroupUpdate, IngestPlan, WARNINGS_KEPT},
    groups::{Refusal, TypeAssigner},
};
use rusqlite::{Connection, params};
use serde_json::Value;

use super::{
    SqliteStore,
    groups::{At, Recorder, edit_group},
    rows::{insert_types, type_names},
};
use crate::{
    ChangeSource, IngestBatch, IngestSource, IngestStore, IngestSummary, IngestionWarning,
    StoreResult, to_json_text,
};

/// Writes one request's events and applies their group changes.
fn ingest(c: &Connection, project: ProjectId, batch: &IngestBatch) -> StoreResult<IngestSummary> {
    let (events, now) = (&batch.events, batch.now_us);
    let types = TypeAssigner::new(type_names(c, project)?, batch.max_group_types);
    let mut plan = IngestPlan::new(types);
    let source = match batch.source {
        IngestSource::Capture => ChangeSource::Capture { event_uuid: None },
        IngestSource::Import => ChangeSource::Import,
    };
    let mut rec = Recorder::new(&Actor::System, source, now);
    // Prepared once per request, not looked up in the statement cache per event. A key already
    // moved into a segment is a retry too.
    let mut insert_event = c.prepare_cached(
        "INSERT OR IGNORE INTO events
           (project_id, sent_ts, uuid, event, distinct_id, timestamp, created_at, properties, group_keys)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
         WHERE NOT EXISTS
           (SELECT 1 FROM moved_event_keys WHERE project_id = ?1 AND sent_ts = ?2 AND uuid = ?3)",
    )?;
    for ev in events {
        let row = plan.row(ev);
        insert_types(c, project, plan.take_new_types(), now)?;
        let (sent_ts, uuid) = ev.idempotency_key();
        let inserted = insert_event.execute(params![
            project.0,
            sent_ts,
            uuid.as_bytes().as_slice(),
            ev.event,
            ev.distinct_id,
            ev.timestamp_us,
            ev.received_at_us,
            ev.properties_json,
            to_json_text(&row.group_keys)?,
        ])?;
        if let Some(update) = plan.stored(ev, row, inserted > 0) {
            insert_types(c, project, plan.take_new_types(), now)?;
            apply_identify(c, project, update, &mut rec, &mut plan)?;
        }
    }
    drop(insert_event);
    rec.finish(c, project)?;
    let (summary, warnings) = plan.finish();
    if !warnings.is_empty() {
        // Recorded, then the project's pruned to the newest WARNINGS_KEPT.
        for w in &warnings {
            c.prepare_cached(
                "INSERT INTO ingestion_warnings (project_id, type, details, timestamp) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![project.0, w.kind, w.details.to_string(), now])?;
        }
        c.prepare_cached(
            "DELETE FROM ingestion_warnings WHERE project_id = ?1 AND id <
               (SELECT id FROM ingestion_warnings WHERE project_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![project.0, WARNINGS_KEPT - 1])?;
    }
    Ok(summary)
}

fn apply_identify(
    c: &Connection,
    project: ProjectId,
    update: GroupUpdate<'_>,
    rec: &mut Recorder<'_>,
    plan: &mut IngestPlan,
) -> StoreResult<()> {
    let at = At {
        project,
        index: update.index,
        key: &update.identify.group_key,
    };
    if let ChangeSource::Capture { event_uuid } = &mut rec.source {
        *event_uuid = Some(update.event_uuid);
    }
    let edit = update.identify.edit();
    match edit_group(c, at, &edit, update.event_us, rec)? {
        Err(Refusal::GroupDeleted { deleted_at_us }) => plan.group_deleted(&update, deleted_at_us),
        Err(r) => return Err(r.into()),
        Ok(_) => {}
    }
    Ok(())
}

#[async_trait]
impl IngestStore for SqliteStore {
    async fn ingest(&self, project: ProjectId, batch: IngestBatch) -> StoreResult<IngestSummary> {
        let identifies = batch.events.iter().any(|e| e.group_identify.is_some());
        let done = self.writer.write(move |c| ingest(c, project, &batch)).await;
        if identifies && done.is_ok() {
            self.changed();
        }
        done
    }

    async fn ingestion_warnings(
        &self,
        project: ProjectId,
        limit: u32,
    ) -> StoreResult<Vec<IngestionWarning>> {
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT type, details, timestamp FROM ingestion_warnings
                     WHERE project_id = ?1 ORDER BY id DESC LIMIT ?2",
                )?;
                let rows = st.query_map(params![project.0, limit], |r| {
                    let details: String = r.get(1)?;
                    Ok(IngestionWarning {
                        kind: r.get(0)?,
                        details: serde_json::from_str(&details).unwrap_or(Value::Null),
                        timestamp: r.get(2)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }
}
