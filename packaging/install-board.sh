#!/bin/sh
# Install the edge agent on a board from a signed release (docs/agent.md,
# "Installing on a board"). Run as root:
#
#   install-board.sh edge-agent-<version>.tar.gz release-signing.pub
#
# The manifest edge-agent-<version>.manifest.json must sit beside the
# artifact. The artifact's size and SHA-256 and the manifest's Ed25519
# signature are checked before anything is installed. Then:
#   /opt/fleet-agent/releases/<version>/   the release
#   /opt/fleet-agent/current               -> releases/<version>
#   /opt/fleet-agent/bin/edge-agent-guard  the boot guard (stable place)
#   /var/lib/fleet, /var/lib/fleet-agent   state, mode 0700, owned by the agent's user
#   /etc/systemd/system/edge-agent.service the unit, enabled and started
#
# DESTDIR=<dir> stages everything under <dir> instead (no user, no chown, no
# systemctl): for images built elsewhere, and for the test.
# FLEET_AGENT_PYTHON names the interpreter (default /usr/bin/python3).
set -eu

usage() { echo "usage: $0 ARTIFACT PUBLIC_KEY_FILE" >&2; exit 2; }
[ $# -eq 2 ] || usage
artifact=$1
public_key=$2
python=${FLEET_AGENT_PYTHON:-/usr/bin/python3}
user=${FLEET_AGENT_USER:-fleet}
dest=${DESTDIR:-}
root=$dest/opt/fleet-agent

name=$(basename "$artifact")
version=${name#edge-agent-}
version=${version%.tar.gz}
case "$name" in edge-agent-*.tar.gz) ;; *) echo "not an edge-agent-<version>.tar.gz: $name" >&2; exit 2 ;; esac
manifest=$(dirname "$artifact")/edge-agent-$version.manifest.json
[ -f "$manifest" ] || { echo "no manifest beside the artifact: $manifest" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
tar -xzf "$artifact" -C "$work" --no-same-owner
bundle=$work/edge-agent-$version
[ "$(cat "$bundle/VERSION")" = "$version" ] || { echo "VERSION differs from $version" >&2; exit 1; }

# The signature and the artifact, with the release's own protocol code.
PYTHONPATH=$bundle/lib "$python" - "$manifest" "$public_key" "$artifact" <<'PY'
import base64, hashlib, json, sys
from pathlib import Path
from fleet_protocol import releases as fr
manifest = fr.parse_manifest(json.loads(Path(sys.argv[1]).read_text()))
raw = base64.b64decode(Path(sys.argv[2]).read_text().strip(), validate=True)
try:
    fr.verify(manifest, {fr.key_id(raw): raw})
except fr.ReleaseRefused as exc:
    sys.exit(f"refused: {exc.reason}")
data = Path(sys.argv[3]).read_bytes()
if len(data) != manifest.size or hashlib.sha256(data).hexdigest() != manifest.sha256:
    sys.exit("refused: the artifact differs from its manifest (size or sha256)")
print(f"verified edge-agent {manifest.version}, key {manifest.key_id}")
PY

mkdir -p "$root/releases" "$root/bin"
rm -rf "$root/releases/$version"
mv "$bundle" "$root/releases/$version"
ln -sfn "releases/$version" "$root/.current.tmp"
mv -fT "$root/.current.tmp" "$root/current"
cp "$root/releases/$version/bin/edge-agent-guard" "$root/bin/edge-agent-guard"
chmod 0755 "$root/bin/edge-agent-guard"
install -d -m 0700 "$dest/var/lib/fleet" "$dest/var/lib/fleet-agent"
install -d -m 0755 "$dest/etc/fleet" "$dest/etc/systemd/system"
install -m 0644 "$root/releases/$version/lib/edge_agent/systemd/edge-agent.service" \
    "$dest/etc/systemd/system/edge-agent.service"

if [ -z "$dest" ]; then
    id "$user" >/dev/null 2>&1 || useradd --system --home-dir /var/lib/fleet --shell /usr/sbin/nologin "$user"
    chown -R "$user:$user" /opt/fleet-agent /var/lib/fleet /var/lib/fleet-agent
    [ -f /etc/fleet/agent.toml ] || echo "write /etc/fleet/agent.toml before the agent can start (docs/agent.md)" >&2
    systemctl daemon-reload
    systemctl enable --now edge-agent.service
fi
echo "edge-agent $version installed in $root"
