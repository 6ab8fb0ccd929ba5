ALTER TABLE effective_roles ADD CONSTRAINT effective_roles_tenant_id_user_id_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE effective_roles ADD CONSTRAINT effective_roles_tenant_id_assignment_id_fkey
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES assignments (tenant_id, id)
        DEFERRABLE INITIALLY DEFERRED;
