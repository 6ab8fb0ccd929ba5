-- Change events: an outbox written in the transaction of the change it describes, so that a
-- committed change always has its events and a rolled-back one (or a dry run) has none.
--
-- Order. `id` comes from a sequence when the row is written, so ids do not follow commit
-- order: a reader that had seen id 12 could later find 11 commit. Each row therefore keeps
-- the id of its transaction (`txid`), and the feed only hands out rows of transactions older
-- than every transaction still running (`pg_snapshot_xmin`), ordered by (txid, id). Every
-- transaction below that horizon has finished, so nothing can appear behind a cursor.
CREATE TABLE events (
    tenant_id        UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    txid             BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    id               BIGINT GENERATED ALWAYS AS IDENTITY,
    event_type       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor            TEXT NOT NULL,
    subject_user_id  UUID,
    subject_group_id UUID,
    data             JSONB NOT NULL DEFAULT '{}',
    -- The feed reads one range of this key; it also serves the foreign key to tenants.
    PRIMARY KEY (tenant_id, txid, id),
    CONSTRAINT events_one_subject CHECK (num_nonnulls(subject_user_id, subject_group_id) <= 1)
);
-- Retention deletes the oldest rows first.
CREATE INDEX events_created_at_idx ON events (created_at);

-- Wakes long-polling feed readers on every node when a transaction that wrote events
-- commits (NOTIFY is delivered at commit, once per transaction and tenant).
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $notify$
BEGIN
    PERFORM pg_notify('rolegate_events', t.tenant_id::text)
       FROM (SELECT DISTINCT tenant_id FROM written) t;
    RETURN NULL;
END
$notify$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
