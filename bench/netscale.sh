#!/bin/sh
# netscale.sh [S...]: the real obhsm daemons at scale on the private tor
# network of tests/integration/obnet.py (default S: "1 100 1000").
#
# For each S, one network run (one after the other, never two at once):
# 3 authorities, 5 relays, 2 stock backends, a client, and one
# obhsm-signer and one obhsm-collector serving S master services
# (frontend-obhsm.sh with OBHSM_FE_SERVICES=S: online identity mode, one
# pool; online mode at S = 1 too).  Measured:
#   start   frontend start (its tor, the signer until it says ready: it
#           provisions 3 token keys per service) until the collector runs
#   publish from then until every master's descriptors, both live
#           periods, are uploaded to every responsible HSDir (the
#           collector's status socket, asked one service at a time so
#           that asking does not grow the collector)
#   fetch   a client fetch through the first and through the last master
#   memory  peak RSS (VmHWM) of the signer and of the collector, and the
#           RSS (VmRSS) after publication settled (NETSCALE_SETTLE s,
#           default 60, after the fetches), separately and summed
#   cpu     utime+stime of each daemon at the end
# Publication is waited for at most NETSCALE_PUB_SECS (default 300 + S)
# seconds; past that the rest is measured anyway and the table says how
# many masters were complete ("> 400 (47 of 100)"), and the run
# directory is kept.
# The table is printed and appended to bench/RESULTS-netscale.md with the
# date, the load average and the commit the daemons were built from.
#
# OBHSM_FE_HEAPTRACK=DIR: heap profiles of both daemons in DIR
# (frontend-obhsm.sh); the table is printed, not appended.
# OBHSM_BUILDDIR: the build directory (default: the source tree).  Every
# wait has a deadline; a failed run's directory is kept (always with
# OBNET_KEEP=1).  Needs real root (the daemons drop to their own users).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
obnet=$top/tests/integration/obnet.py
export OBHSM_BUILDDIR=${OBHSM_BUILDDIR:-$top}
# Online identity mode at every S (S > 1 needs it), so that S = 1 is the
# same set-up as the others.
export OBHSM_FE_KEYMODE=online
settle=${NETSCALE_SETTLE:-60}
ob() { /usr/bin/python3 "$obnet" "$@"; }
now() { date +%s.%N; }
# seconds between two now()s, one decimal
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- inside
if [ "${1:-}" = --one ]; then
	S=$2
	out=$OBNET_RUNDIR/netscale.json
	fe=$OBNET_RUNDIR/fe
	ob up --frontend obhsm --timeout 300
	t_fe=$(now)
	# Provisioning is about 0.11 s per service with SoftHSM.
	ob frontend-start --timeout $((600 + S / 2))
	t_ready=$(now)
	first=$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["net"]["master"])' \
	    "$OBNET_RUNDIR/state.json")
	last=$(tail -1 "$fe/masters" 2>/dev/null || echo "$first")
	spid=$(cat "$fe/fe-signer.pid")
	cpid=$(cat "$fe/fe-collector.pid")
	/usr/bin/python3 - "$fe" "$S" "${NETSCALE_PUB_SECS:-$((300 + S))}" \
	    "$spid" "$cpid" \
	    > "$OBNET_RUNDIR/published.json" <<'PY'
# Poll the collector's status socket, one service per request ("json
# ADDR"), only for services not yet seen complete, until every service
# has both live descriptors uploaded to all their HSDirs.
import json, os, socket, sys, time
fe, S, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pids = {"signer": int(sys.argv[4]), "collector": int(sys.argv[5])}
sock = os.path.join(fe, "run", "collector.sock")
mf = os.path.join(fe, "masters")
if os.path.exists(mf):
	masters = open(mf).read().split()
else:
	st = json.load(open(os.path.join(os.path.dirname(fe), "state.json")))
	masters = [st["net"]["master"]]
if len(masters) != S:
	sys.exit("netscale: %d masters listed, wanted %d" % (len(masters), S))

