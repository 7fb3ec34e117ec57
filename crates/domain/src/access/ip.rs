//! Per-account IP allowlists and the client address behind trusted proxies (issue item 3).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::{IpNet, Ipv4Net};

/// Most entries one list may hold. A per-account list needs a handful; the cap bounds memory
/// and the linear match.
pub const MAX_ENTRIES: usize = 1024;

/// Longest entry accepted. The longest valid entry is an IPv4-mapped IPv6 network written
/// out in full, such as `0000:0000:0000:0000:0000:ffff:255.255.255.255/128` (49 characters).
pub const MAX_ENTRY_LEN: usize = 64;

/// At most this many `X-Forwarded-For` entries are examined, from the right; a longer chain of
/// trusted proxies falls back to the peer.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// A list of IPv4 and IPv6 networks (`10.0.0.0/8`, `2001:db8::/32`) and single addresses
/// (`192.0.2.7`).
///
/// Two readings, deliberately separate:
/// - [`IpAllowlist::allows`] is for an account's allowlist: an **empty list means no
///   restriction**, since an account without a list may log in from anywhere (the issue makes
///   lists per account and optional).
/// - [`IpAllowlist::contains`] is plain membership: an empty list contains nothing. The
///   trusted-proxy list uses this, so an empty one trusts no proxy.
///
/// IPv4-mapped IPv6 (`::ffff:192.0.2.7`), in entries and in checked addresses, is treated as
/// the IPv4 address, so a dual-stack listener matches IPv4 entries. A pure IPv6 network such as
/// `::/0` does not match IPv4 clients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowlist {
    nets: Vec<IpNet>,
}

/// What is wrong with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryProblem {
    Empty,
    TooLong,
    InvalidAddress,
    /// The part after `/` is not a number from 0 to `max`.
    InvalidPrefix {
        max: u8,
    },
    /// Bits below the prefix are set (`10.0.0.1/8`): likely a typo, so refused, naming the network.
    HostBitsSet {
        network: IpNet,
    },
}

/// Why a list does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowlistError {
    #[error("{}", self.message_en())]
    TooMany { max: usize },
    /// `position` is 1-based; `entry` is the offending text, cut to [`MAX_ENTRY_LEN`] characters
    /// with anything but printable ASCII replaced by `?`.
    #[error("{}", self.message_en())]
    Entry { position: usize, entry: String, problem: EntryProblem },
}

impl AllowlistError {
    /// Stable snake_case code for problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            AllowlistError::TooMany { .. } => "ip_allowlist_too_long",
            AllowlistError::Entry { .. } => "invalid_cidr",
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            AllowlistError::TooMany { max } => format!("an IP allowlist holds at most {max} entries"),
            AllowlistError::Entry { position, entry, problem } => {
                let what = match problem {
                    EntryProblem::Empty => "is empty".to_owned(),
                    EntryProblem::TooLong => format!("is longer than {MAX_ENTRY_LEN} characters"),
                    EntryProblem::InvalidAddress => {
                        "is not an IPv4 or IPv6 address or network (such as 192.0.2.7, 10.0.0.0/8 or 2001:db8::/32)"
                            .to_owned()
                    }
                    EntryProblem::InvalidPrefix { max } => {
                        format!("has an invalid prefix length: give a number from 0 to {max} after the /")
                    }
                    EntryProblem::HostBitsSet { network } => {
                        format!("has bits set below the prefix length; did you mean {network}?")
                    }
                };
                format!("IP allowlist entry {position} (`{entry}`) {what}")
            }
        }
    }

    pub fn message_nl(&self) -> String {
        match self {
            AllowlistError::TooMany { max } => format!("een IP-allowlist bevat hoogstens {max} regels"),
            AllowlistError::Entry { position, entry, problem } => {
                let what = match problem {
                    EntryProblem::Empty => "is leeg".to_owned(),
                    EntryProblem::TooLong => format!("is langer dan {MAX_ENTRY_LEN} tekens"),
                    EntryProblem::InvalidAddress => {
                        "is geen IPv4- of IPv6-adres of -netwerk (zoals 192.0.2.7, 10.0.0.0/8 of 2001:db8::/32)"
                            .to_owned()
                    }
                    EntryProblem::InvalidPrefix { max } => {
                        format!("heeft een ongeldige prefixlengte: geef een getal van 0 tot en met {max} na de /")
                    }
                    EntryProblem::HostBitsSet { network } => {
                        format!("heeft bits gezet onder de prefixlengte; bedoelt u {network}?")
                    }
                };
                format!("regel {position} van de IP-allowlist (`{entry}`) {what}")
            }
        }
    }
}

impl IpAllowlist {
    /// Parses entries, one network or address each (surrounding whitespace ignored). The first
    /// bad entry is reported by 1-based position.
    pub fn parse<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<IpAllowlist, AllowlistError> {
        let mut nets = Vec::new();
        for (index, entry) in entries.into_iter().enumerate() {
            if index == MAX_ENTRIES {
                return Err(AllowlistError::TooMany { max: MAX_ENTRIES });
            }
            let entry = entry.as_ref();
            let net = parse_entry(entry.trim()).map_err(|problem| AllowlistError::Entry {
                position: index + 1,
                entry: excerpt(entry.trim()),
                problem,
            })?;
            nets.push(net);
        }
        Ok(IpAllowlist { nets })
    }

    /// Parses one text with entries separated by commas and/or whitespace (a configuration
    /// value such as `10.0.0.0/8, 2001:db8::/32`). Empty pieces between separators are skipped, and
    /// error positions count entries, not characters.
    pub fn parse_list(text: &str) -> Result<IpAllowlist, AllowlistError> {
        IpAllowlist::parse(text.split(|c: char| c == ',' || c.is_whitespace()).filter(|piece| !piece.is_empty()))
    }

