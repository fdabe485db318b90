//! The activity log's vocabulary (PostHog's `ActivityLog` for groups): which entry a change
//! writes and the `detail` object it is shown with.

use serde_json::{Value, json};

/// The `activity` of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A property set by the edit that created the group.
    CreateGroup,
    /// A property that appeared on an existing group.
    CreateProperty,
    /// A property changed or removed.
    UpdateProperty,
    /// The group was deleted.
    DeleteGroup,
}

impl Activity {
    /// Every activity, in the order of their stored codes (a code is an index here).
    pub const ALL: [Activity; 4] = [
        Activity::CreateGroup,
        Activity::CreateProperty,
        Activity::UpdateProperty,
        Activity::DeleteGroup,
    ];

    /// The wire name, e.g. `create_group`.
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::CreateGroup => "create_group",
            Activity::CreateProperty => "create_property",
            Activity::UpdateProperty => "update_property",
            Activity::DeleteGroup => "delete_group",
        }
    }

    /// The activity of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The `action` of an entry's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The property appeared.
    Created,
    /// Its value changed.
    Changed,
    /// It was removed (or the whole group was).
    Deleted,
}

impl Action {
    /// Every action, in the order of their stored codes.
    pub const ALL: [Action; 3] = [Action::Created, Action::Changed, Action::Deleted];

    /// The wire name, e.g. `created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Changed => "changed",
            Action::Deleted => "deleted",
        }
    }

    /// The action of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One activity entry a change writes: one per visible property change (one for a deletion).
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord<'a> {
    /// The entry's activity.
    pub activity: Activity,
    /// Its change's action.
    pub action: Action,
    /// The property (empty for a deletion).
    pub property: &'a str,
    /// The value before (`None`: absent).
    pub before: Option<&'a Value>,
    /// The value after (`None`: absent).
    pub after: Option<&'a Value>,
}

impl ActivityRecord<'_> {
    /// The entry's `detail` object.
    pub fn detail(&self) -> Value {
        if self.activity == Activity::DeleteGroup {
            return deletion_detail(self.property);
        }
        activity_detail(
            self.property,
            self.action,
            self.before.cloned().unwrap_or(Value::Null),
            self.after.cloned().unwrap_or(Value::Null),
        )
    }
}

/// The `detail` object of an activity entry, as PostHog's activity log shows a group change.
pub fn activity_detail(property: &str, action: Action, before: Value, after: Value) -> Value {
    json!({
        "changes": [{"type": "Group", "action": action.as_str(), "field": null,
                     "before": before, "after": after}],
        "trigger": null, "name": property, "short_id": null, "type": null,
    })
}

/// The `detail` of a `delete_group` entry: no changes, the group's key as the name.
pub fn deletion_detail(key: &str) -> Value {
    json!({"changes": [], "trigger": null, "name": key, "short_id": null, "type": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_codes_keep_their_order() {
        for a in Activity::ALL {
            assert_eq!(Activity::parse(a.as_str()), Some(a));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        // Stored codes (SQLite keeps the index): the first three may never move.
        assert_eq!(
            Activity::ALL.map(Activity::as_str)[..3],
            ["create_group", "create_property", "update_property"]
        );
        assert_eq!(
            Action::ALL.map(Action::as_str),
            ["created", "changed", "deleted"]
        );
    }

    #[test]
    fn detail_keeps_posthogs_key_order() {
        let d = activity_detail("plan", Action::Changed, json!("free"), json!("pro"));
        let keys: Vec<_> = d.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["changes", "trigger", "name", "short_id", "type"]);
        assert_eq!(d["changes"][0]["before"], json!("free"));
        assert_eq!(d["changes"][0]["action"], json!("changed"));
    }
}
