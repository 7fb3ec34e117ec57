//! Purpose limitation (DESIGN §4.5): which purposes exist, which data categories each covers,
//! which role may use which purpose, and the decision for one personal-data call.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::role::Role;
use crate::Purpose;
use crate::fields::{Catalogue, Category};

/// Purposes under which a subject under restriction (Art. 18(1)) may still be read. Art. 18(2)
/// allows storage and the establishment, exercise or defence of legal claims; this is law, not
/// register content, so it is fixed here.
pub const RESTRICTION_EXEMPT_PURPOSES: [&str; 2] = ["legal_claims", "storage"];

/// Every category family the built-in catalogue uses. The purposes that need a whole subject
/// (`erasure_request`, `legal_claims`, `storage`) cover exactly these, not "everything": a field
/// a custom catalogue adds under another family stays withheld until the register names it.
const ALL_BUILTIN_FAMILIES: &[&str] =
    &["user.name", "user.workplace", "user.contact", "user.financial", "user.unique_id", "user.demographic"];

/// The default register, until the register drives the policy. See [`PurposePolicy::builtin`].
#[rustfmt::skip]
const BUILTIN_PURPOSES: &[(&str, &[&str])] = &[
    // Delivering the contracted IT service (domains, hosting, hardware): who the customer is and
    // how to reach and ship to them. Not the bank account: that is billing.
    ("service_delivery", &["user.name", "user.workplace", "user.contact", "user.unique_id"]),
    // Answering questions: who is asking and how to get back to them. No address, no IBAN.
    ("support", &["user.name", "user.workplace", "user.contact.email", "user.contact.phone_number", "user.unique_id"]),
    // Invoicing and bookkeeping: name, address and IBAN only (issue item 6). Neither company name
    // nor customer number nor e-mail: adding them is a register change.
    ("billing", &["user.name", "user.contact.address", "user.financial.bank_account"]),
    // Sending the newsletter: the e-mail address and nothing else.
    ("newsletter", &["user.contact.email"]),
    // Handling a data-subject request (the name the API already uses for erasure): the DPO has to
    // see the whole record to identify the subject and confirm what is erased or disclosed.
    ("erasure_request", ALL_BUILTIN_FAMILIES),
    // Art. 17(3)(e), 18(2): establishing, exercising or defending legal claims.
    ("legal_claims", ALL_BUILTIN_FAMILIES),
    // Art. 18(2) storage: backups, exports for archiving, re-encryption.
    ("storage", ALL_BUILTIN_FAMILIES),
];

/// Roles and their purposes in the default register (issue item 6). Admin and auditor have no
/// personal-data purpose; `newsletter` and `storage` belong to no role and are meant for
/// purpose-scoped service tokens (the mailer, the backup job).
const BUILTIN_ROLES: &[(Role, &[&str])] = &[
    (Role::Admin, &[]),
    (Role::Dpo, &["erasure_request", "legal_claims"]),
    (Role::Staff, &["service_delivery", "support"]),
    (Role::Accountant, &["billing"]),
    (Role::Auditor, &[]),
];

/// For each purpose the data categories it covers, and for each role the purposes it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposePolicy {
    purposes: BTreeMap<Purpose, Vec<Category>>,
    roles: BTreeMap<Role, BTreeSet<Purpose>>,
}

/// Why explicit policy data is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("purpose `{0}` is defined twice")]
    DuplicatePurpose(Purpose),
    #[error("role `{0}` is given twice")]
    DuplicateRole(Role),
    #[error("role `{role}` names purpose `{purpose}`, which is not defined")]
    UndefinedPurpose { role: Role, purpose: Purpose },
}

impl PurposePolicy {
    /// Builds a policy from explicit data, as the register will supply it. A category covers
    /// itself and everything below it ([`Category::is_within`]). A role that is not given may
    /// use no purpose. Every purpose a role names must be defined.
    pub fn new<P, C, R, Q>(purposes: P, roles: R) -> Result<PurposePolicy, PolicyError>
    where
        P: IntoIterator<Item = (Purpose, C)>,
        C: IntoIterator<Item = Category>,
        R: IntoIterator<Item = (Role, Q)>,
        Q: IntoIterator<Item = Purpose>,
    {
        let mut purpose_map = BTreeMap::new();
        for (purpose, categories) in purposes {
            if purpose_map.contains_key(&purpose) {
                return Err(PolicyError::DuplicatePurpose(purpose));
            }
            purpose_map.insert(purpose, categories.into_iter().collect());
        }
        let mut role_map = BTreeMap::new();
        for (role, role_purposes) in roles {
            if role_map.contains_key(&role) {
                return Err(PolicyError::DuplicateRole(role));
            }
            let mut set = BTreeSet::new();
            for purpose in role_purposes {
                if !purpose_map.contains_key(&purpose) {
                    return Err(PolicyError::UndefinedPurpose { role, purpose });
                }
                set.insert(purpose);
            }
            role_map.insert(role, set);
        }
        Ok(PurposePolicy { purposes: purpose_map, roles: role_map })
    }