    /// The networks, normalised (mapped IPv6 as IPv4, single addresses as /32 or /128).
    pub fn entries(&self) -> &[IpNet] {
        &self.nets
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Membership: true when some entry contains `addr`. Empty contains nothing.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.nets.iter().any(|net| net.contains(&addr))
    }

    /// The allowlist check for a login or token use: an empty list allows every address,
    /// otherwise `addr` must be in some entry.
    pub fn allows(&self, addr: IpAddr) -> bool {
        self.nets.is_empty() || self.contains(addr)
    }
}

/// Entries in canonical form joined by `, `; parses back to an equal list.
impl fmt::Display for IpAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, net) in self.nets.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

fn parse_entry(entry: &str) -> Result<IpNet, EntryProblem> {
    if entry.is_empty() {
        return Err(EntryProblem::Empty);
    }
    if entry.len() > MAX_ENTRY_LEN {
        return Err(EntryProblem::TooLong);
    }
    let (addr_part, prefix_part) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (entry, None),
    };
    let addr: IpAddr = addr_part.parse().map_err(|_| EntryProblem::InvalidAddress)?;
    let max = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let prefix = match prefix_part {
        None => max,
        Some(digits) => {
            // Plain decimal digits only: no sign, no spaces, no leading zeros beyond "0".
            let well_formed = !digits.is_empty()
                && digits.len() <= 3
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            match digits.parse::<u8>() {
                Ok(prefix) if well_formed && prefix <= max => prefix,
                _ => return Err(EntryProblem::InvalidPrefix { max }),
            }
        }
    };
    let net = IpNet::new(addr, prefix).map_err(|_| EntryProblem::InvalidPrefix { max })?;
    if net.trunc() != net {
        return Err(EntryProblem::HostBitsSet { network: normalise(net.trunc()) });
    }
    Ok(normalise(net))
}

/// An IPv6 network inside `::ffff:0:0/96` becomes the IPv4 network it maps.
fn normalise(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && v6.prefix_len() >= 96
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && let Ok(v4net) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4net);
    }
    net
}

/// At most `MAX_ENTRY_LEN` characters of an entry, printable ASCII only, for an error message.
fn excerpt(entry: &str) -> String {
    let mut out: String =
        entry.chars().take(MAX_ENTRY_LEN).map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
    if entry.chars().nth(MAX_ENTRY_LEN).is_some() {
        out.push_str("...");
    }
    out
}

/// The address a request really comes from.
///
/// `X-Forwarded-For` is believed only when `peer` (the TCP peer) is in `trusted_proxies`
/// ([`IpAllowlist::contains`]: an empty list trusts no one). Several header lines must be joined
/// with `,` in order before calling. The list is walked from the right (the entry the nearest
/// proxy added), skipping addresses of trusted proxies, and the first untrusted address is the
/// client; entries further left were written by that client and are not believed. If every
/// entry is a trusted proxy, the left-most one is returned.
///
/// An entry is a bare address, optionally with a port (`192.0.2.7:443`, `[2001:db8::1]:443`) or
/// IPv6 in brackets. Meeting anything else during the walk (an empty entry, `unknown`, garbage),
/// or more than [`MAX_FORWARDED_HOPS`] entries, falls back to `peer`: a trusted proxy sent
/// something we cannot read, and the peer is the last address we know for sure. The result is
/// canonical (IPv4-mapped IPv6 as IPv4). Never panics.
pub fn client_address(peer: IpAddr, x_forwarded_for: Option<&str>, trusted_proxies: &IpAllowlist) -> IpAddr {
    let peer = peer.to_canonical();
    let Some(header) = x_forwarded_for else {
        return peer;
    };
    if !trusted_proxies.contains(peer) || header.trim().is_empty() {
        return peer;
    }
    let mut leftmost = None;
    for (hop, entry) in header.rsplit(',').enumerate() {
        if hop == MAX_FORWARDED_HOPS {
            return peer;
        }
        let Some(addr) = parse_forwarded(entry.trim()) else {
            return peer;
        };
        if !trusted_proxies.contains(addr) {
            return addr;
        }
        leftmost = Some(addr);
    }
    leftmost.unwrap_or(peer)
}

fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    if entry.is_empty() || entry.len() > MAX_ENTRY_LEN {
        return None;
    }
    let addr = if let Ok(addr) = entry.parse::<IpAddr>() {
        addr
    } else if let Ok(socket) = entry.parse::<SocketAddr>() {
        socket.ip()
    } else {
        let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
        IpAddr::V6(inner.parse::<Ipv6Addr>().ok()?)
    };
    Some(addr.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_networks_become_ipv4() {
        let list = IpAllowlist::parse(["::ffff:10.0.0.0/104", "::ffff:192.0.2.7"]).unwrap();
        assert_eq!(list.to_string(), "10.0.0.0/8, 192.0.2.7/32");
        // Shorter than /96 is a real IPv6 network, left alone.
        let wide = IpAllowlist::parse(["::/0"]).unwrap();
        assert_eq!(wide.to_string(), "::/0");
    }

    #[test]
    fn excerpt_is_capped_and_printable() {
        assert_eq!(excerpt("a\u{7}b\u{e9}"), "a?b?");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long), format!("{}...", "x".repeat(MAX_ENTRY_LEN)));
    }

    #[test]
    fn prefix_syntax_is_strict() {
        for bad in ["10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/ 8", "10.0.0.0/33", "::/129", "10.0.0.0/8/8"] {
            assert!(matches!(parse_entry(bad), Err(EntryProblem::InvalidPrefix { .. })), "{bad}");
        }
        assert!(parse_entry("0.0.0.0/0").is_ok());
    }
}
