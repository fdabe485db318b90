//! AST → IR. Everything outside the HogQL subset is rejected here with a sentence naming it;
//! names are resolved against groupd's schema and expressions are typed.

use std::collections::BTreeSet;

use sqlparser::ast::{
    self as ast, AccessExpr, BinaryOperator, DateTimeField, Distinct, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, InTarget, JoinConstraint, JoinOperator, LimitClause,
    ObjectNamePart, OrderByKind, SelectFlavor, SelectItem, SelectItemQualifiedWildcardKind,
    SetExpr, TableFactor, UnaryOperator, Value, WildcardAdditionalOptions,
};

use crate::QueryContext;
use crate::error::{QueryError, Result, bail};
use crate::ir::{
    Agg, ArOp, CmpOp, Col, Expr, Form, FromItem, Fun, JoinKind, Kind, Select, Source, Unit,
    group_alias, sub_column,
};
use crate::types::Ty;
use crate::value::{US_PER_DAY, floor_day, parse_datetime};

/// Bound on expression nesting in the checker; sqlparser bounds parenthesised nesting but not
/// left-deep operator chains, so this keeps our own recursion (and the emitters') shallow.
const MAX_EXPR_DEPTH: usize = 32;
/// Bound on the depth of one IR expression; emitters and tree walks recurse over it.
const MAX_IR_DEPTH: u32 = 64;
/// Bound on the depth of a whole query's IR, subqueries included.
const MAX_QUERY_IR_DEPTH: u32 = 160;
/// Bound on the nodes of one expression (aliases are inlined, so they can compound).
const MAX_EXPR_NODES: u32 = 20_000;
/// Bound on the checker's total work (expressions bound, CTE bodies re-checked, aliases
/// inlined), so no query text makes translation slow.
const MAX_WORK: usize = 200_000;
/// Bound on nested subqueries/CTE expansions.
const MAX_QUERY_DEPTH: usize = 16;

/// One output column of a checked query: its name and type.
#[derive(Debug, Clone)]
pub(crate) struct OutColumn {
    pub name: String,
    pub ty: Ty,
    pub nullable: bool,
}

#[derive(Debug, Clone)]
enum BKind {
    Events,
    Groups,
    Sub(Vec<OutColumn>),
}

#[derive(Debug, Clone)]
struct Binding {
    /// Name the query refers to the item by (alias, or table name when unaliased).
    name: Option<String>,
    table: String,
    kind: BKind,
    /// Right side of a LEFT JOIN: every column may be null.
    nullable: bool,
    groups: BTreeSet<u32>,
}

#[derive(Default)]
struct Scope {
    bindings: Vec<Binding>,
    /// SELECT aliases bound so far, usable by later items and every later clause.
    aliases: Vec<(String, Expr)>,
    /// While binding the ON clause of this binding, its own implicit group joins are not yet
    /// in the SQL, so referencing them is refused.
    on_of: Option<usize>,
}

#[derive(Clone)]
struct Cte {
    name: String,
    query: Box<ast::Query>,
}

pub(crate) struct Checker<'c> {
    ctx: &'c QueryContext,
    next_alias: usize,
    expr_depth: usize,
    query_depth: usize,
    ctes: Vec<Cte>,
    work: usize,
}

/// Context flags for binding one expression.
#[derive(Clone, Copy)]
struct Allow {
    agg: bool,
    aliases: bool,
}

impl<'c> Checker<'c> {
    pub(crate) fn new(ctx: &'c QueryContext) -> Self {
        Checker {
            ctx,
            next_alias: 0,
            expr_depth: 0,
            query_depth: 0,
            ctes: Vec::new(),
            work: 0,
        }
    }

    /// Check one query (top level or nested); returns the IR, its output columns and its
    /// normalised HogQL text.
    pub(crate) fn query(&mut self, q: &ast::Query) -> Result<(Select, Vec<OutColumn>, String)> {
        // A (sub)query costs far more than one expression; CTEs re-checked per reference
        // could otherwise multiply.
        self.spend(100)?;
        self.query_depth += 1;
        if self.query_depth > MAX_QUERY_DEPTH {
            bail!("Query is nested too deeply.");
        }
        let saved = self.ctes.len();
        let r = self.query_inner(q);
        self.ctes.truncate(saved);
        self.query_depth -= 1;
        r
    }

