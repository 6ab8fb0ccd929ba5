DROP FUNCTION user_privileges(UUID, UUID, UUID);
DROP FUNCTION user_role_paths(UUID, UUID, UUID);
