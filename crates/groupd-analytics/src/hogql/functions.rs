//! ClickHouse function names → DataFusion built-ins or groupd's `hog_*` UDFs. A name not listed
//! here is an unknown function (400), so nothing DataFusion offers is reachable by accident.
use datafusion::sql::sqlparser::ast::{
    DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArgumentList, FunctionArguments, OrderByExpr, OrderByOptions,
};

use super::HogError;
use super::ast::*;
use super::rewrite::{Hint, Res, Rewriter, Scope};

/// Aggregates by ClickHouse name → DataFusion name (with how their arguments read properties).
fn aggregate(name: &str) -> Option<(&'static str, Hint)> {
    Some(match name {
        "count" => ("count", Hint::Text),
        "sum" => ("sum", Hint::Number),
        "avg" => ("avg", Hint::Number),
        "min" => ("min", Hint::Number),
        "max" => ("max", Hint::Number),
        "any" | "anyHeavy" => ("first_value", Hint::Text),
        "anyLast" => ("last_value", Hint::Text),
        "uniq" | "uniqExact" | "uniqCombined" | "uniqCombined64" | "uniqHLL12" | "uniqTheta" => {
            ("count", Hint::Text)
        }
        "median" | "medianExact" => ("median", Hint::Number),
        "stddevPop" | "stddev_pop" => ("stddev_pop", Hint::Number),
        "stddevSamp" | "stddev_samp" | "stddev" => ("stddev", Hint::Number),
        "varPop" | "var_pop" => ("var_pop", Hint::Number),
        "varSamp" | "var_samp" => ("var_samp", Hint::Number),
        "groupArray" => ("array_agg", Hint::Text),
        "groupUniqArray" => ("array_agg", Hint::Text),
        "argMax" | "argMin" => ("first_value", Hint::Text),
        "quantile" | "quantileExactInclusive" => ("percentile_cont", Hint::Number),
        "bool_and" | "groupBitAnd" => return None,
        _ => return None,
    })
}

/// Whether a function's result is a number (so a property compared with it reads as one).
pub fn numeric_result(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "countIf"
            | "uniq"
            | "uniqExact"
            | "sum"
            | "sumIf"
            | "avg"
            | "avgIf"
            | "length"
            | "toInt"
            | "toInt64"
            | "toFloat"
            | "toFloat64"
            | "round"
            | "floor"
            | "ceil"
            | "abs"
            | "toHour"
            | "toMinute"
            | "toDayOfWeek"
            | "toDayOfMonth"
            | "toMonth"
            | "toYear"
            | "toUnixTimestamp"
            | "dateDiff"
            | "intDiv"
            | "median"
            | "quantile"
    )
}

