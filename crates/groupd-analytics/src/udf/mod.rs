//! ClickHouse functions DataFusion lacks, as scalar UDFs named `hog_*`. The HogQL rewrite maps
//! each ClickHouse name to one of these or to a DataFusion built-in; nothing else is callable.
//! Every function here evaluates row by row over its arguments cast to the types it reads, and
//! gives NULL for values it cannot read (never an error for bad data).
pub mod json;
pub mod time;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListBuilder, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use time::{Part, Unit};

/// What a `hog_*` function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    PropText,
    PropNumber,
    PropRaw,
    RawNumber,
    JsonString,
    JsonInt,
    JsonFloat,
    JsonBool,
    JsonRaw,
    JsonKeys,
    JsonArrayRaw,
    JsonHas,
    JsonLength,
    Now(i64),
    Today(i64),
    ToDateTime,
    ToDate,
    FromUnix,
    StartOf(Unit),
    StartOfIsoWeek,
    StartOfInterval,
    DateTrunc,
    DateTruncDate,
    Part(Part),
    AddUnit(Unit, bool),
    DateAdd(bool),
    DateDiff,
    FormatDateTime,
    ToString,
    ToInt,
    ToFloat,
    Length,
    Extract,
    Empty(bool),
    IntDiv,
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn list_of_text() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

impl Kind {
    fn return_type(self, args: &[DataType]) -> DataType {
        use Kind::*;
        match self {
            PropText | PropRaw | JsonString | JsonRaw | FormatDateTime | ToString | Extract => {
                DataType::Utf8
            }
            PropNumber | RawNumber | JsonFloat | ToFloat => DataType::Float64,
            JsonInt | JsonLength | Part(_) | DateDiff | ToInt | Length | IntDiv => DataType::Int64,
            JsonBool | JsonHas | Empty(_) => DataType::Boolean,
            JsonKeys | JsonArrayRaw => list_of_text(),
            Now(_) | ToDateTime | FromUnix | StartOfInterval | DateTrunc => ts_type(),
            Today(_) | ToDate | StartOfIsoWeek | DateTruncDate => DataType::Date32,
            StartOf(u) if u.start_is_date() => DataType::Date32,
            StartOf(_) => ts_type(),
            AddUnit(..) => match args.first() {
                Some(DataType::Date32) => DataType::Date32,
                _ => ts_type(),
            },
            DateAdd(_) => match args.get(2) {
                Some(DataType::Date32) => DataType::Date32,
                _ => ts_type(),
            },
        }
    }
}

/// One `hog_*` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct HogUdf {
    name: String,
    kind: Kind,
    signature: Signature,
}

impl HogUdf {
    /// The function `name` computing `kind`.
    pub fn udf(name: &str, kind: Kind) -> ScalarUDF {
        let volatility = Volatility::Immutable;
        let signature = match kind {
            Kind::Now(_) | Kind::Today(_) => Signature::nullary(volatility),
            _ => Signature::variadic_any(volatility),
        };
        ScalarUDF::from(HogUdf {
            name: name.to_owned(),
            kind,
            signature,
        })
    }
}

impl ScalarUDFImpl for HogUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(self.kind.return_type(args))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = if args.args.is_empty() {
            vec![]
        } else {
            ColumnarValue::values_to_arrays(&args.args)?
        };
        let out = eval(
            self.kind,
            &arrays,
            n,
            &self.return_type(
                &arrays
                    .iter()
                    .map(|a| a.data_type().clone())
                    .collect::<Vec<_>>(),
            )?,
        )?;
        Ok(ColumnarValue::Array(out))
    }
}

fn cast_to(a: &ArrayRef, t: &DataType) -> Result<ArrayRef> {
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    Ok(cast_with_options(a, t, &opts)?)
}

/// An argument as text per row.
fn texts(a: &ArrayRef) -> Result<Vec<Option<String>>> {
    let c = match a.data_type() {
        DataType::Timestamp(..) => {
            return Ok(times(a)?
                .into_iter()
                .map(|t| t.and_then(time::clickhouse_text))
                .collect());
        }
        DataType::Boolean => cast_to(&cast_to(a, &DataType::Int64)?, &DataType::Utf8)?,
        _ => cast_to(a, &DataType::Utf8)?,
    };
    let s = c
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| datafusion::error::DataFusionError::Execution("not text".into()))?;
    Ok(s.iter().map(|v| v.map(str::to_owned)).collect())
}

