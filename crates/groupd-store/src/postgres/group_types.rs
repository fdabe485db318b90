//! The group-type catalogue on PostgreSQL. Type creation holds the project's advisory type lock,
//! so capture (which assigns types too) and REST never give one index twice.
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use groupd_core::{GroupTypeIndex, ProjectId};

use super::{
    PgStore,
    changes::PendingChanges,
    counts,
    error::is_unique_violation,
    rows::{GROUP_TYPE_COLS, group_type, group_type_from_row, group_types, select_one},
    tx::{lock_group_types, run_with_tx},
    values::{Ts, nul_safe, pg_index},
};
use crate::{
    GroupType, GroupTypeMetadataUpdate, GroupTypeStore, NewGroupType, StoreError, StoreResult,
    TypeRef, new_type_index, to_json_text,
};

async fn create_in(c: &impl GenericClient, new: &NewGroupType, now: i64) -> StoreResult<GroupType> {
    let (project, max_group_types) = (new.project, new.max_group_types);
    lock_group_types(c, project.0).await?;
    let existing = group_types(c, project).await?;
    let index = new_type_index(existing, &new.group_type, max_group_types)?;
    let st = c
        .prepare_cached(
            "INSERT INTO group_types (project_id, group_type_index, group_type, name_singular, name_plural, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    let inserted = c
        .execute(
            &st,
            &[
                &project.0,
                &pg_index(index).ok_or(StoreError::GroupTypeLimit(max_group_types))?,
                &nul_safe(&new.group_type),
                &new.name_singular.as_deref().map(nul_safe),
                &new.name_plural.as_deref().map(nul_safe),
                &Ts(now),
            ],
        )
        .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(StoreError::GroupTypeExists),
        other => other?,
    };
    Ok(GroupType {
        index,
        group_type: new.group_type.clone(),
        name_singular: new.name_singular.clone(),
        name_plural: new.name_plural.clone(),
        default_columns: None,
        created_at: now,
    })
}

async fn update_metadata_in(
    c: &impl GenericClient,
    project: ProjectId,
    updates: &[GroupTypeMetadataUpdate],
) -> StoreResult<Vec<GroupType>> {
    for u in updates {
        let missing = || StoreError::GroupTypeMissing(u.index);
        let i = pg_index(u.index).ok_or_else(missing)?;
        if group_type(c, project, i).await?.is_none() {
            return Err(missing());
        }
        let names = [
            ("name_singular", &u.name_singular),
            ("name_plural", &u.name_plural),
        ];
        for (column, name) in names {
            let Some(name) = name else { continue };
            let st = c
                .prepare_cached(&format!(
                    "UPDATE group_types SET {column} = $3 WHERE project_id = $1 AND group_type_index = $2"
                ))
                .await?;
            c.execute(&st, &[&project.0, &i, &name.as_deref().map(nul_safe)])
                .await?;
        }
    }
    group_types(c, project).await
}

async fn delete_in(c: &impl GenericClient, project: ProjectId, i: i32) -> StoreResult<()> {
    let Some(row) = c
        .query_opt(
            "DELETE FROM group_types WHERE project_id = $1 AND group_type_index = $2 RETURNING group_type",
            &[&project.0, &i],
        )
        .await?
    else {
        return Err(StoreError::NotFound);
    };
    let name: String = row.get(0);
    // A type created later at this index starts without the old type's metrics or events.
    c.execute(
        "DELETE FROM usage_metrics WHERE project_id = $1 AND group_type_index = $2",
        &[&project.0, &i],
    )
    .await?;
    c.execute(
        "INSERT INTO group_types_reused (project_id, group_type_index) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
        &[&project.0, &i],
    )
    .await?;
    c.execute(
        "DELETE FROM group_activity WHERE project_id = $1 AND group_id IN
           (SELECT id FROM groups WHERE project_id = $1 AND group_type_index = $2)",
        &[&project.0, &i],
    )
    .await?;
    c.execute(
        "UPDATE group_versions SET group_id = -group_id
         WHERE project_id = $1 AND left(ops, 1) = '{' AND group_id IN
           (SELECT id FROM groups WHERE project_id = $1 AND group_type_index = $2)",
        &[&project.0, &i],
    )
    .await?;
    for table in ["group_versions", "group_property_versions"] {
        c.execute(
            &format!(
                "DELETE FROM {table} WHERE project_id = $1 AND group_id IN
                   (SELECT id FROM groups WHERE project_id = $1 AND group_type_index = $2)"
            ),
            &[&project.0, &i],
        )
        .await?;
    }
    c.execute(
        "DELETE FROM group_tombstones WHERE project_id = $1 AND group_type_index = $2",
        &[&project.0, &i],
    )
    .await?;
    c.execute(
        "DELETE FROM groups WHERE project_id = $1 AND group_type_index = $2",
        &[&project.0, &i],
    )
    .await?;
    // After the groups, whose row locks made any capture batch that changed one of them commit
    // first, counts included: none of theirs is left behind.
    counts::drop_type(c, project, i).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let mut pending = PendingChanges::default();
    pending.push(
        project,
        crate::lifecycle::type_deleted(GroupTypeIndex(i64::from(i)), name, now),
    );
    pending.commit(c, now).await
}

#[async_trait]
impl GroupTypeStore for PgStore {
    async fn list_group_types(&self, project: ProjectId) -> StoreResult<Vec<GroupType>> {
        let c = self.client().await?;
        group_types(&c, project).await
    }

    async fn create_group_type(&self, new: NewGroupType, now_us: i64) -> StoreResult<GroupType> {
        run_with_tx!(self.pool, |tx| create_in(&tx, &new, now_us).await)
    }

    async fn update_group_type_metadata(
        &self,
        project: ProjectId,
        updates: Vec<GroupTypeMetadataUpdate>,
    ) -> StoreResult<Vec<GroupType>> {
        run_with_tx!(self.pool, |tx| update_metadata_in(&tx, project, &updates)
            .await)
    }

    async fn set_default_columns(
        &self,
        t: TypeRef,
        columns: Vec<String>,
    ) -> StoreResult<GroupType> {
        let i = pg_index(t.index).ok_or(StoreError::NotFound)?;
        let sql = format!(
            "UPDATE group_types SET default_columns = $3 WHERE project_id = $1 AND group_type_index = $2
             RETURNING {GROUP_TYPE_COLS}"
        );
        let text = nul_safe(&to_json_text(&columns)?).into_owned();
        let c = self.client().await?;
        select_one(&c, &sql, &[&t.project.0, &i, &text], group_type_from_row)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn delete_group_type(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
    ) -> StoreResult<()> {
        let i = pg_index(index).ok_or(StoreError::NotFound)?;
        run_with_tx!(self.pool, |tx| delete_in(&tx, project, i).await)?;
        self.changed();
        Ok(())
    }
}
