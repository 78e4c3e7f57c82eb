#!/usr/bin/env bash
# The broker-init service of docker-compose.yml (one-shot, fleet server image):
# on the first start, `fleet-server broker init` writes the broker directory
# (CA, server certificate, CRL, dynamic-security.json with the fleet-admin and
# fleet-server accounts). Later starts find it and change nothing: passwords
# are changed through the dynamic-security plugin, not by running this again.
set -euo pipefail

dir="${BROKER_DIR:-/var/lib/mosquitto/fleet}"
if [ -e "$dir/dynamic-security.json" ]; then
    echo "broker-init: $dir is already initialised"
    exit 0
fi
: "${BROKER_ADMIN_PASSWORD:?}" "${BROKER_SERVER_PASSWORD:?}" "${BROKER_PUBLIC_HOST:?}"

# The certificate names every address a client dials: the compose service
# name (fleet server, simulated boards), localhost (the health check), and
# the name and optional address boards use.
args=(--dir "$dir" --host mosquitto --host localhost --ip 127.0.0.1)
case "$BROKER_PUBLIC_HOST" in
    mosquitto | localhost) ;;
    *) args+=(--host "$BROKER_PUBLIC_HOST") ;;
esac
if [ -n "${BROKER_PUBLIC_IP:-}" ] && [ "$BROKER_PUBLIC_IP" != 127.0.0.1 ]; then
    args+=(--ip "$BROKER_PUBLIC_IP")
fi

# The passwords travel through pipes, never on a command line.
fleet-server broker init "${args[@]}" \
    --admin-password-file <(printf '%s\n' "$BROKER_ADMIN_PASSWORD") \
    --server-password-file <(printf '%s\n' "$BROKER_SERVER_PASSWORD") \
    > /dev/null
echo "broker-init: $dir initialised (certificate for ${args[*]:2})"
