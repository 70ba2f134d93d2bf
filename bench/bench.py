#!/usr/bin/env python3
"""Benchmark of voke-invitations: read and write endpoints under wrk, email delivery to an SMTP
sink, and the server's RSS afterwards, on SQLite and PostgreSQL. See README "Benchmarks".

Everything stays on 127.0.0.1; every loop is bounded in count and time. `--smoke` is the short
run CI does: it fails when an endpoint answers anything but 2xx or an email is not delivered.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ORG = "0191f0c4-7a3c-7d4e-8a2b-2f7c1c9e4a11"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DB = "voke_bench"


def log(*args):
    print("[bench]", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """An aiosmtpd server recording when each recipient's message arrived."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.lock = threading.Lock()
        self.arrivals = {}
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                now = time.time()
                with sink.lock:
                    for rcpt in envelope.rcpt_tos:
                        sink.arrivals.setdefault(rcpt.lower(), now)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def count(self, prefix=""):
        with self.lock:
            return sum(1 for r in self.arrivals if r.startswith(prefix))

    def arrived(self, rcpt):
        with self.lock:
            return self.arrivals.get(rcpt.lower())

    def times(self, prefix):
        with self.lock:
            return sorted(t for r, t in self.arrivals.items() if r.startswith(prefix))

    def reset(self):
        with self.lock:
            self.arrivals.clear()

    def stop(self):
        self.controller.stop()


class Engine:
    def __init__(self, name, workdir):
        self.name = name
        if name == "sqlite":
            self.path = os.path.join(workdir, "bench.db")
            self.url = f"sqlite://{self.path}?mode=rwc"
        else:
            # No TLS to a server on the same host (the peer's driver did not use it either);
            # over a network, keep sqlx's default of TLS when the server offers it.
            self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB + "?sslmode=disable"

    def reset(self):
        if self.name == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
        else:
            psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            psql(PG_ADMIN, f"CREATE DATABASE {PG_DB}")

    def scalar(self, sql):
        if self.name == "sqlite":
            args = ["sqlite3", self.path, sql]
        else:
            args = ["psql", "-tA", self.url, "-c", sql]
        return subprocess.run(args, capture_output=True, text=True, check=True,
                              timeout=120).stdout.strip()

    def run_sql_file(self, name, **params):
        with open(os.path.join(HERE, "seed", name)) as f:
            sql = f.read()
        if self.name == "sqlite":
            # Parameters bound by the sqlite3 shell; the organization as a 16-byte blob.
            args = ["sqlite3", self.path]
            for key, value in params.items():
                if key == "org":
                    value = "\"X'" + str(value).replace("-", "").upper() + "'\""
                args += ["-cmd", f".parameter set :{key} {value}"]
            subprocess.run(args, input=sql, text=True, check=True, timeout=3600,
                           stdout=subprocess.DEVNULL)
        else:
            args = ["psql", "-q", "-v", "ON_ERROR_STOP=1", self.url]
            for key, value in params.items():
                args[1:1] = ["-v", f"{key}={value}"]
            subprocess.run(args, input=sql, text=True, check=True, timeout=1800,
                           stdout=subprocess.DEVNULL)

    def stuck(self):
        """The messages still PENDING, for the failure report: who holds them and since when."""
        sql = ("SELECT attempts, lock_owner IS NOT NULL, locked_until, next_attempt_at, "
               "count(*) FROM email_outbox WHERE status = 'PENDING' "
               "GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC LIMIT 10")
        try:
            return self.scalar(sql).replace("\n", "; ")
        except subprocess.SubprocessError as e:
            return f"(could not read the outbox: {e})"


def psql(url, sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   timeout=120, stdout=subprocess.DEVNULL)


