//! Expressions: names resolved through the scope, property reads typed by context, HogQL's
//! two-valued comparisons, ClickHouse operators and casts.
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, UnaryOperator, Value,
};

use super::ast::*;
use super::functions;
use super::rewrite::{COLUMNS, Hint, Res, Rewriter, Scope};
use super::{Catalog, HogError};

impl Rewriter<'_> {
    /// Rewrites `e` in place.
    pub fn expr(&mut self, e: &mut Expr, hint: Hint, scope: &mut Scope) -> Res<()> {
        let taken = std::mem::replace(e, Expr::Value(Value::Null.with_empty_span()));
        *e = self.rewrite(taken, hint, scope)?;
        Ok(())
    }

    fn boxed(&mut self, e: Box<Expr>, hint: Hint, scope: &mut Scope) -> Res<Box<Expr>> {
        Ok(Box::new(self.rewrite(*e, hint, scope)?))
    }

    fn rewrite(&mut self, e: Expr, hint: Hint, scope: &mut Scope) -> Res<Expr> {
        Ok(match e {
            Expr::Identifier(id) => {
                if scope.inline_aliases
                    && let Some(a) = scope.aliases.get(&id.value)
                {
                    return Ok(nested(a.clone()));
                }
                if id.value == "properties"
                    || COLUMNS.contains(&id.value.as_str())
                    || id.value.starts_with("$group_")
                {
                    // Qualify columns when implicit joins could make them ambiguous.
                    if let Some(q) = scope.default_props()
                        && scope.tables.len() == 1
                    {
                        return Ok(col(&q, &id.value));
                    }
                }
                Expr::Identifier(id)
            }
            Expr::CompoundIdentifier(parts) => {
                let parts: Vec<String> = parts.into_iter().map(|p| p.value).collect();
                self.compound(parts, hint, scope)?
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.field_access(*root, access_chain, hint, scope)?
            }
            Expr::IsNull(x) => Expr::IsNull(self.boxed(x, Hint::Text, scope)?),
            Expr::IsNotNull(x) => Expr::IsNotNull(self.boxed(x, Hint::Text, scope)?),
            Expr::IsTrue(x) => Expr::IsTrue(self.boxed(x, Hint::Number, scope)?),
            Expr::IsFalse(x) => Expr::IsFalse(self.boxed(x, Hint::Number, scope)?),
            Expr::IsNotTrue(x) => Expr::IsNotTrue(self.boxed(x, Hint::Number, scope)?),
            Expr::IsNotFalse(x) => Expr::IsNotFalse(self.boxed(x, Hint::Number, scope)?),
            Expr::IsDistinctFrom(a, b) => {
                let h = pair_hint(&a, &b);
                Expr::IsDistinctFrom(self.boxed(a, h, scope)?, self.boxed(b, h, scope)?)
            }
            Expr::IsNotDistinctFrom(a, b) => {
                let h = pair_hint(&a, &b);
                Expr::IsNotDistinctFrom(self.boxed(a, h, scope)?, self.boxed(b, h, scope)?)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                if let Expr::Tuple(items) = *expr {
                    return self.tuple_in(items, list, negated, scope);
                }
                let h = list.iter().find_map(literal_hint).unwrap_or(Hint::Text);
                let nn = non_null(&expr) && list.iter().all(non_null);
                let expr = self.boxed(expr, h, scope)?;
                let mut out = Vec::with_capacity(list.len());
                for x in list {
                    out.push(self.rewrite(x, h, scope)?);
                }
                let e = Expr::InList {
                    expr,
                    list: out,
                    negated,
                };
                if nn { e } else { or_bool(e, negated) }
            }
            Expr::InSubquery {
                expr,
                mut subquery,
                negated,
            } => {
                if matches!(*expr, Expr::Tuple(_)) {
                    return Err(HogError::unsupported("tuple IN (subquery)"));
                }
                let expr = self.boxed(expr, Hint::Text, scope)?;
                self.query(&mut subquery, false)?;
                Expr::InSubquery {
                    expr,
                    subquery,
                    negated,
                }
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let h = literal_hint(&low)
                    .or_else(|| literal_hint(&high))
                    .unwrap_or(Hint::Text);
                let nn = non_null(&expr) && non_null(&low) && non_null(&high);
                let e = Expr::Between {
                    expr: self.boxed(expr, h, scope)?,
                    negated,
                    low: self.boxed(low, h, scope)?,
                    high: self.boxed(high, h, scope)?,
                };
                if nn { e } else { or_bool(nested(e), negated) }
            }
            Expr::BinaryOp { left, op, right } => self.binary_op(*left, op, *right, scope)?,
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not => Expr::UnaryOp {
                    op,
                    expr: self.boxed(expr, Hint::Number, scope)?,
                },
                UnaryOperator::Minus | UnaryOperator::Plus => Expr::UnaryOp {
                    op,
                    expr: self.boxed(expr, Hint::Number, scope)?,
                },
                _ => return Err(HogError::unsupported("this unary operator")),
            },
            Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if any {
                    return Err(HogError::unsupported("LIKE ANY"));
                }
                let nn = non_null(&expr);
                let e = Expr::Like {
                    negated,
                    any,
                    expr: self.boxed(expr, Hint::Text, scope)?,
                    pattern: self.boxed(pattern, Hint::Text, scope)?,
                    escape_char,
                };
                if nn { e } else { or_bool(e, negated) }
            }
            Expr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if any {
                    return Err(HogError::unsupported("ILIKE ANY"));
                }
                let nn = non_null(&expr);
                let e = Expr::ILike {
                    negated,
                    any,
                    expr: self.boxed(expr, Hint::Text, scope)?,
                    pattern: self.boxed(pattern, Hint::Text, scope)?,
                    escape_char,
                };
                if nn { e } else { or_bool(e, negated) }
            }
            Expr::Cast {
                kind,
                expr,
                data_type,
                format,
                ..
            } => {
                if format.is_some() {
                    return Err(HogError::unsupported("CAST … FORMAT"));
                }
                let _ = kind == CastKind::Cast;
                self.cast(*expr, data_type, scope)?
            }
            Expr::Ceil { expr, field } => Expr::Ceil {
                expr: self.boxed(expr, Hint::Number, scope)?,
                field,
            },
            Expr::Floor { expr, field } => Expr::Floor {
                expr: self.boxed(expr, Hint::Number, scope)?,
                field,
            },
            Expr::Position { expr, r#in } => call(
                "strpos",
                vec![
                    self.rewrite(*r#in, Hint::Text, scope)?,
                    self.rewrite(*expr, Hint::Text, scope)?,
                ],
            ),
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                special,
                shorthand,
            } => {
                let mut args = vec![self.rewrite(*expr, Hint::Text, scope)?];
                if let Some(f) = substring_from {
                    args.push(self.rewrite(*f, Hint::Number, scope)?);
                }
                if let Some(f) = substring_for {
                    args.push(self.rewrite(*f, Hint::Number, scope)?);
                }
                let _ = (special, shorthand);
                call("substr", args)
            }
            Expr::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => Expr::Trim {
                expr: self.boxed(expr, Hint::Text, scope)?,
                trim_where,
                trim_what,
                trim_characters,
            },
            Expr::Nested(x) => Expr::Nested(self.boxed(x, hint, scope)?),
            Expr::Value(v) => match &v.value {
                Value::Placeholder(p) => {
                    return Err(HogError::new(format!("Unknown field '{p}'.")));
                }
                Value::DoubleQuotedString(s) => Expr::Identifier(ident(s)),
                _ => Expr::Value(v),
            },
            Expr::TypedString(t) => Expr::TypedString(t),
            Expr::Function(f) => functions::rewrite(self, f, hint, scope)?,
            Expr::Case {
                case_token,
                end_token,
                operand,
                conditions,
                else_result,
            } => {
                let operand = match operand {
                    Some(o) => Some(self.boxed(o, Hint::Text, scope)?),
                    None => None,
                };
                let mut cs = Vec::with_capacity(conditions.len());
                for mut c in conditions {
                    self.expr(&mut c.condition, Hint::Text, scope)?;
                    self.expr(&mut c.result, Hint::Text, scope)?;
                    cs.push(c);
                }
                let else_result = match else_result {
                    Some(x) => Some(self.boxed(x, Hint::Text, scope)?),
                    None => None,
                };
                Expr::Case {
                    case_token,
                    end_token,
                    operand,
                    conditions: cs,
                    else_result,
                }
            }
            Expr::Exists {
                mut subquery,
                negated,
            } => {
                self.query(&mut subquery, false)?;
                Expr::Exists { subquery, negated }
            }
            Expr::Subquery(mut q) => {
                self.query(&mut q, false)?;
                Expr::Subquery(q)
            }
            Expr::Array(mut a) => {
                for x in &mut a.elem {
                    self.expr(x, Hint::Text, scope)?;
                }
                Expr::Array(a)
            }
            Expr::Interval(i) => interval(i)?,
            Expr::Tuple(_) => return Err(HogError::unsupported("tuples outside IN")),
            Expr::Lambda(_) => return Err(HogError::unsupported("lambda functions")),
            Expr::Wildcard(t) => Expr::Wildcard(t),
            Expr::Extract { .. } => return Err(HogError::unsupported("EXTRACT(part FROM …)")),
            Expr::AtTimeZone { .. } => return Err(HogError::unsupported("AT TIME ZONE")),
            other => {
                return Err(HogError::unsupported(&format!("expression '{other}'")));
            }
        })
    }

    fn field_access(
        &mut self,
        root: Expr,
        chain: Vec<datafusion::sql::sqlparser::ast::AccessExpr>,
        hint: Hint,
        scope: &mut Scope,
    ) -> Res<Expr> {
        use datafusion::sql::sqlparser::ast::{AccessExpr, Subscript};
        // properties['a']['b'] (possibly qualified): a property read.
        let root_parts: Option<Vec<String>> = match &root {
            Expr::Identifier(i) => Some(vec![i.value.clone()]),
            Expr::CompoundIdentifier(p) => Some(p.iter().map(|i| i.value.clone()).collect()),
            _ => None,
        };
        if let Some(parts) = &root_parts
            && parts.last().is_some_and(|l| l == "properties")
        {
            let mut keys = vec![];
            let mut plain = true;
            for a in &chain {
                match a {
                    AccessExpr::Subscript(Subscript::Index { index })
                        if literal_text(index).is_some() =>
                    {
                        keys.push(index.clone());
                    }
                    AccessExpr::Dot(Expr::Identifier(i)) => keys.push(string(&i.value)),
                    _ => plain = false,
                }
            }
            if plain {
                let mut names: Vec<String> = parts.clone();
                // Resolve the qualifier through `compound` with a dummy key, then swap the keys in.
                names.push("__key".into());
                let base = self.compound(names, hint, scope)?;
                if let Expr::Function(mut f) = base {
                    if let datafusion::sql::sqlparser::ast::FunctionArguments::List(l) = &mut f.args
                    {
                        l.args.truncate(1);
                        for k in keys {
                            l.args
                                .push(datafusion::sql::sqlparser::ast::FunctionArg::Unnamed(
                                    datafusion::sql::sqlparser::ast::FunctionArgExpr::Expr(k),
                                ));
                        }
                    }
                    return Ok(Expr::Function(f));
                }
                return Err(HogError::unsupported("this subscript"));
            }
        }
        let root = self.rewrite(root, Hint::Text, scope)?;
        let mut out = Vec::with_capacity(chain.len());
        for a in chain {
            match a {
                AccessExpr::Subscript(Subscript::Index { index }) => {
                    let index = self.rewrite(index, Hint::Number, scope)?;
                    out.push(AccessExpr::Subscript(Subscript::Index { index }));
                }
                _ => return Err(HogError::unsupported("this element access")),
            }
        }
        Ok(Expr::CompoundFieldAccess {
            root: Box::new(root),
            access_chain: out,
        })
    }

    fn tuple_in(
        &mut self,
        items: Vec<Expr>,
        list: Vec<Expr>,
        negated: bool,
        scope: &mut Scope,
    ) -> Res<Expr> {
        // (a, b) IN ((1, 2), (3, 4)) → (a = 1 AND b = 2) OR (a = 3 AND b = 4), two-valued.
        let mut alternatives = vec![];
        for t in list {
            let Expr::Tuple(vals) = t else {
                return Err(HogError::unsupported("tuple IN with a non-tuple list"));
            };
            if vals.len() != items.len() {
                return Err(HogError::new("Tuple sizes differ in IN."));
            }
            let mut conj: Option<Expr> = None;
            for (a, b) in items.iter().cloned().zip(vals) {
                let eq = self.binary_op(a, BinaryOperator::Eq, b, scope)?;
                conj = Some(match conj {
                    Some(c) => binary(c, BinaryOperator::And, eq),
                    None => eq,
                });
            }
            alternatives.push(nested(conj.unwrap_or_else(|| boolean(true))));
        }
        let any = alternatives
            .into_iter()
            .reduce(|a, b| binary(a, BinaryOperator::Or, b))
            .unwrap_or_else(|| boolean(false));
        Ok(if negated {
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: Box::new(nested(any)),
            }
        } else {
            nested(any)
        })
    }

    pub fn binary_op(
        &mut self,
        l: Expr,
        op: BinaryOperator,
        r: Expr,
        scope: &mut Scope,
    ) -> Res<Expr> {
        use BinaryOperator::*;
        Ok(match op {
            Eq | NotEq | Lt | LtEq | Gt | GtEq => {
                let h = pair_hint(&l, &r);
                let nn = non_null(&l) && non_null(&r);
                let l = self.rewrite(l, h, scope)?;
                let r = self.rewrite(r, h, scope)?;
                match op {
                    Eq if !nn => Expr::IsNotDistinctFrom(Box::new(l), Box::new(r)),
                    NotEq if !nn => Expr::IsDistinctFrom(Box::new(l), Box::new(r)),
                    _ if nn => binary(l, op, r),
                    _ => or_bool(binary(l, op, r), false),
                }
            }
            // `a ?? b` (the parser's token for it).
            Spaceship => call(
                "coalesce",
                vec![
                    self.rewrite(l, Hint::Text, scope)?,
                    self.rewrite(r, Hint::Text, scope)?,
                ],
            ),
            And | Or | Xor => {
                let l = self.rewrite(l, Hint::Number, scope)?;
                let r = self.rewrite(r, Hint::Number, scope)?;
                if op == Xor {
                    binary(nested(l), NotEq, nested(r))
                } else {
                    binary(l, op, r)
                }
            }
            Plus | Minus | Multiply | Modulo => {
                let timeish = is_interval(&l) || is_interval(&r);
                let h = if timeish { Hint::Text } else { Hint::Number };
                let l = self.rewrite(l, h, scope)?;
                let r = self.rewrite(r, h, scope)?;
                binary(l, op, r)
            }
            Divide => {
                // ClickHouse's `/` is float division.
                let l = self.rewrite(l, Hint::Number, scope)?;
                let r = self.rewrite(r, Hint::Number, scope)?;
                binary(call("hog_to_float", vec![l]), Divide, r)
            }
            StringConcat => call(
                "concat",
                vec![
                    self.rewrite(l, Hint::Text, scope)?,
                    self.rewrite(r, Hint::Text, scope)?,
                ],
            ),
            DuckIntegerDivide | MyIntegerDivide => call(
                "hog_int_div",
                vec![
                    self.rewrite(l, Hint::Number, scope)?,
                    self.rewrite(r, Hint::Number, scope)?,
                ],
            ),
            other => return Err(HogError::unsupported(&format!("operator '{other}'"))),
        })
    }

    fn cast(&mut self, e: Expr, t: DataType, scope: &mut Scope) -> Res<Expr> {
        let t = match t {
            DataType::Nullable(inner) => *inner,
            other => other,
        };
        let name = t.to_string().to_ascii_lowercase();
        let (f, h) = match name.as_str() {
            "string" | "text" | "varchar" => ("hog_to_string", Hint::Text),
            n if n.starts_with("int")
                || n.starts_with("uint")
                || n == "bigint"
                || n == "integer" =>
            {
                ("hog_to_int", Hint::Text)
            }
            n if n.starts_with("float")
                || n == "double"
                || n == "real"
                || n.starts_with("decimal") =>
            {
                ("hog_to_float", Hint::Text)
            }
            n if n.starts_with("datetime") || n.starts_with("timestamp") => {
                ("hog_to_datetime", Hint::Text)
            }
            "date" | "date32" => ("hog_to_date", Hint::Text),
            "bool" | "boolean" => {
                let e = self.rewrite(e, Hint::Number, scope)?;
                return Ok(Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(e),
                    data_type: DataType::Boolean,
                    array: false,
                    format: None,
                });
            }
            _ => return Err(HogError::unsupported(&format!("CAST to {t}"))),
        };
        Ok(call(f, vec![self.rewrite(e, h, scope)?]))
    }
}