    /// The default register until the register issue lands.
    ///
    /// | purpose            | categories (prefixes)                                                   | roles      |
    /// |--------------------|-------------------------------------------------------------------------|------------|
    /// | `service_delivery` | user.name, user.workplace, user.contact, user.unique_id                 | staff      |
    /// | `support`          | user.name, user.workplace, user.contact.email, user.contact.phone_number, user.unique_id | staff |
    /// | `billing`          | user.name, user.contact.address, user.financial.bank_account            | accountant |
    /// | `newsletter`       | user.contact.email                                                      | (tokens)   |
    /// | `erasure_request`  | all built-in families                                                   | dpo        |
    /// | `legal_claims`     | all built-in families                                                   | dpo        |
    /// | `storage`          | all built-in families                                                   | (tokens)   |
    ///
    /// All built-in families: user.name, user.workplace, user.contact, user.financial,
    /// user.unique_id, user.demographic. Admin and auditor use no purpose.
    pub fn builtin() -> PurposePolicy {
        let key = |k: &str| Purpose::parse(k).expect("built-in purpose keys are valid");
        let purposes = BUILTIN_PURPOSES.iter().map(|&(purpose, categories)| {
            let categories = categories.iter().map(|c| Category::parse(c).expect("built-in category keys are valid"));
            (key(purpose), categories)
        });
        let roles = BUILTIN_ROLES.iter().map(|&(role, purposes)| (role, purposes.iter().map(|p| key(p))));
        PurposePolicy::new(purposes, roles).expect("the built-in policy is consistent")
    }

    /// The defined purposes, in key order.
    pub fn purposes(&self) -> impl Iterator<Item = &Purpose> {
        self.purposes.keys()
    }

    /// The category prefixes a purpose covers, or `None` for an unknown purpose.
    pub fn categories(&self, purpose: &Purpose) -> Option<&[Category]> {
        self.purposes.get(purpose).map(Vec::as_slice)
    }

    /// The purposes a role may use, in key order (none for a role the policy does not name).
    pub fn role_purposes(&self, role: Role) -> impl Iterator<Item = &Purpose> {
        self.roles.get(&role).into_iter().flatten()
    }

    pub fn role_may_use(&self, role: Role, purpose: &Purpose) -> bool {
        self.roles.get(&role).is_some_and(|set| set.contains(purpose))
    }

    /// Which enabled catalogue fields a purpose shows and withholds, or `None` for an unknown
    /// purpose. Disabled fields are in neither list (they hold no values); [`FieldFilter::apply`]
    /// drops them anyway.
    pub fn filter(&self, purpose: &Purpose, catalogue: &Catalogue) -> Option<FieldFilter> {
        let categories = self.purposes.get(purpose)?;
        let mut filter = FieldFilter { allowed: Vec::new(), withheld: Vec::new() };
        for def in catalogue.fields().filter(|def| def.enabled) {
            if categories.iter().any(|c| def.category.is_within(c.as_str())) {
                filter.allowed.push(def.name);
            } else {
                filter.withheld.push(def.name);
            }
        }
        Some(filter)
    }
}

/// What a caller may do: a staff account's role, a token scoped to purposes, or a token of an
/// account (both must agree). Built only through the constructors, so it always names at least
/// one limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerScope {
    role: Option<Role>,
    token_purposes: Option<BTreeSet<Purpose>>,
}

impl CallerScope {
    /// A caller acting with a role: the purposes the policy gives that role.
    pub fn role(role: Role) -> CallerScope {
        CallerScope { role: Some(role), token_purposes: None }
    }

    /// A service token scoped to these purposes (no role). The purposes must also exist in the
    /// policy.
    pub fn token(purposes: impl IntoIterator<Item = Purpose>) -> CallerScope {
        CallerScope { role: None, token_purposes: Some(purposes.into_iter().collect()) }
    }

    /// A token of a staff account, scoped further: a purpose must be allowed to the role *and*
    /// listed on the token.
    pub fn role_token(role: Role, purposes: impl IntoIterator<Item = Purpose>) -> CallerScope {
        CallerScope { role: Some(role), token_purposes: Some(purposes.into_iter().collect()) }
    }

