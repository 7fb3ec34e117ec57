//! Transmission of a portability export to another controller (Art. 20(2): "transmitted directly
//! from one controller to another, where technically feasible").
//!
//! The data subject names the receiving controller's HTTPS endpoint; [`parse_target`] checks what
//! they typed, and [`transmit`] POSTs the export there as JSON. The endpoint comes from outside, so
//! the request must not become a way into the vault's own network (SSRF): every address the host
//! resolves to must be on the public internet (unless the operator allows private networks), the
//! connection is pinned to the addresses checked (DNS rebinding cannot swap them), redirects are
//! not followed, no proxy is used, and only HTTPS with a verified certificate is spoken.
//!
//! Errors never carry the URL's path or query (they may hold the receiver's tokens) nor any body;
//! the host may appear.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use url::{Host, Url};

/// The longest target accepted, in bytes (after trimming).
const MAX_TARGET_BYTES: usize = 2_048;
/// The longest idempotency key accepted, in bytes.
const MAX_IDEMPOTENCY_KEY: usize = 255;
/// The longest reason kept in an [`TransmitError::Unreachable`] message, in characters.
const MAX_REASON_CHARS: usize = 300;
/// The `User-Agent` of every transmission.
const USER_AGENT: &str = concat!("kluis/", env!("CARGO_PKG_VERSION"));
/// The header that lets the receiver recognise a repeated transmission.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// How exports are transmitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransmitSettings {
    /// Allow targets that resolve to loopback, private, link-local and other non-public addresses.
    /// Off by default: the target is chosen by the data subject, so a private address is refused
    /// (a vault inside a private network would otherwise post exports to its neighbours).
    pub allow_private_networks: bool,
    /// Extra trusted CA certificates (PEM, one or more) beside the platform roots: for receivers
    /// with a private CA, and for tests.
    pub extra_root_pem: Option<Vec<u8>>,
    /// The longest a whole transmission may take: name resolution, connection, TLS, request and
    /// the answer's status line.
    pub timeout: Duration,
}

impl Default for TransmitSettings {
    fn default() -> Self {
        TransmitSettings { allow_private_networks: false, extra_root_pem: None, timeout: Duration::from_secs(15) }
    }
}

/// What a successful transmission leaves behind: the receiver's answer and where it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransmitReceipt {
    /// The HTTP status the receiver answered (2xx).
    pub status: u16,
    /// The address the export was sent to (one of those checked).
    pub address: SocketAddr,
}

/// Why a transmission did not happen or did not succeed. Messages name the host at most, never the
/// path, the query or a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransmitError {
    /// The target is not an acceptable HTTPS address ([`parse_target`], or a target built
    /// elsewhere handed to [`transmit`]).
    #[error("the transmission address is not valid: {reason}")]
    TargetInvalid {
        /// What is wrong, without the input.
        reason: &'static str,
    },
    /// The host resolves to an address that is not on the public internet, and private networks
    /// are not allowed.
    #[error("the transmission address {host} resolves to {address}, which is not on the public internet")]
    TargetForbidden {
        /// The target's host.
        host: String,
        /// The first address found that is not public.
        address: IpAddr,
    },
    /// The receiver could not be reached: name resolution, connection, TLS or a timeout.
    #[error("the receiving controller at {host} could not be reached: {reason}")]
    Unreachable {
        /// The target's host.
        host: String,
        /// What went wrong (never the path or query).
        reason: String,
    },
    /// The receiver answered, but not with a 2xx status (a redirect included: none is followed).
    #[error("the receiving controller at {host} did not accept the export (HTTP {status})")]
    Rejected {
        /// The target's host.
        host: String,
        /// The status it answered.
        status: u16,
    },
    /// The transmission itself is set up wrongly: the extra CA certificates cannot be read, or the
    /// idempotency key is not a valid header value. A fault of the operator or the caller, not of
    /// the target.
    #[error("the transmission is not configured correctly: {reason}")]
    Config {
        /// What is wrong.
        reason: &'static str,
    },
}

