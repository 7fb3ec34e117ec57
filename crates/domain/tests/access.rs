//! Integration tests of `kluis_domain::access`: the role × purpose matrix of the built-in policy
//! over the Dutch IT provider catalogue, Art. 18 restriction, tokens, IP allowlists,
//! `X-Forwarded-For`, and property tests that no input panics.

use std::collections::BTreeMap;
use std::net::IpAddr;

use kluis_domain::Purpose;
use kluis_domain::access::{
    AllowlistError, CallerScope, Denied, EntryProblem, FieldFilter, IpAllowlist, MAX_ENTRIES, Permission,
    PurposePolicy, RefusedBy, Role, UnknownRole, client_address, decide,
};
use kluis_domain::fields::{Catalogue, Category};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const PURPOSES: [&str; 7] =
    ["service_delivery", "support", "billing", "newsletter", "erasure_request", "legal_claims", "storage"];

/// Every enabled field of `Catalogue::dutch_it_provider()`, in catalogue order (gender is off).
const ALL_ENABLED: [&str; 14] = [
    "company_name",
    "first_names",
    "last_name",
    "street",
    "house_number",
    "house_number_addition",
    "postcode",
    "po_box",
    "city",
    "country",
    "email",
    "phone",
    "iban",
    "customer_number",
];

/// Name, address and IBAN: what the accountant sees for `billing`, and nothing else.
const BILLING_FIELDS: [&str; 10] = [
    "first_names",
    "last_name",
    "street",
    "house_number",
    "house_number_addition",
    "postcode",
    "po_box",
    "city",
    "country",
    "iban",
];

fn purpose(key: &str) -> Purpose {
    Purpose::parse(key).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn filter(allowed: &[&'static str], withheld: &[&'static str]) -> FieldFilter {
    FieldFilter { allowed: allowed.to_vec(), withheld: withheld.to_vec() }
}

/// The expected filter of each built-in purpose over the built-in catalogue.
fn expected_filter(key: &str) -> FieldFilter {
    match key {
        "service_delivery" => filter(
            &[
                "company_name",
                "first_names",
                "last_name",
                "street",
                "house_number",
                "house_number_addition",
                "postcode",
                "po_box",
                "city",
                "country",
                "email",
                "phone",
                "customer_number",
            ],
            &["iban"],
        ),
        "support" => filter(
            &["company_name", "first_names", "last_name", "email", "phone", "customer_number"],
            &["street", "house_number", "house_number_addition", "postcode", "po_box", "city", "country", "iban"],
        ),
        "billing" => filter(&BILLING_FIELDS, &["company_name", "email", "phone", "customer_number"]),
        "newsletter" => filter(
            &["email"],
            &[
                "company_name",
                "first_names",
                "last_name",
                "street",
                "house_number",
                "house_number_addition",
                "postcode",
                "po_box",
                "city",
                "country",
                "phone",
                "iban",
                "customer_number",
            ],
        ),
        "erasure_request" | "legal_claims" | "storage" => filter(&ALL_ENABLED, &[]),
        other => panic!("no expectation for {other}"),
    }
}

/// The purposes each role may use in the built-in policy.
fn expected_purposes(role: Role) -> &'static [&'static str] {
    match role {
        Role::Admin | Role::Auditor => &[],
        Role::Dpo => &["erasure_request", "legal_claims"],
        Role::Staff => &["service_delivery", "support"],
        Role::Accountant => &["billing"],
    }
}

#[test]
fn role_purpose_matrix() {
    let policy = PurposePolicy::builtin();
    let catalogue = Catalogue::dutch_it_provider();
    let mut allowed_cells = 0;
    for role in Role::ALL {
        for key in PURPOSES {
            let result = decide(&policy, &CallerScope::role(role), &purpose(key), &catalogue, false);
            if expected_purposes(role).contains(&key) {
                assert_eq!(result, Ok(expected_filter(key)), "{role} × {key}");
                allowed_cells += 1;
            } else {
                assert_eq!(
                    result,
                    Err(Denied::PurposeNotAllowed { purpose: purpose(key), by: RefusedBy::Role(role) }),
                    "{role} × {key}"
                );
            }
        }
        let listed: Vec<&str> = policy.role_purposes(role).map(Purpose::as_str).collect();
        let mut expected = expected_purposes(role).to_vec();
        expected.sort_unstable();
        assert_eq!(listed, expected, "{role}");
    }
    assert_eq!(allowed_cells, 5);
}

