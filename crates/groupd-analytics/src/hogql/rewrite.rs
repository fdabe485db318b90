//! HogQL's syntax tree → a DataFusion-ready syntax tree with HogQL's meaning: names resolved
//! against groupd's tables (project scoping lives in the tables themselves), property reads typed
//! by their context, `group_N`/type-name joins added, comparisons made two-valued, ClickHouse
//! functions mapped (`functions.rs`). Anything outside the language is refused with a message
//! naming it.
use std::collections::{BTreeMap, HashMap, HashSet};

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, GroupByExpr, Join, JoinConstraint, JoinOperator,
    LimitClause, OrderByKind, Query, Select, SelectItem, SetExpr, TableAlias, TableFactor,
    TableWithJoins, UnaryOperator, Value,
};

use super::ast::*;
use super::functions;
use super::{Catalog, HogError};

pub type Res<T> = Result<T, HogError>;

/// How a property read is typed: by what it is compared with or passed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Text (PostHog's read: strings as they are, other values as JSON text).
    Text,
    /// A number (numeric strings included).
    Number,
    /// An output column: the JSON value itself, typed per row when rendered.
    Raw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    Events,
    Groups,
    Other,
}

/// The tables one SELECT reads, and the group joins its expressions asked for.
#[derive(Debug, Default)]
pub struct Scope {
    tables: Vec<(String, Src)>,
    /// group type index → alias of the joined groups table.
    joins: BTreeMap<i64, String>,
    /// Select aliases and their (rewritten) expressions, for names used before their definition.
    aliases: HashMap<String, Expr>,
    inline_aliases: bool,
}

impl Scope {
    fn find(&self, qual: &str) -> Option<Src> {
        self.tables.iter().find(|(q, _)| q == qual).map(|t| t.1)
    }
    fn first(&self, want: Src) -> Option<String> {
        self.tables
            .iter()
            .find(|t| t.1 == want)
            .map(|t| t.0.clone())
    }
    /// The table an unqualified `properties` belongs to: the first events or groups table.
    fn default_props(&self) -> Option<String> {
        self.tables
            .iter()
            .find(|t| t.1 != Src::Other)
            .map(|t| t.0.clone())
    }
}

/// Fixed column names of the two tables (never taken as select aliases).
const COLUMNS: &[&str] = &[
    "uuid",
    "event",
    "distinct_id",
    "timestamp",
    "created_at",
    "properties",
    "index",
    "key",
    "updated_at",
];

pub struct Rewriter<'a> {
    pub cat: &'a Catalog,
    ctes: Vec<HashSet<String>>,
    pub reads_events: bool,
    pub reads_groups: bool,
    /// group type indexes whose `__groups_N` table a join reads.
    pub group_tables: std::collections::BTreeSet<i64>,
    next_alias: usize,
}

impl<'a> Rewriter<'a> {
    pub fn new(cat: &'a Catalog) -> Self {
        Rewriter {
            cat,
            ctes: vec![],
            reads_events: false,
            reads_groups: false,
            group_tables: Default::default(),
            next_alias: 0,
        }
    }

    fn is_cte(&self, name: &str) -> bool {
        self.ctes.iter().any(|s| s.contains(name))
    }

    /// Rewrites a query; `top` marks the outermost one (its bare property columns are Raw).
    pub fn query(&mut self, q: &mut Query, top: bool) -> Res<()> {
        if q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() {
            return Err(HogError::unsupported("FETCH/FOR clauses"));
        }
        if q.format_clause.is_some() {
            return Err(HogError::unsupported("FORMAT"));
        }
        if !q.pipe_operators.is_empty() {
            return Err(HogError::unsupported("pipe operators"));
        }
        // SETTINGS tune ClickHouse; they change nothing here.
        q.settings = None;
        let mut names = HashSet::new();
        if let Some(with) = &mut q.with {
            if with.recursive {
                return Err(HogError::unsupported("WITH RECURSIVE"));
            }
            self.ctes.push(HashSet::new());
            for cte in &mut with.cte_tables {
                self.query(&mut cte.query, false)?;
                names.insert(cte.alias.name.value.clone());
                if let Some(s) = self.ctes.last_mut() {
                    s.insert(cte.alias.name.value.clone());
                }
            }
        }
        let result = self.query_body(q, top);
        if q.with.is_some() {
            self.ctes.pop();
        }
        result
    }

