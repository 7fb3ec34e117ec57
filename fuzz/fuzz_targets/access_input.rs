//! Fuzzes the access-control parsers of outside input: IP allowlists (CIDR lists) and
//! `X-Forwarded-For` headers. Nothing may panic; a parsed list renders to text that parses back
//! equal; `client_address` returns the peer or an address that is written in the header.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use kluis_domain::access::{IpAllowlist, client_address};
use libfuzzer_sys::fuzz_target;

fn from_header(header: &str, addr: IpAddr) -> bool {
    header.split(',').any(|entry| {
        let entry = entry.trim();
        let parsed = entry
            .parse::<IpAddr>()
            .ok()
            .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
            .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse::<Ipv6Addr>().ok().map(IpAddr::V6));
        parsed.is_some_and(|a| a.to_canonical() == addr)
    })
}

fuzz_target!(|data: &[u8]| {
    // First byte picks the peer; the rest is "<allowlist>\n<x-forwarded-for>".
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (list_text, header) = text.split_once('\n').unwrap_or((text, ""));

    let list = IpAllowlist::parse_list(list_text);
    match &list {
        Ok(list) => assert_eq!(IpAllowlist::parse_list(&list.to_string()).as_ref(), Ok(list)),
        Err(err) => {
            assert!(err.message_en().len() < 400);
            assert!(err.message_nl().len() < 400);
        }
    }
    // Each line of the text as one entry, too.
    let _ = IpAllowlist::parse(text.lines());

    let trusted = match list {
        Ok(list) => list,
        Err(_) => IpAllowlist::parse(["10.0.0.0/8", "2001:db8::/32"]).expect("valid"),
    };
    let peer = match selector % 4 {
        0 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        1 => IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()),
        2 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        _ => IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
    };
    for input in [None, Some(header)] {
        let got = client_address(peer, input, &trusted);
        assert!(got == peer.to_canonical() || input.is_some_and(|h| from_header(h, got)));
    }
});
