//! Embedded SQLite backend: one file in WAL mode, one writer thread with group commit
//! ([`writer`]), a small pool of read connections ([`pool`]), versioned migrations.
mod error;
mod index;
mod ingest;
mod pool;
mod query;
mod writer;

use std::{path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, PROJECT_TOKEN_PREFIX, ProjectId, ScopeSet, SecretDigest,
    capture::CaptureEvent,
    generate_secret,
    merge::{self, PropMetaMap, PropOp},
};
use rusqlite::{Connection, OptionalExtension, Row, functions::FunctionFlags, params};
use serde_json::{Map, Value, json};

use crate::{
    ActivityEntry, ApiKey, Group, GroupListQuery, GroupType, GroupTypeMetadataUpdate,
    IngestSummary, IngestionWarning, NewApiKey, NewGroupType, Project, PropertyCount, Store,
    StoreError, StoreResult, ValueCount,
};
use error::is_unique_violation;
use pool::ReadPool;
use writer::Writer;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_events.sql"),
    include_str!("migrations/0003_group_indexes.sql"),
    include_str!("migrations/0004_compact_activity.sql"),
    include_str!("migrations/0005_top_values.sql"),
];
const READERS: usize = 4;
/// Write jobs that may wait for the writer before callers get `Busy` (503 + Retry-After).
/// `GROUPD_WRITE_QUEUE` overrides it (tests use a tiny queue to see the backpressure).
const WRITE_QUEUE: usize = 8192;
/// Most trigram candidates a search reads by id before walking the list order instead.
const FTS_CANDIDATES_MAX: i64 = 2000;

/// The SQLite store.
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReadPool>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database file at `path`.
    pub async fn open(path: &str) -> StoreResult<Self> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(Path::new(&path)))
            .await
            .map_err(|e| StoreError::Internal(anyhow::anyhow!("open task failed: {e}")))?
    }

    fn open_blocking(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let write = connect(path)?;
        migrate(&write)?;
        let readers = (0..READERS)
            .map(|_| connect(path))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            writer: Writer::start(write, crate::write_queue_len(WRITE_QUEUE)),
            readers: ReadPool::new(readers),
        })
    }
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(|e| {
        StoreError::Config(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    })?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!(
            "SQLite refused WAL mode (got {mode})"
        )));
    }
    // FULL: an answered write survives power loss too; measured free with group commit.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Unicode-aware lower(): SQLite's own only folds ASCII.
    conn.create_scalar_function(
        "groupd_lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| s.to_lowercase())),
    )?;
    Ok(conn)
}

/// Applies pending migrations in one IMMEDIATE transaction, so concurrent processes (a CLI next to
/// a server) never run one twice.
fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> StoreResult<()> {
        let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let done = usize::try_from(done).unwrap_or(0);
        if done > MIGRATIONS.len() {
            return Err(StoreError::Config(format!(
                "the database schema (version {done}) is newer than this groupd (version {}); upgrade groupd",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("{e}"))
}

fn project_from_row(r: &Row) -> rusqlite::Result<Project> {
    Ok(Project {
        id: r.get(0)?,
        name: r.get(1)?,
        api_token: r.get(2)?,
        created_at: r.get(3)?,
    })
}

const PROJECT_COLS: &str = "id, name, api_token, created_at";

fn group_type_from_row(r: &Row) -> rusqlite::Result<GroupType> {
    let cols: Option<String> = r.get(4)?;
    Ok(GroupType {
        index: r.get(0)?,
        group_type: r.get(1)?,
        name_singular: r.get(2)?,
        name_plural: r.get(3)?,
        default_columns: cols.and_then(|c| serde_json::from_str(&c).ok()),
        created_at: r.get(5)?,
    })
}

const GROUP_TYPE_COLS: &str =
    "group_type_index, group_type, name_singular, name_plural, default_columns, created_at";

fn group_from_row(r: &Row) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get(0)?,
        index: r.get(1)?,
        key: r.get(2)?,
        properties_json: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

const GROUP_COLS: &str = "id, group_type_index, group_key, properties, created_at, updated_at";

fn group_types(conn: &Connection, project: i64) -> StoreResult<Vec<GroupType>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = ?1 ORDER BY group_type_index"
    ))?;
    let rows = st.query_map([project], group_type_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn group_type(conn: &Connection, project: i64, index: i64) -> StoreResult<Option<GroupType>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = ?1 AND group_type_index = ?2"
        ))?
        .query_row(params![project, index], group_type_from_row)
        .optional()?)
}

