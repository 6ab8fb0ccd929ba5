//! The access model administered through the admin API: environments (and, to come,
//! applications, roles, end-user groups, assignments, group mappings, effective roles).

pub mod audit;
pub mod end_user_groups;
pub mod environments;
pub mod group_mappings;

use uuid::Uuid;

/// Who is acting through the admin API.
#[derive(Debug, Clone)]
pub struct AdminContext {
    pub tenant_id: Uuid,
    /// For the audit log: `admin-token:<id>`.
    pub actor: String,
}
