//! Running translated HogQL on PostgreSQL: a `READ ONLY` transaction with a transaction-local
//! `statement_timeout`, so the server itself cancels the work at the deadline (SQLSTATE 57014,
//! answered as `QueryTimeout`). Cells are decoded from the binary protocol into the neutral
//! [`SqlValue`]s: integers, floats, text; times as microseconds since the epoch.
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use groupd_hogql::{Param, SqlValue, Translated};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::{
    PgStore,
    error::query_error,
    values::{PG_EPOCH_US, nul_safe},
};
use crate::{QueryStore, StoreResult};

const US_PER_DAY: i64 = 86_400_000_000;

/// A NULL parameter of whatever type the server inferred for its placeholder.
#[derive(Debug)]
struct AnyNull;

impl ToSql for AnyNull {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// A cell's raw binary value, decoded by column type afterwards.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

async fn run(
    c: &mut deadpool_postgres::Client,
    q: &Translated,
    timeout: Duration,
) -> StoreResult<Vec<Vec<SqlValue>>> {
    let tx = c.build_transaction().read_only(true).start().await?;
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128).to_string();
    tx.execute("SELECT set_config('statement_timeout', $1, true)", &[&ms])
        .await?;
    let params: Vec<Box<dyn ToSql + Sync + Send>> = q
        .params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Null => Box::new(AnyNull),
                Param::Int(i) => Box::new(*i),
                Param::Float(f) => Box::new(*f),
                Param::Text(s) => Box::new(nul_safe(s).into_owned()),
            }
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = tx.query(q.sql.as_str(), &refs).await.map_err(query_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut cells = Vec::with_capacity(row.len());
        for (i, col) in row.columns().iter().enumerate() {
            let raw: Option<Raw> = row.try_get(i).map_err(query_error)?;
            cells.push(raw.map_or(SqlValue::Null, |r| decode(col.type_(), r.0)));
        }
        out.push(cells);
    }
    // Read only: nothing to keep.
    tx.rollback().await?;
    Ok(out)
}

#[async_trait]
impl QueryStore for PgStore {
    fn dialect(&self) -> groupd_hogql::Dialect {
        groupd_hogql::Dialect::Postgres
    }

    async fn run_query(
        &self,
        query: Translated,
        timeout: Duration,
    ) -> StoreResult<Vec<Vec<SqlValue>>> {
        let mut c = self.client().await?;
        run(&mut c, &query, timeout).await
    }
}

fn be_i64(b: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(b.try_into().ok()?))
}

fn decode(ty: &Type, b: &[u8]) -> SqlValue {
    let text = || SqlValue::Text(String::from_utf8_lossy(b).into_owned());
    match *ty {
        Type::BOOL => SqlValue::Int(i64::from(b.first().copied().unwrap_or(0) != 0)),
        Type::INT2 => b.try_into().map_or(SqlValue::Null, |a| {
            SqlValue::Int(i64::from(i16::from_be_bytes(a)))
        }),
        Type::INT4 | Type::OID => b.try_into().map_or(SqlValue::Null, |a| {
            SqlValue::Int(i64::from(i32::from_be_bytes(a)))
        }),
        Type::INT8 => be_i64(b).map_or(SqlValue::Null, SqlValue::Int),
        Type::FLOAT4 => b.try_into().map_or(SqlValue::Null, |a| {
            SqlValue::Float(f64::from(f32::from_be_bytes(a)))
        }),
        Type::FLOAT8 => b
            .try_into()
            .map_or(SqlValue::Null, |a| SqlValue::Float(f64::from_be_bytes(a))),
        Type::NUMERIC => numeric(b).unwrap_or(SqlValue::Null),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => be_i64(b).map_or(SqlValue::Null, |us| {
            SqlValue::Int(us.saturating_add(PG_EPOCH_US))
        }),
        Type::DATE => b.try_into().map_or(SqlValue::Null, |a| {
            SqlValue::Int(i64::from(i32::from_be_bytes(a)) * US_PER_DAY + PG_EPOCH_US)
        }),
        Type::UUID => {
            uuid::Uuid::from_slice(b).map_or(SqlValue::Null, |u| SqlValue::Text(u.to_string()))
        }
        Type::BYTEA => SqlValue::Blob(b.to_vec()),
        // Binary jsonb is a version byte, then the text.
        Type::JSONB => {
            SqlValue::Text(String::from_utf8_lossy(b.get(1..).unwrap_or_default()).into_owned())
        }
        _ => text(),
    }
}

/// A binary NUMERIC: an integer when it has no fraction and fits, else a float.
fn numeric(b: &[u8]) -> Option<SqlValue> {
    let word =
        |i: usize| -> Option<u16> { Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?)) };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = word(6)?;
    match sign {
        0xC000 => return Some(SqlValue::Float(f64::NAN)),
        0xD000 => return Some(SqlValue::Float(f64::INFINITY)),
        0xF000 => return Some(SqlValue::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    let neg = sign == 0x4000;
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Option<_>>()?;
    let mut f = 0f64;
    for (i, d) in digits.iter().enumerate() {
        f += f64::from(*d) * 10000f64.powi(weight - i as i32);
    }
    let f = if neg { -f } else { f };
    let integral = dscale == 0 && (ndigits as i32) <= weight + 1;
    if integral && weight < 5 {
        let mut n: i128 = 0;
        for (i, d) in digits.iter().enumerate() {
            n += i128::from(*d) * 10000i128.pow((weight - i as i32) as u32);
        }
        let n = if neg { -n } else { n };
        if let Ok(v) = i64::try_from(n) {
            return Some(SqlValue::Int(v));
        }
    }
    Some(SqlValue::Float(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(digits.len() as u16).to_be_bytes());
        b.extend_from_slice(&weight.to_be_bytes());
        b.extend_from_slice(&sign.to_be_bytes());
        b.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    #[test]
    fn numerics_decode() {
        assert_eq!(
            numeric(&num(1, 0, 0, &[12, 3456])),
            Some(SqlValue::Int(123_456))
        );
        assert_eq!(numeric(&num(0, 0x4000, 0, &[7])), Some(SqlValue::Int(-7)));
        assert_eq!(
            numeric(&num(0, 0, 1, &[1, 5000])),
            Some(SqlValue::Float(1.5))
        );
        assert_eq!(numeric(&num(0, 0, 0, &[])), Some(SqlValue::Int(0)));
        assert_eq!(
            numeric(&num(2, 0, 0, &[1])),
            Some(SqlValue::Int(100_000_000))
        );
    }
}
