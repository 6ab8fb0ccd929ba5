-- Tokens of kind `check`: applications asking "may this user do this?" and nothing else.
ALTER TABLE connector_tokens DROP CONSTRAINT connector_tokens_kind_check;
ALTER TABLE connector_tokens ADD CONSTRAINT connector_tokens_kind_check
    CHECK (kind IN ('scim', 'admin', 'check'));
