-- A change that alters many users' access (a mapping granting a role to 100,000 users) used
-- to write one outbox row per user: building, inserting and checking those rows cost more
-- than the change itself. Now the users whose access changed in the same way share a row
-- (`subject_user_ids`, at most 1,000 of them), and the feed hands out one event per user.
--
-- Event ids on the wire are `id * 1000 + position - 1` (position in `subject_user_ids`, 1 for
-- a row about one subject), so they stay numbers, unique and in feed order within a row.
-- Positions kept by webhooks and the ids of recorded deliveries are moved to that numbering.
ALTER TABLE events ADD COLUMN subject_user_ids UUID[];
ALTER TABLE events DROP CONSTRAINT events_one_subject;
ALTER TABLE events ADD CONSTRAINT events_one_subject
    CHECK (num_nonnulls(subject_user_id, subject_group_id, subject_user_ids) <= 1);
ALTER TABLE events ADD CONSTRAINT events_batch_size
    CHECK (cardinality(subject_user_ids) BETWEEN 1 AND 1000);

-- A stored position was "after row id"; after every user of that row is the last position.
UPDATE webhooks SET position_id = position_id * 1000 + 999 WHERE position_id > 0;
UPDATE webhook_deliveries SET event_id = event_id * 1000;
