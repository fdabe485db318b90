//! What a change does to the per-type property counts both backends maintain (the numbers behind
//! `property_definitions` and `property_values`).

use serde_json::Value;

/// One step of a type's property counts: the groups holding `property` (when `value` is `None`)
/// or holding it with `value`, moved by `by`.
#[derive(Debug, Clone, PartialEq)]
pub struct CountChange<'a> {
    /// The property name.
    pub property: &'a str,
    /// The value, or `None` for the name's own count.
    pub value: Option<&'a Value>,
    /// How much the count moves.
    pub by: i64,
}

/// A property value as `property_values` shows and counts it: strings bare, anything else as
/// compact JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_bare_and_the_rest_compact_json() {
        assert_eq!(value_text(&json!("x")), "x");
        assert_eq!(value_text(&json!(3)), "3");
        assert_eq!(value_text(&json!(100.0)), "100.0");
        assert_eq!(value_text(&json!(null)), "null");
        assert_eq!(value_text(&json!({"b": 1, "a": [2]})), r#"{"b":1,"a":[2]}"#);
    }
}
