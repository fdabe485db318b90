//! Import on PostgreSQL: the lines go through capture's own group write (`ingest::apply_identifies`:
//! the same group rule, rows locked in key order, counts applied once per transaction), in
//! transactions of [`CHUNK`] lines; an atomic import is one transaction, so it commits whole or
//! not at all. Types are assigned first, under the project's type lock, exactly as capture
//! assigns them.
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use deadpool_postgres::GenericClient;
use groupd_core::{GroupTypeIndex, capture::GroupUpdate, groups::TypeAssigner};

use super::{
    PgStore,
    ingest::{Deferred, apply_identifies},
    rows::{insert_types, type_names},
    tx::{lock_group_types, run_with_tx},
    values::Ts,
};
use crate::{
    IngestSource, StoreResult,
    exchange::{ImportBatch, ImportOutcome, LineFailure, assign_line_types},
};

/// Lines per transaction of a non-atomic import.
const CHUNK: usize = 5000;

type Indexes = Vec<Option<GroupTypeIndex>>;

/// Assigns every line's type (writing the new ones when `write`), and, when `whole`, merges
/// every line too.
async fn first_tx(
    c: &impl GenericClient,
    b: &ImportBatch,
    whole: bool,
) -> StoreResult<(Indexes, Vec<LineFailure>, bool)> {
    if b.write {
        lock_group_types(c, b.project.0).await?;
    }
    let mut types = TypeAssigner::new(type_names(c, b.project).await?, b.max_group_types);
    let (indexes, failed) = assign_line_types(&mut types, b);
    let writing = b.write && (!b.atomic || failed.is_empty());
    if writing {
        insert_types(c, b.project, types.take_added(), b.now_us).await?;
        if whole {
            apply_chunk(c, b, &indexes, 0..b.lines.len()).await?;
        }
    }
    Ok((indexes, failed, writing))
}

/// Merges the lines in `range`, then gives the groups they created their export `created_at`.
async fn apply_chunk(
    c: &impl GenericClient,
    b: &ImportBatch,
    indexes: &[Option<GroupTypeIndex>],
    range: Range<usize>,
) -> StoreResult<()> {
    let mut updates = Vec::with_capacity(range.len());
    // The first `created_at` given for each group.
    let mut created: HashMap<(i32, &str), i64> = HashMap::new();
    for i in range {
        let (Some(index), l) = (indexes[i], &b.lines[i]) else {
            continue;
        };
        updates.push(GroupUpdate {
            index,
            identify: &l.identify,
            event_us: l.event_us,
            event_uuid: uuid::Uuid::nil(),
        });
        if let Some(at) = l.created_at_us {
            let index = i32::try_from(index.0).unwrap_or(i32::MAX);
            created
                .entry((index, l.identify.group_key.as_str()))
                .or_insert(at);
        }
    }
    if updates.is_empty() {
        return Ok(());
    }
    let (ci, ck): (Vec<i32>, Vec<&str>) = created.keys().copied().unzip();
    let existing: HashSet<(i32, String)> = if ci.is_empty() {
        HashSet::new()
    } else {
        let st = c
            .prepare_cached(
                "SELECT g.group_type_index, g.group_key FROM groups g
                 JOIN unnest($2::int4[], $3::text[]) AS x(i, k)
                   ON g.group_type_index = x.i AND g.group_key = x.k
                 WHERE g.project_id = $1",
            )
            .await?;
        c.query(&st, &[&b.project.0, &ci, &ck])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    // Lines dated before their group's deletion are refused by the rule and change nothing.
    let mut deferred = Deferred::default();
    apply_identifies(
        c,
        b.project,
        &updates,
        b.now_us,
        IngestSource::Import,
        &mut deferred,
    )
    .await?;
    deferred.counts.apply(c).await?;
    let fresh: Vec<((i32, &str), i64)> = created
        .into_iter()
        .filter(|((i, k), _)| !existing.contains(&(*i, (*k).to_owned())))
        .collect();
    if !fresh.is_empty() {
        let st = c
            .prepare_cached(
                "UPDATE groups g SET created_at = x.c
                 FROM unnest($2::int4[], $3::text[], $4::timestamptz[]) AS x(i, k, c)
                 WHERE g.project_id = $1 AND g.group_type_index = x.i AND g.group_key = x.k",
            )
            .await?;
        let is: Vec<i32> = fresh.iter().map(|((i, _), _)| *i).collect();
        let ks: Vec<&str> = fresh.iter().map(|((_, k), _)| *k).collect();
        let ts: Vec<Ts> = fresh.iter().map(|(_, t)| Ts(*t)).collect();
        c.execute(&st, &[&b.project.0, &is, &ks, &ts]).await?;
    }
    // The stream entries are numbered as the transaction's last step.
    deferred.changes.commit(c, b.now_us).await
}

pub(super) async fn import(store: &PgStore, b: ImportBatch) -> StoreResult<ImportOutcome> {
    let n = b.lines.len();
    let whole = b.atomic || n <= CHUNK;
    let (indexes, failed, writing) = run_with_tx!(store.pool, |tx| first_tx(&tx, &b, whole).await)?;
    if writing && !whole {
        for start in (0..n).step_by(CHUNK) {
            let range = start..(start + CHUNK).min(n);
            run_with_tx!(store.pool, |tx| apply_chunk(
                &tx,
                &b,
                &indexes,
                range.clone()
            )
            .await)?;
        }
    }
    if writing {
        store.changed();
    }
    Ok(ImportOutcome {
        imported: (n - failed.len()) as u64,
        failed,
    })
}
