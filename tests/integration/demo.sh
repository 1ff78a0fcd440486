#!/bin/sh
# "make demo": the unit suite, then the whole system on a private tor
# network: 3 authorities, 5 relays, 2 stock tor backends, the frontend,
# a client fetching the master address; one backend is killed, the client
# is still served and the master is republished without it.  Frontend:
# OBHSM_DEMO_FRONTEND (default obhsm, falling back to OnionBalance 0.2.2
# when our daemons are not built).  About 2 minutes; everything is torn
# down at the end; logs stay in the run directory it prints.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${OBNET_INSIDE:-}" != 1 ]; then
	# The unit suite starts the daemons from the build directory too.
	OBHSM_BUILDDIR=${OBHSM_BUILDDIR:-$(pwd)}
	export OBHSM_BUILDDIR
	if [ -x ./tests/runner ]; then
		echo "demo: the unit suite (tests/runner)"
		OBHSM_TESTDATA=${OBHSM_TESTDATA:-$here/../vectors} \
		    ./tests/runner >demo-runner.log 2>&1 || {
			tail -30 demo-runner.log
			echo "demo: unit suite FAILED (demo-runner.log)"
			exit 1
		}
		tail -3 demo-runner.log
	fi
	fe=${OBHSM_DEMO_FRONTEND:-obhsm}
	if [ "$fe" = obhsm ] && ! OBNET_FE_DIR=/nonexistent \
	    sh "$here/frontend-obhsm.sh" check 2>/dev/null; then
		echo "demo: obhsm frontend not available yet;" \
		    "using OnionBalance 0.2.2"
		fe=onionbalance
	fi
	export OBHSM_DEMO_FRONTEND=$fe
	exec /usr/bin/python3 "$here/obnet.py" run --timeout 300 -- \
	    sh "$0"
fi
ob() { /usr/bin/python3 "$here/obnet.py" "$@"; }
t0=$(date +%s)
say() {
	echo "demo: [$(($(date +%s) - t0)) s] $*"
}
# The JSON summary "ob fetch" prints, as a sentence.
served() {
	/usr/bin/python3 -c 'import json, sys
r = json.loads(sys.stdin.read().splitlines()[-1])
print("%d of %d fetches served; answered by %s%s" % (r["ok"], r["tries"],
    ", ".join("%s (%d)" % kv for kv in sorted(r["backends"].items()))
    or "nobody", "; %d stuck attempt(s) retried on a fresh circuit" %
    r["retries"] if r.get("retries") else ""))'
}
say "frontend $OBHSM_DEMO_FRONTEND; starting the tor network" \
    "(3 authorities, 5 relays, a client, 2 backends)"
ob up --frontend "$OBHSM_DEMO_FRONTEND"
master=$(ob status | sed -n 's/.*"master": "\([a-z2-7]*\)".*/\1/p')
say "network up, both backends published"
say "master address: $master.onion"
say "starting the frontend"
ob frontend-start
ob wait-master
say "master descriptor published, listing both backends' intro points"
say "the client fetches http://$master.onion/ until both backends answer"
out=$(ob fetch --until-all --record first_fetch_s)
say "client: $(echo "$out" | served)"
say "killing backend1 (its tor and web server)"
ob backend-kill 1 --refresh
out=$(ob fetch --count 5 --min-ok 5)
say "client, backend1 dead: $(echo "$out" | served)"
out=$(ob wait-drop 1 --timeout 120 --interval 5)
say "master republished without backend1's intro points" \
    "$(echo "$out" | tail -1 | sed -n \
    's/.*"dropped_after_s": \([0-9.]*\).*/\1/p') s after the kill"
ob hsfetch --all | grep '^revision' | sort | uniq -c |
    awk '{ n = $1; $1 = ""; print "demo: " n " HSDirs serve" $0 }'
say "done; stopping everything"
ob report
ob down
