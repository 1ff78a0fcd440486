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
#   OBHSM_FE_KEYMODE       offline (default: the air-gapped ceremony) or
#                          online (the signer holds the identity key)
#   OBHSM_FE_HEALTH        1 (default): the collector's active health
#                          checks (fast failover); 0: descriptors only
#   OBHSM_FE_BUNDLE_SECS   (horizon.sh) offline bundle only from the
#                          earliest period in use now to the one current
#                          this many seconds from now: a bundle that
#                          ends soon (default: 8 periods)
#   OBHSM_FE_HORIZON_WARN  (horizon.sh) the signer's horizon-warn, s
#   OBHSM_FE_P11FAULT      1: the signer reaches SoftHSM through the
#                          fault-injecting module (doc/p11fault.md), so
#                          a test can pull the token (obnet.py token);
#                          0 (default): SoftHSM directly
#   OBHSM_FE_HEAPTRACK     (netscale.sh) a directory: both daemons run
#                          under heaptrack's preload library, writing
#                          <dir>/{signer,collector}.raw (read them with
#                          heaptrack_interpret), sandboxes off (the
#                          profiler's own calls are not in the filters);
#                          unset (default): nothing changes
# Contract:
#   check    exit 0 if the frontend can run here, 3 if not (e2e skips).
#   prepare  before any backend starts: make the token and the master
#            identity; print the master address (56 chars) on stdout.
#   start    after the backends are published and the frontend tor is up:
#            start signer and collector in the background; for each, write
#            its PID to $OBNET_FE_DIR/fe-<name>.pid and log to
#            $OBNET_FE_DIR/fe-<name>.log; obnet ends them by PID.
#   start-signer, start-collector
#            after obnet ended that daemon (frontend-restart): start it
#            again with the same configuration and state; new PID file,
#            log appended.
#   tor-restarted
#            after obnet restarted the frontend tor: give the collector
#            the new control cookie and the SocksPort again.
# Exit 3 means "not available"; anything else non-zero is a failure.
#
# Layout under $OBNET_FE_DIR (what an operator spreads over /etc, /run and
# /var/lib):
#   softhsm2.conf tokens/   the throwaway SoftHSM token (signer's)
#   pin                     its user PIN (signer's, 0600)
#   identity/               the master identity key (the air-gapped
#                           machine's in offline mode; the signer's in
#                           online mode)
#   request bundle          the offline ceremony's files
#   state/ audit/           the signer's state-dir and audit log
#   run/                    the signer's socket, the collector's status
#   collector/              the collector's copy of tor's control cookie
#   signer.conf collector.conf
#
# The daemons drop privileges to their own users, _obhsm_signer and
# _obhsm_collector.  A test run has no such users on the host; inside the
# run's private mount namespace this script adds them by bind-mounting
# extended copies of /etc/passwd and /etc/group (never on the host).
set -eu
# Verbs: check prepare start start-signer start-collector tor-restarted
verb=${1:?usage: frontend-obhsm.sh VERB (see the contract above)}
fe=${OBNET_FE_DIR:?}
bld=${OBHSM_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
keytool=$bld/obhsm-keytool
signer=$bld/obhsm-signer
collector=$bld/obhsm-collector
module=/usr/lib/softhsm/libsofthsm2.so
export SOFTHSM2_CONF="$fe/softhsm2.conf"
token=pkcs11:token=obhsm-e2e
pin=1234
so_pin=12345678
keymode=${OBHSM_FE_KEYMODE:-offline}
health=${OBHSM_FE_HEALTH:-1}
p11fault=${OBHSM_FE_P11FAULT:-0}
# libtool keeps the built module in .libs until it is installed.
faultmod=$bld/tests/p11fault/.libs/obhsm-p11fault.so
[ -r "$faultmod" ] || faultmod=$bld/obhsm-p11fault.so
# tor's test-network time periods (TestingTorNetwork, voting interval
# 20 s): one shared-random run, 24 rounds = 8 minutes, rotated 4 minutes
# (12 rounds) after the period boundary.  Both the keytool and the signer
# must agree with tor on these.
period_len=8
rot_off=4
# Periods to provision: each is 8 minutes, an e2e run lasts at most 18
# (a period rollover is one of its steps); 8 periods (64 minutes) leave
# room for a slow start and long waits.
periods=8
# --- horizon.sh knob: a bundle that ends soon (OBHSM_FE_BUNDLE_SECS).
# From the earliest period in use now (keytool's default first, computed
# here so that count and first agree) to the period current S seconds
# from now; its window, and so the horizon, ends rot_off minutes later
# at the earliest.
first_opt=
if [ -n "${OBHSM_FE_BUNDLE_SECS:-}" ] && [ "$verb" = prepare ]; then
	now_s=$(date +%s)
	first_tp=$(( (now_s / 60 - rot_off) / period_len ))
	if [ $(( (first_tp * period_len + 2 * rot_off) * 60 )) -ge "$now_s" ]
	then
		first_tp=$((first_tp - 1))
	fi
	last_tp=$(( ((now_s + OBHSM_FE_BUNDLE_SECS) / 60 - rot_off) /
	    period_len ))
	periods=$((last_tp - first_tp + 1))
	first_opt="--first $first_tp"
	echo "frontend-obhsm: bundle: periods $first_tp to $last_tp" >&2
fi
# --- end of the horizon.sh knob
# --- netscale.sh knob: S master services in one signer and one collector
# (OBHSM_FE_SERVICES, default 1: then nothing below changes).  For S > 1
# every service is in online identity mode (the signer certifies its own
# token keys: one offline ceremony per service is not what bench/
# netscale.sh measures), the collector lists them in one pool (the
# hosting form), and prepare writes $fe/masters (every address, the
# first is the one it prints) and $fe/ob_masters, the MasterOnionAddress
# lines obnet.py gives the backends: every master when S <= 100, else
# the first and the last 5 (a client can then reach those only).
nsvc=${OBHSM_FE_SERVICES:-1}
case $nsvc in
''|0|*[!0-9]*)
	echo "frontend-obhsm: OBHSM_FE_SERVICES must be a count" >&2
	exit 2 ;;
