//! Projects and personal API keys on SQLite.
use async_trait::async_trait;
use groupd_core::{ProjectId, ProjectToken, SecretDigest};
use rusqlite::{OptionalExtension, params};

use super::{
    SqliteStore,
    error::is_unique_violation,
    rows::{PROJECT_COLS, project_from_row, project_where},
};
use crate::{
    ApiKey, ConflictOn, NewApiKey, NewProject, Project, ProjectStore, StoreError, StoreResult,
    stored_scopes, to_json_text,
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
                    "INSERT INTO api_keys (label, secure_digest, scopes, projects, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    key.label,
                    key.digest.0.as_slice(),
                    key.scopes.names().join(","),
                    projects,
                    now_us
                ])?;
                Ok(ApiKey {
                    id: c.last_insert_rowid(),
                    label: key.label,
                    scopes: key.scopes,
                    projects: key.projects,
                    created_at: now_us,
                })
            })
            .await
    }

    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>> {
        let digest = digest.clone();
        self.readers
            .read_inline(move |c| {
                let row = c
                    .prepare_cached(
                        "SELECT id, label, secure_digest, scopes, projects, created_at
                         FROM api_keys WHERE secure_digest = ?1",
                    )?
                    .query_row([digest.0.as_slice()], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .optional()?;
                let Some((id, label, stored, scopes, projects, created_at)) = row else {
                    return Ok(None);
                };
                if !digest.matches(&stored) {
                    return Ok(None);
                }
                let projects: Option<Vec<i64>> =
                    projects.and_then(|p| serde_json::from_str(&p).ok());
                Ok(Some(ApiKey {
                    id,
                    label,
                    scopes: stored_scopes(&scopes),
                    projects: projects.map(|ps| ps.into_iter().map(ProjectId).collect()),
                    created_at,
                }))
            })
            .await
    }
}
