//! The schema can be distributed by tenant (e.g. with Citus) without change: every primary
//! key, unique constraint, unique index and foreign key of a tenant's table includes
//! `tenant_id`, and a foreign key between two tenant tables pairs `tenant_id` with
//! `tenant_id`, so every row a statement touches, and every row a key relates, lives with
//! its tenant. Read from the catalog of a migrated database, so a new migration cannot
//! break the promise unnoticed.

use diesel::connection::{Connection, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};

use crate::helpers::fresh_database;

/// The same rows for every tenant: replicated to every node (Citus reference tables).
pub const REFERENCE_TABLES: &[&str] = &["privileges", "system_roles", "system_role_privileges"];

/// Bookkeeping of the migration runner, not product data.
const IGNORED_TABLES: &[&str] = &["__diesel_schema_migrations"];

/// The column a table is distributed by: the tenant's own row by its id, the rest by
/// `tenant_id`.
fn distribution_column(table: &str) -> &'static str {
    if table == "tenants" {
        "id"
    } else {
        "tenant_id"
    }
}

#[derive(Debug, QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    /// `p` primary key, `u` unique constraint, `f` foreign key, `x` exclusion, `i` unique index.
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    referenced_table: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    referenced_columns: Vec<String>,
}

#[derive(Debug, QueryableByName)]
struct TableColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
}

/// Every key of the public schema: constraints, and unique indexes that back none. An
/// index column that is an expression has no name and is left out (an expression alone
/// never includes the distribution column).
const KEYS: &str = "\
    SELECT c.conrelid::regclass::text AS table_name, c.conname::text AS name, \
           c.contype::text AS kind, \
           ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                 ORDER BY k.n) AS columns, \
           CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END AS referenced_table, \
           ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum \
                 ORDER BY k.n) AS referenced_columns \
    FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace \
    WHERE ns.nspname = 'public' AND c.contype IN ('p', 'u', 'f', 'x') \
    UNION ALL \
    SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, 'i', \
           ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 ORDER BY k.n), \
           NULL, ARRAY[]::text[] \
    FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
    JOIN pg_namespace ns ON ns.oid = t.relnamespace \
    WHERE ns.nspname = 'public' AND i.indisunique \
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
    ORDER BY 1, 2";

const TABLES: &str = "\
    SELECT c.oid::regclass::text AS table_name, \
           ARRAY(SELECT a.attname::text FROM pg_attribute a \
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns \
    FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace \
    WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1";

/// What keeps the schema from being distributed by tenant, one line per problem.
fn violations(conn: &mut PgConnection) -> Vec<String> {
    let ignored = |t: &str| IGNORED_TABLES.contains(&t);
    let reference = |t: &str| REFERENCE_TABLES.contains(&t);
    let mut problems = Vec::new();
    let tables: Vec<TableColumn> = diesel::sql_query(TABLES).load(conn).expect("tables");
    for t in &tables {
        if ignored(&t.table_name) || reference(&t.table_name) {
            continue;
        }
        let column = distribution_column(&t.table_name);
        if !t.columns.iter().any(|c| c == column) {
            problems.push(format!("{} has no {column} column", t.table_name));
        }
    }
    let keys: Vec<Key> = diesel::sql_query(KEYS).load(conn).expect("keys");
    for key in &keys {
        let table = key.table_name.as_str();
        if ignored(table) {
            continue;
        }
        if reference(table) {
            // A reference table may only point at other reference tables.
            if let Some(target) = key.referenced_table.as_deref() {
                if !reference(target) {
                    problems.push(format!(
                        "reference table {table}: foreign key {} points at tenant table {target}",
                        key.name
                    ));
                }
            }
            continue;
        }
        let column = distribution_column(table);
        match key.referenced_table.as_deref() {
            None => {
                if !key.columns.iter().any(|c| c == column) {
                    problems.push(format!(
                        "{table}: key {} ({}) does not include {column}",
                        key.name,
                        key.columns.join(", ")
                    ));
                }
            }
            Some(target) if reference(target) => {}
            Some(target) => {
                let target_column = distribution_column(target);
                let paired = key
                    .columns
                    .iter()
                    .zip(&key.referenced_columns)
                    .any(|(local, remote)| local == column && remote == target_column);
                if !paired {
                    problems.push(format!(
                        "{table}: foreign key {} ({}) -> {target} ({}) does not pair {column} with {target_column}",
                        key.name,
                        key.columns.join(", "),
                        key.referenced_columns.join(", ")
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn every_key_of_a_tenant_table_includes_tenant_id() {
    let mut conn = PgConnection::establish(&fresh_database()).expect("connects");
    let problems = violations(&mut conn);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check saw the tables it is about.
    let keys: Vec<Key> = diesel::sql_query(KEYS).load(&mut conn).expect("keys");
    for (table, kind) in [
        ("effective_roles", "p"),
        ("group_members", "f"),
        ("users", "i"),
        ("events", "p"),
    ] {
        assert!(
            keys.iter().any(|k| k.table_name == table && k.kind == kind),
            "no {kind} key of {table} was checked"
        );
    }
}

#[test]
fn a_key_without_tenant_id_is_reported() {
    let mut conn = PgConnection::establish(&fresh_database()).expect("connects");
    conn.batch_execute(
        "CREATE TABLE sample_rows (tenant_id uuid NOT NULL, id uuid PRIMARY KEY, \
             name text NOT NULL, user_id uuid NOT NULL, \
             FOREIGN KEY (tenant_id, user_id) REFERENCES users (id, tenant_id)); \
         CREATE UNIQUE INDEX sample_rows_name ON sample_rows (lower(name)); \
         CREATE TABLE sample_untenanted (id uuid PRIMARY KEY);",
    )
    .expect("adds the sample tables");
    let problems = violations(&mut conn);
    for expected in [
        "sample_rows: key sample_rows_pkey (id) does not include tenant_id",
        "sample_rows: key sample_rows_name () does not include tenant_id",
        "sample_rows: foreign key sample_rows_tenant_id_user_id_fkey (tenant_id, user_id) -> users (id, tenant_id) does not pair tenant_id with tenant_id",
        "sample_untenanted has no tenant_id column",
        "sample_untenanted: key sample_untenanted_pkey (id) does not include tenant_id",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "expected '{expected}' among:\n{}",
            problems.join("\n")
        );
    }
    assert_eq!(problems.len(), 5, "{}", problems.join("\n"));
}