esac
ob_all=100
[ "$nsvc" -le 1 ] || keymode=online
# --- end of the netscale.sh knob
# --- netscale.sh knob: heap profiles (OBHSM_FE_HEAPTRACK, unset: none)
heaptrack=${OBHSM_FE_HEAPTRACK:-}
# "env" (which execs) so that $! stays the daemon's PID; split on
# blanks, so the directory must have none.
heaptrack_env() {
	[ -n "$heaptrack" ] || return 0
	echo "env LD_PRELOAD=/usr/lib/heaptrack/libheaptrack_preload.so" \
	    "DUMP_HEAPTRACK_OUTPUT=$heaptrack/$1.raw"
}
# --- end of the heap profile knob
su=_obhsm_signer
cu=_obhsm_collector

log() {
	echo "frontend-obhsm: $*" >&2
}

check() {
	for b in "$keytool" "$signer" "$collector"; do
		if [ ! -x "$b" ]; then
			log "$b not built"
			exit 3
		fi
	done
	if [ ! -r "$module" ]; then
		log "SoftHSM2 module missing"
		exit 3
	fi
	if [ "$p11fault" = 1 ] && [ ! -r "$faultmod" ]; then
		log "$faultmod not built"
		exit 3
	fi
	for t in softhsm2-util mount python3; do
		if ! command -v "$t" >/dev/null; then
			log "$t not installed"
			exit 3
		fi
	done
	# Privilege separation needs real uids: in a user namespace that
	# maps only root, the daemons cannot drop to their users.
	if [ "$(id -u)" != 0 ] ||
	    ! awk '$1 == 0 && $2 == 0 && $3 == 4294967295 { ok = 1 }
	    END { exit !ok }' /proc/self/uid_map; then
		log "needs real root (to run the daemons as their own users)"
		exit 3
	fi
	case $keymode in
	offline|online) ;;
	*)	log "OBHSM_FE_KEYMODE must be offline or online"; exit 2 ;;
	esac
}

