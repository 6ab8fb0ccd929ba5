DROP FUNCTION user_scim_groups(UUID, UUID);
DROP FUNCTION check_privileges(UUID, UUID[], TEXT[], TEXT[], TEXT[], UUID[], UUID[]);
DELETE FROM connector_tokens WHERE kind = 'check';
ALTER TABLE connector_tokens DROP CONSTRAINT connector_tokens_kind_check;
ALTER TABLE connector_tokens ADD CONSTRAINT connector_tokens_kind_check
    CHECK (kind IN ('scim', 'admin'));
