#!/usr/bin/env bash
# Healthy while every agent the simulator started is still running.
set -euo pipefail
pid_file="${SIM_PID_FILE:-/tmp/sim-agents.pids}"
[ -s "$pid_file" ] || exit 1
while read -r pid; do
    kill -0 "$pid" 2>/dev/null || exit 1
done < "$pid_file"
