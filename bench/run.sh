#!/usr/bin/env bash
# The benchmark: installs wrk (Debian) and aiosmtpd (PyPI) when missing, then runs bench.py.
#   bash bench/run.sh                 # release build, SQLite and PostgreSQL, 10k and 1M rows
#   bash bench/run.sh --smoke --bin target/debug/voke-invitations    # what CI runs
# Other options: --engines sqlite|postgres, --sizes 10000, --seconds 10; see bench.py --help.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null || ! command -v sqlite3 >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk sqlite3 >/dev/null
fi
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q aiosmtpd
exec python3 bench/bench.py "$@"
