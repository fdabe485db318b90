//! NDJSON lines of export and import (`lifecycle.md`, "Export and import"), shared by the REST
//! routes and the CLI: an export line from a stored group, and import lines read into the store's
//! [`ImportLine`]s or per-line failures in the contract's words.
use groupd_core::{
    GroupKey, GroupKeyError, capture::GroupIdentify, capture::parse_time_us, time_fmt::format_us,
};
use groupd_store::{
    Group,
    exchange::{ImportLine, LineFailure},
};
use serde_json::{Map, Value, json};

/// Most lines one import request may hold.
pub const MAX_IMPORT_LINES: usize = 100_000;

/// The earliest time the contract accepts (0001-01-01T00:00:00Z), in µs.
const MIN_TIME_US: i64 = -62_135_596_800_000_000;
/// The latest (9999-12-31T23:59:59.999999Z), in µs.
const MAX_TIME_US: i64 = 253_402_300_799_999_999;

/// One export line (without its newline).
pub fn export_line(group_type: &str, g: &Group) -> String {
    // The stored properties text goes out as is: no parse and re-serialise per group.
    let head = json!({
        "group_type": group_type,
        "group_type_index": g.index.0,
        "group_key": g.key.as_str(),
        "created_at": format_us(g.created_at),
    })
    .to_string();
    let props = if g.properties_json.is_empty() {
        "{}"
    } else {
        g.properties_json.as_str()
    };
    format!("{}, \"properties\": {props}}}", &head[..head.len() - 1])
}

/// An import body read line by line.
#[derive(Debug, Default)]
pub struct ParsedImport {
    /// The valid lines, in order.
    pub lines: Vec<ImportLine>,
    /// The invalid ones, in order.
    pub failed: Vec<LineFailure>,
}

/// The body has more than [`MAX_IMPORT_LINES`] lines.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyLines;

/// Reads every non-blank line of `body` (numbered from 1 over all lines, blank ones included),
/// merging at `now_us` those without a `timestamp`.
pub fn parse_import(
    body: &[u8],
    now_us: i64,
    first_line: u64,
) -> Result<ParsedImport, TooManyLines> {
    let texts: Vec<(u64, &[u8])> = body
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, t)| (first_line + i as u64, t))
        .filter(|(_, t)| !t.trim_ascii().is_empty())
        .collect();
    if texts.len() > MAX_IMPORT_LINES {
        return Err(TooManyLines);
    }
    let mut out = ParsedImport::default();
    for (no, text) in texts {
        match parse_line(no, text, now_us) {
            Ok(l) => out.lines.push(l),
            Err(f) => out.failed.push(f),
        }
    }
    Ok(out)
}

fn type_name(v: &Value) -> &'static str {
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

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// One line, or why not.
pub fn parse_line(no: u64, text: &[u8], now_us: i64) -> Result<ImportLine, LineFailure> {
    let fail = |key: &str, attr: Option<&str>, detail: String| LineFailure {
        line: no,
        group_key: key.to_owned(),
        attr: attr.map(str::to_owned),
        detail,
    };
    let v: Value = serde_json::from_slice(text)
        .map_err(|e| fail("", None, format!("JSON parse error - {e}")))?;
    let Value::Object(mut obj) = v else {
        let t = type_name(&v);
        return Err(fail(
            "",
            None,
            format!("Invalid data. Expected a dictionary, but got {t}."),
        ));
    };
    // The key first, so every later failure can name it.
    let key_text = match obj.get("group_key") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let shown = key_text.as_deref().unwrap_or("");
    let group_key = match (obj.get("group_key"), key_text.clone()) {
        (None, _) => {
            return Err(fail(
                shown,
                Some("group_key"),
                "This field is required.".into(),
            ));
        }
        (Some(Value::Null), _) => {
            return Err(fail(
                shown,
                Some("group_key"),
                "This field may not be null.".into(),
            ));
        }
        (Some(_), None) => {
            return Err(fail(shown, Some("group_key"), "Not a valid string.".into()));
        }
        (Some(_), Some(k)) => GroupKey::parse(k).map_err(|e| {
            let detail = match e {
                GroupKeyError::Blank => "This field may not be blank.".to_owned(),
                GroupKeyError::TooLong => format!(
                    "Ensure this field has no more than {} characters.",
                    groupd_core::GROUP_KEY_MAX_CHARS
                ),
                GroupKeyError::NulCharacter => "Null characters are not allowed.".to_owned(),
            };
            fail(shown, Some("group_key"), detail)
        })?,
    };
    let group_type = match obj.get("group_type") {
        None => {
            return Err(fail(
                shown,
                Some("group_type"),
                "This field is required.".into(),
            ));
        }
        Some(Value::Null) => {
            return Err(fail(
                shown,
                Some("group_type"),
                "This field may not be null.".into(),
            ));
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(fail(
                shown,
                Some("group_type"),
                "This field may not be blank.".into(),
            ));
        }
        Some(Value::String(s)) if s.chars().count() > 400 => {
            return Err(fail(
                shown,
                Some("group_type"),
                "Ensure this field has no more than 400 characters.".into(),
            ));
        }
        Some(Value::String(s)) if s.contains('\0') => {
            return Err(fail(
                shown,
                Some("group_type"),
                "Null characters are not allowed.".into(),
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(fail(
                shown,
                Some("group_type"),
                "Not a valid string.".into(),
            ));
        }
    };
    let mut object = |name: &str| -> Result<Map<String, Value>, LineFailure> {
        match obj.remove(name) {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => {
                if has_nul(&Value::Object(m.clone())) {
                    return Err(fail(
                        shown,
                        Some(name),
                        "Null characters are not allowed.".into(),
                    ));
                }
                Ok(m)
            }
            Some(other) => Err(fail(
                shown,
                Some(name),
                format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    type_name(&other)
                ),
            )),
        }
    };
    // An export line's properties are a `$set`; a `$set` beside them wins, as it comes later.
    let mut set = object("properties")?;
    set.extend(object("$set")?);
    let set_once = object("$set_once")?;
    let unset = match obj.get("$unset") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) if s.contains('\0') => {
                        return Err(fail(
                            shown,
                            Some("$unset"),
                            "Null characters are not allowed.".into(),
                        ));
                    }
                    Value::String(s) => names.push(s.clone()),
                    _ => return Err(fail(shown, Some("$unset"), "Not a valid string.".into())),
                }
            }
            names
        }
        Some(other) => {
            return Err(fail(
                shown,
                Some("$unset"),
                format!(
                    "Expected a list of items but got type \"{}\".",
                    type_name(other)
                ),
            ));
        }
    };
    let time = |name: &str| -> Result<Option<i64>, LineFailure> {
        let wrong = || {
            fail(
                shown,
                Some(name),
                "Datetime has wrong format. Use one of these formats instead: \
                 YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                    .into(),
            )
        };
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => match parse_time_us(s) {
                Some(us) if (MIN_TIME_US..=MAX_TIME_US).contains(&us) => Ok(Some(us)),
                _ => Err(wrong()),
            },
            Some(_) => Err(wrong()),
        }
    };
    let event_us = time("timestamp")?.unwrap_or(now_us);
    let created_at_us = time("created_at")?;
    Ok(ImportLine {
        line: no,
        identify: GroupIdentify {
            group_type,
            group_key: group_key.into_string(),
            set,
            set_once,
            unset,
        },
        event_us,
        created_at_us,
    })
}