def ask(addr):
	s = socket.socket(socket.AF_UNIX)
	s.settimeout(10)
	s.connect(sock)
	s.sendall(("json %s.onion\n" % addr).encode())
	got = b""
	while True:
		d = s.recv(65536)
		if not d:
			break
		got += d
	s.close()
	return json.loads(got)

def complete(j):
	sv = j.get("services") or []
	if len(sv) != 1:
		return False
	ds = sv[0]["descriptors"]
	return len(ds) == 2 and all(d["tp"] > 0 and d["revision"] > 0 and
	    d["hsdirs"] > 0 and d["uploaded"] == d["hsdirs"] for d in ds)

def mem(pid):
	r = {}
	with open("/proc/%d/status" % pid) as f:
		for ln in f:
			k = ln.split(":")[0]
			if k in ("VmRSS", "VmHWM"):
				r[k] = int(ln.split()[1])
	return r

t0 = time.monotonic()
left = set(masters)
done = {}
last_log = 0
j = None
while left:
	el = time.monotonic() - t0
	for a in sorted(left):
		try:
			j = ask(a)
		except (OSError, ValueError) as e:
			print("netscale: status %s: %s" % (a, e),
			    file=sys.stderr)
			continue
		if complete(j):
			done[a] = round(time.monotonic() - t0, 1)
			left.discard(a)
	if el - last_log >= 30 or not left:
		last_log = el
		print("netscale: %d/%d masters uploaded everywhere (%.0f s)" %
		    (len(done), S, el), file=sys.stderr, flush=True)
	if not left:
		break
	if el > limit:
		# Measured anyway (memory, fetches): the table says how far
		# publication got.
		print("netscale: %d of %d masters not uploaded everywhere "
		    "after %.0f s" % (len(left), S, limit), file=sys.stderr)
		break
	time.sleep(5)
