#!/bin/sh
# frontend-obhsm.sh check|prepare|start: our daemons as the obnet frontend,
# run the way an operator runs them.  Called by obnet.py (class Obhsm)
# inside the test namespace, with:
#   OBNET_RUNDIR           the run directory
#   OBNET_FE_DIR           this frontend's directory (exists, mode 0700)
#   OBNET_FE_CONTROL_PORT  control port of the frontend's own tor (start)
#   OBNET_FE_COOKIE        its control_auth_cookie file (start)
#   OBNET_MASTER           the master address from prepare (start)
#   OBNET_BACKENDS         the backends' addresses, space-separated (start)
#   OBHSM_BUILDDIR         where obhsm-keytool/-signer/-collector were built
# Contract:
#   check    exit 0 if the frontend can run here, 3 if not (e2e skips).
#   prepare  before any backend starts: make the token and the master
#            identity; print the master address (56 chars) on stdout.
#   start    after the backends are published and the frontend tor is up:
#            start signer and collector in the background; for each, write
#            its PID to $OBNET_FE_DIR/fe-<name>.pid and log to
#            $OBNET_FE_DIR/fe-<name>.log; obnet ends them by PID.
# Exit 3 means "not available"; anything else non-zero is a failure.
#
# XXX The daemons' command lines are not settled yet: the lead fills in
# the marked steps once obhsm-keytool, obhsm-signer and obhsm-collector
# exist.  Until then check says "not available" and nothing pretends.
set -eu
verb=${1:?usage: frontend-obhsm.sh check|prepare|start}
fe=${OBNET_FE_DIR:?}
bld=${OBHSM_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
keytool=$bld/obhsm-keytool
signer=$bld/obhsm-signer
collector=$bld/obhsm-collector
export SOFTHSM2_CONF="$fe/softhsm2.conf"
pin=1234
so_pin=12345678

check() {
	for b in "$keytool" "$signer" "$collector"; do
		if [ ! -x "$b" ]; then
			echo "frontend-obhsm: $b not built" >&2
			exit 3
		fi
	done
	if [ ! -r /usr/lib/softhsm/libsofthsm2.so ]; then
		echo "frontend-obhsm: SoftHSM2 module missing" >&2
		exit 3
	fi
}

case $verb in
check)
	check
	;;
prepare)
	check
	# A throwaway SoftHSM token under the run directory.
	mkdir -p "$fe/tokens"
	cat > "$SOFTHSM2_CONF" <<CONF
directories.tokendir = $fe/tokens
objectstore.backend = file
log.level = INFO
CONF
	softhsm2-util --init-token --free --label obhsm-e2e \
	    --pin "$pin" --so-pin "$so_pin" >&2
	echo "$pin" > "$fe/pin"
	chmod 600 "$fe/pin"
	# XXX lead: online-identity provisioning, e.g.
	#   "$keytool" identity-generate --out "$fe/hs_ed25519_secret_key"
	#   "$keytool" token-keys --module /usr/lib/softhsm/libsofthsm2.so \
	#       --token obhsm-e2e --pin-file "$fe/pin" --periods 4
	# then print the address (56 chars, ".onion" optional):
	#   "$keytool" address "$fe/hs_ed25519_secret_key"
	echo "frontend-obhsm: prepare: provisioning steps not filled in" >&2
	exit 3
	;;
start)
	check
	# XXX lead: write etc/obhsm-signer.conf / obhsm-collector.conf
	# variants into $fe (socket $fe/signer.sock, control port
	# $OBNET_FE_CONTROL_PORT, cookie $OBNET_FE_COOKIE, backends
	# $OBNET_BACKENDS, master $OBNET_MASTER), then:
	#   "$signer" -d -f "$fe/signer.conf" >"$fe/fe-signer.log" 2>&1 &
	#   echo $! > "$fe/fe-signer.pid"
	#   "$collector" -d -f "$fe/collector.conf" \
	#       >"$fe/fe-collector.log" 2>&1 &
	#   echo $! > "$fe/fe-collector.pid"
	echo "frontend-obhsm: start: daemon steps not filled in" >&2
	exit 3
	;;
*)
	echo "frontend-obhsm: unknown verb $verb" >&2
	exit 2
	;;
esac