#[test]
fn every_filter_partitions_the_enabled_fields() {
    let policy = PurposePolicy::builtin();
    let catalogue = Catalogue::dutch_it_provider();
    for key in PURPOSES {
        let f = policy.filter(&purpose(key), &catalogue).unwrap();
        let mut all: Vec<&str> = f.allowed.iter().chain(&f.withheld).copied().collect();
        all.sort_unstable();
        let mut expected = ALL_ENABLED.to_vec();
        expected.sort_unstable();
        assert_eq!(all, expected, "{key}");
        assert_eq!(f, expected_filter(key), "{key}");
    }
}

#[test]
fn accountant_billing_sees_name_address_and_iban_only() {
    let policy = PurposePolicy::builtin();
    let catalogue = Catalogue::dutch_it_provider();
    let f = decide(&policy, &CallerScope::role(Role::Accountant), &purpose("billing"), &catalogue, false).unwrap();
    assert_eq!(f.allowed, BILLING_FIELDS);
    assert_eq!(f.withheld, ["company_name", "email", "phone", "customer_number"]);
    for name in &f.allowed {
        let category = &catalogue.get(name).unwrap().category;
        assert!(
            category.is_within("user.name")
                || category.is_within("user.contact.address")
                || category.as_str() == "user.financial.bank_account",
            "{name} is {category}"
        );
    }

    // Even with every field switched on, gender stays out.
    let mut full = Catalogue::dutch_it_provider();
    full.enable("gender").unwrap();
    let f = decide(&policy, &CallerScope::role(Role::Accountant), &purpose("billing"), &full, false).unwrap();
    assert_eq!(f.allowed, BILLING_FIELDS);
    assert!(f.withheld.contains(&"gender"));
}

#[test]
fn enabled_gender_is_covered_only_by_the_whole_record_purposes() {
    let policy = PurposePolicy::builtin();
    let mut catalogue = Catalogue::dutch_it_provider();
    catalogue.enable("gender").unwrap();
    for key in PURPOSES {
        let f = policy.filter(&purpose(key), &catalogue).unwrap();
        let whole = matches!(key, "erasure_request" | "legal_claims" | "storage");
        assert_eq!(f.allowed.contains(&"gender"), whole, "{key}");
        assert_eq!(f.withheld.contains(&"gender"), !whole, "{key}");
    }
}

#[test]
fn disabled_fields_are_in_neither_list() {
    let policy = PurposePolicy::builtin();
    let f = policy.filter(&purpose("legal_claims"), &Catalogue::dutch_it_provider()).unwrap();
    assert!(!f.allowed.contains(&"gender") && !f.withheld.contains(&"gender"));
}

#[test]
fn restricted_subject_is_readable_only_for_legal_claims_and_storage() {
    let policy = PurposePolicy::builtin();
    let catalogue = Catalogue::dutch_it_provider();
    let everything = CallerScope::token(PURPOSES.map(purpose));
    for key in PURPOSES {
        let result = decide(&policy, &everything, &purpose(key), &catalogue, true);
        if matches!(key, "legal_claims" | "storage") {
            assert_eq!(result, Ok(expected_filter(key)), "{key}");
        } else {
            assert_eq!(result, Err(Denied::Restricted { purpose: purpose(key) }), "{key}");
        }
        // Unrestricted, the same token may use every purpose.
        assert_eq!(decide(&policy, &everything, &purpose(key), &catalogue, false), Ok(expected_filter(key)));
    }
    // The DPO reaches a restricted subject through legal_claims, not through erasure_request.
    let dpo = CallerScope::role(Role::Dpo);
    assert!(decide(&policy, &dpo, &purpose("legal_claims"), &catalogue, true).is_ok());
    let denied = decide(&policy, &dpo, &purpose("erasure_request"), &catalogue, true).unwrap_err();
    assert_eq!(denied.code(), "subject_restricted");
}

