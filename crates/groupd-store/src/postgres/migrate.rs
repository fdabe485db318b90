//! The schema: creating the database when the server lacks it, and versioned migrations recorded in
//! `schema_migrations`, applied under an advisory lock so concurrent processes run each once.
use std::time::Duration;

use tokio_postgres::error::SqlState;

use super::values::pg_message;
use crate::{StoreError, StoreResult, redact_url};

/// Schema migrations, applied in order; `schema_migrations` records the versions applied.
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_property_counts.sql")),
    (3, include_str!("migrations/0003_key_equality.sql")),
    (4, include_str!("migrations/0004_key_lifecycle.sql")),
    (5, include_str!("migrations/0005_parity.sql")),
    (6, include_str!("migrations/0006_segments.sql")),
    (7, include_str!("migrations/0007_lifecycle.sql")),
    (8, include_str!("migrations/0008_ui_sessions.sql")),
    (9, include_str!("migrations/0009_compact_activity.sql")),
    (10, include_str!("migrations/0010_edit_versions.sql")),
];
/// Advisory lock namespace of migrations (the first key of `pg_advisory_xact_lock(int, int)`).
const LOCK_MIGRATIONS: i32 = 0x6770_0001;

/// Creates the database the config names when the server answers that it does not exist.
pub(super) async fn ensure_database(
    config: &tokio_postgres::Config,
    tls: &super::tls::Tls,
    url: &str,
) -> StoreResult<()> {
    let unreachable = |e: tokio_postgres::Error| {
        StoreError::Config(format!(
            "cannot connect to PostgreSQL at {}: {}",
            redact_url(url),
            pg_message(&e)
        ))
    };
    match config.connect(tls.clone()).await {
        Ok((client, conn)) => {
            drop(client);
            let _ = conn.await;
            Ok(())
        }
        Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
            let name = config.get_dbname().unwrap_or_default().to_owned();
            let mut admin = config.clone();
            admin.dbname("postgres");
            let (client, conn) = admin.connect(tls.clone()).await.map_err(unreachable)?;
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
pub(super) async fn migrate(client: &mut deadpool_postgres::Client) -> StoreResult<()> {
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

#[cfg(test)]
mod tests {
    use groupd_core::{GroupKey, GroupTypeIndex, ProjectId};
    use serde_json::{Value, json};
    use tokio_postgres::NoTls;

    use crate::{Change, GroupRef, IngestBatch, NewGroup, Store, StoreOptions, ValuesQuery};

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
        let p: ProjectId = crate::conformance::project(&s).await;
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
        s.ingest(
            p,
            IngestBatch {
                source: Default::default(),
                events: evs,
                max_group_types: 5,
                now_us: T0 + 100,
            },
        )
        .await
        .unwrap();
        s.create_group(
            NewGroup {
                group: GroupRef {
                    project: p,
                    index: GroupTypeIndex(1),
                    key: GroupKey::parse("rest").unwrap(),
                },
                properties: match props {
                    Value::Object(m) => m,
                    _ => unreachable!(),
                },
            },
            Change::api(groupd_core::Actor::System, T0),
        )
        .await
        .unwrap();
        let maintained = count_rows(&db.url).await;
        assert!(maintained.1.len() > 30, "{maintained:?}");
        let nul = s
            .property_values(
                p,
                ValuesQuery {
                    index: GroupTypeIndex(0),
                    property: "nul".to_owned(),
                    value_contains: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(nul[0].name, "a\u{FFFD}b");

        let typed = |s: std::sync::Arc<dyn Store>| async move {
            let mut out = Vec::new();
            for i in 0..2 {
                let q = crate::TypedPropertyQuery {
                    index: GroupTypeIndex(i),
                    search: None,
                    offset: 0,
                    limit: 1000,
                };
                out.push(s.typed_properties(p, q).await.unwrap());
            }
            out
        };
        let types_maintained = typed(s.clone()).await;

        // Back to a schema before migration 2, then upgrade.
        drop(s);
        let (client, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        client
            .batch_execute(
                "DROP TABLE group_prop_keys, group_prop_values;
                 DROP INDEX groups_key_lower_eq;
                 DROP TABLE group_prop_types, usage_metrics, group_types_reused;
                 DROP INDEX events_by_time;
                 DELETE FROM schema_migrations WHERE version >= 2",
            )
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
        let upgraded: std::sync::Arc<dyn Store> = crate::open(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        let backfilled = count_rows(&db.url).await;
        assert_eq!(backfilled.0, maintained.0);
        assert_eq!(backfilled.1, maintained.1);
        assert_eq!(
            typed(upgraded.clone()).await,
            types_maintained,
            "property types"
        );
        assert_eq!(
            upgraded
                .property_values(
                    p,
                    ValuesQuery {
                        index: GroupTypeIndex(0),
                        property: "seats".to_owned(),
                        value_contains: None
                    }
                )
                .await
                .unwrap()
                .len(),
            4
        );
    }

    /// A database written before migration 9 keeps every activity entry when it upgrades: the
    /// same ids, authors, times and `detail` (nested values keep their key order), a deletion's
    /// entry too, and entries written after the upgrade follow the migrated ones.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn activity_documents_become_columns_without_loss() {
        use crate::{ActivityPage, GroupDeletion, GroupPatch};
        let Some(db) = crate::conformance::pg::open().await else {
            return;
        };
        let s = db.store.clone();
        let p: ProjectId = crate::conformance::project(&s).await;
        s.create_group_type(
            crate::NewGroupType {
                project: p,
                max_group_types: 5,
                group_type: "org".into(),
                name_singular: None,
                name_plural: None,
            },
            1_000,
        )
        .await
        .unwrap();
        let group = |key: &str| GroupRef {
            project: p,
            index: GroupTypeIndex(0),
            key: GroupKey::parse(key).unwrap(),
        };
        let Value::Object(props) =
            json!({"plan": "pro", "obj": {"b": 1, "a": [2, "x"]}, "n": null})
        else {
            unreachable!()
        };
        let key = groupd_core::Actor::Key("crm \"sync\"".into());
        for k in ["acme", "gone"] {
            s.create_group(
                NewGroup {
                    group: group(k),
                    properties: props.clone(),
                },
                Change::api(key.clone(), 1_000),
            )
            .await
            .unwrap();
        }
        let Value::Object(set) = json!({"plan": {"z": 1, "y": 2.5}, "seats": 3}) else {
            unreachable!()
        };
        s.patch_group(
            GroupPatch {
                group: group("acme"),
                set,
                unset: vec!["obj".into()],
            },
            Change::api(groupd_core::Actor::System, 2_000),
        )
        .await
        .unwrap();
        s.delete_groups(
            GroupDeletion {
                project: p,
                index: GroupTypeIndex(0),
                keys: vec![GroupKey::parse("gone").unwrap()],
            },
            Change::api(key.clone(), 3_000),
        )
        .await
        .unwrap();
        let read = |s: std::sync::Arc<dyn Store>, k: &'static str| async move {
            let id = s.activity_group_id(&group(k)).await.unwrap().unwrap();
            let page = ActivityPage {
                group_id: id,
                offset: 0,
                limit: 100,
            };
            s.group_activity(p, page).await.unwrap()
        };
        let before = [read(s.clone(), "acme").await, read(s.clone(), "gone").await];
        assert!(before[0].1 >= 5, "{:?}", before[0]);
        assert_eq!(before[0].1 as usize, before[0].0.len());
        assert_eq!(before[1].0[0].activity, "delete_group");

        // Back to the activity table of migration 1, holding what groupd wrote then: each
        // entry's `detail` document and its uuid as text.
        drop(s);
        let (client, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        let mut ids = Vec::new();
        for k in ["acme", "gone"] {
            let gid = db
                .store
                .activity_group_id(&group(k))
                .await
                .unwrap()
                .unwrap();
            let rows = client
                .query(
                    "SELECT id FROM group_activity WHERE group_id = $1 ORDER BY id",
                    &[&gid],
                )
                .await
                .unwrap();
            ids.push((gid, rows.iter().map(|r| r.get(0)).collect::<Vec<i64>>()));
        }
        client
            .batch_execute(
                "DROP TABLE group_activity;
                 CREATE TABLE group_activity (
                     project_id BIGINT NOT NULL,
                     id BIGINT GENERATED ALWAYS AS IDENTITY,
                     group_id BIGINT NOT NULL,
                     uuid TEXT NOT NULL,
                     activity TEXT NOT NULL,
                     detail TEXT NOT NULL,
                     actor TEXT,
                     created_at TIMESTAMPTZ NOT NULL,
                     PRIMARY KEY (project_id, id));
                 CREATE INDEX group_activity_by_group
                     ON group_activity (project_id, group_id, created_at DESC, id DESC);
                 DELETE FROM schema_migrations WHERE version >= 9",
            )
            .await
            .unwrap();
        for ((entries, _), (group_id, group_ids)) in before.iter().zip(&ids) {
            // acme's entries are read from its versions (migration 10), not from this table;
            // gone's deletion copied all of its own here.
            if group_ids.is_empty() {
                continue;
            }
            assert_eq!(entries.len(), group_ids.len());
            // Oldest first, so ids ascend as they did.
            for (e, id) in entries.iter().rev().zip(group_ids) {
                let actor = match &e.actor {
                    groupd_core::Actor::Key(l) => Some(l.clone()),
                    groupd_core::Actor::System => None,
                };
                client
                    .execute(
                        "INSERT INTO group_activity
                           (project_id, id, group_id, uuid, activity, detail, actor, created_at)
                         OVERRIDING SYSTEM VALUE
                         VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8::float8 / 1e6))",
                        &[
                            &p.0,
                            id,
                            group_id,
                            &e.id,
                            &e.activity,
                            &e.detail.to_string(),
                            &actor,
                            &(e.created_at as f64),
                        ],
                    )
                    .await
                    .unwrap();
            }
        }
        drop(client);
        let _ = task.await;

        let upgraded: std::sync::Arc<dyn Store> = crate::open(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        let after = [
            read(upgraded.clone(), "acme").await,
            read(upgraded.clone(), "gone").await,
        ];
        assert_eq!(after, before);
        // Key order inside a value survives (a `jsonb` round trip would sort it).
        let plan = after[0]
            .0
            .iter()
            .find(|e| e.detail["name"] == "plan")
            .unwrap();
        assert_eq!(
            plan.detail["changes"][0]["after"].to_string(),
            r#"{"z":1,"y":2.5}"#
        );
        // New entries number on after the migrated ones.
        upgraded
            .update_group_property(
                crate::PropertyEdit {
                    group: group("acme"),
                    property: "seats".into(),
                    op: groupd_core::merge::PropOp::Set(json!(4)),
                },
                Change::api(groupd_core::Actor::System, 4_000),
            )
            .await
            .unwrap();
        let (latest, total) = read(upgraded.clone(), "acme").await;
        assert_eq!(total, before[0].1 + 1);
        assert_eq!(latest[0].detail["changes"][0]["after"], json!(4));
        assert_eq!(latest[1..], after[0].0[..]);
    }
}
