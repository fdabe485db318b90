//! groupd's query IR: tables and columns resolved against groupd's schema, expressions typed,
//! implicit coercions made explicit. Emitters turn it into SQL; nothing here is dialect-specific.

use crate::types::Ty;

#[derive(Debug, Clone)]
pub(crate) struct Select {
    pub distinct: bool,
    pub items: Vec<Expr>,
    pub from: Vec<FromItem>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub order_by: Vec<(Expr, bool)>,
    /// For SELECT DISTINCT: the output column each ORDER BY item repeats (PostgreSQL only
    /// accepts ORDER BY expressions that appear in the select list).
    pub order_columns: Vec<Option<usize>>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    /// Height of the IR, nested selects included.
    pub depth: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
}

#[derive(Debug, Clone)]
pub(crate) struct FromItem {
    /// `None` for the first item of the FROM clause.
    pub join: Option<(JoinKind, Expr)>,
    pub source: Source,
    /// Generated SQL alias (`t0`, `t1`, …); never user text.
    pub alias: String,
    /// Implicit `group_N` joins this (events) item needs, by group type index.
    pub group_joins: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    Events,
    Groups,
    Sub(Box<Select>),
}

/// Alias of the implicit join of `group_n` onto the events item aliased `table`.
pub(crate) fn group_alias(table: &str, n: u32) -> String {
    format!("{table}_g{n}")
}

/// Generated name of the i-th output column of a subquery.
pub(crate) fn sub_column(i: usize) -> String {
    format!("c{i}")
}

#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub kind: Kind,
    pub ty: Ty,
    pub nullable: bool,
    /// Contains an aggregate function.
    pub agg: bool,
    /// Normalised HogQL text, used for the `hogql` echo and for unnamed column names.
    pub text: String,
    /// Height of this tree, subqueries included; bounded so walks over it stay shallow.
    pub depth: u32,
    /// Nodes in this tree (saturating); bounded so alias inlining cannot grow it
    /// exponentially.
    pub size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// A plain column of groupd's schema, by its storage name.
    Plain(&'static str),
    /// events.uuid rendered as the canonical hyphenated string.
    Uuid,
    /// `$group_N`: the N-th entry of events.group_keys, `''` when absent.
    GroupKey(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// A number: property values that hold numbers or booleans, else null.
    Num,
    /// Text of any value.
    Text,
    /// A floating point number.
    Float,
    /// A truth value usable in WHERE/ON/CASE.
    Cond,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArOp {
    Add,
    Sub,
    Mul,
    /// ClickHouse `/`: always floating point.
    Div,
    Mod,
    IntDiv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    /// Length in microseconds of units of fixed length.
    pub(crate) fn fixed_us(self) -> Option<i64> {
        const S: i64 = 1_000_000;
        match self {
            Unit::Second => Some(S),
            Unit::Minute => Some(60 * S),
            Unit::Hour => Some(3600 * S),
            Unit::Day => Some(86_400 * S),
            Unit::Week => Some(7 * 86_400 * S),
            Unit::Month | Unit::Quarter | Unit::Year => None,
        }
    }

    /// Months in units of calendar length.
    pub(crate) fn months(self) -> i64 {
        match self {
            Unit::Month => 1,
            Unit::Quarter => 3,
            Unit::Year => 12,
            _ => 0,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Unit::Second => "SECOND",
            Unit::Minute => "MINUTE",
            Unit::Hour => "HOUR",
            Unit::Day => "DAY",
            Unit::Week => "WEEK",
            Unit::Month => "MONTH",
            Unit::Quarter => "QUARTER",
            Unit::Year => "YEAR",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fun {
    StartOfDay,
    StartOfWeek,
    StartOfMonth,
    /// dateDiff(unit, a, b): unit boundaries crossed from a to b.
    DateDiff(Unit),
    ToString,
    ToInt,
    ToFloat,
    Lower,
    Upper,
    Length,
    Trim,
    Concat,
    Coalesce,
    /// if(c, a, b)
    If,
    /// JSONExtractString(properties, k…): the string at the path, '' otherwise.
    JsonString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agg {
    /// count() / count(x) / count(DISTINCT x) (distinct flag on the node).
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Any,
    ArgMax,
    ArgMin,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A DateTime or Date literal, microseconds since the epoch.
    Time(i64),
    /// A column of the FROM item aliased `table`.
    Column {
        table: String,
        col: Col,
    },
    /// Output column of a subquery in FROM.
    SubColumn {
        table: String,
        name: String,
    },
    /// One value inside a JSON object.
    Prop {
        base: Box<Expr>,
        path: Vec<String>,
    },
    Form(Form, Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Neg(Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Arith(ArOp, Box<Expr>, Box<Expr>),
    /// time ± n units (n is an Int expression; negative for minus).
    Shift {
        time: Box<Expr>,
        n: Box<Expr>,
        unit: Unit,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        ci: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSub {
        expr: Box<Expr>,
        sub: Box<Select>,
        /// Conversion applied to the subquery's single column before comparing.
        form: Option<Form>,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Func(Fun, Vec<Expr>),
    Agg {
        agg: Agg,
        args: Vec<Expr>,
        distinct: bool,
        /// The `…If` condition.
        cond: Option<Box<Expr>>,
    },
}

impl Expr {
    pub(crate) fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            Kind::Null
            | Kind::Bool(_)
            | Kind::Int(_)
            | Kind::Float(_)
            | Kind::Str(_)
            | Kind::Time(_)
            | Kind::Column { .. }
            | Kind::SubColumn { .. } => vec![],
            Kind::Prop { base, .. } => vec![base],
            Kind::Form(_, e) | Kind::Not(e) | Kind::Neg(e) => vec![e],
            Kind::And(v) | Kind::Or(v) | Kind::Func(_, v) => v.iter().collect(),
            Kind::Cmp(_, a, b) | Kind::Arith(_, a, b) => vec![a, b],
            Kind::Shift { time, n, .. } => vec![time, n],
            Kind::Like { expr, pattern, .. } => vec![expr, pattern],
            Kind::InList { expr, list, .. } => {
                let mut v = vec![expr.as_ref()];
                v.extend(list.iter());
                v
            }
            Kind::InSub { expr, .. } => vec![expr],
            Kind::IsNull { expr, .. } => vec![expr],
            Kind::Agg { args, cond, .. } => {
                let mut v: Vec<&Expr> = args.iter().collect();
                if let Some(c) = cond {
                    v.push(c);
                }
                v
            }
        }
    }

    /// 1 + the children's sizes.
    pub(crate) fn computed_size(&self) -> u32 {
        self.children()
            .iter()
            .fold(1u32, |acc, c| acc.saturating_add(c.size))
    }

    /// 1 + the deepest child (or IN-subquery), from the children's stored depths.
    pub(crate) fn computed_depth(&self) -> u32 {
        let mut d = self.children().iter().map(|c| c.depth).max().unwrap_or(0);
        if let Kind::InSub { sub, .. } = &self.kind {
            d = d.max(sub.depth);
        }
        d + 1
    }

    pub(crate) fn is_literal(&self) -> bool {
        matches!(
            self.kind,
            Kind::Null
                | Kind::Bool(_)
                | Kind::Int(_)
                | Kind::Float(_)
                | Kind::Str(_)
                | Kind::Time(_)
        )
    }
}