fn ints(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    if matches!(
        a.data_type(),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) {
        return Ok(texts(a)?
            .into_iter()
            .map(|s| {
                s.and_then(|s| {
                    let s = s.trim().to_owned();
                    s.parse::<i64>().ok().or_else(|| {
                        s.parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite())
                            .map(|f| f.trunc() as i64)
                    })
                })
            })
            .collect());
    }
    let c = cast_to(a, &DataType::Int64)?;
    let c = c
        .as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .unwrap_or_else(|| Int64Array::new_null(a.len()));
    Ok(c.iter().collect())
}

fn floats(a: &ArrayRef) -> Result<Vec<Option<f64>>> {
    if matches!(
        a.data_type(),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) {
        return Ok(texts(a)?
            .into_iter()
            .map(|s| s.and_then(|s| s.trim().parse::<f64>().ok()))
            .collect());
    }
    let c = cast_to(a, &DataType::Float64)?;
    let c = c
        .as_any()
        .downcast_ref::<Float64Array>()
        .cloned()
        .unwrap_or_else(|| Float64Array::new_null(a.len()));
    Ok(c.iter().collect())
}

/// An argument as UTC microseconds: times, dates, text (parsed), numbers (Unix seconds).
fn times(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    Ok(match a.data_type() {
        DataType::Timestamp(..) => {
            let c = cast_to(a, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let c = cast_to(&c, &DataType::Int64)?;
            ints(&c)?
        }
        DataType::Date32 | DataType::Date64 => {
            let c = cast_to(a, &DataType::Date32)?;
            let d = c
                .as_any()
                .downcast_ref::<Date32Array>()
                .cloned()
                .unwrap_or_else(|| Date32Array::new_null(a.len()));
            d.iter().map(|v| v.map(time::days_to_us)).collect()
        }
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => texts(a)?
            .into_iter()
            .map(|s| s.and_then(|s| time::parse(&s)))
            .collect(),
        DataType::Null => vec![None; a.len()],
        _ => floats(a)?
            .into_iter()
            .map(|f| f.map(|f| (f * 1e6) as i64))
            .collect(),
    })
}

fn unit_arg(a: &ArrayRef) -> Result<Vec<Option<Unit>>> {
    Ok(texts(a)?
        .into_iter()
        .map(|s| s.and_then(|s| Unit::parse(&s)))
        .collect())
}

fn ts_out(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

fn date_out(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(Date32Array::from(
        v.into_iter()
            .map(|t| t.and_then(time::us_to_days))
            .collect::<Vec<_>>(),
    ))
}

fn time_out(v: Vec<Option<i64>>, ret: &DataType) -> ArrayRef {
    if *ret == DataType::Date32 {
        date_out(v)
    } else {
        ts_out(v)
    }
}

fn text_lists(v: Vec<Option<Vec<String>>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for row in v {
        match row {
            Some(items) => {
                for i in items {
                    b.values().append_value(i);
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

/// Reads the JSON argument and keys of row `i`, then `f` on the value found.
fn json_rows<T>(
    args: &[ArrayRef],
    n: usize,
    f: impl Fn(Option<serde_json::Value>) -> T,
) -> Result<Vec<Option<T>>> {
    let Some(first) = args.first() else {
        return exec_err!("a JSON function needs its JSON argument");
    };
    let json = texts(first)?;
    let keys: Vec<Vec<Option<String>>> = args[1..].iter().map(texts).collect::<Result<_>>()?;
    Ok((0..n)
        .map(|i| {
            let j = json.get(i)?.as_deref()?;
            let path: Vec<Option<&str>> = keys.iter().map(|k| k[i].as_deref()).collect();
            Some(f(json::walk(j, &path)))
        })
        .collect())
}

fn arg(args: &[ArrayRef], i: usize, name: &str) -> Result<ArrayRef> {
    match args.get(i) {
        Some(a) => Ok(a.clone()),
        None => exec_err!("{name} needs argument {}", i + 1),
    }
}

/// The one-argument calendar functions over a column of timestamps in one vectorised pass,
/// without the per-row vectors of the general path: `toStartOfWeek(timestamp)` over every event
/// is the common case, and was a tenth of a weekly query's time. `None`: not such a call.
fn fast_time(kind: Kind, args: &[ArrayRef], ret: &DataType) -> Option<ArrayRef> {
    use datafusion::arrow::datatypes::{Date32Type, TimestampMicrosecondType};
    let [a] = args else { return None };
    let t = a.as_any().downcast_ref::<TimestampMicrosecondArray>()?;
    // Day numbers of any i64 µs fit an i32 (about ±1.07e8 days), so no row can overflow.
    let days = |f: fn(i64) -> i64| -> ArrayRef {
        Arc::new(t.unary::<_, Date32Type>(|us| f(time::day_of(us)) as i32))
    };
    Some(match kind {
        Kind::ToDate => days(|d| d),
        Kind::StartOfIsoWeek => days(time::monday_of),
        Kind::StartOf(Unit::Week) if *ret == DataType::Date32 => days(time::sunday_of),
        Kind::StartOf(u) if *ret == ts_type() => {
            let len = u.fixed_us()?;
            Arc::new(
                t.unary::<_, TimestampMicrosecondType>(|us| us - us.rem_euclid(len))
                    .with_timezone("UTC"),
            )
        }
        _ => return None,
    })
}

fn eval(kind: Kind, args: &[ArrayRef], n: usize, ret: &DataType) -> Result<ArrayRef> {
    use Kind::*;
    if let Some(out) = fast_time(kind, args, ret) {
        return Ok(out);
    }
    Ok(match kind {
        PropText => Arc::new(StringArray::from(
            json_rows(args, n, json::as_text)?
                .into_iter()
                .map(Option::flatten)
                .collect::<Vec<_>>(),
        )),
        PropRaw => Arc::new(StringArray::from(
            json_rows(args, n, json::as_raw)?
                .into_iter()
                .map(Option::flatten)
                .collect::<Vec<_>>(),
        )),
        PropNumber => Arc::new(Float64Array::from(
            json_rows(args, n, json::as_number)?
                .into_iter()
                .map(Option::flatten)
                .collect::<Vec<_>>(),
        )),
        RawNumber => {
            let t = texts(&arg(args, 0, "raw")?)?;
            Arc::new(Float64Array::from(
                t.into_iter()
                    .map(|s| s.and_then(|s| json::raw_number(&s)))
                    .collect::<Vec<_>>(),
            ))
        }
        JsonString => Arc::new(StringArray::from(json_rows(args, n, json::extract_string)?)),
        JsonRaw => Arc::new(StringArray::from(json_rows(args, n, json::extract_raw)?)),
        JsonInt => Arc::new(Int64Array::from(json_rows(args, n, json::extract_int)?)),
        JsonLength => Arc::new(Int64Array::from(json_rows(args, n, json::length)?)),
        JsonFloat => Arc::new(Float64Array::from(json_rows(args, n, json::extract_float)?)),
        JsonBool => Arc::new(BooleanArray::from(json_rows(args, n, json::extract_bool)?)),
        JsonHas => Arc::new(BooleanArray::from(json_rows(args, n, |v| v.is_some())?)),
        JsonKeys => text_lists(json_rows(args, n, json::extract_keys)?),
        JsonArrayRaw => text_lists(json_rows(args, n, json::extract_array_raw)?),
        Now(us) => ts_out(vec![Some(us); n.max(1)]),
        Today(us) => date_out(vec![time::start_of(Unit::Day, us); n.max(1)]),
        ToDateTime => ts_out(times(&arg(args, 0, "toDateTime")?)?),
        ToDate => date_out(times(&arg(args, 0, "toDate")?)?),
        FromUnix => {
            let secs = ints(&arg(args, 0, "fromUnixTimestamp")?)?;
            ts_out(
                secs.into_iter()
                    .map(|s| s.and_then(|s| s.checked_mul(time::US_PER_SEC)))
                    .collect(),
            )
        }
        StartOf(u) => {
            let t = times(&arg(args, 0, "toStartOf")?)?;
            time_out(
                t.into_iter()
                    .map(|t| t.and_then(|t| time::start_of(u, t)))
                    .collect(),
                ret,
            )
        }
        StartOfIsoWeek => {
            let t = times(&arg(args, 0, "toMonday")?)?;
            date_out(
                t.into_iter()
                    .map(|t| t.map(time::start_of_iso_week))
                    .collect(),
            )
        }
        StartOfInterval => {
            let t = times(&arg(args, 0, "toStartOfInterval")?)?;
            let k = ints(&arg(args, 1, "toStartOfInterval")?)?;
            let u = unit_arg(&arg(args, 2, "toStartOfInterval")?)?;
            ts_out(
                (0..n)
                    .map(|i| time::start_of_interval(t[i]?, k[i]?, u[i]?))
                    .collect(),
            )
        }
        DateTrunc | DateTruncDate => {
            let u = unit_arg(&arg(args, 0, "dateTrunc")?)?;
            let t = times(&arg(args, 1, "dateTrunc")?)?;
            time_out(
                (0..n)
                    .map(|i| match u[i]? {
                        Unit::Week => t[i].map(time::start_of_iso_week),
                        unit => time::start_of(unit, t[i]?),
                    })
                    .collect(),
                ret,
            )
        }
        Part(p) => {
            let t = times(&arg(args, 0, "toPart")?)?;
            Arc::new(Int64Array::from(
                t.into_iter()
                    .map(|t| t.and_then(|t| time::part(p, t)))
                    .collect::<Vec<_>>(),
            ))
        }
        AddUnit(u, subtract) => {
            let t = times(&arg(args, 0, "add")?)?;
            let k = ints(&arg(args, 1, "add")?)?;
            let sign = if subtract { -1 } else { 1 };
            time_out(
                (0..n).map(|i| time::add(t[i]?, sign * k[i]?, u)).collect(),
                ret,
            )
        }
        DateAdd(subtract) => {
            let u = unit_arg(&arg(args, 0, "dateAdd")?)?;
            let k = ints(&arg(args, 1, "dateAdd")?)?;
            let t = times(&arg(args, 2, "dateAdd")?)?;
            let sign = if subtract { -1 } else { 1 };
            time_out(
                (0..n)
                    .map(|i| time::add(t[i]?, sign * k[i]?, u[i]?))
                    .collect(),
                ret,
            )
        }
        DateDiff => {
            let u = unit_arg(&arg(args, 0, "dateDiff")?)?;
            let a = times(&arg(args, 1, "dateDiff")?)?;
            let b = times(&arg(args, 2, "dateDiff")?)?;
            Arc::new(Int64Array::from(
                (0..n)
                    .map(|i| time::diff(u[i]?, a[i]?, b[i]?))
                    .collect::<Vec<_>>(),
            ))
        }
        FormatDateTime => {
            let t = times(&arg(args, 0, "formatDateTime")?)?;
            let f = texts(&arg(args, 1, "formatDateTime")?)?;
            Arc::new(StringArray::from(
                (0..n)
                    .map(|i| time::format(t[i]?, f[i].as_deref()?))
                    .collect::<Vec<_>>(),
            ))
        }
        ToString => {
            let a = arg(args, 0, "toString")?;
            let v = match a.data_type() {
                DataType::Date32 => times(&a)?
                    .into_iter()
                    .map(|t| t.and_then(|t| time::format(t, "%F")))
                    .collect(),
                DataType::Float64 | DataType::Float32 => {
                    floats(&a)?.into_iter().map(|f| f.map(float_text)).collect()
                }
                _ => texts(&a)?,
            };
            Arc::new(StringArray::from(v))
        }
        ToInt => Arc::new(Int64Array::from(ints(&arg(args, 0, "toInt")?)?)),
        ToFloat => Arc::new(Float64Array::from(floats(&arg(args, 0, "toFloat")?)?)),
        Length => {
            let a = arg(args, 0, "length")?;
            match a.data_type() {
                DataType::List(_) | DataType::LargeList(_) => {
                    let l = cast_to(&a, &list_of_text())?;
                    let l = l
                        .as_any()
                        .downcast_ref::<datafusion::arrow::array::ListArray>()
                        .cloned();
                    match l {
                        Some(l) => Arc::new(Int64Array::from(
                            (0..l.len())
                                .map(|i| (!l.is_null(i)).then(|| l.value_length(i) as i64))
                                .collect::<Vec<_>>(),
                        )),
                        None => Arc::new(Int64Array::new_null(a.len())),
                    }
                }
                _ => Arc::new(Int64Array::from(
                    texts(&a)?
                        .into_iter()
                        .map(|s| s.map(|s| s.len() as i64))
                        .collect::<Vec<_>>(),
                )),
            }
        }
        Extract => {
            let s = texts(&arg(args, 0, "extract")?)?;
            let p = texts(&arg(args, 1, "extract")?)?;
            let mut cache: Option<(String, regex::Regex)> = None;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let (Some(s), Some(p)) = (&s[i], &p[i]) else {
                    out.push(None);
                    continue;
                };
                if cache.as_ref().is_none_or(|(k, _)| k != p) {
                    match regex::Regex::new(p) {
                        Ok(r) => cache = Some((p.clone(), r)),
                        Err(e) => return exec_err!("extract: bad regular expression: {e}"),
                    }
                }
                let re = &cache.as_ref().map(|c| &c.1);
                let found = re.and_then(|re| re.captures(s)).map(|c| {
                    c.get(1)
                        .or_else(|| c.get(0))
                        .map(|m| m.as_str().to_owned())
                        .unwrap_or_default()
                });
                out.push(Some(found.unwrap_or_default()));
            }
            Arc::new(StringArray::from(out))
        }
        Empty(negate) => {
            let a = arg(args, 0, "empty")?;
            let lens = eval(Length, &[a], n, &DataType::Int64)?;
            let lens = ints(&lens)?;
            Arc::new(BooleanArray::from(
                lens.into_iter()
                    .map(|l| Some((l.unwrap_or(0) == 0) != negate))
                    .collect::<Vec<_>>(),
            ))
        }
        IntDiv => {
            let a = ints(&arg(args, 0, "intDiv")?)?;
            let b = ints(&arg(args, 1, "intDiv")?)?;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                match (a[i], b[i]) {
                    (Some(_), Some(0)) => return exec_err!("Division by zero in intDiv"),
                    (Some(x), Some(y)) => out.push(x.checked_div(y)),
                    _ => out.push(None),
                }
            }
            Arc::new(Int64Array::from(out))
        }
    })
}

/// ClickHouse prints floats without a trailing `.0`.
pub fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The row-by-row answer of `kind` over `us`, the path every other input takes.
    fn general(kind: Kind, a: &ArrayRef, ret: &DataType) -> ArrayRef {
        let t = times(a).unwrap();
        match kind {
            Kind::ToDate => date_out(t),
            Kind::StartOfIsoWeek => date_out(
                t.into_iter()
                    .map(|t| t.map(time::start_of_iso_week))
                    .collect(),
            ),
            Kind::StartOf(u) => time_out(
                t.into_iter()
                    .map(|t| t.and_then(|t| time::start_of(u, t)))
                    .collect(),
                ret,
            ),
            _ => unreachable!(),
        }
    }

    proptest! {
        /// The vectorised calendar functions answer what the general path answers, nulls kept.
        #[test]
        fn fast_time_agrees(us in proptest::collection::vec(proptest::option::of(-10_000_000_000_000_000i64..10_000_000_000_000_000), 1..40)) {
            let a: ArrayRef = Arc::new(TimestampMicrosecondArray::from(us).with_timezone("UTC"));
            for kind in [
                Kind::ToDate,
                Kind::StartOfIsoWeek,
                Kind::StartOf(Unit::Second),
                Kind::StartOf(Unit::Minute),
                Kind::StartOf(Unit::Hour),
                Kind::StartOf(Unit::Day),
                Kind::StartOf(Unit::Week),
            ] {
                let ret = kind.return_type(&[ts_type()]);
                let fast = fast_time(kind, std::slice::from_ref(&a), &ret).expect("a fast path");
                prop_assert_eq!(fast.data_type(), &ret);
                prop_assert_eq!(&fast, &general(kind, &a, &ret), "{:?}", kind);
            }
        }
    }
}
