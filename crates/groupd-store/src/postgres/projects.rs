//! Projects and personal API keys on PostgreSQL.
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use groupd_core::{ProjectId, ProjectToken, SecretDigest};
use tokio_postgres::Row;

use super::{
    PgStore,
    error::is_unique_violation,
    rows::{
        API_KEY_COL_COUNT, API_KEY_COLS, PROJECT_COLS, api_key_from_row, project_from_row,
        select_all, select_one,
    },
    tx::run_with_tx,
    values::{Ts, nul_safe},
};
use crate::{
    ApiKey, ConflictOn, NewApiKey, NewProject, Project, ProjectStore, StoreError, StoreResult,
};

/// Checks the key's projects exist (held until the transaction ends) and stores the key.
async fn insert_api_key(c: &impl GenericClient, key: &NewApiKey, now_us: i64) -> StoreResult<i64> {
    if let Some(ps) = &key.projects {
        // FOR SHARE: a listed project cannot vanish before the key commits.
        let st = c
            .prepare_cached("SELECT id FROM projects WHERE id = ANY($1) FOR SHARE")
            .await?;
        let mut distinct: Vec<i64> = ps.iter().map(|p| p.0).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let found = c.query(&st, &[&distinct]).await?.len();
        if found != distinct.len() {
            return Err(StoreError::NotFound);
        }
    }
    let st = c
        .prepare_cached(
            "INSERT INTO api_keys (label, secure_digest, scopes, projects, created_at, mask_value)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .await?;
    let projects: Option<Vec<i64>> = key
        .projects
        .as_ref()
        .map(|ps| ps.iter().map(|p| p.0).collect());
    Ok(c.query_one(
        &st,
        &[
            &nul_safe(&key.label),
            &key.digest.0.as_slice(),
            &key.scopes.names().join(","),
            &projects,
            &Ts(now_us),
            &nul_safe(&key.mask_value),
        ],
    )
    .await?
    .get(0))
}

#[async_trait]
impl ProjectStore for PgStore {
    async fn create_project(&self, new: NewProject, now_us: i64) -> StoreResult<Project> {
        let NewProject { name, api_token } = new;
        let token = api_token.unwrap_or_else(ProjectToken::generate);
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "INSERT INTO projects (name, api_token, created_at) VALUES ($1, $2, $3) RETURNING {PROJECT_COLS}"
            ))
            .await?;
        match c
            .query_one(&st, &[&nul_safe(&name), &token.as_str(), &Ts(now_us)])
            .await
        {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(ConflictOn::ApiToken)),
            Err(e) => Err(e.into()),
            Ok(row) => Ok(Project {
                name,
                api_token: token,
                ..project_from_row(&row)
            }),
        }
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        let sql = format!("SELECT {PROJECT_COLS} FROM projects ORDER BY id");
        select_all(&self.client().await?, &sql, &[], project_from_row).await
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        let sql = format!("SELECT {PROJECT_COLS} FROM projects WHERE id = $1");
        select_one(&self.client().await?, &sql, &[&id.0], project_from_row).await
    }

    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Option<Project>> {
        let sql = format!("UPDATE projects SET name = $2 WHERE id = $1 RETURNING {PROJECT_COLS}");
        let c = self.client().await?;
        // The name as given (the stored one has any NUL replaced).
        let renamed = |r: &Row| Project {
            name: name.to_owned(),
            ..project_from_row(r)
        };
        select_one(&c, &sql, &[&id.0, &nul_safe(name)], renamed).await
    }

    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>> {
        let sql = format!("SELECT {PROJECT_COLS} FROM projects WHERE api_token = $1");
        let c = self.client().await?;
        select_one(&c, &sql, &[&nul_safe(token)], project_from_row).await
    }

    async fn create_api_key(&self, key: NewApiKey, now_us: i64) -> StoreResult<ApiKey> {
        let id = run_with_tx!(self.pool, |tx| insert_api_key(&tx, &key, now_us).await)?;
        Ok(ApiKey {
            id,
            label: key.label,
            scopes: key.scopes,
            projects: key.projects,
            created_at: now_us,
            mask_value: Some(key.mask_value),
            last_used_at: None,
        })
    }

    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {API_KEY_COLS}, secure_digest FROM api_keys
             WHERE secure_digest = $1 AND revoked_at IS NULL"
        );
        let row = select_one(&c, &sql, &[&digest.0.as_slice()], |r| {
            (api_key_from_row(r), r.get::<_, Vec<u8>>(API_KEY_COL_COUNT))
        })
        .await?;
        Ok(row
            .filter(|(_, stored)| digest.matches(stored))
            .map(|(key, _)| key))
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {API_KEY_COLS} FROM api_keys WHERE revoked_at IS NULL
             ORDER BY created_at DESC, id DESC"
        );
        select_all(&c, &sql, &[], api_key_from_row).await
    }

    async fn revoke_api_key(&self, id: i64, now_us: i64) -> StoreResult<bool> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            )
            .await?;
        Ok(c.execute(&st, &[&id, &Ts(now_us)]).await? == 1)
    }

    async fn touch_api_key(&self, id: i64, minute_us: i64) -> StoreResult<()> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "UPDATE api_keys SET last_used_at = $2
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
            )
            .await?;
        c.execute(&st, &[&id, &Ts(minute_us)]).await?;
        Ok(())
    }
}