#[test]
fn a_caller_without_the_purpose_does_not_learn_about_restriction() {
    let policy = PurposePolicy::builtin();
    let catalogue = Catalogue::dutch_it_provider();
    let denied = decide(&policy, &CallerScope::role(Role::Staff), &purpose("legal_claims"), &catalogue, true);
    assert_eq!(denied.map_err(|d| d.code()), Err("purpose_not_allowed"));
}

#[test]
fn unknown_purpose_is_refused_before_anything_else() {
    let policy = PurposePolicy::builtin();
    let catalogue = Catalogue::dutch_it_provider();
    for caller in [CallerScope::role(Role::Dpo), CallerScope::token([purpose("marketing")])] {
        let denied = decide(&policy, &caller, &purpose("marketing"), &catalogue, true).unwrap_err();
        assert_eq!(denied, Denied::UnknownPurpose(purpose("marketing")));
        assert_eq!(denied.code(), "unknown_purpose");
        assert!(denied.message_en().contains("unknown purpose `marketing`"), "{}", denied.message_en());
        assert!(denied.message_nl().contains("onbekend doel `marketing`"), "{}", denied.message_nl());
        assert_eq!(denied.to_string(), denied.message_en());
    }
}

#[test]
fn tokens_are_limited_to_their_purposes() {
    let policy = PurposePolicy::builtin();
    let catalogue = Catalogue::dutch_it_provider();
    let mailer = CallerScope::token([purpose("newsletter")]);
    assert_eq!(decide(&policy, &mailer, &purpose("newsletter"), &catalogue, false), Ok(expected_filter("newsletter")));
    assert_eq!(
        decide(&policy, &mailer, &purpose("support"), &catalogue, false),
        Err(Denied::PurposeNotAllowed { purpose: purpose("support"), by: RefusedBy::Token })
    );

    // An account token: the role and the token scope must both allow the purpose.
    let narrowed = CallerScope::role_token(Role::Staff, [purpose("support"), purpose("billing")]);
    assert!(decide(&policy, &narrowed, &purpose("support"), &catalogue, false).is_ok());
    assert_eq!(
        decide(&policy, &narrowed, &purpose("service_delivery"), &catalogue, false),
        Err(Denied::PurposeNotAllowed { purpose: purpose("service_delivery"), by: RefusedBy::Token })
    );
    assert_eq!(
        decide(&policy, &narrowed, &purpose("billing"), &catalogue, false),
        Err(Denied::PurposeNotAllowed { purpose: purpose("billing"), by: RefusedBy::Role(Role::Staff) })
    );
    assert_eq!(narrowed.role_of(), Some(Role::Staff));
}

#[test]
fn denied_codes_and_messages() {
    let p = purpose("billing");
    let cases = [
        (Denied::UnknownPurpose(p.clone()), "unknown_purpose", "not in the register", "niet in het register"),
        (
            Denied::PurposeNotAllowed { purpose: p.clone(), by: RefusedBy::Role(Role::Staff) },
            "purpose_not_allowed",
            "the role `staff` may not",
            "de rol `staff` mag geen",
        ),
        (
            Denied::PurposeNotAllowed { purpose: p.clone(), by: RefusedBy::Token },
            "purpose_not_allowed",
            "token is not scoped",
            "token is niet bedoeld",
        ),
        (Denied::Restricted { purpose: p.clone() }, "subject_restricted", "Art. 18", "art. 18"),
    ];
    for (denied, code, en, nl) in cases {
        assert_eq!(denied.code(), code);
        assert_eq!(denied.purpose(), &p);
        assert!(denied.message_en().contains(en), "{}", denied.message_en());
        assert!(denied.message_nl().contains(nl), "{}", denied.message_nl());
        assert!(denied.message_en().contains("`billing`"));
    }
}

