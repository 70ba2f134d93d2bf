//! Rate limits (§9.1) with `governor`: three keyed GCRA buckets kept in memory per instance:
//! `public` (client IP: lookup, decline, accept), `writes` (organization: the invitation
//! writes) and `caller` (token `sub`: every authenticated operation). A refusal is 429 with
//! `Retry-After`; every response of a limited operation says where it stands in the IETF
//! `RateLimit-Policy` / `RateLimit` headers, which the envelope middleware writes from the
//! request's [`Ledger`].

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
};
use ipnet::IpNet;
use poem::{FromRequest, Request, RequestBody, http::HeaderMap, web::RemoteAddr};

use crate::error::ApiError;

/// The three buckets of §9.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Public,
    Writes,
    Caller,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Writes => "writes",
            Self::Caller => "caller",
        }
    }
}

/// Requests per minute for each bucket (`None`: off) and the proxies whose
/// `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct RateLimitConfig {
    pub public: Option<NonZeroU32>,
    pub writes: Option<NonZeroU32>,
    pub caller: Option<NonZeroU32>,
    pub trusted_proxies: Vec<IpNet>,
}

/// Where one request stands in one bucket, for the response headers.
#[derive(Clone, Copy, Debug)]
pub struct Standing {
    pub bucket: Bucket,
    pub quota: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// What a request met on its way, written as headers on its response.
#[derive(Clone, Default)]
pub struct Ledger(Arc<Mutex<Vec<Standing>>>);

impl Ledger {
    fn record(&self, standing: Standing) {
        if let Ok(mut all) = self.0.lock() {
            all.push(standing);
        }
    }

    /// `RateLimit-Policy` and `RateLimit` values, or `None` when no bucket applied.
    pub fn headers(&self) -> Option<(String, String)> {
        let all = self.0.lock().ok()?;
        if all.is_empty() {
            return None;
        }
        let policy = all
            .iter()
            .map(|s| format!("\"{}\";q={};w=60", s.bucket.name(), s.quota))
            .collect::<Vec<_>>()
            .join(", ");
        let standing = all
            .iter()
            .map(|s| {
                format!(
                    "\"{}\";r={};t={}",
                    s.bucket.name(),
                    s.remaining,
                    s.reset_secs
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        Some((policy, standing))
    }
}

type Limiter = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;

struct Keyed {
    quota: u32,
    limiter: Limiter,
}

/// The buckets of one instance.
pub struct RateLimits {
    public: Option<Keyed>,
    writes: Option<Keyed>,
    caller: Option<Keyed>,
    trusted: Vec<IpNet>,
    checks: AtomicU64,
}

/// Keys idle long enough to be full again are dropped every this many checks, so a flood
/// from many addresses cannot grow memory without bound.
const EVICT_EVERY: u64 = 4096;

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        let keyed = |per_minute: Option<NonZeroU32>| {
            per_minute.map(|n| Keyed {
                quota: n.get(),
                limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>(),
            })
        };
        Self {
            public: keyed(config.public),
            writes: keyed(config.writes),
            caller: keyed(config.caller),
            trusted: config.trusted_proxies.clone(),
            checks: AtomicU64::new(0),
        }
    }

    fn keyed(&self, bucket: Bucket) -> Option<&Keyed> {
        match bucket {
            Bucket::Public => self.public.as_ref(),
            Bucket::Writes => self.writes.as_ref(),
            Bucket::Caller => self.caller.as_ref(),
        }
    }

    /// Counts one request against `bucket` for `key`; 429 when it is over.
    pub fn check(
        &self,
        bucket: Bucket,
        key: &str,
        ledger: Option<&Ledger>,
    ) -> Result<(), ApiError> {
        let Some(keyed) = self.keyed(bucket) else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            keyed.limiter.retain_recent();
            keyed.limiter.shrink_to_fit();
        }
        let per_cell = 60.0 / f64::from(keyed.quota);
        match keyed.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let reset = (f64::from(keyed.quota - remaining) * per_cell).ceil() as u64;
                if let Some(ledger) = ledger {
                    ledger.record(Standing {
                        bucket,
                        quota: keyed.quota,
                        remaining,
                        reset_secs: reset,
                    });
                }
                Ok(())
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let retry_after = retry_after.max(1);
                if let Some(ledger) = ledger {
                    ledger.record(Standing {
                        bucket,
                        quota: keyed.quota,
                        remaining: 0,
                        reset_secs: retry_after,
                    });
                }
                metrics::counter!("rate_limited_total", "bucket" => bucket.name()).increment(1);
                Err(ApiError::TooManyRequests {
                    retry_after_secs: retry_after,
                })
            }
        }
    }

    /// How many keys `bucket` holds state for.
    pub fn tracked_keys(&self, bucket: Bucket) -> usize {
        self.keyed(bucket).map_or(0, |k| k.limiter.len())
    }

    /// The client: the socket peer, or, when the peer is a trusted proxy, the right-most
    /// `X-Forwarded-For` address that is not itself trusted.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !self.is_trusted(*ip))
                .unwrap_or(peer),
        )
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// Counts a request against `bucket` for `key`, using the limits and ledger attached to it.
pub fn count(req: &Request, bucket: Bucket, key: &str) -> Result<(), ApiError> {
    match req.data::<Arc<RateLimits>>() {
        Some(limits) => limits.check(bucket, key, req.extensions().get::<Ledger>()),
        None => Ok(()),
    }
}

/// The `public` bucket as an operation argument (lookup, decline, accept): keyed by client IP.
pub struct PublicLimit;

impl<'a> FromRequest<'a> for PublicLimit {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let Some(limits) = req.data::<Arc<RateLimits>>() else {
            return Ok(Self);
        };
        let peer = match req.remote_addr() {
            RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
            _ => None,
        };
        let key = limits
            .client_ip(peer, req.headers())
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        limits.check(Bucket::Public, &key, req.extensions().get::<Ledger>())?;
        Ok(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_from_many_addresses_is_forgotten_once_their_buckets_refill() {
        let limits = RateLimits::new(&RateLimitConfig {
            public: NonZeroU32::new(600_000),
            ..RateLimitConfig::default()
        });
        // Fewer checks than EVICT_EVERY: nothing has been evicted yet.
        for i in 0..4_000 {
            let key = format!("10.0.{}.{}", i / 256, i % 256);
            limits
                .check(Bucket::Public, &key, None)
                .expect("within the quota");
        }
        assert_eq!(limits.tracked_keys(Bucket::Public), 4_000);
        // One request refills in 0.1 ms; after that every key is full again and evictable.
        std::thread::sleep(std::time::Duration::from_millis(20));
        for _ in 0..EVICT_EVERY {
            let _ = limits.check(Bucket::Public, "203.0.113.9", None);
        }
        assert!(
            limits.tracked_keys(Bucket::Public) < 100,
            "{}",
            limits.tracked_keys(Bucket::Public)
        );
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let limits = RateLimits::new(&RateLimitConfig {
            trusted_proxies: vec!["10.0.0.0/8".parse().expect("cidr")],
            ..RateLimitConfig::default()
        });
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.1.1.1, 2.2.2.2, 10.0.0.2".parse().expect("value"),
        );
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let outsider: IpAddr = "9.9.9.9".parse().expect("ip");
        assert_eq!(
            limits.client_ip(Some(proxy), &headers),
            "2.2.2.2".parse().ok()
        );
        assert_eq!(limits.client_ip(Some(outsider), &headers), Some(outsider));
    }
}
