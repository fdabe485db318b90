use sqlparser::dialect::ClickHouseDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Word};
use sqlparser::keywords::Keyword;
#[test]
fn probe() {
    let d = ClickHouseDialect {};
    for q in ["SELECT key, properties.name FROM groups WHERE index == 0 AND x != 1 ORDER BY key LIMIT 10",
              "SELECT properties.$groups.company, $group_0, group_0.properties.name FROM events e",
              "SELECT count() FROM events WHERE timestamp > now() - INTERVAL 7 DAY",
              "SELECT 'a\\'b', 'c''d', 1.5, 10, true, null, countIf(x > 1), count(DISTINCT x) FROM events LIMIT 5 OFFSET 3",
              "SELECT a FROM events WHERE b NOT ILIKE 'x' AND c IN (SELECT 1) AND d NOT IN (1,2) AND e BETWEEN 1 AND 2 AND f IS NOT NULL",
              "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
              "SELECT a FROM events e LEFT JOIN groups g ON g.key = e.$group_0",
              "SELECT 1 FROM events WHERE 1 ==",
              "SELECT a.b.c.d FROM x", "SELECT properties.`$x` FROM x", "SELECT x FROM x LIMIT 1, 2"] {
        let mut toks = Tokenizer::new(&d, q).tokenize_with_location().unwrap();
        for t in toks.iter_mut() {
            if let Token::Placeholder(s) = &t.token {
                t.token = Token::Word(Word { value: s.clone(), quote_style: None, keyword: Keyword::NoKeyword });
            }
        }
        let r = Parser::new(&d).with_tokens_with_locations(toks).parse_statements();
        println!("{q}\n  => {:?}\n", r.map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
    }
    let r = Parser::new(&d).try_with_sql("SELECT * FROM events WHERE 1 = 1 AND (x").and_then(|mut p| p.parse_statements());
    println!("{:?}", r);
}
