//! Group type indexes: a type gets the smallest index below the project's limit that no type
//! holds, on first sight (capture) or on creation (REST).

use std::collections::HashMap;

use crate::domain::GroupTypeIndex;

/// A project's types by name, assigning indexes to new ones.
#[derive(Debug, Clone)]
pub struct TypeAssigner {
    by_name: HashMap<String, GroupTypeIndex>,
    max: u32,
    added: Vec<(String, GroupTypeIndex)>,
}

/// What [`TypeAssigner::assign`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// The type existed.
    Known(GroupTypeIndex),
    /// The type is new and takes this index (the store must write it).
    New(GroupTypeIndex),
    /// The type is new and every index below the limit is taken.
    Full,
}

impl Assignment {
    /// The type's index, unless the project is full.
    pub fn index(self) -> Option<GroupTypeIndex> {
        match self {
            Assignment::Known(i) | Assignment::New(i) => Some(i),
            Assignment::Full => None,
        }
    }
}

impl TypeAssigner {
    /// The types a project has, and its limit.
    pub fn new(
        existing: impl IntoIterator<Item = (String, GroupTypeIndex)>,
        max_group_types: u32,
    ) -> Self {
        Self {
            by_name: existing.into_iter().collect(),
            max: max_group_types,
            added: Vec::new(),
        }
    }

    /// The project's limit.
    pub fn max_group_types(&self) -> u32 {
        self.max
    }

    /// The index of a type already known.
    pub fn get(&self, name: &str) -> Option<GroupTypeIndex> {
        self.by_name.get(name).copied()
    }

    /// The type's index, assigning the smallest free one to a new type.
    pub fn assign(&mut self, name: &str) -> Assignment {
        if let Some(i) = self.get(name) {
            return Assignment::Known(i);
        }
        let taken = |i: i64| self.by_name.values().any(|v| v.0 == i);
        let Some(free) = (0..i64::from(self.max)).find(|i| !taken(*i)) else {
            return Assignment::Full;
        };
        let index = GroupTypeIndex(free);
        self.by_name.insert(name.to_owned(), index);
        self.added.push((name.to_owned(), index));
        Assignment::New(index)
    }

    /// The types assigned since the last call, in assignment order, for the store to write.
    pub fn take_added(&mut self) -> Vec<(String, GroupTypeIndex)> {
        std::mem::take(&mut self.added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_types_take_the_smallest_free_index() {
        let mut t = TypeAssigner::new(
            [
                ("a".to_owned(), GroupTypeIndex(0)),
                ("c".to_owned(), GroupTypeIndex(2)),
            ],
            4,
        );
        assert_eq!(t.assign("a"), Assignment::Known(GroupTypeIndex(0)));
        assert_eq!(t.assign("b"), Assignment::New(GroupTypeIndex(1)));
        assert_eq!(t.assign("b"), Assignment::Known(GroupTypeIndex(1)));
        assert_eq!(t.assign("d"), Assignment::New(GroupTypeIndex(3)));
        assert_eq!(t.assign("e"), Assignment::Full);
        assert_eq!(t.assign("e").index(), None);
        assert_eq!(
            t.take_added(),
            [
                ("b".to_owned(), GroupTypeIndex(1)),
                ("d".to_owned(), GroupTypeIndex(3))
            ]
        );
        assert!(t.take_added().is_empty());
    }
}
