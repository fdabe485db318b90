//! `groupd import --from-posthog URL --personal-api-key K --project ID`: moves a PostHog
//! project's groups into groupd through PostHog's own API: `groups_types/` for the types, then
//! each type's `groups/` list followed page by page through its `next` cursor. Every group
//! becomes an export line (type, key, `created_at`, properties) merged like `groupd import`'s.
use std::{sync::Arc, time::Duration};

use anyhow::Context;
use groupd_store::Store;
use http_body_util::{BodyExt, Empty};
use hyper::{
    Request, StatusCode, Uri,
    body::Bytes,
    header::{ACCEPT, AUTHORIZATION, LOCATION},
};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};

use crate::exchange::{ImportOptions, Importer};

/// How long one page may take, connecting included.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// An HTTP/1.1 client for `http://` and `https://` (rustls with the ring provider, as for
/// PostgreSQL; the machine's root certificates, which `SSL_CERT_FILE` / `SSL_CERT_DIR` replace).
fn client() -> anyhow::Result<HttpClient> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// `GET url` with the key; the JSON answer of a 2xx.
async fn get(client: &HttpClient, url: &str, key: &str) -> anyhow::Result<Value> {
    let uri: Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
    let request = Request::get(uri)
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .header(ACCEPT, "application/json")
        .body(Empty::new())?;
    let fetch = async {
        let resp = client
            .request(request)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach {url}: {}", error_chain(&e)))?;
        let status = resp.status();
        let location = resp.headers().get(LOCATION).cloned();
        let body = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("{url} broke off its answer"))?
            .to_bytes();
        anyhow::Ok((status, location, body))
    };
    let (status, location, body) = tokio::time::timeout(PAGE_TIMEOUT, fetch)
        .await
        .map_err(|_| anyhow::anyhow!("{url} did not answer within {PAGE_TIMEOUT:?}"))??;
    if status.is_redirection() {
        let to = location
            .as_ref()
            .and_then(|l| l.to_str().ok())
            .unwrap_or("elsewhere");
        anyhow::bail!("{url} answered {status}, moved to {to}: give --from-posthog that address");
    }
    let body: Value = serde_json::from_slice(&body).with_context(|| {
        format!("{url} answered {status} without JSON (is it a PostHog instance?)")
    })?;
    anyhow::ensure!(
        status.is_success(),
        "{url} answered {status}{}: {}",
        if status == StatusCode::UNAUTHORIZED {
            " (is --personal-api-key right?)"
        } else {
            ""
        },
        body.get("detail").and_then(Value::as_str).unwrap_or("")
    );
    Ok(body)
}

/// An error and its causes on one line (a TLS failure is a cause of the connect error).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Checks `--from-posthog`: an `http://` or `https://` base URL with a host; returns it without
/// a trailing slash.
pub fn base_url(raw: &str) -> anyhow::Result<String> {
    let base = raw.trim().trim_end_matches('/');
    let uri: Uri = base.parse().map_err(|_| {
        anyhow::anyhow!("--from-posthog {raw:?} is not a URL: give the instance's base URL, e.g. https://eu.posthog.com")
    })?;
    anyhow::ensure!(
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|h| !h.is_empty()),
        "--from-posthog {raw:?} must be an http:// or https:// URL with a host, e.g. https://eu.posthog.com"
    );
    anyhow::ensure!(
        uri.query().is_none(),
        "--from-posthog {raw:?} must be the instance's base URL, without a query"
    );
    Ok(base.to_owned())
}

/// The page after this one: the `next` link's path and query on `base`, so the key only ever
/// goes to the host named by `--from-posthog` (a proxy that rewrites the scheme or host of the
/// links cannot send it elsewhere).
fn next_page(base: &str, next: &str) -> anyhow::Result<String> {
    let uri: Uri = next
        .parse()
        .with_context(|| format!("the next page {next:?} is not a URL"))?;
    let tail = uri.path_and_query().map_or("/", |p| p.as_str());
    let origin = base
        .parse::<Uri>()
        .ok()
        .and_then(|b| Some(format!("{}://{}", b.scheme_str()?, b.authority()?)))
        .unwrap_or_else(|| base.to_owned());
    Ok(format!("{origin}{tail}"))
}

pub async fn import(
    store: &Arc<dyn Store>,
    opts: ImportOptions,
    base: &str,
    key: &str,
    project: &str,
) -> anyhow::Result<(Value, bool)> {
    let base = base_url(base)?;
    let client = client()?;
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
                .map(|n| next_page(&base, n))
                .transpose()?;
        }
    }
    importer.finish().await
}
