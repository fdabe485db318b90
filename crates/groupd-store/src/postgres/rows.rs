//! Rows and records: the column lists, the row mappers, and the reads and writes every concern
//! shares (a project's types, a group's stored state, activity rows).
use deadpool_postgres::GenericClient;
use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, ProjectId, ProjectToken,
    groups::{Action, Activity, ActivityRecord, GroupState},
};
use serde_json::{Map, Value};
use tokio_postgres::{Row, types::ToSql};

use super::values::{Ts, jsonb_safe, nul_safe};
use crate::{
    ApiKey, Group, GroupType, Project, StoreResult, error::internal, stored_scopes, to_json_text,
};

/// The row `sql` selects, if any, as `f` maps it.
pub(super) async fn select_one<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    f: impl Fn(&Row) -> T,
) -> StoreResult<Option<T>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&st, params).await?.as_ref().map(f))
}

/// Every row `sql` selects, as `f` maps it.
pub(super) async fn select_all<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    f: impl Fn(&Row) -> T,
) -> StoreResult<Vec<T>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query(&st, params).await?.iter().map(f).collect())
}

/// The columns [`api_key_from_row`] reads, in its order.
pub(super) const API_KEY_COLS: &str =
    "id, label, scopes, projects, created_at, mask_value, last_used_at";
/// How many columns [`API_KEY_COLS`] names (a query may select more after them).
pub(super) const API_KEY_COL_COUNT: usize = 7;

pub(super) fn api_key_from_row(r: &Row) -> ApiKey {
    let projects: Option<Vec<i64>> = r.get(3);
    ApiKey {
        id: r.get(0),
        label: r.get(1),
        scopes: stored_scopes(r.get(2)),
        projects: projects.map(|ps| ps.into_iter().map(ProjectId).collect()),
        created_at: r.get::<_, Ts>(4).0,
        mask_value: r.get(5),
        last_used_at: r.get::<_, Option<Ts>>(6).map(|t| t.0),
    }
}

pub(super) const PROJECT_COLS: &str = "id, name, api_token, created_at";

pub(super) fn project_from_row(r: &Row) -> Project {
    Project {
        id: ProjectId(r.get(0)),
        name: r.get(1),
        api_token: ProjectToken::from_stored(r.get(2)),
        created_at: r.get::<_, Ts>(3).0,
    }
}

pub(super) const GROUP_TYPE_COLS: &str =
    "group_type_index, group_type, name_singular, name_plural, default_columns, created_at";

pub(super) fn group_type_from_row(r: &Row) -> GroupType {
    let cols: Option<String> = r.get(4);
    GroupType {
        index: GroupTypeIndex(i64::from(r.get::<_, i32>(0))),
        group_type: r.get(1),
        name_singular: r.get(2),
        name_plural: r.get(3),
        default_columns: cols.and_then(|c| serde_json::from_str(&c).ok()),
        created_at: r.get::<_, Ts>(5).0,
    }
}

/// A project's types, ordered by index.
pub(super) async fn group_types(
    c: &impl GenericClient,
    project: ProjectId,
) -> StoreResult<Vec<GroupType>> {
    let sql = format!(
        "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = $1 ORDER BY group_type_index"
    );
    select_all(c, &sql, &[&project.0], group_type_from_row).await
}

/// One type of a project.
pub(super) async fn group_type(
    c: &impl GenericClient,
    project: ProjectId,
    index: i32,
) -> StoreResult<Option<GroupType>> {
    let sql = format!(
        "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = $1 AND group_type_index = $2"
    );
    select_one(c, &sql, &[&project.0, &index], group_type_from_row).await
}

/// A project's type names and indexes (what type assignment starts from).
pub(super) async fn type_names(
    c: &impl GenericClient,
    project: ProjectId,
) -> StoreResult<Vec<(String, GroupTypeIndex)>> {
    let sql = "SELECT group_type, group_type_index FROM group_types WHERE project_id = $1";
    select_all(c, sql, &[&project.0], |r| {
        (r.get(0), GroupTypeIndex(i64::from(r.get::<_, i32>(1))))
    })
    .await
}

/// Writes the types type assignment added (the caller holds the project's type lock).
pub(super) async fn insert_types(
    c: &impl GenericClient,
    project: ProjectId,
    added: Vec<(String, GroupTypeIndex)>,
    now: i64,
) -> StoreResult<()> {
    if added.is_empty() {
        return Ok(());
    }
    let st = c
        .prepare_cached(
            "INSERT INTO group_types (project_id, group_type_index, group_type, created_at) VALUES ($1, $2, $3, $4)",
        )
        .await?;
    for (name, index) in added {
        let index = i32::try_from(index.0).map_err(internal("type index beyond INT"))?;
        c.execute(&st, &[&project.0, &index, &nul_safe(&name), &Ts(now)])
            .await?;
    }
    Ok(())
}

pub(super) const GROUP_COLS: &str =
    "id, group_type_index, group_key, properties_text, created_at, updated_at";