#[test]
fn apply_splits_values_and_fails_closed() {
    let policy = PurposePolicy::builtin();
    let f = policy.filter(&purpose("billing"), &Catalogue::dutch_it_provider()).unwrap();
    let values: BTreeMap<&str, &str> = [
        ("iban", "NL91ABNA0417164300"),
        ("email", "jan@example.nl"),
        ("last_name", "Jansen"),
        ("gender", "male"),
        ("not_a_field", "x"),
    ]
    .into_iter()
    .collect();
    let split = f.apply(values);
    assert_eq!(split.shown, [("iban", "NL91ABNA0417164300"), ("last_name", "Jansen")]);
    assert_eq!(split.withheld, ["email", "gender", "not_a_field"]);
    // Debug names fields, never values.
    let debug = format!("{split:?}");
    assert!(debug.contains("iban") && !debug.contains("NL91") && !debug.contains("Jansen"), "{debug}");
}

#[test]
fn explicit_policy_from_register_data() {
    let cat = |k: &str| Category::parse(k).unwrap();
    let policy = PurposePolicy::new(
        [(purpose("helpdesk"), vec![cat("user.contact.email")]), (purpose("archive"), vec![cat("user.contact")])],
        [(Role::Staff, vec![purpose("helpdesk")])],
    )
    .unwrap();
    let catalogue = Catalogue::dutch_it_provider();
    let f = decide(&policy, &CallerScope::role(Role::Staff), &purpose("helpdesk"), &catalogue, false).unwrap();
    assert_eq!(f.allowed, ["email"]);
    assert_eq!(f.withheld.len(), 13);
    // Roles the data does not name may use nothing.
    assert!(decide(&policy, &CallerScope::role(Role::Dpo), &purpose("helpdesk"), &catalogue, false).is_err());
    assert_eq!(policy.categories(&purpose("helpdesk")).map(<[Category]>::len), Some(1));
    assert_eq!(policy.categories(&purpose("billing")), None);
}

#[test]
fn role_permissions_follow_the_issue() {
    use Permission::{HandleRequests, ManageAccounts, ManageRegister, ReadAudit};
    let expected: [(Role, &[Permission]); 5] = [
        (Role::Admin, &[ManageAccounts, ManageRegister]),
        (Role::Dpo, &[ManageRegister, HandleRequests, ReadAudit]),
        (Role::Staff, &[]),
        (Role::Accountant, &[]),
        (Role::Auditor, &[ReadAudit]),
    ];
    for (role, permissions) in expected {
        for permission in Permission::ALL {
            assert_eq!(role.may(permission), permissions.contains(&permission), "{role} {permission}");
        }
    }
    assert_eq!(
        Permission::ALL.map(Permission::as_str),
        ["manage_accounts", "manage_register", "handle_requests", "read_audit"]
    );
}

#[test]
fn role_names_are_stable() {
    assert_eq!(Role::ALL.map(Role::as_str), ["admin", "dpo", "staff", "accountant", "auditor"]);
    for role in Role::ALL {
        assert_eq!(role.to_string().parse::<Role>(), Ok(role));
    }
    let err = "superuser".parse::<Role>().unwrap_err();
    assert_eq!(err, UnknownRole);
    assert_eq!(err.code(), "unknown_role");
    assert_eq!(err.to_string(), "unknown role: expected one of admin, dpo, staff, accountant, auditor");
    assert!(!err.message_nl().contains("superuser"));
}

// ---- IP allowlists ----

#[test]
fn allowlist_parses_networks_and_addresses() {
    let list =
        IpAllowlist::parse(["10.0.0.0/8", " 2001:db8::/32 ", "192.0.2.7", "2001:db8:ffff::1", "0.0.0.0/0"]).unwrap();
    assert_eq!(list.to_string(), "10.0.0.0/8, 2001:db8::/32, 192.0.2.7/32, 2001:db8:ffff::1/128, 0.0.0.0/0");
    assert_eq!(list.entries().len(), 5);
    assert_eq!(IpAllowlist::parse_list(&list.to_string()), Ok(list));
}

#[test]
fn allowlist_matches() {
    let list = IpAllowlist::parse_list("10.0.0.0/8, 2001:db8::/32\n192.0.2.7,").unwrap();
    for inside in ["10.1.2.3", "10.255.255.255", "2001:db8::1", "2001:db8:ffff:ffff::", "192.0.2.7", "::ffff:10.9.9.9"]
    {
        assert!(list.allows(ip(inside)) && list.contains(ip(inside)), "{inside}");
    }
    for outside in ["11.0.0.0", "192.0.2.8", "2001:db9::1", "::1", "127.0.0.1", "::ffff:192.0.2.8", "::10.0.0.1"] {
        assert!(!list.allows(ip(outside)) && !list.contains(ip(outside)), "{outside}");
    }
}

