#!/bin/sh
# horizon.sh: the offline-mode horizon on a private tor network ("make
# check", issue #6): with a bundle that ends soon the signer warns; past
# it, the signer refuses and the collector reports why.
#
# The network of e2e.sh (obnet.py: 3 authorities, 5 relays, 2 stock
# backends, a tor client) with our daemons in offline mode, whose
# ceremony certifies only the periods from the earliest in use now to
# the one current OBHSM_FE_BUNDLE_SECS (120) seconds later
# (frontend-obhsm.sh): the bundle's last period L ends its window of use,
# the horizon, 6 to 14 minutes after the ceremony.  The signer runs
# with horizon-warn 1200 s.  Passes when, in order:
#   1. warning: the master is on all 8 HSDirs and the client reaches both
#      backends through it, the signer logged its horizon warning; a copy
#      of the master descriptor the client sees is kept;
#   2. beyond the bundle (L+1 live, L still in use): the signer refuses
#      to certify for L+1 and says why in its log, the collector's status
#      shows that refusal with the signer's reason for that period, while
#      the period-L descriptor stays published (uploaded to HSDirs, no
#      error) and the client is still served through it; a copy of it is
#      kept; the collector's status (--json) relays the signer's horizon
#      state "warning";
#   3. past the horizon (neither live period provisioned): the signer
#      refuses with reason horizon, the collector's status shows that
#      refusal for both periods and the signer's state "past"; the audit
#      log verifies and holds no signature made after the horizon or for
#      a period beyond L; signer and collector still run and neither
#      logged a sanitizer error; the masters kept in steps 1 and 2
#      verify (obhsm-keytool descriptor decode: signature and certs; their
#      08 cert is one the bundle issued, for period L in step 2; stem);
#      no HSDir ever served a lower revision (obnet.py revcheck).
# The audit log records signatures only (obhsm-signer(8)): the refusals
# are in the signer's log, checked in steps 2 and 3.  Every figure is
# printed as "horizon: FIGURE ...".
#
# OBHSM_E2E=0 skips (77), as for e2e.sh ("make distcheck").  Exit 0 pass,
# 1 fail, 77 skip (no namespaces, no tor, daemons not built).  The run
# dir is kept on failure, or always with OBNET_KEEP=1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${OBNET_INSIDE:-}" != 1 ]; then
	. "$here/outside.sh"
	# Bootstrap (up to 150 s), ceremony to horizon (up to 14 min),
	# the checks after it (about 2 min).
	export OBHSM_FE_BUNDLE_SECS="${OBHSM_FE_BUNDLE_SECS:-120}"
	export OBHSM_FE_HORIZON_WARN="${OBHSM_FE_HORIZON_WARN:-1200}"
	obnet_outside horizon obhsm 1500 "$here/horizon.sh"
fi

bld=${OBHSM_BUILDDIR:-$(cd "$here/../.." && pwd)}
# The checks below import obnet.py: no __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
fe=$OBNET_RUNDIR/fe
t0=$(date +%s)
ob() { /usr/bin/python3 "$here/obnet.py" "$@"; }
say() {
	echo "horizon: $* [run $(($(date +%s) - t0)) s]"
}
fail() {
	say "FAIL: $*"
	exit 1
}
figure() {
	echo "horizon: FIGURE $*"
}
# fig NAME CMD...: an obnet step whose last stdout line is its summary.
fig() {
	name=$1; shift
	out=$(ob "$@") || fail "$name: $out"
	figure "$name: $(echo "$out" | tail -1)"
}
# The collector's status (obhsm-collector(8)) as JSON.
cstatus() {
	"$bld/obhsm-collector" -f "$fe/collector.conf" status --json
}
# jq-like queries on the status, in Python (no jq on the machine).
# sq EXPR: print EXPR evaluated with s = the status object, D = the
# descriptors of our one service, by tp.
sq() {
	cstatus | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
svc = s["services"][0]
D = {d["tp"]: d for d in svc["descriptors"]}
print(eval(sys.argv[1]))' "$1"
}
# wait_until SECONDS WHAT CMD...: poll CMD every 5 s until it succeeds.
wait_until() {
	limit=$(($(date +%s) + $1)); what=$2; shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$limit" ] ||
			fail "timed out waiting for $what"
		sleep 5
	done
}
# The signer's horizon state as the collector's status relays it.
horizon_state() {
	[ "$(sq 'svc["signer_horizon"] and svc["signer_horizon"]["state"]')" \
	    = "$1" ]
}
alive() {
	for d in signer collector; do
		kill -0 "$(cat "$fe/fe-$d.pid")" 2>/dev/null ||
			fail "the $d is not running (log: $fe/fe-$d.log)"
	done
}