class Server:
    def __init__(self, binary, env):
        self.binary, self.env = binary, env
        self.port = int(env["BIND_ADDR"].rsplit(":", 1)[1])
        self.proc = None

    def cli(self, *args):
        out = subprocess.run([self.binary, *args], env=self.env, check=True, timeout=600,
                             capture_output=True, text=True)
        return out.stdout.strip()

    def start(self):
        self.log = open(os.path.join(self.env["BENCH_WORKDIR"], "server.log"), "a")
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=self.log,
                                     stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}; see server.log")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("server did not become healthy within 60 s")

    def rss(self):
        """One reading: VmRSS in MB and its parts for the log (RssAnon: heap and stacks;
        RssFile: the binary's pages and mapped files; RssShmem: SQLite's -shm), from
        /proc/<pid>/status; with BENCH_SMAPS_DIR set, a copy of /proc/<pid>/smaps there too."""
        keep = os.environ.get("BENCH_SMAPS_DIR")
        if keep:
            os.makedirs(keep, exist_ok=True)
            name = f"smaps-{self.env['DATABASE_URL'].split(':')[0]}-{int(time.time())}"
            shutil.copy(f"/proc/{self.proc.pid}/smaps", os.path.join(keep, name))
        parts = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    parts[key] = int(value.split()[0]) / 1024
        note = ", ".join(f"{k} {parts[k]:.1f}" for k in ("RssAnon", "RssFile", "RssShmem")
                         if k in parts)
        return parts.get("VmRSS", float("nan")), note

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