    pub fn role_of(&self) -> Option<Role> {
        self.role
    }
}

/// Who refused a purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    /// The caller's role may not use the purpose.
    Role(Role),
    /// The token is not scoped to the purpose.
    Token,
}

/// Why a personal-data call is refused. Messages repeat the purpose key (a bounded,
/// validated identifier, never personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("{}", self.message_en())]
    UnknownPurpose(Purpose),
    #[error("{}", self.message_en())]
    PurposeNotAllowed { purpose: Purpose, by: RefusedBy },
    #[error("{}", self.message_en())]
    Restricted { purpose: Purpose },
    /// The subject was erased except for values kept under a legal obligation, readable only
    /// for the archive's purpose.
    #[error("{}", self.message_en())]
    Archived { purpose: Purpose },
    /// The subject objected to this purpose (Art. 21) or withdrew consent for it (Art. 7(3)).
    #[error("{}", self.message_en())]
    Objected { purpose: Purpose },
}

impl Denied {
    /// Stable snake_case code for RFC 9457 problem documents and the audit outcome.
    pub fn code(&self) -> &'static str {
        match self {
            Denied::UnknownPurpose(_) => "unknown_purpose",
            Denied::PurposeNotAllowed { .. } => "purpose_not_allowed",
            Denied::Restricted { .. } => "subject_restricted",
            Denied::Archived { .. } => "subject_archived",
            Denied::Objected { .. } => "subject_objected",
        }
    }

    pub fn purpose(&self) -> &Purpose {
        match self {
            Denied::UnknownPurpose(purpose)
            | Denied::PurposeNotAllowed { purpose, .. }
            | Denied::Restricted { purpose }
            | Denied::Archived { purpose }
            | Denied::Objected { purpose } => purpose,
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Denied::UnknownPurpose(p) => {
                format!(
                    "unknown purpose `{p}`: it is not in the register; use one of the purposes the register defines"
                )
            }
            Denied::PurposeNotAllowed { purpose, by: RefusedBy::Role(role) } => {
                format!("the role `{role}` may not process personal data for the purpose `{purpose}`")
            }
            Denied::PurposeNotAllowed { purpose, by: RefusedBy::Token } => {
                format!("this token is not scoped to the purpose `{purpose}`")
            }
            Denied::Restricted { purpose } => format!(
                "processing of this subject is restricted (GDPR Art. 18): it can only be read for the \
                 purposes legal_claims and storage, not `{purpose}`"
            ),
            Denied::Archived { purpose } => format!(
                "this subject was erased; the values kept under a legal obligation are archived and cannot be \
                 read for the purpose `{purpose}`"
            ),
            Denied::Objected { purpose } => format!(
                "the data subject objected to (or withdrew consent for) the purpose `{purpose}`: processing for it \
                 has stopped"
            ),
        }
    }

    pub fn message_nl(&self) -> String {
        match self {
            Denied::UnknownPurpose(p) => {
                format!("onbekend doel `{p}`: het staat niet in het register; gebruik een doel uit het register")
            }
            Denied::PurposeNotAllowed { purpose, by: RefusedBy::Role(role) } => {
                format!("de rol `{role}` mag geen persoonsgegevens verwerken voor het doel `{purpose}`")
            }
            Denied::PurposeNotAllowed { purpose, by: RefusedBy::Token } => {
                format!("dit token is niet bedoeld voor het doel `{purpose}`")
            }
            Denied::Restricted { purpose } => format!(
                "de verwerking van deze betrokkene is beperkt (AVG art. 18): inzien kan alleen voor de \
                 doelen legal_claims en storage, niet voor `{purpose}`"
            ),
            Denied::Archived { purpose } => format!(
                "deze betrokkene is gewist; de gegevens die wettelijk bewaard moeten worden staan in het archief \
                 en zijn niet in te zien voor het doel `{purpose}`"
            ),
            Denied::Objected { purpose } => format!(
                "de betrokkene heeft bezwaar gemaakt tegen (of zijn toestemming ingetrokken voor) het doel \
                 `{purpose}`: de verwerking daarvoor is gestopt"
            ),
        }
    }
}

