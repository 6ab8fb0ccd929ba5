// @generated automatically by Diesel CLI.

diesel::table! {
    applications (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        environment_id -> Uuid,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    assignments (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        role_id -> Uuid,
        environment_id -> Uuid,
        application_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        end_user_group_id -> Nullable<Uuid>,
        collaborator_group_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        moderator -> Bool,
    }
}

diesel::table! {
    audit_log (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Int8,
        actor -> Text,
        resource_type -> Text,
        resource_id -> Text,
        operation -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    collaborator_group_members (tenant_id, collaborator_group_id, user_id) {
        tenant_id -> Uuid,
        collaborator_group_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    collaborator_groups (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    connector_tokens (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        kind -> Text,
        user_id -> Nullable<Uuid>,
        owner -> Bool,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    console_sessions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        secret_hash -> Bytea,
        user_id -> Nullable<Uuid>,
        token_id -> Nullable<Uuid>,
        csrf_token -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    effective_roles (tenant_id, user_id, assignment_id, via_group_id, role_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        assignment_id -> Uuid,
        via_group_id -> Uuid,
        environment_id -> Uuid,
        application_id -> Nullable<Uuid>,
        role_id -> Uuid,
    }
}

diesel::table! {
    end_user_group_members (tenant_id, end_user_group_id, user_id) {
        tenant_id -> Uuid,
        end_user_group_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    end_user_groups (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        environment_id -> Uuid,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    environment_access_revocations (tenant_id, user_id, environment_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        environment_id -> Uuid,
        revoked_at -> Timestamptz,
    }
}

diesel::table! {
    environments (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        position -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    events (tenant_id, txid, id) {
        tenant_id -> Uuid,
        txid -> Int8,
        id -> Int8,
        event_type -> Text,
        created_at -> Timestamptz,
        actor -> Text,
        subject_user_id -> Nullable<Uuid>,
        subject_group_id -> Nullable<Uuid>,
        data -> Jsonb,
        subject_user_ids -> Nullable<Array<Nullable<Uuid>>>,
    }
}

diesel::table! {
    group_mappings (tenant_id, idp_group_id, end_user_group_id) {
        tenant_id -> Uuid,
        idp_group_id -> Uuid,
        end_user_group_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    group_members (tenant_id, group_id, user_id) {
        tenant_id -> Uuid,
        group_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    groups (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        display_name -> Text,
        external_id -> Nullable<Text>,
        attributes -> Jsonb,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        oidc_provider_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    invitations (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    moderators (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        parent_user_id -> Uuid,
        environment_role_id -> Uuid,
        project_role_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    oidc_identities (tenant_id, provider_id, subject) {
        tenant_id -> Uuid,
        provider_id -> Uuid,
        subject -> Text,
        user_id -> Uuid,
        created_by_login -> Bool,
        linked_by -> Text,
        created_at -> Timestamptz,
        last_login_at -> Timestamptz,
    }
}

diesel::table! {
    oidc_login_attempts (tenant_id, state) {
        tenant_id -> Uuid,
        state -> Text,
        provider_id -> Uuid,
        environment_id -> Uuid,
        nonce -> Text,
        pkce_verifier -> Text,
        redirect_uri -> Text,
        return_to -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        invitation_id -> Nullable<Uuid>,
        for_console -> Bool,
    }
}

diesel::table! {
    oidc_provider_environments (tenant_id, provider_id, environment_id) {
        tenant_id -> Uuid,
        provider_id -> Uuid,
        environment_id -> Uuid,
    }
}

diesel::table! {
    oidc_providers (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        issuer -> Text,
        client_id -> Text,
        client_secret_encrypted -> Nullable<Bytea>,
        scopes -> Text,
        claim_mapping -> Jsonb,
        jit_provisioning -> Bool,
        redirect_uris -> Jsonb,
        enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    privileges (key) {
        key -> Text,
        scope -> Text,
        category -> Text,
        resource -> Text,
        action -> Text,
        administers_access -> Bool,
        position -> Int4,
    }
}

diesel::table! {
    role_privileges (tenant_id, role_id, privilege_key) {
        tenant_id -> Uuid,
        role_id -> Uuid,
        privilege_key -> Text,
    }
}

diesel::table! {
    role_suggestions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        application_id -> Uuid,
        role_id -> Uuid,
        user_id -> Nullable<Uuid>,
        end_user_group_id -> Nullable<Uuid>,
        collaborator_group_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    roles (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        scope -> Text,
        name -> Text,
        description -> Text,
        system_key -> Nullable<Text>,
        position -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        inheritable -> Bool,
        inherited_from -> Nullable<Uuid>,
    }
}

diesel::table! {
    signing_keys (tenant_id, kid) {
        tenant_id -> Uuid,
        kid -> Text,
        algorithm -> Text,
        private_key_encrypted -> Bytea,
        public_jwk -> Jsonb,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    system_role_privileges (role_key, privilege_key) {
        role_key -> Text,
        privilege_key -> Text,
    }
}

diesel::table! {
    system_roles (key) {
        key -> Text,
        scope -> Text,
        name -> Text,
        description -> Text,
        position -> Int4,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        cursor_secret -> Bytea,
        created_at -> Timestamptz,
        require_end_user_group_members -> Bool,
        parent_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    users (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_name -> Text,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        active -> Nullable<Bool>,
        attributes -> Jsonb,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        status -> Text,
        source -> Text,
    }
}

diesel::table! {
    webhook_deliveries (tenant_id, webhook_id, id) {
        tenant_id -> Uuid,
        webhook_id -> Uuid,
        id -> Int8,
        event_id -> Int8,
        attempt -> Int4,
        outcome -> Text,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        node -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        url -> Text,
        event_types -> Array<Nullable<Text>>,
        created_at -> Timestamptz,
        position_txid -> Int8,
        position_id -> Int8,
        attempts -> Int4,
        failing_since -> Nullable<Timestamptz>,
        next_attempt_at -> Timestamptz,
        leased_by -> Nullable<Text>,
        leased_until -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(collaborator_groups -> tenants (tenant_id));
diesel::joinable!(connector_tokens -> tenants (tenant_id));
diesel::joinable!(console_sessions -> tenants (tenant_id));
diesel::joinable!(environments -> tenants (tenant_id));
diesel::joinable!(events -> tenants (tenant_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(moderators -> tenants (tenant_id));
diesel::joinable!(oidc_providers -> tenants (tenant_id));
diesel::joinable!(role_privileges -> privileges (privilege_key));
diesel::joinable!(role_suggestions -> tenants (tenant_id));
diesel::joinable!(roles -> system_roles (system_key));
diesel::joinable!(roles -> tenants (tenant_id));
diesel::joinable!(signing_keys -> tenants (tenant_id));
diesel::joinable!(system_role_privileges -> privileges (privilege_key));
diesel::joinable!(system_role_privileges -> system_roles (role_key));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(webhooks -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    applications,
    assignments,
    audit_log,
    collaborator_group_members,
    collaborator_groups,
    connector_tokens,
    console_sessions,
    effective_roles,
    end_user_group_members,
    end_user_groups,
    environment_access_revocations,
    environments,
    events,
    group_mappings,
    group_members,
    groups,
    invitations,
    moderators,
    oidc_identities,
    oidc_login_attempts,
    oidc_provider_environments,
    oidc_providers,
    privileges,
    role_privileges,
    role_suggestions,
    roles,
    signing_keys,
    system_role_privileges,
    system_roles,
    tenants,
    users,
    webhook_deliveries,
    webhooks,
);