impl TransmitError {
    /// The stable code of the error (API bodies, audit details).
    pub fn code(&self) -> &'static str {
        match self {
            TransmitError::TargetInvalid { .. } => "transmit_target_invalid",
            TransmitError::TargetForbidden { .. } => "transmit_target_forbidden",
            TransmitError::Unreachable { .. } => "transmit_unreachable",
            TransmitError::Rejected { .. } => "transmit_rejected",
            TransmitError::Config { .. } => "transmit_config_invalid",
        }
    }
}

fn target_invalid(reason: &'static str) -> TransmitError {
    TransmitError::TargetInvalid { reason }
}

/// Parses the receiving controller's endpoint as a person typed it (portal form or API): an
/// `https://` URL with a host, without user name, password or fragment, at most 2,048 bytes once
/// trimmed, with no whitespace or control characters inside. Addresses are not judged here: that
/// is [`transmit`]'s job, with its settings.
pub fn parse_target(raw: &str) -> Result<Url, TransmitError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(target_invalid("it is empty"));
    }
    if text.len() > MAX_TARGET_BYTES {
        return Err(target_invalid("it is longer than 2,048 bytes"));
    }
    // The URL parser silently drops tabs and line breaks; refuse them (and every other space or
    // control character) instead, so what is used is what the person saw.
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(target_invalid("it contains spaces or control characters"));
    }
    let url = Url::parse(text).map_err(|_| target_invalid("it is not a URL"))?;
    check_target(&url)?;
    Ok(url)
}

