//! The OpenAPI 3 document served at `/api/schema/`.
use utoipa::OpenApi;

use super::{group_types, groups, personal_api_keys, projects};

/// groupd's REST API.
#[derive(OpenApi)]
#[openapi(
    info(title = "groupd", description = "Group analytics, wire-compatible with PostHog's groups API. \
        Every `/api/projects/{project_id}/…` path is also served under `/api/environments/{project_id}/…` \
        (PostHog's newer name), and every path with and without its trailing slash."),
    paths(
        groups::list, groups::create, groups::find, groups::update_property, groups::delete_property,
        groups::activity, groups::property_definitions, groups::property_values,
        super::exchange::export, super::exchange::import,
        group_types::list, group_types::create, group_types::update_metadata,
        group_types::set_default_columns, group_types::remove,
        projects::list, projects::create, projects::retrieve, projects::update,
        super::warnings::list, super::query::query,
        personal_api_keys::list, personal_api_keys::create, personal_api_keys::retrieve,
        personal_api_keys::remove, personal_api_keys::me,
        super::related::related, super::property_definitions::list,
        super::usage_metrics::list, super::usage_metrics::create, super::usage_metrics::retrieve,
        super::usage_metrics::replace, super::usage_metrics::update, super::usage_metrics::remove,
        super::group_paths::list, super::group_paths::find, super::group_paths::patch,
        super::group_paths::remove, super::group_paths::history,
        super::lifecycle::delete_group, super::lifecycle::bulk_delete, super::lifecycle::property_history,
        super::changes::changes,
        super::ops::health, super::ops::metrics, super::ops::schema, super::capture::capture_doc,
    ),
    components(schemas(super::error::ErrorBody)),
    modifiers(&BearerAuth, &CaptureRoutes, &Tidy),
    security(("personal_api_key" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "personal_api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Capture's one documented operation (`capture::capture_doc`, at `/e/`) for every capture path,
/// as `POST` and as `GET` (the payload in `data`), each with its own `operationId`.
struct CaptureRoutes;

impl utoipa::Modify for CaptureRoutes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(item) = openapi.paths.paths.remove("/e/") else {
            return;
        };
        let Some(post) = item.post.clone() else {
            return;
        };
        for path in super::capture::PATHS {
            let slug = path.trim_matches('/').replace('/', "_");
            let mut on_post = post.clone();
            on_post.operation_id = Some(format!("capture_{slug}_post"));
            if path == "/engage" {
                on_post.description = Some(
                    "As the other capture paths, and an event without `event` is an `$identify`."
                        .to_owned(),
                );
            }
            let mut on_get = on_post.clone();
            on_get.operation_id = Some(format!("capture_{slug}_get"));
            on_get.request_body = None;
            let mut at = item.clone();
            at.post = Some(on_post);
            at.get = Some(on_get);
            openapi.paths.paths.insert(format!("{path}/"), at);
        }
    }
}

/// What the handlers' annotations leave implicit, filled in once for every operation: an
/// `operationId` unique across the document (the tag before the handler's name: `groups_list`,
/// `projects_list`), and a description on every response (OpenAPI requires one).
struct Tidy;

fn status_text(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "No content",
        "400" => "Invalid input; the error names the field in `attr`",
        "401" => "No credentials, or an unknown personal API key",
        "403" => "The key lacks the scope, or may not access the project",
        "404" => "Not found",
        "405" => "Method not allowed",
        "410" => "The cursor is older than the oldest change kept",
        "413" => "The body is too large",
        "415" => "Unsupported media type",
        "422" => "An atomic import had failed lines: nothing was written",
        "503" => "Unavailable; retry after `Retry-After` seconds",
        "507" => "The database refuses writes; retry after `Retry-After` seconds",
        _ => "See the error shape",
    }
}

impl utoipa::Modify for Tidy {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(tag), Some(id)) = (tag, op.operation_id.as_mut())
                    && !id.starts_with(&format!("{tag}_"))
                {
                    *id = format!("{tag}_{id}");
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    if let RefOr::T(r) = response
                        && r.description.is_empty()
                    {
                        r.description = status_text(status).to_owned();
                    }
                }
            }
        }
    }
}
