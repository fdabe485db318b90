//! The change stream on PostgreSQL. A transaction's changes are numbered as its last statements:
//! `INSERT … ON CONFLICT DO UPDATE SET head = head + n RETURNING head` on the project's head row
//! (the next writer of the project waits on that row lock until this transaction commits, so seq
//! order is commit order and a rollback leaves no gap), then the entries go in below the head and
//! a `pg_notify` (delivered at commit) wakes the readers of every process. The notification is
//! only a hint: readers also poll.
use std::{collections::BTreeMap, sync::Weak, time::Duration};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use groupd_core::{GroupTypeIndex, ProjectId};
use tokio::sync::watch;
use tokio_postgres::AsyncMessage;

use super::{
    PgStore,
    values::{Ts, nul_safe},
};
use crate::{
    ChangeKind, ChangePage, ChangeSource, ChangeStore, ChangesQuery, GroupChange, StoreResult,
    lifecycle::{self, PendingChange},
};

/// The NOTIFY channel.
const CHANNEL: &str = "groupd_changes";

/// Changes waiting for their seqs, per project.
#[derive(Default)]
pub(super) struct PendingChanges(BTreeMap<i64, Vec<PendingChange>>);

impl PendingChanges {
    pub(super) fn push(&mut self, project: ProjectId, c: PendingChange) {
        self.0.entry(project.0).or_default().push(c);
    }

    pub(super) fn extend(
        &mut self,
        project: ProjectId,
        cs: impl IntoIterator<Item = PendingChange>,
    ) {
        for c in cs {
            self.push(project, c);
        }
    }

    pub(super) fn absorb(&mut self, other: PendingChanges) {
        for (p, cs) in other.0 {
            self.0.entry(p).or_default().extend(cs);
        }
    }

    /// Numbers and stores every change (projects in id order, so two writers cannot deadlock on
    /// the head rows). Call it as the transaction's last step.
    pub(super) async fn commit(self, c: &impl GenericClient, now: i64) -> StoreResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let bump = c
            .prepare_cached(
                "INSERT INTO project_change_seq (project_id, head) VALUES ($1, $2)
                 ON CONFLICT (project_id) DO UPDATE SET head = project_change_seq.head + $2
                 RETURNING head",
            )
            .await?;
        let insert = c
            .prepare_cached(
                "INSERT INTO group_changes (project_id, seq, kind, group_type_index, group_type, group_key,
                                            changes, event_time, recorded_at, source)
                 SELECT $1, $2 + n, k, i, t, g, ch, e, $3, s
                 FROM unnest($4::text[], $5::int4[], $6::text[], $7::text[], $8::text[],
                             $9::timestamptz[], $10::text[]) WITH ORDINALITY AS x(k, i, t, g, ch, e, s, n)",
            )
            .await?;
        let names = c
            .prepare_cached(
                "SELECT group_type_index, group_type FROM group_types WHERE project_id = $1",
            )
            .await?;
        for (project, cs) in self.0 {
            let n = cs.len() as i64;
            let head: i64 = c.query_one(&bump, &[&project, &n]).await?.get(0);
            let kinds: Vec<&str> = cs.iter().map(|p| p.kind.as_str()).collect();
            let indexes: Vec<i32> = cs.iter().map(|p| p.index.0 as i32).collect();
            // The type's name as it is now: an entry keeps it after the type is deleted.
            let names: Vec<(i32, String)> = c
                .query(&names, &[&project])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let types: Vec<Option<String>> = cs
                .iter()
                .map(|p| {
                    p.group_type.clone().or_else(|| {
                        names
                            .iter()
                            .find(|(i, _)| i64::from(*i) == p.index.0)
                            .map(|(_, n)| n.clone())
                    })
                })
                .collect();
            let keys: Vec<Option<String>> = cs
                .iter()
                .map(|p| p.key.as_deref().map(|k| nul_safe(k).into_owned()))
                .collect();
            let changes: Vec<String> = cs
                .iter()
                .map(|p| nul_safe(&p.changes).into_owned())
                .collect();
            let times: Vec<Ts> = cs.iter().map(|p| Ts(p.event_us)).collect();
            let sources: Vec<String> = cs
                .iter()
                .map(|p| nul_safe(&p.source).into_owned())
                .collect();
            c.execute(
                &insert,
                &[
                    &project,
                    &(head - n),
                    &Ts(now),
                    &kinds,
                    &indexes,
                    &types,
                    &keys,
                    &changes,
                    &times,
                    &sources,
                ],
            )
            .await?;
        }
        c.execute("SELECT pg_notify($1, '')", &[&CHANNEL]).await?;
        Ok(())
    }
}