/// Scalars that map one to one.
fn scalar(name: &str) -> Option<(&'static str, Hint)> {
    use Hint::{Number as N, Text as T};
    Some(match name {
        "now" => ("hog_now", T),
        "today" => ("hog_today", T),
        "toDateTime"
        | "toDateTime64"
        | "parseDateTimeBestEffort"
        | "parseDateTimeBestEffortOrNull"
        | "parseDateTime64BestEffort"
        | "parseDateTime64BestEffortOrNull"
        | "toDateTimeOrNull" => ("hog_to_datetime", T),
        "toDate" | "toDateOrNull" | "toDate32" => ("hog_to_date", T),
        "fromUnixTimestamp" | "FROM_UNIXTIME" => ("hog_from_unix", N),
        "toStartOfSecond" => ("hog_start_of_second", T),
        "toStartOfMinute" => ("hog_start_of_minute", T),
        "toStartOfHour" => ("hog_start_of_hour", T),
        "toStartOfDay" => ("hog_start_of_day", T),
        "toStartOfMonth" => ("hog_start_of_month", T),
        "toStartOfQuarter" => ("hog_start_of_quarter", T),
        "toStartOfYear" => ("hog_start_of_year", T),
        "toMonday" => ("hog_to_monday", T),
        "toSecond" => ("hog_to_second", T),
        "toMinute" => ("hog_to_minute", T),
        "toHour" => ("hog_to_hour", T),
        "toDayOfMonth" => ("hog_to_day_of_month", T),
        "toDayOfYear" => ("hog_to_day_of_year", T),
        "toMonth" => ("hog_to_month", T),
        "toQuarter" => ("hog_to_quarter", T),
        "toYear" => ("hog_to_year", T),
        "toYYYYMM" => ("hog_to_yyyymm", T),
        "toYYYYMMDD" => ("hog_to_yyyymmdd", T),
        "toUnixTimestamp" => ("hog_to_unix", T),
        "toISOWeek" => ("hog_to_iso_week", T),
        "formatDateTime" => ("hog_format_datetime", T),
        "toString" => ("hog_to_string", T),
        "toInt" | "toInt64" | "toInt32" | "toInt16" | "toInt8" | "toUInt64" | "toUInt32"
        | "toUInt16" | "toUInt8" | "toIntOrNull" | "toInt64OrNull" | "toInt32OrNull"
        | "toUInt64OrNull" => ("hog_to_int", T),
        "toFloat" | "toFloat64" | "toFloat32" | "toFloatOrNull" | "toFloat64OrNull"
        | "toDecimal64" => ("hog_to_float", T),
        "lower" | "lowerUTF8" | "LOWER" => ("lower", T),
        "upper" | "upperUTF8" | "UPPER" => ("upper", T),
        "length" | "LENGTH" => ("hog_length", T),
        "lengthUTF8" | "char_length" | "CHAR_LENGTH" => ("character_length", T),
        "concat" | "CONCAT" => ("concat", T),
        "trim" | "trimBoth" => ("btrim", T),
        "trimLeft" | "ltrim" => ("ltrim", T),
        "trimRight" | "rtrim" => ("rtrim", T),
        "coalesce" | "COALESCE" | "ifNull" => ("coalesce", T),
        "nullIf" | "NULLIF" => ("nullif", T),
        "replaceAll" | "replace" => ("replace", T),
        "replaceRegexpOne" => ("regexp_replace", T),
        "extract" => ("hog_extract", T),
        "match" => ("regexp_like", T),
        "substring" | "substr" | "mid" => ("substr", T),
        "startsWith" => ("starts_with", T),
        "endsWith" => ("ends_with", T),
        "leftPad" | "lpad" => ("lpad", T),
        "rightPad" | "rpad" => ("rpad", T),
        "reverse" => ("reverse", T),
        "repeat" => ("repeat", T),
        "empty" => ("hog_empty", T),
        "notEmpty" => ("hog_not_empty", T),
        "round" | "ROUND" => ("round", N),
        "floor" | "FLOOR" => ("floor", N),
        "ceil" | "ceiling" | "CEIL" => ("ceil", N),
        "abs" | "ABS" => ("abs", N),
        "sqrt" => ("sqrt", N),
        "exp" => ("exp", N),
        "pow" | "power" | "POW" | "POWER" => ("power", N),
        "log" | "ln" | "LN" | "LOG" => ("ln", N),
        "log2" => ("log2", N),
        "log10" => ("log10", N),
        "sign" => ("signum", N),
        "greatest" => ("greatest", T),
        "least" => ("least", T),
        "intDiv" => ("hog_int_div", N),
        "JSONExtractString" => ("hog_json_string", T),
        "JSONExtractInt" | "JSONExtractUInt" => ("hog_json_int", T),
        "JSONExtractFloat" => ("hog_json_float", T),
        "JSONExtractBool" => ("hog_json_bool", T),
        "JSONExtractRaw" => ("hog_json_raw", T),
        "JSONExtractKeys" => ("hog_json_keys", T),
        "JSONExtractArrayRaw" => ("hog_json_array_raw", T),
        "JSONHas" => ("hog_json_has", T),
        "JSONLength" => ("hog_json_length", T),
        "array" => ("make_array", T),
        "has" => ("array_has", T),
        "hasAny" => ("array_has_any", T),
        "hasAll" => ("array_has_all", T),
        "arrayElement" => ("array_element", T),
        "arraySort" => ("array_sort", T),
        "arrayDistinct" => ("array_distinct", T),
        "arrayConcat" => ("array_concat", T),
        "arrayReverse" => ("array_reverse", T),
        "arrayStringConcat" => ("array_to_string", T),
        "arrayJoin" => ("unnest", T),
        "range" => ("range", N),
        "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" | "ntile" => {
            return window_name(name);
        }
        "lag" | "lead" | "first_value" | "last_value" | "nth_value" | "lagInFrame"
        | "leadInFrame" => {
            return window_name(name);
        }
        _ => return None,
    })
}

