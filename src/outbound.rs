//! Every call Rolegate makes to another server (OpenID Connect discovery, provider keys,
//! token endpoints) goes through [`Outbound`], with one policy: https to public addresses
//! only; loopback, private, link-local (cloud metadata included), shared, multicast,
//! documentation and unspecified addresses are refused. The check runs on the addresses the
//! name actually resolves to, which are the ones connected to, so a name that resolves to an
//! internal address (DNS rebinding) is refused too. No redirects; bodies capped and
//! time-bounded. `ROLEGATE_OUTBOUND_ALLOW` (comma-separated `host:port` or CIDR) opens
//! named internal targets, such as an on-premises identity provider.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::http;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Largest body read from another server.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest a whole call may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One entry of `ROLEGATE_OUTBOUND_ALLOW`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// A host name or address and port, exactly.
    HostPort(String, u16),
    /// Every address of a network.
    Network(IpAddr, u8),
}

/// What may be reached beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub allowed: Vec<Allowed>,
}

impl Policy {
    /// Parses `host:port` and CIDR entries, comma-separated.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let mut allowed = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            allowed.push(parse_entry(entry)?);
        }
        Ok(Policy { allowed })
    }

    fn network_allows(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|a| match a {
            Allowed::Network(net, bits) => in_network(ip, *net, *bits),
            Allowed::HostPort(..) => false,
        })
    }

    fn host_port_allows(&self, host: &str, port: u16) -> bool {
        self.allowed.iter().any(|a| match a {
            Allowed::HostPort(h, p) => h.eq_ignore_ascii_case(host) && *p == port,
            Allowed::Network(..) => false,
        })
    }

    fn names_host(&self, host: &str) -> bool {
        self.allowed
            .iter()
            .any(|a| matches!(a, Allowed::HostPort(h, _) if h.eq_ignore_ascii_case(host)))
    }

    /// Whether a request to this URL may be sent at all (before resolution): its scheme,
    /// and an address literal's class.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        let host = url.host_str().ok_or("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        if self.host_port_allows(host, port) {
            return Ok(());
        }
        if self.names_host(host) {
            return Err(format!("{host} is allowed on another port only"));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !self.network_allows(ip) {
                if !is_public(ip) {
                    return Err(format!("{ip} is not a public address"));
                }
                if url.scheme() != "https" {
                    return Err("only https is allowed to public addresses".into());
                }
            }
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err("only https is allowed to public addresses".into());
        }
        Ok(())
    }

    /// Whether a resolved address of `host` may be connected to.
    pub fn allows_address(&self, host: &str, ip: IpAddr) -> bool {
        self.names_host(host) || self.network_allows(ip) || is_public(ip)
    }
}

/// Networks given as CIDR or single addresses (`ROLEGATE_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<(IpAddr, u8)>);

impl Networks {
    pub fn parse(text: &str) -> Result<Networks, String> {
        let mut networks = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let network = if entry.contains('/') {
                match parse_entry(entry)? {
                    Allowed::Network(ip, bits) => (ip, bits),
                    Allowed::HostPort(..) => return Err(format!("{entry:?}: not a network")),
                }
            } else {
                let ip: IpAddr = entry
                    .parse()
                    .map_err(|_| format!("{entry:?}: not an address or CIDR network"))?;
                (ip, if ip.is_ipv4() { 32 } else { 128 })
            };
            networks.push(network);
        }
        Ok(Networks(networks))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(net, bits)| in_network(ip, *net, *bits))
    }
}

fn parse_entry(entry: &str) -> Result<Allowed, String> {
    if let Some((net, bits)) = entry.split_once('/') {
        let net: IpAddr = net
            .parse()
            .map_err(|_| format!("{entry:?}: not a network address"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits: u8 = bits
            .parse()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| format!("{entry:?}: the prefix length is 0 to {max}"))?;
        return Ok(Allowed::Network(net, bits));
    }
    let (host, port) = entry
        .rsplit_once(':')
        .ok_or_else(|| format!("{entry:?}: give host:port or a CIDR network"))?;
    let port: u16 = port.parse().map_err(|_| format!("{entry:?}: not a port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{entry:?}: no host"));
    }
    Ok(Allowed::HostPort(host.to_ascii_lowercase(), port))
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Whether an address is on the public internet: not loopback, private, shared (CGNAT),
/// link-local (cloud metadata at 169.254.169.254 included), multicast, broadcast,
/// documentation, benchmarking, reserved or unspecified. IPv4-mapped IPv6 addresses are
/// judged as the IPv4 address they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let within = |net: [u8; 4], bits: u8| in_network(IpAddr::V4(ip), IpAddr::V4(net.into()), bits);
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || within([0, 0, 0, 0], 8)
        || within([100, 64, 0, 0], 10)
        || within([192, 0, 0, 0], 24)
        || within([198, 18, 0, 0], 15)
        || within([240, 0, 0, 0], 4))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let within = |net: Ipv6Addr, bits: u8| in_network(IpAddr::V6(ip), IpAddr::V6(net), bits);
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || within(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7)
        || within(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10)
        || within(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32)
        || within(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96)
        || within(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64))
}