fn find_group(
    conn: &Connection,
    project: i64,
    index: i64,
    key: &str,
) -> StoreResult<Option<Group>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {GROUP_COLS} FROM groups WHERE project_id = ?1 AND group_type_index = ?2 AND group_key = ?3"
        ))?
        .query_row(params![project, index, key], group_from_row)
        .optional()?)
}

/// A property's 20 most common values (`?4`: a lower-cased substring filter or NULL).
const TOP_VALUES: &str = "SELECT value, groups FROM group_prop_values
     WHERE project_id = ?1 AND group_type_index = ?2 AND key = ?3 AND groups > 0
       AND (?4 IS NULL OR instr(groupd_lower(value), ?4) > 0)
     ORDER BY groups DESC, value LIMIT 20";

/// Activity names and change actions, stored as their index here (migration 0004).
const ACTIVITIES: [&str; 3] = ["create_group", "create_property", "update_property"];
const ACTIONS: [&str; 3] = ["created", "changed", "deleted"];

fn code(names: &[&str], name: &str) -> i64 {
    names
        .iter()
        .position(|n| *n == name)
        .unwrap_or(names.len() - 1) as i64
}

/// The `detail` object of an activity entry (spec groups.md, Activity), rebuilt from its columns.
fn activity_detail(name: &str, action: &str, before: Value, after: Value) -> Value {
    json!({
        "changes": [{"type": "Group", "action": action, "field": null, "before": before, "after": after}],
        "trigger": null, "name": name, "short_id": null, "type": null,
    })
}

/// Records one property change of group `group_id`; `kind` is (activity, action).
fn insert_activity(
    conn: &Connection,
    project: i64,
    group_id: i64,
    kind: (&str, &str),
    change: &merge::PropChange,
    actor: &Actor,
    now: i64,
) -> StoreResult<()> {
    let label = match actor {
        Actor::Key(l) => Some(l.as_str()),
        Actor::System => None,
    };
    let json = |v: &Option<Value>| v.as_ref().filter(|v| !v.is_null()).map(Value::to_string);
    conn.prepare_cached(
        "INSERT INTO group_activity
           (project_id, group_id, uuid, activity, action, name, before, after, actor, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        project,
        group_id,
        uuid::Uuid::now_v7().as_bytes().as_slice(),
        code(&ACTIVITIES, kind.0),
        code(&ACTIONS, kind.1),
        change.key,
        json(&change.before),
        json(&change.after),
        label,
        now
    ])?;
    Ok(())
}

fn to_json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(internal)
}

