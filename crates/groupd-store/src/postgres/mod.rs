//! PostgreSQL backend: many `groupd serve` processes share one database. Every write is one
//! transaction on a pooled connection; concurrent writers meet in row locks (`SELECT … FOR
//! UPDATE`, `INSERT … ON CONFLICT`) and, for group type assignment, a transaction-scoped advisory
//! lock per project, so the merge rules hold across processes without application-level locks.
//! Deadlocks and serialization failures the server reports are retried whole.
//!
//! The schema (migrations/) keeps `project_id` first in every key so it can be distributed by
//! project; see docs/postgres-schema.md.
mod counts;
mod error;
mod ingest;
mod query;
mod writer;

use std::{
    borrow::Cow,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, PROJECT_TOKEN_PREFIX, ProjectId, ScopeSet, SecretDigest,
    capture::CaptureEvent,
    generate_secret,
    merge::{self, PropMetaMap, PropOp},
};
use serde_json::{Map, Value, json};
use tokio_postgres::{
    NoTls, Row,
    error::SqlState,
    types::{FromSql, IsNull, ToSql, Type, to_sql_checked},
};

use crate::{
    ActivityEntry, ApiKey, Group, GroupListQuery, GroupType, GroupTypeMetadataUpdate,
    IngestSummary, IngestionWarning, NewApiKey, NewGroupType, Project, PropertyCount, Store,
    StoreError, StoreResult, ValueCount, redact_url,
};
use counts::PropCounts;
use error::{is_retryable, is_unique_violation};

/// Schema migrations, applied in order; `schema_migrations` records the versions applied.
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_property_counts.sql")),
    (3, include_str!("migrations/0003_key_equality.sql")),
];
/// Capture requests that change groups waiting for the writer before callers get `Busy`
/// (`GROUPD_WRITE_QUEUE` overrides). Requests of plain events do not queue: they take a pooled
/// connection, and get `Busy` when none frees up in time.
const WRITE_QUEUE: usize = 8192;
/// Connections per process.
const POOL_SIZE: usize = 12;
/// How long a request waits for a pooled connection before it is answered `Busy` (503, retry).
const POOL_WAIT: Duration = Duration::from_secs(10);
/// Advisory lock namespaces (the first key of `pg_advisory_xact_lock(int, int)`).
const LOCK_MIGRATIONS: i32 = 0x6770_0001;
const LOCK_GROUP_TYPES: i32 = 0x6770_0002;
/// Attempts of a transaction the server aborted for a deadlock or serialization failure.
const ATTEMPTS: u32 = 8;
/// Most values `property_values` returns (as the SQLite backend).
const VALUES_SHOWN: usize = 20;
/// The values of one property (`$1` project, `$2` type, `$3` name) with their counts, in
/// `property_values` order: count descending, then value in byte order. The order is that of the
/// index `group_prop_values_by_count`, whose value prefix sorts as the value does.
const VALUES_IN_ORDER: &str = "SELECT value, groups FROM group_prop_values
     WHERE project_id = $1 AND group_type_index = $2
       AND left(key, 100) = left($3, 100) AND key = $3 AND groups > 0
     ORDER BY groups DESC, left(value, 100), value";
/// The non-ASCII characters whose lower case (Rust's, Unicode) holds an ASCII character (İ is
/// "i̇", the Kelvin sign "k"): a value matches a `value` filter of ASCII text through ASCII
/// characters lower-cased or through one of these (test `ascii_from_lower_case_is_complete`).
const ASCII_FROM_LOWER: [char; 2] = ['\u{130}', '\u{212A}'];

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    writer: writer::Writer,
    stats: Arc<StatsKeeper>,
}

/// Keeps planner statistics of fast-growing tables fresh. A new database grows from nothing
/// faster than autovacuum analyses it, and without statistics the planner may pick the list
/// index for a point lookup; so after every doubling of the rows this process wrote, it runs
/// `ANALYZE` in the background (autovacuum takes over for large tables).
#[derive(Default)]
struct StatsKeeper {
    written: AtomicU64,
    next: AtomicU64,
}

/// Rows written before the first ANALYZE; later ones come after each doubling, up to the cap.
const ANALYZE_FIRST: u64 = 500;
const ANALYZE_CAP: u64 = 50_000_000;

impl StatsKeeper {
    fn wrote(self: &Arc<Self>, pool: &Pool, rows: u64) {
        let total = self.written.fetch_add(rows, Ordering::Relaxed) + rows;
        let next = self.next.load(Ordering::Relaxed).max(ANALYZE_FIRST);
        if total < next || next > ANALYZE_CAP {
            return;
        }
        if self
            .next
            .compare_exchange(
                self.next.load(Ordering::Relaxed),
                total * 2,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return;
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            let analysed = match pool.get().await {
                Ok(c) => c
                    .batch_execute("ANALYZE groups, group_activity, group_prop_values")
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = analysed {
                tracing::warn!(error = %e, "ANALYZE failed");
            }
        });
    }
}

/// Runs `$body` (an expression awaiting one transaction) again while it fails with a deadlock or
/// serialization failure.
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt = 0u32;
        loop {
            match $body {
                Err(e) if attempt + 1 < ATTEMPTS && is_retryable(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 7)).await;
                }
                other => break other,
            }
        }
    }};
}