fn window_name(name: &str) -> Option<(&'static str, Hint)> {
    Some((
        match name {
            "row_number" => "row_number",
            "rank" => "rank",
            "dense_rank" => "dense_rank",
            "percent_rank" => "percent_rank",
            "cume_dist" => "cume_dist",
            "ntile" => "ntile",
            "lag" | "lagInFrame" => "lag",
            "lead" | "leadInFrame" => "lead",
            "first_value" => "first_value",
            "last_value" => "last_value",
            "nth_value" => "nth_value",
            _ => return None,
        },
        Hint::Text,
    ))
}

fn plain_args(f: &Function) -> Res<(Vec<Expr>, bool, Vec<FunctionArgumentClause>)> {
    match &f.args {
        FunctionArguments::None => Ok((vec![], false, vec![])),
        FunctionArguments::Subquery(_) => {
            Err(HogError::unsupported("a subquery as function arguments"))
        }
        FunctionArguments::List(l) => {
            let mut out = vec![];
            for a in &l.args {
                match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => out.push(e.clone()),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {}
                    _ => return Err(HogError::unsupported("named function arguments")),
                }
            }
            let distinct = matches!(l.duplicate_treatment, Some(DuplicateTreatment::Distinct));
            Ok((out, distinct, l.clauses.clone()))
        }
    }
}

fn unit_literal(e: &Expr) -> Expr {
    // dateDiff(day, …) names the unit bare.
    match e {
        Expr::Identifier(i) => string(&i.value),
        other => other.clone(),
    }
}

