//! The backend conformance suite: every check runs against any `Arc<dyn Store>`, so each backend
//! is held to the same results, errors, ordering and activity. One file per area, one small check
//! per behaviour, each named for it; [`conformance_tests!`] turns every check into a
//! `#[tokio::test]` for one backend factory, and `backends.rs` instantiates it for SQLite (a
//! temporary file) and PostgreSQL (a fresh database).
#![allow(missing_docs, clippy::missing_panics_doc)]

use std::{collections::BTreeMap, sync::Arc};

use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, ProjectId,
    capture::{CaptureEvent, GroupIdentify},
    merge::PropOp,
};
use serde_json::{Map, Value};

use crate::{
    Change, Group, GroupListQuery, GroupRef, NewGroup, NewGroupType, NewProject, PropertyEdit,
    Store, StoreResult, ValuesQuery,
};

mod backends;
pub mod concurrency;
pub mod counts;
pub mod group_types;
pub mod groups;
pub mod ingest;
pub mod lifecycle;
pub mod listing;
pub mod projects;
pub mod queries;
pub mod segments;
pub mod sessions;
pub mod usage;

pub use backends::{pg, sqlite};

/// 2026-05-01T00:00:00Z in µs.
pub const T0: i64 = 1_777_593_600_000_000;
pub const SEC: i64 = 1_000_000;

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

pub fn key(s: &str) -> GroupKey {
    GroupKey::parse(s).expect("valid key")
}

pub fn at(project: ProjectId, index: GroupTypeIndex, k: &str) -> GroupRef {
    GroupRef {
        project,
        index,
        key: key(k),
    }
}

/// A change by the system (capture, or no key) at `at_us`.
pub fn system(at_us: i64) -> Change {
    Change::api(Actor::System, at_us)
}

/// A change by the key labelled `label`.
pub fn by(label: &str, at_us: i64) -> Change {
    Change::api(Actor::Key(label.into()), at_us)
}

pub async fn project(s: &Arc<dyn Store>) -> ProjectId {
    s.create_project(
        NewProject {
            name: "p".into(),
            api_token: None,
        },
        T0,
    )
    .await
    .unwrap()
    .id
}

pub async fn new_type(s: &Arc<dyn Store>, p: ProjectId, name: &str) -> GroupTypeIndex {
    let t = s
        .create_group_type(
            NewGroupType {
                project: p,
                max_group_types: 5,
                group_type: name.into(),
                name_singular: None,
                name_plural: None,
            },
            T0,
        )
        .await
        .unwrap();
    t.index
}

/// Creates a group by the system at `t`.
pub async fn create(
    s: &Arc<dyn Store>,
    p: ProjectId,
    i: GroupTypeIndex,
    k: &str,
    props: Value,
    t: i64,
) -> StoreResult<Group> {
    s.create_group(
        NewGroup {
            group: at(p, i, k),
            properties: obj(props),
        },
        system(t),
    )
    .await
}

/// One property operation by the system at `t`.
pub async fn update(
    s: &Arc<dyn Store>,
    group: GroupRef,
    property: &str,
    op: PropOp,
    t: i64,
) -> StoreResult<Group> {
    s.update_group_property(
        PropertyEdit {
            group,
            property: property.into(),
            op,
        },
        system(t),
    )
    .await
}

/// The group, which must exist.
pub async fn found(s: &Arc<dyn Store>, p: ProjectId, i: GroupTypeIndex, k: &str) -> Group {
    s.find_group(&at(p, i, k))
        .await
        .unwrap()
        .expect("the group exists")
}

