//! `groupd import --from-posthog URL --personal-api-key K --project ID`: moves a PostHog
//! project's groups into groupd through PostHog's own API: `groups_types/` for the types, then
//! each type's `groups/` list followed page by page through its `next` cursor. Every group
//! becomes an export line (type, key, `created_at`, properties) merged like `groupd import`'s.
use std::{sync::Arc, time::Duration};

use anyhow::Context;
use groupd_store::Store;
use serde_json::{Value, json};

use crate::exchange::{ImportOptions, Importer};

async fn get(client: &reqwest::Client, url: &str, key: &str) -> anyhow::Result<Value> {
    let resp = client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON"))?;
    anyhow::ensure!(
        status.is_success(),
        "{url} answered {status}: {}",
        body.get("detail").and_then(Value::as_str).unwrap_or("")
    );
    Ok(body)
}

pub async fn import(
    store: &Arc<dyn Store>,
    opts: ImportOptions,
    base: &str,
    key: &str,
    project: &str,
) -> anyhow::Result<(Value, bool)> {
    let base = base.trim_end_matches('/');
    anyhow::ensure!(
        base.starts_with("http://"),
        "--from-posthog needs an http:// URL: this build has no TLS client (put a local \
         TLS-terminating proxy such as `socat` or `stunnel` in front of https://… PostHog)"
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let types = get(
        &client,
        &format!("{base}/api/projects/{project}/groups_types/"),
        key,
    )
    .await?;
    let types = types
        .as_array()
        .context("groups_types/ did not answer a list")?
        .clone();
    let mut importer = Importer::new(store, opts);
    let mut no = 0u64;
    for t in types {
        let (Some(name), Some(index)) = (
            t.get("group_type").and_then(Value::as_str),
            t.get("group_type_index").and_then(Value::as_i64),
        ) else {
            continue;
        };
        let mut next = Some(format!(
            "{base}/api/projects/{project}/groups/?group_type_index={index}"
        ));
        while let Some(url) = next.take() {
            let page = get(&client, &url, key).await?;
            for g in page
                .get("results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                no += 1;
                let line = json!({
                    "group_type": name,
                    "group_key": g.get("group_key").cloned().unwrap_or(Value::Null),
                    "created_at": g.get("created_at").cloned().unwrap_or(Value::Null),
                    "properties": g.get("group_properties").cloned().unwrap_or(json!({})),
                });
                importer.line(no, line.to_string().as_bytes()).await?;
            }
            next = page
                .get("next")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
        }
    }
    importer.finish().await
}
