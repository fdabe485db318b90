//! `groupd backup --out FILE`: the database copied online by the store (SQLite's `VACUUM INTO`),
//! then its event segments copied to `FILE.segments/`, where `groupd serve --database
//! sqlite://FILE` looks by default. The database goes first: every segment its catalog lists
//! still exists when the files are copied (replaced segments are kept for a grace period), and
//! segments written meanwhile are orphans the copy's compactor sweeps.
use std::{path::Path, sync::Arc};

use anyhow::Context;
use groupd_store::{Store, StoreError};
use serde_json::json;

use crate::Refused;

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<u64> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut n = 0;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            n += copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
            n += 1;
        }
    }
    Ok(n)
}

pub async fn backup(
    store: &Arc<dyn Store>,
    data_dir: Option<String>,
    out: &Path,
) -> anyhow::Result<()> {
    if out.exists() {
        return Err(Refused(format!(
            "{} exists already: backup writes a new file",
            out.display()
        ))
        .into());
    }
    match store.backup_to(out).await {
        Err(StoreError::Config(why)) => return Err(Refused(why).into()),
        other => other?,
    }
    let segments = data_dir.unwrap_or_else(|| store.default_data_dir().0);
    let mut copy = out.as_os_str().to_owned();
    copy.push(".segments");
    let copy = Path::new(&copy);
    let files = if segments.starts_with("s3://") {
        eprintln!("segments on {segments} are not copied: they stay in the bucket");
        0
    } else if Path::new(&segments).is_dir() {
        copy_dir(Path::new(&segments), copy)?
    } else {
        0
    };
    println!(
        "{}",
        json!({"database": out.display().to_string(), "segments": copy.display().to_string(), "segment_files": files})
    );
    Ok(())
}
