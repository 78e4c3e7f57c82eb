#!/usr/bin/env bash
# The simulator container (docker-compose.yml, profile "simulator"): one real
# edge agent per board directory under $SIM_DIR, each with the agent.toml the
# sim-provision service wrote (its own broker account, TLS, simulated
# collectors). If one agent stops, the others are stopped too and the
# container exits non-zero, so that compose restarts the whole set.
set -euo pipefail

sim_dir="${SIM_DIR:-/sim}"
pid_file="${SIM_PID_FILE:-/tmp/sim-agents.pids}"
shopt -s nullglob
configs=("$sim_dir"/*/agent.toml)
if [ "${#configs[@]}" -eq 0 ]; then
    echo "simulator: no board under $sim_dir (the sim-provision service writes them)" >&2
    exit 1
fi

pids=()
stop_all() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait || true
}
trap 'stop_all; exit 0' TERM INT

for config in "${configs[@]}"; do
    edge-agent --config "$config" run &
    pids+=("$!")
done
printf '%s\n' "${pids[@]}" > "$pid_file"
echo "simulator: ${#pids[@]} simulated boards running (${configs[*]})"

# The first agent to exit ends the set (a trap interrupts this wait too).
status=0
wait -n || status=$?
echo "simulator: an agent exited (status $status); stopping the others" >&2
stop_all
exit 1