#[test]
fn mapped_addresses_are_normalised_both_ways() {
    let mapped_entry = IpAllowlist::parse(["::ffff:192.0.2.0/120"]).unwrap();
    assert_eq!(mapped_entry.to_string(), "192.0.2.0/24");
    assert!(mapped_entry.allows(ip("192.0.2.99")));
    assert!(mapped_entry.allows(ip("::ffff:192.0.2.99")));
    assert!(!mapped_entry.allows(ip("192.0.3.1")));

    let v4_entry = IpAllowlist::parse(["192.0.2.0/24"]).unwrap();
    assert!(v4_entry.allows(ip("::ffff:192.0.2.1")));
    // `::/0` is IPv6 only: a mapped IPv4 client is IPv4.
    let v6_all = IpAllowlist::parse(["::/0"]).unwrap();
    assert!(v6_all.allows(ip("2001:db8::1")));
    assert!(!v6_all.allows(ip("::ffff:192.0.2.1")));
}

#[test]
fn empty_list_allows_all_but_contains_nothing() {
    let empty = IpAllowlist::parse(Vec::<String>::new()).unwrap();
    assert_eq!(IpAllowlist::parse_list(" , \n"), Ok(empty.clone()));
    assert!(empty.is_empty());
    assert!(empty.allows(ip("203.0.113.9")) && empty.allows(ip("2001:db8::1")));
    assert!(!empty.contains(ip("203.0.113.9")));
}

#[test]
fn allowlist_rejects_malformed_entries_by_position() {
    let problem = |entries: &[&str]| match IpAllowlist::parse(entries) {
        Err(AllowlistError::Entry { position, problem, .. }) => (position, problem),
        other => panic!("{entries:?}: {other:?}"),
    };
    assert_eq!(problem(&["10.0.0.0/8", ""]), (2, EntryProblem::Empty));
    assert_eq!(problem(&["10.0.0.0/8", "192.0.2.7", "10.0.0.256"]), (3, EntryProblem::InvalidAddress));
    assert_eq!(problem(&["localhost"]), (1, EntryProblem::InvalidAddress));
    assert_eq!(problem(&["010.0.0.1"]), (1, EntryProblem::InvalidAddress));
    assert_eq!(problem(&["10.0.0"]), (1, EntryProblem::InvalidAddress));
    assert_eq!(problem(&["2001:db8:::/32"]), (1, EntryProblem::InvalidAddress));
    assert_eq!(problem(&["fe80::1%eth0"]), (1, EntryProblem::InvalidAddress));
    assert_eq!(problem(&["/8"]), (1, EntryProblem::InvalidAddress));
    assert_eq!(problem(&["10.0.0.0/33"]), (1, EntryProblem::InvalidPrefix { max: 32 }));
    assert_eq!(problem(&["2001:db8::/129"]), (1, EntryProblem::InvalidPrefix { max: 128 }));
    assert_eq!(problem(&["10.0.0.0/-1"]), (1, EntryProblem::InvalidPrefix { max: 32 }));
    assert_eq!(problem(&["10.0.0.0/abc"]), (1, EntryProblem::InvalidPrefix { max: 32 }));
    assert_eq!(problem(&["2001:db8::/"]), (1, EntryProblem::InvalidPrefix { max: 128 }));
    assert_eq!(problem(&["10.0.0.1/8"]), (1, EntryProblem::HostBitsSet { network: "10.0.0.0/8".parse().unwrap() }));
    assert_eq!(
        problem(&["2001:db8::1/32"]),
        (1, EntryProblem::HostBitsSet { network: "2001:db8::/32".parse().unwrap() })
    );
    assert_eq!(problem(&[&"1".repeat(65)]), (1, EntryProblem::TooLong));
}