# The daemons' users: the host's if it has them, else added inside this
# run's own mount namespace.
users_ensure() {
	if getent passwd "$su" >/dev/null && getent passwd "$cu" >/dev/null
	then
		return 0
	fi
	if [ "${OBNET_INSIDE:-}" != 1 ]; then
		log "no users $su/$cu and not inside an obnet run"
		exit 3
	fi
	# Only where a bind mount cannot reach the host: a private mount
	# namespace (unshare's default propagation for --mount).
	prop=$(findmnt -no PROPAGATION / 2>/dev/null || echo unknown)
	case $prop in
	private*) ;;
	*)	log "/ has propagation '$prop', not private: will not" \
		    "bind-mount /etc/passwd"
		exit 3 ;;
	esac
	# uids and gids free on this host
	id=64990
	while getent passwd "$id" >/dev/null ||
	    getent group "$id" >/dev/null ||
	    getent passwd "$((id + 1))" >/dev/null ||
	    getent group "$((id + 1))" >/dev/null; do
		id=$((id - 2))
	done
	cp /etc/passwd "$fe/passwd"
	cp /etc/group "$fe/group"
	nl=/nonexistent:/usr/sbin/nologin
	echo "$su:x:$id:$id:obhsm signer:$nl" >> "$fe/passwd"
	echo "$cu:x:$((id + 1)):$((id + 1)):obhsm collector:$nl" \
	    >> "$fe/passwd"
	echo "$su:x:$id:" >> "$fe/group"
	echo "$cu:x:$((id + 1)):" >> "$fe/group"
	chmod 644 "$fe/passwd" "$fe/group"
	mount --bind "$fe/passwd" /etc/passwd
	mount --bind "$fe/group" /etc/group
	log "users $su ($id) and $cu ($((id + 1))) added in this namespace"
}

# The run directory is 0700 (mktemp): let the daemons' users through.
# Only from $fe up to the run directory, nothing outside the run.
dirs_traversable() {
	top=${OBNET_RUNDIR:?}
	case $fe in
	"$top"/*) ;;
	*)	log "$fe is not under $top"; exit 1 ;;
	esac
	d=$fe
	while :; do
		chmod o+x "$d"
		[ "$d" = "$top" ] && break
		d=$(dirname "$d")
	done
}

prepare() {
	check
	users_ensure
	dirs_traversable
	# A throwaway SoftHSM token under the run directory.
	mkdir -p "$fe/tokens"
	cat > "$SOFTHSM2_CONF" <<CONF
directories.tokendir = $fe/tokens
objectstore.backend = file
log.level = INFO
CONF
	chmod 644 "$SOFTHSM2_CONF"
	softhsm2-util --init-token --free --label obhsm-e2e \
	    --pin "$pin" --so-pin "$so_pin" >&2
	(umask 077; echo "$pin" > "$fe/pin")

	# The master identity.  Offline mode: on the air-gapped machine
	# (here: $fe/identity, which the signer never reads).
	"$keytool" identity generate --dir "$fe/identity" >&2
	addr=$(cat "$fe/identity/hostname")
	addr=${addr%.onion}
	mkdir -m 700 -p "$fe/state" "$fe/audit" "$fe/collector"
	mkdir -m 755 -p "$fe/run"
	if [ "$keymode" = offline ]; then
		# The ceremony: token keys on the online host, certify on
		# the air-gapped machine, import back on the online host.
		# SoftHSM 2.6.1 leaks OpenSSL ASN1 strings in EdDSA
		# C_GenerateKeyPair (tests/test_keytool.c): with a
		# sanitizer build LeakSanitizer would fail this step.
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		    "$keytool" token keys --service "$addr" \
		    --out "$fe/request" --count "$periods" $first_opt \
		    --period-length "$period_len" \
		    --rotation-offset "$rot_off" --module "$module" \
		    --token "$token" --pin "file:$fe/pin" >&2
		"$keytool" certify --identity \
		    "$fe/identity/hs_ed25519_secret_key" \
		    --request "$fe/request" --out "$fe/bundle" >&2
		"$keytool" import --bundle "$fe/bundle" \
		    --state-dir "$fe/state" --module "$module" \
		    --token "$token" --pin "file:$fe/pin" >&2
		"$keytool" status --state-dir "$fe/state" --warn 0 \
		    --crit 0 >&2 || true
	else
		# Online mode: the signer keeps the identity key itself.
		cp "$fe/identity/hs_ed25519_secret_key" \
		    "$fe/state/hs_ed25519_secret_key"
		chmod 600 "$fe/state/hs_ed25519_secret_key"
	fi
	[ "$nsvc" -le 1 ] || masters_make
	# Everything the signer opens after dropping privileges is its own.
	chown -R "$su:$su" "$fe/tokens" "$fe/state" "$fe/audit" "$fe/pin"
	chown "$cu:$cu" "$fe/collector"
	echo "$addr"
}

# netscale.sh knob: masters 2..S, each with its identity key in $fe/keys
# (the signer's user's, 0600) for online mode.
masters_make() {
	mkdir -m 700 -p "$fe/ids" "$fe/keys"
	echo "$addr" > "$fe/masters"
	i=2
	while [ "$i" -le "$nsvc" ]; do
		"$keytool" identity generate --dir "$fe/ids/$i" >/dev/null
		a=$(cat "$fe/ids/$i/hostname")
		a=${a%.onion}
		install -m 600 -o "$su" -g "$su" \
		    "$fe/ids/$i/hs_ed25519_secret_key" "$fe/keys/$a"
		echo "$a" >> "$fe/masters"
		i=$((i + 1))
	done
	chown "$su:$su" "$fe/keys"
	if [ "$nsvc" -le "$ob_all" ]; then
		cat "$fe/masters"
	else
		head -5 "$fe/masters"
		tail -5 "$fe/masters"
	fi | sed 's/.*/MasterOnionAddress &.onion/' > "$fe/ob_masters"
	log "$nsvc masters (online mode); the backends' ob_config lists" \
	    "$(wc -l < "$fe/ob_masters") of them" \
	    "(first $(head -1 "$fe/masters"), last $(tail -1 "$fe/masters"))"
}