/// `hog_prop_*(properties, 'k', …)` by hint.
pub fn property(json: Expr, mut keys: Vec<Expr>, hint: Hint) -> Expr {
    let name = match hint {
        Hint::Text => "hog_prop_text",
        Hint::Number => "hog_prop_number",
        Hint::Raw => "hog_prop_raw",
    };
    let mut args = vec![json];
    args.append(&mut keys);
    call(name, args)
}

/// A raw property read: `hog_prop_raw(…)`, or its column computed inside a group join.
pub(super) fn is_raw_read(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => single_name(&f.name).as_deref() == Some("hog_prop_raw"),
        Expr::CompoundIdentifier(p) => p.last().is_some_and(|i| i.value.starts_with("__raw")),
        _ => false,
    }
}

pub(super) fn alias_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => i.value.clone(),
        _ => String::new(),
    }
}

/// `properties.x`, `e.properties.x`, `group_0.properties.x`, `properties['x']`.
pub fn is_bare_property(e: &Expr) -> bool {
    match e {
        Expr::CompoundIdentifier(p) => {
            p.len() >= 2 && p.iter().rev().skip(1).any(|i| i.value == "properties")
        }
        Expr::CompoundFieldAccess { root, .. } => match root.as_ref() {
            Expr::Identifier(i) => i.value == "properties",
            Expr::CompoundIdentifier(p) => p.last().is_some_and(|i| i.value == "properties"),
            _ => false,
        },
        Expr::Nested(x) => is_bare_property(x),
        _ => false,
    }
}