impl PgStore {
    /// Connects to the database a `postgres://` or `postgresql://` URL names (creating the
    /// database when the server lacks it) and migrates it.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Config(format!("invalid PostgreSQL URL {}: {e}", redact_url(url)))
        })?;
        ensure_database(&config, url).await?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| {
            StoreError::Config(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                redact_url(url)
            ))
        })?;
        migrate(&mut client).await?;
        drop(client);
        let writer = writer::Writer::start(pool.clone(), crate::write_queue_len(WRITE_QUEUE));
        Ok(Self {
            pool,
            writer,
            stats: Arc::default(),
        })
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        Ok(self.pool.get().await?)
    }
}

/// Creates the database the config names when the server answers that it does not exist.
async fn ensure_database(config: &tokio_postgres::Config, url: &str) -> StoreResult<()> {
    let unreachable = |e: tokio_postgres::Error| {
        StoreError::Config(format!(
            "cannot connect to PostgreSQL at {}: {}",
            redact_url(url),
            pg_message(&e)
        ))
    };
    match config.connect(NoTls).await {
        Ok((client, conn)) => {
            drop(client);
            let _ = conn.await;
            Ok(())
        }
        Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
            let name = config.get_dbname().unwrap_or_default().to_owned();
            let mut admin = config.clone();
            admin.dbname("postgres");
            let (client, conn) = admin.connect(NoTls).await.map_err(unreachable)?;
            let task = tokio::spawn(conn);
            let create = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
            let mut attempt = 0;
            let created = loop {
                match client.batch_execute(&create).await {
                    // The template is briefly in use while another process creates a database.
                    Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < 50 => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    other => break other,
                }
            };
            drop(client);
            let _ = task.await;
            match created {
                Ok(()) => {
                    tracing::info!(database = %name, "created the PostgreSQL database");
                    Ok(())
                }
                // Another process created it first (a race on the catalog shows as a unique
                // violation).
                Err(e)
                    if e.code() == Some(&SqlState::DUPLICATE_DATABASE)
                        || e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
                {
                    Ok(())
                }
                Err(e) => Err(StoreError::Config(format!(
                    "cannot create database {name} at {}: {}",
                    redact_url(url),
                    pg_message(&e)
                ))),
            }
        }
        Err(e) => Err(unreachable(e)),
    }
}