#[async_trait]
impl Store for SqliteStore {
    async fn health(&self) -> StoreResult<()> {
        self.readers
            .read_inline(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(|_| ())
    }

    async fn create_project(
        &self,
        name: &str,
        api_token: Option<&str>,
        now_us: i64,
    ) -> StoreResult<Project> {
        let name = name.to_owned();
        let token = api_token.map_or_else(|| generate_secret(PROJECT_TOKEN_PREFIX), str::to_owned);
        self.writer
            .write(move |c| {
                let inserted = c
                    .prepare_cached(
                        "INSERT INTO projects (name, api_token, created_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![name, token, now_us]);
                match inserted {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::Conflict("api_token"));
                    }
                    other => other?,
                };
                Ok(Project {
                    id: c.last_insert_rowid(),
                    name,
                    api_token: token,
                    created_at: now_us,
                })
            })
            .await
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        self.readers
            .read(|c| {
                let mut st =
                    c.prepare_cached(&format!("SELECT {PROJECT_COLS} FROM projects ORDER BY id"))?;
                let rows = st.query_map([], project_from_row)?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        self.readers
            .read_inline(move |c| {
                Ok(c.prepare_cached(&format!(
                    "SELECT {PROJECT_COLS} FROM projects WHERE id = ?1"
                ))?
                .query_row([id.0], project_from_row)
                .optional()?)
            })
            .await
    }

    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Option<Project>> {
        let name = name.to_owned();
        self.writer
            .write(move |c| {
                c.prepare_cached("UPDATE projects SET name = ?2 WHERE id = ?1")?
                    .execute(params![id.0, name])?;
                Ok(c.prepare_cached(&format!(
                    "SELECT {PROJECT_COLS} FROM projects WHERE id = ?1"
                ))?
                .query_row([id.0], project_from_row)
                .optional()?)
            })
            .await
    }

    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>> {
        let token = token.to_owned();
        self.readers
            .read_inline(move |c| {
                Ok(c.prepare_cached(&format!(
                    "SELECT {PROJECT_COLS} FROM projects WHERE api_token = ?1"
                ))?
                .query_row([token], project_from_row)
                .optional()?)
            })
            .await
    }

    async fn create_api_key(&self, key: NewApiKey, now_us: i64) -> StoreResult<ApiKey> {
        self.writer
            .write(move |c| {
                if let Some(ps) = &key.projects {
                    for p in ps {
                        let exists: Option<i64> = c
                            .prepare_cached("SELECT id FROM projects WHERE id = ?1")?
                            .query_row([p], |r| r.get(0))
                            .optional()?;
                        if exists.is_none() {
                            return Err(StoreError::NotFound);
                        }
                    }
                }
                let projects = key.projects.as_ref().map(to_json_text).transpose()?;
                c.prepare_cached(
                    "INSERT INTO api_keys (label, secure_digest, scopes, projects, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    key.label,
                    key.digest.0.as_slice(),
                    key.scopes.names().join(","),
                    projects,
                    now_us
                ])?;
                Ok(ApiKey {
                    id: c.last_insert_rowid(),
                    label: key.label,
                    scopes: key.scopes,
                    projects: key.projects,
                    created_at: now_us,
                })
            })
            .await
    }

    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>> {
        let digest = digest.clone();
        self.readers
            .read_inline(move |c| {
                let row = c
                    .prepare_cached(
                        "SELECT id, label, secure_digest, scopes, projects, created_at
                         FROM api_keys WHERE secure_digest = ?1",
                    )?
                    .query_row([digest.0.as_slice()], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .optional()?;
                let Some((id, label, stored, scopes, projects, created_at)) = row else {
                    return Ok(None);
                };
                if !digest.matches(&stored) {
                    return Ok(None);
                }
                Ok(Some(ApiKey {
                    id,
                    label,
                    // Stored scopes were validated at creation; an unknown one grants nothing.
                    scopes: ScopeSet::from_scopes(
                        scopes
                            .split(',')
                            .filter_map(|s| groupd_core::Scope::parse(s).ok()),
                    ),
                    projects: projects.and_then(|p| serde_json::from_str(&p).ok()),
                    created_at,
                }))
            })
            .await
    }

    async fn list_group_types(&self, project: ProjectId) -> StoreResult<Vec<GroupType>> {
        self.readers
            .read_inline(move |c| group_types(c, project.0))
            .await
    }

    async fn create_group_type(
        &self,
        project: ProjectId,
        new: NewGroupType,
        max_group_types: u32,
        now_us: i64,
    ) -> StoreResult<GroupType> {
        self.writer
            .write(move |c| {
                let existing = group_types(c, project.0)?;
                if existing.iter().any(|t| t.group_type == new.group_type) {
                    return Err(StoreError::GroupTypeExists);
                }
                let index = (0..i64::from(max_group_types))
                    .find(|i| existing.iter().all(|t| t.index != *i))
                    .ok_or(StoreError::GroupTypeLimit(max_group_types))?;
                c.prepare_cached(
                    "INSERT INTO group_types (project_id, group_type_index, group_type, name_singular, name_plural, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![project.0, index, new.group_type, new.name_singular, new.name_plural, now_us])?;
                Ok(GroupType {
                    index,
                    group_type: new.group_type,
                    name_singular: new.name_singular,
                    name_plural: new.name_plural,
                    default_columns: None,
                    created_at: now_us,
                })
            })
            .await
    }

    async fn update_group_type_metadata(
        &self,
        project: ProjectId,
        updates: Vec<GroupTypeMetadataUpdate>,
    ) -> StoreResult<Vec<GroupType>> {
        self.writer
            .write(move |c| {
                for u in &updates {
                    if group_type(c, project.0, u.index.0)?.is_none() {
                        return Err(StoreError::GroupTypeMissing(u.index));
                    }
                    if let Some(s) = &u.name_singular {
                        c.prepare_cached("UPDATE group_types SET name_singular = ?3 WHERE project_id = ?1 AND group_type_index = ?2")?
                            .execute(params![project.0, u.index.0, s])?;
                    }
                    if let Some(p) = &u.name_plural {
                        c.prepare_cached("UPDATE group_types SET name_plural = ?3 WHERE project_id = ?1 AND group_type_index = ?2")?
                            .execute(params![project.0, u.index.0, p])?;
                    }
                }
                group_types(c, project.0)
            })
            .await
    }

    async fn set_default_columns(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        columns: Vec<String>,
    ) -> StoreResult<GroupType> {
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached("UPDATE group_types SET default_columns = ?3 WHERE project_id = ?1 AND group_type_index = ?2")?
                    .execute(params![project.0, index.0, to_json_text(&columns)?])?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                group_type(c, project.0, index.0)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn delete_group_type(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
    ) -> StoreResult<()> {
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "DELETE FROM group_types WHERE project_id = ?1 AND group_type_index = ?2",
                    )?
                    .execute(params![project.0, index.0])?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                index::drop_type(c, project.0, index.0)?;
                c.prepare_cached(
                    "DELETE FROM group_activity WHERE group_id IN
                       (SELECT id FROM groups WHERE project_id = ?1 AND group_type_index = ?2)",
                )?
                .execute(params![project.0, index.0])?;
                c.prepare_cached(
                    "DELETE FROM groups WHERE project_id = ?1 AND group_type_index = ?2",
                )?
                .execute(params![project.0, index.0])?;
                Ok(())
            })
            .await
    }

    async fn list_groups(&self, project: ProjectId, q: GroupListQuery) -> StoreResult<Vec<Group>> {
        // Without text filters a page is an index walk of `limit` rows: cheap enough to run
        // inline; a search may scan, so it goes to the blocking pool.
        let bounded = q.search.is_none() && q.key_contains.is_none();
        let run = move |c: &Connection| {
            // A selective search (few trigram candidates) reads only its candidates; a
            // common one walks the list order, where matches come quickly.
            let fts = q.search.as_deref().and_then(index::fts_query);
            let use_fts = match &fts {
                Some(f) => {
                    let n: i64 = c
                            .prepare_cached(
                                "SELECT count(*) FROM (SELECT rowid FROM groups_fts WHERE groups_fts MATCH ?1 LIMIT ?2)",
                            )?
                            .query_row(params![f, FTS_CANDIDATES_MAX + 1], |r| r.get(0))?;
                    n <= FTS_CANDIDATES_MAX
                }
                None => false,
            };
            // Fixed fragments only; every value is a bound parameter.
            let mut sql = if use_fts {
                // CROSS JOIN makes SQLite loop over the few candidates rather than walk the
                // whole list index testing membership.
                format!(
                        "SELECT {GROUP_COLS} FROM (
                           SELECT rowid AS rid FROM groups_fts WHERE groups_fts MATCH ?8
                           UNION SELECT id FROM groups
                             WHERE project_id = ?1 AND group_type_index = ?2 AND groupd_lower(group_key) = ?3) f
                         CROSS JOIN groups ON groups.id = f.rid
                         WHERE project_id = ?1 AND group_type_index = ?2"
                    )
            } else {
                format!(
                    "SELECT {GROUP_COLS} FROM groups WHERE project_id = ?1 AND group_type_index = ?2"
                )
            };
            if q.search.is_some() {
                sql.push_str(
                        " AND (instr(groupd_lower(properties), ?3) > 0 OR groupd_lower(group_key) = ?3)",
                    );
            }
            if q.key_contains.is_some() {
                sql.push_str(" AND instr(groupd_lower(group_key), ?4) > 0");
            }
            if q.after.is_some() {
                sql.push_str(" AND (created_at, group_key) < (?5, ?6)");
            }
            sql.push_str(" ORDER BY created_at DESC, group_key DESC LIMIT ?7");
            let (after_c, after_k) = q.after.unzip();
            let mut st = c.prepare_cached(&sql)?;
            let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![
                &project.0,
                &q.index,
                &q.search,
                &q.key_contains,
                &after_c,
                &after_k,
                &limit,
            ];
            if use_fts {
                args.push(&fts); // ?8, only in the candidate query
            }
            let rows = st
                .query_map(args.as_slice(), group_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        };
        if bounded {
            self.readers.read_inline(run).await
        } else {
            self.readers.read(run).await
        }
    }

    async fn find_group(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        key: &GroupKey,
    ) -> StoreResult<Option<Group>> {
        let key = key.clone();
        self.readers
            .read_inline(move |c| find_group(c, project.0, index.0, key.as_str()))
            .await
    }

    async fn create_group(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        key: GroupKey,
        properties: Map<String, Value>,
        actor: Actor,
        now_us: i64,
    ) -> StoreResult<Group> {
        self.writer
            .write(move |c| {
                if group_type(c, project.0, index.0)?.is_none() {
                    return Err(StoreError::GroupTypeMissing(index));
                }
                let mut props = Map::new();
                let mut meta = PropMetaMap::new();
                let changes: Vec<_> = properties
                    .into_iter()
                    .filter_map(|(k, v)| merge::apply(&mut props, &mut meta, &k, PropOp::Set(v), now_us))
                    .collect();
                let props_json = to_json_text(&props)?;
                let inserted = c
                    .prepare_cached(
                        "INSERT INTO groups (project_id, group_type_index, group_key, properties, props_meta, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    )?
                    .execute(params![
                        project.0,
                        index.0,
                        key.as_str(),
                        props_json,
                        to_json_text(&meta)?,
                        now_us
                    ]);
                match inserted {
                    Err(e) if is_unique_violation(&e) => return Err(StoreError::GroupExists),
                    other => other?,
                };
                let id = c.last_insert_rowid();
                index::reindex(c, project.0, index.0, id, None, &props, &props_json)?;
                for ch in changes {
                    insert_activity(c, project.0, id, ("create_group", "created"), &ch, &actor, now_us)?;
                }
                Ok(Group {
                    id,
                    index: index.0,
                    key: key.into_string(),
                    properties_json: props_json,
                    created_at: now_us,
                    updated_at: now_us,
                })
            })
            .await
    }

    #[allow(clippy::too_many_arguments)] // the group's address, the change, who and when
    async fn update_group_property(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        key: GroupKey,
        property: String,
        op: PropOp,
        actor: Actor,
        now_us: i64,
    ) -> StoreResult<Group> {
        self.writer
            .write(move |c| {
                let row = c
                    .prepare_cached(
                        "SELECT id, properties, props_meta, created_at, updated_at FROM groups
                         WHERE project_id = ?1 AND group_type_index = ?2 AND group_key = ?3",
                    )?
                    .query_row(params![project.0, index.0, key.as_str()], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    })
                    .optional()?;
                let Some((id, props, meta, created_at, mut updated_at)) = row else {
                    return Err(StoreError::NotFound);
                };
                let mut props: Map<String, Value> = serde_json::from_str(&props).map_err(internal)?;
                let mut meta: PropMetaMap = serde_json::from_str(&meta).map_err(internal)?;
                if op == PropOp::Unset && !props.contains_key(&property) {
                    return Err(StoreError::PropertyMissing(property));
                }
                let old = props.clone();
                let change = merge::apply(&mut props, &mut meta, &property, op, now_us);
                if change.is_some() {
                    updated_at = now_us;
                }
                let props_json = to_json_text(&props)?;
                c.prepare_cached(
                    "UPDATE groups SET properties = ?2, props_meta = ?3, updated_at = ?4 WHERE id = ?1",
                )?
                .execute(params![id, props_json, to_json_text(&meta)?, updated_at])?;
                index::reindex(c, project.0, index.0, id, Some(&old), &props, &props_json)?;
                if let Some(ch) = change {
                    let (activity, action) = match (&ch.before, &ch.after) {
                        (None, _) => ("create_property", "created"),
                        (Some(_), Some(_)) => ("update_property", "changed"),
                        (Some(_), None) => ("update_property", "deleted"),
                    };
                    insert_activity(c, project.0, id, (activity, action), &ch, &actor, now_us)?;
                }
                Ok(Group {
                    id,
                    index: index.0,
                    key: key.into_string(),
                    properties_json: props_json,
                    created_at,
                    updated_at,
                })
            })
            .await
    }

    async fn group_activity(
        &self,
        project: ProjectId,
        group_id: i64,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ActivityEntry>, u64)> {
        self.readers
            .read(move |c| {
                let total: i64 = c
                    .prepare_cached(
                        "SELECT count(*) FROM group_activity WHERE project_id = ?1 AND group_id = ?2",
                    )?
                    .query_row(params![project.0, group_id], |r| r.get(0))?;
                let mut st = c.prepare_cached(
                    "SELECT uuid, actor, activity, action, name, before, after, created_at FROM group_activity
                     WHERE project_id = ?1 AND group_id = ?2
                     ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4",
                )?;
                let rows = st.query_map(
                    params![
                        project.0,
                        group_id,
                        i64::try_from(limit).unwrap_or(i64::MAX),
                        i64::try_from(offset).unwrap_or(i64::MAX)
                    ],
                    |r| {
                        let uuid: Vec<u8> = r.get(0)?;
                        let actor: Option<String> = r.get(1)?;
                        let name = |names: &[&str], i: usize| -> String {
                            let code: i64 = r.get(i).unwrap_or(0);
                            names.get(code as usize).copied().unwrap_or(names[0]).to_owned()
                        };
                        let json = |i: usize| -> Value {
                            r.get::<_, Option<String>>(i)
                                .ok()
                                .flatten()
                                .and_then(|t| serde_json::from_str(&t).ok())
                                .unwrap_or(Value::Null)
                        };
                        let prop: String = r.get(4)?;
                        Ok(ActivityEntry {
                            id: uuid::Uuid::from_slice(&uuid).unwrap_or_default().to_string(),
                            actor: actor.map_or(Actor::System, Actor::Key),
                            activity: name(&ACTIVITIES, 2),
                            item_id: group_id,
                            detail: activity_detail(&prop, &name(&ACTIONS, 3), json(5), json(6)),
                            created_at: r.get(7)?,
                        })
                    },
                )?;
                let entries = rows.collect::<rusqlite::Result<_>>()?;
                Ok((entries, u64::try_from(total).unwrap_or(0)))
            })
            .await
    }

    async fn property_definitions(&self, project: ProjectId) -> StoreResult<Vec<PropertyCount>> {
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT group_type_index, key, groups FROM group_prop_keys
                     WHERE project_id = ?1 AND groups > 0
                     ORDER BY group_type_index, groups DESC, key",
                )?;
                let rows = st.query_map([project.0], |r| {
                    Ok(PropertyCount {
                        index: r.get(0)?,
                        name: r.get(1)?,
                        count: r.get(2)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn property_values(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        property: &str,
        value_contains: Option<&str>,
    ) -> StoreResult<Vec<ValueCount>> {
        let property = property.to_owned();
        let filter = value_contains.map(str::to_lowercase);
        // Unfiltered, the top values come straight off an index: inline. A filter scans every
        // value of the property: the blocking pool.
        let bounded = filter.is_none();
        let run = move |c: &Connection| {
            let mut st = c.prepare_cached(TOP_VALUES)?;
            let rows = st.query_map(params![project.0, index.0, property, filter], |r| {
                Ok(ValueCount {
                    name: r.get(0)?,
                    count: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        if bounded {
            self.readers.read_inline(run).await
        } else {
            self.readers.read(run).await
        }
    }

    async fn ingest(
        &self,
        project: ProjectId,
        events: Vec<CaptureEvent>,
        max_group_types: u32,
        now_us: i64,
    ) -> StoreResult<IngestSummary> {
        self.writer
            .write(move |c| ingest::ingest(c, project.0, &events, max_group_types, now_us))
            .await
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

    fn dialect(&self) -> groupd_hogql::Dialect {
        groupd_hogql::Dialect::Sqlite
    }

    async fn run_query(
        &self,
        query: groupd_hogql::Translated,
        timeout: Duration,
    ) -> StoreResult<Vec<Vec<groupd_hogql::SqlValue>>> {
        self.readers
            .read_mut(move |c| query::run(c, &query, timeout))
            .await
    }

    fn write_queue_depth(&self) -> usize {
        self.writer.queue_depth()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top values come off the index in order, without sorting every value of the property.
    #[test]
    fn top_values_need_no_sort() {
        let dir = tempfile::tempdir().unwrap();
        let c = connect(&dir.path().join("plan.db")).unwrap();
        migrate(&c).unwrap();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {TOP_VALUES}"))
            .unwrap()
            .query_map(params![1, 0, "name", None::<String>], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter().any(|p| p.contains("group_prop_values_top")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
    }

    /// Activity written in the JSON-document layout before migration 0004 reads the same after.
    #[tokio::test]
    async fn compact_activity_migration_keeps_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let old = [
            (
                "0190c4a1-0000-7000-8000-000000000001",
                "create_group",
                json!({"changes": [{"type": "Group", "action": "created", "field": null, "before": null, "after": {"a": [1, "x"]}}],
                       "trigger": null, "name": "nested", "short_id": null, "type": null}),
                None,
                5,
            ),
            (
                "0190c4a1-0000-7000-8000-000000000002",
                "update_property",
                json!({"changes": [{"type": "Group", "action": "changed", "field": null, "before": "finance", "after": 3.5}],
                       "trigger": null, "name": "industry", "short_id": null, "type": null}),
                Some("ci-key"),
                6,
            ),
            (
                "0190c4a1-0000-7000-8000-000000000003",
                "update_property",
                json!({"changes": [{"type": "Group", "action": "deleted", "field": null, "before": true, "after": null}],
                       "trigger": null, "name": "flag", "short_id": null, "type": null}),
                Some("ci-key"),
                7,
            ),
        ];
        {
            let c = connect(&path).unwrap();
            for sql in &MIGRATIONS[..3] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 3).unwrap();
            for (uuid, activity, detail, actor, at) in &old {
                c.execute(
                    "INSERT INTO group_activity (project_id, group_id, uuid, activity, detail, actor, created_at)
                     VALUES (1, 7, ?1, ?2, ?3, ?4, ?5)",
                    params![uuid, activity, detail.to_string(), actor, at],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        let (entries, total) = store.group_activity(ProjectId(1), 7, 0, 10).await.unwrap();
        assert_eq!(total, 3);
        let got: Vec<_> = entries
            .iter()
            .map(|e| {
                let actor = match &e.actor {
                    Actor::Key(l) => Some(l.as_str()),
                    Actor::System => None,
                };
                (
                    e.id.as_str(),
                    e.activity.as_str(),
                    e.detail.clone(),
                    actor,
                    e.created_at,
                )
            })
            .collect();
        let want: Vec<_> = old
            .iter()
            .rev()
            .map(|(u, a, d, k, t)| (*u, *a, d.clone(), *k, *t))
            .collect();
        assert_eq!(got, want);
    }
}
