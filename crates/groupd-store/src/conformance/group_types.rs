//! The group-type catalogue.
use std::sync::Arc;

use groupd_core::{GroupTypeIndex, ProjectId, merge::PropOp};
use serde_json::json;

use super::{T0, at, create, project, update};
use crate::{ActivityPage, GroupTypeMetadataUpdate, NewGroupType, Store, StoreError, TypeRef};

/// A type with a singular name, in a project with room for three.
fn nt(project: ProjectId, name: &str) -> NewGroupType {
    NewGroupType {
        project,
        max_group_types: 3,
        group_type: name.into(),
        name_singular: Some(format!("{name} s")),
        name_plural: None,
    }
}

async fn index_of(s: &Arc<dyn Store>, p: ProjectId, name: &str) -> GroupTypeIndex {
    s.create_group_type(nt(p, name), T0).await.unwrap().index
}

pub async fn types_take_the_smallest_free_index(s: Arc<dyn Store>) {
    let p = project(&s).await;
    assert_eq!(index_of(&s, p, "a").await, GroupTypeIndex(0));
    assert_eq!(index_of(&s, p, "b").await, GroupTypeIndex(1));
    assert_eq!(index_of(&s, p, "c").await, GroupTypeIndex(2));
}

pub async fn a_type_name_in_use_is_refused(s: Arc<dyn Store>) {
    let p = project(&s).await;
    index_of(&s, p, "a").await;
    assert!(matches!(
        s.create_group_type(nt(p, "a"), T0).await,
        Err(StoreError::GroupTypeExists)
    ));
    assert_eq!(s.list_group_types(p).await.unwrap().len(), 1);
}

pub async fn the_type_limit_is_enforced(s: Arc<dyn Store>) {
    let p = project(&s).await;
    for name in ["a", "b", "c"] {
        index_of(&s, p, name).await;
    }
    assert!(matches!(
        s.create_group_type(nt(p, "d"), T0).await,
        Err(StoreError::GroupTypeLimit(3))
    ));
}

pub async fn deleting_a_type_frees_its_index_and_takes_its_groups(s: Arc<dyn Store>) {
    let p = project(&s).await;
    for name in ["a", "b", "c"] {
        index_of(&s, p, name).await;
    }
    let zero = GroupTypeIndex(0);
    let g = create(&s, p, zero, "k", json!({"x": 1}), T0).await.unwrap();
    update(&s, at(p, zero, "k"), "x", PropOp::Set(json!(2)), T0 + 1)
        .await
        .unwrap();
    s.delete_group_type(p, zero).await.unwrap();
    assert!(matches!(
        s.delete_group_type(p, zero).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.group_activity(
            p,
            ActivityPage {
                group_id: g.id,
                offset: 0,
                limit: 10
            }
        )
        .await
        .unwrap()
        .1,
        0
    );
    // The smallest free index is taken next.
    assert_eq!(index_of(&s, p, "e").await, zero);
    assert!(s.find_group(&at(p, zero, "k")).await.unwrap().is_none());
}

pub async fn metadata_updates_change_only_what_they_name(s: Arc<dyn Store>) {
    let p = project(&s).await;
    for name in ["e", "b", "c"] {
        index_of(&s, p, name).await;
    }
    let all = s
        .update_group_type_metadata(
            p,
            vec![GroupTypeMetadataUpdate {
                index: GroupTypeIndex(1),
                name_singular: Some(None),
                name_plural: Some(Some("Bees".into())),
            }],
        )
        .await
        .unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|t| (t.index.0, t.group_type.as_str()))
        .collect();
    assert_eq!(names, vec![(0, "e"), (1, "b"), (2, "c")]);
    assert_eq!(
        (all[1].name_singular.clone(), all[1].name_plural.clone()),
        (None, Some("Bees".into()))
    );
    assert_eq!(all[2].name_singular.as_deref(), Some("c s"));
}

pub async fn a_metadata_update_naming_a_missing_type_changes_nothing(s: Arc<dyn Store>) {
    let p = project(&s).await;
    for name in ["e", "b", "c"] {
        index_of(&s, p, name).await;
    }
    let bad = s
        .update_group_type_metadata(
            p,
            vec![
                GroupTypeMetadataUpdate {
                    index: GroupTypeIndex(2),
                    name_singular: Some(Some("changed".into())),
                    name_plural: None,
                },
                GroupTypeMetadataUpdate {
                    index: GroupTypeIndex(4),
                    name_singular: None,
                    name_plural: None,
                },
            ],
        )
        .await;
    assert!(matches!(
        bad,
        Err(StoreError::GroupTypeMissing(GroupTypeIndex(4)))
    ));
    // All or nothing.
    assert_eq!(
        s.list_group_types(p).await.unwrap()[2]
            .name_singular
            .as_deref(),
        Some("c s")
    );
}

pub async fn default_columns_are_set_on_existing_types_only(s: Arc<dyn Store>) {
    let p = project(&s).await;
    index_of(&s, p, "a").await;
    index_of(&s, p, "b").await;
    let t = s
        .set_default_columns(
            TypeRef {
                project: p,
                index: GroupTypeIndex(1),
            },
            vec!["b".into(), "a".into()],
        )
        .await
        .unwrap();
    assert_eq!(t.default_columns, Some(vec!["b".into(), "a".into()]));
    assert!(matches!(
        s.set_default_columns(
            TypeRef {
                project: p,
                index: GroupTypeIndex(4)
            },
            vec![]
        )
        .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn types_belong_to_their_project(s: Arc<dyn Store>) {
    let p = project(&s).await;
    index_of(&s, p, "a").await;
    let q = project(&s).await;
    assert!(s.list_group_types(q).await.unwrap().is_empty());
}