    fn query_body(&mut self, q: &mut Query, top: bool) -> Res<()> {
        let scope = match q.body.as_mut() {
            SetExpr::Select(s) => Some(self.select(s, top)?),
            other => {
                self.set_expr(other, top)?;
                None
            }
        };
        if let Some(LimitClause::LimitOffset { limit_by, .. }) = &q.limit_clause
            && !limit_by.is_empty()
        {
            return Err(HogError::unsupported("LIMIT BY"));
        }
        if let Some(ob) = &mut q.order_by {
            if ob.interpolate.is_some() {
                return Err(HogError::unsupported("INTERPOLATE"));
            }
            let mut empty = Scope::default();
            let scope = match scope {
                Some(s) => s,
                None => Scope::default(),
            };
            let mut scope = scope;
            let sc = if scope.tables.is_empty() {
                &mut empty
            } else {
                &mut scope
            };
            if let OrderByKind::Expressions(items) = &mut ob.kind {
                let mut out = Vec::with_capacity(items.len());
                for mut item in std::mem::take(items) {
                    if item.with_fill.is_some() {
                        return Err(HogError::unsupported("WITH FILL"));
                    }
                    let bare = is_bare_property(&item.expr);
                    let hint = if top && bare { Hint::Raw } else { Hint::Text };
                    self.expr(&mut item.expr, hint, sc)?;
                    // ClickHouse puts NULLs last either way.
                    if item.options.nulls_first.is_none() {
                        item.options.nulls_first = Some(false);
                    }
                    if top
                        && (bare
                            || sc
                                .aliases
                                .get(&alias_name(&item.expr))
                                .is_some_and(is_raw_read))
                    {
                        // Numbers by value first, then everything else as text.
                        let mut by_number = item.clone();
                        by_number.expr = call("hog_raw_number", vec![item.expr.clone()]);
                        out.push(by_number);
                    }
                    out.push(item);
                }
                *items = out;
            }
        }
        Ok(())
    }

    fn set_expr(&mut self, e: &mut SetExpr, top: bool) -> Res<()> {
        match e {
            SetExpr::Select(s) => {
                self.select(s, top)?;
            }
            SetExpr::Query(q) => self.query(q, top)?,
            SetExpr::SetOperation {
                left, right, op, ..
            } => {
                use datafusion::sql::sqlparser::ast::SetOperator;
                if !matches!(
                    op,
                    SetOperator::Union | SetOperator::Intersect | SetOperator::Except
                ) {
                    return Err(HogError::unsupported("this set operation"));
                }
                self.set_expr(left, top)?;
                self.set_expr(right, top)?;
            }
            SetExpr::Values(_) => return Err(HogError::unsupported("VALUES")),
            _ => return Err(HogError::new("Only SELECT queries are supported.")),
        }
        Ok(())
    }

    fn table_factor(&mut self, tf: &mut TableFactor, scope: &mut Scope) -> Res<()> {
        match tf {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let Some(n) = single_name(name) else {
                    return Err(HogError::new(format!("Unknown table '{name}'.")));
                };
                if let Some(a) = args {
                    if n != "numbers" {
                        return Err(HogError::unsupported(&format!("table function '{n}'")));
                    }
                    let count = match a.args.as_slice() {
                        [
                            datafusion::sql::sqlparser::ast::FunctionArg::Unnamed(
                                datafusion::sql::sqlparser::ast::FunctionArgExpr::Expr(e),
                            ),
                        ] => literal_int(e),
                        _ => None,
                    };
                    let Some(count) = count.filter(|c| (0..=10_000_000).contains(c)) else {
                        return Err(HogError::new(
                            "numbers(N) takes one integer from 0 to 10000000.",
                        ));
                    };
                    let qual = alias
                        .as_ref()
                        .map_or("numbers".to_owned(), |a| a.name.value.clone());
                    *tf = derived(&format!(
                        "SELECT * FROM (SELECT unnest(range({count})) AS number) AS \"{}\"",
                        qual.replace('"', "")
                    ))?;
                    scope.tables.push((qual, Src::Other));
                    return Ok(());
                }
                let src = if self.is_cte(&n) {
                    Src::Other
                } else if n == "events" {
                    self.reads_events = true;
                    Src::Events
                } else if n == "groups" {
                    self.reads_groups = true;
                    Src::Groups
                } else {
                    return Err(HogError::new(format!("Unknown table '{n}'.")));
                };
                let qual = alias.as_ref().map_or(n, |a| a.name.value.clone());
                scope.tables.push((qual, src));
            }
            TableFactor::Derived {
                subquery,
                alias,
                lateral,
                ..
            } => {
                if *lateral {
                    return Err(HogError::unsupported("LATERAL"));
                }
                self.query(subquery, false)?;
                let qual = match alias {
                    Some(a) => a.name.value.clone(),
                    None => {
                        self.next_alias += 1;
                        let name = format!("__sub{}", self.next_alias);
                        *alias = Some(TableAlias {
                            explicit: true,
                            name: ident(&name),
                            columns: vec![],
                            at: None,
                        });
                        name
                    }
                };
                scope.tables.push((qual, Src::Other));
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.from_item(table_with_joins, scope)?,
            _ => return Err(HogError::unsupported("this kind of FROM item")),
        }
        Ok(())
    }

