//! Projects and personal API keys on SQLite.
use async_trait::async_trait;
use groupd_core::{ProjectId, ProjectToken, SecretDigest};
use rusqlite::{OptionalExtension, params};

use super::{
    SqliteStore,
    error::is_unique_violation,
    rows::{
        API_KEY_COL_COUNT, API_KEY_COLS, PROJECT_COLS, api_key_from_row, project_from_row,
        project_where,
    },
};
use crate::{
    ApiKey, ConflictOn, NewApiKey, NewProject, Project, ProjectStore, StoreError, StoreResult,
    to_json_text,
};

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn create_project(&self, new: NewProject, now_us: i64) -> StoreResult<Project> {
        let NewProject { name, api_token } = new;
        let token = api_token.unwrap_or_else(ProjectToken::generate);
        self.writer
            .write(move |c| {
                let inserted = c
                    .prepare_cached(
                        "INSERT INTO projects (name, api_token, created_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![name, token.as_str(), now_us]);
                match inserted {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::Conflict(ConflictOn::ApiToken));
                    }
                    other => other?,
                };
                Ok(Project {
                    id: ProjectId(c.last_insert_rowid()),
                    name,
                    api_token: token,
                    created_at: now_us,
                })
            })
            .await
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        self.readers
            .read(|c| {
                let mut st =
                    c.prepare_cached(&format!("SELECT {PROJECT_COLS} FROM projects ORDER BY id"))?;
                let rows = st.query_map([], project_from_row)?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        self.readers
            .read_inline(move |c| project_where(c, "id = ?1", &id.0))
            .await
    }

    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Option<Project>> {
        let name = name.to_owned();
        self.writer
            .write(move |c| {
                c.prepare_cached("UPDATE projects SET name = ?2 WHERE id = ?1")?
                    .execute(params![id.0, name])?;
                project_where(c, "id = ?1", &id.0)
            })
            .await
    }

    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>> {
        let token = token.to_owned();
        self.readers
            .read_inline(move |c| project_where(c, "api_token = ?1", &token))
            .await
    }

    async fn create_api_key(&self, key: NewApiKey, now_us: i64) -> StoreResult<ApiKey> {
        self.writer
            .write(move |c| {
                if let Some(ps) = &key.projects {
                    for p in ps {
                        let exists: Option<i64> = c
                            .prepare_cached("SELECT id FROM projects WHERE id = ?1")?
                            .query_row([p.0], |r| r.get(0))
                            .optional()?;
                        if exists.is_none() {
                            return Err(StoreError::NotFound);
                        }
                    }
                }
                let projects = key
                    .projects
                    .as_ref()
                    .map(|ps| to_json_text(&ps.iter().map(|p| p.0).collect::<Vec<_>>()))
                    .transpose()?;
                c.prepare_cached(
                    "INSERT INTO api_keys (label, secure_digest, scopes, projects, created_at, mask_value)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    key.label,
                    key.digest.0.as_slice(),
                    key.scopes.names().join(","),
                    projects,
                    now_us,
                    key.mask_value,
                ])?;
                Ok(ApiKey {
                    id: c.last_insert_rowid(),
                    label: key.label,
                    scopes: key.scopes,
                    projects: key.projects,
                    created_at: now_us,
                    mask_value: Some(key.mask_value),
                    last_used_at: None,
                })
            })
            .await
    }

    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>> {
        let digest = digest.clone();
        self.readers
            .read_inline(move |c| {
                let row = c
                    .prepare_cached(&format!(
                        "SELECT {API_KEY_COLS}, secure_digest FROM api_keys
                         WHERE secure_digest = ?1 AND revoked_at IS NULL"
                    ))?
                    .query_row([digest.0.as_slice()], |r| {
                        Ok((
                            api_key_from_row(r)?,
                            r.get::<_, Vec<u8>>(API_KEY_COL_COUNT)?,
                        ))
                    })
                    .optional()?;
                Ok(row
                    .filter(|(_, stored)| digest.matches(stored))
                    .map(|(key, _)| key))
            })
            .await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.readers
            .read_inline(|c| {
                let mut st = c.prepare_cached(&format!(
                    "SELECT {API_KEY_COLS} FROM api_keys WHERE revoked_at IS NULL
                     ORDER BY created_at DESC, id DESC"
                ))?;
                let keys = st
                    .query_map([], api_key_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(keys)
            })
            .await
    }

    async fn revoke_api_key(&self, id: i64, now_us: i64) -> StoreResult<bool> {
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    )?
                    .execute(params![id, now_us])?;
                Ok(n == 1)
            })
            .await
    }

    async fn touch_api_key(&self, id: i64, minute_us: i64) -> StoreResult<()> {
        self.writer
            .write(move |c| {
                c.prepare_cached(
                    "UPDATE api_keys SET last_used_at = ?2
                     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
                )?
                .execute(params![id, minute_us])?;
                Ok(())
            })
            .await
    }
}
