//! Reading fields of JSON bodies and query parameters with DRF's messages and codes.
use groupd_core::{GROUP_KEY_MAX_CHARS, GroupKey, GroupKeyError, GroupTypeIndex, parse_int};
use serde_json::{Map, Value};

use super::{
    error::{ApiError, ApiResult},
    request::RequestInfo,
};

/// The body as an object (a JSON array or scalar is a 400 naming no field).
pub fn object(body: Value) -> ApiResult<Map<String, Value>> {
    match body {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::validation(
            "invalid_input",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                json_type_name(&other)
            ),
            None,
        )),
    }
}

/// Python's name for a JSON value's type, as DRF's messages use.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A required field that is not `null`, as DRF refuses either.
fn present<'a>(obj: &'a Map<String, Value>, name: &str) -> ApiResult<&'a Value> {
    match obj.get(name) {
        None => Err(ApiError::required_field(name)),
        Some(Value::Null) => Err(ApiError::validation(
            "null",
            "This field may not be null.",
            Some(name),
        )),
        Some(v) => Ok(v),
    }
}

/// A required, non-null, non-blank string field of at most `max` characters (DRF CharField:
/// numbers are accepted as their text; NUL characters are refused).
pub fn required_string(obj: &Map<String, Value>, name: &str, max: usize) -> ApiResult<String> {
    string_value(present(obj, name)?, name, max)
}

/// An optional string field: absent → `None`, `null` → `Some(None)`.
pub fn optional_string(
    obj: &Map<String, Value>,
    name: &str,
    max: usize,
) -> ApiResult<Option<Option<String>>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => string_value(v, name, max).map(|s| Some(Some(s))),
    }
}

fn string_value(v: &Value, name: &str, max: usize) -> ApiResult<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(ApiError::invalid(name, "Not a valid string.")),
    };
    if s.trim().is_empty() {
        return Err(ApiError::validation(
            "blank",
            "This field may not be blank.",
            Some(name),
        ));
    }
    if s.chars().count() > max {
        return Err(ApiError::validation(
            "max_length",
            format!("Ensure this field has no more than {max} characters."),
            Some(name),
        ));
    }
    if s.contains('\0') {
        return Err(ApiError::invalid(name, "Null characters are not allowed."));
    }
    Ok(s)
}

/// A group key from a body field.
pub fn group_key_field(obj: &Map<String, Value>, name: &str) -> ApiResult<GroupKey> {
    let s = required_string(obj, name, GROUP_KEY_MAX_CHARS)?;
    GroupKey::parse(s).map_err(|e| match e {
        GroupKeyError::Blank => {
            ApiError::validation("blank", "This field may not be blank.", Some(name))
        }
        GroupKeyError::TooLong => ApiError::validation(
            "max_length",
            format!("Ensure this field has no more than {GROUP_KEY_MAX_CHARS} characters."),
            Some(name),
        ),
        GroupKeyError::NulCharacter => ApiError::invalid(name, "Null characters are not allowed."),
    })
}

/// A required integer `group_type_index` body field.
pub fn group_type_index_field(obj: &Map<String, Value>) -> ApiResult<GroupTypeIndex> {
    const NAME: &str = "group_type_index";
    GroupTypeIndex::parse_json(present(obj, NAME)?).ok_or_else(|| ApiError::not_an_integer(NAME))
}

/// True when any string (key or value) anywhere in `v` holds a NUL character, which PostgreSQL
/// cannot store; both backends refuse it alike.
pub fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The `group_type_index` query parameter: required, an integer.
pub fn index_param(req: &RequestInfo) -> ApiResult<GroupTypeIndex> {
    let raw = req
        .non_empty_param("group_type_index")
        .ok_or_else(|| ApiError::required_param("group_type_index"))?;
    GroupTypeIndex::parse_str(raw).ok_or_else(|| ApiError::not_an_integer("group_type_index"))
}

/// A positive integer query parameter with a default (`page`, `limit`).
pub fn positive_param(req: &RequestInfo, name: &str, default: u64) -> ApiResult<u64> {
    match req.non_empty_param(name) {
        None => Ok(default),
        Some(raw) => {
            let n = parse_int(raw).ok_or_else(|| ApiError::not_an_integer(name))?;
            if n < 1 {
                return Err(ApiError::invalid(
                    name,
                    "Ensure this value is greater than or equal to 1.",
                ));
            }
            Ok(n as u64)
        }
    }
}