g = j or {}
tv = sorted(done.values()) or [None]
print(json.dumps({"ok": not left, "done": len(done),
    "limit_s": limit, "publish_s": tv[-1] if not left else None,
    "first_s": tv[0], "median_s": tv[len(tv) // 2],
    "token_signatures": g.get("signer", {}).get("signatures"),
    "uploads": g.get("uploads"),
    "mem_at_published": {k: mem(p) for k, p in pids.items()}}))
PY
	t_pub=$(now)
	f1=$(ob fetch --addr "$first" --count 1 --min-ok 1 --timeout 150 |
	    tail -1)
	f2=$f1
	if [ "$last" != "$first" ]; then
		f2=$(ob fetch --addr "$last" --count 1 --min-ok 1 \
		    --timeout 150 | tail -1)
	fi
	[ -n "$f1" ] || f1='{"ok": 0}'
	[ -n "$f2" ] || f2='{"ok": 0}'
	sleep "$settle"
	/usr/bin/python3 - "$spid" "$cpid" > "$OBNET_RUNDIR/procs.json" <<'PY'
import json, os, sys
tck = os.sysconf("SC_CLK_TCK")
r = {}
for name, pid in (("signer", int(sys.argv[1])), ("collector",
    int(sys.argv[2]))):
	m = {}
	with open("/proc/%d/status" % pid) as f:
		for ln in f:
			k = ln.split(":")[0]
			if k in ("VmRSS", "VmHWM"):
				m[k] = int(ln.split()[1])
	with open("/proc/%d/stat" % pid) as f:
		st = f.read().rsplit(")", 1)[1].split()
	# fields 14 and 15 (utime, stime); st[0] is field 3
	m["cpu_s"] = round((int(st[11]) + int(st[12])) / tck, 2)
	r[name] = m
print(json.dumps(r))
PY
	cat > "$out" <<EOF
{"S": $S, "start_s": $(secs "$t_fe" "$t_ready"),
 "total_s": $(secs "$t_fe" "$t_pub"),
 "published": $(cat "$OBNET_RUNDIR/published.json"),
 "fetch_first": $f1, "fetch_last": $f2,
 "procs": $(cat "$OBNET_RUNDIR/procs.json"),
 "ob_masters": $(grep -c . "$fe/ob_masters" 2>/dev/null || echo 1)}
EOF
	cat "$out"
	exit 0
fi

# ---------------------------------------------------------------- outside
[ "$(id -u)" = 0 ] || { echo "netscale: needs root" >&2; exit 77; }
sizes=${*:-1 100 1000}
src=$(sed -n 's/^abs_top_srcdir = //p' "$OBHSM_BUILDDIR/Makefile" \
    2>/dev/null || echo "$top")
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "?")
load0=$(cut -d' ' -f1-3 /proc/loadavg)
res=$(mktemp)
trap 'rm -f "$res"' EXIT
for S in $sizes; do
	rd=$(mktemp -d "${TMPDIR:-/tmp}/obhsm-netscale.XXXXXX")
	echo "netscale: S=$S, run dir $rd" >&2
	rc=0
	OBHSM_FE_SERVICES=$S /usr/bin/python3 "$obnet" run --rundir "$rd" \
	    --timeout $((1500 + S * 2)) -- sh "$0" --one "$S" || rc=$?
	if [ $rc = 0 ] && [ -s "$rd/netscale.json" ]; then
		tr -d '\n' < "$rd/netscale.json" >> "$res"
		echo >> "$res"
		if [ "${OBNET_KEEP:-}" = 1 ] ||
		    grep -q '"publish_s": null' "$rd/netscale.json"; then
			echo "netscale: S=$S: run dir $rd kept" >&2
		else
			rm -rf "$rd"
		fi
	else
		echo "{\"S\": $S, \"failed\": $rc, \"rundir\": \"$rd\"}" \
		    >> "$res"
		echo "netscale: S=$S failed ($rc); logs in $rd" >&2
	fi
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
table=$(/usr/bin/python3 - "$res" <<'PY'
import json, sys
mb = lambda kb: "%.1f" % (kb / 1024.0)
print("| S | start s | publish s | total s | fetch first/last | "
    "signer peak MiB | collector peak MiB | sum peak MiB | "
    "signer RSS settled | collector RSS settled | sum settled | "
    "signer cpu s | collector cpu s | token sigs |")
print("|" + "---|" * 14)
for ln in open(sys.argv[1]):
	r = json.loads(ln)
	if "failed" in r:
		print("| %d | failed (status %s), run dir %s |" %
		    (r["S"], r["failed"], r["rundir"]))
		continue
	p, q = r["procs"]["signer"], r["procs"]["collector"]
	pub = r["published"]
	ok = lambda f: "ok" if f.get("ok", 0) >= 1 else "FAIL"
	if pub["ok"]:
		ps = "%.0f" % pub["publish_s"]
	else:
		ps = "> %.0f (%d of %d)" % (pub["limit_s"], pub["done"],
		    r["S"])
	print("| %d | %.0f | %s | %.0f | %s/%s | %s | %s | %s | %s | %s | "
	    "%s | %.1f | %.1f | %s |" % (r["S"], r["start_s"],
	    ps, r["total_s"], ok(r["fetch_first"]),
	    ok(r["fetch_last"]), mb(p["VmHWM"]), mb(q["VmHWM"]),
	    mb(p["VmHWM"] + q["VmHWM"]), mb(p["VmRSS"]), mb(q["VmRSS"]),
	    mb(p["VmRSS"] + q["VmRSS"]), p["cpu_s"], q["cpu_s"],
	    pub.get("token_signatures")))
PY
)
echo "$table"
if [ -n "${OBHSM_FE_HEAPTRACK:-}" ]; then
	# Under the profiler the figures are not the daemons' own.
	echo "netscale: heap profiles in $OBHSM_FE_HEAPTRACK;" \
	    "not appended to RESULTS-netscale.md" >&2
	exit 0
fi
{
	echo
	echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), S = $sizes"
	echo
	echo "Commit $commit (build $OBHSM_BUILDDIR), $(nproc) cores," \
	    "load average $load0 at start, $load1 at end; settle" \
	    "${settle} s."
	echo
	echo "$table"
	echo
	echo "Raw:"
	echo
	sed 's/^/    /' "$res"
} >> "$here/RESULTS-netscale.md"
grep -q '^{"S": [0-9]*, "failed"' "$res" && exit 1
exit 0
