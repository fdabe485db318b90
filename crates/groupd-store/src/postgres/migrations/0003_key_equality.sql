-- `search` also matches a key equal to it, case-insensitively. The trigram index on key_lower
-- answers an equality only by visiting every key sharing its trigrams (2.3 ms for one key at
-- 10k benchmark groups, whose keys all share "g00"); a btree answers it with one probe.
CREATE INDEX groups_key_lower_eq ON groups (project_id, group_type_index, key_lower);
