//! The client's address for rate limits. Behind a proxy the peer is the proxy, so its
//! X-Forwarded-For is believed, but only when the peer is a proxy the operator listed.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The address to hold responsible for a request.
///
/// When the peer is trusted, X-Forwarded-For is read from the right (the hop the trusted proxy
/// itself appended) leftwards past further trusted proxies; the first address that is not a
/// trusted proxy is the client. Entries further left were written by the client and may be
/// forged, so they are never used.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut nearest = peer;
    for hop in header.rsplit(',') {
        let Some(ip) = parse_hop(hop) else {
            // Unreadable: stop at the last hop a trusted proxy vouched for.
            return nearest;
        };
        if !trusted.contains(&ip) {
            return ip;
        }
        nearest = ip;
    }
    nearest
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The key a per-address limit counts under: IPv6 clients usually hold a whole /64, so it
/// counts as one address.
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("198.51.100.1"), &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_hop_it_appended_is_the_client() {
        let proxy = ip("10.0.0.2");
        // The client forged the first entry; the proxy appended the real address.
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4, 198.51.100.7"), &[proxy]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked_past() {
        let edge = ip("10.0.0.1");
        let inner = ip("10.0.0.2");
        assert_eq!(
            client_ip(inner, Some("198.51.100.7, 10.0.0.1"), &[edge, inner]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_without_a_header_or_with_junk_counts_as_itself() {
        let proxy = ip("10.0.0.2");
        assert_eq!(client_ip(proxy, None, &[proxy]), proxy);
        assert_eq!(client_ip(proxy, Some("junk"), &[proxy]), proxy);
    }

    #[test]
    fn mapped_and_ported_addresses_are_read() {
        let proxy = ip("10.0.0.2");
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.2"), Some("198.51.100.7:5555"), &[proxy]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        assert_eq!(
            rate_key(ip("2001:db8:1:2:aaaa::1")),
            rate_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            rate_key(ip("2001:db8:1:2::1")),
            rate_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(rate_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
