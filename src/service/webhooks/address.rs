//! Where webhooks may point (§10.7): `https://` only, and never at loopback, private,
//! link-local, metadata or otherwise internal addresses, unless the operator allows them
//! (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOW_PRIVATE`). A URL is checked when it is registered,
//! and every delivery resolves the host again through [`GuardedResolver`], which hands the
//! HTTP client only addresses that pass: a name that later resolves elsewhere (DNS
//! rebinding) is refused at delivery time.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// What the operator allows webhook URLs to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// `WEBHOOK_ALLOW_HTTP`: plain `http://` URLs.
    pub allow_http: bool,
    /// `WEBHOOK_ALLOW_PRIVATE`: loopback, private and link-local targets.
    pub allow_private: bool,
}

/// The longest URL an endpoint may have.
pub const MAX_URL_LEN: usize = 2048;

/// How long registration waits for the host to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks a URL for registration; the error is the reason, phrased for `url: …`.
pub async fn check(raw: &str, policy: UrlPolicy) -> Result<Url, String> {
    let url = check_syntax(raw, policy)?;
    if policy.allow_private {
        return Ok(url);
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => refuse_ip(IpAddr::V4(ip))?,
        Some(Host::Ipv6(ip)) => refuse_ip(IpAddr::V6(ip))?,
        Some(Host::Domain(name)) => {
            let port = url.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host((name, port));
            let addrs: Vec<SocketAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(addrs)) => addrs.collect(),
                _ => return Err("host does not resolve".to_owned()),
            };
            if addrs.is_empty() {
                return Err("host does not resolve".to_owned());
            }
            for addr in addrs {
                refuse_ip(addr.ip())?;
            }
        }
        None => return Err("must have a host".to_owned()),
    }
    Ok(url)
}

/// Everything that can be decided without the network: scheme, host, no credentials.
pub fn check_syntax(raw: &str, policy: UrlPolicy) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("is not a valid URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err("must use https".to_owned()),
    }
    if url.host().is_none() {
        return Err("must have a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".to_owned());
    }
    Ok(url)
}

fn refuse_ip(ip: IpAddr) -> Result<(), String> {
    if is_internal(ip) {
        return Err(format!(
            "resolves to {ip}, a loopback, private, link-local or reserved address"
        ));
    }
    Ok(())
}

/// True for every address a webhook must not reach from inside the operator's network.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: [(u32, u8); 15] = [
        (0x0000_0000, 8),  // "this network"
        (0x0a00_0000, 8),  // private
        (0x6440_0000, 10), // carrier-grade NAT (and Alibaba's metadata address)
        (0x7f00_0000, 8),  // loopback
        (0xa9fe_0000, 16), // link-local, cloud metadata 169.254.169.254
        (0xac10_0000, 12), // private
        (0xc000_0000, 24), // IETF protocol assignments
        (0xc000_0200, 24), // documentation
        (0xc058_6300, 24), // 6to4 relay anycast
        (0xc0a8_0000, 16), // private
        (0xc612_0000, 15), // benchmarking
        (0xc633_6400, 24), // documentation
        (0xcb00_7100, 24), // documentation
        (0xe000_0000, 4),  // multicast
        (0xf000_0000, 4),  // reserved, broadcast
    ];
    BLOCKED.iter().any(|&(net, len)| {
        Ipv4Net::new(Ipv4Addr::from(net), len).is_ok_and(|net| net.contains(&ip))
    })
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return internal_v4(v4);
    }
    const BLOCKED: [(u128, u8); 7] = [
        (0, 127),                                        // unspecified, loopback
        (0xfc00 << 112, 7),      // unique local (AWS metadata fd00:ec2::254)
        (0xfe80 << 112, 10),     // link-local
        (0xfec0 << 112, 10),     // site-local (deprecated)
        (0xff00 << 112, 8),      // multicast
        (0x2001_0db8 << 96, 32), // documentation
        (0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // discard-only
    ];
    BLOCKED.iter().any(|&(net, len)| {
        Ipv6Net::new(Ipv6Addr::from(net), len).is_ok_and(|net| net.contains(&ip))
    })
}

/// The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let bits = u128::from(ip);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let nat64 = 0x0064_ff9b_u128 << 96;
    if bits >> 32 == nat64 >> 32 {
        return Some(low);
    }
    if bits >> 112 == 0x2002 {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    // IPv4-compatible (::a.b.c.d, deprecated), but not :: and ::1 themselves.
    if bits >> 32 == 0 && bits > 1 {
        return Some(low);
    }
    None
}

/// The HTTP client's resolver for deliveries: resolves as the system does, then keeps only
/// the addresses the policy allows, so the connection can only go to a checked address.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0)))
                .await
                .map_err(|_| boxed("resolving the webhook host timed out"))??;
            let allowed: Vec<SocketAddr> = addrs
                .filter(|addr| allow_private || !is_internal(addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(boxed(
                    "the webhook host resolves only to internal addresses",
                ));
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

fn boxed(message: &str) -> Box<dyn std::error::Error + Send + Sync> {
    message.into()
}

/// The resolver as the client builder takes it.
pub fn resolver(policy: UrlPolicy) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver {
        allow_private: policy.allow_private,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(s: &str) -> bool {
        is_internal(s.parse().expect("an address"))
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:0001::",
            "::127.0.0.1",
            "ff02::1",
        ] {
            assert!(internal(ip), "{ip} should be internal");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!internal(ip), "{ip} should be public");
        }
    }

    #[test]
    fn syntax_rules_hold() {
        let strict = UrlPolicy::default();
        assert!(check_syntax("https://example.com/hook", strict).is_ok());
        assert_eq!(
            check_syntax("http://example.com/hook", strict)
                .err()
                .as_deref(),
            Some("must use https")
        );
        let lenient = UrlPolicy {
            allow_http: true,
            allow_private: false,
        };
        assert!(check_syntax("http://example.com/hook", lenient).is_ok());
        assert!(check_syntax("ftp://example.com/", lenient).is_err());
        assert!(check_syntax("https://user:pw@example.com/", strict).is_err());
        assert!(check_syntax("not a url", strict).is_err());
        assert!(check_syntax("https://example.com/#x", strict).is_err());
    }

    #[tokio::test]
    async fn literal_and_named_internal_hosts_are_refused() {
        let strict = UrlPolicy::default();
        for url in [
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.5:8443/",
            "https://localhost/hook",
        ] {
            assert!(check(url, strict).await.is_err(), "{url}");
        }
        let dev = UrlPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(check("http://127.0.0.1:9/hook", dev).await.is_ok());
    }
}