pub(super) fn group_from_row(r: &Row) -> Group {
    Group {
        id: r.get(0),
        index: GroupTypeIndex(i64::from(r.get::<_, i32>(1))),
        key: GroupKey::from_stored(r.get(2)),
        properties_json: r.get(3),
        created_at: r.get::<_, Ts>(4).0,
        updated_at: r.get::<_, Ts>(5).0,
    }
}

/// The columns [`state_from_row`] reads, after the group's id.
pub(super) const STATE_COLS: &str = "properties_text, props_meta, created_at, updated_at";

/// A group's state from [`STATE_COLS`] starting at column `at`.
pub(super) fn state_from_row(r: &Row, at: usize) -> StoreResult<GroupState> {
    let properties: Map<String, Value> = serde_json::from_str(r.get(at))
        .map_err(internal("stored properties are not a JSON object"))?;
    let meta = crate::common::meta_from_stored(r.get(at + 1), &properties)?;
    Ok(GroupState {
        properties,
        meta,
        created_at_us: r.get::<_, Ts>(at + 2).0,
        updated_at_us: r.get::<_, Ts>(at + 3).0,
    })
}

/// A group's stored JSON: the ordered text (REST), its JSONB copy (queries), the search text and
/// the merge metadata.
pub(super) struct StoredProps {
    pub(super) text: String,
    pub(super) jsonb: String,
    pub(super) search: String,
    pub(super) meta: String,
}

impl StoredProps {
    pub(super) fn new(state: &GroupState) -> StoreResult<Self> {
        let text = to_json_text(&state.properties)?;
        let jsonb = jsonb_safe(&text).into_owned();
        let search = nul_safe(&text).to_lowercase();
        Ok(Self {
            text: nul_safe(&text).into_owned(),
            jsonb,
            search,
            meta: nul_safe(&crate::common::meta_to_stored(
                &state.meta,
                &state.properties,
            )?)
            .into_owned(),
        })
    }
}

/// Activity rows to insert, in order.
#[derive(Default)]
pub(super) struct ActivityRows {
    group_ids: Vec<i64>,
    uuids: Vec<uuid::Uuid>,
    activities: Vec<i16>,
    actions: Vec<i16>,
    names: Vec<String>,
    befores: Vec<Option<String>>,
    afters: Vec<Option<String>>,
    actors: Vec<Option<String>>,
    times: Vec<Ts>,
}

impl ActivityRows {
    /// A new entry of group `group_id`, by `actor` at `now`.
    pub(super) fn push(
        &mut self,
        group_id: i64,
        rec: &ActivityRecord<'_>,
        actor: &Actor,
        now: i64,
    ) {
        let value = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
        let columns = crate::common::ActivityColumns {
            id: uuid::Uuid::now_v7().to_string(),
            actor: match actor {
                Actor::Key(l) => Some(l.clone()),
                Actor::System => None,
            },
            activity: Activity::ALL
                .iter()
                .position(|a| *a == rec.activity)
                .unwrap_or(0),
            action: Action::ALL
                .iter()
                .position(|a| *a == rec.action)
                .unwrap_or(0),
            property: rec.property.to_owned(),
            before: value(rec.before),
            after: value(rec.after),
            created_at: now,
        };
        self.push_columns(group_id, columns);
    }

    /// An entry of group `group_id` as read back (a deletion copies its group's entries here).
    pub(super) fn push_columns(&mut self, group_id: i64, e: crate::common::ActivityColumns) {
        // group_activity keeps JSON null as NULL.
        let json = |v: &Value| (!v.is_null()).then(|| v.to_string());
        let code = |c: usize| i16::try_from(c).unwrap_or(0);
        self.group_ids.push(group_id);
        self.uuids
            .push(uuid::Uuid::parse_str(&e.id).unwrap_or_default());
        self.activities.push(code(e.activity));
        self.actions.push(code(e.action));
        self.names.push(nul_safe(&e.property).into_owned());
        self.befores.push(json(&e.before));
        self.afters.push(json(&e.after));
        self.actors.push(e.actor.map(|a| nul_safe(&a).into_owned()));
        self.times.push(Ts(e.created_at));
    }

    /// Inserts the rows in push order (ids ascend in that order).
    pub(super) async fn insert(
        self,
        c: &impl GenericClient,
        project: ProjectId,
    ) -> StoreResult<()> {
        if self.group_ids.is_empty() {
            return Ok(());
        }
        let st = c
            .prepare_cached(
                "INSERT INTO group_activity
                   (project_id, group_id, uuid, activity, action, name, before, after, actor, created_at)
                 SELECT $1, g, u, a, x, m, b, f, k, t
                 FROM unnest($2::int8[], $3::uuid[], $4::int2[], $5::int2[], $6::text[], $7::text[],
                             $8::text[], $9::text[], $10::timestamptz[])
                      WITH ORDINALITY AS r(g, u, a, x, m, b, f, k, t, n)
                 ORDER BY n",
            )
            .await?;
        c.execute(
            &st,
            &[
                &project.0,
                &self.group_ids,
                &self.uuids,
                &self.activities,
                &self.actions,
                &self.names,
                &self.befores,
                &self.afters,
                &self.actors,
                &self.times,
            ],
        )
        .await?;
        Ok(())
    }
}
