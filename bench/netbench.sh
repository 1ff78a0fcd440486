#!/bin/sh
# netbench.sh [FRONTEND]: frontend benchmark on the private tor network
# of tests/integration/obnet.py.  With BENCH_BACKENDS backends (default
# 4): time from frontend start to a master descriptor listing every
# backend, BENCH_FETCHES client fetches (latency min/p50/p90/max, spread
# over backends), then one backend killed and the time until the master
# descriptor drops it (cap BENCH_DROP_CAP, 720 s), and the peak RSS of
# the frontend's processes.  Figures are appended to
# bench/results-<frontend>.md; compare with
# tests/integration/RESULTS-onionbalance.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
obnet=$here/../tests/integration/obnet.py
fe=${1:-${OBNET_FRONTEND:-onionbalance}}
nb=${BENCH_BACKENDS:-4}
nf=${BENCH_FETCHES:-40}
cap=${BENCH_DROP_CAP:-720}
if [ "${OBNET_INSIDE:-}" != 1 ]; then
	exec /usr/bin/python3 "$obnet" run --timeout $((cap + 900)) -- \
	    sh "$0" "$fe"
fi
ob() { /usr/bin/python3 "$obnet" "$@"; }

ob up --frontend "$fe" --backends "$nb"
ob frontend-start
ob wait-master --timeout 300
fetch=$(ob fetch --count "$nf" --min-ok 1 --timeout 600 --record first_fetch_s)
ob backend-kill 1 --refresh
drop=$(ob wait-drop 1 --probe --timeout "$cap") || true
ob report --out "$here/results-$fe.md" \
    --note "Backends: $nb.  Fetches: $fetch" \
    --note "Failover: $drop" \
    --note "Run dir: $OBNET_RUNDIR"
