//! Segments in a local directory, with their heads and ranged reads done on the calling thread.
//! object_store's `LocalFileSystem` hands every read to tokio's blocking pool, a thread hop each
//! way; a query heads each segment it lists and reads a footer and a few column chunks from it,
//! mostly from the page cache, and those hops were about a tenth of a count by event (perf:
//! scheduler wake-ups between the runtime's threads and the blocking pool). Writes, listings,
//! whole-object reads and deletes stay with `LocalFileSystem` as they are.
use std::{fmt, fs::File, ops::Range, os::unix::fs::FileExt, time::SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::object_store::{
    self, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    local::LocalFileSystem, path::Path,
};
use futures::stream::{self, BoxStream, StreamExt};

/// A `LocalFileSystem` whose heads and ranged reads run inline.
#[derive(Debug)]
pub(crate) struct InlineLocal {
    inner: LocalFileSystem,
}

impl InlineLocal {
    pub(crate) fn new(inner: LocalFileSystem) -> Self {
        Self { inner }
    }

    fn open(&self, location: &Path) -> Result<File> {
        let path = self.inner.path_to_filesystem(location)?;
        File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => not_found(location, Box::new(e)),
            _ => generic(e),
        })
    }
}

fn not_found(
    location: &Path,
    source: Box<dyn std::error::Error + Send + Sync>,
) -> object_store::Error {
    object_store::Error::NotFound {
        path: location.to_string(),
        source,
    }
}

fn generic(e: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(e),
    }
}

/// The object's metadata as `LocalFileSystem` reports it (same e-tag scheme, so caches keyed
/// on it agree whichever of the two produced it); a directory is not an object, as there.
fn meta_of(file: &File, location: &Path) -> Result<ObjectMeta> {
    let md = file.metadata().map_err(generic)?;
    if md.is_dir() {
        return Err(not_found(location, "is a directory".into()));
    }
    let modified = md.modified().map_err(generic)?;
    let mtime = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    let inode = std::os::unix::fs::MetadataExt::ino(&md);
    Ok(ObjectMeta {
        location: location.clone(),
        last_modified: modified.into(),
        size: md.len(),
        e_tag: Some(format!("{inode:x}-{mtime:x}-{:x}", md.len())),
        version: None,
    })
}

fn read_at(file: &File, range: Range<u64>) -> Result<Bytes> {
    let len = usize::try_from(range.end.saturating_sub(range.start)).map_err(generic)?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, range.start).map_err(generic)?;
    Ok(buf.into())
}

impl fmt::Display for InlineLocal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InlineLocal({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for InlineLocal {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    /// Heads (a query heads each segment it lists) and ranged reads inline; a whole-object read
    /// (a merge reading its inputs) as `LocalFileSystem` does it.
    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if !options.head && options.range.is_none() {
            return self.inner.get_opts(location, options).await;
        }
        let file = self.open(location)?;
        let meta = meta_of(&file, location)?;
        options.check_preconditions(&meta)?;
        let Some(range) = options.range.clone().filter(|_| !options.head) else {
            return Ok(GetResult {
                payload: GetResultPayload::Stream(stream::empty().boxed()),
                attributes: Default::default(),
                range: 0..meta.size,
                meta,
            });
        };
        let range = range.as_range(meta.size).map_err(generic)?;
        let bytes = read_at(&file, range.clone())?;
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream::once(async move { Ok(bytes) }).boxed()),
            attributes: Default::default(),
            range,
            meta,
        })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let file = self.open(location)?;
        ranges.iter().map(|r| read_at(&file, r.clone())).collect()
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: object_store::CopyOptions,
    ) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: object_store::RenameOptions,
    ) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use datafusion::object_store::{
        ObjectStore, ObjectStoreExt, local::LocalFileSystem, path::Path,
    };

    use super::InlineLocal;

    /// Ranged reads, whole reads, heads and a missing file answer as `LocalFileSystem` does.
    #[tokio::test]
    async fn reads_agree_with_the_local_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let inline = InlineLocal::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        let p = Path::from("p1/20000/a.parquet");
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        inline.put(&p, data.clone().into()).await.unwrap();
        assert_eq!(
            inline.get_range(&p, 10..5000).await.unwrap(),
            local.get_range(&p, 10..5000).await.unwrap()
        );
        assert_eq!(
            &inline.get_range(&p, 9990..10_000).await.unwrap()[..],
            &data[9990..]
        );
        let ranges = inline.get_ranges(&p, &[0..3, 100..200]).await.unwrap();
        assert_eq!(
            (&ranges[0][..], &ranges[1][..]),
            (&data[0..3], &data[100..200])
        );
        assert_eq!(
            inline.head(&p).await.unwrap(),
            local.head(&p).await.unwrap()
        );
        let whole = inline.get(&p).await.unwrap().bytes().await.unwrap();
        assert_eq!(&whole[..], &data[..]);
        let ranged = inline
            .get_opts(
                &p,
                datafusion::object_store::GetOptions {
                    range: Some((0..10).into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ranged.meta, local.head(&p).await.unwrap());
        let missing = Path::from("p1/20000/none.parquet");
        assert!(matches!(
            inline.get_range(&missing, 0..1).await,
            Err(datafusion::object_store::Error::NotFound { .. })
        ));
        // A range past the end is cut to the file, as LocalFileSystem cuts it.
        assert_eq!(
            inline.get_range(&p, 9000..20_000).await.unwrap(),
            local.get_range(&p, 9000..20_000).await.unwrap()
        );
        assert!(inline.get_range(&p, 10_000..10_001).await.is_err());
        for dir_or_missing in ["p1/20000", "p1/20000/none.parquet"] {
            assert!(matches!(
                inline.head(&Path::from(dir_or_missing)).await,
                Err(datafusion::object_store::Error::NotFound { .. })
            ));
        }
    }
}
