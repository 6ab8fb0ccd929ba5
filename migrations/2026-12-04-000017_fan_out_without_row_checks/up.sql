-- A change granting a role to 100,000 users inserts 100,000 path rows; each one's two
-- foreign-key checks (the user at once, the assignment at commit) cost as much as the
-- inserts themselves. Both invariants are kept by the code that writes the table instead:
-- deleting a user deletes its paths in the same statement sequence (`db::users::delete`),
-- and every change that removes an assignment refreshes the paths it granted first (the
-- recomputation check and its property test find any path left without its assignment).
ALTER TABLE effective_roles DROP CONSTRAINT effective_roles_tenant_id_user_id_fkey;
ALTER TABLE effective_roles DROP CONSTRAINT effective_roles_tenant_id_assignment_id_fkey;
