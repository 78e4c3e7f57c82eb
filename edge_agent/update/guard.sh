#!/bin/sh
# edge-agent-guard: the boot guard (systemd ExecStartPre of edge-agent.service).
#
# Runs before every start of the agent, from the stable place
# /opt/fleet-agent/bin/edge-agent-guard, so it works even when the new
# version cannot start Python at all. While an update is on trial (state
# "trying" in the state file), it counts the starts; past max_boot_attempts,
# or past the health deadline, it points "current" back at the previous
# release and marks the update rolled_back, for the previous version to report.
#
# Usage: edge-agent-guard [STATE_FILE]   (default /var/lib/fleet-agent/update.json)
# The state file keeps one top-level key per line (edge_agent/update/state.py).
# Never fails: a guard that failed would keep the agent from starting.

umask 077
state=${1:-${FLEET_UPDATE_STATE:-/var/lib/fleet-agent/update.json}}
[ -f "$state" ] || exit 0

field() {
    sed -n "s/^ \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$state" | head -n 1
}

[ "$(field state)" = trying ] || exit 0
attempts=$(field boot_attempts)
max=$(field max_boot_attempts)
deadline=$(field deadline)
previous=$(field previous)
root=$(field root)
# Whole numbers of at most 10 digits only: dash exits on a number it cannot
# hold ("Illegal number"), and a guard that exits keeps the agent from starting.
for number in "$attempts" "$max" "$deadline"; do
    case "$number" in
        '' | *[!0-9]* | ???????????*) echo "edge-agent-guard: $state unreadable, ignored" >&2; exit 0 ;;
    esac
done
# A release name is a version (fleet_protocol.releases.VERSION_PATTERN), never a path.
case "$previous" in
    [0-9A-Za-z]*) case "$previous" in *[!0-9A-Za-z.+~-]*) previous= ;; esac ;;
    *) previous= ;;
esac
attempts=$((attempts + 1))
now=$(date +%s)
reason=
if [ "$attempts" -gt "$max" ]; then
    reason="crash loop: $((attempts - 1)) starts without becoming healthy"
elif [ "$now" -ge "$deadline" ]; then
    reason="deadline passed: not healthy in time"
fi

tmp="$state.guard"
if [ -z "$reason" ]; then
    sed "s/^ \"boot_attempts\": [0-9]*/ \"boot_attempts\": $attempts/" "$state" > "$tmp" \
        && mv -f "$tmp" "$state"
    exit 0
fi

if [ -n "$previous" ] && [ -n "$root" ] && [ -d "$root/releases/$previous" ]; then
    ln -sfn "releases/$previous" "$root/.current.tmp" \
        && mv -fT "$root/.current.tmp" "$root/current"
    if [ -x "$root/releases/$previous/bin/edge-agent-guard" ]; then
        cp "$root/releases/$previous/bin/edge-agent-guard" "$root/bin/.edge-agent-guard.tmp" \
            && mv -f "$root/bin/.edge-agent-guard.tmp" "$root/bin/edge-agent-guard"
    fi
    echo "edge-agent-guard: $reason; back on $previous" >&2
else
    echo "edge-agent-guard: $reason; no previous release to go back to" >&2
fi
sed -e "s/^ \"state\": \"trying\"/ \"state\": \"rolled_back\"/" \
    -e "s/^ \"reason\": .*,\$/ \"reason\": \"$reason\",/" \
    -e "s/^ \"reported\": true/ \"reported\": false/" \
    -e "s/^ \"boot_attempts\": [0-9]*/ \"boot_attempts\": $attempts/" "$state" > "$tmp" \
    && mv -f "$tmp" "$state"
exit 0
