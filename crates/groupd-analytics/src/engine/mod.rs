//! One HogQL query, end to end: translate, read the project's tables into a fresh DataFusion
//! context (sharing the server's memory pool), plan the rewritten tree, run it under the
//! deadline, render the answer.
mod related;
mod render;
mod tables;

use std::{sync::Arc, time::Duration};

use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::object_store::ObjectStore;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::Statement;
use groupd_core::ProjectId;
use groupd_store::{Store, StoreError};
use serde_json::Value;

use crate::hogql::{Catalog, translate};
use crate::udf::{HogUdf, Kind, time::Part as P, time::Unit};

pub use related::{RelatedEvents, RelatedRequest, SeenPerson};

/// Why a query has no answer.
#[derive(Debug)]
pub enum EngineError {
    /// The query is not valid HogQL or not supported (400 `validation_error`).
    Invalid(String),
    /// Ran past its deadline (400 `query_timeout`).
    Timeout,
    /// Needed more working memory than the pool holds (400 `query_memory_limit`).
    Memory(String),
    /// Reading the store failed.
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e)
    }
}

fn engine_error(e: DataFusionError) -> EngineError {
    let e = e.find_root().to_owned_error();
    match e {
        DataFusionError::ResourcesExhausted(m) => EngineError::Memory(m),
        other => EngineError::Invalid(clean(&other.strip_backtrace())),
    }
}

trait OwnedError {
    fn to_owned_error(&self) -> DataFusionError;
}

impl OwnedError for DataFusionError {
    fn to_owned_error(&self) -> DataFusionError {
        match self {
            DataFusionError::ResourcesExhausted(m) => {
                DataFusionError::ResourcesExhausted(m.clone())
            }
            other => DataFusionError::Plan(other.to_string()),
        }
    }
}

/// DataFusion's messages without its internal table names.
fn clean(m: &str) -> String {
    let m = m.trim_start_matches("Error during planning: ");
    m.replace("__events_hot.", "").replace("__g", "group_")
}

/// Every operator yields to the runtime once its task's budget is spent (DataFusion only wraps
/// the leaves), so a join or aggregation that loops without reading its input still lets the
/// deadline fire and the query be dropped.
fn cooperative(
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
) -> datafusion::error::Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::physical_plan::{ExecutionPlan, coop::CooperativeExec};
    Ok(plan
        .transform_up(|p| {
            if p.children().is_empty() || p.name() == "CooperativeExec" {
                return Ok(Transformed::no(p));
            }
            Ok(Transformed::yes(
                Arc::new(CooperativeExec::new(p)) as Arc<dyn ExecutionPlan>
            ))
        })?
        .data)
}

/// Runs a physical plan to completion: every operator cooperative (see [`cooperative`]), the
/// batches collected.
async fn collect(
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    ctx: &SessionContext,
) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>, EngineError> {
    let plan = cooperative(plan).map_err(engine_error)?;
    datafusion::physical_plan::collect(plan, ctx.task_ctx())
        .await
        .map_err(engine_error)
}

/// `run`'s result, or [`EngineError::Timeout`] once `timeout` has passed (the run is dropped).
async fn with_deadline<T>(
    timeout: Duration,
    run: impl std::future::Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    tokio::time::timeout(timeout, run)
        .await
        .unwrap_or(Err(EngineError::Timeout))
}

/// What one query asks.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    pub text: String,
    pub project: ProjectId,
    /// `now()`, UTC µs.
    pub now_us: i64,
    pub timeout: Duration,
    pub default_limit: u64,
    pub max_limit: u64,
}

/// The answer, in the response's terms.
#[derive(Debug, Clone)]
pub struct QueryAnswer {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub results: Vec<Vec<Value>>,
    pub hogql: String,
    pub has_more: bool,
    pub limit: u64,
    pub offset: u64,
}

