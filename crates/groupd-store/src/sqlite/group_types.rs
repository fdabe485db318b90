//! The group-type catalogue on SQLite.
use async_trait::async_trait;
use groupd_core::{GroupTypeIndex, ProjectId};
use rusqlite::params;

use super::{
    SqliteStore, changes, counts, fts,
    rows::{group_type, group_types},
    usage,
};
use crate::{
    GroupType, GroupTypeMetadataUpdate, GroupTypeStore, NewGroupType, StoreError, StoreResult,
    TypeRef, new_type_index, to_json_text,
};

#[async_trait]
impl GroupTypeStore for SqliteStore {
    async fn list_group_types(&self, project: ProjectId) -> StoreResult<Vec<GroupType>> {
        self.readers
            .read_inline(move |c| group_types(c, project))
            .await
    }

    async fn create_group_type(&self, new: NewGroupType, now_us: i64) -> StoreResult<GroupType> {
        let (project, max_group_types) = (new.project, new.max_group_types);
        self.writer
            .write(move |c| {
                let index =
                    new_type_index(group_types(c, project)?, &new.group_type, max_group_types)?;
                c.prepare_cached(
                    "INSERT INTO group_types (project_id, group_type_index, group_type, name_singular, name_plural, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![project.0, index.0, new.group_type, new.name_singular, new.name_plural, now_us])?;
                Ok(GroupType {
                    index,
                    group_type: new.group_type,
                    name_singular: new.name_singular,
                    name_plural: new.name_plural,
                    default_columns: None,
                    created_at: now_us,
                })
            })
            .await
    }

    async fn update_group_type_metadata(
        &self,
        project: ProjectId,
        updates: Vec<GroupTypeMetadataUpdate>,
    ) -> StoreResult<Vec<GroupType>> {
        self.writer
            .write(move |c| {
                for u in &updates {
                    if group_type(c, project, u.index)?.is_none() {
                        return Err(StoreError::GroupTypeMissing(u.index));
                    }
                    let names = [("name_singular", &u.name_singular), ("name_plural", &u.name_plural)];
                    for (column, name) in names {
                        let Some(name) = name else { continue };
                        c.prepare_cached(&format!(
                            "UPDATE group_types SET {column} = ?3 WHERE project_id = ?1 AND group_type_index = ?2"
                        ))?
                        .execute(params![project.0, u.index.0, name])?;
                    }
                }
                group_types(c, project)
            })
            .await
    }

    async fn set_default_columns(
        &self,
        t: TypeRef,
        columns: Vec<String>,
    ) -> StoreResult<GroupType> {
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached("UPDATE group_types SET default_columns = ?3 WHERE project_id = ?1 AND group_type_index = ?2")?
                    .execute(params![t.project.0, t.index.0, to_json_text(&columns)?])?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                group_type(c, t.project, t.index)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn delete_group_type(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
    ) -> StoreResult<()> {
        self.writer
            .write(move |c| {
                let Some(gt) = group_type(c, project, index)? else {
                    return Err(StoreError::NotFound);
                };
                c.prepare_cached(
                    "DELETE FROM group_types WHERE project_id = ?1 AND group_type_index = ?2",
                )?
                .execute(params![project.0, index.0])?;
                let t = TypeRef { project, index };
                fts::drop_type(c, t)?;
                counts::drop_type(c, t)?;
                usage::drop_type(c, t)?;
                c.prepare_cached(
                    "DELETE FROM group_activity WHERE group_id IN
                       (SELECT id FROM groups WHERE project_id = ?1 AND group_type_index = ?2)",
                )?
                .execute(params![project.0, index.0])?;
                super::lifecycle::keep_created_version(
                    c,
                    "SELECT id FROM groups WHERE project_id = ?1 AND group_type_index = ?2",
                    &[&project.0, &index.0],
                )?;
                for table in ["group_versions", "group_property_versions"] {
                    c.prepare_cached(&format!(
                        "DELETE FROM {table} WHERE group_id IN
                           (SELECT id FROM groups WHERE project_id = ?1 AND group_type_index = ?2)"
                    ))?
                    .execute(params![project.0, index.0])?;
                }
                c.prepare_cached(
                    "DELETE FROM group_tombstones WHERE project_id = ?1 AND group_type_index = ?2",
                )?
                .execute(params![project.0, index.0])?;
                c.prepare_cached(
                    "DELETE FROM groups WHERE project_id = ?1 AND group_type_index = ?2",
                )?
                .execute(params![project.0, index.0])?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as i64);
                let change = crate::lifecycle::type_deleted(index, gt.group_type, now);
                changes::commit(c, project, &[change], now)?;
                Ok(())
            })
            .await
            .inspect(|_| self.changed())
    }
}