#[test]
fn allowlist_errors_are_clear_and_capped() {
    let err = IpAllowlist::parse_list("10.0.0.0/8, 10.0.0.1/8").unwrap_err();
    assert_eq!(err.code(), "invalid_cidr");
    assert_eq!(
        err.message_en(),
        "IP allowlist entry 2 (`10.0.0.1/8`) has bits set below the prefix length; did you mean 10.0.0.0/8?"
    );
    assert_eq!(
        err.message_nl(),
        "regel 2 van de IP-allowlist (`10.0.0.1/8`) heeft bits gezet onder de prefixlengte; bedoelt u 10.0.0.0/8?"
    );
    assert_eq!(err.to_string(), err.message_en());

    let long = format!("{}\u{1b}[31m", "a".repeat(5000));
    let err = IpAllowlist::parse([long.as_str()]).unwrap_err();
    let message = err.message_en();
    assert!(message.len() < 200, "{message}");
    assert!(message.contains("entry 1") && message.contains("longer than 64"), "{message}");
    assert!(!message.contains('\u{1b}'));

    let err = IpAllowlist::parse(["bad\u{1b}[2J\ninput"]).unwrap_err();
    assert!(err.message_en().contains("`bad?[2J?input`"), "{}", err.message_en());
    assert!(err.message_en().contains("is not an IPv4 or IPv6 address or network"));
    assert!(err.message_nl().contains("is geen IPv4- of IPv6-adres"));

    let too_many: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).collect();
    let err = IpAllowlist::parse(&too_many).unwrap_err();
    assert_eq!(err, AllowlistError::TooMany { max: MAX_ENTRIES });
    assert_eq!(err.code(), "ip_allowlist_too_long");
    assert!(IpAllowlist::parse(&too_many[..MAX_ENTRIES]).is_ok());
}

// ---- X-Forwarded-For ----

fn proxies() -> IpAllowlist {
    IpAllowlist::parse(["10.0.0.0/8", "2001:db8:1::/48"]).unwrap()
}

#[test]
fn untrusted_peer_ignores_forwarded_for() {
    let peer = ip("203.0.113.5");
    assert_eq!(client_address(peer, Some("198.51.100.7"), &proxies()), peer);
    // No trusted proxies configured: nobody's header is believed.
    assert_eq!(client_address(ip("10.0.0.1"), Some("198.51.100.7"), &IpAllowlist::default()), ip("10.0.0.1"));
}

#[test]
fn trusted_peer_without_header_is_the_client() {
    assert_eq!(client_address(ip("10.0.0.1"), None, &proxies()), ip("10.0.0.1"));
    assert_eq!(client_address(ip("10.0.0.1"), Some("  "), &proxies()), ip("10.0.0.1"));
}

#[test]
fn trusted_chain_is_walked_from_the_right() {
    let peer = ip("10.0.0.1");
    assert_eq!(client_address(peer, Some("198.51.100.7"), &proxies()), ip("198.51.100.7"));
    assert_eq!(client_address(peer, Some("198.51.100.7, 10.1.1.1, 10.2.2.2"), &proxies()), ip("198.51.100.7"));
    assert_eq!(client_address(peer, Some("2001:db8:2::9, 2001:db8:1::5"), &proxies()), ip("2001:db8:2::9"));
    // A mapped peer and mapped entries are IPv4.
    assert_eq!(client_address(ip("::ffff:10.0.0.1"), Some("::ffff:198.51.100.7"), &proxies()), ip("198.51.100.7"));
    // Ports and brackets some proxies add.
    assert_eq!(client_address(peer, Some("198.51.100.7:5123"), &proxies()), ip("198.51.100.7"));
    assert_eq!(client_address(peer, Some("[2001:db8:2::9]:443"), &proxies()), ip("2001:db8:2::9"));
    assert_eq!(client_address(peer, Some("[2001:db8:2::9]"), &proxies()), ip("2001:db8:2::9"));
    // All trusted: the left-most entry is the origin.
    assert_eq!(client_address(peer, Some("10.3.3.3, 10.2.2.2"), &proxies()), ip("10.3.3.3"));
}