/// Rewrites one function call.
pub fn rewrite(rw: &mut Rewriter, f: Function, hint: Hint, scope: &mut Scope) -> Res<Expr> {
    let Some(name) = single_name(&f.name) else {
        return Err(HogError::new(format!("Unknown function '{}'.", f.name)));
    };
    if f.filter.is_some() || !f.within_group.is_empty() || f.null_treatment.is_some() {
        return Err(HogError::unsupported(&format!("this form of '{name}'")));
    }
    let (raw_args, distinct, clauses) = plain_args(&f)?;
    if !clauses.is_empty() {
        return Err(HogError::unsupported(&format!("clauses inside '{name}'")));
    }
    let params = match &f.parameters {
        FunctionArguments::None => vec![],
        FunctionArguments::List(l) => l
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        FunctionArguments::Subquery(_) => {
            return Err(HogError::unsupported("parametric subqueries"));
        }
    };
    let mut over = f.over.clone();
    if let Some(datafusion::sql::sqlparser::ast::WindowType::WindowSpec(spec)) = &mut over {
        rw.window_spec(spec, scope)?;
    }
    let args_with =
        |rw: &mut Rewriter, h: Hint, scope: &mut Scope, args: Vec<Expr>| -> Res<Vec<Expr>> {
            args.into_iter()
                .map(|a| {
                    let mut a = a;
                    rw.expr(&mut a, h, scope)?;
                    Ok(a)
                })
                .collect()
        };
    let lname = name.to_ascii_lowercase();
    let agg_name = if aggregate(&name).is_some() {
        Some(name.clone())
    } else if aggregate(&lname).is_some() {
        Some(lname.clone())
    } else {
        None
    };

    // Lambdas.
    if raw_args.iter().any(|a| matches!(a, Expr::Lambda(_))) {
        return Err(HogError::unsupported(&format!("lambda function '{name}'")));
    }

    // Aggregates and their -If combinators.
    let (base, cond) = match &agg_name {
        Some(n) => (Some(n.clone()), None),
        None => match name.strip_suffix("If") {
            Some(b) if aggregate(b).is_some() && !raw_args.is_empty() => {
                let mut a = raw_args.clone();
                let c = a.pop();
                return aggregate_call(rw, b, a, c, distinct, params, over, scope);
            }
            _ => (None, None::<Expr>),
        },
    };
    if let Some(b) = base {
        return aggregate_call(rw, &b, raw_args, cond, distinct, params, over, scope);
    }
    let _ = hint;

    match name.as_str() {
        "if" | "IF" => {
            let mut a = args_with(rw, Hint::Text, scope, raw_args)?;
            if a.len() != 3 {
                return Err(HogError::new("if takes 3 arguments."));
            }
            let otherwise = a.pop();
            let then = a.pop().unwrap_or_else(|| boolean(false));
            let c = a.pop().unwrap_or_else(|| boolean(false));
            return Ok(case(vec![(truthy(c), then)], otherwise));
        }
        "multiIf" => {
            let mut a = args_with(rw, Hint::Text, scope, raw_args)?;
            if a.len() < 3 || a.len() % 2 == 0 {
                return Err(HogError::new(
                    "multiIf takes an odd number of arguments (at least 3).",
                ));
            }
            let otherwise = a.pop();
            let mut pairs = vec![];
            let mut it = a.into_iter();
            while let (Some(c), Some(v)) = (it.next(), it.next()) {
                pairs.push((truthy(c), v));
            }
            return Ok(case(pairs, otherwise));
        }
        "isNull" | "isNotNull" => {
            let mut a = args_with(rw, Hint::Text, scope, raw_args)?;
            let x = Box::new(
                a.pop()
                    .ok_or_else(|| HogError::new(format!("{name} takes 1 argument.")))?,
            );
            return Ok(if name == "isNull" {
                Expr::IsNull(x)
            } else {
                Expr::IsNotNull(x)
            });
        }
        "not" => {
            let mut a = args_with(rw, Hint::Number, scope, raw_args)?;
            let x = a
                .pop()
                .ok_or_else(|| HogError::new("not takes 1 argument."))?;
            return Ok(Expr::UnaryOp {
                op: datafusion::sql::sqlparser::ast::UnaryOperator::Not,
                expr: Box::new(nested(x)),
            });
        }
        "equals" | "notEquals" | "less" | "greater" | "lessOrEquals" | "greaterOrEquals"
        | "plus" | "minus" | "multiply" | "divide" | "modulo" | "and" | "or" => {
            use datafusion::sql::sqlparser::ast::BinaryOperator as B;
            let op = match name.as_str() {
                "equals" => B::Eq,
                "notEquals" => B::NotEq,
                "less" => B::Lt,
                "greater" => B::Gt,
                "lessOrEquals" => B::LtEq,
                "greaterOrEquals" => B::GtEq,
                "plus" => B::Plus,
                "minus" => B::Minus,
                "multiply" => B::Multiply,
                "divide" => B::Divide,
                "modulo" => B::Modulo,
                "and" => B::And,
                _ => B::Or,
            };
            let mut it = raw_args.into_iter();
            let (Some(l), Some(r)) = (it.next(), it.next()) else {
                return Err(HogError::new(format!("{name} takes 2 arguments.")));
            };
            return rw.binary_op(l, op, r, scope);
        }
        "like" | "ilike" | "notLike" | "notILike" => {
            let mut it = raw_args.into_iter();
            let (Some(l), Some(r)) = (it.next(), it.next()) else {
                return Err(HogError::new(format!("{name} takes 2 arguments.")));
            };
            let negated = name.starts_with("not");
            let e = if name.to_ascii_lowercase().ends_with("ilike") {
                Expr::ILike {
                    negated,
                    any: false,
                    expr: Box::new(l),
                    pattern: Box::new(r),
                    escape_char: None,
                }
            } else {
                Expr::Like {
                    negated,
                    any: false,
                    expr: Box::new(l),
                    pattern: Box::new(r),
                    escape_char: None,
                }
            };
            let mut e = e;
            rw.expr(&mut e, Hint::Text, scope)?;
            return Ok(e);
        }
        "replaceRegexpAll" => {
            let mut a = args_with(rw, Hint::Text, scope, raw_args)?;
            a.push(string("g"));
            return Ok(call("regexp_replace", a));
        }
        "toTimeZone" => {
            let tz = raw_args.get(1).and_then(literal_text);
            if !matches!(tz.as_deref(), Some("UTC" | "Etc/UTC" | "GMT")) {
                return Err(HogError::unsupported("toTimeZone to a zone other than UTC"));
            }
            let mut a = args_with(rw, Hint::Text, scope, raw_args)?;
            a.truncate(1);
            return Ok(call("hog_to_datetime", a));
        }
        "toStartOfWeek"
        | "toStartOfInterval"
        | "toStartOfFiveMinutes"
        | "toStartOfFiveMinute"
        | "toStartOfTenMinutes"
        | "toStartOfFifteenMinutes"
        | "toDayOfWeek" => {
            return time_special(rw, &name, raw_args, scope);
        }
        "dateTrunc" | "date_trunc" | "DATE_TRUNC" => {
            // ClickHouse gives a Date for week and longer units, a DateTime below.
            let unit = raw_args
                .first()
                .map(unit_literal)
                .as_ref()
                .and_then(literal_text);
            let Some(unit) = unit.as_deref().and_then(crate::udf::time::Unit::parse) else {
                return Err(HogError::unsupported("dateTrunc with a computed unit"));
            };
            let mut a = raw_args;
            if let Some(first) = a.first_mut() {
                *first = unit_literal(first);
            }
            let a = args_with(rw, Hint::Text, scope, a)?;
            let target = if unit.start_is_date() {
                "hog_date_trunc_date"
            } else {
                "hog_date_trunc"
            };
            return Ok(call(target, a));
        }
        "replaceOne" => {
            // The pattern is a literal string: escaped into a regular expression replaced once.
            let (Some(p), Some(r)) = (
                raw_args.get(1).and_then(literal_text),
                raw_args.get(2).and_then(literal_text),
            ) else {
                return Err(HogError::unsupported("replaceOne with a computed pattern"));
            };
            let mut a = args_with(rw, Hint::Text, scope, raw_args[..1].to_vec())?;
            a.push(string(&regex::escape(&p)));
            a.push(string(&r.replace('\\', "\\\\").replace('$', "$$")));
            return Ok(call("regexp_replace", a));
        }
        "dateDiff" | "date_diff" | "DATEDIFF" | "dateAdd" | "date_add" | "DATE_ADD" | "dateSub"
        | "date_sub" | "DATE_SUB" => {
            let mut a = raw_args;
            if let Some(first) = a.first_mut() {
                *first = unit_literal(first);
            }
            let target = match lname.as_str() {
                "datediff" | "date_diff" => "hog_date_diff",
                "dateadd" | "date_add" => "hog_date_add",
                _ => "hog_date_sub",
            };
            let a = args_with(rw, Hint::Text, scope, a)?;
            return Ok(call(target, a));
        }
        "indexOf" => {
            let a = args_with(rw, Hint::Text, scope, raw_args)?;
            return Ok(call("coalesce", vec![call("array_position", a), number(0)]));
        }
        "toInt64OrZero" | "toIntOrZero" | "toFloatOrZero" | "toFloat64OrZero" => {
            let a = args_with(rw, Hint::Text, scope, raw_args)?;
            let f = if name.starts_with("toInt") {
                "hog_to_int"
            } else {
                "hog_to_float"
            };
            return Ok(call("coalesce", vec![call(f, a), number(0)]));
        }
        "splitByChar" | "splitByString" => {
            let mut a = args_with(rw, Hint::Text, scope, raw_args)?;
            a.reverse();
            return Ok(call("string_to_array", a));
        }
        "positionCaseInsensitive" => {
            let a = args_with(rw, Hint::Text, scope, raw_args)?;
            let a = a.into_iter().map(|x| call("lower", vec![x])).collect();
            return Ok(call("strpos", a));
        }
        "position" | "locate" => {
            let a = args_with(rw, Hint::Text, scope, raw_args)?;
            return Ok(call("strpos", a));
        }
        _ => {}
    }
    if let Some(u) = add_unit(&name) {
        let a = args_with(rw, Hint::Text, scope, raw_args)?;
        return Ok(call(&u, a));
    }
    let Some((target, h)) = scalar(&name) else {
        return Err(match name.as_str() {
            "topK" | "topKWeighted" | "arrayMap" | "arrayFilter" | "arrayExists" | "arrayAll"
            | "arrayCount" | "arraySum" | "tuple" | "tupleElement" | "groupArrayIf"
            | "histogram" | "retention" | "windowFunnel" | "sequenceMatch" | "sequenceCount"
            | "quantiles" | "toTypeName" | "arrayFold" | "arrayZip" | "neighbor"
            | "runningDifference" => HogError::unsupported(&format!("function '{name}'")),
            _ => HogError::new(format!("Unknown function '{name}'.")),
        });
    };
    if over.is_some() && window_name(&name).is_none() {
        return Err(HogError::unsupported(&format!("'{name}' over a window")));
    }
    let first_raw = raw_args.first().cloned();
    let mut a = args_with(rw, h, scope, raw_args)?;
    if matches!(name.as_str(), "lag" | "lead" | "lagInFrame" | "leadInFrame") && a.len() < 3 {
        // ClickHouse answers the type's default where there is no row: '' or the epoch for
        // the never-null columns, NULL for property reads (as DataFusion).
        let default = match first_raw.as_ref().map(type_default) {
            Some(Some(d)) => d,
            _ => {
                return Err(HogError::unsupported(&format!(
                    "'{name}' of this expression without its default argument"
                )));
            }
        };
        if let Some(d) = default {
            if a.len() == 1 {
                a.push(number(1));
            }
            a.push(d);
        }
    }
    if name == "leadInFrame" && !frame_reaches_end(&over) {
        return Err(HogError::unsupported(
            "leadInFrame without a frame reaching UNBOUNDED FOLLOWING",
        ));
    }
    if matches!(
        name.as_str(),
        "toDateTime" | "toDateTime64" | "parseDateTimeBestEffort"
    ) {
        a.truncate(1);
    }
    let mut out = func(target, a);
    out.over = over;
    if distinct {
        return Err(HogError::unsupported(&format!("DISTINCT in '{name}'")));
    }
    Ok(Expr::Function(out))
}

