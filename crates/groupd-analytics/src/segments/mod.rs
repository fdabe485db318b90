//! Columnar event segments: where they live ([`DataDir`], [`segment_store`]), how events become
//! Parquet ([`writer`]), and the compaction that moves them there ([`compactor`]).
//!
//! The engine reads segment files through the `Arc<dyn ObjectStore>` that [`segment_store`]
//! returns, rooted at the segment root: a catalog path (`SegmentRef::path`) is a path in it.
pub mod compactor;
mod local;
pub mod window;
pub mod writer;

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
pub use datafusion::object_store::ObjectStore;
use datafusion::object_store::local::LocalFileSystem;
use groupd_store::Store;

pub use compactor::{CompactionConfig, CompactionReport, Compactor};

/// Where segments live: a local (or shared) directory, or an S3 bucket and prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataDir {
    /// A directory.
    Local(PathBuf),
    /// `s3://bucket/prefix`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix under which segments go (may be empty).
        prefix: String,
    },
}

impl DataDir {
    /// A `--data-dir` value: `s3://bucket[/prefix]`, or a directory path.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            anyhow::ensure!(
                !bucket.is_empty(),
                "--data-dir {value}: the S3 URL names no bucket"
            );
            return Ok(DataDir::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        anyhow::ensure!(!value.is_empty(), "--data-dir is empty");
        anyhow::ensure!(
            !value.contains("://"),
            "--data-dir {value}: expected a directory or s3://bucket/prefix"
        );
        Ok(DataDir::Local(PathBuf::from(value)))
    }

    /// The location as the database records it: an absolute path or the URL.
    pub fn recorded(&self) -> String {
        match self {
            DataDir::Local(p) => std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            DataDir::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            DataDir::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// The segment store of `store`'s database: the `--data-dir` given (`configured`) or the
/// store's default, checked against the data dir the database was first used with (recorded
/// then), so servers sharing a database never write to different places.
pub async fn open_data_dir(
    configured: Option<&str>,
    store: &dyn Store,
) -> anyhow::Result<(DataDir, Arc<dyn ObjectStore>)> {
    let (default_path, default_record) = store.default_data_dir();
    let default = DataDir::Local(PathBuf::from(&default_path));
    let (dir, record) = match configured.map(DataDir::parse).transpose()? {
        // The default spelled out is the default.
        Some(d) if d.recorded() == default.recorded() => (d, default_record),
        Some(d) => {
            let r = d.recorded();
            (d, r)
        }
        None => (default, default_record),
    };
    let recorded = store.claim_data_dir(&record).await?;
    if recorded != record {
        let shown = |r: &str| {
            if r == "default" {
                "next to the database file".to_owned()
            } else {
                r.to_owned()
            }
        };
        let fix = if recorded == "default" {
            "start groupd without --data-dir".to_owned()
        } else {
            format!("start groupd with --data-dir {recorded}")
        };
        anyhow::bail!(
            "this database keeps its event segments {}, but this server would use {}: {fix}",
            if recorded == "default" {
                shown(&recorded)
            } else {
                format!("in {recorded}")
            },
            shown(&record)
        );
    }
    let segments = segment_store(&dir)?;
    Ok((dir, segments))
}

/// The object store rooted at the segment root. A local directory is created if missing; S3 is
/// configured from the standard `AWS_*` environment variables (`AWS_ENDPOINT` for an
/// S3-compatible server) and needs a groupd built with the `s3` feature.
pub fn segment_store(dir: &DataDir) -> anyhow::Result<Arc<dyn ObjectStore>> {
    match dir {
        DataDir::Local(path) => {
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create the data dir {}", path.display()))?;
            let store = LocalFileSystem::new_with_prefix(path)
                .with_context(|| format!("cannot use the data dir {}", path.display()))?;
            Ok(Arc::new(local::InlineLocal::new(store)))
        }
        DataDir::S3 { bucket, prefix } => s3_store(bucket, prefix),
    }
}

#[cfg(feature = "s3")]
fn s3_store(bucket: &str, prefix: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    use object_store::{aws::AmazonS3Builder, prefix::PrefixStore};
    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .with_context(|| format!("cannot use the S3 bucket {bucket}"))?;
    if prefix.is_empty() {
        Ok(Arc::new(s3))
    } else {
        Ok(Arc::new(PrefixStore::new(s3, prefix)))
    }
}

#[cfg(not(feature = "s3"))]
fn s3_store(bucket: &str, _prefix: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    anyhow::bail!(
        "--data-dir s3://{bucket}: this groupd was built without S3 support (cargo feature `s3`)"
    )
}

#[cfg(test)]
mod tests;
