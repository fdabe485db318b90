//! The last capture stage: what a validated batch does to its project, decided between the
//! store's writes so both backends take the same decisions in the same order.
//!
//! Per event, in request order: its `$groups` types get indexes ([`IngestPlan::row`]; a type the
//! project has no room for is left out of the event's group keys, with a warning), the store
//! inserts the event, and once the store knows whether the event is new ([`IngestPlan::stored`])
//! a new `$groupidentify` gets its type and becomes a [`GroupUpdate`] to apply. A retry of an event
//! already stored changes nothing: its group changes and warnings were recorded the first time.

use super::warning::IngestWarning;
use super::{CaptureEvent, GroupIdentify};
use crate::domain::GroupTypeIndex;
use crate::groups::TypeAssigner;

/// What one capture request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Events newly stored.
    pub stored: usize,
    /// Retries of events already stored (ignored, group changes included).
    pub duplicates: usize,
    /// `$groupidentify` events applied.
    pub group_updates: usize,
    /// Ingestion warnings recorded.
    pub warnings: usize,
}

/// One event as the store inserts it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow<'e> {
    /// The event's group keys by type index (`""` where it names none).
    pub group_keys: Vec<&'e str>,
    /// Warnings kept only if the event turns out to be new.
    pending: Vec<IngestWarning>,
}

/// A new `$groupidentify` to apply to its group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupUpdate<'e> {
    /// The group's type.
    pub index: GroupTypeIndex,
    /// The change.
    pub identify: &'e GroupIdentify,
    /// The event time it is merged at ([`CaptureEvent::merge_time_us`]).
    pub event_us: i64,
    /// The event's uuid (the `source` of the change).
    pub event_uuid: uuid::Uuid,
}

/// One request's decisions, made event after event.
#[derive(Debug, Clone)]
pub struct IngestPlan {
    types: TypeAssigner,
    warnings: Vec<IngestWarning>,
    summary: IngestSummary,
}

impl IngestPlan {
    /// A plan over the project's types.
    pub fn new(types: TypeAssigner) -> Self {
        Self {
            types,
            warnings: Vec::new(),
            summary: IngestSummary::default(),
        }
    }

    /// Whether any of `events` names a type the project does not have yet.
    pub fn needs_new_types(&self, events: &[CaptureEvent]) -> bool {
        events.iter().any(|ev| {
            ev.group_pairs().any(|(n, _)| self.types.get(n).is_none())
                || matches!(&ev.group_identify, Some(Ok(gi)) if self.types.get(&gi.group_type).is_none())
        })
    }

    /// The event's row: its `$groups` types get indexes (new ones on first sight).
    pub fn row<'e>(&mut self, ev: &'e CaptureEvent) -> EventRow<'e> {
        let mut row = EventRow {
            group_keys: Vec::new(),
            pending: Vec::new(),
        };
        for (name, key) in ev.group_pairs() {
            match self.types.assign(name).index() {
                Some(i) => {
                    let i = usize::try_from(i.0).unwrap_or(0);
                    if row.group_keys.len() <= i {
                        row.group_keys.resize(i + 1, "");
                    }
                    row.group_keys[i] = key;
                }
                None => row.pending.push(self.limit(name, ev)),
            }
        }
        row
    }

    /// Gives a new event's `$groupidentify` its type now rather than in [`Self::stored`], for a
    /// store that must write every new type before inserting the events (the assignment order is
    /// the same as long as it is called right after the event's [`Self::row`]).
    pub fn claim_identify_type(&mut self, ev: &CaptureEvent) {
        if let Some(Ok(gi)) = &ev.group_identify {
            self.types.assign(&gi.group_type);
        }
    }

    /// The event is stored (`fresh`) or was already: a fresh event's warnings are kept and its
    /// `$groupidentify`, if valid and of a type with an index, is to be applied.
    pub fn stored<'e>(
        &mut self,
        ev: &'e CaptureEvent,
        row: EventRow<'e>,
        fresh: bool,
    ) -> Option<GroupUpdate<'e>> {
        if !fresh {
            self.summary.duplicates += 1;
            return None;
        }
        self.summary.stored += 1;
        let mut pending = row.pending;
        let update = match &ev.group_identify {
            None => None,
            Some(Err(invalid)) => {
                pending.push(IngestWarning::invalid_identify(invalid, ev));
                None
            }
            Some(Ok(gi)) => match self.types.assign(&gi.group_type).index() {
                Some(index) => {
                    self.summary.group_updates += 1;
                    Some(GroupUpdate {
                        index,
                        identify: gi,
                        event_us: ev.merge_time_us(),
                        event_uuid: ev.uuid,
                    })
                }
                None => {
                    pending.push(self.limit(&gi.group_type, ev));
                    None
                }
            },
        };
        self.warnings.append(&mut pending);
        update
    }

    /// The store refused `update` because its group was deleted at `deleted_at_us`, after the
    /// event's time: the event stays stored, the change is dropped with a warning.
    pub fn group_deleted(&mut self, update: &GroupUpdate<'_>, deleted_at_us: i64) {
        self.summary.group_updates = self.summary.group_updates.saturating_sub(1);
        self.warnings.push(IngestWarning::group_deleted(
            &update.identify.group_type,
            &update.identify.group_key,
            update.event_uuid,
            deleted_at_us,
        ));
    }

    /// The types assigned since the last call, for the store to write.
    pub fn take_new_types(&mut self) -> Vec<(String, GroupTypeIndex)> {
        self.types.take_added()
    }

    /// The index of a type, if it has one.
    pub fn type_index(&self, name: &str) -> Option<GroupTypeIndex> {
        self.types.get(name)
    }

    /// The project's types as the plan knows them (its own assignments included).
    pub fn into_types(self) -> TypeAssigner {
        self.types
    }

    /// The request's summary and its warnings, in order.
    pub fn finish(self) -> (IngestSummary, Vec<IngestWarning>) {
        let mut summary = self.summary;
        summary.warnings = self.warnings.len();
        (summary, self.warnings)
    }

    fn limit(&self, group_type: &str, ev: &CaptureEvent) -> IngestWarning {
        IngestWarning::type_limit(group_type, ev, self.types.max_group_types())
    }
}
