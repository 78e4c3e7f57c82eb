#!/bin/sh
# Before Mosquitto starts: the broker directory made by `fleet-server broker
# init` (the broker-init service, running as the fleet server's uid) must be
# complete, and the files Mosquitto reads after dropping root or rewrites
# (dynamic-security.json, written as <file>.new then renamed) must be its own.
# The CA's key stays with the fleet server's uid; Mosquitto never reads it.
set -eu
dir=/var/lib/mosquitto/fleet
for f in dynamic-security.json server.crt server.key ca/ca.crt ca/crl.pem; do
    if [ ! -s "$dir/$f" ]; then
        echo "mosquitto: $dir/$f is missing; the broker-init service creates it" >&2
        exit 1
    fi
done
chown mosquitto:mosquitto /var/lib/mosquitto "$dir" "$dir/dynamic-security.json" \
    "$dir/server.crt" "$dir/server.key"
# The fleet server's containers read ca/ca.crt through this directory.
chmod 0755 "$dir"
exec "$@"