#[test]
fn spoofed_left_entries_are_ignored() {
    let peer = ip("10.0.0.1");
    // The client wrote "1.1.1.1, 10.9.9.9" itself; the proxy appended the real address.
    let header = "1.1.1.1, 10.9.9.9, 198.51.100.7, 10.2.2.2";
    assert_eq!(client_address(peer, Some(header), &proxies()), ip("198.51.100.7"));
    // Garbage the client wrote to the left is never reached.
    assert_eq!(client_address(peer, Some("<script>, not-an-ip, 198.51.100.7"), &proxies()), ip("198.51.100.7"));
}

#[test]
fn garbage_in_the_walk_falls_back_to_the_peer() {
    let peer = ip("10.0.0.1");
    for header in [
        "garbage",
        "unknown",
        "198.51.100.7,",
        "198.51.100.7, , 10.2.2.2",
        "198.51.100.7, 10.2.2.2 10.3.3.3",
        "198.51.100.7;for=1.2.3.4",
        "2001:db8::1%eth0",
        "\u{0}\u{ff}",
        "[198.51.100.7]",
        &"9".repeat(10_000),
    ] {
        assert_eq!(client_address(peer, Some(header), &proxies()), peer, "{header:?}");
    }
    // A chain of trusted hops longer than the walk limit.
    let long = vec!["10.1.1.1"; 100].join(",");
    assert_eq!(client_address(peer, Some(&long), &proxies()), peer);
}

// ---- properties ----

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/access.txt"))),
        ..ProptestConfig::default()
    }
}

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
        // Mapped IPv4 and the 10/8 proxy range, to reach the interesting branches often.
        any::<[u8; 4]>().prop_map(|b| IpAddr::V6(std::net::Ipv4Addr::from(b).to_ipv6_mapped())),
        any::<[u8; 3]>().prop_map(|b| IpAddr::from([10, b[0], b[1], b[2]])),
    ]
}

fn arb_entry() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_ip().prop_map(|a| a.to_string()),
        (arb_ip(), 0_u8..=140).prop_map(|(a, p)| format!("{a}/{p}")),
        (arb_ip(), 0_u16..=65535).prop_map(|(a, port)| std::net::SocketAddr::new(a, port).to_string()),
        "[0-9a-fA-F:./%\\[\\] ]{0,50}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn allowlist_parse_never_panics(text in any::<String>(), entries in prop::collection::vec(arb_entry(), 0..8)) {
        let _ = IpAllowlist::parse_list(&text);
        if let Ok(list) = IpAllowlist::parse(&entries) {
            // Whatever parses renders to a list that parses back equal.
            prop_assert_eq!(IpAllowlist::parse_list(&list.to_string()), Ok(list));
        } else {
            let err = IpAllowlist::parse(&entries).unwrap_err();
            prop_assert!(err.message_en().len() < 300);
            prop_assert!(err.message_nl().len() < 300);
        }
    }

    #[test]
    fn single_address_entries_contain_themselves(addr in arb_ip()) {
        let list = IpAllowlist::parse([addr.to_string()]).unwrap();
        prop_assert!(list.allows(addr));
        prop_assert!(list.contains(addr.to_canonical()));
    }

    #[test]
    fn client_address_is_the_peer_or_from_the_header(
        peer in arb_ip(),
        parts in prop::collection::vec(arb_entry(), 0..6),
        sep in prop_oneof![Just(","), Just(", "), Just(" , ")],
        raw in any::<Option<String>>(),
    ) {
        let header = parts.join(sep);
        let trusted = proxies();
        for input in [Some(header.as_str()), raw.as_deref()] {
            let got = client_address(peer, input, &trusted);
            let from_header = input.is_some_and(|h| {
                h.split(',').any(|entry| {
                    let entry = entry.trim();
                    let parsed = entry
                        .parse::<IpAddr>()
                        .ok()
                        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
                        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok());
                    parsed.is_some_and(|a| a.to_canonical() == got)
                })
            });
            prop_assert!(got == peer.to_canonical() || from_header, "{input:?} -> {got}");
            // An untrusted peer is always the answer.
            if !trusted.contains(peer) {
                prop_assert_eq!(got, peer.to_canonical());
            }
        }
    }
}
