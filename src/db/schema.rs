// @generated automatically by Diesel CLI.

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
    connector_tokens (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        kind -> Text,
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
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        cursor_secret -> Bytea,
        created_at -> Timestamptz,
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
    }
}

diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(connector_tokens -> tenants (tenant_id));
diesel::joinable!(environments -> tenants (tenant_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    connector_tokens,
    end_user_group_members,
    end_user_groups,
    environments,
    group_mappings,
    group_members,
    groups,
    tenants,
    users,
);
