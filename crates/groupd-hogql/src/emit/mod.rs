//! IR → SQL text plus bound parameters. The walker is shared; what differs per backend lives
//! in `sqlite.rs` and `postgres.rs`.
//!
//! Invariants: every literal is a bound parameter; every identifier in the output is either a
//! name of groupd's schema or a generated alias (`t0`, `c0`); every `events`/`groups` reference
//! is constrained by `project_id = <bound project>`; projected cells are only integers, floats,
//! text or NULL (times as microseconds), so callers convert rows without knowing the query.

mod postgres;
mod sqlite;

use std::collections::HashMap;

use crate::error::{QueryError, Result};
use crate::ir::{
    Agg, ArOp, CmpOp, Col, Expr, Form, FromItem, Fun, JoinKind, Kind, Select, Source, group_alias,
    sub_column,
};
use crate::types::Ty;
use crate::{Dialect, Param};

/// Cap on the generated SQL; some conversions repeat their operand, so nesting them could
/// otherwise grow the text exponentially.
const MAX_SQL_BYTES: usize = 1 << 20;

pub(crate) struct Emitter {
    dialect: Dialect,
    params: Vec<Param>,
    interned: HashMap<String, usize>,
    project_id: i64,
}

impl Emitter {
    pub(crate) fn new(dialect: Dialect, project_id: i64) -> Self {
        Emitter {
            dialect,
            params: Vec::new(),
            interned: HashMap::new(),
            project_id,
        }
    }

    /// The project placeholder; bound on first use only, since PostgreSQL refuses a
    /// parameter no expression types.
    fn project(&mut self) -> String {
        self.param(Param::Int(self.project_id))
    }

    pub(crate) fn into_params(self) -> Vec<Param> {
        self.params
    }

    fn pg(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    /// Bind a value; equal values share one placeholder, so an expression repeated in SELECT
    /// and GROUP BY renders identically (PostgreSQL matches them textually-structurally).
    pub(crate) fn param(&mut self, p: Param) -> String {
        let key = match &p {
            Param::Null => "n".to_string(),
            Param::Int(i) => format!("i{i}"),
            Param::Float(f) => format!("f{}", f.to_bits()),
            Param::Text(s) => format!("t{s}"),
        };
        let n = match self.interned.get(&key) {
            Some(n) => *n,
            None => {
                self.params.push(p.clone());
                let n = self.params.len();
                self.interned.insert(key, n);
                n
            }
        };
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => postgres::placeholder(n, &p),
        }
    }

    fn check_len(&self, s: String) -> Result<String> {
        if s.len() > MAX_SQL_BYTES {
            return Err(QueryError::new("Query is too complex."));
        }
        Ok(s)
    }

