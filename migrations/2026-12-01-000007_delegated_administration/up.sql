-- Owner tokens are bound to no user and have full access. A user-bound token whose user is
-- deleted has its user_id set to NULL by the foreign key; `owner` keeps it from turning
-- into an owner token then: it stops working instead.
ALTER TABLE connector_tokens ADD COLUMN owner BOOLEAN NOT NULL DEFAULT false;
-- Existing unbound admin tokens become owners, except those created bound to a user that
-- has since been deleted (their creation is in the audit log).
UPDATE connector_tokens t SET owner = true
WHERE t.kind = 'admin' AND t.user_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM audit_log a
                  WHERE a.tenant_id = t.tenant_id AND a.resource_type = 'ConnectorToken'
                    AND a.resource_id = t.id::text AND a.operation = 'create'
                    AND a.after ->> 'user_id' IS NOT NULL);
ALTER TABLE connector_tokens ADD CONSTRAINT connector_tokens_owner_unbound
    CHECK (NOT owner OR (kind = 'admin' AND user_id IS NULL));
ALTER TABLE connector_tokens ADD COLUMN expires_at TIMESTAMPTZ;
-- Written at most once a minute per token, so checking a token stays a read.
ALTER TABLE connector_tokens ADD COLUMN last_used_at TIMESTAMPTZ;