/// The ClickHouse default of a value's type, as a literal: `Some(None)` when it is NULL (a
/// nullable value), `None` when groupd cannot tell.
fn type_default(e: &Expr) -> Option<Option<Expr>> {
    let name = match e {
        Expr::Identifier(i) => i.value.clone(),
        Expr::CompoundIdentifier(p) if p.len() == 2 && !p[0].value.starts_with("group_") => {
            p[1].value.clone()
        }
        e if super::expr::is_bare_property(e) => return Some(None),
        _ => return None,
    };
    match name.as_str() {
        "event" | "distinct_id" | "uuid" | "key" => Some(Some(string(""))),
        n if n.starts_with("$group_") => Some(Some(string(""))),
        "timestamp" | "created_at" | "updated_at" => {
            Some(Some(call("hog_from_unix", vec![number(0)])))
        }
        "index" => Some(Some(number(0))),
        _ => None,
    }
}

fn frame_reaches_end(over: &Option<datafusion::sql::sqlparser::ast::WindowType>) -> bool {
    use datafusion::sql::sqlparser::ast::{WindowFrameBound, WindowType};
    match over {
        Some(WindowType::WindowSpec(s)) => s
            .window_frame
            .as_ref()
            .is_some_and(|f| matches!(f.end_bound, Some(WindowFrameBound::Following(None)))),
        // A named window: its frame is checked by DataFusion's own lead, which sees the whole
        // partition; only allowed when written out.
        _ => false,
    }
}

