-- Webhooks: each event a tenant's webhook subscribes to is pushed to its URL as a Security
-- Event Token, in feed order, one at a time (so in order per subject), retried with backoff.
-- A webhook's own row holds its position in the feed and its lease: the node delivering it
-- holds `leased_until` (renewed after every attempt); a node that dies leaves the lease to
-- run out and another node to carry on from the same position (at-least-once).
CREATE TABLE webhooks (
    tenant_id        UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               UUID NOT NULL,
    url              TEXT NOT NULL,
    event_types      TEXT[] NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The last event handed over (or given up on), in feed order.
    position_txid    BIGINT NOT NULL,
    position_id      BIGINT NOT NULL DEFAULT 0,
    -- Failed attempts at the event after the position, and since when it has failed.
    attempts         INT NOT NULL DEFAULT 0,
    failing_since    TIMESTAMPTZ,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    leased_by        TEXT,
    leased_until     TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhooks_due_idx ON webhooks (next_attempt_at);

-- Every attempt, for `GET /admin/v1/webhooks/{id}/deliveries`; pruned with the events.
CREATE TABLE webhook_deliveries (
    tenant_id    UUID NOT NULL,
    webhook_id   UUID NOT NULL,
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    event_id     BIGINT NOT NULL,
    attempt      INT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    status_code  INT,
    error        TEXT,
    node         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, webhook_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_created_at_idx ON webhook_deliveries (created_at);
