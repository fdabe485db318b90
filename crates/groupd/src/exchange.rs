//! `groupd export` and `groupd import`: a project's groups as NDJSON, straight through the store
//! (no server needed), in the same lines as the REST routes (`groupd_server::exchange`).
use std::{
    io::{BufWriter, IsTerminal, Read, Write},
    path::Path,
    sync::Arc,
};

use anyhow::Context;
use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use groupd_core::ProjectId;
use groupd_server::exchange::{MAX_IMPORT_LINES, export_line, import_response, parse_line};
use groupd_store::{
    Store,
    exchange::{ExportQuery, ImportBatch, ImportLine, LineFailure},
};
use serde_json::Value;

use crate::Refused;

/// The project, or a refusal naming it.
pub async fn project(store: &Arc<dyn Store>, id: i64) -> anyhow::Result<ProjectId> {
    match store.get_project(ProjectId(id)).await? {
        Some(p) => Ok(p.id),
        None => Err(Refused(format!("no project has id {id}")).into()),
    }
}

/// Progress on stderr, only when it is a terminal.
struct Progress {
    on: bool,
    what: &'static str,
}

impl Progress {
    fn new(what: &'static str) -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            what,
        }
    }

    fn show(&self, n: u64) {
        if self.on {
            eprint!("\r{n} {}", self.what);
        }
    }

    fn done(&self, n: u64) {
        if self.on {
            eprintln!("\r{n} {}", self.what);
        }
    }
}

/// `groupd export`: every type of the project, or the one named (by name or index).
pub async fn export(
    store: &Arc<dyn Store>,
    project_id: i64,
    group_type: Option<&str>,
    as_of: Option<&str>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let as_of_us = match as_of {
        None => None,
        Some(t) => Some(groupd_core::time_fmt::parse_rfc3339_us(t).ok_or_else(|| {
            Refused(format!(
                "--as-of {t} is not an RFC 3339 time (e.g. 2026-05-01T00:00:00Z)"
            ))
        })?),
    };
    let project = project(store, project_id).await?;
    let mut types = store.list_group_types(project).await?;
    if let Some(wanted) = group_type {
        let by_index = wanted.parse::<i64>().ok();
        types.retain(|t| t.group_type == wanted || by_index == Some(t.index.0));
        if types.is_empty() {
            return Err(Refused(format!("project {project_id} has no group type {wanted}")).into());
        }
    }
    let sink: Box<dyn Write> = match out {
        None => Box::new(std::io::stdout().lock()),
        Some(p) => {
            let f = std::fs::File::create(p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            if p.extension().is_some_and(|e| e == "gz") {
                Box::new(GzEncoder::new(f, Compression::default()))
            } else {
                Box::new(f)
            }
        }
    };
    let mut w = BufWriter::new(sink);
    let progress = Progress::new("groups exported");
    let mut n = 0u64;
    for t in types {
        let mut pages = store
            .export_groups(ExportQuery {
                project,
                index: t.index,
                as_of_us,
            })
            .await?;
        while let Some(page) = pages.recv().await {
            for g in page? {
                writeln!(w, "{}", export_line(&t.group_type, &g))?;
                n += 1;
            }
            progress.show(n);
        }
    }
    progress.done(n);
    // A gzip file is finished when its encoder drops, after the flush.
    w.into_inner().map_err(|e| e.into_error())?.flush()?;
    Ok(())
}

/// The bytes of FILE (`-` = stdin), inflated when it is gzip (`.gz`, or gzip's magic bytes).
pub fn read_input(file: &str) -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    if file == "-" {
        std::io::stdin().lock().read_to_end(&mut raw)?;
    } else {
        raw = std::fs::read(file).with_context(|| format!("cannot read {file}"))?;
    }
    if file.ends_with(".gz") || raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .with_context(|| format!("{file} is not valid gzip"))?;
        return Ok(out);
    }
    Ok(raw)
}

/// What an import did, summed over its batches.
#[derive(Default)]
pub struct Totals {
    pub imported: u64,
    pub failed: Vec<LineFailure>,
}

/// Options of one import.
pub struct ImportOptions {
    pub project: ProjectId,
    pub dry_run: bool,
    pub atomic: bool,
    pub max_group_types: u32,
    pub now_us: i64,
}

/// Imports lines in batches of the REST limit (an atomic import is one batch, all or nothing).
pub struct Importer<'a> {
    store: &'a Arc<dyn Store>,
    opts: ImportOptions,
    pending: Vec<ImportLine>,
    pub totals: Totals,
    progress: Progress,
    seen: u64,
}

impl<'a> Importer<'a> {
    pub fn new(store: &'a Arc<dyn Store>, opts: ImportOptions) -> Self {
        Self {
            store,
            opts,
            pending: Vec::new(),
            totals: Totals::default(),
            progress: Progress::new("lines read"),
            seen: 0,
        }
    }

    /// One line of the file (numbered from 1).
    pub async fn line(&mut self, no: u64, text: &[u8]) -> anyhow::Result<()> {
        if text.trim_ascii().is_empty() {
            return Ok(());
        }
        self.seen += 1;
        match parse_line(no, text, self.opts.now_us) {
            Ok(l) => self.pending.push(l),
            Err(f) => self.totals.failed.push(f),
        }
        if !self.opts.atomic && self.pending.len() >= MAX_IMPORT_LINES {
            self.flush().await?;
        }
        if self.seen.is_multiple_of(10_000) {
            self.progress.show(self.seen);
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        let lines = std::mem::take(&mut self.pending);
        if lines.is_empty() {
            return Ok(());
        }
        let refused = self.opts.atomic && !self.totals.failed.is_empty();
        let outcome = self
            .store
            .import_groups(ImportBatch {
                project: self.opts.project,
                lines,
                max_group_types: self.opts.max_group_types,
                now_us: self.opts.now_us,
                write: !self.opts.dry_run && !refused,
                atomic: self.opts.atomic,
            })
            .await?;
        self.totals.imported += outcome.imported;
        self.totals.failed.extend(outcome.failed);
        Ok(())
    }

    /// Imports what is left; the answer and whether an atomic import was refused.
    pub async fn finish(mut self) -> anyhow::Result<(Value, bool)> {
        self.flush().await?;
        self.progress.done(self.seen);
        let mut failed = self.totals.failed;
        failed.sort_by_key(|f| f.line);
        let refused = self.opts.atomic && !failed.is_empty();
        let imported = if refused { 0 } else { self.totals.imported };
        Ok((
            import_response(imported, &failed, self.opts.dry_run),
            refused,
        ))
    }
}

/// `groupd import FILE`.
pub async fn import_file(
    store: &Arc<dyn Store>,
    opts: ImportOptions,
    file: &str,
) -> anyhow::Result<(Value, bool)> {
    let body = read_input(file)?;
    let mut importer = Importer::new(store, opts);
    for (i, text) in body.split(|b| *b == b'\n').enumerate() {
        importer.line(i as u64 + 1, text).await?;
    }
    importer.finish().await
}