# The backends as the body of a libconfuse list, each with suffix $1.
backends_list() {
	sep=
	for b in $OBNET_BACKENDS; do
		[ -n "$sep" ] && echo ","
		printf '\t\t"%s%s"' "$b" "$1"
		sep=,
	done
	echo
}

# netscale.sh knob: the signer's sections for masters 2..S.
signer_conf_more() {
	sed 1d "$fe/masters" | while read -r a; do
		echo "service \"$a\" {"
		echo "	backends = {"
		backends_list ""
		echo "	}"
		echo "	key-mode = \"online\""
		echo "	identity-key = \"$fe/keys/$a\""
		echo "}"
	done
}

# netscale.sh knob: every master in one pool ("services", the hosting
# form), in place of the one service section; republished at the
# shipped defaults (etc/obhsm-collector.conf), not every 60-90 s as
# above for e2e.sh's restart checks: at S = 100 that alone asks the
# frontend tor for 1600 uploads a minute, more than it managed here.
collector_conf_pool() {
	sed -i -e '/^service "/,$d' \
	    -e 's/^republish-min = .*/republish-min = 3600/' \
	    -e 's/^republish-max = .*/republish-max = 7200/' \
	    "$fe/collector.conf"
	{
		echo "pool \"obnet\" {"
		echo "	backends = {"
		backends_list .onion
		echo "	}"
		echo "	services = {"
		sed -e 's/.*/		"&.onion",/' -e '$s/,$//' "$fe/masters"
		echo "	}"
		echo "}"
	} >> "$fe/collector.conf"
}