/// `if`'s condition: ClickHouse reads any non-zero number as true.
fn truthy(c: Expr) -> Expr {
    or_bool(c, false)
}

fn add_unit(name: &str) -> Option<String> {
    let (sign, rest) = if let Some(r) = name.strip_prefix("add") {
        ("add", r)
    } else if let Some(r) = name.strip_prefix("subtract") {
        ("sub", r)
    } else {
        return None;
    };
    let unit = match rest {
        "Seconds" => "second",
        "Minutes" => "minute",
        "Hours" => "hour",
        "Days" => "day",
        "Weeks" => "week",
        "Months" => "month",
        "Quarters" => "quarter",
        "Years" => "year",
        _ => return None,
    };
    Some(format!("hog_{sign}_{unit}"))
}

fn time_special(rw: &mut Rewriter, name: &str, args: Vec<Expr>, scope: &mut Scope) -> Res<Expr> {
    let mut a = args;
    match name {
        "toStartOfWeek" | "toDayOfWeek" => {
            let mode = a.get(1).map(literal_int);
            let target = match (name, mode) {
                ("toStartOfWeek", None | Some(Some(0))) => "hog_start_of_week",
                ("toStartOfWeek", Some(Some(1))) => "hog_to_monday",
                ("toDayOfWeek", None | Some(Some(0))) => "hog_to_day_of_week",
                _ => return Err(HogError::unsupported(&format!("{name} with this mode"))),
            };
            a.truncate(1);
            let mut x = a
                .pop()
                .ok_or_else(|| HogError::new(format!("{name} takes a time.")))?;
            rw.expr(&mut x, Hint::Text, scope)?;
            Ok(call(target, vec![x]))
        }
        "toStartOfInterval" => {
            let (Some(t), Some(Expr::Interval(i))) = (a.first().cloned(), a.get(1).cloned()) else {
                return Err(HogError::new(
                    "toStartOfInterval takes a time and an INTERVAL.",
                ));
            };
            let (Some(n), Some(unit)) = (literal_int(&i.value), i.leading_field.as_ref()) else {
                return Err(HogError::unsupported(
                    "toStartOfInterval with this interval",
                ));
            };
            let mut t = t;
            rw.expr(&mut t, Hint::Text, scope)?;
            Ok(call(
                "hog_start_of_interval",
                vec![t, number(n), string(&unit.to_string().to_ascii_lowercase())],
            ))
        }
        _ => {
            let n = match name {
                "toStartOfTenMinutes" => 10,
                "toStartOfFifteenMinutes" => 15,
                _ => 5,
            };
            let mut t = a
                .into_iter()
                .next()
                .ok_or_else(|| HogError::new(format!("{name} takes a time.")))?;
            rw.expr(&mut t, Hint::Text, scope)?;
            Ok(call(
                "hog_start_of_interval",
                vec![t, number(n), string("minute")],
            ))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn aggregate_call(
    rw: &mut Rewriter,
    base: &str,
    args: Vec<Expr>,
    cond: Option<Expr>,
    distinct: bool,
    params: Vec<Expr>,
    over: Option<datafusion::sql::sqlparser::ast::WindowType>,
    scope: &mut Scope,
) -> Res<Expr> {
    let Some((target, h)) = aggregate(base) else {
        return Err(HogError::new(format!("Unknown function '{base}'.")));
    };
    let mut args: Vec<Expr> = args
        .into_iter()
        .map(|mut a| rw.expr(&mut a, h, scope).map(|_| a))
        .collect::<Res<_>>()?;
    let cond = match cond {
        Some(mut c) => {
            rw.expr(&mut c, Hint::Number, scope)?;
            Some(c)
        }
        None => None,
    };
    let mut distinct = distinct;
    let mut order: Vec<OrderByExpr> = vec![];
    let mut extra_filter: Option<Expr> = None;
    match base {
        "uniq" | "uniqExact" | "uniqCombined" | "uniqCombined64" | "uniqHLL12" | "uniqTheta" => {
            if args.len() != 1 {
                return Err(HogError::unsupported("uniq of several arguments"));
            }
            distinct = true;
        }
        "argMax" | "argMin" => {
            if args.len() != 2 {
                return Err(HogError::new(format!("{base} takes 2 arguments.")));
            }
            let by = args.pop().unwrap_or_else(|| boolean(true));
            order.push(OrderByExpr {
                expr: by,
                options: OrderByOptions {
                    asc: Some(base == "argMin"),
                    nulls_first: Some(false),
                },
                with_fill: None,
            });
        }
        "groupArray" | "groupUniqArray" => {
            if !params.is_empty() {
                return Err(HogError::unsupported("groupArray(N)"));
            }
            if base == "groupUniqArray" {
                distinct = true;
            }
            // ClickHouse leaves NULLs out of arrays.
            if let Some(x) = args.first() {
                extra_filter = Some(Expr::IsNotNull(Box::new(x.clone())));
            }
        }
        "quantile" | "quantileExactInclusive" => {
            let p = match params.as_slice() {
                [] => 0.5,
                [p] => literal_text(p)
                    .and_then(|t| t.parse::<f64>().ok())
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| HogError::new("quantile(p) takes a level from 0 to 1."))?,
                _ => return Err(HogError::unsupported("quantile with several levels")),
            };
            args.push(Expr::Value(
                datafusion::sql::sqlparser::ast::Value::Number(p.to_string(), false)
                    .with_empty_span(),
            ));
        }
        _ => {
            if !params.is_empty() {
                return Err(HogError::unsupported(&format!("parameters of '{base}'")));
            }
        }
    }
    let filter = match (cond, extra_filter) {
        (Some(c), Some(x)) => Some(binary(
            nested(or_bool(c, false)),
            datafusion::sql::sqlparser::ast::BinaryOperator::And,
            x,
        )),
        (Some(c), None) => Some(or_bool(c, false)),
        (None, x) => x,
    };
    let star = base == "count" && args.is_empty();
    // ClickHouse's sum over no rows of a non-nullable value is 0; of a nullable one (a property
    // read) it is NULL, as DataFusion's.
    let nullable_arg = args.iter().any(|a| {
        let t = a.to_string();
        t.contains("hog_prop_") || t.contains("NULL") || t.contains("hog_to_")
    });
    let mut f = func(target, args);
    if let FunctionArguments::List(l) = &mut f.args {
        if star {
            l.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Wildcard)];
        }
        if distinct {
            l.duplicate_treatment = Some(DuplicateTreatment::Distinct);
        }
        if !order.is_empty() {
            l.clauses.push(FunctionArgumentClause::OrderBy(order));
        }
    }
    f.filter = filter.map(Box::new);
    let windowed = over.is_some();
    f.over = over;
    let e = Expr::Function(f);
    // ClickHouse's sum of nothing is 0, not NULL.
    Ok(if base == "sum" && !windowed && !nullable_arg {
        call("coalesce", vec![e, number(0)])
    } else {
        e
    })
}

#[allow(dead_code)]
fn list(args: Vec<Expr>) -> FunctionArgumentList {
    FunctionArgumentList {
        duplicate_treatment: None,
        args: args
            .into_iter()
            .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
            .collect(),
        clauses: vec![],
    }
}