/// Applies pending migrations in one transaction under an advisory lock, so concurrent
/// `serve`/`migrate` processes never run one twice.
async fn migrate(client: &mut deadpool_postgres::Client) -> StoreResult<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_MIGRATIONS])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let done: Option<i32> = tx
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .await?
        .get(0);
    let done = done.unwrap_or(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if done > latest {
        return Err(StoreError::Config(format!(
            "the database schema (version {done}) is newer than this groupd (version {latest}); upgrade groupd"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > done) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Values

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// A TIMESTAMPTZ as microseconds since the Unix epoch, converted exactly (binary protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ts(pub i64);

impl<'a> FromSql<'a> for Ts {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let b: [u8; 8] = raw.try_into()?;
        Ok(Ts(i64::from_be_bytes(b).saturating_add(PG_EPOCH_US)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
}

impl ToSql for Ts {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0.saturating_sub(PG_EPOCH_US).to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
    to_sql_checked!();
}

/// PostgreSQL text cannot hold NUL: it becomes U+FFFD (the same on write and on lookup).
pub(crate) fn nul_safe(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// JSON text JSONB accepts: a `\u0000` escape (JSONB cannot hold NUL) becomes `\ufffd`.
pub(crate) fn jsonb_safe(json: &str) -> Cow<'_, str> {
    let json = nul_safe(json);
    if !json.contains("\\u0000") {
        return json;
    }
    let mut out = String::with_capacity(json.len());
    let mut rest: &str = &json;
    // Outside strings JSON has no backslash; inside, each backslash starts a two-character
    // escape (or a six-character `\uXXXX`), so scanning escape by escape is exact.
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i..];
        if let Some(after) = esc.strip_prefix("\\u0000") {
            out.push_str("\\ufffd");
            rest = after;
        } else {
            let n = esc[1..].chars().next().map_or(1, |c| 1 + c.len_utf8());
            out.push_str(&esc[..n]);
            rest = &esc[n..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A `LIKE` pattern matching `needle` anywhere (`%`, `_` and `\` literal).
fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in nul_safe(needle).chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A driver error in words: the server's message, or the error with its cause.
fn pg_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("{e}"))
}

fn to_json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(internal)
}

fn idx(i: i64) -> StoreResult<i32> {
    i32::try_from(i).map_err(|_| StoreError::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Rows

const PROJECT_COLS: &str = "id, name, api_token, created_at";

fn project_from_row(r: &Row) -> Project {
    Project {
        id: r.get(0),
        name: r.get(1),
        api_token: r.get(2),
        created_at: r.get::<_, Ts>(3).0,
    }
}

const GROUP_TYPE_COLS: &str =
    "group_type_index, group_type, name_singular, name_plural, default_columns, created_at";

fn group_type_from_row(r: &Row) -> GroupType {
    let cols: Option<String> = r.get(4);
    GroupType {
        index: i64::from(r.get::<_, i32>(0)),
        group_type: r.get(1),
        name_singular: r.get(2),
        name_plural: r.get(3),
        default_columns: cols.and_then(|c| serde_json::from_str(&c).ok()),
        created_at: r.get::<_, Ts>(5).0,
    }
}

const GROUP_COLS: &str = "id, group_type_index, group_key, properties_text, created_at, updated_at";

fn group_from_row(r: &Row) -> Group {
    let props: String = r.get(3);
    Group {
        id: r.get(0),
        index: i64::from(r.get::<_, i32>(1)),
        key: r.get(2),
        properties_json: props,
        created_at: r.get::<_, Ts>(4).0,
        updated_at: r.get::<_, Ts>(5).0,
    }
}

async fn group_types(c: &impl GenericClient, project: i64) -> StoreResult<Vec<GroupType>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = $1 ORDER BY group_type_index"
        ))
        .await?;
    Ok(c.query(&st, &[&project])
        .await?
        .iter()
        .map(group_type_from_row)
        .collect())
}

async fn group_type(
    c: &impl GenericClient,
    project: i64,
    index: i32,
) -> StoreResult<Option<GroupType>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {GROUP_TYPE_COLS} FROM group_types WHERE project_id = $1 AND group_type_index = $2"
        ))
        .await?;
    Ok(c.query_opt(&st, &[&project, &index])
        .await?
        .as_ref()
        .map(group_type_from_row))
}

/// The `detail` object of an activity entry (spec groups.md, Activity).
fn activity_detail(name: &str, action: &str, before: Option<Value>, after: Option<Value>) -> Value {
    json!({
        "changes": [{"type": "Group", "action": action, "field": null,
                     "before": before.unwrap_or(Value::Null), "after": after.unwrap_or(Value::Null)}],
        "trigger": null, "name": name, "short_id": null, "type": null,
    })
}

/// Activity rows to insert, in order.
#[derive(Default)]
pub(crate) struct ActivityRows {
    group_ids: Vec<i64>,
    uuids: Vec<String>,
    activities: Vec<&'static str>,
    details: Vec<String>,
    actors: Vec<Option<String>>,
}

impl ActivityRows {
    fn push(&mut self, group_id: i64, activity: &'static str, detail: &Value, actor: &Actor) {
        self.group_ids.push(group_id);
        self.uuids.push(uuid::Uuid::now_v7().to_string());
        self.activities.push(activity);
        self.details
            .push(nul_safe(&detail.to_string()).into_owned());
        self.actors.push(match actor {
            Actor::Key(l) => Some(nul_safe(l).into_owned()),
            Actor::System => None,
        });
    }

    /// Inserts the rows in push order (ids ascend in that order).
    async fn insert(self, c: &impl GenericClient, project: i64, now: i64) -> StoreResult<()> {
        if self.group_ids.is_empty() {
            return Ok(());
        }
        let st = c
            .prepare_cached(
                "INSERT INTO group_activity (project_id, group_id, uuid, activity, detail, actor, created_at)
                 SELECT $1, g, u, a, d, k, $7
                 FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::text[])
                      WITH ORDINALITY AS x(g, u, a, d, k, n)
                 ORDER BY n",
            )
            .await?;
        c.execute(
            &st,
            &[
                &project,
                &self.group_ids,
                &self.uuids,
                &self.activities,
                &self.details,
                &self.actors,
                &Ts(now),
            ],
        )
        .await?;
        Ok(())
    }
}

/// A group's stored JSON: the ordered text (REST), its JSONB copy (queries), and search text.
pub(crate) struct StoredProps {
    text: String,
    jsonb: String,
    search: String,
    meta: String,
}

impl StoredProps {
    fn new(props: &Map<String, Value>, meta: &PropMetaMap) -> StoreResult<Self> {
        let text = to_json_text(props)?;
        let jsonb = jsonb_safe(&text).into_owned();
        let search = nul_safe(&text).to_lowercase();
        Ok(Self {
            text: nul_safe(&text).into_owned(),
            jsonb,
            search,
            meta: nul_safe(&to_json_text(meta)?).into_owned(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Transactions (each runs whole; the callers retry deadlocks)

impl PgStore {
    async fn tx_create_group_type(
        &self,
        project: i64,
        new: &NewGroupType,
        max_group_types: u32,
        now: i64,
    ) -> StoreResult<GroupType> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        lock_group_types(&tx, project).await?;
        let existing = group_types(&tx, project).await?;
        if existing.iter().any(|t| t.group_type == new.group_type) {
            return Err(StoreError::GroupTypeExists);
        }
        let index = (0..i64::from(max_group_types))
            .find(|i| existing.iter().all(|t| t.index != *i))
            .ok_or(StoreError::GroupTypeLimit(max_group_types))?;
        let st = tx
            .prepare_cached(
                "INSERT INTO group_types (project_id, group_type_index, group_type, name_singular, name_plural, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        let inserted = tx
            .execute(
                &st,
                &[
                    &project,
                    &idx(index)?,
                    &nul_safe(&new.group_type),
                    &new.name_singular.as_deref().map(nul_safe),
                    &new.name_plural.as_deref().map(nul_safe),
                    &Ts(now),
                ],
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::GroupTypeExists),
            other => other?,
        };
        tx.commit().await?;
        Ok(GroupType {
            index,
            group_type: new.group_type.clone(),
            name_singular: new.name_singular.clone(),
            name_plural: new.name_plural.clone(),
            default_columns: None,
            created_at: now,
        })
    }

    async fn tx_update_group_type_metadata(
        &self,
        project: i64,
        updates: &[GroupTypeMetadataUpdate],
    ) -> StoreResult<Vec<GroupType>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        for u in updates {
            let i = idx(u.index.0).map_err(|_| StoreError::GroupTypeMissing(u.index))?;
            if group_type(&tx, project, i).await?.is_none() {
                return Err(StoreError::GroupTypeMissing(u.index));
            }
            if let Some(s) = &u.name_singular {
                let st = tx
                    .prepare_cached("UPDATE group_types SET name_singular = $3 WHERE project_id = $1 AND group_type_index = $2")
                    .await?;
                tx.execute(&st, &[&project, &i, &s.as_deref().map(nul_safe)])
                    .await?;
            }
            if let Some(p) = &u.name_plural {
                let st = tx
                    .prepare_cached("UPDATE group_types SET name_plural = $3 WHERE project_id = $1 AND group_type_index = $2")
                    .await?;
                tx.execute(&st, &[&project, &i, &p.as_deref().map(nul_safe)])
                    .await?;
            }
        }
        let all = group_types(&tx, project).await?;
        tx.commit().await?;
        Ok(all)
    }

    async fn tx_delete_group_type(&self, project: i64, index: GroupTypeIndex) -> StoreResult<()> {
        let i = idx(index.0)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "DELETE FROM group_types WHERE project_id = $1 AND group_type_index = $2",
                &[&project, &i],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "DELETE FROM group_activity WHERE project_id = $1 AND group_id IN
               (SELECT id FROM groups WHERE project_id = $1 AND group_type_index = $2)",
            &[&project, &i],
        )
        .await?;
        tx.execute(
            "DELETE FROM groups WHERE project_id = $1 AND group_type_index = $2",
            &[&project, &i],
        )
        .await?;
        // After the groups, whose row locks made any capture batch that changed one of them
        // commit first, counts included: none of theirs is left behind.
        counts::drop_type(&tx, project, i).await?;
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn tx_create_group(
        &self,
        project: i64,
        index: GroupTypeIndex,
        key: &GroupKey,
        properties: &Map<String, Value>,
        actor: &Actor,
        now: i64,
    ) -> StoreResult<Group> {
        let i = idx(index.0).map_err(|_| StoreError::GroupTypeMissing(index))?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if group_type(&tx, project, i).await?.is_none() {
            return Err(StoreError::GroupTypeMissing(index));
        }
        let mut props = Map::new();
        let mut meta = PropMetaMap::new();
        let changes: Vec<_> = properties
            .iter()
            .filter_map(|(k, v)| {
                merge::apply(&mut props, &mut meta, k, PropOp::Set(v.clone()), now)
            })
            .collect();
        let stored = StoredProps::new(&props, &meta)?;
        let key_text = nul_safe(key.as_str());
        let st = tx
            .prepare_cached(
                "INSERT INTO groups (project_id, group_type_index, group_key, properties, properties_text,
                                     props_meta, search_text, key_lower, created_at, updated_at)
                 VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7, $8, $9, $9)
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .await?;
        let row = tx
            .query_opt(
                &st,
                &[
                    &project,
                    &i,
                    &key_text,
                    &stored.jsonb,
                    &stored.text,
                    &stored.meta,
                    &stored.search,
                    &key_text.to_lowercase(),
                    &Ts(now),
                ],
            )
            .await?;
        let Some(row) = row else {
            return Err(StoreError::GroupExists);
        };
        let id: i64 = row.get(0);
        let mut activity = ActivityRows::default();
        for ch in changes {
            let detail = activity_detail(&ch.key, "created", None, ch.after);
            activity.push(id, "create_group", &detail, actor);
        }
        activity.insert(&tx, project, now).await?;
        let mut counts = PropCounts::default();
        counts.group_changed(project, i, &Map::new(), &props);
        counts.apply(&tx).await?;
        tx.commit().await?;
        Ok(Group {
            id,
            index: index.0,
            key: key.as_str().to_owned(),
            properties_json: stored.text,
            created_at: now,
            updated_at: now,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn tx_update_group_property(
        &self,
        project: i64,
        index: GroupTypeIndex,
        key: &GroupKey,
        property: &str,
        op: &PropOp,
        actor: &Actor,
        now: i64,
    ) -> StoreResult<Group> {
        let i = idx(index.0)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx
            .prepare_cached(
                "SELECT id, properties_text, props_meta, created_at, updated_at FROM groups
                 WHERE project_id = $1 AND group_type_index = $2 AND group_key = $3 FOR UPDATE",
            )
            .await?;
        let Some(row) = tx
            .query_opt(&st, &[&project, &i, &nul_safe(key.as_str())])
            .await?
        else {
            return Err(StoreError::NotFound);
        };
        let id: i64 = row.get(0);
        let mut props: Map<String, Value> = serde_json::from_str(row.get(1)).map_err(internal)?;
        let mut meta: PropMetaMap = serde_json::from_str(row.get(2)).map_err(internal)?;
        let created_at = row.get::<_, Ts>(3).0;
        let mut updated_at = row.get::<_, Ts>(4).0;
        if *op == PropOp::Unset && !props.contains_key(property) {
            return Err(StoreError::PropertyMissing(property.to_owned()));
        }
        let old = props.clone();
        let change = merge::apply(&mut props, &mut meta, property, op.clone(), now);
        if change.is_some() {
            updated_at = now;
        }
        let stored = StoredProps::new(&props, &meta)?;
        let st = tx
            .prepare_cached(
                "UPDATE groups SET properties = $3::text::jsonb, properties_text = $4, props_meta = $5,
                                   search_text = $6, updated_at = $7
                 WHERE project_id = $1 AND id = $2",
            )
            .await?;
        tx.execute(
            &st,
            &[
                &project,
                &id,
                &stored.jsonb,
                &stored.text,
                &stored.meta,
                &stored.search,
                &Ts(updated_at),
            ],
        )
        .await?;
        if let Some(ch) = change {
            let (activity, action) = match (&ch.before, &ch.after) {
                (None, _) => ("create_property", "created"),
                (Some(_), Some(_)) => ("update_property", "changed"),
                (Some(_), None) => ("update_property", "deleted"),
            };
            let detail = activity_detail(&ch.key, action, ch.before, ch.after);
            let mut rows = ActivityRows::default();
            rows.push(id, activity, &detail, actor);
            rows.insert(&tx, project, now).await?;
        }
        let mut counts = PropCounts::default();
        counts.group_changed(project, i, &old, &props);
        counts.apply(&tx).await?;
        tx.commit().await?;
        Ok(Group {
            id,
            index: index.0,
            key: key.as_str().to_owned(),
            properties_json: stored.text,
            created_at,
            updated_at,
        })
    }
}

/// Serialises group type creation within one project until the transaction ends.
async fn lock_group_types(c: &impl GenericClient, project: i64) -> StoreResult<()> {
    // The second key is 32 bits: fold the project id into it (a collision only serialises more).
    let key = (project ^ (project >> 32)) as i32;
    let st = c
        .prepare_cached("SELECT pg_advisory_xact_lock($1, $2)")
        .await?;
    c.execute(&st, &[&LOCK_GROUP_TYPES, &key]).await?;
    Ok(())
}

#[async_trait]
#[allow(clippy::too_many_arguments)]
impl Store for PgStore {
    async fn health(&self) -> StoreResult<()> {
        let c = self.client().await?;
        c.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn create_project(
        &self,
        name: &str,
        api_token: Option<&str>,
        now_us: i64,
    ) -> StoreResult<Project> {
        let token = api_token.map_or_else(|| generate_secret(PROJECT_TOKEN_PREFIX), str::to_owned);
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "INSERT INTO projects (name, api_token, created_at) VALUES ($1, $2, $3) RETURNING {PROJECT_COLS}"
            ))
            .await?;
        match c
            .query_one(&st, &[&nul_safe(name), &nul_safe(&token), &Ts(now_us)])
            .await
        {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("api_token")),
            Err(e) => Err(e.into()),
            Ok(row) => Ok(Project {
                name: name.to_owned(),
                api_token: token,
                ..project_from_row(&row)
            }),
        }
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!("SELECT {PROJECT_COLS} FROM projects ORDER BY id"))
            .await?;
        Ok(c.query(&st, &[])
            .await?
            .iter()
            .map(project_from_row)
            .collect())
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE id = $1"
            ))
            .await?;
        Ok(c.query_opt(&st, &[&id.0])
            .await?
            .as_ref()
            .map(project_from_row))
    }

    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Option<Project>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "UPDATE projects SET name = $2 WHERE id = $1 RETURNING {PROJECT_COLS}"
            ))
            .await?;
        Ok(c.query_opt(&st, &[&id.0, &nul_safe(name)])
            .await?
            .as_ref()
            .map(|r| Project {
                name: name.to_owned(),
                ..project_from_row(r)
            }))
    }

    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE api_token = $1"
            ))
            .await?;
        Ok(c.query_opt(&st, &[&nul_safe(token)])
            .await?
            .as_ref()
            .map(project_from_row))
    }

    async fn create_api_key(&self, key: NewApiKey, now_us: i64) -> StoreResult<ApiKey> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if let Some(ps) = &key.projects {
            // FOR SHARE: a listed project cannot vanish before the key commits.
            let st = tx
                .prepare_cached("SELECT id FROM projects WHERE id = ANY($1) FOR SHARE")
                .await?;
            let mut distinct = ps.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let found = tx.query(&st, &[&distinct]).await?.len();
            if found != distinct.len() {
                return Err(StoreError::NotFound);
            }
        }
        let st = tx
            .prepare_cached(
                "INSERT INTO api_keys (label, secure_digest, scopes, projects, created_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .await?;
        let id: i64 = tx
            .query_one(
                &st,
                &[
                    &nul_safe(&key.label),
                    &key.digest.0.as_slice(),
                    &key.scopes.names().join(","),
                    &key.projects,
                    &Ts(now_us),
                ],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(ApiKey {
            id,
            label: key.label,
            scopes: key.scopes,
            projects: key.projects,
            created_at: now_us,
        })
    }

    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT id, label, secure_digest, scopes, projects, created_at
                 FROM api_keys WHERE secure_digest = $1",
            )
            .await?;
        let Some(r) = c.query_opt(&st, &[&digest.0.as_slice()]).await? else {
            return Ok(None);
        };
        let stored: Vec<u8> = r.get(2);
        if !digest.matches(&stored) {
            return Ok(None);
        }
        let scopes: String = r.get(3);
        Ok(Some(ApiKey {
            id: r.get(0),
            label: r.get(1),
            // Stored scopes were validated at creation; an unknown one grants nothing.
            scopes: ScopeSet::from_scopes(
                scopes
                    .split(',')
                    .filter_map(|s| groupd_core::Scope::parse(s).ok()),
            ),
            projects: r.get(4),
            created_at: r.get::<_, Ts>(5).0,
        }))
    }

    async fn list_group_types(&self, project: ProjectId) -> StoreResult<Vec<GroupType>> {
        let c = self.client().await?;
        group_types(&c, project.0).await
    }

    async fn create_group_type(
        &self,
        project: ProjectId,
        new: NewGroupType,
        max_group_types: u32,
        now_us: i64,
    ) -> StoreResult<GroupType> {
        retrying!(
            self.tx_create_group_type(project.0, &new, max_group_types, now_us)
                .await
        )
    }

    async fn update_group_type_metadata(
        &self,
        project: ProjectId,
        updates: Vec<GroupTypeMetadataUpdate>,
    ) -> StoreResult<Vec<GroupType>> {
        retrying!(
            self.tx_update_group_type_metadata(project.0, &updates)
                .await
        )
    }

    async fn set_default_columns(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        columns: Vec<String>,
    ) -> StoreResult<GroupType> {
        let i = idx(index.0)?;
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "UPDATE group_types SET default_columns = $3 WHERE project_id = $1 AND group_type_index = $2
                 RETURNING {GROUP_TYPE_COLS}"
            ))
            .await?;
        let text = nul_safe(&to_json_text(&columns)?).into_owned();
        c.query_opt(&st, &[&project.0, &i, &text])
            .await?
            .as_ref()
            .map(group_type_from_row)
            .ok_or(StoreError::NotFound)
    }

    async fn delete_group_type(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
    ) -> StoreResult<()> {
        retrying!(self.tx_delete_group_type(project.0, index).await)
    }

    async fn list_groups(&self, project: ProjectId, q: GroupListQuery) -> StoreResult<Vec<Group>> {
        let i = idx(q.index).unwrap_or(-1);
        let mut sql = format!(
            "SELECT {GROUP_COLS} FROM groups WHERE project_id = $1 AND group_type_index = $2"
        );
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let search = q
            .search
            .as_deref()
            .map(|s| (contains_pattern(s), nul_safe(s).into_owned()));
        let key_contains = q.key_contains.as_deref().map(contains_pattern);
        let after = q
            .after
            .as_ref()
            .map(|(t, k)| (Ts(*t), nul_safe(k).into_owned()));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&project.0, &i];
        // Fixed fragments only; every value is a bound parameter.
        if let Some((pattern, exact)) = &search {
            params.push(pattern);
            params.push(exact);
            sql.push_str(&format!(
                " AND (search_text LIKE ${} OR key_lower = ${})",
                params.len() - 1,
                params.len()
            ));
        }
        if let Some(pattern) = &key_contains {
            params.push(pattern);
            sql.push_str(&format!(" AND key_lower LIKE ${}", params.len()));
        }
        if let Some((t, k)) = &after {
            params.push(t);
            params.push(k);
            sql.push_str(&format!(
                " AND (created_at, group_key) < (${}, ${})",
                params.len() - 1,
                params.len()
            ));
        }
        params.push(&limit);
        sql.push_str(&format!(
            " ORDER BY created_at DESC, group_key DESC LIMIT ${}",
            params.len()
        ));
        let c = self.client().await?;
        let rows = if search.is_some() || key_contains.is_some() {
            // Unnamed statement: planned for these very patterns. A cached statement turns to
            // a generic plan after five runs, and for `LIKE $n` that plan walks the list order
            // filtering every group (17 ms per search at 10k groups, growing with the type).
            c.query(sql.as_str(), &params).await?
        } else {
            let st = c.prepare_cached(&sql).await?;
            c.query(&st, &params).await?
        };
        Ok(rows.iter().map(group_from_row).collect())
    }

    async fn find_group(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        key: &GroupKey,
    ) -> StoreResult<Option<Group>> {
        let Ok(i) = idx(index.0) else {
            return Ok(None);
        };
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {GROUP_COLS} FROM groups WHERE project_id = $1 AND group_type_index = $2 AND group_key = $3"
            ))
            .await?;
        Ok(c.query_opt(&st, &[&project.0, &i, &nul_safe(key.as_str())])
            .await?
            .as_ref()
            .map(group_from_row))
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
        let rows = 1 + properties.len() as u64;
        let group = retrying!(
            self.tx_create_group(project.0, index, &key, &properties, &actor, now_us)
                .await
        )?;
        self.stats.wrote(&self.pool, rows);
        Ok(group)
    }

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
        let group = retrying!(
            self.tx_update_group_property(project.0, index, &key, &property, &op, &actor, now_us)
                .await
        )?;
        self.stats.wrote(&self.pool, 1);
        Ok(group)
    }

    async fn group_activity(
        &self,
        project: ProjectId,
        group_id: i64,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ActivityEntry>, u64)> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT count(*) FROM group_activity WHERE project_id = $1 AND group_id = $2",
            )
            .await?;
        let total: i64 = c.query_one(&st, &[&project.0, &group_id]).await?.get(0);
        let st = c
            .prepare_cached(
                "SELECT uuid, actor, activity, detail, created_at FROM group_activity
                 WHERE project_id = $1 AND group_id = $2
                 ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
            )
            .await?;
        let rows = c
            .query(
                &st,
                &[
                    &project.0,
                    &group_id,
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                    &i64::try_from(offset).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        let entries = rows
            .iter()
            .map(|r| {
                let actor: Option<String> = r.get(1);
                let detail: String = r.get(3);
                ActivityEntry {
                    id: r.get(0),
                    actor: actor.map_or(Actor::System, Actor::Key),
                    activity: r.get(2),
                    item_id: group_id,
                    detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
                    created_at: r.get::<_, Ts>(4).0,
                }
            })
            .collect();
        Ok((entries, u64::try_from(total).unwrap_or(0)))
    }

    async fn property_definitions(&self, project: ProjectId) -> StoreResult<Vec<PropertyCount>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT group_type_index, key, groups FROM group_prop_keys
                 WHERE project_id = $1 AND groups > 0
                 ORDER BY group_type_index, groups DESC, key",
            )
            .await?;
        Ok(c.query(&st, &[&project.0])
            .await?
            .iter()
            .map(|r| PropertyCount {
                index: i64::from(r.get::<_, i32>(0)),
                name: r.get(1),
                count: r.get(2),
            })
            .collect())
    }

    async fn property_values(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        property: &str,
        value_contains: Option<&str>,
    ) -> StoreResult<Vec<ValueCount>> {
        let Ok(i) = idx(index.0) else {
            return Ok(Vec::new());
        };
        let key = nul_safe(property);
        let value_count = |r: &Row| ValueCount {
            name: r.get(0),
            count: r.get(1),
        };
        let mut c = self.client().await?;
        let Some(filter) = value_contains.map(|f| nul_safe(f).to_lowercase()) else {
            let st = c
                .prepare_cached(&format!("{VALUES_IN_ORDER} LIMIT {VALUES_SHOWN}"))
                .await?;
            return Ok(c
                .query(&st, &[&project.0, &i, &key])
                .await?
                .iter()
                .map(value_count)
                .collect());
        };
        // The substring test lower-cases by Rust's Unicode rules, as the SQLite backend does
        // (the database's lower() depends on its locale): the values are read in order through a
        // cursor (planned to start fast, so from the index), a chunk at a time, until enough match.
        // An ASCII filter (the usual one) is first tried by the database on the value with its
        // ASCII letters lower-cased (`lower` under "C" folds only those); a value holding one of
        // `ASCII_FROM_LOWER` is a candidate too. Every value that matches in Rust is one of these
        // candidates, and only candidates cross the wire.
        let tx = c.build_transaction().read_only(true).start().await?;
        if filter.is_ascii() {
            let specials: String = ASCII_FROM_LOWER
                .iter()
                .map(|c| format!(" OR strpos(value, '{c}') > 0"))
                .collect();
            let st = tx
                .prepare_cached(&format!(
                    "DECLARE property_values NO SCROLL CURSOR FOR
                     SELECT * FROM ({VALUES_IN_ORDER}) AS v
                     WHERE strpos(lower(value), $4) > 0{specials}"
                ))
                .await?;
            tx.execute(&st, &[&project.0, &i, &key, &filter]).await?;
        } else {
            let st = tx
                .prepare_cached(&format!(
                    "DECLARE property_values NO SCROLL CURSOR FOR {VALUES_IN_ORDER}"
                ))
                .await?;
            tx.execute(&st, &[&project.0, &i, &key]).await?;
        }
        let mut out = Vec::new();
        let mut chunk: usize = 256;
        loop {
            let st = tx
                .prepare_cached(&format!("FETCH {chunk} FROM property_values"))
                .await?;
            let rows = tx.query(&st, &[]).await?;
            for r in &rows {
                let name: &str = r.get(0);
                if name.to_lowercase().contains(&filter) {
                    out.push(value_count(r));
                    if out.len() == VALUES_SHOWN {
                        break;
                    }
                }
            }
            if out.len() == VALUES_SHOWN || rows.len() < chunk {
                break;
            }
            chunk = (chunk * 4).min(16_384);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn ingest(
        &self,
        project: ProjectId,
        events: Vec<CaptureEvent>,
        max_group_types: u32,
        now_us: i64,
    ) -> StoreResult<IngestSummary> {
        if let Some(summary) =
            retrying!(ingest::plain(self, project.0, &events, max_group_types).await)?
        {
            return Ok(summary);
        }
        let identifies = events.iter().filter(|e| e.group_identify.is_some()).count() as u64;
        let summary = self
            .writer
            .ingest(project.0, events, max_group_types, now_us)
            .await?;
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
                    details: serde_json::from_str(&details).unwrap_or(Value::Null),
                    timestamp: r.get::<_, Ts>(2).0,
                }
            })
            .collect())
    }

    fn dialect(&self) -> groupd_hogql::Dialect {
        groupd_hogql::Dialect::Postgres
    }

    async fn run_query(
        &self,
        query: groupd_hogql::Translated,
        timeout: Duration,
    ) -> StoreResult<Vec<Vec<groupd_hogql::SqlValue>>> {
        let mut c = self.client().await?;
        query::run(&mut c, &query, timeout).await
    }

    fn write_queue_depth(&self) -> usize {
        self.writer.queue_depth()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_text_loses_only_nul_escapes() {
        assert_eq!(jsonb_safe(r#"{"a":"x\u0000y"}"#), r#"{"a":"x\ufffdy"}"#);
        assert_eq!(jsonb_safe(r#"{"a":"x\\u0000y"}"#), r#"{"a":"x\\u0000y"}"#);
        assert_eq!(jsonb_safe(r#"{"a":"\\\u0000"}"#), r#"{"a":"\\\ufffd"}"#);
        assert_eq!(jsonb_safe(r#"{"é":"\"ü"}"#), r#"{"é":"\"ü"}"#);
    }

    #[test]
    fn ascii_from_lower_case_is_complete() {
        for c in (0x80..=0x10_FFFF).filter_map(char::from_u32) {
            if c.to_lowercase().any(|x| x.is_ascii()) {
                assert!(ASCII_FROM_LOWER.contains(&c), "{c:?}");
            }
        }
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    /// The counts as stored, in key order (the hashes stand for the whole texts).
    async fn count_rows(url: &str) -> (Vec<String>, Vec<String>) {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        let mut out = Vec::new();
        for sql in [
            "SELECT format('%s %s %s %s %s', project_id, group_type_index, key_hash, left(key, 30),
                           groups)
             FROM group_prop_keys ORDER BY project_id, group_type_index, key_hash",
            "SELECT format('%s %s %s %s %s %s', project_id, group_type_index, hash,
                           left(key, 30), left(value, 30), groups)
             FROM group_prop_values ORDER BY project_id, group_type_index, hash",
        ] {
            let rows = client.query(sql, &[]).await.unwrap();
            out.push(rows.iter().map(|r| r.get(0)).collect::<Vec<String>>());
        }
        drop(client);
        let _ = task.await;
        let values = out.pop().unwrap();
        (out.pop().unwrap(), values)
    }

    /// A database written before the counts existed gets them from its groups when it upgrades
    /// (migration 2's backfill), equal to the counts the writes maintain: values of every JSON
    /// kind, NULs, text that only looks like a NUL escape, names and values too long for a btree
    /// entry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backfill_matches_maintained_counts() {
        use crate::conformance::{T0, identify};
        let Some(db) = crate::conformance::pg::open().await else {
            return;
        };
        let s = db.store.clone();
        let p = ProjectId(s.create_project("p", None, T0).await.unwrap().id);
        // Not compressible: longer than a btree entry may be once stored.
        let mut x = 7u32;
        let long: String = (0..6000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from_u32(0x21 + (x >> 16) % 0x5d).unwrap()
            })
            .collect();
        let props = json!({
            "plan": "pro", "seats": 3, "float": 100.0, "big": 1e300, "neg": -0.0,
            "u": 18_446_744_073_709_551_615u64, "ok": true, "none": null,
            "obj": {"b": 1, "a": [2, "x\u{0}y"]}, "list": ["\\u0000", "é"],
            "nul": "a\u{0}b", "k\u{0}": "v", "looks": "\\u0000 \\\\u0000",
            "long": long.clone(), long.clone(): 1,
        });
        let mut evs = Vec::new();
        for n in 0..30 {
            let mut set = props.clone();
            set["seats"] = json!(n % 4);
            set["n"] = json!(n);
            let unset: &[&str] = if n % 3 == 0 { &["plan"] } else { &[] };
            evs.push(identify(
                "org",
                &format!("g{}", n % 10),
                T0 + n,
                set,
                json!({}),
                unset,
            ));
        }
        evs.push(identify(
            "team",
            "t",
            T0,
            json!({"plan": "free"}),
            json!({}),
            &[],
        ));
        s.ingest(p, evs, 5, T0 + 100).await.unwrap();
        s.create_group(
            p,
            GroupTypeIndex(1),
            GroupKey::parse("rest").unwrap(),
            match props {
                Value::Object(m) => m,
                _ => unreachable!(),
            },
            Actor::System,
            T0,
        )
        .await
        .unwrap();
        let maintained = count_rows(&db.url).await;
        assert!(maintained.1.len() > 30, "{maintained:?}");
        let nul = s
            .property_values(p, GroupTypeIndex(0), "nul", None)
            .await
            .unwrap();
        assert_eq!(nul[0].name, "a\u{FFFD}b");

        // Back to a schema before migration 2, then upgrade.
        drop(s);
        let (client, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        client
            .batch_execute(
                "DROP TABLE group_prop_keys, group_prop_values;
                 DROP INDEX groups_key_lower_eq;
                 DELETE FROM schema_migrations WHERE version >= 2",
            )
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
        let upgraded = crate::open(&db.url).await.unwrap();
        let backfilled = count_rows(&db.url).await;
        assert_eq!(backfilled.0, maintained.0);
        assert_eq!(backfilled.1, maintained.1);
        assert_eq!(
            upgraded
                .property_values(p, GroupTypeIndex(0), "seats", None)
                .await
                .unwrap()
                .len(),
            4
        );
    }
}
