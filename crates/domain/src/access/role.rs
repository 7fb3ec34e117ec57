//! Roles of staff accounts and the permissions that are not about personal data.

use std::fmt;
use std::str::FromStr;

/// The role of a staff account (access-control issue, item 6). Which *purposes* a role may use
/// (and so which personal data it sees) is the register's business, see
/// [`super::PurposePolicy`]; the non-personal-data permissions below are fixed in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Manages accounts and the register. No personal data by default.
    Admin,
    /// Data protection officer: data-subject requests, the register, the audit log.
    Dpo,
    /// Support and service delivery.
    Staff,
    /// Billing only: name, address and IBAN.
    Accountant,
    /// The audit log and its checkpoints; never personal data.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Dpo, Role::Staff, Role::Accountant, Role::Auditor];

    /// Stable lowercase name, as stored and as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dpo => "dpo",
            Role::Staff => "staff",
            Role::Accountant => "accountant",
            Role::Auditor => "auditor",
        }
    }

    /// Whether this role holds a permission that is not about personal data.
    ///
    /// | permission        | admin | dpo | staff | accountant | auditor |
    /// |-------------------|-------|-----|-------|------------|---------|
    /// | `manage_accounts` | yes   |     |       |            |         |
    /// | `manage_register` | yes   | yes |       |            |         |
    /// | `handle_requests` |       | yes |       |            |         |
    /// | `read_audit`      |       | yes |       |            | yes     |
    pub fn may(self, permission: Permission) -> bool {
        matches!(
            (self, permission),
            (Role::Admin, Permission::ManageAccounts | Permission::ManageRegister)
                | (Role::Dpo, Permission::ManageRegister | Permission::HandleRequests | Permission::ReadAudit)
                | (Role::Auditor, Permission::ReadAudit)
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    /// Exact, lowercase names only (`admin`, `dpo`, `staff`, `accountant`, `auditor`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or(UnknownRole)
    }
}

/// A string that is not a role name. The input is not repeated (it may be anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown role: expected one of admin, dpo, staff, accountant, auditor")]
pub struct UnknownRole;

impl UnknownRole {
    pub fn code(self) -> &'static str {
        "unknown_role"
    }

    pub fn message_en(self) -> String {
        self.to_string()
    }

    pub fn message_nl(self) -> String {
        "onbekende rol: verwacht een van admin, dpo, staff, accountant, auditor".to_owned()
    }
}

/// Permissions that do not touch personal data. Reading or writing personal data is never a
/// permission: it always goes through a purpose ([`super::decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Create, change and disable accounts, their roles, tokens and IP allowlists.
    ManageAccounts,
    /// Load and change the register (purposes, categories, roles and their purposes).
    ManageRegister,
    /// Handle data-subject requests (Art. 15-22): register, track and close them.
    HandleRequests,
    /// Read the audit log and its signed checkpoints (ids and hashes only, no personal data).
    ReadAudit,
}

impl Permission {
    pub const ALL: [Permission; 4] =
        [Permission::ManageAccounts, Permission::ManageRegister, Permission::HandleRequests, Permission::ReadAudit];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ManageAccounts => "manage_accounts",
            Permission::ManageRegister => "manage_register",
            Permission::HandleRequests => "handle_requests",
            Permission::ReadAudit => "read_audit",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for bad in ["", "Admin", " admin", "root", "accountants"] {
            assert_eq!(bad.parse::<Role>(), Err(UnknownRole), "{bad:?}");
        }
    }
}
