//! Import on SQLite: the lines go through the writer like capture's `$groupidentify` (the same
//! group rule, `groups::edit_group`), in jobs of [`CHUNK`] lines so that capture keeps flowing
//! between them; an atomic import is one job, so it commits whole or not at all. Types are
//! assigned first, in one job, exactly as capture assigns them.
use std::{ops::Range, sync::Arc};

use groupd_core::{
    Actor, GroupTypeIndex, ProjectId,
    groups::{Refusal, TypeAssigner},
};
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    SqliteStore,
    groups::{At, Recorder, edit_group},
    rows::{insert_types, type_names},
};
use crate::{
    ChangeSource, StoreResult,
    exchange::{ImportBatch, ImportLine, ImportOutcome, LineFailure, assign_line_types},
};

/// Lines per writer job of a non-atomic import: large enough to amortise the commit, small enough
/// that a capture request waits at most a fraction of a second behind one.
const CHUNK: usize = 2000;

/// Each line's type index (`None`: the type does not fit), and the failures that makes.
fn assign_types(
    c: &Connection,
    b: &ImportBatch,
) -> StoreResult<(TypeAssigner, Vec<Option<GroupTypeIndex>>, Vec<LineFailure>)> {
    let mut types = TypeAssigner::new(type_names(c, b.project)?, b.max_group_types);
    let (indexes, failed) = assign_line_types(&mut types, b);
    Ok((types, indexes, failed))
}

/// Merges one line. A line the group rule refuses (dated before the group's deletion) changes
/// nothing and is not a failure, as for capture, so both backends count it alike.
fn apply_line(
    c: &Connection,
    project: ProjectId,
    l: &ImportLine,
    index: GroupTypeIndex,
    rec: &mut Recorder<'_>,
) -> StoreResult<()> {
    let key = l.identify.group_key.as_str();
    let at = At {
        project,
        index,
        key,
    };
    let is_new = match l.created_at_us {
        Some(_) => c
            .prepare_cached(
                "SELECT 1 FROM groups WHERE project_id = ?1 AND group_type_index = ?2 AND group_key = ?3",
            )?
            .query_row(params![project.0, index.0, key], |_| Ok(()))
            .optional()?
            .is_none(),
        None => false,
    };
    match edit_group(c, at, &l.identify.edit(), l.event_us, rec)? {
        Ok(g) => {
            if let (true, Some(created), Some(g)) = (is_new, l.created_at_us, g) {
                // An export line re-creates the group as it was first seen.
                c.prepare_cached("UPDATE groups SET created_at = ?2 WHERE id = ?1")?
                    .execute(params![g.id, created])?;
            }
            Ok(())
        }
        Err(Refusal::GroupDeleted { .. }) => Ok(()),
        Err(r) => Err(r.into()),
    }
}

fn apply_lines(
    c: &Connection,
    b: &ImportBatch,
    indexes: &[Option<GroupTypeIndex>],
    range: Range<usize>,
) -> StoreResult<()> {
    let mut rec = Recorder::new(&Actor::System, ChangeSource::Import, b.now_us);
    for i in range {
        if let Some(index) = indexes[i] {
            apply_line(c, b.project, &b.lines[i], index, &mut rec)?;
        }
    }
    // The counts, then the stream entries, numbered as the job's last step.
    rec.finish(c, b.project)
}

pub(super) async fn import(store: &SqliteStore, batch: ImportBatch) -> StoreResult<ImportOutcome> {
    let batch = Arc::new(batch);
    let n = batch.lines.len();
    let whole = batch.atomic || n <= CHUNK;
    let b = Arc::clone(&batch);
    let (indexes, failed, writing) = store
        .writer
        .write(move |c| {
            let (mut types, indexes, failed) = assign_types(c, &b)?;
            let writing = b.write && (!b.atomic || failed.is_empty());
            if writing {
                insert_types(c, b.project, types.take_added(), b.now_us)?;
                if whole {
                    apply_lines(c, &b, &indexes, 0..n)?;
                }
            }
            Ok((indexes, failed, writing))
        })
        .await?;
    if writing && !whole {
        let indexes = Arc::new(indexes);
        for start in (0..n).step_by(CHUNK) {
            let (b, idx) = (Arc::clone(&batch), Arc::clone(&indexes));
            let range = start..(start + CHUNK).min(n);
            store
                .writer
                .write(move |c| apply_lines(c, &b, &idx, range))
                .await?;
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
