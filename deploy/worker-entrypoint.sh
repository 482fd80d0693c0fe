#!/bin/sh
# Worker container entry point: clone the repository once (SLIPWAY_REPO), then run the worker in
# it. The queue key, the remote cache token and task secrets come from the environment (a Secret),
# never from the queue.
set -eu
: "${SLIPWAY_REPO:?set SLIPWAY_REPO to the repository URL the workers build}"
: "${SLIPWAY_QUEUE:?set SLIPWAY_QUEUE, e.g. redis://redis:6379}"
dir="${SLIPWAY_CHECKOUT:-/work/repo}"
if [ ! -d "$dir/.git" ]; then
  git clone --quiet "$SLIPWAY_REPO" "$dir"
fi
cd "$dir"
exec slipway worker --queue "$SLIPWAY_QUEUE" \
  --slots "${SLIPWAY_SLOTS:-1}" \
  --metrics "${SLIPWAY_METRICS:-0.0.0.0:9464}" \
  --name "${HOSTNAME:-worker}" \
  "$@"