/// The rules every target must follow, whether [`parse_target`] made it or not.
fn check_target(url: &Url) -> Result<(), TransmitError> {
    if url.scheme() != "https" {
        return Err(target_invalid("only https:// addresses are accepted"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(target_invalid("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(target_invalid("it contains a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(target_invalid("it contains a fragment (#...)"));
    }
    if url.port() == Some(0) {
        return Err(target_invalid("port 0 is not a valid port"));
    }
    if url.as_str().len() > MAX_TARGET_BYTES {
        return Err(target_invalid("it is longer than 2,048 bytes"));
    }
    Ok(())
}

/// Sends `json` (a portability export) to `target` as `POST` with `Content-Type:
/// application/json`, `Idempotency-Key: <idempotency_key>` and `User-Agent: kluis/<version>`.
///
/// The host is resolved first; unless `settings.allow_private_networks`, the transmission is
/// refused when any address found is not public ([`TransmitError::TargetForbidden`], nothing is
/// sent). The connection is then pinned to the addresses checked. A 2xx answer is success (its body
/// is not read); any other status, a redirect included, is [`TransmitError::Rejected`].
pub async fn transmit(
    settings: &TransmitSettings,
    target: &Url,
    idempotency_key: &str,
    json: &[u8],
) -> Result<TransmitReceipt, TransmitError> {
    check_target(target)?;
    let key = idempotency_header(idempotency_key)?;
    let roots = extra_roots(settings.extra_root_pem.as_deref())?;
    let host = host_label(target);
    match tokio::time::timeout(settings.timeout, send(settings, target, &host, key, roots, json)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(TransmitError::Unreachable { host, reason: "timed out".to_owned() }),
    }
}

/// The idempotency key as a header value: 1 to 255 visible ASCII characters.
fn idempotency_header(key: &str) -> Result<HeaderValue, TransmitError> {
    let config = || TransmitError::Config { reason: "the idempotency key must be 1 to 255 visible ASCII characters" };
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(config());
    }
    HeaderValue::from_str(key).map_err(|_| config())
}

/// The extra trusted roots: none, or at least one certificate read from the PEM.
fn extra_roots(pem: Option<&[u8]>) -> Result<Vec<reqwest::Certificate>, TransmitError> {
    let Some(pem) = pem else { return Ok(Vec::new()) };
    let unreadable = || TransmitError::Config { reason: "the extra CA certificates are not readable PEM certificates" };
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|_| unreadable())?;
    if certs.is_empty() {
        return Err(unreadable());
    }
    Ok(certs)
}

/// The host as it may appear in messages (IPv6 literals in brackets).
fn host_label(target: &Url) -> String {
    target.host_str().unwrap_or_default().to_owned()
}

async fn send(
    settings: &TransmitSettings,
    target: &Url,
    host: &str,
    key: HeaderValue,
    roots: Vec<reqwest::Certificate>,
    json: &[u8],
) -> Result<TransmitReceipt, TransmitError> {
    let unreachable = |reason: String| TransmitError::Unreachable { host: host.to_owned(), reason };
    let port = target.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match target.host() {
        Some(Host::Domain(domain)) => {
            let found = tokio::net::lookup_host((domain, port))
                .await
                .map_err(|e| unreachable(scrub(format!("name resolution failed: {e}"), target)))?;
            // Sorted and without duplicates, so the choice does not depend on the resolver's order.
            found.collect::<BTreeSet<_>>().into_iter().collect()
        }
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        None => return Err(target_invalid("it has no host")),
    };
    if addrs.is_empty() {
        return Err(unreachable("name resolution found no address".to_owned()));
    }
    if !settings.allow_private_networks
        && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip()))
    {
        return Err(TransmitError::TargetForbidden { host: host.to_owned(), address: bad.ip() });
    }

    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(USER_AGENT)
        .tls_certs_merge(roots);
    if let Some(Host::Domain(domain)) = target.host() {
        // Connect only to the addresses just checked: a second lookup (DNS rebinding) cannot
        // swap in another one. IP literals are connected to as they are.
        builder = builder.resolve_to_addrs(domain, &addrs);
    }
    let client = builder
        .build()
        .map_err(|_| TransmitError::Config { reason: "the HTTPS client cannot be set up with these settings" })?;
    let response = client
        .post(target.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(IDEMPOTENCY_KEY, key)
        .body(json.to_vec())
        .send()
        .await
        .map_err(|e| unreachable(describe(&e, target)))?;
    let status = response.status();
    let address = response.remote_addr().unwrap_or(addrs[0]);
    // The answer's body is not read: only the status matters, and the receiver is not trusted to
    // send a small one. Dropping the response closes the connection.
    drop(response);
    if status.is_success() {
        Ok(TransmitReceipt { status: status.as_u16(), address })
    } else {
        Err(TransmitError::Rejected { host: host.to_owned(), status: status.as_u16() })
    }
}

/// A reason for a failed request: what kind of failure, then the chain of causes (I/O, TLS).
/// reqwest's own message names the URL, so only its kind and its sources are used.
fn describe(error: &reqwest::Error, target: &Url) -> String {
    let mut text = String::from(if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "the connection failed"
    } else {
        "the request failed"
    });
    let mut source = std::error::Error::source(error);
    let mut seen = Vec::new();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !line.is_empty() && !seen.contains(&line) {
            let _ = write!(text, ": {line}");
            seen.push(line);
        }
        source = cause.source();
    }
    scrub(text, target)
}

/// `text`, shortened, unless it mentions the target's path or query: then a generic reason.
fn scrub(text: String, target: &Url) -> String {
    let path = target.path();
    let leaks = (path.len() > 1 && text.contains(path))
        || target.query().is_some_and(|q| !q.is_empty() && text.contains(q))
        || text.contains(target.as_str());
    if leaks {
        return "the request failed".to_owned();
    }
    if text.chars().count() > MAX_REASON_CHARS {
        let mut short: String = text.chars().take(MAX_REASON_CHARS).collect();
        short.push_str("...");
        return short;
    }
    text
}

