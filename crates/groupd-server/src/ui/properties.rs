//! Property changes from the profile: save (edit or new) and delete, through
//! `update_property` / `delete_property`. Values are typed as PostHog's UI types them.
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    http::Method,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::{Value, json};

use super::{
    Rest, UiResult,
    group::{GroupQuery, Refused, profile},
    rest::enc,
    session::Session,
};
use crate::state::AppState;

/// PostHog's coercion of a typed value: numeric text becomes a number, `true`/`false` booleans,
/// `null` null (which the API refuses: deleting is the way to remove); the rest stays text.
pub fn coerce(raw: &str) -> Value {
    let t = raw.trim();
    match t {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Null,
        _ => {}
    }
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
        if let Ok(i) = t.parse::<i64>() {
            return json!(i);
        }
        if let Ok(f) = t.parse::<f64>()
            && f.is_finite()
        {
            return json!(f);
        }
    }
    Value::String(raw.to_owned())
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `POST …/group/property?key=…`: set `name` to the typed `value`.
pub async fn save(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path((project_id, index)): Path<(String, String)>,
    Query(q): Query<GroupQuery>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    session.check_csrf(&form)?;
    let (name, value) = (field(&form, "name"), field(&form, "value"));
    let body = json!({"key": name, "value": coerce(value)});
    change(
        &state,
        &rest,
        &session,
        &project_id,
        &index,
        q,
        "update_property",
        body,
        (name, value, field(&form, "new") == "1"),
    )
    .await
}

/// `POST …/group/property/delete?key=…`: remove `name` (the confirmation came before).
pub async fn delete(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path((project_id, index)): Path<(String, String)>,
    Query(q): Query<GroupQuery>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    session.check_csrf(&form)?;
    let body = json!({"$unset": field(&form, "name")});
    change(
        &state,
        &rest,
        &session,
        &project_id,
        &index,
        q,
        "delete_property",
        body,
        ("", "", false),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn change(
    state: &AppState,
    rest: &Rest,
    session: &Session,
    project_id: &str,
    index: &str,
    q: GroupQuery,
    route: &str,
    body: Value,
    (name, value, new): (&str, &str, bool),
) -> UiResult<Response> {
    let url = format!(
        "/api/projects/{}/groups/{route}?group_type_index={}&group_key={}",
        enc(project_id),
        enc(index),
        enc(&q.key)
    );
    match rest
        .call(&session.key, Method::POST, &url, Some(body))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/ui/projects/{}/types/{}/group?key={}&done={}",
            enc(project_id),
            enc(index),
            enc(&q.key),
            if route == "update_property" {
                "saved"
            } else {
                "deleted"
            }
        ))
        .into_response()),
        Err(e) => {
            let refused = Refused {
                status: Some(e.status),
                message: Some(e.detail),
                new_name: if new { name.to_owned() } else { String::new() },
                new_value: if new { value.to_owned() } else { String::new() },
            };
            profile(state, rest, session, project_id, index, q, refused).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::coerce;
    use serde_json::{Value, json};

    #[test]
    fn values_are_typed_as_posthog_types_them() {
        assert_eq!(coerce("42"), json!(42));
        assert_eq!(coerce(" 4.5 "), json!(4.5));
        assert_eq!(coerce("true"), json!(true));
        assert_eq!(coerce("false"), json!(false));
        assert_eq!(coerce("null"), Value::Null);
        assert_eq!(coerce("pro"), json!("pro"));
        assert_eq!(coerce("1e400"), json!("1e400"));
        assert_eq!(coerce(""), json!(""));
        assert_eq!(coerce("12 seats"), json!("12 seats"));
    }
}
