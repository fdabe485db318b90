-- property_values reads a property's 20 most common values: in count order from this index
-- instead of sorting every value of the property (a million for a name-like property).
CREATE INDEX group_prop_values_top
    ON group_prop_values (project_id, group_type_index, key, groups DESC, value);