    fn query_inner(&mut self, q: &ast::Query) -> Result<(Select, Vec<OutColumn>, String)> {
        if q.fetch.is_some() {
            bail!("FETCH is not supported; use LIMIT.");
        }
        if !q.locks.is_empty() || q.for_clause.is_some() {
            bail!("FOR clauses are not supported.");
        }
        if q.settings.is_some() {
            bail!("SETTINGS is not supported.");
        }
        if q.format_clause.is_some() {
            bail!("FORMAT is not supported.");
        }
        if !q.pipe_operators.is_empty() {
            bail!("Pipe operators are not supported.");
        }
        let mut with_text = String::new();
        if let Some(w) = &q.with {
            if w.recursive {
                bail!("WITH RECURSIVE is not supported.");
            }
            let mut parts = Vec::new();
            for cte in &w.cte_tables {
                if !cte.alias.columns.is_empty() || cte.materialized.is_some() || cte.from.is_some()
                {
                    bail!("Only WITH name AS (subquery) is supported.");
                }
                let name = cte.alias.name.value.clone();
                // Check it once now (errors surface even when unused; gives the echo text).
                let (_, _, text) = self.query(&cte.query)?;
                parts.push(format!("{} AS ({text})", ident_text(&name)));
                self.ctes.push(Cte {
                    name,
                    query: cte.query.clone(),
                });
            }
            with_text = format!("WITH {} ", parts.join(", "));
        }
        let select = match q.body.as_ref() {
            SetExpr::Select(s) => s,
            SetExpr::Query(inner) if q.order_by.is_none() && q.limit_clause.is_none() => {
                let (s, cols, text) = self.query(inner)?;
                return Ok((s, cols, format!("{with_text}{text}")));
            }
            SetExpr::SetOperation { op, .. } => bail!("{op} is not supported."),
            SetExpr::Values(_) => bail!("VALUES is not supported."),
            SetExpr::Query(_) => {
                bail!("Parenthesised queries with ORDER BY/LIMIT outside are not supported.")
            }
            _ => bail!("Only SELECT queries are supported."),
        };
        let order = match &q.order_by {
            None => Vec::new(),
            Some(ob) => {
                if ob.interpolate.is_some() {
                    bail!("INTERPOLATE is not supported.");
                }
                match &ob.kind {
                    OrderByKind::All(_) => bail!("ORDER BY ALL is not supported."),
                    OrderByKind::Expressions(v) => {
                        let mut out = Vec::new();
                        for o in v {
                            if o.with_fill.is_some() {
                                bail!("WITH FILL is not supported.");
                            }
                            if o.options.nulls_first.is_some() {
                                bail!("NULLS FIRST/LAST is not supported.");
                            }
                            let desc = match &o.options.sort {
                                None | Some(ast::OrderBySort::Asc) => false,
                                Some(ast::OrderBySort::Desc) => true,
                                Some(_) => bail!("Only ASC and DESC are supported in ORDER BY."),
                            };
                            out.push((&o.expr, desc));
                        }
                        out
                    }
                }
            }
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    bail!("LIMIT BY is not supported.");
                }
                let l = limit
                    .as_ref()
                    .map(|e| count_literal(e, "LIMIT"))
                    .transpose()?;
                let o = offset
                    .as_ref()
                    .map(|o| count_literal(&o.value, "OFFSET"))
                    .transpose()?;
                (l, o)
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (
                Some(count_literal(limit, "LIMIT")?),
                Some(count_literal(offset, "OFFSET")?),
            ),
        };
        let (sel, cols, text) = self.select(select, &order, limit, offset)?;
        Ok((sel, cols, format!("{with_text}{text}")))
    }

    fn select(
        &mut self,
        s: &ast::Select,
        order: &[(&ast::Expr, bool)],
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> Result<(Select, Vec<OutColumn>, String)> {
        if s.top.is_some() {
            bail!("TOP is not supported; use LIMIT.");
        }
        if s.into.is_some() {
            bail!("SELECT INTO is not supported.");
        }
        if !s.lateral_views.is_empty() {
            bail!("LATERAL VIEW is not supported.");
        }
        if s.prewhere.is_some() {
            bail!("PREWHERE is not supported; use WHERE.");
        }
        if !s.connect_by.is_empty() {
            bail!("CONNECT BY is not supported.");
        }
        if !s.cluster_by.is_empty() || !s.distribute_by.is_empty() || !s.sort_by.is_empty() {
            bail!("CLUSTER/DISTRIBUTE/SORT BY are not supported.");
        }
        if !s.named_window.is_empty() {
            bail!("WINDOW is not supported.");
        }
        if s.qualify.is_some() {
            bail!("QUALIFY is not supported.");
        }
        if s.exclude.is_some() || s.select_modifiers.is_some() || s.value_table_mode.is_some() {
            bail!("This SELECT modifier is not supported.");
        }
        if !matches!(s.flavor, SelectFlavor::Standard) {
            bail!("FROM-first SELECT is not supported.");
        }
        let distinct = match &s.distinct {
            None | Some(Distinct::All) => false,
            Some(Distinct::Distinct) => true,
            Some(Distinct::On(_)) => bail!("DISTINCT ON is not supported."),
        };

        let mut scope = Scope::default();
        let mut from_items = Vec::new();
        let mut from_text = String::new();
        if s.from.len() > 1 {
            bail!("Comma-separated FROM items are not supported; use JOIN … ON ….");
        }
        if let Some(twj) = s.from.first() {
            let (source, binding, t) = self.factor(&twj.relation)?;
            from_text = format!(" FROM {t}");
            from_items.push(FromItem {
                join: None,
                source,
                alias: binding.table.clone(),
                group_joins: Vec::new(),
            });
            scope.bindings.push(binding);
            for j in &twj.joins {
                if j.global {
                    bail!("GLOBAL JOIN is not supported.");
                }
                let (kind, constraint, kw) = match &j.join_operator {
                    JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c, "JOIN"),
                    JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => {
                        (JoinKind::Left, c, "LEFT JOIN")
                    }
                    _ => bail!("Only JOIN, INNER JOIN and LEFT JOIN are supported."),
                };
                let on = match constraint {
                    JoinConstraint::On(e) => e,
                    _ => bail!("Joins need an ON condition (USING and NATURAL are not supported)."),
                };
                let (source, mut binding, t) = self.factor(&j.relation)?;
                binding.nullable = kind == JoinKind::Left;
                let alias = binding.table.clone();
                scope.bindings.push(binding);
                scope.on_of = Some(scope.bindings.len() - 1);
                let on_expr = self.bind(
                    &mut scope,
                    on,
                    Allow {
                        agg: false,
                        aliases: false,
                    },
                )?;
                scope.on_of = None;
                let on_expr = to_cond(on_expr, "ON")?;
                from_text.push_str(&format!(" {kw} {t} ON {}", on_expr.text));
                from_items.push(FromItem {
                    join: Some((kind, on_expr)),
                    source,
                    alias,
                    group_joins: Vec::new(),
                });
            }
        }

        // SELECT list; aliases become visible to later items and clauses.
        let mut items: Vec<Expr> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut item_texts = Vec::new();
        let all = Allow {
            agg: true,
            aliases: true,
        };
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let x = self.bind(&mut scope, e, all)?;
                    let name = default_name(e, &x);
                    item_texts.push(item_text(&x.text, &name));
                    names.push(name);
                    items.push(x);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let x = self.bind(&mut scope, expr, all)?;
                    let name = alias.value.clone();
                    item_texts.push(format!("{} AS {}", x.text, ident_text(&name)));
                    scope.aliases.push((name.clone(), x.clone()));
                    names.push(name);
                    items.push(x);
                }
                SelectItem::Wildcard(opts) => {
                    check_wildcard(opts)?;
                    for (x, name) in self.wildcard(&mut scope, None)? {
                        item_texts.push(item_text(&x.text, &name));
                        names.push(name);
                        items.push(x);
                    }
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    check_wildcard(opts)?;
                    let name = match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n)?,
                        SelectItemQualifiedWildcardKind::Expr(_) => {
                            bail!("Only table.* wildcards are supported.")
                        }
                    };
                    for (x, n) in self.wildcard(&mut scope, Some(&name))? {
                        item_texts.push(item_text(&x.text, &n));
                        names.push(n);
                        items.push(x);
                    }
                }
                SelectItem::ExprWithAliases { .. } => bail!("Multiple aliases are not supported."),
            }
        }
        if items.is_empty() {
            bail!("SELECT needs at least one column.");
        }

        let mut text = format!(
            "SELECT {}{}{}",
            if distinct { "DISTINCT " } else { "" },
            item_texts.join(", "),
            from_text
        );

        let filter = match &s.selection {
            Some(e) => {
                let x = self.bind(
                    &mut scope,
                    e,
                    Allow {
                        agg: false,
                        aliases: true,
                    },
                )?;
                let x = to_cond(x, "WHERE")?;
                text.push_str(&format!(" WHERE {}", x.text));
                Some(x)
            }
            None => None,
        };

        let mut group_by = Vec::new();
        match &s.group_by {
            GroupByExpr::All(_) => bail!("GROUP BY ALL is not supported."),
            GroupByExpr::Expressions(exprs, mods) => {
                if !mods.is_empty() {
                    bail!("GROUP BY modifiers (ROLLUP, CUBE, TOTALS) are not supported.");
                }
                for e in exprs {
                    let x = self.positional_or_bind(&mut scope, e, &items, false)?;
                    if x.agg {
                        bail!("Aggregate functions are not allowed in GROUP BY.");
                    }
                    group_by.push(x);
                }
            }
        }
        if !group_by.is_empty() {
            let t: Vec<&str> = group_by.iter().map(|g| g.text.as_str()).collect();
            text.push_str(&format!(" GROUP BY {}", t.join(", ")));
        }

        let having = match &s.having {
            Some(e) => {
                let x = self.bind(&mut scope, e, all)?;
                let x = to_cond(x, "HAVING")?;
                text.push_str(&format!(" HAVING {}", x.text));
                Some(x)
            }
            None => None,
        };

        let mut order_by = Vec::new();
        for (e, desc) in order {
            let x = self.positional_or_bind(&mut scope, e, &items, true)?;
            if matches!(x.ty, Ty::Json) {
                bail!("Cannot order by a whole JSON object.");
            }
            order_by.push((x, *desc));
        }
        if !order_by.is_empty() {
            let t: Vec<String> = order_by
                .iter()
                .map(|(x, d)| format!("{} {}", x.text, if *d { "DESC" } else { "ASC" }))
                .collect();
            text.push_str(&format!(" ORDER BY {}", t.join(", ")));
        }

        // Aggregated queries: every non-aggregate part must be grouped (PostgreSQL enforces
        // this; checking here turns its error into a 400 that says why).
        let aggregated = !group_by.is_empty()
            || having.is_some()
            || items.iter().any(|i| i.agg)
            || order_by.iter().any(|(o, _)| o.agg);
        if aggregated {
            // A GROUP BY naming an alias also groups the aliased expression's own text.
            let mut keys: Vec<&str> = group_by.iter().map(|g| g.text.as_str()).collect();
            for g in &group_by {
                if let Some((_, x)) = scope.aliases.iter().find(|(a, _)| ident_text(a) == g.text) {
                    keys.push(x.text.as_str());
                }
            }
            for x in items
                .iter()
                .chain(having.iter())
                .chain(order_by.iter().map(|(o, _)| o))
            {
                check_grouped(x, &keys)?;
            }
        }
        let mut order_columns = Vec::new();
        if distinct {
            for (o, _) in &order_by {
                let pos = items
                    .iter()
                    .zip(names.iter())
                    .position(|(i, n)| i.text == o.text || ident_text(n) == o.text);
                order_columns.push(pos);
                if pos.is_none() {
                    bail!(
                        "With SELECT DISTINCT, ORDER BY expressions must appear in the select list ('{}').",
                        o.text
                    );
                }
            }
        }

        // Implicit group joins collected while binding.
        for (item, b) in from_items.iter_mut().zip(scope.bindings.iter()) {
            item.group_joins = b.groups.iter().copied().collect();
        }

        let expr_depth = items
            .iter()
            .chain(filter.iter())
            .chain(group_by.iter())
            .chain(having.iter())
            .chain(order_by.iter().map(|(o, _)| o))
            .chain(
                from_items
                    .iter()
                    .filter_map(|f| f.join.as_ref().map(|(_, on)| on)),
            )
            .map(|x| x.depth)
            .max()
            .unwrap_or(0);
        let from_depth = from_items
            .iter()
            .map(|f| match &f.source {
                Source::Sub(s) => s.depth,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let depth = 1 + expr_depth.max(from_depth);
        if depth > MAX_QUERY_IR_DEPTH {
            bail!("Query is nested too deeply.");
        }
        let cols = items
            .iter()
            .zip(names.iter())
            .map(|(x, n)| OutColumn {
                name: n.clone(),
                ty: x.ty,
                nullable: x.nullable,
            })
            .collect();
        Ok((
            Select {
                distinct,
                items,
                from: from_items,
                filter,
                group_by,
                having,
                order_by,
                order_columns,
                limit,
                offset,
                depth,
            },
            cols,
            text,
        ))
    }

    fn new_alias(&mut self) -> String {
        let a = format!("t{}", self.next_alias);
        self.next_alias += 1;
        a
    }

    fn factor(&mut self, f: &TableFactor) -> Result<(Source, Binding, String)> {
        match f {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_directives,
                inheritance,
            } => {
                if args.is_some() {
                    bail!("Table functions are not supported.");
                }
                if !with_hints.is_empty()
                    || version.is_some()
                    || *with_ordinality
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || !index_directives.is_empty()
                    || inheritance.is_some()
                {
                    bail!("Table modifiers are not supported.");
                }
                let tname = object_name(name)?;
                let alias_name = table_alias(alias)?;
                let shown = match &alias_name {
                    Some(a) => format!("{} AS {}", ident_text(&tname), ident_text(a)),
                    None => ident_text(&tname),
                };
                let bind_name = alias_name.clone().unwrap_or_else(|| tname.clone());
                // CTEs shadow tables, innermost first.
                if let Some(cte) = self.ctes.iter().rev().find(|c| c.name == tname).cloned() {
                    let (sel, cols, _) = self.query(&cte.query)?;
                    let table = self.new_alias();
                    return Ok((
                        Source::Sub(Box::new(sel)),
                        Binding {
                            name: Some(bind_name),
                            table,
                            kind: BKind::Sub(cols),
                            nullable: false,
                            groups: BTreeSet::new(),
                        },
                        shown,
                    ));
                }
                let (source, kind) = match tname.as_str() {
                    "events" => (Source::Events, BKind::Events),
                    "groups" => (Source::Groups, BKind::Groups),
                    _ => bail!("Unknown table '{tname}'."),
                };
                let table = self.new_alias();
                Ok((
                    source,
                    Binding {
                        name: Some(bind_name),
                        table,
                        kind,
                        nullable: false,
                        groups: BTreeSet::new(),
                    },
                    shown,
                ))
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if *lateral || sample.is_some() {
                    bail!("LATERAL and SAMPLE are not supported.");
                }
                let (sel, cols, text) = self.query(subquery)?;
                let alias_name = table_alias(alias)?;
                let shown = match &alias_name {
                    Some(a) => format!("({text}) AS {}", ident_text(a)),
                    None => format!("({text})"),
                };
                let table = self.new_alias();
                Ok((
                    Source::Sub(Box::new(sel)),
                    Binding {
                        name: alias_name,
                        table,
                        kind: BKind::Sub(cols),
                        nullable: false,
                        groups: BTreeSet::new(),
                    },
                    shown,
                ))
            }
            TableFactor::NestedJoin { .. } => bail!("Parenthesised joins are not supported."),
            _ => bail!("Only tables and subqueries are supported in FROM."),
        }
    }

    fn wildcard(&mut self, scope: &mut Scope, qual: Option<&str>) -> Result<Vec<(Expr, String)>> {
        let mut out = Vec::new();
        let idxs: Vec<usize> = match qual {
            None => (0..scope.bindings.len()).collect(),
            Some(q) => {
                let i = scope
                    .bindings
                    .iter()
                    .position(|b| b.name.as_deref() == Some(q))
                    .ok_or_else(|| QueryError::new(format!("Unknown table '{q}'.")))?;
                vec![i]
            }
        };
        if idxs.is_empty() {
            bail!("SELECT * needs a FROM clause.");
        }
        for i in idxs {
            let cols: Vec<String> = match &scope.bindings[i].kind {
                BKind::Events => [
                    "uuid",
                    "event",
                    "distinct_id",
                    "timestamp",
                    "created_at",
                    "properties",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                BKind::Groups => ["index", "key", "created_at", "updated_at", "properties"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                BKind::Sub(cols) => cols.iter().map(|c| c.name.clone()).collect(),
            };
            let qualify = scope.bindings.len() > 1;
            let prefix = scope.bindings[i].name.clone();
            for c in cols {
                // With several tables, keep the echo unambiguous.
                let shown = match (&prefix, qualify) {
                    (Some(p), true) => format!("{}.{}", ident_text(p), ident_text(&c)),
                    _ => ident_text(&c),
                };
                let x = self.column_in(scope, i, std::slice::from_ref(&c), shown)?;
                out.push((x, c));
            }
        }
        Ok(out)
    }

    /// GROUP BY / ORDER BY item: a 1-based position into the SELECT list, or an expression.
    fn positional_or_bind(
        &mut self,
        scope: &mut Scope,
        e: &ast::Expr,
        items: &[Expr],
        agg: bool,
    ) -> Result<Expr> {
        if let ast::Expr::Value(v) = e
            && let Value::Number(n, _) = &v.value
        {
            let pos: usize = n
                .parse()
                .map_err(|_| QueryError::new(format!("Invalid column position {n}.")))?;
            if pos == 0 || pos > items.len() {
                bail!("Column position {n} is out of range (1..{}).", items.len());
            }
            return Ok(items[pos - 1].clone());
        }
        self.bind(scope, e, Allow { agg, aliases: true })
    }

    fn spend(&mut self, n: usize) -> Result<()> {
        self.work = self.work.saturating_add(n);
        if self.work > MAX_WORK {
            bail!("Query is too complex.");
        }
        Ok(())
    }

    fn bind(&mut self, scope: &mut Scope, e: &ast::Expr, allow: Allow) -> Result<Expr> {
        self.spend(1)?;
        self.expr_depth += 1;
        if self.expr_depth > MAX_EXPR_DEPTH {
            self.expr_depth -= 1;
            bail!("Query is nested too deeply.");
        }
        let r = self.bind_inner(scope, e, allow);
        self.expr_depth -= 1;
        match r {
            Ok(x) if x.depth > MAX_IR_DEPTH => bail!("Query is nested too deeply."),
            Ok(x) if x.size > MAX_EXPR_NODES => bail!("Query is too complex."),
            r => r,
        }
    }

    /// Dispatch only: the common recursive shapes go through small frames, so deep (but
    /// allowed) nesting stays far from the stack limit even in debug builds.
    fn bind_inner(&mut self, scope: &mut Scope, e: &ast::Expr, allow: Allow) -> Result<Expr> {
        use ast::Expr as E;
        match e {
            E::Value(v) => literal(&v.value),
            E::Identifier(id) => self.resolve(scope, std::slice::from_ref(id), allow),
            E::CompoundIdentifier(parts) => self.resolve(scope, parts, allow),
            E::Nested(inner) => self.bind(scope, inner, allow),
            E::BinaryOp { left, op, right } => self.binary(scope, left, op, right, allow),
            E::Function(f) => self.function(scope, f, allow),
            _ => self.bind_other(scope, e, allow),
        }
    }

    #[inline(never)]
    fn bind_other(&mut self, scope: &mut Scope, e: &ast::Expr, allow: Allow) -> Result<Expr> {
        use ast::Expr as E;
        match e {
            E::Value(v) => literal(&v.value),
            E::Identifier(id) => self.resolve(scope, std::slice::from_ref(id), allow),
            E::CompoundIdentifier(parts) => self.resolve(scope, parts, allow),
            E::CompoundFieldAccess { root, access_chain } => {
                let mut parts = Vec::new();
                match root.as_ref() {
                    E::Identifier(i) => parts.push(i.clone()),
                    E::CompoundIdentifier(v) => parts.extend(v.iter().cloned()),
                    _ => bail!("Unsupported field access: {e}"),
                }
                for a in access_chain {
                    match a {
                        AccessExpr::Dot(E::Identifier(i)) => parts.push(i.clone()),
                        _ => bail!("Unsupported field access: {e}"),
                    }
                }
                self.resolve(scope, &parts, allow)
            }
            E::Nested(inner) => self.bind(scope, inner, allow),
            E::UnaryOp { op, expr } => {
                let x = self.bind(scope, expr, allow)?;
                match op {
                    UnaryOperator::Not => {
                        let x = to_cond(x, "NOT")?;
                        Ok(mk(
                            format!("not({})", x.text),
                            Ty::Bool,
                            x.nullable,
                            x.agg,
                            Kind::Not(Box::new(x)),
                        ))
                    }
                    UnaryOperator::Minus => negate(x),
                    UnaryOperator::Plus => {
                        // Its own text: a converted value must not pass for the operand in
                        // GROUP BY matching.
                        let text = format!("+{}", x.text);
                        let mut y = num(x, "+")?;
                        if matches!(y.kind, Kind::Form(..)) {
                            y.text = text;
                        }
                        Ok(y)
                    }
                    _ => bail!("Operator {op} is not supported."),
                }
            }
            E::BinaryOp { left, op, right } => self.binary(scope, left, op, right, allow),
            E::IsNull(x) | E::IsNotNull(x) => {
                let negated = matches!(e, E::IsNotNull(_));
                let x = self.bind(scope, x, allow)?;
                Ok(is_null(x, negated))
            }
            E::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind(scope, expr, allow)?;
                let lo = self.bind(scope, low, allow)?;
                let hi = self.bind(scope, high, allow)?;
                let a = compare(CmpOp::GtEq, x.clone(), lo)?;
                let b = compare(CmpOp::LtEq, x, hi)?;
                let both = and_or(true, vec![a, b]);
                if *negated {
                    Ok(mk(
                        format!("not({})", both.text),
                        Ty::Bool,
                        both.nullable,
                        both.agg,
                        Kind::Not(Box::new(both)),
                    ))
                } else {
                    Ok(both)
                }
            }
            E::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | E::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any || escape_char.is_some() {
                    bail!("LIKE ANY and ESCAPE are not supported.");
                }
                let ci = matches!(e, E::ILike { .. });
                let x = text_arg(self.bind(scope, expr, allow)?, "LIKE")?;
                let p = text_arg(self.bind(scope, pattern, allow)?, "LIKE")?;
                let f = match (ci, *negated) {
                    (false, false) => "like",
                    (false, true) => "notLike",
                    (true, false) => "ilike",
                    (true, true) => "notILike",
                };
                Ok(mk(
                    format!("{f}({}, {})", x.text, p.text),
                    Ty::Bool,
                    x.nullable || p.nullable,
                    x.agg || p.agg,
                    Kind::Like {
                        expr: Box::new(x),
                        pattern: Box::new(p),
                        negated: *negated,
                        ci,
                    },
                ))
            }
            E::In {
                expr,
                target,
                negated,
                global,
            } => {
                if *global {
                    bail!("GLOBAL IN is not supported.");
                }
                let x = self.bind(scope, expr, allow)?;
                let fname = if *negated { "notIn" } else { "in" };
                match target {
                    InTarget::List(list) => {
                        if list.is_empty() {
                            bail!("IN needs at least one value.");
                        }
                        let mut items = Vec::new();
                        for l in list {
                            items.push(self.bind(scope, l, allow)?);
                        }
                        // Decide the comparison from the first non-null item; all others
                        // must agree.
                        let item_texts: Vec<String> =
                            items.iter().map(|o| o.text.clone()).collect();
                        let text = format!("{fname}({}, ({}))", x.text, item_texts.join(", "));
                        let mut lhs = x.clone();
                        let mut sig = None;
                        let mut mixed = false;
                        let mut out = Vec::new();
                        for it in &items {
                            let (a, b) = coerce_pair(x.clone(), it.clone())?;
                            if a.ty != Ty::Null && b.ty != Ty::Null {
                                let s = (a.ty, matches!(a.kind, Kind::Form(..)));
                                mixed |= sig.is_some_and(|p| p != s);
                                sig = Some(s);
                                lhs = a;
                            }
                            out.push(b);
                        }
                        if mixed {
                            // Items that need the left side read differently (a property
                            // against both strings and numbers): one equality each.
                            let eqs = items
                                .into_iter()
                                .map(|it| compare(CmpOp::Eq, x.clone(), it))
                                .collect::<Result<Vec<_>>>()?;
                            let any = and_or(false, eqs);
                            let mut r = if *negated {
                                mk(
                                    String::new(),
                                    Ty::Bool,
                                    any.nullable,
                                    any.agg,
                                    Kind::Not(Box::new(any)),
                                )
                            } else {
                                any
                            };
                            r.text = text;
                            return Ok(r);
                        }
                        let agg = lhs.agg || out.iter().any(|o| o.agg);
                        let nullable = lhs.nullable || out.iter().any(|o| o.nullable);
                        Ok(mk(
                            text,
                            Ty::Bool,
                            nullable,
                            agg,
                            Kind::InList {
                                expr: Box::new(lhs),
                                list: out,
                                negated: *negated,
                            },
                        ))
                    }
                    InTarget::Subquery(q) => {
                        let (sel, cols, text) = self.query(q)?;
                        if cols.len() != 1 {
                            bail!("A subquery in IN must return exactly one column.");
                        }
                        // Type the comparison with a placeholder of the subquery's column type.
                        let col = &cols[0];
                        let probe = mk(String::new(), col.ty, col.nullable, false, Kind::Null);
                        let (lhs, rhs) = coerce_pair(x.clone(), probe)?;
                        let form = match &rhs.kind {
                            Kind::Form(f, _) => Some(*f),
                            _ => None,
                        };
                        Ok(mk(
                            format!("{fname}({}, ({text}))", x.text),
                            Ty::Bool,
                            true,
                            lhs.agg,
                            Kind::InSub {
                                expr: Box::new(lhs),
                                sub: Box::new(sel),
                                form,
                                negated: *negated,
                            },
                        ))
                    }
                    _ => bail!("Only IN (list) and IN (subquery) are supported."),
                }
            }
            E::Function(f) => self.function(scope, f, allow),
            E::Trim {
                trim_where: None,
                trim_what: None,
                expr,
                trim_characters: None,
            } => {
                let x = self.bind(scope, expr, allow)?;
                scalar(self.ctx, "trim", "trim", vec![x])
            }
            E::Interval(_) => {
                bail!("INTERVAL can only be added to or subtracted from a date or time.")
            }
            E::Subquery(_) => bail!(
                "Scalar subqueries are not supported; use IN (SELECT …) or a subquery in FROM."
            ),
            E::Exists { .. } => bail!("EXISTS is not supported; use IN (SELECT …)."),
            E::Case { .. } => bail!("CASE is not supported; use if(cond, then, else)."),
            E::Cast { .. } => bail!("CAST is not supported; use toString, toInt or toFloat."),
            E::Tuple(_) => bail!("Tuples are not supported."),
            E::Array(_) => bail!("Arrays are not supported."),
            E::Lambda(_) => bail!("Lambdas are not supported."),
            other => {
                let mut t = other.to_string();
                if t.len() > 60 {
                    let mut cut = 60;
                    while !t.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    t.truncate(cut);
                    t.push('…');
                }
                bail!("Unsupported expression: {t}")
            }
        }
    }

    /// Left-deep operator chains (`a + b + c …`) are walked iteratively, so their length
    /// costs no stack here; the resulting IR depth is still capped.
    #[inline(never)]
    fn binary(
        &mut self,
        scope: &mut Scope,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
        allow: Allow,
    ) -> Result<Expr> {
        let mut spine = vec![(op, right)];
        let mut cur = left;
        while let ast::Expr::BinaryOp {
            left: l,
            op: o,
            right: r,
        } = cur
        {
            spine.push((o, r));
            cur = l;
        }
        spine.reverse();
        let mut rest = spine.into_iter();
        let mut acc = match cur {
            // INTERVAL n UNIT + t
            ast::Expr::Interval(iv) => {
                let Some((o, r)) = rest.next() else {
                    bail!("INTERVAL can only be added to or subtracted from a date or time.");
                };
                if *o != BinaryOperator::Plus {
                    bail!("INTERVAL can only be added to or subtracted from a date or time.");
                }
                let t = self.bind(scope, r, allow)?;
                let (n, unit) = self.interval(scope, iv, allow)?;
                shift(t, n, unit, false, true)?
            }
            _ => self.bind(scope, cur, allow)?,
        };
        for (o, r) in rest {
            acc = match (o, r) {
                (BinaryOperator::Plus | BinaryOperator::Minus, ast::Expr::Interval(iv)) => {
                    let (n, unit) = self.interval(scope, iv, allow)?;
                    shift(acc, n, unit, *o == BinaryOperator::Minus, false)?
                }
                _ => {
                    let b = self.bind(scope, r, allow)?;
                    binary_op(o, acc, b)?
                }
            };
            if acc.depth > MAX_IR_DEPTH {
                bail!("Query is nested too deeply.");
            }
            if acc.size > MAX_EXPR_NODES {
                bail!("Query is too complex.");
            }
        }
        Ok(acc)
    }

    fn interval(
        &mut self,
        scope: &mut Scope,
        iv: &ast::Interval,
        allow: Allow,
    ) -> Result<(Expr, Unit)> {
        if iv.last_field.is_some()
            || iv.leading_precision.is_some()
            || iv.fractional_seconds_precision.is_some()
        {
            bail!("Only INTERVAL n UNIT is supported.");
        }
        let unit = match &iv.leading_field {
            Some(f) => unit_of_field(f)?,
            None => bail!("INTERVAL needs a unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR)."),
        };
        let n = self.bind(scope, &iv.value, allow)?;
        let n = match n.ty {
            Ty::Int | Ty::UInt64 => n,
            Ty::Bool => num(n, "INTERVAL")?,
            Ty::Str => match &n.kind {
                Kind::Str(s) => match s.trim().parse::<i64>() {
                    Ok(i) => lit(Kind::Int(i), Ty::Int, i.to_string()),
                    Err(_) => bail!("INTERVAL needs an integer, got '{s}'."),
                },
                _ => bail!("INTERVAL needs an integer."),
            },
            _ => bail!("INTERVAL needs an integer, got {}.", n.ty.name()),
        };
        Ok((n, unit))
    }

    /// Resolve a (possibly dotted) name: SELECT alias, table.column, column, property path.
    fn resolve(&mut self, scope: &mut Scope, parts: &[ast::Ident], allow: Allow) -> Result<Expr> {
        let names: Vec<String> = parts.iter().map(|p| p.value.clone()).collect();
        let shown = names
            .iter()
            .map(|n| ident_text(n))
            .collect::<Vec<_>>()
            .join(".");
        if allow.aliases
            && names.len() == 1
            && let Some((_, x)) = scope.aliases.iter().rev().find(|(a, _)| *a == names[0])
        {
            let size = x.size as usize;
            if size > MAX_EXPR_NODES as usize {
                bail!("Query is too complex.");
            }
            let mut x = x.clone();
            self.spend(size)?;
            if x.agg && !allow.agg {
                bail!("Aggregate functions are not allowed here ('{}').", names[0]);
            }
            // Keep the echo readable: refer to the alias by name.
            x.text = ident_text(&names[0]);
            return Ok(x);
        }
        // `now`/`today` without parentheses read like ClickHouse keywords in some clients.
        if names.len() >= 2
            && let Some(i) = scope
                .bindings
                .iter()
                .position(|b| b.name.as_deref() == Some(names[0].as_str()))
        {
            return self.column_in(scope, i, &names[1..], shown);
        }
        let mut found = None;
        for (i, b) in scope.bindings.iter().enumerate() {
            if has_column(b, &names[0]) {
                if found.is_some() {
                    bail!(
                        "Column '{}' is ambiguous; qualify it with a table alias.",
                        names[0]
                    );
                }
                found = Some(i);
            }
        }
        match found {
            Some(i) => self.column_in(scope, i, &names, shown),
            None => bail!("Unknown column '{}'.", names[0]),
        }
    }

    /// Resolve `names` (column [, path…]) within the FROM item `i`.
    fn column_in(
        &mut self,
        scope: &mut Scope,
        i: usize,
        names: &[String],
        shown: String,
    ) -> Result<Expr> {
        let max_groups = self.ctx.max_group_types.min(64);
        let on_of = scope.on_of;
        let b = &mut scope.bindings[i];
        let table = b.table.clone();
        let nullable = b.nullable;
        let col = |c: Col, ty: Ty, null: bool, text: &str| {
            mk(
                text.to_string(),
                ty,
                null,
                false,
                Kind::Column {
                    table: table.clone(),
                    col: c,
                },
            )
        };
        let first = names[0].as_str();
        let rest = &names[1..];
        let no_rest = |x: Expr| -> Result<Expr> {
            if rest.is_empty() {
                Ok(x)
            } else {
                bail!("Column '{first}' has no field '{}'.", rest[0])
            }
        };
        match &b.kind {
            BKind::Events => match first {
                "uuid" => no_rest(col(Col::Uuid, Ty::Str, nullable, &shown)),
                "event" | "distinct_id" => {
                    let c = schema_name(first, ["event", "distinct_id"]);
                    no_rest(col(Col::Plain(c), Ty::Str, nullable, &shown))
                }
                "timestamp" | "created_at" => {
                    let c = schema_name(first, ["timestamp", "created_at"]);
                    no_rest(col(Col::Plain(c), Ty::DateTime, nullable, &shown))
                }
                "properties" => Ok(props(
                    col(Col::Plain("properties"), Ty::Json, nullable, "properties"),
                    rest,
                    shown,
                )),
                _ => {
                    if let Some(n) = first.strip_prefix("$group_").and_then(group_index) {
                        if n >= max_groups {
                            bail!(
                                "Unknown column '{first}' (group type indexes go up to {}).",
                                max_groups.saturating_sub(1)
                            );
                        }
                        return no_rest(col(Col::GroupKey(n), Ty::Str, nullable, &shown));
                    }
                    if let Some(n) = first.strip_prefix("group_").and_then(group_index) {
                        if n >= max_groups {
                            bail!(
                                "Unknown table 'group_{n}' (group type indexes go up to {}).",
                                max_groups.saturating_sub(1)
                            );
                        }
                        if on_of == Some(i) {
                            bail!(
                                "'{first}' cannot be used in the ON clause of its own table's join."
                            );
                        }
                        if rest.is_empty() {
                            bail!(
                                "'{first}' is a table; use {first}.key, {first}.properties.name, …."
                            );
                        }
                        b.groups.insert(n);
                        let gt = group_alias(&table, n);
                        let gcol = |c: &'static str, ty: Ty| {
                            mk(
                                shown.clone(),
                                ty,
                                true,
                                false,
                                Kind::Column {
                                    table: gt.clone(),
                                    col: Col::Plain(c),
                                },
                            )
                        };
                        let r2 = &rest[1..];
                        let only = |x: Expr| -> Result<Expr> {
                            if r2.is_empty() {
                                Ok(x)
                            } else {
                                bail!("Column '{}' has no field '{}'.", rest[0], r2[0])
                            }
                        };
                        return match rest[0].as_str() {
                            "key" => only(gcol("group_key", Ty::Str)),
                            "index" => only(gcol("group_type_index", Ty::Int)),
                            "created_at" => only(gcol("created_at", Ty::DateTime)),
                            "updated_at" => only(gcol("updated_at", Ty::DateTime)),
                            "properties" => {
                                let mut base = gcol("properties", Ty::Json);
                                base.text = format!("{first}.properties");
                                Ok(props(base, r2, shown))
                            }
                            other => bail!("Unknown column '{other}' of '{first}'."),
                        };
                    }
                    bail!("Unknown column '{first}'.")
                }
            },
            BKind::Groups => match first {
                "index" => no_rest(col(
                    Col::Plain("group_type_index"),
                    Ty::Int,
                    nullable,
                    &shown,
                )),
                "key" => no_rest(col(Col::Plain("group_key"), Ty::Str, nullable, &shown)),
                "created_at" | "updated_at" => {
                    let c = schema_name(first, ["created_at", "updated_at"]);
                    no_rest(col(Col::Plain(c), Ty::DateTime, nullable, &shown))
                }
                "properties" => Ok(props(
                    col(Col::Plain("properties"), Ty::Json, nullable, "properties"),
                    rest,
                    shown,
                )),
                _ => bail!("Unknown column '{first}'."),
            },
            BKind::Sub(cols) => {
                let Some(pos) = cols.iter().position(|c| c.name == first) else {
                    bail!("Unknown column '{first}'.");
                };
                let c = &cols[pos];
                let x = mk(
                    shown.clone(),
                    c.ty,
                    c.nullable || nullable,
                    false,
                    Kind::SubColumn {
                        table: table.clone(),
                        name: sub_column(pos),
                    },
                );
                if rest.is_empty() {
                    Ok(x)
                } else if c.ty == Ty::Json {
                    Ok(props(x, rest, shown))
                } else {
                    bail!("Column '{first}' has no field '{}'.", rest[0])
                }
            }
        }
    }

    #[inline(never)]
    fn function(&mut self, scope: &mut Scope, f: &ast::Function, allow: Allow) -> Result<Expr> {
        let name = object_name(&f.name)?;
        if f.uses_odbc_syntax
            || !matches!(f.parameters, FunctionArguments::None)
            || !f.within_group.is_empty()
            || f.filter.is_some()
            || f.null_treatment.is_some()
        {
            bail!("Unsupported syntax in call to '{name}'.");
        }
        if f.over.is_some() {
            bail!("Window functions are not supported.");
        }
        let mut distinct = false;
        let mut star = false;
        let mut raw_args: Vec<&ast::Expr> = Vec::new();
        match &f.args {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(_) => bail!("Subquery arguments are not supported."),
            FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    bail!("Unsupported syntax in call to '{name}'.");
                }
                distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                for a in &list.args {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => raw_args.push(e),
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                        _ => bail!("Unsupported argument in call to '{name}'."),
                    }
                }
            }
        }
        let lname = name.to_ascii_lowercase();
        // plus(t, toIntervalDay(n)) / minus(…): the echo's spelling of `t ± INTERVAL n DAY`.
        if (lname == "plus" || lname == "minus")
            && raw_args.len() == 2
            && let Some((n, unit)) = interval_call(raw_args[1])?
        {
            let t = self.bind(scope, raw_args[0], allow)?;
            let n = self.bind(scope, n, allow)?;
            return shift(t, n, unit, lname == "minus", false);
        }
        if lname == "plus"
            && raw_args.len() == 2
            && let Some((n, unit)) = interval_call(raw_args[0])?
        {
            let t = self.bind(scope, raw_args[1], allow)?;
            let n = self.bind(scope, n, allow)?;
            return shift(t, n, unit, false, true);
        }
        // in(x, (a, b)) / notIn(x, (SELECT …)): the echo's spelling of IN.
        if (lname == "in" || lname == "notin") && raw_args.len() == 2 {
            let target = match raw_args[1] {
                ast::Expr::Tuple(v) => InTarget::List(v.clone()),
                ast::Expr::Subquery(q) => InTarget::Subquery(q.clone()),
                ast::Expr::Nested(x) => InTarget::List(vec![(**x).clone()]),
                other => InTarget::List(vec![other.clone()]),
            };
            let e = ast::Expr::In {
                expr: Box::new(raw_args[0].clone()),
                target,
                negated: lname == "notin",
                global: false,
            };
            return self.bind(scope, &e, allow);
        }
        if lname.starts_with("tointerval") {
            bail!("{name} can only be added to or subtracted from a date or time.");
        }
        let is_agg = AGGREGATES.iter().any(|(n, _)| *n == lname);
        if is_agg && !allow.agg {
            bail!("Aggregate function '{name}' is not allowed here.");
        }
        if star && lname != "count" {
            bail!("'*' is only allowed in count(*).");
        }
        if distinct && lname != "count" {
            bail!("DISTINCT is only supported in count(DISTINCT x).");
        }
        // Arguments of aggregates may not contain aggregates.
        let inner_allow = if is_agg {
            Allow {
                agg: false,
                ..allow
            }
        } else {
            allow
        };
        let mut args = Vec::new();
        for a in &raw_args {
            args.push(self.bind(scope, a, inner_allow).map_err(|e| {
                if is_agg && e.detail.starts_with("Aggregate function") {
                    QueryError::new("Aggregate functions cannot be nested.")
                } else {
                    e
                }
            })?);
        }
        if is_agg {
            return aggregate(&lname, args, distinct, star);
        }
        scalar(self.ctx, &name, &lname, args)
    }
}