/// The engine a server holds: one memory pool for every query, the segment store.
pub struct Engine {
    runtime: Arc<RuntimeEnv>,
    segments: Option<Arc<dyn ObjectStore>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

fn udfs(now_us: i64) -> Vec<(&'static str, Kind)> {
    use Kind::*;
    vec![
        ("hog_prop_text", PropText),
        ("hog_prop_number", PropNumber),
        ("hog_prop_raw", PropRaw),
        ("hog_raw_number", RawNumber),
        ("hog_json_string", JsonString),
        ("hog_json_int", JsonInt),
        ("hog_json_float", JsonFloat),
        ("hog_json_bool", JsonBool),
        ("hog_json_raw", JsonRaw),
        ("hog_json_keys", JsonKeys),
        ("hog_json_array_raw", JsonArrayRaw),
        ("hog_json_has", JsonHas),
        ("hog_json_length", JsonLength),
        ("hog_now", Now(now_us)),
        ("hog_today", Today(now_us)),
        ("hog_to_datetime", ToDateTime),
        ("hog_to_date", ToDate),
        ("hog_from_unix", FromUnix),
        ("hog_start_of_second", StartOf(Unit::Second)),
        ("hog_start_of_minute", StartOf(Unit::Minute)),
        ("hog_start_of_hour", StartOf(Unit::Hour)),
        ("hog_start_of_day", StartOf(Unit::Day)),
        ("hog_start_of_week", StartOf(Unit::Week)),
        ("hog_start_of_month", StartOf(Unit::Month)),
        ("hog_start_of_quarter", StartOf(Unit::Quarter)),
        ("hog_start_of_year", StartOf(Unit::Year)),
        ("hog_to_monday", StartOfIsoWeek),
        ("hog_start_of_interval", StartOfInterval),
        ("hog_date_trunc", DateTrunc),
        ("hog_date_trunc_date", DateTruncDate),
        ("hog_to_second", Part(P::Second)),
        ("hog_to_minute", Part(P::Minute)),
        ("hog_to_hour", Part(P::Hour)),
        ("hog_to_day_of_week", Part(P::DayOfWeek)),
        ("hog_to_day_of_month", Part(P::DayOfMonth)),
        ("hog_to_day_of_year", Part(P::DayOfYear)),
        ("hog_to_month", Part(P::Month)),
        ("hog_to_quarter", Part(P::Quarter)),
        ("hog_to_year", Part(P::Year)),
        ("hog_to_yyyymm", Part(P::YyyyMm)),
        ("hog_to_yyyymmdd", Part(P::YyyyMmDd)),
        ("hog_to_unix", Part(P::UnixTimestamp)),
        ("hog_to_iso_week", Part(P::IsoWeek)),
        ("hog_date_add", DateAdd(false)),
        ("hog_date_sub", DateAdd(true)),
        ("hog_date_diff", DateDiff),
        ("hog_format_datetime", FormatDateTime),
        ("hog_to_string", ToString),
        ("hog_to_int", ToInt),
        ("hog_to_float", ToFloat),
        ("hog_length", Length),
        ("hog_extract", Extract),
        ("hog_empty", Empty(false)),
        ("hog_not_empty", Empty(true)),
        ("hog_int_div", IntDiv),
    ]
}

const ADD_UNITS: [(&str, Unit); 8] = [
    ("second", Unit::Second),
    ("minute", Unit::Minute),
    ("hour", Unit::Hour),
    ("day", Unit::Day),
    ("week", Unit::Week),
    ("month", Unit::Month),
    ("quarter", Unit::Quarter),
    ("year", Unit::Year),
];

impl Engine {
    /// An engine whose queries share `memory_limit_bytes` of working memory (sorts and
    /// aggregations spill to disk past it), reading segments from `segments`.
    pub fn new(
        memory_limit_bytes: usize,
        segments: Option<Arc<dyn ObjectStore>>,
    ) -> Result<Self, EngineError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(memory_limit_bytes, 1.0)
            .build_arc()
            .map_err(engine_error)?;
        Ok(Engine { runtime, segments })
    }

    fn context(&self, now_us: i64) -> SessionContext {
        let mut config = SessionConfig::new()
            .with_information_schema(false)
            .with_target_partitions(2);
        let o = config.options_mut();
        o.sql_parser.enable_ident_normalization = false;
        o.sql_parser.map_string_types_to_utf8view = false;
        o.execution.parquet.schema_force_view_types = false;
        let ctx = SessionContext::new_with_config_rt(config, self.runtime.clone());
        for (name, kind) in udfs(now_us) {
            ctx.register_udf(HogUdf::udf(name, kind));
        }
        for (name, unit) in ADD_UNITS {
            ctx.register_udf(HogUdf::udf(
                &format!("hog_add_{name}"),
                Kind::AddUnit(unit, false),
            ));
            ctx.register_udf(HogUdf::udf(
                &format!("hog_sub_{name}"),
                Kind::AddUnit(unit, true),
            ));
        }
        ctx
    }

    /// Runs one query over `store`'s data of `req.project`.
    pub async fn query(
        &self,
        store: &dyn Store,
        req: &QueryRequest,
    ) -> Result<QueryAnswer, EngineError> {
        let types = store.list_group_types(req.project).await?;
        let cat = Catalog {
            types: types
                .iter()
                .map(|t| (t.index.0, t.group_type.clone()))
                .collect(),
        };
        let t = translate(&req.text, &cat, req.default_limit, req.max_limit)
            .map_err(|e| EngineError::Invalid(e.detail))?;
        let ctx = self.context(req.now_us);
        let run = async {
            // The events' snapshot waits for the plan: the filters the optimiser pushes into
            // the scans say from when the query needs events, so neither the hot tail nor the
            // segment list is read further back than that.
            let events = if t.reads_events || !t.group_tables.is_empty() {
                let reused = store.reused_type_indexes(req.project).await?;
                let source = tables::register_events(&ctx, self.segments.as_ref(), &types, &reused)
                    .await
                    .map_err(engine_error)?;
                Some(source)
            } else {
                None
            };
            if t.reads_groups || !t.group_tables.is_empty() {
                let groups = store.query_groups(req.project).await?;
                let joined: Vec<i64> = t.group_tables.iter().copied().collect();
                tables::register_groups(&ctx, &groups, &joined).map_err(engine_error)?;
            }
            let stmt = datafusion::sql::parser::Statement::Statement(Box::new(Statement::Query(
                Box::new(t.query.clone()),
            )));
            let state = ctx.state();
            let plan = state.statement_to_plan(stmt).await.map_err(engine_error)?;
            let plan = state.optimize(&plan).map_err(engine_error)?;
            if let Some(source) = &events {
                let since = tables::since_of(&plan);
                source.set(store.events_snapshot(req.project, since).await?);
            }
            let physical = state
                .query_planner()
                .create_physical_plan(&plan, &state)
                .await
                .map_err(engine_error)?;
            collect(physical, &ctx).await
        };
        let batches = with_deadline(req.timeout, run).await?;
        let limit = usize::try_from(t.limit).unwrap_or(usize::MAX);
        let total: usize = batches.iter().map(|b| b.num_rows()).sum();
        let (results, types, names) = render::render(&batches, &t.raw, &t.unsigned, limit);
        let columns = match t.columns {
            Some(c) if c.len() == names.len() => c,
            _ => names,
        };
        Ok(QueryAnswer {
            types: columns.iter().zip(types).map(|(_, t)| t).collect(),
            columns,
            results,
            hogql: t.hogql,
            has_more: total > limit,
            limit: t.limit,
            offset: t.offset,
        })
    }
}
