//! The metrics recorder keeps every latency sample until something drains it. This test is its
//! own binary, so its own process: it reads the process's resident anonymous memory, which
//! other tests running beside it would disturb.

use std::time::Duration;

/// Resident anonymous memory of this process, in KiB (`RssAnon` in `/proc/self/status`).
fn rss_anon_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssAnon in /proc/self/status")
}

/// Three million samples recorded over about six seconds, never scraped: kept, they grow the
/// process by about 46 MiB (some 16 bytes each in the recorder's buckets, as measured with the
/// upkeep turned off); drained every second, what is resident at any time is about one second's
/// worth (about 8 MiB). And none is lost: the scrape at the end counts them all.
#[test]
#[cfg(target_os = "linux")]
fn latency_samples_are_drained_without_a_scrape() {
    const CHUNKS: u64 = 60;
    const PER_CHUNK: u64 = 50_000;
    let handle = voke_invitations::metrics::handle();
    let histogram = metrics::histogram!(
        "http_request_duration_seconds",
        "method" => "GET",
        "route" => "/upkeep-test",
        "status" => "200",
    );
    let before = rss_anon_kib();
    let mut peak = before;
    for _ in 0..CHUNKS {
        for _ in 0..PER_CHUNK {
            histogram.record(0.0003);
        }
        std::thread::sleep(Duration::from_millis(100));
        peak = peak.max(rss_anon_kib());
    }
    let grown_mib = (peak.saturating_sub(before)) / 1024;
    assert!(
        grown_mib < 24,
        "resident anonymous memory grew by {grown_mib} MiB over {} unscraped samples",
        CHUNKS * PER_CHUNK
    );
    let scraped = handle.render();
    let count = scraped
        .lines()
        .find(|l| {
            l.starts_with("http_request_duration_seconds_count")
                && l.contains("route=\"/upkeep-test\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    assert_eq!(count, Some(CHUNKS * PER_CHUNK), "{scraped}");
}
