#!/usr/bin/env bash
# Checks the deployment files in deploy/ with the tools that exist for them here (no Docker
# engine, no systemd running): hadolint for the Dockerfile, the Compose Specification's JSON
# schema for compose.yaml, and systemdlint for the unit file. None of them is *run* here.
set -uo pipefail
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$DIR/../.." && pwd)
VENV="$DIR/.venv"
want=$(sha256sum "$DIR/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$want" != "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" ]; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check -r "$DIR/requirements.txt" \
    && echo "$want" >"$VENV/.requirements.sha256" || exit 1
fi
failed=0
echo "hadolint deploy/Dockerfile"
"$VENV/bin/hadolint" "$ROOT/deploy/Dockerfile" || failed=1
echo "compose-spec schema: deploy/compose.yaml"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$ROOT/deploy/compose.yaml" || failed=1
echo "systemdlint deploy/voke-invitations.service"
# --norootfs: the binary is not installed on this machine. Security.Delegate is not applied: it
# asks for Delegate=yes, which hands the service its own cgroup subtree to manage; this service
# manages no cgroups, so the setting would only widen what it may do.
findings=$("$VENV/bin/systemdlint" --norootfs "$ROOT/deploy/voke-invitations.service" 2>&1 | grep -v 'Security.Delegate' || true)
if [ -n "$findings" ]; then
  echo "$findings"
  failed=1
fi
[ $failed -eq 0 ] && echo "deploy: all checks passed"
exit $failed