/// Decides one personal-data call (DESIGN §4.5; issue item 7).
///
/// Order: an unknown purpose; then the caller's role, then the token scope; then restriction
/// (Art. 18: only `legal_claims` and `storage`). Restriction comes last, so a caller who may not
/// use the purpose anyway does not learn that the subject is restricted.
pub fn decide(
    policy: &PurposePolicy,
    caller: &CallerScope,
    purpose: &Purpose,
    catalogue: &Catalogue,
    subject_restricted: bool,
) -> Result<FieldFilter, Denied> {
    let Some(filter) = policy.filter(purpose, catalogue) else {
        return Err(Denied::UnknownPurpose(purpose.clone()));
    };
    if let Some(role) = caller.role
        && !policy.role_may_use(role, purpose)
    {
        return Err(Denied::PurposeNotAllowed { purpose: purpose.clone(), by: RefusedBy::Role(role) });
    }
    if let Some(scope) = &caller.token_purposes
        && !scope.contains(purpose)
    {
        return Err(Denied::PurposeNotAllowed { purpose: purpose.clone(), by: RefusedBy::Token });
    }
    if caller.role.is_none() && caller.token_purposes.is_none() {
        // Unreachable through the constructors; refuse rather than allow if it ever happens.
        return Err(Denied::PurposeNotAllowed { purpose: purpose.clone(), by: RefusedBy::Token });
    }
    if subject_restricted && !RESTRICTION_EXEMPT_PURPOSES.contains(&purpose.as_str()) {
        return Err(Denied::Restricted { purpose: purpose.clone() });
    }
    Ok(filter)
}

/// The fields one purpose may show, in catalogue order, and the enabled fields it withholds
/// (named in the response, issue item 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFilter {
    pub allowed: Vec<&'static str>,
    pub withheld: Vec<&'static str>,
}

/// A field→value collection split by a [`FieldFilter`]: what may be shown, in input order, and
/// the names of what was held back.
#[derive(Clone, PartialEq, Eq)]
pub struct Split<K, V> {
    pub shown: Vec<(K, V)>,
    pub withheld: Vec<K>,
}

// Values are personal data: `Debug` names the fields only.
impl<K: fmt::Debug, V> fmt::Debug for Split<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Split")
            .field("shown", &self.shown.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("withheld", &self.withheld)
            .finish()
    }
}

impl FieldFilter {
    pub fn is_allowed(&self, field: &str) -> bool {
        self.allowed.contains(&field)
    }

    /// Splits field→value pairs (a map, or any iterator of pairs). Fail-closed: any field not in
    /// `allowed` (withheld, disabled, or unknown to the catalogue) is dropped and named in
    /// `withheld`.
    pub fn apply<K: AsRef<str>, V>(&self, values: impl IntoIterator<Item = (K, V)>) -> Split<K, V> {
        let mut split = Split { shown: Vec::new(), withheld: Vec::new() };
        for (field, value) in values {
            if self.is_allowed(field.as_ref()) {
                split.shown.push((field, value));
            } else {
                split.withheld.push(field);
            }
        }
        split
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purpose(key: &str) -> Purpose {
        Purpose::parse(key).unwrap()
    }

    #[test]
    fn builtin_keys_are_valid_and_roles_reference_defined_purposes() {
        let policy = PurposePolicy::builtin();
        let keys: Vec<&str> = policy.purposes().map(Purpose::as_str).collect();
        assert_eq!(
            keys,
            ["billing", "erasure_request", "legal_claims", "newsletter", "service_delivery", "storage", "support"]
        );
        for exempt in RESTRICTION_EXEMPT_PURPOSES {
            assert!(policy.categories(&purpose(exempt)).is_some(), "{exempt}");
        }
    }

    #[test]
    fn new_refuses_inconsistent_data() {
        let cat = || vec![Category::parse("user.name").unwrap()];
        let dup =
            PurposePolicy::new([(purpose("a"), cat()), (purpose("a"), cat())], Vec::<(Role, Vec<Purpose>)>::new());
        assert_eq!(dup, Err(PolicyError::DuplicatePurpose(purpose("a"))));
        let undefined = PurposePolicy::new([(purpose("a"), cat())], [(Role::Staff, vec![purpose("b")])]);
        assert_eq!(undefined, Err(PolicyError::UndefinedPurpose { role: Role::Staff, purpose: purpose("b") }));
        let twice = PurposePolicy::new([(purpose("a"), cat())], [(Role::Staff, vec![]), (Role::Staff, vec![])]);
        assert_eq!(twice, Err(PolicyError::DuplicateRole(Role::Staff)));
    }

    #[test]
    fn empty_scope_is_refused() {
        let policy = PurposePolicy::builtin();
        let scope = CallerScope { role: None, token_purposes: None };
        let result = decide(&policy, &scope, &purpose("support"), &Catalogue::dutch_it_provider(), false);
        assert_eq!(result.map_err(|d| d.code()), Err("purpose_not_allowed"));
    }
}
