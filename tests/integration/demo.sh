#!/bin/sh
# "make demo": the unit suite, then the whole system on a private tor
# network: 3 authorities, 5 relays, 2 stock tor backends, the frontend,
# a client fetching the master address; one backend is killed and the
# client is still served.  Frontend: OBHSM_DEMO_FRONTEND (default obhsm,
# falling back to OnionBalance 0.2.2 while our daemons are not built).
# About 3-4 minutes; everything is torn down at the end; logs stay in the
# run directory it prints.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${OBNET_INSIDE:-}" != 1 ]; then
	if [ -x ./tests/runner ]; then
		OBHSM_TESTDATA=${OBHSM_TESTDATA:-$here/../vectors} \
		    ./tests/runner
	fi
	OBHSM_BUILDDIR=${OBHSM_BUILDDIR:-$(pwd)}
	export OBHSM_BUILDDIR
	fe=${OBHSM_DEMO_FRONTEND:-obhsm}
	if [ "$fe" = obhsm ] && ! OBNET_FE_DIR=/nonexistent \
	    sh "$here/frontend-obhsm.sh" check 2>/dev/null; then
		echo "demo: obhsm frontend not available yet;" \
		    "using OnionBalance 0.2.2"
		fe=onionbalance
	fi
	export OBHSM_DEMO_FRONTEND=$fe
	exec /usr/bin/python3 "$here/obnet.py" run --timeout 540 -- \
	    sh "$0"
fi
ob() { /usr/bin/python3 "$here/obnet.py" "$@"; }
echo "demo: frontend $OBHSM_DEMO_FRONTEND"
ob up --frontend "$OBHSM_DEMO_FRONTEND"
ob frontend-start
ob wait-master
echo "demo: the client fetches the master address until both backends answer"
ob fetch --until-all
echo "demo: killing backend1"
ob backend-kill 1 --refresh
ob fetch --count 5 --min-ok 5
ob status
ob report
