//! HogQL's syntax tree → a DataFusion-ready syntax tree with HogQL's meaning: names resolved
//! against groupd's tables (project scoping lives in the tables themselves), property reads typed
//! by their context, `group_N`/type-name joins added, comparisons made two-valued, ClickHouse
//! functions mapped (`functions.rs`). Anything outside the language is refused with a message
//! naming it.
use std::collections::{BTreeMap, HashMap, HashSet};

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, Join, JoinConstraint, JoinOperator, LimitClause,
    OrderByKind, Query, Select, SelectItem, SetExpr, TableAlias, TableFactor, TableWithJoins,
};

use super::ast::*;
use super::expr::{alias_name, group_index_of, is_bare_property, is_raw_read, property};
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
pub(super) enum Src {
    Events,
    Groups,
    Other,
}

/// The tables one SELECT reads, and the group joins its expressions asked for.
#[derive(Debug, Default)]
pub struct Scope {
    pub(super) tables: Vec<(String, Src)>,
    /// group type index → the joined groups table.
    pub(super) joins: BTreeMap<i64, GroupJoin>,
    /// Select aliases and their (rewritten) expressions, for names used before their definition.
    pub(super) aliases: HashMap<String, Expr>,
    pub(super) inline_aliases: bool,
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
    pub(super) fn default_props(&self) -> Option<String> {
        self.tables
            .iter()
            .find(|t| t.1 != Src::Other)
            .map(|t| t.0.clone())
    }
}

/// One implicit `group_N` join: its alias, and the property reads computed inside the joined
/// table (once per group) rather than above the join (once per event, each parsing the group's
/// whole JSON).
#[derive(Debug)]
pub struct GroupJoin {
    pub(super) alias: String,
    /// (column name, the read over the groups table's `properties`), in order of first use.
    pub(super) reads: Vec<(String, Expr)>,
}

impl GroupJoin {
    /// The column carrying `read`, added on first use; Raw reads are named `__raw…` so ORDER BY
    /// still sorts them as raw values (see `is_raw_read`).
    fn column(&mut self, read: Expr, hint: Hint) -> Expr {
        let name = match self.reads.iter().find(|r| r.1 == read) {
            Some(r) => r.0.clone(),
            None => {
                let prefix = if hint == Hint::Raw { "__raw" } else { "__p" };
                let name = format!("{prefix}{}", self.reads.len());
                self.reads.push((name.clone(), read));
                name
            }
        };
        col(&self.alias, &name)
    }
}

/// Fixed column names of the two tables (never taken as select aliases).
pub(super) const COLUMNS: &[&str] = &[
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
            let mut scope = scope.unwrap_or_default();
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
            } => self.walk_from(table_with_joins, scope)?,
            _ => return Err(HogError::unsupported("this kind of FROM item")),
        }
        Ok(())
    }

    fn walk_from(&mut self, t: &mut TableWithJoins, scope: &mut Scope) -> Res<()> {
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
            self.walk_from(t, &mut scope)?;
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
                for (index, join) in &scope.joins {
                    t.joins.push(group_join(*index, join, &events)?);
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
            .or_insert_with(|| GroupJoin {
                alias: format!("__g{index}"),
                reads: vec![],
            })
            .alias
            .clone())
    }

    /// Resolves a dotted name: `[qual.]column`, `[qual.]properties.a.b`, `[qual.]group_N.…`,
    /// `<type name>.…`.
    pub(super) fn compound(
        &mut self,
        parts: Vec<String>,
        hint: Hint,
        scope: &mut Scope,
    ) -> Res<Expr> {
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
                if let [p, path @ ..] = &rest[1..]
                    && p == "properties"
                    && !path.is_empty()
                {
                    let read = property(
                        Expr::Identifier(ident("properties")),
                        path.iter().map(|k| string(k)).collect(),
                        hint,
                    );
                    let join = scope.joins.get_mut(&index).expect("registered above");
                    return Ok(join.column(read, hint));
                }
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

/// `LEFT JOIN (SELECT *, <reads> FROM __groups_N) AS alias ON alias.key = events."$group_N"`.
fn group_join(index: i64, join: &GroupJoin, events: &str) -> Res<Join> {
    let alias = &join.alias;
    let reads: String = join
        .reads
        .iter()
        .map(|(name, read)| format!(", {read} AS \"{name}\""))
        .collect();
    let q = parse_select(&format!(
        "SELECT 1 FROM x LEFT JOIN (SELECT *{reads} FROM __groups_{index}) AS {alias} \
         ON {alias}.key = x.\"$group_{index}\""
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
