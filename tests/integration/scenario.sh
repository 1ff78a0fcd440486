#!/bin/sh
# scenario.sh [onionbalance|obhsm]: the reference run whose figures go in
# RESULTS-<frontend>.md (bootstrap, first fetch, failover, RAM).
#
# Network up with 2 backends, the frontend publishes the master, the
# client fetches it until both backends answered; backend1 is killed and
# we measure how long until the published master descriptor (fetched
# fresh from every HSDir) no longer lists its intro points, probing that
# clients are still served meanwhile (cap OBNET_DROP_CAP, 720 s); then
# backend1 comes back and we measure until the master lists it again.
#
# Env: OBNET_FRONTEND, OBNET_RUNDIR_KEEP (run dir to use), OBNET_DROP_CAP.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fe=${1:-${OBNET_FRONTEND:-onionbalance}}
cap=${OBNET_DROP_CAP:-720}
if [ "${OBNET_INSIDE:-}" != 1 ]; then
	exec /usr/bin/python3 "$here/obnet.py" run \
	    ${OBNET_RUNDIR_KEEP:+--rundir "$OBNET_RUNDIR_KEEP"} \
	    --timeout $((cap + 900)) -- sh "$0" "$fe"
fi
ob() { /usr/bin/python3 "$here/obnet.py" "$@"; }

ob up --frontend "$fe"
ob frontend-start
ob wait-master
ob fetch --until-all --record first_fetch_s --timeout 180
# How the client spreads over the backends, and fetch latency.
spread=$(ob fetch --count 20 --min-ok 18)
ob backend-kill 1 --refresh
# Clients keep being served right after the kill (cached descriptor,
# dead intro points tried first or not).
ob fetch --count 5 --min-ok 5
drop=$(ob wait-drop 1 --probe --timeout "$cap") || true
echo "wait-drop: $drop"
ob fetch --count 5 --min-ok 5
ob backend-start 1
ob wait-master --record recovery_s --since backend1_started_at \
    --timeout 300 || true
ob rss
ob report --out "$here/RESULTS-$fe.md" \
    --note "Fetches with both backends up: $spread" \
    --note "Failover probes: $drop" \
    --note "Run dir: $OBNET_RUNDIR"
