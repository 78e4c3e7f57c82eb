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
# A version is a name, never a path (fleet_protocol.releases.VERSION_PATTERN).
case "$version" in
    [0-9A-Za-z]*) ;;
    *) echo "not a version: $version" >&2; exit 2 ;;
esac
case "$version" in
    *[!0-9A-Za-z.+~-]* | ?????????????????????????????????*) echo "not a version: $version" >&2; exit 2 ;;
esac
manifest=$(dirname "$artifact")/edge-agent-$version.manifest.json
[ -f "$manifest" ] || { echo "no manifest beside the artifact: $manifest" >&2; exit 1; }

# Checked and unpacked from private copies: the files given may sit where
# someone else could swap them between the check and the unpacking.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cp "$artifact" "$work/$name"
cp "$manifest" "$work/manifest.json"
artifact=$work/$name
manifest=$work/manifest.json

# The signature and the artifact are checked before anything is unpacked, by
# code that does not come from the artifact (code from an unchecked artifact
# would check itself): this Python and its own cryptography (python3-cryptography).
# It is fleet_protocol.releases.verify, restated in a few lines.
"$python" -I - "$manifest" "$public_key" "$artifact" "$version" <<'PY'
import base64, hashlib, json, re, sys
try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:
    sys.exit("refused: this Python has no cryptography to check the signature (apt install python3-cryptography)")
manifest_path, public_path, artifact_path, version = sys.argv[1:5]
try:
    manifest = json.load(open(manifest_path, encoding="utf-8"))
    raw = base64.b64decode(open(public_path).read().strip(), validate=True)
    signature = base64.b64decode(manifest["signature"], validate=True)
except (OSError, ValueError, KeyError, TypeError) as exc:
    sys.exit(f"refused: unreadable manifest or public key ({type(exc).__name__})")
fields = ("format", "name", "version", "artifact", "size", "sha256", "created_at", "key_id", "signature")
if not isinstance(manifest, dict) or sorted(manifest) != sorted(fields):
    sys.exit("refused: the manifest's fields are not those of format 1")
if manifest["version"] != version or manifest["artifact"] != f"edge-agent-{version}.tar.gz":
    sys.exit(f"refused: the manifest is for {str(manifest['version'])[:40]!r}, not {version!r}")
if len(raw) != 32 or hashlib.sha256(raw).hexdigest()[:16] != manifest["key_id"]:
    sys.exit(f"refused: unknown key id {str(manifest['key_id'])[:16]}: not the key given")
signed = {k: v for k, v in manifest.items() if k != "signature"}
body = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
try:
    Ed25519PublicKey.from_public_bytes(raw).verify(signature, body)
except (InvalidSignature, ValueError):
    sys.exit(f"refused: bad signature on the manifest of {version}")
digest, size = hashlib.sha256(), 0
with open(artifact_path, "rb") as f:
    while chunk := f.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
if size != manifest["size"] or digest.hexdigest() != manifest["sha256"]:
    sys.exit("refused: the artifact differs from its manifest (size or sha256)")
print(f"verified edge-agent {version}, key {manifest['key_id']}")
PY

mkdir "$work/unpacked"
tar -xzf "$artifact" -C "$work/unpacked" --no-same-owner --no-same-permissions
bundle=$work/unpacked/edge-agent-$version
[ "$(cat "$bundle/VERSION")" = "$version" ] || { echo "VERSION differs from $version" >&2; exit 1; }
chmod -R go-w "$bundle"

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
