//! `/groups/export` and `/groups/import`: NDJSON out and in (`lifecycle.md`, "Export and
//! import"). The export streams: the store hands over pages from one snapshot through a bounded
//! channel and the body renders (and gzips) each page as the client reads, so memory does not
//! grow with the number of groups. The import reads the body within capture's limits, checks
//! every line, and merges the valid ones through the store by capture's rule.
use std::{
    io::{Read, Write},
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use groupd_core::Scope;
use groupd_store::exchange::{ExportPages, ExportQuery, ImportBatch};
use http_body::Frame;

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    fields::index_param,
    request::RequestInfo,
    routes::route,
};
use crate::{
    exchange::{self, MAX_IMPORT_LINES},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .merge(route("/groups/export", get(export)))
        .merge(route("/groups/import", post(import)))
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not refused by `q=0`).
fn accepts_gzip(req: &RequestInfo) -> bool {
    req.headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The export's body: one line per group, rendered page by page as the client reads.
struct ExportBody {
    pages: Option<ExportPages>,
    group_type: String,
    gzip: Option<GzEncoder<Vec<u8>>>,
}

impl ExportBody {
    fn encode(&mut self, text: &[u8]) -> std::io::Result<Bytes> {
        match &mut self.gzip {
            Some(gz) => {
                gz.write_all(text)?;
                Ok(Bytes::from(std::mem::take(gz.get_mut())))
            }
            None => Ok(Bytes::copy_from_slice(text)),
        }
    }
}

impl http_body::Body for ExportBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        loop {
            let Some(pages) = self.pages.as_mut() else {
                return Poll::Ready(None);
            };
            match pages.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(page))) => {
                    let mut text = String::with_capacity(page.len() * 128);
                    for g in &page {
                        text.push_str(&exchange::export_line(&self.group_type, g));
                        text.push('\n');
                    }
                    let out = self.encode(text.as_bytes())?;
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(out))));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    // Headers are sent: cutting the body short is the only way to tell.
                    tracing::error!(error = %format_args!("{e:#}"), "export failed");
                    self.pages = None;
                    return Poll::Ready(Some(Err(std::io::Error::other("export failed"))));
                }
                Poll::Ready(None) => {
                    self.pages = None;
                    if let Some(gz) = self.gzip.take() {
                        let tail = gz.finish()?;
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(tail)))));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }
}

/// `GET /groups/export?group_type_index=N[&as_of=…]`.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/export", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query),
           ("as_of" = Option<String>, Query, description = "RFC 3339: the groups as they were then")),
    responses((status = 200, description = "NDJSON, one group a line (gzip when accepted)", content_type = "application/x-ndjson", body = super::schema::ExportLine),
              (status = 400, body = super::error::ErrorBody)))]
pub async fn export(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let index = index_param(&api.req)?;
    let as_of_us = super::groups::as_of_param(&api.req, state.clock.now_us())?;
    let project = api.project_id();
    let types = state.store.list_group_types(project).await?;
    let gzip = accepts_gzip(&api.req);
    let pages = match types.iter().find(|t| t.index == index) {
        Some(t) => Some((
            t.group_type.clone(),
            state
                .store
                .export_groups(ExportQuery {
                    project,
                    index,
                    as_of_us,
                })
                .await?,
        )),
        // An index with no type exports nothing, as the list answers no results.
        None => None,
    };
    let (group_type, pages) = match pages {
        Some((name, p)) => (name, Some(p)),
        None => (String::new(), None),
    };
    let body = ExportBody {
        pages,
        group_type,
        gzip: gzip.then(|| GzEncoder::new(Vec::new(), Compression::fast())),
    };
    let mut resp = Response::new(Body::new(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(resp)
}

/// `true`/`false` query flags, as DRF's BooleanField reads them.
fn flag(req: &RequestInfo, name: &str) -> ApiResult<bool> {
    match req.non_empty_param(name) {
        None => Ok(false),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ApiError::invalid(name, "Must be a valid boolean.")),
        },
    }
}

/// Inflates a gzip body, stopping at `limit` bytes (`None`: beyond it).
fn gunzip(data: &[u8], limit: usize) -> Result<Option<Vec<u8>>, std::io::Error> {
    let mut out = Vec::new();
    let mut r = GzDecoder::new(data).take(limit as u64 + 1);
    r.read_to_end(&mut out)?;
    Ok((out.len() <= limit).then_some(out))
}

/// `POST /groups/import[?dry_run=true][&atomic=true]`, an NDJSON body.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/import", tag = "groups",
    params(("project_id" = String, Path), ("dry_run" = Option<bool>, Query), ("atomic" = Option<bool>, Query)),
    request_body(content = super::schema::ImportLine, content_type = "application/x-ndjson", description = "NDJSON: one line a group (an export line or a change line); gzip with `Content-Encoding: gzip`"),
    responses((status = 200, description = "What was imported", body = super::schema::ImportAnswer), (status = 400, body = super::error::ErrorBody),
              (status = 413, body = super::error::ErrorBody),
              (status = 422, description = "atomic import with failed lines: the same body, nothing written", body = super::schema::ImportAnswer)))]
pub async fn import(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let now = state.clock.now_us();
    let api = ProjectApi::read(req, &state, state.config.max_capture_body_bytes).await?;
    api.require(Scope::GroupWrite)?;
    let dry_run = flag(&api.req, "dry_run")?;
    let atomic = flag(&api.req, "atomic")?;
    let content_type = api
        .req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        None
        | Some(
            "" | "application/x-ndjson" | "application/jsonl" | "application/json" | "text/plain",
        ) => {}
        Some(other) => return Err(ApiError::unsupported_media_type(other)),
    }
    let encoding = api
        .req
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let inflated;
    let body: &[u8] = match encoding.as_deref() {
        None | Some("" | "identity") => &api.req.body,
        Some("gzip" | "x-gzip") => {
            let limit = state.config.max_decompressed_bytes;
            inflated = gunzip(&api.req.body, limit)
                .map_err(|_| {
                    ApiError::validation(
                        "invalid_payload",
                        "The gzip body could not be inflated.",
                        None,
                    )
                })?
                .ok_or_else(|| ApiError::payload_too_large("The decompressed body", limit))?;
            &inflated
        }
        Some(other) => return Err(ApiError::unsupported_media_type(other)),
    };
    let parsed = exchange::parse_import(body, now, 1)
        .map_err(|_| ApiError::too_many_lines(MAX_IMPORT_LINES))?;
    let failed_early = !parsed.failed.is_empty();
    let outcome = state
        .store
        .import_groups(ImportBatch {
            project: api.project_id(),
            lines: parsed.lines,
            max_group_types: state.config.max_group_types,
            now_us: now,
            write: !dry_run && (!atomic || !failed_early),
            atomic,
        })
        .await?;
    let mut failed = parsed.failed;
    failed.extend(outcome.failed);
    failed.sort_by_key(|f| f.line);
    let refused = atomic && !failed.is_empty();
    let imported = if refused { 0 } else { outcome.imported };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    metrics::counter!("groupd_group_upserts_total").increment(if dry_run { 0 } else { imported });
    Ok((
        status,
        Json(exchange::import_response(imported, &failed, dry_run)),
    )
        .into_response())
}
