//! Planner statistics for a database that grows from nothing.
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use deadpool_postgres::Pool;

/// Keeps planner statistics of fast-growing tables fresh. A new database grows from nothing
/// faster than autovacuum analyses it, and without statistics the planner may pick the list
/// index for a point lookup; so after every doubling of the rows this process wrote, it runs
/// `ANALYZE` in the background (autovacuum takes over for large tables).
#[derive(Default)]
pub(super) struct StatsKeeper {
    written: AtomicU64,
    next: AtomicU64,
}

/// Rows written before the first ANALYZE; later ones come after each doubling, up to the cap.
const ANALYZE_FIRST: u64 = 500;
const ANALYZE_CAP: u64 = 50_000_000;

impl StatsKeeper {
    pub(super) fn wrote(self: &Arc<Self>, pool: &Pool, rows: u64) {
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
                    .batch_execute("ANALYZE groups, group_versions, group_prop_values")
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
