//! Groups on SQLite: the list (with its trigram search), lookups, REST edits through the group
//! rule, activity, and the property counts read.
use async_trait::async_trait;
use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, ProjectId,
    groups::{self, Applied, Edit, GroupSlot, Refusal},
};
use rusqlite::{Connection, params};

use super::{
    SqliteStore, changes, counts,
    error::is_unique_violation,
    fts,
    rows::{self, GROUP_COLS, StoredGroup, group_from_row, insert_activity},
};
use crate::{
    ActivityEntry, ActivityPage, Change, ChangeSource, Group, GroupListQuery, GroupRef, GroupStore,
    NewGroup, PropertyCount, PropertyEdit, StoreError, StoreResult, ValueCount, ValuesQuery,
    lifecycle::{self, PendingChange},
    to_json_text,
};

/// Where a group is stored.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub(super) project: ProjectId,
    pub(super) index: GroupTypeIndex,
    pub(super) key: &'a str,
}

impl<'a> At<'a> {
    pub(super) fn of(group: &'a GroupRef) -> Self {
        Self {
            project: group.project,
            index: group.index,
            key: group.key.as_str(),
        }
    }
}

/// Who records an edit, from where, and when (server time); collects what the job's edits
/// apply once at its end: the property count changes, summed, and the change-stream entries,
/// numbered as the job's last step ([`Self::finish`]).
pub(super) struct Recorder<'a> {
    pub(super) actor: &'a Actor,
    pub(super) source: ChangeSource,
    pub(super) now: i64,
    pub(super) changes: Vec<PendingChange>,
    pub(super) counts: counts::PendingCounts,
}

impl<'a> Recorder<'a> {
    /// A recorder for `actor`'s edits from `source` at server time `now`.
    pub(super) fn new(actor: &'a Actor, source: ChangeSource, now: i64) -> Self {
        Self {
            actor,
            source,
            now,
            changes: Vec::new(),
            counts: counts::PendingCounts::default(),
        }
    }

    /// A REST change's recorder.
    pub(super) fn rest(change: &'a Change) -> Self {
        Self::new(&change.actor, change.source.clone(), change.at_us)
    }

    /// The job's last step for `project`'s edits: the summed counts, then the stream entries.
    pub(super) fn finish(&mut self, c: &Connection, project: ProjectId) -> StoreResult<()> {
        self.counts.apply(c, project)?;
        changes::commit(c, project, &std::mem::take(&mut self.changes), self.now)
    }
}

/// Stores what the rule decided for one group, in the caller's transaction: the row (inserted
/// when `stored` is `None`, removed for a deletion), its search index and property counts, its
/// versions, activity and stream entry. Returns the group as it now is (`None`: deleted).
pub(super) fn store_applied(
    c: &Connection,
    at: At<'_>,
    stored: Option<(i64, String)>,
    applied: &Applied<'_>,
    event_us: i64,
    rec: &mut Recorder<'_>,
) -> StoreResult<Option<Group>> {
    if let Some(refusal) = applied.refusal() {
        return Err(refusal.clone().into());
    }
    let now = rec.now;
    let change = |id| lifecycle::change_of(applied, id, at.index, at.key, event_us, &rec.source);
    let Some(state) = &applied.slot.group else {
        let Some((id, _)) = stored else {
            return Err(StoreError::NotFound);
        };
        rec.changes.extend(change(id));
        super::lifecycle::forget_group(c, at, id, applied.slot.deleted_at_us.unwrap_or(event_us))?;
        rec.counts.add(at.index, &applied.count_changes());
        for a in applied.activity() {
            let a = groupd_core::groups::ActivityRecord {
                property: at.key,
                ..a
            };
            insert_activity(c, at.project, id, &a, rec.actor, now)?;
        }
        return Ok(None);
    };
    let (id, properties_json) = match stored {
        Some((id, text)) if !applied.dirty => (id, text),
        Some((id, _)) => {
            let text = to_json_text(&state.properties)?;
            c.prepare_cached(
                "UPDATE groups SET properties = ?2, props_meta = ?3, created_at = ?4, updated_at = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                text,
                crate::common::meta_to_stored(&state.meta, &state.properties)?,
                state.created_at_us,
                state.updated_at_us
            ])?;
            (id, text)
        }
        None => {
            let text = to_json_text(&state.properties)?;
            let inserted = c
                .prepare_cached(
                    "INSERT INTO groups (project_id, group_type_index, group_key, properties, props_meta, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    at.project.0,
                    at.index.0,
                    at.key,
                    text,
                    crate::common::meta_to_stored(&state.meta, &state.properties)?,
                    state.created_at_us,
                    state.updated_at_us
                ]);
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::GroupExists),
                other => other?,
            };
            (c.last_insert_rowid(), text)
        }
    };
    rec.changes.extend(change(id));
    if applied.is_visible() {
        rec.counts.add(at.index, &applied.count_changes());
        let created = applied.outcome == groups::Outcome::Created;
        fts::index_group(c, id, !created)?;
    }
    // The versions are the activity log too (migration 0013).
    super::lifecycle::insert_versions(c, id, applied, &rec.source, now)?;
    Ok(Some(Group {
        id,
        index: at.index,
        key: GroupKey::from_stored(at.key.to_owned()),
        properties_json,
        created_at: state.created_at_us,
        updated_at: state.updated_at_us,
    }))
}

