//! Access control without I/O: roles and their permissions, purpose limitation (DESIGN §4.5)
//! and per-account IP allowlists with the client address behind trusted proxies.
//!
//! - [`Role`] / [`Permission`]: what a staff account may do besides touching personal data.
//! - [`PurposePolicy`]: which categories each purpose covers and which role may use which
//!   purpose; [`PurposePolicy::builtin`] is the default register until the register drives it.
//! - [`decide`]: one personal-data call (caller, purpose, Art. 18 restriction) becomes a
//!   [`FieldFilter`] or a [`Denied`] with a stable code.
//! - [`IpAllowlist`] and [`client_address`]: CIDR lists and `X-Forwarded-For`.

mod ip;
mod policy;
mod role;

pub use ip::{
    AllowlistError, EntryProblem, IpAllowlist, MAX_ENTRIES, MAX_ENTRY_LEN, MAX_FORWARDED_HOPS, client_address,
};
pub use policy::{
    CallerScope, Denied, FieldFilter, PolicyError, PurposePolicy, RESTRICTION_EXEMPT_PURPOSES, RefusedBy, Split, decide,
};
pub use role::{Permission, Role, UnknownRole};