const AGGREGATES: &[(&str, &str)] = &[
    ("count", "count"),
    ("uniq", "uniq"),
    ("countif", "countIf"),
    ("sum", "sum"),
    ("sumif", "sumIf"),
    ("avg", "avg"),
    ("avgif", "avgIf"),
    ("min", "min"),
    ("max", "max"),
    ("minif", "minIf"),
    ("maxif", "maxIf"),
    ("any", "any"),
    ("argmax", "argMax"),
    ("argmin", "argMin"),
];

fn canonical(lname: &str) -> &'static str {
    AGGREGATES
        .iter()
        .find(|(n, _)| *n == lname)
        .map(|(_, c)| *c)
        .unwrap_or("")
}

fn arity(name: &str, args: &[Expr], n: usize) -> Result<()> {
    if args.len() != n {
        bail!(
            "Function '{name}' takes {n} argument{}, got {}.",
            if n == 1 { "" } else { "s" },
            args.len()
        );
    }
    Ok(())
}

fn call_text(name: &str, args: &[Expr]) -> String {
    let t: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    format!("{name}({})", t.join(", "))
}

fn aggregate(lname: &str, mut args: Vec<Expr>, distinct: bool, star: bool) -> Result<Expr> {
    let cname = canonical(lname);
    let text = if distinct {
        format!(
            "{}(DISTINCT {})",
            cname,
            args.iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        call_text(cname, &args)
    };
    let agg =
        |a: Agg, args: Vec<Expr>, distinct: bool, cond: Option<Expr>, ty: Ty, nullable: bool| {
            mk(
                text.clone(),
                ty,
                nullable,
                true,
                Kind::Agg {
                    agg: a,
                    args,
                    distinct,
                    cond: cond.map(Box::new),
                },
            )
        };
    // The `…If` variants take their condition last.
    let take_cond = |args: &mut Vec<Expr>, n: usize| -> Result<Expr> {
        arity(cname, args, n)?;
        let c = args.pop().expect("arity checked");
        to_cond(c, cname)
    };
    match lname {
        "count" => {
            if star || args.is_empty() {
                if star && !args.is_empty() {
                    bail!("count(*) takes no other arguments.");
                }
                return Ok(agg(Agg::Count, vec![], false, None, Ty::UInt64, false));
            }
            arity(cname, &args, 1)?;
            Ok(agg(Agg::Count, args, distinct, None, Ty::UInt64, false))
        }
        "uniq" => {
            arity(cname, &args, 1)?;
            Ok(agg(Agg::Count, args, true, None, Ty::UInt64, false))
        }
        "countif" => {
            let c = take_cond(&mut args, 1)?;
            Ok(agg(Agg::Count, vec![], false, Some(c), Ty::UInt64, false))
        }
        "sum" | "sumif" | "avg" | "avgif" => {
            let cond = if lname.ends_with("if") {
                Some(take_cond(&mut args, 2)?)
            } else {
                None
            };
            arity(cname, &args, 1)?;
            let x = num(args.pop().expect("arity checked"), cname)?;
            let (a, ty, nullable) = if lname.starts_with("sum") {
                (
                    Agg::Sum,
                    if x.ty.is_intlike() {
                        Ty::Int
                    } else {
                        Ty::Float
                    },
                    false,
                )
            } else {
                (Agg::Avg, Ty::Float, true)
            };
            Ok(agg(a, vec![x], false, cond, ty, nullable))
        }
        "min" | "max" | "minif" | "maxif" => {
            let cond = if lname.ends_with("if") {
                Some(take_cond(&mut args, 2)?)
            } else {
                None
            };
            arity(cname, &args, 1)?;
            let mut x = args.pop().expect("arity checked");
            if x.ty == Ty::Dyn || x.ty == Ty::Bool {
                x = num(x, cname)?;
            }
            if x.ty == Ty::Json {
                bail!("Cannot take {cname} of a whole JSON object.");
            }
            let a = if lname.starts_with("min") {
                Agg::Min
            } else {
                Agg::Max
            };
            let ty = x.ty;
            Ok(agg(a, vec![x], false, cond, ty, true))
        }
        "any" => {
            arity(cname, &args, 1)?;
            let ty = args[0].ty;
            Ok(agg(Agg::Any, args, false, None, ty, true))
        }
        "argmax" | "argmin" => {
            arity(cname, &args, 2)?;
            let y = args.pop().expect("arity checked");
            let y = if y.ty == Ty::Bool { num(y, cname)? } else { y };
            if !(y.ty.is_intlike() || y.ty.is_time() || y.ty == Ty::Str) {
                bail!(
                    "{cname} orders by an integer, string or time; got {}.",
                    y.ty.name()
                );
            }
            let x = args.pop().expect("arity checked");
            let x = if x.ty == Ty::Bool { num(x, cname)? } else { x };
            let a = if lname == "argmax" {
                Agg::ArgMax
            } else {
                Agg::ArgMin
            };
            let ty = x.ty;
            Ok(agg(a, vec![x, y], false, None, ty, true))
        }
        _ => bail!("Unknown function '{lname}'."),
    }
}

fn scalar(ctx: &QueryContext, name: &str, lname: &str, mut args: Vec<Expr>) -> Result<Expr> {
    let agg = args.iter().any(|a| a.agg);
    let any_null = args.iter().any(|a| a.nullable || a.ty == Ty::Null);
    let func = |f: Fun, cname: &str, args: Vec<Expr>, ty: Ty, nullable: bool| {
        mk(
            call_text(cname, &args),
            ty,
            nullable,
            agg,
            Kind::Func(f, args),
        )
    };
    match lname {
        "now" => {
            arity("now", &args, 0)?;
            Ok(lit(Kind::Time(ctx.now_us), Ty::DateTime, "now()".into()))
        }
        "today" => {
            arity("today", &args, 0)?;
            Ok(lit(
                Kind::Time(floor_day(ctx.now_us)),
                Ty::Date,
                "today()".into(),
            ))
        }
        "todate" | "todatetime" | "tostartofday" | "tostartofweek" | "tostartofmonth" => {
            let cname = match lname {
                "todate" => "toDate",
                "todatetime" => "toDateTime",
                "tostartofday" => "toStartOfDay",
                "tostartofweek" => "toStartOfWeek",
                _ => "toStartOfMonth",
            };
            if lname == "tostartofweek" && args.len() == 2 {
                // Mode 0 (Sunday) is the only one supported.
                match args[1].kind {
                    Kind::Int(0) => {
                        args.pop();
                    }
                    _ => bail!("toStartOfWeek supports only mode 0 (weeks start on Sunday)."),
                }
            }
            arity(cname, &args, 1)?;
            let x = time_arg(args.pop().expect("arity checked"), cname)?;
            let text = format!("{cname}({})", x.text);
            let nullable = x.nullable;
            let (f, ty) = match lname {
                "todatetime" => {
                    let mut x = x;
                    x.ty = Ty::DateTime;
                    x.text = text;
                    return Ok(x);
                }
                "todate" => (Fun::StartOfDay, Ty::Date),
                "tostartofday" => (Fun::StartOfDay, Ty::DateTime),
                "tostartofweek" => (Fun::StartOfWeek, Ty::Date),
                _ => (Fun::StartOfMonth, Ty::Date),
            };
            // Fold literals so comparisons against them stay simple bound values.
            if let Kind::Time(us) = x.kind
                && f == Fun::StartOfDay
            {
                return Ok(lit(Kind::Time(floor_day(us)), ty, text));
            }
            Ok(mk(text, ty, nullable, agg, Kind::Func(f, vec![x])))
        }
        "datediff" => {
            arity("dateDiff", &args, 3)?;
            let b = time_arg(args.pop().expect("arity"), "dateDiff")?;
            let a = time_arg(args.pop().expect("arity"), "dateDiff")?;
            let u = args.pop().expect("arity");
            let unit = match &u.kind {
                Kind::Str(s) => match s.to_ascii_lowercase().as_str() {
                    "second" | "seconds" | "ss" | "s" => Unit::Second,
                    "minute" | "minutes" | "mi" | "n" => Unit::Minute,
                    "hour" | "hours" | "hh" | "h" => Unit::Hour,
                    "day" | "days" | "dd" | "d" => Unit::Day,
                    "week" | "weeks" | "wk" | "ww" => Unit::Week,
                    "month" | "months" | "mm" | "m" => Unit::Month,
                    "quarter" | "quarters" | "qq" | "q" => Unit::Quarter,
                    "year" | "years" | "yyyy" | "yy" => Unit::Year,
                    _ => bail!("dateDiff: unknown unit '{s}'."),
                },
                _ => bail!(
                    "dateDiff needs the unit as a string literal, e.g. dateDiff('day', a, b)."
                ),
            };
            let nullable = a.nullable || b.nullable;
            let text = format!("dateDiff({}, {}, {})", u.text, a.text, b.text);
            Ok(mk(
                text,
                Ty::Int,
                nullable,
                agg,
                Kind::Func(Fun::DateDiff(unit), vec![a, b]),
            ))
        }
        "tostring" => {
            arity("toString", &args, 1)?;
            let x = args.pop().expect("arity");
            let n = x.nullable || matches!(x.ty, Ty::Dyn | Ty::Null);
            Ok(func(Fun::ToString, "toString", vec![x], Ty::Str, n))
        }
        "toint" | "tofloat" => {
            let cname = if lname == "toint" { "toInt" } else { "toFloat" };
            arity(cname, &args, 1)?;
            let x = args.pop().expect("arity");
            if x.ty == Ty::Json {
                bail!("{cname} cannot convert a whole JSON object.");
            }
            let (f, ty) = if lname == "toint" {
                (Fun::ToInt, Ty::Int)
            } else {
                (Fun::ToFloat, Ty::Float)
            };
            Ok(func(f, cname, vec![x], ty, true))
        }
        "lower" | "upper" | "trim" | "length" => {
            let (f, cname) = match lname {
                "lower" => (Fun::Lower, "lower"),
                "upper" => (Fun::Upper, "upper"),
                "trim" => (Fun::Trim, "trim"),
                _ => (Fun::Length, "length"),
            };
            arity(cname, &args, 1)?;
            let x = text_arg(args.pop().expect("arity"), cname)?;
            let ty = if f == Fun::Length {
                Ty::UInt64
            } else {
                Ty::Str
            };
            let n = x.nullable;
            Ok(func(f, cname, vec![x], ty, n))
        }
        "concat" => {
            if args.len() < 2 {
                bail!("Function 'concat' takes at least 2 arguments.");
            }
            let text = call_text("concat", &args);
            let args = args
                .into_iter()
                .map(|a| {
                    if a.ty == Ty::Str {
                        Ok(a)
                    } else if a.ty == Ty::Json {
                        bail!("concat cannot take a whole JSON object.")
                    } else {
                        Ok(form(Form::Text, a))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(mk(
                text,
                Ty::Str,
                any_null,
                agg,
                Kind::Func(Fun::Concat, args),
            ))
        }
        "coalesce" | "ifnull" => {
            let cname = if lname == "coalesce" {
                "coalesce"
            } else {
                "ifNull"
            };
            if lname == "ifnull" {
                arity(cname, &args, 2)?;
            } else if args.is_empty() {
                bail!("Function 'coalesce' takes at least 1 argument.");
            }
            let text = call_text(cname, &args);
            let last_nullable = args
                .last()
                .map(|a| a.nullable || a.ty == Ty::Null || a.ty == Ty::Dyn)
                .unwrap_or(true);
            let (args, ty) = unify(args, cname)?;
            Ok(mk(
                text,
                ty,
                last_nullable,
                agg,
                Kind::Func(Fun::Coalesce, args),
            ))
        }
        "if" => {
            arity("if", &args, 3)?;
            let text = call_text("if", &args);
            let e = args.pop().expect("arity");
            let t = args.pop().expect("arity");
            let c = to_cond(args.pop().expect("arity"), "if")?;
            let nullable = t.nullable
                || e.nullable
                || t.ty == Ty::Null
                || e.ty == Ty::Null
                || t.ty == Ty::Dyn
                || e.ty == Ty::Dyn;
            let (mut te, ty) = unify(vec![t, e], "if")?;
            let e = te.pop().expect("two");
            let t = te.pop().expect("two");
            Ok(mk(
                text,
                ty,
                nullable,
                agg,
                Kind::Func(Fun::If, vec![c, t, e]),
            ))
        }
        "jsonextractstring" => {
            if args.len() < 2 {
                bail!("JSONExtractString needs a JSON column and at least one key.");
            }
            let text = call_text("JSONExtractString", &args);
            let mut it = args.into_iter();
            let base = it.next().expect("len checked");
            if base.ty != Ty::Json {
                bail!("JSONExtractString reads from a properties column.");
            }
            let mut path = Vec::new();
            for k in it {
                match k.kind {
                    Kind::Str(s) => path.push(s),
                    _ => bail!("JSONExtractString keys must be string literals."),
                }
            }
            let p = mk(
                text.clone(),
                Ty::Dyn,
                true,
                base.agg,
                Kind::Prop {
                    base: Box::new(base),
                    path,
                },
            );
            Ok(mk(
                text,
                Ty::Str,
                false,
                agg,
                Kind::Func(Fun::JsonString, vec![p]),
            ))
        }
        "intdiv" => {
            arity("intDiv", &args, 2)?;
            let b = args.pop().expect("arity");
            let a = args.pop().expect("arity");
            arith(ArOp::IntDiv, a, b)
        }
        "negate" => {
            arity(name, &args, 1)?;
            negate(args.pop().expect("arity"))
        }
        // The function-call spelling of operators, as the `hogql` echo prints them.
        "equals" | "notequals" | "less" | "lessorequals" | "greater" | "greaterorequals" => {
            arity(name, &args, 2)?;
            let b = args.pop().expect("arity");
            let a = args.pop().expect("arity");
            let op = match lname {
                "equals" => CmpOp::Eq,
                "notequals" => CmpOp::NotEq,
                "less" => CmpOp::Lt,
                "lessorequals" => CmpOp::LtEq,
                "greater" => CmpOp::Gt,
                _ => CmpOp::GtEq,
            };
            compare(op, a, b)
        }
        "plus" | "minus" | "multiply" | "divide" | "modulo" => {
            arity(name, &args, 2)?;
            let b = args.pop().expect("arity");
            let a = args.pop().expect("arity");
            let op = match lname {
                "plus" => ArOp::Add,
                "minus" => ArOp::Sub,
                "multiply" => ArOp::Mul,
                "divide" => ArOp::Div,
                _ => ArOp::Mod,
            };
            arith(op, a, b)
        }
        "and" | "or" => {
            if args.len() < 2 {
                bail!("Function '{name}' takes at least 2 arguments.");
            }
            let args = args
                .into_iter()
                .map(|a| to_cond(a, name))
                .collect::<Result<Vec<_>>>()?;
            Ok(and_or(lname == "and", args))
        }
        "not" => {
            arity(name, &args, 1)?;
            let x = to_cond(args.pop().expect("arity"), "not")?;
            Ok(mk(
                format!("not({})", x.text),
                Ty::Bool,
                x.nullable,
                x.agg,
                Kind::Not(Box::new(x)),
            ))
        }
        "isnull" | "isnotnull" => {
            arity(name, &args, 1)?;
            let x = args.pop().expect("arity");
            Ok(is_null(x, lname == "isnotnull"))
        }
        "like" | "ilike" | "notlike" | "notilike" => {
            arity(name, &args, 2)?;
            let p = text_arg(args.pop().expect("arity"), name)?;
            let x = text_arg(args.pop().expect("arity"), name)?;
            let (ci, negated) = match lname {
                "like" => (false, false),
                "ilike" => (true, false),
                "notlike" => (false, true),
                _ => (true, true),
            };
            let cname = ["like", "notLike", "ilike", "notILike"]
                [usize::from(ci) * 2 + usize::from(negated)];
            Ok(mk(
                format!("{cname}({}, {})", x.text, p.text),
                Ty::Bool,
                x.nullable || p.nullable,
                agg,
                Kind::Like {
                    expr: Box::new(x),
                    pattern: Box::new(p),
                    negated,
                    ci,
                },
            ))
        }
        _ => bail!("Unknown function '{name}'."),
    }
}

// ---------- expression helpers ----------

/// The schema's own (`'static`) spelling of a column the caller already matched against `names`:
/// identifiers in emitted SQL always come from groupd's schema, never from the query text.
fn schema_name(first: &str, names: [&'static str; 2]) -> &'static str {
    names.into_iter().find(|n| *n == first).unwrap_or(names[0])
}

/// `isNull(x)` / `isNotNull(x)` (also `x IS [NOT] NULL`); a dynamic value is tested in its text form.
fn is_null(x: Expr, negated: bool) -> Expr {
    let x = if x.ty == Ty::Dyn {
        form(Form::Text, x)
    } else {
        x
    };
    let name = if negated { "isNotNull" } else { "isNull" };
    mk(
        format!("{name}({})", x.text),
        Ty::Bool,
        false,
        x.agg,
        Kind::IsNull {
            expr: Box::new(x),
            negated,
        },
    )
}

fn mk(text: String, ty: Ty, nullable: bool, agg: bool, kind: Kind) -> Expr {
    let mut x = Expr {
        kind,
        ty,
        nullable,
        agg,
        text,
        depth: 1,
        size: 1,
    };
    x.depth = x.computed_depth();
    x.size = x.computed_size();
    x
}

fn lit(kind: Kind, ty: Ty, text: String) -> Expr {
    let nullable = matches!(kind, Kind::Null);
    mk(text, ty, nullable, false, kind)
}

fn literal(v: &Value) -> Result<Expr> {
    match v {
        Value::Number(n, _) => {
            if let Ok(i) = n.parse::<i64>() {
                Ok(lit(Kind::Int(i), Ty::Int, i.to_string()))
            } else {
                match n.parse::<f64>() {
                    Ok(f) if f.is_finite() => Ok(lit(Kind::Float(f), Ty::Float, n.clone())),
                    _ => bail!("Invalid number {n}."),
                }
            }
        }
        Value::SingleQuotedString(s) => Ok(lit(Kind::Str(s.clone()), Ty::Str, quote_str(s))),
        Value::Boolean(b) => Ok(lit(Kind::Bool(*b), Ty::Bool, b.to_string())),
        Value::Null => Ok(lit(Kind::Null, Ty::Null, "NULL".into())),
        other => bail!("Unsupported literal: {other}"),
    }
}

fn count_literal(e: &ast::Expr, what: &str) -> Result<u64> {
    if let ast::Expr::Value(v) = e
        && let Value::Number(n, _) = &v.value
        && let Ok(x) = n.parse::<u64>()
    {
        return Ok(x);
    }
    bail!("{what} must be a non-negative integer.")
}

/// Quote a string literal the way HogQL prints it.
fn quote_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An identifier as HogQL prints it: bare when plain, else in backticks.
fn ident_text(s: &str) -> String {
    // `$name` reads back as a word; a lone `$` or `$1` would read as a placeholder.
    let body = s.strip_prefix('$').unwrap_or(s);
    let plain = body
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain && !RESERVED.iter().any(|k| k.eq_ignore_ascii_case(s)) {
        s.to_string()
    } else {
        format!("`{}`", s.replace('`', "``"))
    }
}

/// Words that would not read back as a name in the echo (`key`, `index`, `event` do).
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "cross",
    "desc",
    "distinct",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "final",
    "format",
    "from",
    "full",
    "global",
    "group",
    "having",
    "ilike",
    "in",
    "inner",
    "intersect",
    "interval",
    "is",
    "join",
    "left",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "prewhere",
    "right",
    "sample",
    "select",
    "settings",
    "then",
    "true",
    "union",
    "using",
    "when",
    "where",
    "window",
    "with",
];

fn item_text(text: &str, name: &str) -> String {
    if text == ident_text(name) || text == name {
        text.to_string()
    } else {
        format!("{text} AS {}", ident_text(name))
    }
}

/// The column name of an unaliased SELECT item: the last part of a (dotted) name, else the
/// expression's text, as ClickHouse/PostHog name them.
fn default_name(e: &ast::Expr, x: &Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => i.value.clone(),
        ast::Expr::CompoundIdentifier(v) => v.last().map(|i| i.value.clone()).unwrap_or_default(),
        ast::Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last() {
            Some(AccessExpr::Dot(ast::Expr::Identifier(i))) => i.value.clone(),
            _ => x.text.clone(),
        },
        _ => x.text.clone(),
    }
}

fn object_name(n: &ast::ObjectName) -> Result<String> {
    let mut parts = Vec::new();
    for p in &n.0 {
        match p {
            ObjectNamePart::Identifier(i) => parts.push(i.value.clone()),
            ObjectNamePart::Function(_) => bail!("Unsupported name {n}."),
        }
    }
    Ok(parts.join("."))
}

fn table_alias(a: &Option<ast::TableAlias>) -> Result<Option<String>> {
    match a {
        None => Ok(None),
        Some(a) => {
            if !a.columns.is_empty() || a.at.is_some() {
                bail!("Column lists in table aliases are not supported.");
            }
            Ok(Some(a.name.value.clone()))
        }
    }
}

fn check_wildcard(o: &WildcardAdditionalOptions) -> Result<()> {
    if o.opt_ilike.is_some()
        || o.opt_exclude.is_some()
        || o.opt_except.is_some()
        || o.opt_replace.is_some()
        || o.opt_rename.is_some()
        || o.opt_alias.is_some()
    {
        bail!("Wildcard modifiers are not supported.");
    }
    Ok(())
}

fn group_index(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn has_column(b: &Binding, name: &str) -> bool {
    match &b.kind {
        BKind::Events => {
            matches!(
                name,
                "uuid" | "event" | "distinct_id" | "timestamp" | "created_at" | "properties"
            ) || name.strip_prefix("$group_").and_then(group_index).is_some()
                || name.strip_prefix("group_").and_then(group_index).is_some()
        }
        BKind::Groups => matches!(
            name,
            "index" | "key" | "created_at" | "updated_at" | "properties"
        ),
        BKind::Sub(cols) => cols.iter().any(|c| c.name == name),
    }
}

fn props(base: Expr, path: &[String], shown: String) -> Expr {
    if path.is_empty() {
        let mut b = base;
        b.text = shown;
        return b;
    }
    let agg = base.agg;
    mk(
        shown,
        Ty::Dyn,
        true,
        agg,
        Kind::Prop {
            base: Box::new(base),
            path: path.to_vec(),
        },
    )
}

fn form(f: Form, x: Expr) -> Expr {
    let ty = match f {
        Form::Num => {
            if x.ty == Ty::Bool {
                Ty::Int
            } else {
                Ty::Float
            }
        }
        Form::Text => Ty::Str,
        Form::Float => Ty::Float,
        Form::Cond => Ty::Bool,
    };
    let nullable = x.nullable || x.ty == Ty::Dyn;
    mk(
        x.text.clone(),
        ty,
        nullable,
        x.agg,
        Kind::Form(f, Box::new(x)),
    )
}

/// A numeric operand: numbers as they are, booleans as 0/1, property values as numbers.
fn num(x: Expr, what: &str) -> Result<Expr> {
    match x.ty {
        Ty::Int | Ty::UInt64 | Ty::Float | Ty::Null => Ok(x),
        Ty::Bool | Ty::Dyn => Ok(form(Form::Num, x)),
        other => bail!("{what} needs a number, got {}.", other.name()),
    }
}

fn text_arg(x: Expr, what: &str) -> Result<Expr> {
    match x.ty {
        Ty::Str | Ty::Null => Ok(x),
        Ty::Dyn => Ok(form(Form::Text, x)),
        other => bail!("{what} needs a string, got {}.", other.name()),
    }
}

/// A time argument: DateTime/Date as is, a string literal parsed now.
fn time_arg(x: Expr, what: &str) -> Result<Expr> {
    match (&x.kind, x.ty) {
        (_, Ty::DateTime | Ty::Date | Ty::Null) => Ok(x),
        (Kind::Str(s), _) => match parse_datetime(s) {
            Some(us) => Ok(lit(Kind::Time(us), Ty::DateTime, x.text.clone())),
            None => {
                bail!("Cannot parse '{s}' as a date/time; use 'YYYY-MM-DD HH:MM:SS' or RFC 3339.")
            }
        },
        _ => bail!("{what} needs a date or time, got {}.", x.ty.name()),
    }
}

fn to_cond(x: Expr, what: &str) -> Result<Expr> {
    match x.ty {
        Ty::Bool => Ok(x),
        Ty::Int | Ty::UInt64 | Ty::Float | Ty::Dyn | Ty::Null => Ok(form(Form::Cond, x)),
        other => bail!("{what} needs a condition, got {}.", other.name()),
    }
}

fn and_or(and: bool, args: Vec<Expr>) -> Expr {
    let text = call_text(if and { "and" } else { "or" }, &args);
    let nullable = args.iter().any(|a| a.nullable);
    let agg = args.iter().any(|a| a.agg);
    mk(
        text,
        Ty::Bool,
        nullable,
        agg,
        if and { Kind::And(args) } else { Kind::Or(args) },
    )
}

/// Make two operands comparable (or refuse): property values take the other side's type,
/// string literals next to times become times.
fn coerce_pair(a: Expr, b: Expr) -> Result<(Expr, Expr)> {
    use Ty::*;
    match (a.ty, b.ty) {
        (Null, _) | (_, Null) => Ok((a, b)),
        (Json, _) | (_, Json) => {
            bail!("Cannot compare a whole JSON object; read a property, e.g. properties.name.")
        }
        (Date | DateTime, Date | DateTime) => Ok((a, b)),
        (Date | DateTime, Str) => Ok((a, time_arg(b, "comparison")?)),
        (Str, Date | DateTime) => Ok((time_arg(a, "comparison")?, b)),
        (Dyn, Dyn) | (Str, Str) => Ok((a, b)),
        (Dyn, Str) => Ok((form(Form::Text, a), b)),
        (Str, Dyn) => Ok((a, form(Form::Text, b))),
        (Dyn, t) if t.is_numeric() => Ok((form(Form::Num, a), num(b, "comparison")?)),
        (t, Dyn) if t.is_numeric() => Ok((num(a, "comparison")?, form(Form::Num, b))),
        (Bool, Bool) => Ok((a, b)),
        (x, y) if x.is_numeric() && y.is_numeric() => {
            Ok((num(a, "comparison")?, num(b, "comparison")?))
        }
        (x, y) => bail!("Cannot compare {} with {}.", x.name(), y.name()),
    }
}

fn compare(op: CmpOp, a: Expr, b: Expr) -> Result<Expr> {
    let fname = match op {
        CmpOp::Eq => "equals",
        CmpOp::NotEq => "notEquals",
        CmpOp::Lt => "less",
        CmpOp::LtEq => "lessOrEquals",
        CmpOp::Gt => "greater",
        CmpOp::GtEq => "greaterOrEquals",
    };
    let text = format!("{fname}({}, {})", a.text, b.text);
    let (a, b) = coerce_pair(a, b)?;
    let nullable = a.nullable || b.nullable;
    let agg = a.agg || b.agg;
    Ok(mk(
        text,
        Ty::Bool,
        nullable,
        agg,
        Kind::Cmp(op, Box::new(a), Box::new(b)),
    ))
}

fn arith(op: ArOp, a: Expr, b: Expr) -> Result<Expr> {
    let fname = match op {
        ArOp::Add => "plus",
        ArOp::Sub => "minus",
        ArOp::Mul => "multiply",
        ArOp::Div => "divide",
        ArOp::Mod => "modulo",
        ArOp::IntDiv => "intDiv",
    };
    let text = format!("{fname}({}, {})", a.text, b.text);
    if a.ty.is_time() || b.ty.is_time() {
        bail!("Date/time arithmetic needs an INTERVAL, e.g. now() - INTERVAL 7 DAY.");
    }
    let a = num(a, fname)?;
    let b = num(b, fname)?;
    let ints = a.ty.is_intlike() && b.ty.is_intlike();
    let ty = match op {
        ArOp::Div => Ty::Float,
        ArOp::IntDiv => Ty::Int,
        _ if ints => Ty::Int,
        ArOp::Mod => bail!("modulo needs integers."),
        _ => Ty::Float,
    };
    let (a, b) = if op == ArOp::IntDiv && !ints {
        bail!("intDiv needs integers.")
    } else {
        (a, b)
    };
    let nullable = a.nullable || b.nullable || matches!(op, ArOp::Div | ArOp::Mod | ArOp::IntDiv);
    let agg = a.agg || b.agg;
    Ok(mk(
        text,
        ty,
        nullable,
        agg,
        Kind::Arith(op, Box::new(a), Box::new(b)),
    ))
}

fn binary_op(op: &BinaryOperator, a: Expr, b: Expr) -> Result<Expr> {
    match op {
        BinaryOperator::And | BinaryOperator::Or => {
            let and = *op == BinaryOperator::And;
            let a = to_cond(a, if and { "AND" } else { "OR" })?;
            let b = to_cond(b, if and { "AND" } else { "OR" })?;
            // Flatten chains so `a AND b AND c` prints as and(a, b, c).
            let mut args = Vec::new();
            for x in [a, b] {
                match x.kind {
                    Kind::And(v) if and && x.text.starts_with("and(") => args.extend(v),
                    Kind::Or(v) if !and && x.text.starts_with("or(") => args.extend(v),
                    _ => args.push(x),
                }
            }
            Ok(and_or(and, args))
        }
        BinaryOperator::Eq => compare(CmpOp::Eq, a, b),
        BinaryOperator::NotEq => compare(CmpOp::NotEq, a, b),
        BinaryOperator::Lt => compare(CmpOp::Lt, a, b),
        BinaryOperator::LtEq => compare(CmpOp::LtEq, a, b),
        BinaryOperator::Gt => compare(CmpOp::Gt, a, b),
        BinaryOperator::GtEq => compare(CmpOp::GtEq, a, b),
        BinaryOperator::Plus => arith(ArOp::Add, a, b),
        BinaryOperator::Minus => arith(ArOp::Sub, a, b),
        BinaryOperator::Multiply => arith(ArOp::Mul, a, b),
        BinaryOperator::Divide => arith(ArOp::Div, a, b),
        BinaryOperator::Modulo => arith(ArOp::Mod, a, b),
        other => bail!("Operator {other} is not supported."),
    }
}

fn shift(t: Expr, n: Expr, unit: Unit, minus: bool, flipped: bool) -> Result<Expr> {
    let t = time_arg(t, "INTERVAL arithmetic")?;
    let text = if flipped {
        format!("plus(toIntervalX({}), {})", n.text, t.text)
            .replace("toIntervalX", &interval_fn(unit))
    } else {
        format!(
            "{}({}, {}({}))",
            if minus { "minus" } else { "plus" },
            t.text,
            interval_fn(unit),
            n.text
        )
    };
    let n = if minus {
        match n.kind {
            Kind::Int(i) if i != i64::MIN => lit(Kind::Int(-i), Ty::Int, format!("-{i}")),
            _ => mk(
                n.text.clone(),
                Ty::Int,
                n.nullable,
                n.agg,
                Kind::Neg(Box::new(n)),
            ),
        }
    } else {
        n
    };
    // Date ± days and longer stays a Date; anything finer gives a DateTime.
    let ty = if t.ty == Ty::Date && unit.fixed_us().is_none_or(|u| u % US_PER_DAY == 0) {
        Ty::Date
    } else {
        Ty::DateTime
    };
    let nullable = t.nullable || n.nullable;
    let agg = t.agg || n.agg;
    Ok(mk(
        text,
        ty,
        nullable,
        agg,
        Kind::Shift {
            time: Box::new(t),
            n: Box::new(n),
            unit,
        },
    ))
}

fn interval_fn(unit: Unit) -> String {
    let n = unit.name();
    format!("toInterval{}{}", &n[..1], n[1..].to_ascii_lowercase())
}

fn unit_of_field(f: &DateTimeField) -> Result<Unit> {
    Ok(match f {
        DateTimeField::Second | DateTimeField::Seconds => Unit::Second,
        DateTimeField::Minute | DateTimeField::Minutes => Unit::Minute,
        DateTimeField::Hour | DateTimeField::Hours => Unit::Hour,
        DateTimeField::Day | DateTimeField::Days => Unit::Day,
        DateTimeField::Week(None) | DateTimeField::Weeks => Unit::Week,
        DateTimeField::Month | DateTimeField::Months => Unit::Month,
        DateTimeField::Quarter => Unit::Quarter,
        DateTimeField::Year | DateTimeField::Years => Unit::Year,
        other => bail!("INTERVAL unit {other} is not supported."),
    })
}

/// Common type of coalesce/if branches; converts branches to it.
fn unify(args: Vec<Expr>, what: &str) -> Result<(Vec<Expr>, Ty)> {
    let tys: Vec<Ty> = args
        .iter()
        .map(|a| a.ty)
        .filter(|t| *t != Ty::Null)
        .collect();
    let concrete: Vec<Ty> = tys.iter().copied().filter(|t| *t != Ty::Dyn).collect();
    let target = if tys.is_empty() {
        Ty::Null
    } else if concrete.is_empty() {
        Ty::Dyn
    } else if concrete.iter().all(|t| *t == concrete[0]) {
        concrete[0]
    } else if concrete.iter().all(|t| t.is_numeric()) {
        if concrete.iter().all(|t| t.is_intlike()) {
            Ty::Int
        } else {
            Ty::Float
        }
    } else if concrete.iter().all(|t| t.is_time() || *t == Ty::Str) {
        Ty::DateTime
    } else {
        let names: Vec<&str> = concrete.iter().map(|t| t.name()).collect();
        bail!("{what}: incompatible types {}.", names.join(", "));
    };
    if target == Ty::Json {
        bail!("{what} cannot take whole JSON objects.");
    }
    // A property next to numbers or booleans reads as a (possibly fractional) number.
    let has_dyn = tys.contains(&Ty::Dyn);
    let target = match target {
        Ty::Bool | Ty::Int | Ty::UInt64 if has_dyn => Ty::Float,
        t => t,
    };
    let out = args
        .into_iter()
        .map(|a| {
            if a.ty == target || a.ty == Ty::Null {
                return Ok(a);
            }
            match target {
                Ty::Str => Ok(form(Form::Text, a)),
                Ty::Int => num(a, what),
                Ty::Float => {
                    let a = num(a, what)?;
                    Ok(if a.ty == Ty::Float {
                        a
                    } else {
                        form(Form::Float, a)
                    })
                }
                Ty::DateTime | Ty::Date => {
                    if a.ty == Ty::Dyn {
                        bail!("{what}: cannot mix a property value with a date/time.");
                    }
                    time_arg(a, what)
                }
                Ty::Bool => num(a, what),
                _ => Ok(a),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    // Mixed bool/int branches: everything became a number.
    let target = if target == Ty::Bool && out.iter().any(|a| a.ty != Ty::Bool && a.ty != Ty::Null) {
        Ty::Int
    } else {
        target
    };
    Ok((out, target))
}

/// Outside aggregates, every column reference must sit inside a GROUP BY expression.
fn check_grouped(x: &Expr, keys: &[&str]) -> Result<()> {
    if x.agg && matches!(x.kind, Kind::Agg { .. }) {
        return Ok(());
    }
    if keys.contains(&x.text.as_str()) || x.is_literal() {
        return Ok(());
    }
    match &x.kind {
        Kind::Column { .. } | Kind::SubColumn { .. } => bail!(
            "Column '{}' must appear in GROUP BY or be used in an aggregate function.",
            x.text
        ),
        Kind::Prop { .. } => bail!(
            "'{}' must appear in GROUP BY or be used in an aggregate function.",
            x.text
        ),
        Kind::InSub { expr, .. } => check_grouped(expr, keys),
        _ => {
            for c in x.children() {
                check_grouped(c, keys)?;
            }
            Ok(())
        }
    }
}

/// `toIntervalDay(n)` and friends: the argument and unit.
fn interval_call(e: &ast::Expr) -> Result<Option<(&ast::Expr, Unit)>> {
    let ast::Expr::Function(f) = e else {
        return Ok(None);
    };
    let name = object_name(&f.name)?.to_ascii_lowercase();
    let Some(u) = name.strip_prefix("tointerval") else {
        return Ok(None);
    };
    let unit = match u {
        "second" => Unit::Second,
        "minute" => Unit::Minute,
        "hour" => Unit::Hour,
        "day" => Unit::Day,
        "week" => Unit::Week,
        "month" => Unit::Month,
        "quarter" => Unit::Quarter,
        "year" => Unit::Year,
        _ => bail!("Unknown function '{}'.", object_name(&f.name)?),
    };
    match &f.args {
        FunctionArguments::List(l)
            if l.args.len() == 1 && l.duplicate_treatment.is_none() && l.clauses.is_empty() =>
        {
            match &l.args[0] {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(Some((x, unit))),
                _ => bail!("toInterval functions take one number."),
            }
        }
        _ => bail!("toInterval functions take one number."),
    }
}

/// Unary minus; literals fold so `-5` stays one bound value.
fn negate(x: Expr) -> Result<Expr> {
    // `--` would start a comment in the echo.
    let text = if x.text.starts_with('-') {
        format!("negate({})", x.text)
    } else {
        format!("-{}", x.text)
    };
    match x.kind {
        Kind::Int(i) if i != i64::MIN => return Ok(lit(Kind::Int(-i), Ty::Int, text)),
        Kind::Float(f) => return Ok(lit(Kind::Float(-f), Ty::Float, text)),
        _ => {}
    }
    let x = num(x, "-")?;
    let ty = if x.ty.is_intlike() {
        Ty::Int
    } else {
        Ty::Float
    };
    Ok(mk(
        format!("negate({})", x.text),
        ty,
        x.nullable,
        x.agg,
        Kind::Neg(Box::new(x)),
    ))
}