/// Loads a group slot (its row and tombstone), applies `edit` at `event_us`, and stores the
/// result; a refusal is returned as such, with nothing written.
pub(super) fn edit_group(
    c: &Connection,
    at: At<'_>,
    edit: &Edit<'_>,
    event_us: i64,
    rec: &mut Recorder<'_>,
) -> StoreResult<Result<Option<Group>, Refusal>> {
    let (stored, group) = match rows::load_group(c, at.project, at.index, at.key)? {
        Some(StoredGroup {
            id,
            properties_json,
            state,
        }) => (Some((id, properties_json)), Some(state)),
        None => (None, None),
    };
    let slot = GroupSlot {
        group,
        deleted_at_us: super::lifecycle::tombstone(c, at)?.map(|t| t.0),
    };
    let applied = groups::apply(slot, edit, event_us, rec.now);
    if let Some(r) = applied.refusal() {
        return Ok(Err(r.clone()));
    }
    Ok(Ok(store_applied(c, at, stored, &applied, event_us, rec)?))
}

/// A REST edit: dated, recorded and authored by its change; its stream entry numbered before
/// the job ends.
pub(super) fn rest_edit(
    c: &Connection,
    at: At<'_>,
    edit: &Edit<'_>,
    change: &Change,
) -> StoreResult<Option<Group>> {
    let mut rec = Recorder::rest(change);
    let edited = edit_group(c, at, edit, change.at_us, &mut rec)?.map_err(StoreError::from)?;
    rec.finish(c, at.project)?;
    Ok(edited)
}

/// A REST edit that leaves a group.
fn rest_edit_group(
    c: &Connection,
    at: At<'_>,
    edit: &Edit<'_>,
    change: &Change,
) -> StoreResult<Group> {
    rest_edit(c, at, edit, change)?.ok_or(StoreError::NotFound)
}

