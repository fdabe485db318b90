//! HogQL text → a syntax tree DataFusion plans, with HogQL's meaning (see `rewrite.rs`), plus
//! what the answer needs: column names, which columns hold raw property values, the effective
//! LIMIT/OFFSET and the normalised text.
mod ast;
mod expr;
mod functions;
mod parse;
mod print;
mod rewrite;

use std::collections::BTreeSet;

use datafusion::sql::sqlparser::ast::{
    Expr, LimitClause, Offset, OffsetRows, Query, SelectItem, SetExpr,
};

/// A query refused: its detail is shown to the client verbatim (400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HogError {
    pub detail: String,
}

impl HogError {
    pub fn new(detail: impl Into<String>) -> Self {
        HogError {
            detail: detail.into(),
        }
    }
    /// `Unsupported: <what>.`
    pub fn unsupported(what: &str) -> Self {
        HogError::new(format!("Unsupported: {what}."))
    }
}

/// The names a query may use besides the fixed tables: the project's group types.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// (index, name), e.g. `(0, "company")`.
    pub types: Vec<(i64, String)>,
}

/// A translated query.
#[derive(Debug, Clone)]
pub struct Translated {
    /// What DataFusion plans; selects at most `limit + 1` rows.
    pub query: Query,
    /// Output names (None for `*`: the plan's names are used).
    pub columns: Option<Vec<String>>,
    /// Columns holding raw JSON property values, typed per row at render.
    pub raw: Vec<bool>,
    /// Columns ClickHouse types as UInt64 (`count()`, `uniq`, `length`).
    pub unsigned: Vec<bool>,
    pub hogql: String,
    pub limit: u64,
    pub offset: u64,
    pub reads_events: bool,
    pub reads_groups: bool,
    pub group_tables: BTreeSet<i64>,
}

fn limit_value(e: &Expr) -> Result<u64, HogError> {
    ast::literal_int(e)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| HogError::new("LIMIT and OFFSET take non-negative integers."))
}

/// The leftmost SELECT of a query body (its names are the output's).
fn first_select(body: &mut SetExpr) -> Option<&mut datafusion::sql::sqlparser::ast::Select> {
    match body {
        SetExpr::Select(s) => Some(s),
        SetExpr::Query(q) => first_select(&mut q.body),
        SetExpr::SetOperation { left, .. } => first_select(left),
        _ => None,
    }
}

/// The name ClickHouse gives an unaliased column.
fn column_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => i.value.clone(),
        Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()).unwrap_or_default(),
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last() {
            Some(datafusion::sql::sqlparser::ast::AccessExpr::Subscript(
                datafusion::sql::sqlparser::ast::Subscript::Index { index },
            )) => ast::literal_text(index).unwrap_or_else(|| e.to_string()),
            _ => e.to_string(),
        },
        other => print::expr_text(other),
    }
}

fn is_unsigned(e: &Expr) -> bool {
    match e {
        Expr::Function(f) if f.over.is_none() => matches!(
            ast::single_name(&f.name).as_deref(),
            Some(
                "count"
                    | "countIf"
                    | "uniq"
                    | "uniqExact"
                    | "uniqIf"
                    | "uniqExactIf"
                    | "length"
                    | "COUNT"
            )
        ),
        _ => false,
    }
}

/// Translates `text` for the project whose group types `cat` lists.
pub fn translate(
    text: &str,
    cat: &Catalog,
    default_limit: u64,
    max_limit: u64,
) -> Result<Translated, HogError> {
    let mut q: Query = *parse::parse(text)?;
    let (limit, offset) = match &q.limit_clause {
        None => (None, 0),
        Some(LimitClause::LimitOffset { limit, offset, .. }) => (
            limit.as_ref().map(limit_value).transpose()?,
            offset
                .as_ref()
                .map(|o| limit_value(&o.value))
                .transpose()?
                .unwrap_or(0),
        ),
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            (Some(limit_value(limit)?), limit_value(offset)?)
        }
    };
    let limit = limit.unwrap_or(default_limit).min(max_limit);
    let hogql = print::normalise(&q, limit, offset);

    let mut columns = Some(vec![]);
    let mut raw = vec![];
    let mut unsigned = vec![];
    if let Some(s) = first_select(&mut q.body) {
        let mut names: Vec<String> = vec![];
        for item in &mut s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    raw.push(expr::is_bare_property(e));
                    unsigned.push(is_unsigned(e));
                    names.push(column_name(e));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    raw.push(expr::is_bare_property(expr));
                    unsigned.push(is_unsigned(expr));
                    names.push(alias.value.clone());
                }
                _ => columns = None,
            }
        }
        if let Some(c) = &mut columns {
            // Unique internal names for the plan; the client sees `names`.
            for (i, item) in s.projection.iter_mut().enumerate() {
                if let SelectItem::UnnamedExpr(e) = item {
                    let e = std::mem::replace(
                        e,
                        Expr::Value(datafusion::sql::sqlparser::ast::Value::Null.with_empty_span()),
                    );
                    let dup = names[..i].contains(&names[i]) || names[i + 1..].contains(&names[i]);
                    let alias = if dup {
                        format!("{}__{i}", names[i])
                    } else {
                        names[i].clone()
                    };
                    *item = SelectItem::ExprWithAlias {
                        expr: e,
                        alias: ast::ident(&alias),
                    };
                }
            }
            *c = names;
        }
    }
    let mut rw = rewrite::Rewriter::new(cat);
    rw.query(&mut q, true)?;
    q.limit_clause = Some(LimitClause::LimitOffset {
        limit: Some(ast::number(i64::try_from(limit + 1).unwrap_or(i64::MAX))),
        offset: (offset > 0).then(|| Offset {
            value: ast::number(i64::try_from(offset).unwrap_or(i64::MAX)),
            rows: OffsetRows::None,
        }),
        limit_by: vec![],
    });
    Ok(Translated {
        query: q,
        columns,
        raw,
        unsigned,
        hogql,
        limit,
        offset,
        reads_events: rw.reads_events,
        reads_groups: rw.reads_groups,
        group_tables: rw.group_tables,
    })
}

#[cfg(test)]
mod tests;