    /// The top-level query: converts output cells and applies the effective LIMIT+1/OFFSET.
    pub(crate) fn top(&mut self, s: &Select, limit: u64, offset: u64) -> Result<String> {
        let mut sql = self.select_body(s, true)?;
        let l = self.param(Param::Int(
            i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
        ));
        let o = self.param(Param::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" LIMIT {l} OFFSET {o}"));
        Ok(sql)
    }

    fn subquery(&mut self, s: &Select) -> Result<String> {
        let mut sql = self.select_body(s, false)?;
        match (s.limit, s.offset) {
            (None, None) => {}
            (l, o) => {
                let l = match l {
                    Some(l) => self.param(Param::Int(i64::try_from(l).unwrap_or(i64::MAX))),
                    None => self.param(Param::Int(i64::MAX)),
                };
                sql.push_str(&format!(" LIMIT {l}"));
                if let Some(o) = o {
                    let o = self.param(Param::Int(i64::try_from(o).unwrap_or(i64::MAX)));
                    sql.push_str(&format!(" OFFSET {o}"));
                }
            }
        }
        Ok(sql)
    }

    fn select_body(&mut self, s: &Select, top: bool) -> Result<String> {
        let mut items = Vec::new();
        for (i, x) in s.items.iter().enumerate() {
            let v = if top { self.out(x)? } else { self.expr(x)? };
            items.push(format!("{v} AS {}", sub_column(i)));
        }
        let mut sql = format!(
            "SELECT {}{}",
            if s.distinct { "DISTINCT " } else { "" },
            items.join(", ")
        );
        let mut conds = Vec::new();
        if !s.from.is_empty() {
            sql.push_str(" FROM ");
            for (i, f) in s.from.iter().enumerate() {
                let (text, project_cond) = self.table_ref(f)?;
                if i == 0 {
                    sql.push_str(&text);
                    if let Some(c) = project_cond {
                        conds.push(c);
                    }
                } else {
                    let (kind, on) = f.join.as_ref().expect("joined items carry ON");
                    let on = self.cond(on)?;
                    let kw = match kind {
                        JoinKind::Inner => "INNER JOIN",
                        JoinKind::Left => "LEFT JOIN",
                    };
                    let on = match project_cond {
                        Some(c) => format!("{c} AND {on}"),
                        None => on,
                    };
                    sql.push_str(&format!(" {kw} {text} ON {on}"));
                }
                for n in &f.group_joins {
                    sql.push_str(&self.group_join(&f.alias, *n));
                }
            }
        }
        if let Some(w) = &s.filter {
            conds.push(self.cond(w)?);
        }
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        // Constants group and order nothing, and PostgreSQL rejects them there.
        let g = s
            .group_by
            .iter()
            .filter(|g| !g.is_literal())
            .map(|g| self.expr(g))
            .collect::<Result<Vec<_>>>()?;
        if !g.is_empty() {
            sql.push_str(&format!(" GROUP BY {}", g.join(", ")));
        }
        if let Some(h) = &s.having {
            let h = self.cond(h)?;
            sql.push_str(&format!(" HAVING {h}"));
        }
        if !s.order_by.is_empty() {
            let mut o = Vec::new();
            for (i, (x, desc)) in s.order_by.iter().enumerate() {
                let v = match s.order_columns.get(i) {
                    Some(Some(c)) if s.distinct => sub_column(*c),
                    _ if x.is_literal() => continue,
                    // Property values: numbers by value first, then everything else as text,
                    // the same on both backends (their native JSON orders differ).
                    _ if x.ty == Ty::Dyn => {
                        let n = self.form(Form::Num, x)?;
                        let dir = if *desc { "DESC" } else { "ASC" };
                        o.push(format!("{n} {dir} NULLS LAST"));
                        self.form(Form::Text, x)?
                    }
                    _ => self.expr(x)?,
                };
                // ClickHouse puts NULLs last in both directions.
                o.push(format!(
                    "{v} {} NULLS LAST",
                    if *desc { "DESC" } else { "ASC" }
                ));
            }
            if !o.is_empty() {
                sql.push_str(&format!(" ORDER BY {}", o.join(", ")));
            }
        }
        self.check_len(sql)
    }

    /// Returns the FROM text and, for base tables, the project condition to apply.
    fn table_ref(&mut self, f: &FromItem) -> Result<(String, Option<String>)> {
        let a = &f.alias;
        Ok(match &f.source {
            Source::Events => (
                format!("events AS {a}"),
                Some(format!("{a}.project_id = {}", self.project())),
            ),
            Source::Groups => (
                format!("groups AS {a}"),
                Some(format!("{a}.project_id = {}", self.project())),
            ),
            Source::Sub(s) => (format!("({}) AS {a}", self.subquery(s)?), None),
        })
    }

    fn group_join(&mut self, table: &str, n: u32) -> String {
        let g = group_alias(table, n);
        let idx = self.param(Param::Int(i64::from(n)));
        let key = self.group_key(table, n);
        let project = self.project();
        format!(
            " LEFT JOIN groups AS {g} ON {g}.project_id = {project} AND {g}.group_type_index = {idx} AND {g}.group_key = {key}"
        )
    }

    fn group_key(&mut self, table: &str, n: u32) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let path = self.param(Param::Text(format!("$[{n}]")));
                format!("coalesce(json_extract({table}.group_keys, {path}), '')")
            }
            Dialect::Postgres => {
                let i = self.param(Param::Int(i64::from(n) + 1));
                format!("coalesce({table}.group_keys[{i}], '')")
            }
        }
    }

    /// A value as the client receives it (see module docs).
    fn out(&mut self, x: &Expr) -> Result<String> {
        let v = self.expr(x)?;
        Ok(match self.dialect {
            Dialect::Sqlite => v,
            Dialect::Postgres => postgres::out(&v, x.ty),
        })
    }

    /// A truth value for WHERE/ON/HAVING/CASE.
    fn cond(&mut self, x: &Expr) -> Result<String> {
        match x.ty {
            Ty::Bool => self.expr(x),
            _ => self.form(Form::Cond, x),
        }
    }

    fn form(&mut self, f: Form, x: &Expr) -> Result<String> {
        let v = self.expr(x)?;
        let pg = self.pg();
        let s = match (f, x.ty) {
            (_, Ty::Null) => "NULL".to_string(),
            (Form::Num, Ty::Dyn) => {
                if pg {
                    postgres::dyn_num(&v)
                } else {
                    sqlite::dyn_num(&v)
                }
            }
            (Form::Num, Ty::Bool) => {
                if pg {
                    format!("({v})::int")
                } else {
                    v
                }
            }
            (Form::Num, _) => v,
            (Form::Text, t) => {
                if pg {
                    postgres::text(&v, t)
                } else {
                    sqlite::text(&v, t)
                }
            }
            (Form::Float, _) => {
                if pg {
                    format!("({v})::float8")
                } else {
                    format!("CAST({v} AS REAL)")
                }
            }
            (Form::Cond, Ty::Bool) => v,
            (Form::Cond, Ty::Dyn) => {
                let n = if pg {
                    postgres::dyn_num(&v)
                } else {
                    sqlite::dyn_num(&v)
                };
                format!("({n} <> 0)")
            }
            (Form::Cond, _) => {
                if pg {
                    format!("({v} <> 0)")
                } else {
                    v
                }
            }
        };
        self.check_len(s)
    }

    fn expr(&mut self, x: &Expr) -> Result<String> {
        let pg = self.pg();
        let s = match &x.kind {
            Kind::Null => "NULL".to_string(),
            Kind::Bool(b) => {
                if pg {
                    if *b { "TRUE".into() } else { "FALSE".into() }
                } else {
                    self.param(Param::Int(i64::from(*b)))
                }
            }
            Kind::Int(i) => self.param(Param::Int(*i)),
            Kind::Float(f) => self.param(Param::Float(*f)),
            Kind::Str(s) => self.param(Param::Text(s.clone())),
            Kind::Time(us) => {
                let p = self.param(Param::Int(*us));
                if pg { postgres::time_from_us(&p) } else { p }
            }
            Kind::Column { table, col } => match col {
                Col::Plain(c) => format!("{table}.{c}"),
                Col::Uuid => {
                    if pg {
                        format!("{table}.uuid::text")
                    } else {
                        sqlite::uuid_text(&format!("{table}.uuid"))
                    }
                }
                Col::GroupKey(n) => self.group_key(table, *n),
            },
            Kind::SubColumn { table, name } => format!("{table}.{name}"),
            Kind::Prop { base, path } => {
                let b = self.expr(base)?;
                if pg {
                    let mut s = format!("({b}");
                    for k in path {
                        let p = self.param(Param::Text(k.clone()));
                        s.push_str(&format!(" -> {p}"));
                    }
                    s.push(')');
                    s
                } else {
                    let p = self.param(Param::Text(sqlite::json_path(path)));
                    format!("({b} -> {p})")
                }
            }
            Kind::Form(f, inner) => self.form(*f, inner)?,
            Kind::Not(inner) => format!("(NOT {})", self.cond(inner)?),
            Kind::And(v) | Kind::Or(v) => {
                let op = if matches!(x.kind, Kind::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts = v.iter().map(|e| self.cond(e)).collect::<Result<Vec<_>>>()?;
                format!("({})", parts.join(op))
            }
            Kind::Neg(inner) => format!("(-{})", self.expr(inner)?),
            Kind::Cmp(op, a, b) => {
                let both_dyn = a.ty == Ty::Dyn && b.ty == Ty::Dyn;
                let mut a = self.expr(a)?;
                let mut b = self.expr(b)?;
                // Two property values: compare values, not their JSON texts.
                if both_dyn && !pg {
                    a = format!("json_extract({a}, '$')");
                    b = format!("json_extract({b}, '$')");
                }
                let o = match op {
                    CmpOp::Eq => "=",
                    CmpOp::NotEq => "<>",
                    CmpOp::Lt => "<",
                    CmpOp::LtEq => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::GtEq => ">=",
                };
                format!("({a} {o} {b})")
            }
            Kind::Arith(op, a, b) => {
                let av = self.expr(a)?;
                let bv = self.expr(b)?;
                match op {
                    ArOp::Add => format!("({av} + {bv})"),
                    ArOp::Sub => format!("({av} - {bv})"),
                    ArOp::Mul => format!("({av} * {bv})"),
                    // ClickHouse `/` is float division; x/0 has no JSON form, so it is NULL
                    // (SQLite does that natively, PostgreSQL would raise).
                    ArOp::Div => {
                        if pg {
                            format!("(({av})::float8 / NULLIF(({bv})::float8, 0))")
                        } else {
                            format!("(CAST({av} AS REAL) / {bv})")
                        }
                    }
                    ArOp::Mod => {
                        if pg {
                            format!("mod({av}, NULLIF({bv}, 0))")
                        } else {
                            format!("({av} % {bv})")
                        }
                    }
                    ArOp::IntDiv => {
                        if pg {
                            format!("(({av})::int8 / NULLIF(({bv})::int8, 0))")
                        } else {
                            format!("(CAST({av} AS INTEGER) / CAST({bv} AS INTEGER))")
                        }
                    }
                }
            }
            Kind::Shift { time, n, unit } => {
                let t = self.expr(time)?;
                let n = self.expr(n)?;
                if pg {
                    postgres::shift(&t, &n, *unit)
                } else {
                    sqlite::shift(&t, &n, *unit)
                }
            }
            Kind::Like {
                expr,
                pattern,
                negated,
                ci,
            } => {
                let v = self.expr(expr)?;
                let not = if *negated { "NOT " } else { "" };
                if pg {
                    let p = self.expr(pattern)?;
                    let op = if *ci { "ILIKE" } else { "LIKE" };
                    format!("({v} {not}{op} {p})")
                } else if !*ci && let Kind::Str(pat) = &pattern.kind {
                    // SQLite's LIKE ignores ASCII case; GLOB is case-sensitive.
                    let p = self.param(Param::Text(sqlite::like_to_glob(pat)));
                    format!("({v} {not}GLOB {p})")
                } else {
                    let p = self.expr(pattern)?;
                    format!("({v} {not}LIKE {p} ESCAPE '\\')")
                }
            }
            Kind::InList {
                expr,
                list,
                negated,
            } => {
                let v = self.expr(expr)?;
                let l = list
                    .iter()
                    .map(|e| self.expr(e))
                    .collect::<Result<Vec<_>>>()?;
                format!(
                    "({v} {}IN ({}))",
                    if *negated { "NOT " } else { "" },
                    l.join(", ")
                )
            }
            Kind::InSub {
                expr,
                sub,
                form,
                negated,
            } => {
                let v = self.expr(expr)?;
                let q = self.subquery(sub)?;
                let q = match form {
                    None => q,
                    Some(f) => {
                        let ty = sub.items[0].ty;
                        let col = Expr {
                            kind: Kind::SubColumn {
                                table: "s".into(),
                                name: sub_column(0),
                            },
                            ty,
                            nullable: true,
                            agg: false,
                            text: String::new(),
                            depth: 1,
                            size: 1,
                        };
                        let c = self.form(*f, &col)?;
                        format!("SELECT {c} FROM ({q}) AS s")
                    }
                };
                format!("({v} {}IN ({q}))", if *negated { "NOT " } else { "" })
            }
            Kind::IsNull { expr, negated } => {
                let v = self.expr(expr)?;
                format!("({v} IS {}NULL)", if *negated { "NOT " } else { "" })
            }
            Kind::Func(f, args) => self.func(*f, args, x)?,
            Kind::Agg {
                agg,
                args,
                distinct,
                cond,
            } => self.agg(*agg, args, *distinct, cond.as_deref())?,
        };
        self.check_len(s)
    }

    fn func(&mut self, f: Fun, args: &[Expr], x: &Expr) -> Result<String> {
        let pg = self.pg();
        let a0 = &args[0];
        Ok(match f {
            Fun::StartOfDay | Fun::StartOfWeek | Fun::StartOfMonth => {
                let v = self.expr(a0)?;
                if pg {
                    postgres::start_of(&v, f)
                } else {
                    sqlite::start_of(&v, f)
                }
            }
            Fun::DateDiff(unit) => {
                let a = self.expr(a0)?;
                let b = self.expr(&args[1])?;
                if pg {
                    postgres::date_diff(unit, &a, &b)
                } else {
                    sqlite::date_diff(unit, &a, &b)
                }
            }
            Fun::ToString => self.form(Form::Text, a0)?,
            Fun::ToInt | Fun::ToFloat => {
                let int = f == Fun::ToInt;
                match a0.ty {
                    Ty::Null => "NULL".into(),
                    Ty::Int | Ty::UInt64 if int => self.expr(a0)?,
                    Ty::Float if !int => self.expr(a0)?,
                    Ty::Int | Ty::UInt64 | Ty::Bool | Ty::Float => {
                        let v = self.form(Form::Num, a0)?;
                        postgres_or_sqlite_num_cast(pg, &v, int)
                    }
                    Ty::Str => {
                        let v = self.expr(a0)?;
                        if pg {
                            postgres::parse_num(&v, int)
                        } else {
                            sqlite::parse_num(&v, int)
                        }
                    }
                    Ty::Dyn => {
                        let n = self.form(Form::Num, a0)?;
                        let t = self.form(Form::Text, a0)?;
                        let n = postgres_or_sqlite_num_cast(pg, &n, int);
                        let s = if pg {
                            postgres::parse_num(&t, int)
                        } else {
                            sqlite::parse_num(&t, int)
                        };
                        format!("coalesce({n}, {s})")
                    }
                    Ty::Date | Ty::DateTime => {
                        // Seconds since the epoch, as ClickHouse converts times.
                        let v = self.expr(a0)?;
                        let secs = if pg {
                            format!("floor(extract(epoch from {v}))::int8")
                        } else {
                            format!("(({v}) - ((({v}) % 1000000) + 1000000) % 1000000) / 1000000")
                        };
                        if int {
                            secs
                        } else {
                            postgres_or_sqlite_num_cast(pg, &secs, false)
                        }
                    }
                    Ty::Json => return Err(QueryError::new("Cannot convert a JSON object.")),
                }
            }
            Fun::Lower => format!("lower({})", self.expr(a0)?),
            Fun::Upper => format!("upper({})", self.expr(a0)?),
            Fun::Trim => {
                let v = self.expr(a0)?;
                if pg {
                    format!("btrim({v})")
                } else {
                    format!("trim({v})")
                }
            }
            Fun::Length => {
                let v = self.expr(a0)?;
                if pg {
                    format!("octet_length({v})::int8")
                } else {
                    format!("length(CAST({v} AS BLOB))")
                }
            }
            Fun::Concat => {
                let parts = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>>>()?;
                format!("({})", parts.join(" || "))
            }
            Fun::Coalesce => {
                let parts = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>>>()?;
                if parts.len() == 1 {
                    parts.into_iter().next().unwrap_or_default()
                } else {
                    format!("coalesce({})", parts.join(", "))
                }
            }
            Fun::If => {
                let c = self.cond(a0)?;
                let t = self.expr(&args[1])?;
                let e = self.expr(&args[2])?;
                let _ = x;
                format!("(CASE WHEN {c} THEN {t} ELSE {e} END)")
            }
            Fun::JsonString => {
                let v = self.expr(a0)?;
                if pg {
                    format!(
                        "(CASE WHEN jsonb_typeof({v}) = 'string' THEN {v} #>> '{{}}' ELSE '' END)"
                    )
                } else {
                    format!(
                        "(CASE WHEN json_type({v}) = 'text' THEN json_extract({v}, '$') ELSE '' END)"
                    )
                }
            }
        })
    }

    fn agg(
        &mut self,
        agg: Agg,
        args: &[Expr],
        distinct: bool,
        cond: Option<&Expr>,
    ) -> Result<String> {
        let pg = self.pg();
        let c = match cond {
            Some(c) => Some(self.cond(c)?),
            None => None,
        };
        // `fIf(x, c)` is f over `CASE WHEN c THEN x END` (aggregates skip NULLs).
        let guarded = |v: String| match &c {
            Some(c) => format!("CASE WHEN {c} THEN {v} END"),
            None => v,
        };
        Ok(match agg {
            Agg::Count => {
                if args.is_empty() {
                    match &c {
                        Some(_) => format!("count({})", guarded("1".into())),
                        None => "count(*)".into(),
                    }
                } else {
                    let v = self.expr(&args[0])?;
                    format!(
                        "count({}{})",
                        if distinct { "DISTINCT " } else { "" },
                        guarded(v)
                    )
                }
            }
            Agg::Sum => {
                let v = self.expr(&args[0])?;
                format!("coalesce(sum({}), 0)", guarded(v))
            }
            Agg::Avg => {
                let v = self.expr(&args[0])?;
                format!("avg({})", guarded(v))
            }
            Agg::Min | Agg::Max => {
                let v = self.expr(&args[0])?;
                let f = if agg == Agg::Min { "min" } else { "max" };
                format!("{f}({})", guarded(v))
            }
            Agg::Any => {
                let v = self.expr(&args[0])?;
                if pg {
                    format!("(array_agg({v}) FILTER (WHERE {v} IS NOT NULL))[1]")
                } else {
                    format!("min({v})")
                }
            }
            Agg::ArgMax | Agg::ArgMin => {
                let xv = self.expr(&args[0])?;
                let yv = self.expr(&args[1])?;
                let max = agg == Agg::ArgMax;
                if pg {
                    format!(
                        "(array_agg({xv} ORDER BY {yv} {}) FILTER (WHERE {yv} IS NOT NULL))[1]",
                        if max { "DESC" } else { "ASC" }
                    )
                } else {
                    sqlite::arg_max(&xv, args[0].ty, &yv, args[1].ty, max)
                }
            }
        })
    }
}

fn postgres_or_sqlite_num_cast(pg: bool, v: &str, int: bool) -> String {
    match (pg, int) {
        (true, true) => format!("trunc({v})::int8"),
        (true, false) => format!("({v})::float8"),
        (false, true) => format!("CAST({v} AS INTEGER)"),
        (false, false) => format!("CAST({v} AS REAL)"),
    }
}
