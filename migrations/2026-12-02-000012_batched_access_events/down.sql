-- Batched rows become one row per user again, and ids go back to row ids.
INSERT INTO events (tenant_id, txid, event_type, created_at, actor, subject_user_id, data)
SELECT e.tenant_id, e.txid, e.event_type, e.created_at, e.actor, u.user_id, e.data
FROM events e CROSS JOIN LATERAL unnest(e.subject_user_ids) WITH ORDINALITY AS u (user_id, n)
WHERE e.subject_user_ids IS NOT NULL
ORDER BY e.txid, e.id, u.n;
DELETE FROM events WHERE subject_user_ids IS NOT NULL;
ALTER TABLE events DROP CONSTRAINT events_batch_size;
ALTER TABLE events DROP CONSTRAINT events_one_subject;
ALTER TABLE events DROP COLUMN subject_user_ids;
ALTER TABLE events ADD CONSTRAINT events_one_subject
    CHECK (num_nonnulls(subject_user_id, subject_group_id) <= 1);
UPDATE webhooks SET position_id = position_id / 1000;
UPDATE webhook_deliveries SET event_id = event_id / 1000;
