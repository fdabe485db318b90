//! DRF's limit/offset pagination: `limit` and `offset` query parameters, absolute `next` and
//! `previous` URLs that keep the request's other parameters.
use groupd_core::parse_int;
use serde_json::Value;

use super::{
    error::{ApiError, ApiResult},
    request::RequestInfo,
};

/// One page's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Rows per page.
    pub limit: u64,
    /// Rows skipped.
    pub offset: u64,
}

impl Paging {
    /// Reads `limit` (1–`max`, default `default`) and `offset` (≥ 0, default 0).
    pub fn parse(req: &RequestInfo, default: u64, max: u64) -> ApiResult<Self> {
        let int = |name: &str, min: i64, max: i64, default: u64| -> ApiResult<u64> {
            let Some(raw) = req.non_empty_param(name) else {
                return Ok(default);
            };
            let n = parse_int(raw).ok_or_else(|| ApiError::not_an_integer(name))?;
            if n < min {
                return Err(ApiError::invalid(
                    name,
                    format!("Ensure this value is greater than or equal to {min}."),
                ));
            }
            if n > max {
                return Err(ApiError::invalid(
                    name,
                    format!("Ensure this value is less than or equal to {max}."),
                ));
            }
            Ok(n as u64)
        };
        Ok(Self {
            limit: int("limit", 1, max as i64, default)?,
            offset: int("offset", 0, i64::MAX, 0)?,
        })
    }

    /// `next` and `previous` for a result of `total` rows: URLs of this request with `limit`
    /// and `offset` replaced, or `null` (DRF drops `offset` from a `previous` at the start).
    pub fn links(&self, req: &RequestInfo, total: u64) -> (Value, Value) {
        let url = |offset: Option<u64>| {
            let mut params: Vec<(&str, String)> = req
                .query
                .iter()
                .filter(|(k, _)| k != "limit" && k != "offset")
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            params.push(("limit", self.limit.to_string()));
            if let Some(o) = offset {
                params.push(("offset", o.to_string()));
            }
            Value::String(req.url_with(&params))
        };
        let end = self.offset.saturating_add(self.limit);
        let next = if end < total {
            url(Some(end))
        } else {
            Value::Null
        };
        let previous = match self.offset {
            0 => Value::Null,
            o if o <= self.limit => url(None),
            o => url(Some(o - self.limit)),
        };
        (next, previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_other_parameters() {
        let req = RequestInfo::for_test("/p?type=group&limit=2&offset=2");
        let p = Paging::parse(&req, 100, 1000).unwrap();
        assert_eq!(
            p,
            Paging {
                limit: 2,
                offset: 2
            }
        );
        let (next, prev) = p.links(&req, 5);
        assert!(
            next.as_str()
                .unwrap()
                .ends_with("/p?type=group&limit=2&offset=4"),
            "{next}"
        );
        assert!(
            prev.as_str().unwrap().ends_with("/p?type=group&limit=2"),
            "{prev}"
        );
        assert_eq!(p.links(&req, 4).0, Value::Null);
    }

    #[test]
    fn bounds_are_checked() {
        for (q, detail) in [
            (
                "/p?limit=0",
                "Ensure this value is greater than or equal to 1.",
            ),
            (
                "/p?limit=1001",
                "Ensure this value is less than or equal to 1000.",
            ),
            (
                "/p?offset=-1",
                "Ensure this value is greater than or equal to 0.",
            ),
            ("/p?limit=x", "A valid integer is required."),
        ] {
            let e = Paging::parse(&RequestInfo::for_test(q), 100, 1000).unwrap_err();
            assert_eq!(e.describe().2, detail, "{q}");
        }
    }
}
