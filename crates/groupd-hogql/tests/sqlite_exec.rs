//! Runs the shared execution suite on an in-memory SQLite with groupd's schema.

mod common;

use common::{Sqlite, db};

macro_rules! sqlite_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                common::$name(&mut Sqlite(db()));
            }
        )*
    };
}

sqlite_tests!(
    spec_example_runs_and_echoes_normalised_hogql,
    other_projects_rows_never_appear,
    group_level_counts_via_implicit_join,
    property_values_keep_their_json_type,
    numeric_property_comparisons_compare_numbers,
    time_windows_and_date_functions,
    aggregates_having_and_positions,
    operators_and_scalar_functions,
    joins_and_subqueries,
    limit_offset_and_has_more,
);

#[test]
fn the_suite_list_is_complete() {
    assert_eq!(common::ALL.len(), 10);
}

#[test]
fn every_accepted_query_runs() {
    let mut r = Sqlite(db());
    for q in common::ACCEPTED {
        common::Runner::run(&mut r, q);
    }
}