    fn from_item(&mut self, t: &mut TableWithJoins, scope: &mut Scope) -> Res<()> {
        self.table_factor(&mut t.relation, scope)?;
        for j in &mut t.joins {
            self.table_factor(&mut j.relation, scope)?;
        }
        Ok(())
    }

    fn join_constraints(&mut self, t: &mut TableWithJoins, scope: &mut Scope) -> Res<()> {
        for j in &mut t.joins {
            if j.global {
                return Err(HogError::unsupported("GLOBAL JOIN"));
            }
            let c = match &mut j.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c) => c,
                _ => return Err(HogError::unsupported("this kind of JOIN")),
            };
            match c {
                JoinConstraint::On(e) => self.predicate(e, scope)?,
                JoinConstraint::Using(_) | JoinConstraint::None => {}
                JoinConstraint::Natural => return Err(HogError::unsupported("NATURAL JOIN")),
            }
        }
        Ok(())
    }

    fn select(&mut self, s: &mut Select, top: bool) -> Res<Scope> {
        if s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || !s.connect_by.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.qualify.is_some()
            || s.value_table_mode.is_some()
            || s.exclude.is_some()
        {
            return Err(HogError::unsupported("this SELECT clause"));
        }
        if let Some(datafusion::sql::sqlparser::ast::Distinct::On(_)) = &s.distinct {
            return Err(HogError::unsupported("DISTINCT ON"));
        }
        // PREWHERE is a ClickHouse read optimisation of WHERE.
        if let Some(pre) = s.prewhere.take() {
            s.selection = Some(match s.selection.take() {
                Some(w) => binary(nested(pre), BinaryOperator::And, nested(w)),
                None => pre,
            });
        }
        let mut scope = Scope::default();
        for t in &mut s.from {
            self.from_item(t, &mut scope)?;
        }
        for t in &mut s.from {
            self.join_constraints(t, &mut scope)?;
        }
        for item in &mut s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let hint = if top && is_bare_property(e) {
                        Hint::Raw
                    } else {
                        Hint::Text
                    };
                    self.expr(e, hint, &mut scope)?;
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let hint = if top && is_bare_property(expr) {
                        Hint::Raw
                    } else {
                        Hint::Text
                    };
                    self.expr(expr, hint, &mut scope)?;
                    if !COLUMNS.contains(&alias.value.as_str()) {
                        scope.aliases.insert(alias.value.clone(), expr.clone());
                    }
                }
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {}
                SelectItem::ExprWithAliases { .. } => {
                    return Err(HogError::unsupported("multiple aliases"));
                }
            }
        }
        if let Some(w) = &mut s.selection {
            scope.inline_aliases = true;
            self.predicate(w, &mut scope)?;
            scope.inline_aliases = false;
        }
        match &mut s.group_by {
            GroupByExpr::Expressions(items, mods) => {
                if !mods.is_empty() {
                    return Err(HogError::unsupported("GROUP BY modifiers"));
                }
                for e in items {
                    let hint = if top && is_bare_property(e) {
                        Hint::Raw
                    } else {
                        Hint::Text
                    };
                    self.expr(e, hint, &mut scope)?;
                }
            }
            GroupByExpr::All(_) => {}
        }
        if let Some(h) = &mut s.having {
            self.predicate(h, &mut scope)?;
        }
        for w in &mut s.named_window {
            if let datafusion::sql::sqlparser::ast::NamedWindowExpr::WindowSpec(spec) = &mut w.1 {
                self.window_spec(spec, &mut scope)?;
            }
        }
        // The implicit group joins, after the events table they hang from.
        if !scope.joins.is_empty() {
            let events = scope.first(Src::Events).unwrap_or_default();
            for t in &mut s.from {
                let holds = t_has(t, &events);
                if !holds {
                    continue;
                }
                for (index, alias) in &scope.joins {
                    t.joins.push(group_join(*index, alias, &events)?);
                }
                break;
            }
            // `*` must not grow the joined columns.
            for item in &mut s.projection {
                if let SelectItem::Wildcard(opts) = item {
                    *item = SelectItem::QualifiedWildcard(
                        datafusion::sql::sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(
                            datafusion::sql::sqlparser::ast::ObjectName::from(vec![ident(&events)]),
                        ),
                        opts.clone(),
                    );
                }
            }
        }
        Ok(scope)
    }

    pub fn window_spec(
        &mut self,
        spec: &mut datafusion::sql::sqlparser::ast::WindowSpec,
        scope: &mut Scope,
    ) -> Res<()> {
        for e in &mut spec.partition_by {
            self.expr(e, Hint::Text, scope)?;
        }
        for o in &mut spec.order_by {
            self.expr(&mut o.expr, Hint::Text, scope)?;
        }
        Ok(())
    }

    fn predicate(&mut self, e: &mut Expr, scope: &mut Scope) -> Res<()> {
        self.expr(e, Hint::Text, scope)
    }

    /// A group join alias for type index `index`, registering the join.
    fn group_alias(&mut self, index: i64, scope: &mut Scope) -> Res<String> {
        if scope.first(Src::Events).is_none() {
            return Err(HogError::new(format!(
                "group_{index} can only be read from events."
            )));
        }
        self.group_tables.insert(index);
        Ok(scope
            .joins
            .entry(index)
            .or_insert_with(|| format!("__g{index}"))
            .clone())
    }

    /// Resolves a dotted name: `[qual.]column`, `[qual.]properties.a.b`, `[qual.]group_N.…`,
    /// `<type name>.…`.
    fn compound(&mut self, parts: Vec<String>, hint: Hint, scope: &mut Scope) -> Res<Expr> {
        let (qual, rest): (Option<(String, Src)>, &[String]) = match scope.find(&parts[0]) {
            Some(src) if parts.len() > 1 => (Some((parts[0].clone(), src)), &parts[1..]),
            _ => (None, &parts[..]),
        };
        let events_qual = match &qual {
            Some((q, Src::Events)) => Some(q.clone()),
            Some(_) => None,
            None => scope.first(Src::Events),
        };
        // group_N.… or <type>.…, on events.
        if rest.len() >= 2
            && events_qual.is_some()
            && !matches!(qual, Some((_, Src::Groups | Src::Other)))
        {
            let index = group_index_of(&rest[0], self.cat);
            if let Some(index) = index {
                let alias = self.group_alias(index, scope)?;
                return self.column_path(&alias, &rest[1..], hint, &parts);
            }
        }
        match (&qual, rest) {
            (Some((q, Src::Events | Src::Groups)), r) => self.column_path(q, r, hint, &parts),
            (Some((q, Src::Other)), r) => Ok(Expr::CompoundIdentifier(
                std::iter::once(q.as_str())
                    .chain(r.iter().map(String::as_str))
                    .map(ident)
                    .collect(),
            )),
            (None, r) if r[0] == "properties" => match scope.default_props() {
                Some(q) => self.column_path(&q, r, hint, &parts),
                None => Err(HogError::new(format!(
                    "Unknown field '{}'.",
                    parts.join(".")
                ))),
            },
            (None, r)
                if matches!(
                    r[0].as_str(),
                    "person" | "persons" | "pdi" | "session" | "override"
                ) =>
            {
                Err(HogError::unsupported(&format!(
                    "'{}' (groupd has no persons or sessions)",
                    parts.join(".")
                )))
            }
            (None, _) => Ok(Expr::CompoundIdentifier(
                parts.iter().map(|p| ident(p)).collect(),
            )),
        }
    }

    /// `column` or `properties.path…` of the table `qual`.
    fn column_path(
        &mut self,
        qual: &str,
        rest: &[String],
        hint: Hint,
        whole: &[String],
    ) -> Res<Expr> {
        match rest {
            [c] => Ok(col(qual, c)),
            [p, path @ ..] if p == "properties" => Ok(property(
                col(qual, "properties"),
                path.iter().map(|k| string(k)).collect(),
                hint,
            )),
            _ => Err(HogError::new(format!(
                "Unknown field '{}'.",
                whole.join(".")
            ))),
        }
    }

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

