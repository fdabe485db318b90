//! groupd's domain: the types, validation and change rules every other crate shares. The group
//! rule lives here once ([`groups`]): both storage backends load a group, call it, and store
//! what it returns.
//!
//! Nothing in this crate performs I/O. Times are `i64` microseconds since the Unix epoch (UTC)
//! throughout; [`time_fmt`] renders them the way the wire contract wants.
#![warn(missing_docs)]

pub mod capture;
pub mod clock;
pub mod cursor;
pub mod domain;
pub mod filters;
pub mod groups;
pub mod merge;
pub mod time_fmt;

pub use clock::{Clock, FixedClock, SystemClock};
pub use domain::*;
