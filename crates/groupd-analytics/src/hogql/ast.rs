//! Small constructors for the sqlparser nodes the rewrite builds.
use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CaseWhen, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Value,
};
use datafusion::sql::sqlparser::tokenizer::Span;

pub fn ident(s: &str) -> Ident {
    Ident::new(s)
}

pub fn col(qual: &str, name: &str) -> Expr {
    Expr::CompoundIdentifier(vec![ident(qual), ident(name)])
}

pub fn string(s: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(s.to_owned()).with_span(Span::empty()))
}

pub fn number(n: i64) -> Expr {
    Expr::Value(Value::Number(n.to_string(), false).with_span(Span::empty()))
}

pub fn boolean(b: bool) -> Expr {
    Expr::Value(Value::Boolean(b).with_span(Span::empty()))
}

pub fn args_of(args: Vec<Expr>) -> FunctionArguments {
    FunctionArguments::List(FunctionArgumentList {
        duplicate_treatment: None,
        args: args
            .into_iter()
            .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
            .collect(),
        clauses: vec![],
    })
}

pub fn func(name: &str, args: Vec<Expr>) -> Function {
    Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(ident(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: args_of(args),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    }
}

pub fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(func(name, args))
}

pub fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

pub fn case(conditions: Vec<(Expr, Expr)>, otherwise: Option<Expr>) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: conditions
            .into_iter()
            .map(|(condition, result)| CaseWhen { condition, result })
            .collect(),
        else_result: otherwise.map(Box::new),
    }
}

/// `coalesce(e, b)`: a predicate made two-valued (HogQL's comparisons never yield NULL).
pub fn or_bool(e: Expr, b: bool) -> Expr {
    call("coalesce", vec![e, boolean(b)])
}

pub fn nested(e: Expr) -> Expr {
    Expr::Nested(Box::new(e))
}

/// The single name of an object name (`events`), if it has one part.
pub fn single_name(n: &ObjectName) -> Option<String> {
    match n.0.as_slice() {
        [ObjectNamePart::Identifier(i)] => Some(i.value.clone()),
        _ => None,
    }
}

/// A string or integer literal's text.
pub fn literal_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    }
}

pub fn literal_int(e: &Expr) -> Option<i64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => literal_int(expr).map(|i| -i),
        _ => None,
    }
}