fn is_raw_read(e: &Expr) -> bool {
    matches!(e, Expr::Function(f) if single_name(&f.name).as_deref() == Some("hog_prop_raw"))
}

fn alias_name(e: &Expr) -> String {
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

fn group_index_of(name: &str, cat: &Catalog) -> Option<i64> {
    if let Some(n) = name.strip_prefix("group_")
        && let Ok(i) = n.parse::<i64>()
        && (0..crate::schema::GROUP_COLUMNS as i64).contains(&i)
    {
        return Some(i);
    }
    cat.types.iter().find(|t| t.1 == name).map(|t| t.0)
}

/// The hint a literal gives the other side of a comparison.
fn literal_hint(e: &Expr) -> Option<Hint> {
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
        Expr::BinaryOp { op, .. }
            if matches!(
                op,
                BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
            ) =>
        {
            Some(Hint::Number)
        }
        Expr::Function(f) => {
            let n = single_name(&f.name).unwrap_or_default();
            functions::numeric_result(&n).then_some(Hint::Number)
        }
        _ => None,
    }
}

fn pair_hint(a: &Expr, b: &Expr) -> Hint {
    literal_hint(b)
        .or_else(|| literal_hint(a))
        .unwrap_or(Hint::Text)
}

/// Whether `e` can never be NULL (so a comparison needs no two-valued wrapper, and a plain
/// comparison stays prunable).
fn non_null(e: &Expr) -> bool {
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
        Expr::BinaryOp { left, op, right }
            if matches!(op, BinaryOperator::Plus | BinaryOperator::Minus) =>
        {
            non_null(left) && non_null(right)
        }
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

fn is_interval(e: &Expr) -> bool {
    matches!(e, Expr::Interval(_))
}

/// `INTERVAL 30 DAY` → `INTERVAL '30 day'`, which DataFusion reads for every unit.
fn interval(i: datafusion::sql::sqlparser::ast::Interval) -> Res<Expr> {
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

fn t_has(t: &TableWithJoins, qual: &str) -> bool {
    let is = |tf: &TableFactor| match tf {
        TableFactor::Table { name, alias, .. } => {
            alias
                .as_ref()
                .map_or(single_name(name).unwrap_or_default(), |a| {
                    a.name.value.clone()
                })
                == qual
        }
        _ => false,
    };
    is(&t.relation) || t.joins.iter().any(|j| is(&j.relation))
}

fn parse_select(sql: &str) -> Res<Query> {
    use datafusion::sql::sqlparser::{dialect::GenericDialect, parser::Parser};
    let mut st =
        Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| HogError::new(e.to_string()))?;
    match st.pop() {
        Some(datafusion::sql::sqlparser::ast::Statement::Query(q)) => Ok(*q),
        _ => Err(HogError::new("internal template")),
    }
}

fn derived(sql: &str) -> Res<TableFactor> {
    let q = parse_select(sql)?;
    match *q.body {
        SetExpr::Select(mut s) => Ok(s.from.remove(0).relation),
        _ => Err(HogError::new("internal template")),
    }
}

/// `LEFT JOIN __groups_N AS alias ON alias.key = events."$group_N"`.
fn group_join(index: i64, alias: &str, events: &str) -> Res<Join> {
    let q = parse_select(&format!(
        "SELECT 1 FROM x LEFT JOIN __groups_{index} AS {alias} ON {alias}.key = x.\"$group_{index}\""
    ))?;
    let SetExpr::Select(mut s) = *q.body else {
        return Err(HogError::new("internal template"));
    };
    let mut j = s.from.remove(0).joins.remove(0);
    if let JoinOperator::Left(JoinConstraint::On(e))
    | JoinOperator::LeftOuter(JoinConstraint::On(e)) = &mut j.join_operator
    {
        *e = binary(
            col(alias, "key"),
            BinaryOperator::Eq,
            col(events, &format!("$group_{index}")),
        );
    }
    Ok(j)
}