def parse_wrk(out):
    def latency_ms(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50": latency_ms("50"),
        "p99": latency_ms("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1).strip() if errors else "",
    }


def wrk(url, script, seconds, connections, env):
    threads = str(min(2, connections))
    out = subprocess.run(
        ["wrk", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "--timeout", "10s", "-s", os.path.join(HERE, "lua", script), url],
        env=env, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    return parse_wrk(out)


def api(base, method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "x-org-id": ORG, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def wait_until(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def bench_engine(args, engine_name, size, sink, results, failures):
    workdir = tempfile.mkdtemp(prefix=f"voke-bench-{engine_name}-")
    engine = Engine(engine_name, workdir)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=engine.url, BIND_ADDR=f"127.0.0.1:{port}",
               JWT_SECRET="bench-secret-bench-secret-bench-secret-0123",
               SMTP_URL=f"smtp://127.0.0.1:{sink.port}?tls=none", MAIL_MODE="smtp",
               MAIL_FROM="Voke <no-reply@bench.example>", RATE_LIMITS="off",
               RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn"), LOG_FORMAT="json",
               BENCH_WORKDIR=workdir, BENCH_ORG=ORG,
               # As deploy/ runs it: the allocators' settings of the Dockerfile and the systemd
               # unit, and compose.yaml's membership cache (whose TTL on PostgreSQL only bounds
               # a listener that is down: a membership change is notified to every instance).
               MALLOC_ARENA_MAX=os.environ.get("MALLOC_ARENA_MAX", "2"),
               MIMALLOC_ARENA_EAGER_COMMIT=os.environ.get("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
               MIMALLOC_PURGE_DELAY=os.environ.get("MIMALLOC_PURGE_DELAY", "0"),
               MIMALLOC_ALLOW_THP=os.environ.get("MIMALLOC_ALLOW_THP", "0"),
               MEMBERSHIP_CACHE_TTL=os.environ.get("MEMBERSHIP_CACHE_TTL", "5s"))
    server = Server(args.bin, env)
    label = f"{engine_name} {size:,}"
    sink.reset()
    try:
        engine.reset()
        server.cli("migrate", "up")
        t0 = time.time()
        engine.run_sql_file(f"{engine_name}.sql", n=size, org=ORG)
        log(f"{label}: seeded in {time.time() - t0:.1f} s")
        if "recount" in server.cli("--help"):
            server.cli("recount")
            log(f"{label}: recount done")
        server.cli("members", "add", "--org", ORG, "--user", "bench-admin", "--email",
                   "bench-admin@bench.example", "--role", "ORG_ADMIN")
        token = server.cli("token", "--sub", "bench-admin", "--email",
                           "bench-admin@bench.example", "--expires-in", "2h")
        env["BENCH_TOKEN"] = token
        server.start()
        rss, note = server.rss()
        log(f"{label}: RSS at start {rss:.1f} MB ({note})")
        base = f"http://127.0.0.1:{port}"
        _, one = api(base, "GET", "/api/v1/invitations?limit=1", token)
        items = one.get("items") or one.get("data") or []
        some_id = items[0]["id"] if items else str(uuid.uuid4())
        endpoints = [
            ("healthz", "/healthz"),
            ("list page 1", "/api/v1/invitations"),
            ("list status=PENDING", "/api/v1/invitations?status=PENDING"),
            ("list page 100", "/api/v1/invitations?page=100"),
            ("list email=", "/api/v1/invitations?email=seed77%40bench.example"),
            ("get by id", f"/api/v1/invitations/{some_id}"),
        ]
        cursor = deep_cursor(base, token, 100)
        if cursor:
            endpoints.append(("list cursor, page 100", f"/api/v1/invitations?cursor={cursor}"))
        if args.email_only:
            endpoints = []
        if args.endpoints:
            endpoints = [e for e in endpoints if e[0] in args.endpoints.split(",")]
        for name, path in endpoints:
            r = wrk(base + path, "get.lua", args.seconds, args.connections, env)
            results.append((label, name, r))
            log(f"{label}: {name}: {r['rps']:.0f} req/s p50 {r['p50']:.1f} ms p99 {r['p99']:.1f} ms")
        env["BENCH_RUN"] = uuid.uuid4().hex[:8]
        if not args.email_only:
            r = wrk(base + "/api/v1/invitations", "create.lua", args.seconds, args.connections,
                    env)
            results.append((label, "create", r))
            log(f"{label}: create: {r['rps']:.0f} req/s p50 {r['p50']:.1f} ms "
                f"p99 {r['p99']:.1f} ms")
        loaded = len(endpoints) + (0 if args.email_only else 1)
        for _, name, r in results[len(results) - loaded:]:
            if r["non2xx"] or r["requests"] == 0 or r["errors"]:
                failures.append(f"{label} {name}: {r['non2xx']} non-2xx of {r['requests']}"
                                f" {r['errors']}")
        if not args.email_only:
            rss, note = server.rss()
            results.append((label, "RSS after list and create", {"rss": rss}))
            log(f"{label}: RSS after list and create {rss:.1f} MB ({note})")
        # The creates' own emails drain first, so the measurements below start idle.
        pending = "SELECT count(*) FROM email_outbox WHERE status = 'PENDING'"
        t0 = time.time()
        drained = wait_until(lambda: time.sleep(0.2) or engine.scalar(pending) == "0",
                             args.drain_seconds)
        log(f"{label}: the creates' emails drained in {time.time() - t0:.1f} s")
        if not drained:
            failures.append(f"{label}: the creates' emails did not drain within "
                            f"{args.drain_seconds} s; still PENDING (attempts, held, "
                            f"locked_until, next_attempt_at, n): {engine.stuck()}")
        email_bench(args, engine, server, base, token, sink, label, results, failures)
        rss, note = server.rss()
        results.append((label, "RSS after the email run", {"rss": rss}))
        log(f"{label}: RSS {rss:.1f} MB ({note})")
    finally:
        server.stop()
        keep = os.path.join(tempfile.gettempdir(), f"voke-bench-{engine_name}-server.log")
        if os.path.exists(os.path.join(workdir, "server.log")):
            shutil.copy(os.path.join(workdir, "server.log"), keep)
            log(f"{label}: server log kept in {keep}")
        shutil.rmtree(workdir, ignore_errors=True)


def deep_cursor(base, token, page):
    """The `nextCursor` that leads to `page`, by following the cursor from page 1."""
    cursor = None
    for _ in range(page - 1):
        path = "/api/v1/invitations" + (f"?cursor={cursor}" if cursor else "")
        _, body = api(base, "GET", path, token)
        cursor = body.get("meta", {}).get("nextCursor") if isinstance(body, dict) else None
        if not cursor:
            return None
    return cursor


def email_bench(args, engine, server, base, token, sink, label, results, failures):
    # Throughput: queue many messages in one transaction by SQL, time until all arrived.
    queued = args.emails
    before = sink.count("seed")
    engine.run_sql_file(f"outbox_{engine.name}.sql", m=queued)
    committed = time.time()
    done = wait_until(lambda: sink.count("seed") - before >= queued, 60)
    arrivals = sink.times("seed")
    got = len(arrivals)
    if not done:
        failures.append(f"{label}: {got} of {queued} queued emails arrived within 60 s; "
                        f"still PENDING: {engine.stuck()}")
    if got:
        span = max(arrivals[-1] - committed, 1e-6)
        first_last = max(arrivals[-1] - arrivals[0], 1e-6)
        results.append((label, f"email: {queued} queued", {
            "rps": got / span, "total": span, "first": arrivals[0] - committed,
            "steady": got / first_last}))
        log(f"{label}: {got} emails in {span:.2f} s after commit "
            f"({got / span:.0f}/s; first after {arrivals[0] - committed:.2f} s, "
            f"{got / first_last:.0f}/s from first to last)")
    # Latency when idle: one create at a time, from sending the request to the inbox.
    latencies = []
    run = uuid.uuid4().hex[:8]
    for i in range(args.idle_creates):
        email = f"idle-{run}-{i}@latency.example"
        sent = time.time()
        status, _ = api(base, "POST", "/api/v1/invitations", token, {"email": email})
        if status != 201:
            failures.append(f"{label}: idle create answered {status}")
            continue
        if wait_until(lambda: sink.arrived(email) is not None, 10):
            latencies.append((sink.arrived(email) - sent) * 1000)
        else:
            failures.append(f"{label}: {email} did not arrive within 10 s")
        time.sleep(0.1)
    if latencies:
        results.append((label, "create-to-inbox (idle)", {
            "p50": statistics.median(latencies), "p99": pct(latencies, 99), "n": len(latencies)}))
        log(f"{label}: create-to-inbox p50 {statistics.median(latencies):.0f} ms "
            f"p99 {pct(latencies, 99):.0f} ms over {len(latencies)}")


# The NestJS + TypeORM peer of issue 10 (same contract, same PostgreSQL, 10k rows), req/s,
# measured in the run where our /healthz answered OURS_HEALTHZ_THEN req/s.
PEER = {"healthz": 12439, "list page 1": 837, "get by id": 1607, "create": 990}
OURS_HEALTHZ_THEN = 109640


def table(results):
    """Markdown: req/s, p50, p99; each endpoint's share of /healthz in the same run, and our
    req/s over the peer's scaled to this machine by our /healthz (issue 10's yardstick: "its
    figures, relative to /healthz in the same run"; that reading gives the issue's own
    "today" ratios, 2.1x / 3.5x / 2.6x; targets list >= 10, get >= 5, create >= 4)."""
    healthz = {label: r["rps"] for label, name, r in results if name == "healthz"}
    lines = ["| engine, rows | endpoint | req/s | p50 ms | p99 ms | / healthz | vs peer |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for label, name, r in results:
        if "rss" in r:
            lines.append(f"| {label} | {name} | {r['rss']:.1f} MB | | | | |")
        elif "total" in r:
            lines.append(f"| {label} | {name} | {r['rps']:.0f} emails/s (all in {r['total']:.2f} s;"
                         f" first after {r['first']:.2f} s; {r['steady']:.0f}/s first to last)"
                         f" | | | | |")
        elif "n" in r:
            lines.append(f"| {label} | {name} (n={r['n']}) | | {r['p50']:.0f} | {r['p99']:.0f} |"
                         f" | |")
        else:
            base = healthz.get(label)
            share = r["rps"] / base if base else float("nan")
            peer = (f"{share * OURS_HEALTHZ_THEN / PEER[name]:.2f}x"
                    if name in PEER and name != "healthz" else "")
            lines.append(f"| {label} | {name} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f}"
                         f" | {share:.3f} | {peer} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "voke-invitations"))
    p.add_argument("--engines", default="sqlite,postgres")
    p.add_argument("--sizes", default="10000,1000000")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--emails", type=int, default=1000)
    p.add_argument("--idle-creates", type=int, default=50)
    p.add_argument("--drain-seconds", type=int, default=120,
                   help="how long the creates' emails may take to drain before it fails")
    p.add_argument("--endpoints", default="",
                   help="only these read endpoints (comma-separated names, e.g. healthz)")
    p.add_argument("--email-only", action="store_true", help="skip the wrk runs")
    p.add_argument("--smoke", action="store_true",
                   help="CI: 1,000 rows, 2 s per endpoint, 100 emails, 5 idle creates")
    args = p.parse_args()
    if args.smoke:
        args.sizes, args.seconds, args.emails, args.idle_creates = "1000", 2, 100, 5
    for tool in ("wrk", "psql", "sqlite3"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (bench/run.sh installs it)")
    sink = Sink()
    results, failures = [], []
    try:
        for engine in args.engines.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                bench_engine(args, engine, size, sink, results, failures)
    finally:
        sink.stop()
    print(f"\nvoke-invitations benchmark ({os.path.basename(args.bin)}, {args.connections} "
          f"connections, {args.seconds} s per endpoint, {os.cpu_count()} CPUs)\n")
    print(table(results))
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