pub(super) fn group_index_of(name: &str, cat: &Catalog) -> Option<i64> {
    if let Some(n) = name.strip_prefix("group_")
        && let Ok(i) = n.parse::<i64>()
        && (0..crate::schema::GROUP_COLUMNS as i64).contains(&i)
    {
        return Some(i);
    }
    cat.types.iter().find(|t| t.1 == name).map(|t| t.0)
}

/// The hint a literal gives the other side of a comparison.
pub(super) fn literal_hint(e: &Expr) -> Option<Hint> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(..) | Value::Boolean(_) => Some(Hint::Number),
            Value::SingleQuotedString(_) => Some(Hint::Text),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => literal_hint(expr),
        Expr::BinaryOp {
            op:
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide,
            ..
        } => Some(Hint::Number),
        Expr::Function(f) => {
            let n = single_name(&f.name).unwrap_or_default();
            functions::numeric_result(&n).then_some(Hint::Number)
        }
        _ => None,
    }
}

pub(super) fn pair_hint(a: &Expr, b: &Expr) -> Hint {
    literal_hint(b)
        .or_else(|| literal_hint(a))
        .unwrap_or(Hint::Text)
}

/// Whether `e` can never be NULL (so a comparison needs no two-valued wrapper, and a plain
/// comparison stays prunable).
pub(super) fn non_null(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => !matches!(v.value, Value::Null),
        Expr::Identifier(i) => {
            COLUMNS.contains(&i.value.as_str()) && i.value != "properties"
                || i.value.starts_with("$group_")
        }
        Expr::CompoundIdentifier(p) => {
            p.len() == 2
                && !p[0].value.starts_with("group_")
                && (COLUMNS.contains(&p[1].value.as_str()) || p[1].value.starts_with("$group_"))
        }
        Expr::Interval(_) => true,
        Expr::Nested(x) => non_null(x),
        Expr::UnaryOp { expr, .. } => non_null(expr),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Plus | BinaryOperator::Minus,
            right,
        } => non_null(left) && non_null(right),
        Expr::Function(f) => {
            let n = single_name(&f.name).unwrap_or_default();
            let args_nn = match &f.args {
                datafusion::sql::sqlparser::ast::FunctionArguments::List(l) => {
                    l.args.iter().all(|a| match a {
                        datafusion::sql::sqlparser::ast::FunctionArg::Unnamed(
                            datafusion::sql::sqlparser::ast::FunctionArgExpr::Expr(x),
                        ) => matches!(x, Expr::Value(_)) && non_null(x),
                        _ => false,
                    })
                }
                _ => true,
            };
            matches!(n.as_str(), "now" | "today")
                || (args_nn
                    && matches!(
                        n.as_str(),
                        "toDateTime" | "toDate" | "parseDateTimeBestEffort"
                    ))
        }
        _ => false,
    }
}