/// A capture event as the capture stage hands it over.
pub fn event(
    name: &str,
    uuid: uuid::Uuid,
    ts: Option<i64>,
    groups: &[(&str, &str)],
) -> CaptureEvent {
    let t = ts.unwrap_or(T0 + 3600 * SEC);
    CaptureEvent {
        index: 0,
        uuid,
        client_timestamp: ts.map(|t| {
            let secs = t / SEC;
            let days = secs / 86_400;
            // Only T0's day and the next are used here.
            let rem = secs % 86_400;
            format!(
                "2026-05-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                1 + days - T0 / SEC / 86_400,
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                t % SEC
            )
        }),
        event: name.into(),
        distinct_id: "d1".into(),
        timestamp_us: t,
        received_at_us: T0 + 86_400 * SEC,
        properties_json: r#"{"$lib":"test","nul":"a\u0000b"}"#.into(),
        groups: groups
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect(),
        process_person_profile: true,
        group_identify: None,
    }
}

/// A `$groupidentify` at event time `t`.
pub fn identify(
    group_type: &str,
    group_key: &str,
    t: i64,
    set: Value,
    set_once: Value,
    unset: &[&str],
) -> CaptureEvent {
    let mut ev = event("$groupidentify", uuid::Uuid::new_v4(), Some(t), &[]);
    ev.group_identify = Some(Ok(GroupIdentify {
        group_type: group_type.into(),
        group_key: group_key.into(),
        set: obj(set),
        set_once: obj(set_once),
        unset: unset.iter().map(|s| (*s).into()).collect(),
    }));
    ev
}

/// Checks `property_definitions` and `property_values` (unfiltered, top 20) against counts made
/// from every group of every type of the project, as they are now.
pub async fn assert_counts_match_groups(s: &Arc<dyn Store>, p: ProjectId) {
    let mut names: BTreeMap<(GroupTypeIndex, String), i64> = BTreeMap::new();
    let mut values: BTreeMap<(GroupTypeIndex, String), BTreeMap<String, i64>> = BTreeMap::new();
    for t in s.list_group_types(p).await.unwrap() {
        for g in s
            .list_groups(p, GroupListQuery::new(t.index, 100_000))
            .await
            .unwrap()
        {
            for (k, v) in g.properties() {
                *names.entry((t.index, k.clone())).or_default() += 1;
                *values
                    .entry((t.index, k))
                    .or_default()
                    .entry(groupd_core::groups::value_text(&v))
                    .or_default() += 1;
            }
        }
    }
    let mut want: Vec<(GroupTypeIndex, String, i64)> =
        names.into_iter().map(|((i, k), n)| (i, k, n)).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(&b.1)));
    let got: Vec<_> = s
        .property_definitions(p)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.index, d.name, d.count))
        .collect();
    assert_eq!(got, want, "property_definitions");
    for ((i, k), vals) in values {
        let mut want: Vec<(String, i64)> = vals.into_iter().collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        want.truncate(20);
        let got: Vec<_> = s
            .property_values(
                p,
                ValuesQuery {
                    index: i,
                    property: k.to_owned(),
                    value_contains: None,
                },
            )
            .await
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.count))
            .collect();
        assert_eq!(got, want, "property_values of {k} (type {i})");
    }
}

