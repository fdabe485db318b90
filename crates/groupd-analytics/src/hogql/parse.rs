//! Text → sqlparser AST, with the ClickHouse dialect and hard bounds on size and depth.

use datafusion::sql::sqlparser::ast::{Query, Statement};
use datafusion::sql::sqlparser::dialect::ClickHouseDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Word};

use super::HogError as QueryError;
type Result<T> = std::result::Result<T, QueryError>;

/// Longest query text accepted; keeps parse time and memory bounded.
const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Most tokens accepted; bounds the depth of left-deep operator chains (`1+1+1…`), which the
/// parser builds without counting recursion.
const MAX_TOKENS: usize = 8_000;
/// sqlparser's own recursion guard; deeper nesting is a 400, never a stack overflow.
const RECURSION_LIMIT: usize = 40;

pub(crate) fn parse(text: &str) -> Result<Box<Query>> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(QueryError::new(format!(
            "Query is too long ({} bytes; the limit is {MAX_QUERY_BYTES}).",
            text.len()
        )));
    }
    let dialect = ClickHouseDialect {};
    let mut tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| syntax_error(&e.message, Some((e.location.line, e.location.column)), text))?;
    // `a ?? b` (HogQL's ifNull) arrives as two `?` placeholders; it travels as `<=>`, which
    // HogQL does not have (refused when written).
    if tokens.iter().any(|t| t.token == Token::Spaceship) {
        return Err(QueryError::new("Unsupported: operator '<=>'."));
    }
    let mut i = 0;
    while i + 1 < tokens.len() {
        if tokens[i].token == Token::Placeholder("?".into())
            && tokens[i + 1].token == Token::Placeholder("?".into())
        {
            tokens[i].token = Token::Spaceship;
            tokens.remove(i + 1);
        }
        i += 1;
    }
    let mut count = 0usize;
    for t in tokens.iter_mut() {
        match &t.token {
            Token::Whitespace(_) => continue,
            // HogQL identifiers may start with `$` (`$group_0`, `properties.$browser`); the
            // tokenizer reads those as placeholders, so turn them back into plain words.
            Token::Placeholder(s)
                if s.len() > 1 && !s[1..].starts_with(|c: char| c.is_ascii_digit()) =>
            {
                t.token = Token::Word(Word {
                    value: s.clone(),
                    quote_style: None,
                    keyword: Keyword::NoKeyword,
                });
            }
            _ => {}
        }
        count += 1;
        if count > MAX_TOKENS {
            return Err(QueryError::new(format!(
                "Query is too complex (more than {MAX_TOKENS} tokens)."
            )));
        }
    }
    let end = end_position(text);
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens);
    let statements = parser
        .parse_statements()
        .map_err(|e| parser_error(e, text, end))?;
    let mut it = statements.into_iter();
    let first = it.next();
    if it.next().is_some() {
        return Err(QueryError::new("Only one statement is allowed."));
    }
    match first {
        Some(Statement::Query(q)) => Ok(q),
        Some(_) => Err(QueryError::new("Only SELECT queries are supported.")),
        None => Err(QueryError::new("The query is empty.")),
    }
}

fn end_position(text: &str) -> (u64, u64) {
    let line = text.matches('\n').count() as u64 + 1;
    let last = text.rsplit('\n').next().unwrap_or("");
    (line, last.chars().count() as u64 + 1)
}

fn parser_error(e: ParserError, text: &str, end: (u64, u64)) -> QueryError {
    match e {
        ParserError::RecursionLimitExceeded => QueryError::new("Query is nested too deeply."),
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => {
            // sqlparser appends " at Line: L, Column: C" when it knows the token position;
            // at end of input it does not, so point at the end.
            if let Some(idx) = m.rfind(" at Line: ") {
                let (msg, pos) = m.split_at(idx);
                let mut nums = pos
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| s.parse::<u64>().ok());
                if let (Some(l), Some(c)) = (nums.next(), nums.next()) {
                    return syntax_error(msg, Some((l, c)), text);
                }
            }
            syntax_error(&m, Some(end), text)
        }
    }
}

fn syntax_error(msg: &str, pos: Option<(u64, u64)>, _text: &str) -> QueryError {
    let msg = msg.trim();
    match pos {
        Some((l, c)) if l > 0 => {
            QueryError::new(format!("Syntax error at line {l}, column {c}: {msg}"))
        }
        _ => QueryError::new(format!("Syntax error: {msg}")),
    }
}
