#!/usr/bin/env python3
"""Idle floods and slowloris against the release binary, with a low soft fd limit.

Starts `voke-invitations serve` (SQLite in a temp dir) under `prlimit --nofile=SOFT:HARD`,
opens IDLE silent connections and SLOW slowloris connections (a header line every 2 s, never
the blank line), and meanwhile sends normal requests on fresh connections, one at a time,
timing each. Prints p50/p99/max of the normal requests, how many flood connections the server
closed, and the server's CPU time during the flood. Exits non-zero when a normal request
failed or p99 is over the target.

Usage: bench/slow_clients.py [--bin target/release/voke-invitations] [--idle 1100] [--slow 200]
                             [--soft 1024] [--hard N] [--requests 400] [--p99-ms 100]
With --hard 1024 as well, the server cannot raise its limit: accepts fail with EMFILE and must
back off (low CPU) until the header read timeout (10 s) frees descriptors.
"""
import argparse
import asyncio
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def request(port, path, token=None, timeout=15.0):
    started = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}Connection: close\r\n\r\n".encode())
    await writer.drain()
    status = (await asyncio.wait_for(reader.readline(), timeout)).split(b" ")[1]
    await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    return int(status), (time.perf_counter() - started) * 1000


async def hold_idle(port, closed):
    try:
        reader, _writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.read()  # returns when the server closes
        closed["idle"] += 1
    except OSError:
        closed["refused"] += 1


async def hold_slowloris(port, closed, stop):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
        while not stop.is_set():
            await asyncio.sleep(2)
            writer.write(b"X-Drip: 1\r\n")
            await writer.drain()
            if reader.at_eof():
                break
    except OSError:
        pass
    closed["slow"] += 1


async def main(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="voke-bench-")
    env = dict(os.environ, BIND_ADDR=f"127.0.0.1:{port}", JWT_SECRET=secrets.token_urlsafe(48),
               MAIL_MODE="log", RUST_LOG="warn", DATABASE_URL=f"sqlite://{tmp}/bench.db?mode=rwc")
    limit = f"--nofile={args.soft}:{args.hard or hard}"
    server = subprocess.Popen(["prlimit", limit, args.bin, "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/server.log", "w"))
    try:
        for _ in range(100):
            try:
                await request(port, "/healthz", timeout=1)
                break
            except OSError:
                await asyncio.sleep(0.1)
        token = subprocess.run([args.bin, "token", "--sub", "bench", "--super-admin"], env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        closed = {"idle": 0, "slow": 0, "refused": 0}
        stop = asyncio.Event()
        cpu_before = cpu_seconds(server.pid)
        floods = [asyncio.create_task(hold_idle(port, closed)) for _ in range(args.idle)]
        floods += [asyncio.create_task(hold_slowloris(port, closed, stop)) for _ in range(args.slow)]
        await asyncio.sleep(1.0)
        flood_started = time.perf_counter()
        latencies, failures = [], 0
        for i in range(args.requests):
            try:
                status, ms = await request(port, "/healthz" if i % 2 else "/readyz", token)
                latencies.append(ms)
                failures += status != 200
            except (OSError, asyncio.TimeoutError, IndexError):
                failures += 1
        flood_seconds = time.perf_counter() - flood_started
        cpu_flood = cpu_seconds(server.pid) - cpu_before
        await asyncio.sleep(12)  # past the 10 s header read timeout
        stop.set()
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")
        print(f"server fd limit {limit}; flood: {args.idle} idle + {args.slow} slowloris connections")
        print(f"normal requests: {len(latencies)} ok, {failures} failed, over {flood_seconds:.1f} s")
        print(f"latency ms: p50 {p(0.50):.2f}  p99 {p(0.99):.2f}  max {latencies[-1] if latencies else float('nan'):.2f}")
        print(f"server CPU during the flood: {cpu_flood:.2f} s over {flood_seconds:.1f} s "
              f"({100 * cpu_flood / max(flood_seconds, 1e-9):.0f}% of one core)")
        print(f"closed by the server within 13 s: idle {closed['idle']}/{args.idle}, "
              f"slowloris {closed['slow']}/{args.slow}, refused {closed['refused']}")
        for task in floods:
            task.cancel()
        ok = failures == 0 and p(0.99) <= args.p99_ms
        print("RESULT:", "ok" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/voke-invitations")
    parser.add_argument("--idle", type=int, default=1100)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--soft", type=int, default=1024)
    parser.add_argument("--hard", type=int, default=0)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--p99-ms", type=float, default=100.0)
    sys.exit(asyncio.run(main(parser.parse_args())))
