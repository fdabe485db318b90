//! The group-change rule, once for every backend: what a `$groupidentify`, a REST edit or a
//! deletion does to a group, decided from the group's stored state alone.
//!
//! A backend loads a [`GroupSlot`] (the group as stored, or its absence, and its deletion
//! tombstone), calls [`apply`] with an [`Edit`] and its times, and stores what comes back: the
//! new slot, the [`ActivityRecord`]s to log and the [`CountChange`]s for its property counts. The
//! [`Applied`] description names every property the edit touched ([`PropertyChange`]: operation,
//! value, previous value, event time, [`Effect`]), which is what a history of versions and a
//! change stream (`{property: {old, new}}`, [`Applied::diff`]) are written from.
//!
//! The guarantees, whatever order the edits arrive in (tested by proptest in `tests.rs`):
//! - the final properties, their metadata and `created_at` are a function of the *set* of
//!   identify and property edits (per property: last writer wins by event time, unset leaves a
//!   tombstone, set_once decides only untouched properties, earliest first; see [`crate::merge`]);
//! - applying an edit twice changes nothing the second time (retries are safe);
//! - a deletion refuses every later-arriving edit dated before it ([`Refusal::GroupDeleted`]);
//!   an edit dated at or after it starts a new group.
//!
//! Group type indexes are assigned here too ([`TypeAssigner`]).

mod activity;
mod counts;
mod edit;
mod property_type;
mod state;
#[cfg(test)]
mod tests;
mod types;

pub use activity::{Action, Activity, ActivityRecord, activity_detail, deletion_detail};
pub use counts::{CountChange, value_text};
pub use edit::{Applied, Edit, Effect, Outcome, PropertyChange, PropertyDiff, Refusal, apply};
pub use property_type::PropertyType;
pub use state::{GroupSlot, GroupState};
pub use types::{Assignment, TypeAssigner};
