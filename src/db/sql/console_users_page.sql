-- A page of the console's user list, in folded-userName order after a key.
-- $1 tenant, $2 folded search with LIKE's characters escaped, $3 the search as typed,
-- $4 status, $5 source, $6 the sort key of the previous page's last user, $7 page size.
-- Without a search the userName index gives the order and the page; with one, each term
-- has its index (trigram on the userName, btree on the display name's start and on the
-- externalId, the e-mail array's GIN) and only the matches are sorted.
SELECT u.id, u.user_name, u.display_name, u.external_id,
       (SELECT e->>'value' FROM jsonb_array_elements(
            CASE WHEN jsonb_typeof(u.attributes->'emails') = 'array'
                 THEN u.attributes->'emails' ELSE '[]'::jsonb END) e
        ORDER BY (e->>'primary')::text = 'true' DESC LIMIT 1) AS email,
       u.status, u.active, u.source,
       (rolegate_fold(u.user_name) COLLATE "C") AS sort_key
FROM users u
WHERE u.tenant_id = $1
  AND ($2::text IS NULL
       OR (rolegate_fold(u.user_name) COLLATE "C") LIKE '%' || $2 || '%'
       OR (rolegate_fold(u.display_name) COLLATE "C") LIKE $2 || '%'
       OR (u.external_id COLLATE "C") = $3
       OR user_emails(u.attributes) @> ARRAY[rolegate_fold($3)])
  AND ($4::text IS NULL
       OR ($4 = 'deactivated' AND u.active IS FALSE)
       OR ($4 <> 'deactivated' AND u.status = $4 AND u.active IS DISTINCT FROM FALSE))
  AND ($5::text IS NULL OR u.source = $5)
  AND ($6::text IS NULL OR (rolegate_fold(u.user_name) COLLATE "C") > $6)
ORDER BY (rolegate_fold(u.user_name) COLLATE "C")
LIMIT $7
