//! Records of NDJSON export and import (`lifecycle.md`, "Export and import"): what the store is
//! asked to stream out and to merge in. Parsing and rendering the lines is the server's job.
use groupd_core::{
    GroupTypeIndex, ProjectId,
    capture::GroupIdentify,
    groups::{Assignment, TypeAssigner},
};
use tokio::sync::mpsc;

use crate::{Group, StoreResult};

/// Groups per page of an export: the memory an export holds is about two such pages.
pub const EXPORT_PAGE: usize = 1000;

/// Which groups to export.
#[derive(Debug, Clone)]
pub struct ExportQuery {
    /// The project.
    pub project: ProjectId,
    /// The group type.
    pub index: GroupTypeIndex,
    /// Export the groups as they were at this event time (µs), as list's `as_of` reads them.
    pub as_of_us: Option<i64>,
}

/// An export's pages, in group key order, from one consistent snapshot; an `Err` ends it.
pub type ExportPages = mpsc::Receiver<StoreResult<Vec<Group>>>;

/// One valid import line.
#[derive(Debug, Clone)]
pub struct ImportLine {
    /// Its number in the file, from 1.
    pub line: u64,
    /// The change, as a `$groupidentify` of the named type would make it.
    pub identify: GroupIdentify,
    /// The time it merges at (`timestamp`, or now).
    pub event_us: i64,
    /// An export line's `created_at`: the group's when the line creates it.
    pub created_at_us: Option<i64>,
}

/// One import request.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    /// The project.
    pub project: ProjectId,
    /// The valid lines, in file order.
    pub lines: Vec<ImportLine>,
    /// The project's type limit.
    pub max_group_types: u32,
    /// Server time.
    pub now_us: i64,
    /// `false`: only check the types (dry run, or an atomic import already failed).
    pub write: bool,
    /// Write nothing when a line fails.
    pub atomic: bool,
}

/// A line that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFailure {
    /// Its number in the file, from 1.
    pub line: u64,
    /// Its `group_key` as given (`""` when none could be read).
    pub group_key: String,
    /// The field at fault (`None`: the line as a whole).
    pub attr: Option<String>,
    /// Why, in a sentence.
    pub detail: String,
}

/// What the store did with an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOutcome {
    /// Lines merged (or that would be, when nothing was written).
    pub imported: u64,
    /// Lines refused by the store (a new type past the limit), in line order.
    pub failed: Vec<LineFailure>,
}

/// The key an export goes on after, when `page` was full (a shorter page is the last).
pub(crate) fn next_after(page: &[Group]) -> Option<String> {
    (page.len() == EXPORT_PAGE)
        .then(|| page.last().map(|g| g.key.as_str().to_owned()))
        .flatten()
}

/// The detail of a line whose new type does not fit the project.
pub fn type_limit_detail(max: u32) -> String {
    format!("This project already has the maximum of {max} group types.")
}

/// Each line's type index by `types` (`None`: its new type does not fit), and the failures that
/// makes; both backends assign an import's types this way, as capture does.
pub(crate) fn assign_line_types(
    types: &mut TypeAssigner,
    b: &ImportBatch,
) -> (Vec<Option<GroupTypeIndex>>, Vec<LineFailure>) {
    let mut failed = Vec::new();
    let indexes = b
        .lines
        .iter()
        .map(|l| match types.assign(&l.identify.group_type) {
            Assignment::Full => {
                failed.push(LineFailure {
                    line: l.line,
                    group_key: l.identify.group_key.clone(),
                    attr: Some("group_type".into()),
                    detail: type_limit_detail(b.max_group_types),
                });
                None
            }
            a => a.index(),
        })
        .collect();
    (indexes, failed)
}