/// Listens for other processes' commits and bumps `signal` on each; reconnects after a failure,
/// and stops (closing its connection) once the store is gone.
pub(super) fn listen(
    config: tokio_postgres::Config,
    tls: super::tls::Tls,
    signal: Weak<watch::Sender<u64>>,
) {
    tokio::spawn(async move {
        while signal.strong_count() > 0 {
            if let Ok((client, mut conn)) = config.connect(tls.clone()).await {
                let driver = async {
                    while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                        match (m, signal.upgrade()) {
                            (Ok(AsyncMessage::Notification(_)), Some(s)) => {
                                s.send_modify(|n| *n = n.wrapping_add(1));
                            }
                            (Err(_), _) => break,
                            _ => {}
                        }
                    }
                };
                let listen = async {
                    if client
                        .batch_execute(&format!("LISTEN {CHANNEL}"))
                        .await
                        .is_ok()
                    {
                        while signal.strong_count() > 0 {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                };
                tokio::select! {
                    () = driver => {}
                    () = listen => {}
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[async_trait]
impl ChangeStore for PgStore {
    async fn changes(&self, q: ChangesQuery) -> StoreResult<ChangePage> {
        let c = self.client().await?;
        // The head first: every change up to it is committed, so the rows read next hold them all.
        let st = c
            .prepare_cached("SELECT head FROM project_change_seq WHERE project_id = $1")
            .await?;
        let head: i64 = c
            .query_opt(&st, &[&q.project.0])
            .await?
            .map_or(0, |r| r.get(0));
        let st = c
            .prepare_cached("SELECT min(seq) FROM group_changes WHERE project_id = $1")
            .await?;
        let oldest: Option<i64> = c.query_one(&st, &[&q.project.0]).await?.get(0);
        let st = c
            .prepare_cached(
                "SELECT c.seq, c.kind, c.group_type_index, coalesce(c.group_type, t.group_type), c.group_key,
                        c.changes, c.event_time, c.recorded_at, c.source
                 FROM group_changes c
                 LEFT JOIN group_types t ON t.project_id = c.project_id AND t.group_type_index = c.group_type_index
                 WHERE c.project_id = $1 AND c.seq > $2 AND c.seq <= $3
                   AND ($4::int4 IS NULL OR c.group_type_index = $4)
                 ORDER BY c.seq LIMIT $5",
            )
            .await?;
        let index = q.index.map(|i| i32::try_from(i.0).unwrap_or(-1));
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let rows = c
            .query(&st, &[&q.project.0, &q.since, &head, &index, &limit])
            .await?;
        let mut refs: (Vec<i64>, Vec<Ts>, Vec<Ts>) = Default::default();
        let mut results: Vec<GroupChange> = rows
            .iter()
            .map(|r| {
                let changes: String = r.get(5);
                let source: String = r.get(8);
                let (event_time, recorded_at) = (r.get::<_, Ts>(6).0, r.get::<_, Ts>(7).0);
                let changes = match lifecycle::version_ref(&changes) {
                    Some(g) => {
                        refs.0.push(g);
                        refs.1.push(Ts(event_time));
                        refs.2.push(Ts(recorded_at));
                        Default::default()
                    }
                    None => lifecycle::changes_from_stored(&changes),
                };
                GroupChange {
                    seq: r.get(0),
                    kind: ChangeKind::parse(r.get(1)),
                    index: GroupTypeIndex(i64::from(r.get::<_, i32>(2))),
                    group_type: r.get(3),
                    key: r.get(4),
                    changes,
                    event_time,
                    recorded_at,
                    source: ChangeSource::from_stored(&source),
                }
            })
            .collect();
        if !refs.0.is_empty() {
            // The creations that name their version (kept with a negated group id once the
            // group is deleted), fetched at once, in page order.
            let st = c
                .prepare_cached(
                    "SELECT x.n, v.ops
                     FROM unnest($2::int8[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS x(g, e, r, n)
                     JOIN group_versions v ON v.project_id = $1 AND v.group_id IN (x.g, -x.g)
                       AND v.event_time = x.e AND v.recorded_at = x.r AND left(v.ops, 1) = '{'",
                )
                .await?;
            let found: std::collections::HashMap<i64, String> = c
                .query(&st, &[&q.project.0, &refs.0, &refs.1, &refs.2])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let mut n = 0;
            for (change, text) in results
                .iter_mut()
                .zip(rows.iter().map(|r| r.get::<_, String>(5)))
            {
                if lifecycle::version_ref(&text).is_some() {
                    n += 1;
                    if let Some(ops) = found.get(&n) {
                        change.changes = lifecycle::changes_of_version(ops);
                    }
                }
            }
        }
        Ok(lifecycle::finish_page(results, &q, head, oldest))
    }

    async fn prune_changes(&self, before_us: i64) -> StoreResult<u64> {
        let c = self.client().await?;
        let st = c
            .prepare_cached("DELETE FROM group_changes WHERE recorded_at < $1")
            .await?;
        let n = c.execute(&st, &[&Ts(before_us)]).await?;
        // The creating versions of deleted groups kept for those entries.
        let st = c
            .prepare_cached("DELETE FROM group_versions WHERE group_id < 0 AND recorded_at < $1")
            .await?;
        c.execute(&st, &[&Ts(before_us)]).await?;
        Ok(n)
    }

    fn change_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.signal.subscribe()
    }
}