pub(super) fn is_interval(e: &Expr) -> bool {
    matches!(e, Expr::Interval(_))
}

/// `INTERVAL 30 DAY` → `INTERVAL '30 day'`, which DataFusion reads for every unit.
pub(super) fn interval(i: datafusion::sql::sqlparser::ast::Interval) -> Res<Expr> {
    use datafusion::sql::sqlparser::ast::Interval;
    let n = literal_text(&i.value);
    match (n, &i.leading_field) {
        (Some(n), Some(unit)) => {
            let unit = unit.to_string().to_ascii_lowercase();
            let (n, unit) = match unit.trim_end_matches('s') {
                "quarter" => (
                    n.parse::<i64>()
                        .map_err(|_| HogError::new("INTERVAL needs an integer"))?
                        * 3,
                    "month".to_owned(),
                ),
                u => (
                    n.parse::<i64>()
                        .map_err(|_| HogError::new("INTERVAL needs an integer"))?,
                    u.to_owned(),
                ),
            };
            Ok(Expr::Interval(Interval {
                value: Box::new(string(&format!("{n} {unit}"))),
                leading_field: None,
                leading_precision: None,
                last_field: None,
                fractional_seconds_precision: None,
            }))
        }
        (Some(_), None) => Ok(Expr::Interval(i)),
        _ => Err(HogError::unsupported("INTERVAL with a computed value")),
    }
}
