//! The OpenAPI 3 document served at `/api/schema/`.
use utoipa::OpenApi;

use super::{group_types, groups, personal_api_keys, projects};

/// groupd's REST API.
#[derive(OpenApi)]
#[openapi(
    info(title = "groupd", description = "Group analytics, wire-compatible with PostHog's groups API."),
    paths(
        groups::list, groups::create, groups::find, groups::update_property, groups::delete_property,
        groups::activity, groups::property_definitions, groups::property_values,
        group_types::list, group_types::create, group_types::update_metadata,
        group_types::set_default_columns, group_types::remove,
        projects::list, projects::create, projects::retrieve, projects::update,
        super::warnings::list, super::query::query,
        personal_api_keys::list, personal_api_keys::create, personal_api_keys::retrieve,
        personal_api_keys::remove, personal_api_keys::me,
        super::related::related, super::property_definitions::list,
        super::usage_metrics::list, super::usage_metrics::create, super::usage_metrics::retrieve,
        super::usage_metrics::replace, super::usage_metrics::update, super::usage_metrics::remove,
    ),
    components(schemas(super::error::ErrorBody)),
    modifiers(&BearerAuth),
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