signer_conf() {
	cat <<CONF
# obhsm-signer.conf for the obnet test network (etc/obhsm-signer.conf).
pkcs11-module = "$signer_module"
token-uri = "$token"
pin-source = "file:$fe/pin"
hsm-timeout = 10000
socket = "$fe/run/signer.sock"
socket-mode = 0660
collector-user = "$cu"
# The socket's group: without it the socket belongs to the signer's own
# group and the collector (not a member) cannot connect.
collector-gid = $(getent group "$cu" | cut -d: -f3)
user = "$su"
state-dir = "$fe/state"
audit-log = "$fe/audit/audit.log"
period-length = $period_len
rotation-offset = $rot_off
online-periods = 2
${OBHSM_FE_HORIZON_WARN:+horizon-warn = $OBHSM_FE_HORIZON_WARN}
syslog = false
sandbox = "$([ -n "$heaptrack" ] && echo off || echo kill)"
service "$OBNET_MASTER" {
	backends = {
CONF
	sep=
	for b in $OBNET_BACKENDS; do
		[ -n "$sep" ] && echo ","
		printf '\t\t"%s"' "$b"
		sep=,
	done
	echo
	echo "	}"
	echo "	key-mode = \"$keymode\""
	if [ "$keymode" = online ]; then
		echo "	identity-key = \"$fe/state/hs_ed25519_secret_key\""
	fi
	echo "}"
}

collector_conf() {
	if [ "$health" = 1 ]; then hc=true; else hc=false; fi
	cat <<CONF
# obhsm-collector.conf for the obnet test network
# (etc/obhsm-collector.conf).  Test-network periods are taken from tor
# (GETCONF TestingTorNetwork).
control-port = "127.0.0.1:$OBNET_FE_CONTROL_PORT"
control-cookie-file = "$fe/collector/control_auth_cookie"
socks-port = "127.0.0.1:$fe_socks"
signer-socket = "$fe/run/signer.sock"
signer-timeout = 10
status-socket = "$fe/run/collector.sock"
fetch-interval = 10
fetch-timeout = 30
health-check = $hc
health-check-interval = 10
# A check here answers in under 4 s (p90 0.4 s); a dead backend's
# check runs into the timeout, twice before it is dropped: with 15 s
# the kill-to-drop time reached 50 s (bound: 60 s), with 10 s the worst
# case is about 40 s.
health-check-timeout = 10
health-check-failures = 2
health-check-port = 80
# Republish soon: a test run lasts minutes, and the restart checks
# (e2e.sh) want to see a fresh revision from a restarted daemon.
republish-min = 60
republish-max = 90
upload-retry-min = 15
upload-retry-max = 120
sandbox = $([ -n "$heaptrack" ] && echo false || echo true)
user = "$cu"
service "$OBNET_MASTER.onion" {
	backends = {
CONF
	sep=
	for b in $OBNET_BACKENDS; do
		[ -n "$sep" ] && echo ","
		printf '\t\t"%s.onion"' "$b"
		sep=,
	done
	echo
	echo "	}"
	echo "	intro-policy = \"steady\""
	echo "	intro-points = 10"
	echo "}"
}

# The frontend tor (obnet's torrc) has no SocksPort; the collector's
# health checks need one: open it over the control port, as an operator
# would put "SocksPort" in torrc.
fe_tor_socks() {
	python3 - "$OBNET_FE_CONTROL_PORT" "$OBNET_FE_COOKIE" "$fe_socks" <<'PY'
import socket, sys
port, cookie, socks = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(cookie, "rb") as f:
	c = f.read().hex()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("AUTHENTICATE %s\r\nSETCONF SocksPort=127.0.0.1:%s\r\n"
    "QUIT\r\n" % (c, socks)).encode())
got = b""
while True:
	d = s.recv(4096)
	if not d:
		break
	got += d
lines = got.decode(errors="replace").splitlines()
if len(lines) < 2 or not all(l.startswith("250") for l in lines[:2]):
	sys.exit("frontend-obhsm: fe-tor SocksPort: %r" % got)
PY
}

# In the foreground (-d) the daemons log to stderr without times; the
# measurements need them.  The stamper ends when the daemon closes its
# end of the fifo, so obnet only has to end the daemon.
stamp() {
	rm -f "$fe/fe-$1.fifo"
	mkfifo -m 600 "$fe/fe-$1.fifo"
	# Not a byte of the caller's stdout: obnet waits for its end.
	(while IFS= read -r l; do
		printf '%s %s\n' "$(date -u +%H:%M:%S)" "$l"
	done) < "$fe/fe-$1.fifo" >> "$fe/fe-$1.log" 2>&1 &
}

start() {
	check
	: "${OBNET_MASTER:?}" "${OBNET_BACKENDS:?}" "${OBNET_FE_COOKIE:?}"
	: "${OBNET_FE_CONTROL_PORT:?}"
	users_ensure
	fe_socks=$((OBNET_FE_CONTROL_PORT + 50))
	tor_attach
	fault_setup
	signer_conf > "$fe/signer.conf"
	collector_conf > "$fe/collector.conf"
	if [ "$nsvc" -gt 1 ]; then
		signer_conf_more >> "$fe/signer.conf"
		collector_conf_pool
	fi
	"$signer" -n -f "$fe/signer.conf"
	"$collector" -n -f "$fe/collector.conf"
	signer_start
	collector_start
	log "signer pid $(cat "$fe/fe-signer.pid"), collector pid" \
	    "$(cat "$fe/fe-collector.pid")"
}

# What the collector needs from the frontend tor; again after that tor
# restarts (a new tor has a new cookie and only its torrc's ports).
tor_attach() {
	if [ "$health" = 1 ]; then
		fe_tor_socks
	fi
	# tor keeps its DataDirectory (and so the cookie) root-only; an
	# operator sets CookieAuthFileGroupReadable, here the collector
	# gets its own copy (the cookie does not change while tor runs).
	install -m 600 -o "$cu" -g "$cu" "$OBNET_FE_COOKIE" \
	    "$fe/collector/control_auth_cookie"
}

alive_check() {
	if ! kill -0 "$(cat "$fe/fe-$1.pid")" 2>/dev/null; then
		log "$1 exited at once:"
		tail -20 "$fe/fe-$1.log" >&2
		exit 1
	fi
}

# The fault-injecting module between the signer and SoftHSM: the signer
# (its own user after the privilege drop) reads the control file, which
# obnet.py token replaces whole, and rewrites the counters file.
signer_module=$module
[ "$p11fault" = 1 ] && signer_module=$faultmod
fault_setup() {
	[ "$p11fault" = 1 ] || return 0
	echo "removed 0" > "$fe/p11fault.ctl"
	chmod 644 "$fe/p11fault.ctl"
	: > "$fe/p11fault.counters"
	chown "$su:$su" "$fe/p11fault.counters"
}

signer_start() {
	if [ "$nsvc" -gt 1 ]; then
		ready0=$(grep -c 'ready on' "$fe/fe-signer.log" 2>/dev/null) ||
		    ready0=0
	fi
	rm -f "$fe/run/signer.sock"
	if [ "$p11fault" = 1 ]; then
		export OBHSM_P11FAULT_MODULE="$module"
		export OBHSM_P11FAULT_CONTROL="$fe/p11fault.ctl"
		export OBHSM_P11FAULT_COUNTERS="$fe/p11fault.counters"
	fi
	stamp signer
	$(heaptrack_env signer) "$signer" -d -v -f "$fe/signer.conf" \
	    </dev/null >"$fe/fe-signer.fifo" 2>&1 &
	echo $! > "$fe/fe-signer.pid"
	# The collector connects to the signer's socket: wait for it.
	n=0
	while [ ! -S "$fe/run/signer.sock" ]; do
		n=$((n + 1))
		if [ $n -gt 100 ] ||
		    ! kill -0 "$(cat "$fe/fe-signer.pid")" 2>/dev/null; then
			log "signer did not come up:"
			tail -20 "$fe/fe-signer.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	sleep 1
	alive_check signer
	[ "$nsvc" -le 1 ] || signer_ready_wait
}

# netscale.sh knob: with S services the signer provisions 3 token keys
# each before it serves (about 2 minutes for 1000 with SoftHSM); start
# the collector once it says it is ready, as a supervisor waiting for
# readiness would, so that its first requests do not time out.
signer_ready_wait() {
	n=0
	lim=$(( ${OBHSM_FE_READY_SECS:-900} * 2 ))
	while :; do
		r=$(grep -c 'ready on' "$fe/fe-signer.log" 2>/dev/null) || r=0
		[ "$r" -gt "$ready0" ] && break
		n=$((n + 1))
		if [ $n -gt "$lim" ] ||
		    ! kill -0 "$(cat "$fe/fe-signer.pid")" 2>/dev/null; then
			log "signer not ready:"
			tail -20 "$fe/fe-signer.log" >&2
			exit 1
		fi
		sleep 0.5
	done
	log "signer ready ($nsvc services)"
}

collector_start() {
	stamp collector
	$(heaptrack_env collector) "$collector" -d -v \
	    -f "$fe/collector.conf" </dev/null >"$fe/fe-collector.fifo" 2>&1 &
	echo $! > "$fe/fe-collector.pid"
	sleep 1
	alive_check collector
}

case $verb in
check)
	check
	;;
prepare)
	prepare
	;;
start)
	start
	;;
start-signer)
	# After obnet ended the old one (frontend-restart signer).
	signer_start
	log "signer restarted, pid $(cat "$fe/fe-signer.pid")"
	;;
start-collector)
	collector_start
	log "collector restarted, pid $(cat "$fe/fe-collector.pid")"
	;;
tor-restarted)
	fe_socks=$((OBNET_FE_CONTROL_PORT + 50))
	tor_attach
	log "collector given the new tor's cookie and SocksPort"
	;;
*)
	log "unknown verb $verb"
	exit 2
	;;
esac