/// IPv4 ranges that are not on the public internet (IANA special-purpose registry).
const V4_NOT_PUBLIC: [(Ipv4Addr, u8); 16] = [
    (Ipv4Addr::UNSPECIFIED, 8),           // "this network", unspecified
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared address space (CGNAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local (cloud metadata services)
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // deprecated 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved
    (Ipv4Addr::BROADCAST, 32),            // limited broadcast (inside 240/4; named for clarity)
];

/// IPv6 global unicast (2000::/3): everything outside it is not public (loopback, unspecified,
/// unique local fc00::/7, link-local fe80::/10, site-local, multicast ff00::/8, discard-only,
/// IPv4-compatible, ...), except the IPv4-mapped and NAT64 forms judged by their IPv4 address.
const V6_GLOBAL_UNICAST: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
/// The parts of 2000::/3 that are not public either.
const V6_NOT_PUBLIC: [(Ipv6Addr, u8); 3] = [
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments (Teredo, ...)
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
];
/// NAT64 well-known prefix (64:ff9b::/96): the IPv4 address is in the last 32 bits.
const V6_NAT64: (Ipv6Addr, u8) = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
/// 6to4 (2002::/16): the IPv4 address is in bits 16 to 48.
const V6_6TO4: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

fn in_v4(ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// Whether `ip` is a globally routable unicast address, the only kind a transmission may go to
/// when private networks are not allowed (`IpAddr::is_global` is not stable). Conservative: a
/// range that is rarely a web server's (IETF assignments, benchmarking) counts as not public.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    !V4_NOT_PUBLIC.iter().any(|&range| in_v4(ip, range))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let o = ip.octets();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if in_v6(ip, V6_NAT64) {
        return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if !in_v6(ip, V6_GLOBAL_UNICAST) || V6_NOT_PUBLIC.iter().any(|&range| in_v6(ip, range)) {
        return false;
    }
    if in_v6(ip, V6_6TO4) {
        return is_public_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, Uri, header};
    use axum::response::{IntoResponse, Response};
    use axum_server::tls_rustls::RustlsConfig;
    use proptest::prelude::*;

    use super::*;

    /// One request the test receiver got.
    #[derive(Debug, Clone)]
    struct Received {
        path: String,
        query: Option<String>,
        headers: HeaderMap,
        body: Bytes,
    }

    type Log = Arc<Mutex<Vec<Received>>>;

    /// A real HTTPS receiver on 127.0.0.1 with a certificate for `localhost` and `127.0.0.1`.
    /// `/broken...` answers 500, `/moved...` a 307 to `/elsewhere`, everything else 202; every
    /// request is logged first.
    struct Receiver {
        addr: SocketAddr,
        cert_pem: Vec<u8>,
        log: Log,
    }

    impl Receiver {
        async fn start() -> Receiver {
            let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("self-signed certificate");
            let cert_pem = issued.cert.pem().into_bytes();
            let key_pem = issued.signing_key.serialize_pem().into_bytes();
            let config = RustlsConfig::from_pem(cert_pem.clone(), key_pem).await.expect("TLS config");
            let log: Log = Arc::default();
            let state = log.clone();
            let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let log = state.clone();
                async move { receive(&log, &uri, headers, body) }
            });
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let addr = listener.local_addr().unwrap();
            let server = axum_server::from_tcp_rustls(listener, config).expect("HTTPS server");
            tokio::spawn(async move { server.serve(app.into_make_service()).await });
            Receiver { addr, cert_pem, log }
        }

        fn url(&self, host: &str, path_and_query: &str) -> Url {
            parse_target(&format!("https://{host}:{}{path_and_query}", self.addr.port())).unwrap()
        }

        fn trusting(&self, allow_private_networks: bool) -> TransmitSettings {
            TransmitSettings {
                allow_private_networks,
                extra_root_pem: Some(self.cert_pem.clone()),
                timeout: Duration::from_secs(10),
            }
        }

        fn received(&self) -> Vec<Received> {
            self.log.lock().unwrap().clone()
        }
    }

    fn receive(log: &Log, uri: &Uri, headers: HeaderMap, body: Bytes) -> Response {
        let path = uri.path().to_owned();
        log.lock().unwrap().push(Received { path: path.clone(), query: uri.query().map(str::to_owned), headers, body });
        if path.starts_with("/broken") {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        } else if path.starts_with("/moved") {
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "/elsewhere")]).into_response()
        } else {
            (StatusCode::ACCEPTED, "{\"received\":true}").into_response()
        }
    }

    /// The secret parts of the test targets, which no message may show.
    const SECRETS: [&str; 2] = ["s3cret-path", "t0ken"];

    fn assert_discreet(err: &TransmitError) {
        for text in [err.to_string(), format!("{err:?}")] {
            for secret in SECRETS {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(!text.contains("\"name\""), "no body in {text}");
        }
    }

    const EXPORT: &[u8] = b"{\"name\":\"Jan Jansen\",\"email\":\"jan@example.nl\",\"bytes\":\"\\u00e9\xc3\xa9\"}\n";

    #[tokio::test]
    async fn posts_the_export_byte_exact_with_its_headers() {
        let receiver = Receiver::start().await;
        // A host name, so the lookup and the pinned resolution are used.
        let target = receiver.url("localhost", "/inbox/s3cret-path?token=t0ken");
        let receipt = transmit(&receiver.trusting(true), &target, "req-0192-abc", EXPORT).await.unwrap();
        assert_eq!(receipt.status, 202);
        assert!(receipt.address.ip().is_loopback(), "{receipt:?}");
        assert_eq!(receipt.address.port(), receiver.addr.port());

        let got = receiver.received();
        assert_eq!(got.len(), 1, "{got:?}");
        let req = &got[0];
        assert_eq!(req.path, "/inbox/s3cret-path");
        assert_eq!(req.query.as_deref(), Some("token=t0ken"));
        assert_eq!(&req.body[..], EXPORT);
        assert_eq!(req.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(req.headers["idempotency-key"], "req-0192-abc");
        assert_eq!(req.headers[header::USER_AGENT], concat!("kluis/", env!("CARGO_PKG_VERSION")));
        assert_eq!(req.headers[header::CONTENT_LENGTH], EXPORT.len().to_string().as_str());

        // An IP literal works the same way.
        let target = receiver.url("127.0.0.1", "/inbox");
        let receipt = transmit(&receiver.trusting(true), &target, "req-2", b"{}").await.unwrap();
        assert_eq!(receipt.address, receiver.addr);
        assert_eq!(receiver.received().len(), 2);
    }

    #[tokio::test]
    async fn a_private_target_is_refused_before_anything_is_sent() {
        let receiver = Receiver::start().await;
        for host in ["localhost", "127.0.0.1"] {
            let target = receiver.url(host, "/inbox/s3cret-path?token=t0ken");
            let err = transmit(&receiver.trusting(false), &target, "req-1", EXPORT).await.unwrap_err();
            assert_eq!(err.code(), "transmit_target_forbidden", "{err}");
            assert!(matches!(&err, TransmitError::TargetForbidden { address, .. } if address.is_loopback()), "{err:?}");
            assert!(err.to_string().contains(host), "{err}");
            assert_discreet(&err);
        }
        assert!(receiver.received().is_empty());
        // The default settings refuse it too.
        let target = receiver.url("127.0.0.1", "/inbox");
        let err = transmit(&TransmitSettings::default(), &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err.code(), "transmit_target_forbidden");
        assert!(receiver.received().is_empty());
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_unreachable() {
        let receiver = Receiver::start().await;
        let target = receiver.url("localhost", "/inbox/s3cret-path?token=t0ken");
        let settings = TransmitSettings { extra_root_pem: None, ..receiver.trusting(true) };
        let err = transmit(&settings, &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err.code(), "transmit_unreachable", "{err}");
        assert!(err.to_string().contains("localhost"), "{err}");
        assert_discreet(&err);
        assert!(receiver.received().is_empty(), "nothing is sent over an unverified connection");
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let receiver = Receiver::start().await;
        let target = receiver.url("localhost", "/moved/s3cret-path?token=t0ken");
        let err = transmit(&receiver.trusting(true), &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err, TransmitError::Rejected { host: "localhost".to_owned(), status: 307 });
        assert_eq!(err.code(), "transmit_rejected");
        assert_discreet(&err);
        let got = receiver.received();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].path, "/moved/s3cret-path");
        assert!(!got.iter().any(|r| r.path == "/elsewhere"));
    }

    #[tokio::test]
    async fn a_server_error_is_rejected_with_its_status() {
        let receiver = Receiver::start().await;
        let target = receiver.url("127.0.0.1", "/broken/s3cret-path?token=t0ken");
        let err = transmit(&receiver.trusting(true), &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err, TransmitError::Rejected { host: "127.0.0.1".to_owned(), status: 500 });
        assert_eq!(err.code(), "transmit_rejected");
        assert_eq!(err.to_string(), "the receiving controller at 127.0.0.1 did not accept the export (HTTP 500)");
        assert_discreet(&err);
        assert_eq!(receiver.received().len(), 1);
    }

    #[tokio::test]
    async fn a_silent_receiver_times_out() {
        // Accepts connections and never answers, not even the TLS handshake.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open.push(stream);
            }
        });
        let target = parse_target(&format!("https://127.0.0.1:{}/s3cret-path?token=t0ken", addr.port())).unwrap();
        let settings = TransmitSettings {
            allow_private_networks: true,
            timeout: Duration::from_millis(300),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let err = transmit(&settings, &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err.code(), "transmit_unreachable", "{err}");
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_discreet(&err);
        hold.abort();
    }

    #[tokio::test]
    async fn a_closed_port_and_an_unknown_name_are_unreachable() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let settings = TransmitSettings { allow_private_networks: true, ..Default::default() };
        let target = parse_target(&format!("https://127.0.0.1:{port}/s3cret-path?token=t0ken")).unwrap();
        let err = transmit(&settings, &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err.code(), "transmit_unreachable", "{err}");
        assert_discreet(&err);

        // `.invalid` never resolves (RFC 2606).
        let target = parse_target("https://kluis-transmit-test.invalid/s3cret-path?token=t0ken").unwrap();
        let err = transmit(&settings, &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err.code(), "transmit_unreachable", "{err}");
        assert!(err.to_string().contains("kluis-transmit-test.invalid"), "{err}");
        assert_discreet(&err);
    }

    #[tokio::test]
    async fn bad_settings_and_keys_and_targets_are_refused_before_sending() {
        let receiver = Receiver::start().await;
        let target = receiver.url("127.0.0.1", "/inbox");
        let settings =
            TransmitSettings { extra_root_pem: Some(b"not a certificate".to_vec()), ..receiver.trusting(true) };
        let err = transmit(&settings, &target, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err.code(), "transmit_config_invalid", "{err}");
        for key in ["", "with space", "line\nbreak", "sleutel-é", &"k".repeat(256)] {
            let err = transmit(&receiver.trusting(true), &target, key, EXPORT).await.unwrap_err();
            assert_eq!(err.code(), "transmit_config_invalid", "{key:?}: {err}");
        }
        // A URL built elsewhere still has to follow the rules.
        let plain = Url::parse(&format!("http://127.0.0.1:{}/inbox", receiver.addr.port())).unwrap();
        let err = transmit(&receiver.trusting(true), &plain, "req-1", EXPORT).await.unwrap_err();
        assert_eq!(err.code(), "transmit_target_invalid", "{err}");
        assert!(receiver.received().is_empty());
    }

    #[test]
    fn parse_target_accepts_https_addresses_with_a_host() {
        let accepted = [
            ("https://example.org", "https://example.org/"),
            ("https://example.org/import", "https://example.org/import"),
            ("  https://Example.ORG:8443/a/b?x=1&y=2 \n", "https://example.org:8443/a/b?x=1&y=2"),
            ("HTTPS://example.org/", "https://example.org/"),
            ("https://203.0.113.7/inbox", "https://203.0.113.7/inbox"),
            ("https://10.0.0.1/inbox", "https://10.0.0.1/inbox"),
            ("https://[2001:db8::1]:443/inbox", "https://[2001:db8::1]/inbox"),
            ("https://localhost/", "https://localhost/"),
            ("https://bücher.example/import", "https://xn--bcher-kva.example/import"),
        ];
        for (raw, expected) in accepted {
            let url = parse_target(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(url.as_str(), expected, "{raw:?}");
        }
        let longest = format!("https://example.org/{}", "a".repeat(MAX_TARGET_BYTES - 20));
        assert_eq!(longest.len(), MAX_TARGET_BYTES);
        assert!(parse_target(&longest).is_ok());
    }

    #[test]
    fn parse_target_refuses_everything_else() {
        let too_long = format!("https://example.org/{}", "a".repeat(MAX_TARGET_BYTES - 19));
        let refused = [
            "",
            "   ",
            "example.org/import",
            "http://example.org/import",
            "ftp://example.org/import",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:application/json,{}",
            "https://",
            "https://user@example.org/",
            "https://user:pass@example.org/",
            "https://:pass@example.org/",
            "https://example.org/#fragment",
            "https://example.org/import#",
            "https://exa mple.org/",
            "https://example.org/a b",
            "https://example.org/\timport",
            "https://example.org/\nimport",
            "https://example.org:0/",
            "https://example.org:99999/",
            "https://[::1/",
            too_long.as_str(),
        ];
        for raw in refused {
            let err = parse_target(raw).expect_err(raw);
            assert_eq!(err.code(), "transmit_target_invalid", "{raw:?}");
            assert!(!err.to_string().contains("example.org"), "the input is not echoed: {err}");
        }
    }

    #[test]
    fn error_codes_are_stable() {
        let host = || "example.org".to_owned();
        let cases = [
            (TransmitError::TargetInvalid { reason: "x" }, "transmit_target_invalid"),
            (
                TransmitError::TargetForbidden { host: host(), address: IpAddr::V4(Ipv4Addr::LOCALHOST) },
                "transmit_target_forbidden",
            ),
            (TransmitError::Unreachable { host: host(), reason: "x".to_owned() }, "transmit_unreachable"),
            (TransmitError::Rejected { host: host(), status: 500 }, "transmit_rejected"),
            (TransmitError::Config { reason: "x" }, "transmit_config_invalid"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn scrub_hides_paths_and_queries() {
        let target = Url::parse("https://example.org/s3cret-path?token=t0ken").unwrap();
        assert_eq!(scrub("refused: /s3cret-path".to_owned(), &target), "the request failed");
        assert_eq!(scrub("refused: token=t0ken".to_owned(), &target), "the request failed");
        assert_eq!(scrub("connection refused".to_owned(), &target), "connection refused");
        let long = scrub("x".repeat(1_000), &target);
        assert_eq!(long.chars().count(), MAX_REASON_CHARS + 3);
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn is_public_knows_the_special_ranges() {
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.255",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2001:200::1",
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for text in public {
            assert!(is_public(ip(text)), "{text} is public");
        }
        let not_public = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.7",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::808:808",
            "100::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001::1",
            "2001:1ff::1",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "3fff::1",
            "2002:a00:1::1",
            "2002:7f00:1::1",
            "5f00::1",
        ];
        for text in not_public {
            assert!(!is_public(ip(text)), "{text} is not public");
        }
    }

    proptest! {
        #[test]
        fn private_ranges_are_never_public(host in any::<u32>(), v6 in any::<u128>()) {
            let in_v4_range = |net: [u8; 4], len: u32| {
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                Ipv4Addr::from((u32::from_be_bytes(net) & mask) | (host & !mask))
            };
            for (net, len) in [([10, 0, 0, 0], 8), ([127, 0, 0, 0], 8), ([192, 168, 0, 0], 16)] {
                let addr = in_v4_range(net, len);
                prop_assert!(!is_public(IpAddr::V4(addr)), "{}", addr);
                prop_assert!(!is_public(IpAddr::V6(addr.to_ipv6_mapped())), "{}", addr.to_ipv6_mapped());
            }
            // fc00::/7
            let ula = Ipv6Addr::from((0xfc00_u128 << 112) | (v6 & (u128::MAX >> 7)));
            prop_assert!(!is_public(IpAddr::V6(ula)), "{}", ula);
            // ::ffff:10.0.0.0/104
            let mapped = Ipv6Addr::from((0xffff_0a00_0000_u128) | (v6 & 0x00ff_ffff));
            prop_assert!(!is_public(IpAddr::V6(mapped)), "{}", mapped);
        }

        #[test]
        fn a_mapped_address_is_judged_as_its_ipv4(host in any::<u32>()) {
            let v4 = Ipv4Addr::from(host);
            prop_assert_eq!(is_public(IpAddr::V4(v4)), is_public(IpAddr::V6(v4.to_ipv6_mapped())));
        }
    }
}
