//! Which peers may tell Herald a client's address (`TRUSTED_PROXIES`). Behind a reverse proxy
//! every connection comes from the proxy: without this the sign-in brake would count all clients
//! as one, so ten bad links from anyone would lock every operator out, and the audit log would
//! name the proxy for every sign-in.

use std::{fmt, net::IpAddr};

/// IP addresses and CIDR blocks, e.g. `127.0.0.1,172.16.0.0/12,fd00::/8`. Empty trusts nobody:
/// the connection's own address is the client's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Block>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    network: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(raw: &str) -> Result<Self, String> {
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{raw:?} is not an IP address or CIDR block"))?;
        let network = network.to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("{raw:?} has a prefix length outside 0–{width}"))?,
        };
        Ok(Self { network, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// An address alone when the block is a single host, as it is usually written.
impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == width {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8, width: u32) -> bool {
    let host_bits = width - u32::from(prefix);
    host_bits >= width || (a >> host_bits) == (b >> host_bits)
}

impl TrustedProxies {
    /// A comma-separated list; blanks between commas are ignored.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Block::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(ip))
    }

    /// The client's address: the peer's own unless the peer is a trusted proxy. Then it is the
    /// nearest `X-Forwarded-For` entry that is not a trusted proxy, read from the right: each
    /// proxy appends the address it saw, and anything left of the first untrusted one may have
    /// been written by the client itself. `forwarded_for` holds the header's values in order.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops = forwarded_for.iter().flat_map(|value| value.split(','));
        let hops: Vec<&str> = hops.collect();
        for hop in hops.iter().rev() {
            // A garbled entry ends the trail: the last address read stands.
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The list as `TRUSTED_PROXIES` takes it; empty when nobody is trusted.
impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blocks: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&blocks.join(","))
    }
}

/// `203.0.113.7`, `203.0.113.7:5100`, `2001:db8::1` or `[2001:db8::1]:5100`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn blocks_and_addresses_parse_and_bad_ones_say_why() {
        let proxies = TrustedProxies::parse(" 127.0.0.1, 172.16.0.0/12 ,fd00::/8,").unwrap();
        assert!(proxies.trusts(ip("127.0.0.1")));
        assert!(!proxies.trusts(ip("127.0.0.2")));
        assert!(proxies.trusts(ip("172.31.255.1")));
        assert!(!proxies.trusts(ip("172.32.0.1")));
        assert!(proxies.trusts(ip("fd12::1")));
        assert!(proxies.trusts(ip("::ffff:172.18.0.1")), "IPv4-mapped");
        assert_eq!(proxies.to_string(), "127.0.0.1,172.16.0.0/12,fd00::/8");
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .trusts(ip("8.8.8.8"))
        );

        assert_eq!(
            TrustedProxies::parse("10.0.0.0/33").unwrap_err(),
            "\"10.0.0.0/33\" has a prefix length outside 0–32"
        );
        assert_eq!(
            TrustedProxies::parse("proxy.local").unwrap_err(),
            "\"proxy.local\" is not an IP address or CIDR block"
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_a_forged_prefix_is_ignored() {
        let proxies = TrustedProxies::parse("127.0.0.1,172.16.0.0/12").unwrap();
        let gateway = ip("172.18.0.1");
        // Through the host's proxy (127.0.0.1) and Docker's gateway.
        assert_eq!(
            proxies.client_ip(gateway, &["203.0.113.7, 127.0.0.1"]),
            ip("203.0.113.7")
        );
        // The client wrote its own header; the proxy appended the real address.
        assert_eq!(
            proxies.client_ip(gateway, &["10.9.9.9", "198.51.100.4"]),
            ip("198.51.100.4")
        );
        assert_eq!(
            proxies.client_ip(gateway, &["[2001:db8::1]:5100"]),
            ip("2001:db8::1")
        );
        // No header, or only proxies: the last address read.
        assert_eq!(proxies.client_ip(gateway, &[]), gateway);
        assert_eq!(proxies.client_ip(gateway, &["127.0.0.1"]), ip("127.0.0.1"));
        // Garbage stops the walk at the last good hop.
        assert_eq!(
            proxies.client_ip(gateway, &["203.0.113.7, unknown"]),
            gateway
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            proxies.client_ip(ip("198.51.100.4"), &["203.0.113.7"]),
            ip("198.51.100.4")
        );
        assert_eq!(
            TrustedProxies::default().client_ip(ip("127.0.0.1"), &["203.0.113.7"]),
            ip("127.0.0.1")
        );
    }
}