ob up --frontend obhsm --timeout 150
master=$(ob status | sed -n 's/.*"master": "\([a-z2-7]*\)".*/\1/p')
[ ${#master} = 56 ] || fail "no master address in obnet status"

# The bundle frontend-obhsm.sh made: its periods, and the horizon, the
# end of the last period's window of use (obhsm-keytool(8), FILES).
plen=$(sed -n 's/^period-length //p' "$fe/bundle")
rot=$(sed -n 's/^rotation-offset //p' "$fe/bundle")
first=$(sed -n 's/^period //p' "$fe/bundle" | head -1)
last=$(sed -n 's/^period //p' "$fe/bundle" | tail -1)
[ -n "$plen" ] && [ -n "$rot" ] && [ -n "$last" ] ||
	fail "cannot read the bundle $fe/bundle"
horizon=$(( (last * plen + plen + 2 * rot) * 60 ))
# From here the next period, L+1, is live (its window opens), and from
# here a client looks up L+1, no longer L.
next_live=$(( ((last + 1) * plen) * 60 ))
client_moves=$(( ((last + 1) * plen + rot) * 60 ))
figure "bundle: periods $first to $last, horizon in" \
    "$((horizon - $(date +%s))) s ($(date -u -d "@$horizon" +%H:%M:%S))"
st=0
ks=$("$bld/obhsm-keytool" status --state-dir "$fe/state" --warn 1 \
    --crit 0) || st=$?
figure "keytool status (exit $st): $(echo "$ks" | head -1)"
[ "$st" = 1 ] || [ "$st" = 2 ] ||
	fail "keytool status did not warn about a horizon within a day"

say "== 1. bundle ending soon: warning, master published, client served"
ob frontend-start
ob wait-master --timeout 180 --min-hsdirs 8
[ "$(date +%s)" -lt "$client_moves" ] ||
	fail "the client has moved on to period $((last + 1)) already:" \
	    "the network came up too slowly for OBHSM_FE_BUNDLE_SECS"
fig fetch-both fetch --until-all --timeout 120 --record first_fetch_s
# A copy of the master as HSDirs serve it to the client now (the newest
# revision on any of them), for the checks after the horizon.
keep_master() {
	/usr/bin/python3 - "$here" "$OBNET_RUNDIR" "$master" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import obnet
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
rundir, addr, out = sys.argv[2:5]
net = obnet.State(rundir).get()["net"]
with obnet.tor_ctl(rundir, "client", obnet.CLIENT_CTL) as c:
	fr = obnet.hsfetch(c, addr, 60, sorted(net["fingerprints"].values()))
best = None
for text in fr.descriptors():
	rev = HiddenServiceDescriptorV3(text.encode()).revision_counter
	if best is None or rev > best[0]:
		best = (rev, text)
if best is None:
	sys.exit("no copy: " + fr.summary())
with open(out, "w") as f:
	f.write(best[1])
PY
}
# master_period FILE: the bundle period whose 08 certs hold the one in
# the descriptor FILE (keytool import checked each of those against the
# blinded key computed from the address for its period), then what stem
# reads in it with the address.
master_period() {
	/usr/bin/python3 - "$here" "$master" "$1" "$fe/bundle" <<'PY'
import base64, re, sys
sys.path.insert(0, sys.argv[1])
import obnet
addr, descf, bundlef = sys.argv[2:5]
with open(descf) as f:
	text = f.read()
m = re.search(r"^descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n"
    r"(.*?)-----END ED25519 CERT-----", text, re.S | re.M)
if m is None:
	sys.exit("no descriptor-signing-key-cert")
cert = base64.b64decode("".join(m.group(1).split()))
tp = None
with open(bundlef) as f:
	for line in f:
		w = line.split()
		if w and w[0] == "period":
			tp = w[1]
		elif w and w[0] == "cert" and cert == base64.b64decode(
		    w[1] + "=" * (-len(w[1]) % 4)):
			break
	else:
		sys.exit("its 08 cert is not one the bundle issued")
rev, keys = obnet.desc_intro_keys(text, addr)
print("%s revision %d, %d intro points" % (tp, rev, len(keys)))
PY
}
keep_master "$fe/master-1.desc" ||
	fail "could not keep a copy of the master descriptor"
grep -q "horizon: $master: provisioned periods end in" "$fe/fe-signer.log" ||
	fail "no horizon warning in the signer's log"
figure "signer warning: $(grep -m1 "horizon: $master" "$fe/fe-signer.log")"

say "== 2. period $((last + 1)) beyond the bundle, $last still published"
now=$(date +%s)
if [ "$now" -lt "$next_live" ]; then
	say "waiting $((next_live - now)) s for period $((last + 1)) to open"
	sleep $((next_live - now))
fi
# The collector follows the consensus (a new one every 20 s) and retries
# a refused publish after 10 s, then 20 s, ...
refused_next() {
	sq "$((last + 1)) in D and 'signer refused' in D[$((last + 1))]['error'] \
	    and D.get($last, {}).get('uploaded', 0) > 0" | grep -qx True
}
wait_until 120 "the collector to report the refusal for $((last + 1))" \
    refused_next
[ "$(date +%s)" -lt "$horizon" ] ||
	fail "past the horizon before step 2 was checked"
figure "collector status, period $((last + 1)):" \
    "$(sq "D[$((last + 1))]['error']")"
figure "collector status, period $last:" \
    "$(sq "{k: D[$last][k] for k in ('revision', 'uploaded', 'hsdirs', \
    'error')}")"
[ "$(sq "D[$last]['error'] == '' and D[$last]['uploaded'] > 0")" = True ] ||
	fail "period $last is not published (status: $(sq "D[$last]"))"
# The reason names the period beyond the bundle, in both logs.
why="$master: time period $((last + 1)) is not provisioned"
[ "$(date +%s)" -lt "$client_moves" ] ||
	fail "the client has moved on to period $((last + 1)) already"
fig fetch-beyond fetch --count 2 --min-ok 2 --timeout 90
keep_master "$fe/master-2.desc" ||
	fail "could not keep a copy of the master descriptor"
# Only now the warning in the collector's status, asked from the signer
# every minute: the client's fetch above had to come before it moves on
# to period L+1 (OBHSM_FE_BUNDLE_SECS after the ceremony at the
# earliest), and the warning lasts until the horizon.
wait_until 90 "the collector's status to relay the warning" \
    horizon_state warning
figure "collector status: signer horizon" \
    "$(sq 'svc["signer_horizon"]')"
grep -q "refused (.*): $why" "$fe/fe-signer.log" ||
	fail "no refusal for period $((last + 1)) in the signer's log"
figure "signer log: $(grep -m1 "refused (.*): $why" "$fe/fe-signer.log")"
sq "D[$((last + 1))]['error']" | grep -q "$why" ||
	fail "the collector's status does not give the signer's reason"
grep -q "tp $((last + 1)) failed: signer refused .*: no-keys: $why" \
    "$fe/fe-collector.log" ||
	fail "the collector's log does not give the signer's reason"
alive

say "== 3. past the horizon"
now=$(date +%s)
if [ "$now" -lt "$horizon" ]; then
	say "waiting $((horizon - now)) s for the horizon"
	sleep $((horizon - now))
fi
# Both live periods are beyond the bundle now.
refused_both() {
	sq "len(D) == 2 and all(tp > $last and 'provisioned periods ended' \
	    in d['error'] for tp, d in D.items())" | grep -qx True
}
wait_until 150 "the collector to report horizon refusals for both periods" \
    refused_both
figure "collector status past the horizon: $(sq "{tp: d['error'] \
    for tp, d in D.items()}")"
grep -q "refused (horizon): $master: provisioned periods ended" \
    "$fe/fe-signer.log" || fail "no horizon refusal in the signer's log"
figure "signer log: $(grep -m1 "refused (horizon): $master" \
    "$fe/fe-signer.log")"
wait_until 90 "the collector's status to show the horizon passed" \
    horizon_state past
grep -q "tp $((last + 2)) failed: signer refused .*: horizon: $master" \
    "$fe/fe-collector.log" ||
	fail "the collector's log does not give the signer's reason"
# What an operator sees: "obhsm-collector status" as text.
"$bld/obhsm-collector" -f "$fe/collector.conf" status "$master" |
    grep "signer horizon\|last error" | while IFS= read -r l; do
	figure "collector status (text): $l"
done
# Refusals keep coming (the collector retries with back-off): let a few
# go by, then check that none of them was signed after all.
sleep 30
alive
figure "refusals logged by the signer: $(grep -c "refused (horizon)" \
    "$fe/fe-signer.log") horizon, $(grep -c "refused (no-keys)" \
    "$fe/fe-signer.log") no-keys"
"$bld/obhsm-keytool" audit verify "$fe/audit/audit.log" ||
	fail "the audit log does not verify"
# seq time service tp kind digest uid pid prev hash
audit=$(awk -v h="$horizon" -v l="$last" '
	{ n[$5]++; if ($4 > l) beyond++; if ($2 > h) late++
	  if ($5 == "desc") d[$4]++; if ($2 > last) last = $2 }
	END { printf "%d records (%d desc, %d cert09, %d cert0b); desc per " \
	    "period:", NR, n["desc"], n["cert09"], n["cert0b"]
	    for (t in d) printf " %s=%d", t, d[t]
	    printf "; the last %d s before the horizon", h - last
	    printf "; after the horizon %d; beyond period %s %d\n", late, l,
	    beyond }' "$fe/audit/audit.log")
figure "audit: $audit"
case $audit in
*"after the horizon 0; beyond period $last 0") ;;
*)	fail "something was signed past the horizon or the bundle" ;;
esac
if grep -l "AddressSanitizer\|runtime error:\|LeakSanitizer" \
    "$fe"/fe-*.log; then
	fail "a sanitizer reported an error"
fi
# The masters kept in steps 1 and 2 (the second for period L) still
# verify from the address down: their 08 cert is one the bundle issued,
# and their signature and every intro point cert verify (our decoder).
for k in 1 2; do
	"$bld/obhsm-keytool" descriptor decode --address "$master" \
	    "$fe/master-$k.desc" > "$fe/master-$k.decoded" &&
	    grep -qx "signature: valid" "$fe/master-$k.decoded" ||
		fail "the master kept in step $k no longer verifies"
	v=$(master_period "$fe/master-$k.desc") ||
		fail "the master kept in step $k: $v"
	figure "master kept in step $k, after the horizon: period $v;" \
	    "$(grep -m1 "^introduction points:" "$fe/master-$k.decoded")"
	[ $k = 1 ] || [ "${v%% *}" = "$last" ] ||
		fail "the master kept in step 2 is for period ${v%% *}," \
		    "not $last"
done
fig revisions revcheck
ob report
say "total $(($(date +%s) - t0)) s"
