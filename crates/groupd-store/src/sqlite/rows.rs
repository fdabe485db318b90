//! Rows and records: the column lists, the row mappers, and the few reads and writes every
//! concern shares (a project's types, one group's stored state, an activity entry).
use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, ProjectId, ProjectToken,
    groups::{Action, Activity, ActivityRecord, GroupState},
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use crate::{ApiKey, Group, GroupType, Project, StoreResult, error::internal, stored_scopes};

pub(super) const PROJECT_COLS: &str = "id, name, api_token, created_at";

/// The columns [`api_key_from_row`] reads, in its order.
pub(super) const API_KEY_COLS: &str =
    "id, label, scopes, projects, created_at, mask_value, last_used_at";
/// How many columns [`API_KEY_COLS`] names (a query may select more after them).
pub(super) const API_KEY_COL_COUNT: usize = 7;

pub(super) fn api_key_from_row(r: &Row) -> rusqlite::Result<ApiKey> {
    let projects: Option<String> = r.get(3)?;
    let projects: Option<Vec<i64>> = projects.and_then(|p| serde_json::from_str(&p).ok());
    Ok(ApiKey {
        id: r.get(0)?,
        label: r.get(1)?,
        scopes: stored_scopes(&r.get::<_, String>(2)?),
        projects: projects.map(|ps| ps.into_iter().map(ProjectId).collect()),
        created_at: r.get(4)?,
        mask_value: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

pub(super) fn project_from_row(r: &Row) -> rusqlite::Result<Project> {
    Ok(Project {
        id: ProjectId(r.get(0)?),
        name: r.get(1)?,
        api_token: ProjectToken::from_stored(r.get(2)?),
        created_at: r.get(3)?,
    })
}

/// The project a condition on one column (`id = ?1`, `api_token = ?1`) selects.
pub(super) fn project_where(
    c: &Connection,
    condition: &str,
    value: &dyn rusqlite::ToSql,
) -> StoreResult<Option<Project>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {PROJECT_COLS} FROM projects WHERE {condition}"
    ))?
    .query_row([value], project_from_row)
    .optional()?)
}

const GROUP_TYPE_COLS: &str =
    "group_type_index, group_type, name_singular, name_plural, default_columns, created_at";

fn group_type_from_row(r: &Row) -> rusqlite::Result<GroupType> {
    let cols: Option<String> = r.get(4)?;
    Ok(GroupType {
        index: GroupTypeIndex(r.get(0)?),
        group_type: r.get(1)?,
        name_singular: r.get(2)?,
        name_plural: r.get(3)?,
        default_columns: cols.and_then(|c| serde_json::from_str(&c).ok()),
        created_at: r.get(5)?,
    })
}

/// A project's types, ordered by index.
pub(super) fn group_types(c: &Connection, project: ProjectId) -> StoreResult<Vec<GroupType>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = ?1 ORDER BY group_type_index"
    ))?;
    let rows = st.query_map([project.0], group_type_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One type of a project.
pub(super) fn group_type(
    c: &Connection,
    project: ProjectId,
    index: GroupTypeIndex,
) -> StoreResult<Option<GroupType>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = ?1 AND group_type_index = ?2"
    ))?
    .query_row(params![project.0, index.0], group_type_from_row)
    .optional()?)
}

/// A project's type names and indexes (what type assignment starts from).
pub(super) fn type_names(
    c: &Connection,
    project: ProjectId,
) -> StoreResult<Vec<(String, GroupTypeIndex)>> {
    let mut st = c.prepare_cached(
        "SELECT group_type, group_type_index FROM group_types WHERE project_id = ?1",
    )?;
    let rows = st.query_map([project.0], |r| Ok((r.get(0)?, GroupTypeIndex(r.get(1)?))))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes the types type assignment added.
pub(super) fn insert_types(
    c: &Connection,
    project: ProjectId,
    added: Vec<(String, GroupTypeIndex)>,
    now: i64,
) -> StoreResult<()> {
    for (name, index) in added {
        c.prepare_cached(
            "INSERT INTO group_types (project_id, group_type_index, group_type, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![project.0, index.0, name, now])?;
    }
    Ok(())
}

pub(super) const GROUP_COLS: &str =
    "id, group_type_index, group_key, properties, created_at, updated_at";

pub(super) fn group_from_row(r: &Row) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get(0)?,
        index: GroupTypeIndex(r.get(1)?),
        key: GroupKey::from_stored(r.get(2)?),
        properties_json: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

/// One group by exact key.
pub(super) fn find_group(
    c: &Connection,
    project: ProjectId,
    index: GroupTypeIndex,
    key: &str,
) -> StoreResult<Option<Group>> {
    Ok(c
        .prepare_cached(&format!(
            "SELECT {GROUP_COLS} FROM groups WHERE project_id = ?1 AND group_type_index = ?2 AND group_key = ?3"
        ))?
        .query_row(params![project.0, index.0, key], group_from_row)
        .optional()?)
}

/// A group as stored: its row id, its properties text, and the state the rule reads.
pub(super) struct StoredGroup {
    pub(super) id: i64,
    pub(super) properties_json: String,
    pub(super) state: GroupState,
}

/// The stored state of one group, for the rule to decide an edit.
pub(super) fn load_group(
    c: &Connection,
    project: ProjectId,
    index: GroupTypeIndex,
    key: &str,
) -> StoreResult<Option<StoredGroup>> {
    let row = c
        .prepare_cached(
            "SELECT id, properties, props_meta, created_at, updated_at FROM groups
             WHERE project_id = ?1 AND group_type_index = ?2 AND group_key = ?3",
        )?
        .query_row(params![project.0, index.0, key], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    let Some((id, properties_json, meta, created_at_us, updated_at_us)) = row else {
        return Ok(None);
    };
    let properties: Map<String, Value> = serde_json::from_str(&properties_json)
        .map_err(internal("stored properties are not a JSON object"))?;
    let meta = crate::common::meta_from_stored(&meta, &properties)?;
    Ok(Some(StoredGroup {
        id,
        properties_json,
        state: GroupState {
            properties,
            meta,
            created_at_us,
            updated_at_us,
        },
    }))
}

/// Records one activity entry of group `group_id`. The activity and action are stored as their
/// index in [`Activity::ALL`] and [`Action::ALL`] (migration 0004), the detail rebuilt on read.
pub(super) fn insert_activity(
    c: &Connection,
    project: ProjectId,
    group_id: i64,
    rec: &ActivityRecord<'_>,
    actor: &Actor,
    now: i64,
) -> StoreResult<()> {
    let label = match actor {
        Actor::Key(l) => Some(l.as_str()),
        Actor::System => None,
    };
    let json = |v: Option<&Value>| v.filter(|v| !v.is_null()).map(Value::to_string);
    let code = |i: Option<usize>| i.unwrap_or(0) as i64;
    c.prepare_cached(
        "INSERT INTO group_activity
           (project_id, group_id, uuid, activity, action, name, before, after, actor, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        project.0,
        group_id,
        uuid::Uuid::now_v7().as_bytes().as_slice(),
        code(Activity::ALL.iter().position(|a| *a == rec.activity)),
        code(Action::ALL.iter().position(|a| *a == rec.action)),
        rec.property,
        json(rec.before),
        json(rec.after),
        label,
        now
    ])?;
    Ok(())
}