/// The page query: fixed fragments only, every value a bound parameter.
fn list_page(c: &Connection, project: ProjectId, q: &GroupListQuery) -> StoreResult<Vec<Group>> {
    // No stored text holds a NUL (capture and REST refuse it), and SQLite's C-string functions
    // (FTS5 queries, instr) would read only what precedes one: such a filter matches nothing.
    if [&q.search, &q.key_contains]
        .iter()
        .any(|f| f.as_deref().is_some_and(|s| s.contains('\0')))
    {
        return Ok(Vec::new());
    }
    // The contract takes the text as the user gave it; matching is case-insensitive.
    let search = q.search.as_deref().map(str::to_lowercase);
    let key_contains = q.key_contains.as_deref().map(str::to_lowercase);
    // A selective search (few trigram candidates) reads only its candidates; a common one walks
    // the list order, where matches come quickly.
    let fts = search.as_deref().and_then(fts::fts_query);
    let use_fts = match &fts {
        Some(f) => fts::is_selective(c, f)?,
        None => false,
    };
    let mut sql = if use_fts {
        // CROSS JOIN makes SQLite loop over the few candidates rather than walk the whole list
        // index testing membership. The groups queued for indexing are candidates too.
        format!(
            "SELECT {GROUP_COLS} FROM (
               SELECT rowid AS rid FROM groups_fts WHERE groups_fts MATCH ?8
               UNION SELECT group_id FROM groups_fts_pending
               UNION SELECT id FROM groups
                 WHERE project_id = ?1 AND group_type_index = ?2 AND groupd_lower(group_key) = ?3) f
             CROSS JOIN groups ON groups.id = f.rid
             WHERE project_id = ?1 AND group_type_index = ?2"
        )
    } else {
        format!("SELECT {GROUP_COLS} FROM groups WHERE project_id = ?1 AND group_type_index = ?2")
    };
    if search.is_some() {
        sql.push_str(
            " AND (instr(groupd_lower(properties), ?3) > 0 OR groupd_lower(group_key) = ?3)",
        );
    }
    if key_contains.is_some() {
        sql.push_str(" AND instr(groupd_lower(group_key), ?4) > 0");
    }
    if q.after.is_some() {
        sql.push_str(" AND (created_at, group_key) < (?5, ?6)");
    }
    if q.as_of.is_some() {
        // Bound after the candidate query's ?8 when there is one.
        sql.push_str(if use_fts {
            " AND created_at <= ?9"
        } else {
            " AND created_at <= ?8"
        });
    }
    sql.push_str(" ORDER BY created_at DESC, group_key DESC LIMIT ?7");
    let after_c = q.after.as_ref().map(|a| a.created_at_us);
    let after_k = q.after.as_ref().map(|a| a.key.as_str());
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![
        &project.0,
        &q.index.0,
        &search,
        &key_contains,
        &after_c,
        &after_k,
        &limit,
    ];
    if use_fts {
        args.push(&fts); // ?8, only in the candidate query
    }
    if q.as_of.is_some() {
        args.push(&q.as_of);
    }
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map(args.as_slice(), group_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match q.as_of {
        Some(at) => super::lifecycle::list_as_of(c, rows, at),
        None => Ok(rows),
    }
}

#[async_trait]
impl GroupStore for SqliteStore {
    async fn list_groups(&self, project: ProjectId, q: GroupListQuery) -> StoreResult<Vec<Group>> {
        // Without text filters a page is an index walk of `limit` rows: cheap enough to run
        // inline; a search may scan, so it goes to the blocking pool.
        let bounded = q.search.is_none() && q.key_contains.is_none() && q.as_of.is_none();
        self.readers
            .read_maybe_inline(bounded, move |c| list_page(c, project, &q))
            .await
    }

    async fn find_group(&self, group: &GroupRef) -> StoreResult<Option<Group>> {
        let group = group.clone();
        self.readers
            .read_inline(move |c| {
                rows::find_group(c, group.project, group.index, group.key.as_str())
            })
            .await
    }

    async fn create_group(&self, new: NewGroup, change: Change) -> StoreResult<Group> {
        self.writer
            .write(move |c| {
                let g = &new.group;
                if rows::group_type(c, g.project, g.index)?.is_none() {
                    return Err(StoreError::GroupTypeMissing(g.index));
                }
                let edit = Edit::Create {
                    properties: &new.properties,
                };
                rest_edit_group(c, At::of(g), &edit, &change)
            })
            .await
            .inspect(|_| self.changed())
    }

    async fn update_group_property(
        &self,
        edit: PropertyEdit,
        change: Change,
    ) -> StoreResult<Group> {
        self.writer
            .write(move |c| {
                let op = Edit::Property {
                    property: &edit.property,
                    op: &edit.op,
                };
                rest_edit_group(c, At::of(&edit.group), &op, &change)
            })
            .await
            .inspect(|_| self.changed())
    }

    async fn group_activity(
        &self,
        project: ProjectId,
        page: ActivityPage,
    ) -> StoreResult<(Vec<ActivityEntry>, u64)> {
        self.readers
            .read(move |c| {
                super::lifecycle::activity_page(
                    c,
                    project.0,
                    page.group_id,
                    page.offset,
                    page.limit,
                )
            })
            .await
    }

    async fn property_definitions(&self, project: ProjectId) -> StoreResult<Vec<PropertyCount>> {
        self.readers
            .read(move |c| counts::definitions(c, project))
            .await
    }

    async fn property_values(
        &self,
        project: ProjectId,
        q: ValuesQuery,
    ) -> StoreResult<Vec<ValueCount>> {
        let filter = q.value_contains.as_deref().map(str::to_lowercase);
        // Unfiltered, the top values come straight off an index: inline. A filter scans every
        // value of the property: the blocking pool.
        self.readers
            .read_maybe_inline(filter.is_none(), move |c| {
                counts::top_values(c, project, q.index, &q.property, filter.as_deref())
            })
            .await
    }
}
