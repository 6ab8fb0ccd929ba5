DROP TABLE group_mappings;