/// Turns every check into a `#[tokio::test]` for a backend, one module per area. `$open` is an
/// async fn returning `Option<H>` (None = skip) where `H: AsRef<Arc<dyn Store>>` cleans up when
/// dropped.
#[macro_export]
macro_rules! conformance_tests {
    ($open:path) => {
        $crate::conformance_tests!(@areas $open;
            projects {
                projects_are_listed_in_creation_order,
                a_project_token_in_use_is_a_conflict,
                get_project_finds_only_existing_projects,
                project_by_token_finds_the_tokens_project,
                renaming_keeps_everything_but_the_name,
                an_api_key_for_a_missing_project_is_refused,
                an_api_key_is_found_by_its_digest_only,
                an_api_key_without_projects_reaches_every_project,
                keys_are_listed_newest_first_with_their_mask,
                a_revoked_key_stops_authenticating_and_is_not_listed,
                last_use_only_moves_forward
            }
            group_types {
                types_take_the_smallest_free_index,
                a_type_name_in_use_is_refused,
                the_type_limit_is_enforced,
                deleting_a_type_frees_its_index_and_takes_its_groups,
                metadata_updates_change_only_what_they_name,
                a_metadata_update_naming_a_missing_type_changes_nothing,
                default_columns_are_set_on_existing_types_only,
                types_belong_to_their_project
            }
            groups {
                create_group_refuses_a_missing_type,
                create_group_returns_what_find_reads,
                create_group_refuses_a_key_in_use,
                find_group_is_exact_and_case_sensitive,
                a_set_changes_the_value_and_updated_at,
                re_setting_a_value_records_no_activity,
                an_older_set_loses_to_a_newer_one,
                a_rest_set_once_of_a_set_property_changes_nothing,
                unset_of_an_absent_property_is_refused,
                updating_a_missing_group_is_not_found,
                unset_removes_the_property_and_keeps_the_order_of_the_rest,
                activity_lists_every_visible_change_newest_first,
                activity_pages_by_offset,
                activity_belongs_to_its_project
            }
            listing {
                groups_list_newest_first_then_key_descending,
                a_cursor_continues_strictly_after_its_position,
                search_matches_the_properties_text_case_insensitively,
                search_treats_like_wildcards_literally,
                search_also_matches_the_whole_key,
                key_filter_is_a_case_insensitive_substring,
                search_and_key_filter_combine,
                other_types_stay_out_of_the_list
            }
            counts {
                definitions_count_groups_per_name_per_type,
                values_count_groups_per_value_text,
                counts_follow_rest_writes,
                counts_follow_capture_writes,
                a_deleted_types_counts_go_with_it,
                values_show_the_top_20_ties_in_byte_order,
                the_value_filter_lower_cases_by_unicode_rules
            }
            ingest {
                a_request_stores_each_new_event_once,
                types_are_assigned_in_order_of_first_sight,
                a_retried_event_changes_nothing,
                a_retried_identify_of_an_unknown_type_creates_no_type,
                an_invalid_identify_is_stored_with_a_warning,
                warnings_belong_to_their_project,
                identifies_merge_the_same_in_any_order,
                identify_activity_follows_the_merge,
                an_identify_with_no_properties_creates_the_group
            }
            concurrency {
                concurrent_requests_keep_every_change
            }
            usage {
                window_reads_are_bounded_by_time_and_narrowed,
                metrics_are_stored_listed_updated_and_deleted,
                deleting_a_type_takes_its_metrics_and_marks_the_index_reused,
                property_types_come_from_the_first_typed_value
            }
            segments {
                the_hot_tail_is_every_stored_event,
                events_to_move_are_one_partition_by_time,
                a_day_before_1970_is_its_own_partition,
                a_commit_moves_events_into_the_segment,
                a_commit_of_an_event_already_gone_changes_nothing,
                a_merge_replaces_its_segments_at_once,
                fragmented_partitions_hold_two_small_segments,
                a_moved_event_is_still_a_retry,
                moved_keys_are_forgotten_past_the_horizon,
                one_compactor_holds_the_lock,
                the_first_data_dir_is_kept
            }
            queries {
                queries_read_events_and_groups
            }
            lifecycle {
                a_tombstone_refuses_older_identifies_and_a_newer_one_starts_afresh,
                versions_keep_late_writes_and_as_of_reads_by_event_time,
                a_patch_with_an_unknown_unset_changes_nothing,
                changes_are_numbered_from_one_and_refused_or_equal_writes_take_none,
                activity_survives_deletion_unchanged
            }
            sessions {
                a_session_is_found_by_its_digest_with_its_key,
                an_idle_session_is_not_found_until_touched,
                ending_a_session_or_revoking_its_key_ends_it,
                creating_a_session_forgets_expired_ones
            }
        );
    };
    (@areas $open:path; $($area:ident { $($name:ident),* $(,)? })*) => {
        $(
            mod $area {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(handle) = $open().await else { return };
                        let store = ::std::convert::AsRef::<::std::sync::Arc<dyn $crate::Store>>::as_ref(&handle).clone();
                        $crate::conformance::$area::$name(store).await;
                    }
                )*
            }
        )*
    };
}