/// How names are turned into addresses; the system resolver in production, a fixed map
/// in tests.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The system's resolver.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// Resolves names and keeps only the addresses the policy allows, so that the connection
/// can only go to an allowed address.
struct CheckedResolver {
    policy: Arc<Policy>,
    lookup: Arc<dyn Lookup>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = lookup.lookup(host.clone()).await?;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| policy.allows_address(&host, *ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no address the outbound policy allows").into();
                return Err(refused);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Why an outbound call failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refused by the outbound policy: {0}")]
    Refused(String),
    #[error("the answer is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("building the request: {0}")]
    Request(String),
}

/// The one HTTP client for calls to other servers.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<Policy>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Outbound {
    pub fn new(policy: Policy) -> Outbound {
        Outbound::with_lookup(policy, Arc::new(SystemLookup))
    }

    pub fn with_lookup(policy: Policy, lookup: Arc<dyn Lookup>) -> Outbound {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
                lookup,
            }))
            .build()
            .unwrap_or_default();
        Outbound { client, policy }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Sends a request under the policy and reads at most [`MAX_BODY_BYTES`] of its answer.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        let request: reqwest::Request = request
            .try_into()
            .map_err(|e: reqwest::Error| OutboundError::Request(e.to_string()))?;
        self.policy
            .check_url(request.url())
            .map_err(OutboundError::Refused)?;
        let mut response = self.client.execute(request).await?;
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(OutboundError::TooLarge);
        }
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(OutboundError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|e| OutboundError::Request(e.to_string()))
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Outbound {
    type Error = openidconnect::HttpClientError<OutboundError>;
    type Future = Pin<
        Box<
            dyn Future<Output = Result<openidconnect::HttpResponse, Self::Error>>
                + Send
                + Sync
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            self.send(request)
                .await
                .map_err(|e| openidconnect::HttpClientError::Other(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn only_public_addresses_are_public() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip(internal)), "{internal} counted as public");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert!(is_public(ip(public)), "{public} counted as internal");
        }
    }

    #[test]
    fn allow_entries_parse_and_match() {
        let policy = Policy::parse("keycloak.corp:8443, 127.0.0.0/8 ,[::1]:9000").expect("parses");
        assert_eq!(policy.allowed.len(), 3);
        assert!(policy.network_allows(ip("127.1.2.3")));
        assert!(!policy.network_allows(ip("10.0.0.1")));
        assert!(policy.host_port_allows("KEYCLOAK.corp", 8443));
        assert!(!policy.host_port_allows("keycloak.corp", 443));
        assert!(policy.host_port_allows("::1", 9000));
        for bad in ["nohostport", "10.0.0.0/33", "x:notaport", ":80", "1.2.3/8"] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_need_https_and_a_public_or_allowed_target() {
        let url = |u: &str| reqwest::Url::parse(u).expect("url");
        let none = Policy::default();
        assert!(none.check_url(&url("https://idp.example/x")).is_ok());
        assert!(none.check_url(&url("http://idp.example/x")).is_err());
        assert!(none.check_url(&url("https://127.0.0.1/x")).is_err());
        assert!(none.check_url(&url("https://[::1]/x")).is_err());
        assert!(none
            .check_url(&url("https://169.254.169.254/latest"))
            .is_err());
        let some = Policy::parse("127.0.0.1:9000,idp.corp:8443").expect("parses");
        assert!(some.check_url(&url("http://127.0.0.1:9000/x")).is_ok());
        assert!(some.check_url(&url("http://127.0.0.1:9001/x")).is_err());
        assert!(some.check_url(&url("https://idp.corp:8443/x")).is_ok());
        assert!(some.check_url(&url("https://idp.corp/x")).is_err());
    }

    /// Maps every name to one loopback address, as a rebinding name would.
    struct Rebinding(IpAddr);

    impl Lookup for Rebinding {
        fn lookup(
            &self,
            _: String,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
            let ip = self.0;
            Box::pin(async move { Ok(vec![ip]) })
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_an_internal_address_is_never_connected_to() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let outbound =
            Outbound::with_lookup(Policy::default(), Arc::new(Rebinding(ip("127.0.0.1"))));
        let request = http::Request::get(format!(
            "https://idp.example:{port}/.well-known/openid-configuration"
        ))
        .body(Vec::new())
        .expect("request");
        let result = outbound.send(request).await;
        assert!(result.is_err(), "{result:?}");
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the loopback listener was connected to"
        );
        // The same name allowed by host and port is reached.
        let allowed = Outbound::with_lookup(
            Policy::parse(&format!("idp.example:{port}")).expect("parses"),
            Arc::new(Rebinding(ip("127.0.0.1"))),
        );
        let request = http::Request::get(format!("http://idp.example:{port}/"))
            .body(Vec::new())
            .expect("request");
        let pending = tokio::spawn(async move { allowed.send(request).await });
        let mut connected = false;
        for _ in 0..100 {
            if listener.accept().is_ok() {
                connected = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pending.abort();
        assert!(connected, "an allowed target was not reached");
    }
}