/// The import answer's body.
pub fn import_response(imported: u64, failed: &[LineFailure], dry_run: bool) -> Value {
    let failed: Vec<Value> = failed
        .iter()
        .map(|f| json!({"line": f.line, "group_key": f.group_key, "attr": f.attr, "detail": f.detail}))
        .collect();
    json!({"imported": imported, "failed": failed, "dry_run": dry_run})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_line_forms_parse() {
        let l = parse_line(
            1,
            br#"{"group_type": "company", "group_type_index": 3, "group_key": "acme", "created_at": "2026-05-02T00:00:00Z", "properties": {"name": "Acme"}}"#,
            7,
        )
        .unwrap();
        assert_eq!(l.identify.group_type, "company");
        assert_eq!(l.event_us, 7);
        assert_eq!(l.created_at_us, Some(1_777_680_000_000_000));
        assert_eq!(l.identify.set["name"], "Acme");
        let l = parse_line(
            2,
            br#"{"group_type": "company", "group_key": 12, "$set_once": {"a": 1}, "$unset": ["b"], "timestamp": "2026-05-02T00:00:01Z"}"#,
            7,
        )
        .unwrap();
        assert_eq!(l.identify.group_key, "12");
        assert_eq!(l.identify.unset, ["b"]);
        assert_eq!(l.event_us, 1_777_680_001_000_000);
    }

    #[test]
    fn failures_name_the_field_in_drf_words() {
        let cases: [(&[u8], Option<&str>, &str); 6] = [
            (
                br#"{"group_type": "c", "group_key": ""}"#,
                Some("group_key"),
                "This field may not be blank.",
            ),
            (
                br#"{"group_key": "a"}"#,
                Some("group_type"),
                "This field is required.",
            ),
            (
                br#"{"group_type": "c", "group_key": "a", "$set": 1}"#,
                Some("$set"),
                "Expected a dictionary of items but got type \"int\".",
            ),
            (
                br#"{"group_type": "c", "group_key": "a", "$unset": "x"}"#,
                Some("$unset"),
                "Expected a list of items but got type \"str\".",
            ),
            (
                br#"{"group_type": "c", "group_key": "a", "timestamp": "yesterday"}"#,
                Some("timestamp"),
                "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            ),
            (
                br#"[1]"#,
                None,
                "Invalid data. Expected a dictionary, but got list.",
            ),
        ];
        for (text, attr, detail) in cases {
            let f = parse_line(4, text, 0).unwrap_err();
            assert_eq!(
                (f.attr.as_deref(), f.detail.as_str()),
                (attr, detail),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn lines_are_counted_with_blank_ones_and_limited() {
        let p = parse_import(
            b"\n{\"group_type\":\"c\",\"group_key\":\"a\"}\n\nnope\n",
            0,
            1,
        )
        .unwrap();
        assert_eq!(p.lines[0].line, 2);
        assert_eq!(p.failed[0].line, 4);
        let many = "{}\n".repeat(MAX_IMPORT_LINES + 1);
        assert_eq!(
            parse_import(many.as_bytes(), 0, 1).unwrap_err(),
            TooManyLines
        );
    }
}
