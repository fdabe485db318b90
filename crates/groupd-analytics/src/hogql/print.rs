//! The `hogql` field: the query as groupd understood it, in HogQL's printed style
//! (comparisons as `equals(a, b)`, aliases on property columns, explicit `ASC`, the LIMIT used).
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, LimitClause, Offset, OffsetRows, OrderByKind, Query, SelectItem, SetExpr,
    visit_expressions_mut,
};

use super::ast::{call, ident, number};

fn comparison_name(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Eq => "equals",
        BinaryOperator::NotEq => "notEquals",
        BinaryOperator::Lt => "less",
        BinaryOperator::LtEq => "lessOrEquals",
        BinaryOperator::Gt => "greater",
        BinaryOperator::GtEq => "greaterOrEquals",
        _ => return None,
    })
}

fn functional(e: &mut Expr) {
    if let Expr::BinaryOp { left, op, right } = e
        && let Some(name) = comparison_name(op)
    {
        let l = std::mem::replace(left.as_mut(), number(0));
        let r = std::mem::replace(right.as_mut(), number(0));
        *e = call(name, vec![l, r]);
    }
}

/// The printed text of one expression.
pub fn expr_text(e: &Expr) -> String {
    let mut e = e.clone();
    let _ = visit_expressions_mut(&mut e, |x| {
        functional(x);
        ControlFlow::<()>::Continue(())
    });
    e.to_string()
}

fn aliases(body: &mut SetExpr) {
    match body {
        SetExpr::Select(s) => {
            for item in &mut s.projection {
                if let SelectItem::UnnamedExpr(e) = item
                    && super::expr::is_bare_property(e)
                {
                    let name = super::column_name(e);
                    *item = SelectItem::ExprWithAlias {
                        expr: e.clone(),
                        alias: ident(&name),
                    };
                }
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            aliases(left);
            aliases(right);
        }
        SetExpr::Query(q) => aliases(&mut q.body),
        _ => {}
    }
}

/// The normalised text of `q` with the effective limit and offset.
pub fn normalise(q: &Query, limit: u64, offset: u64) -> String {
    let mut q = q.clone();
    aliases(&mut q.body);
    let _ = visit_expressions_mut(&mut q, |x| {
        functional(x);
        ControlFlow::<()>::Continue(())
    });
    if let Some(ob) = &mut q.order_by
        && let OrderByKind::Expressions(items) = &mut ob.kind
    {
        for i in items {
            if i.options.asc.is_none() {
                i.options.asc = Some(true);
            }
        }
    }
    q.limit_clause = Some(LimitClause::LimitOffset {
        limit: Some(number(i64::try_from(limit).unwrap_or(i64::MAX))),
        offset: (offset > 0).then(|| Offset {
            value: number(i64::try_from(offset).unwrap_or(i64::MAX)),
            rows: OffsetRows::None,
        }),
        limit_by: vec![],
    });
    q.to_string()
}
