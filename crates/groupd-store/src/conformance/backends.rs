//! The backends the suite runs on: a temporary SQLite file, and a fresh PostgreSQL database per
//! test (`GROUPD_TEST_POSTGRES` names the server; it must be reachable unless
//! `GROUPD_SKIP_POSTGRES=1`, so a missing server never passes silently).

/// A fresh PostgreSQL database per test, dropped afterwards.
pub mod pg {
    use std::sync::Arc;

    use crate::Store;

    /// The server the tests use (`GROUPD_TEST_POSTGRES` overrides).
    pub fn admin_url() -> String {
        std::env::var("GROUPD_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
    }

    /// A store on a fresh database `groupd_test_<random>`.
    pub struct PgTestDb {
        pub store: Arc<dyn Store>,
        pub url: String,
        name: String,
    }

    impl AsRef<Arc<dyn Store>> for PgTestDb {
        fn as_ref(&self) -> &Arc<dyn Store> {
            &self.store
        }
    }

    /// `None` (skip) when the server is unreachable and `GROUPD_SKIP_POSTGRES=1`; otherwise an
    /// unreachable server fails the test with a message saying so.
    pub async fn open() -> Option<PgTestDb> {
        let admin = admin_url();
        let name = format!("groupd_test_{}", uuid::Uuid::new_v4().simple());
        let connected = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await;
        let (client, conn) = match connected {
            Ok(c) => c,
            Err(e) if std::env::var("GROUPD_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!("skipped: no PostgreSQL at {admin}: {e}");
                return None;
            }
            Err(e) => panic!(
                "these tests need a PostgreSQL server at {admin} (GROUPD_TEST_POSTGRES sets another; \
                 GROUPD_SKIP_POSTGRES=1 skips them): {e}"
            ),
        };
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let store = crate::open(&url, &crate::StoreOptions::default())
            .await
            .expect("open the test database");
        Some(PgTestDb { store, url, name })
    }

    impl Drop for PgTestDb {
        fn drop(&mut self) {
            let (admin, name) = (admin_url(), self.name.clone());
            // Drop may run inside a runtime: do the blocking work on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                        .await
                        .ok()?;
                    let task = tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    drop(client);
                    let _ = task.await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// A store on a temporary SQLite file.
pub mod sqlite {
    use std::sync::Arc;

    use crate::Store;

    pub struct SqliteTestDb {
        pub store: Arc<dyn Store>,
        _dir: tempfile::TempDir,
    }

    impl AsRef<Arc<dyn Store>> for SqliteTestDb {
        fn as_ref(&self) -> &Arc<dyn Store> {
            &self.store
        }
    }

    pub async fn open() -> Option<SqliteTestDb> {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::open(&url, &crate::StoreOptions::default())
            .await
            .unwrap();
        Some(SqliteTestDb { store, _dir: dir })
    }
}

#[cfg(test)]
mod sqlite_backend {
    crate::conformance_tests!(crate::conformance::sqlite::open);
}

#[cfg(test)]
mod postgres_backend {
    crate::conformance_tests!(crate::conformance::pg::open);

    /// Several processes starting at once on a database that does not exist yet: it is created
    /// once, migrated once, and every one of them opens it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_opens_create_and_migrate_once() {
        let Some(probe) = crate::conformance::pg::open().await else {
            return;
        };
        drop(probe);
        let admin = crate::conformance::pg::admin_url();
        let name = format!("groupd_test_{}", uuid::Uuid::new_v4().simple());
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let opened = futures_join(&url).await;
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        let versions: i64 = client
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        drop(client);
        let _ = task.await;
        drop(opened);
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
        assert_eq!(versions, crate::postgres::MIGRATIONS.len() as i64);
    }

    /// Two processes creating the same new groups at once: each group is created once and keeps
    /// both processes' properties (the one that lost the race to insert it runs again and then
    /// updates it), and the counts still match the groups.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_creating_the_same_groups_keep_both_changes() {
        use crate::{
            IngestBatch,
            conformance::{SEC, T0, assert_counts_match_groups, found, identify, project},
        };
        use serde_json::json;
        let Some(db) = crate::conformance::pg::open().await else {
            return;
        };
        let other = crate::open(&db.url, &crate::StoreOptions::default())
            .await
            .unwrap();
        let p = project(&db.store).await;
        let batch = |events| IngestBatch {
            source: Default::default(),
            events,
            max_group_types: 5,
            now_us: T0 + 1000 * SEC,
        };
        let first = identify("org", "seed", T0, json!({}), json!({}), &[]);
        db.store.ingest(p, batch(vec![first])).await.unwrap();
        const ROUNDS: i64 = 8;
        const KEYS: i64 = 200;
        for round in 0..ROUNDS {
            let tasks: Vec<_> = [db.store.clone(), other.clone()]
                .into_iter()
                .enumerate()
                .map(|(n, s)| {
                    let events = (0..KEYS)
                        .map(|k| {
                            identify(
                                "org",
                                &format!("g{round}-{k}"),
                                T0 + n as i64 * SEC,
                                json!({ format!("from{n}"): n, "plan": "gold" }),
                                json!({ "first": n }),
                                &[],
                            )
                        })
                        .collect();
                    let b = batch(events);
                    tokio::spawn(async move { s.ingest(p, b).await.unwrap() })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
        let org = db.store.list_group_types(p).await.unwrap()[0].index;
        for round in 0..ROUNDS {
            for k in (0..KEYS).step_by(17) {
                let g = found(&db.store, p, org, &format!("g{round}-{k}")).await;
                let props = g.properties();
                assert_eq!(props["from0"], json!(0), "{round}-{k}: {props:?}");
                assert_eq!(props["from1"], json!(1), "{round}-{k}: {props:?}");
                // The earlier event's set_once wins, whichever process inserted the row.
                assert_eq!(props["first"], json!(0), "{round}-{k}: {props:?}");
                assert_eq!(g.created_at, T0);
            }
        }
        assert_counts_match_groups(&db.store, p).await;
    }

    async fn futures_join(url: &str) -> Vec<std::sync::Arc<dyn crate::Store>> {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let url = url.to_owned();
                tokio::spawn(
                    async move { crate::open(&url, &crate::StoreOptions::default()).await },
                )
            })
            .collect();
        let mut stores = Vec::new();
        for t in tasks {
            stores.push(t.await.unwrap().expect("every concurrent open succeeds"));
        }
        stores
    }
}
