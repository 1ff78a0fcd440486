#!/bin/sh
# run.sh BUILDDIR: the "make bench" run (issue 7).  Everything in one run,
# so each figure is a ratio or a count against a reference measured
# minutes apart on the same (noisy) machine.  Prints one table; the raw
# "key value" lines are kept in $BENCH_OUT (default BUILDDIR/bench.out).
#
# BENCH_S            service counts for the hosting case (1 100 1000)
# BENCH_TIMEOUT      seconds one hosting or smartcard run may take (900)
# BENCH_ROUNDS       steady-state republish rounds per S (3)
# BENCH_SMARTCARD_S  services for the 10 signatures/s run (5; the issue's
#                    100 takes about 6 minutes at 10/s)
# BENCH_OB_SECS      seconds of OnionBalance assembly timing (20)
# BENCH_OB_RSS_S     OnionBalance RSS service counts (1 100)
# BENCH_TOKEN        where the token runs for the hosting case (local):
#                    "local" SoftHSM in the signer's process, "remote"
#                    SoftHSM behind obhsm-p11proxyd (doc/p11proxy.md),
#                    "local remote" both, one after the other per S
# BENCH_ONECORE      1: each hosting run repeats its steady rounds with
#                    signer, driver and token server pinned to CPU 0
set -eu
bd=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
S_LIST=${BENCH_S:-1 100 1000}
TMO=${BENCH_TIMEOUT:-900}
ROUNDS=${BENCH_ROUNDS:-3}
SC_S=${BENCH_SMARTCARD_S:-5}
OB_SECS=${BENCH_OB_SECS:-20}
OB_RSS_S=${BENCH_OB_RSS_S:-1 100}
out=${BENCH_OUT:-$bd/bench.out}
TOKENS=${BENCH_TOKEN:-local}
ONECORE=${BENCH_ONECORE:-0}
p11fault=$bd/tests/p11fault/.libs/obhsm-p11fault.so
export OBBENCH_P11PROXYD=$bd/tests/p11proxy/obhsm-p11proxyd
export OBBENCH_P11PROXY=$bd/tests/p11proxy/.libs/obhsm-p11proxy.so
export OBBENCH_ONECORE=$ONECORE
for tk in $TOKENS; do
	case $tk in
	local|remote) ;;
	*) echo "run.sh: BENCH_TOKEN: local or remote, not $tk" >&2; exit 2;;
	esac
done
[ -n "${BENCH_TABLE_ONLY:-}" ] || : > "$out"

tmp=$(mktemp -d /tmp/obbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

# run TAG CMD...: a fresh token directory per run, output tagged.
run() {
	tag=$1; shift
	d=$tmp/$tag
	mkdir -p "$d"
	if ! OBBENCH_DIR=$d timeout "$TMO" "$@" >"$d/out" 2>"$d/err"
	then
		echo "run.sh: $tag failed:" >&2
		tail -5 "$d/err" >&2
		[ -f "$d/signer.log" ] && grep -v hsm_key_find "$d/signer.log" |
		    tail -5 >&2
		return 1
	fi
	sed "s/^/$tag /" "$d/out" >> "$out"
}
get() { awk -v t="$1" -v k="$2" '$1 == t && $2 == k { print $3 }' "$out"; }

# Rows above SIGNER_MAX_SERVICES (now 100000) would be marked; none are.
cap=$(sed -n 's/^#define[[:space:]]*SIGNER_MAX_SERVICES[[:space:]]*//p' \
    "$here/../signer/signer.h")
if [ -z "${BENCH_TABLE_ONLY:-}" ]; then
echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "bench: raw token rate" >&2
# SoftHSM leaks a little in C_GenerateKeyPair (see tests/test_signer.c);
# in a sanitizer build LeakSanitizer would fail the raw run for it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
run raw0 "$bd/bench/obbench" raw 3 14000
case " $TOKENS " in *" remote "*)
	echo "bench: raw token rate through obhsm-p11proxy" >&2
	OBBENCH_TOKEN=remote run rawr "$bd/bench/obbench" raw 3 14000 ||
	    true;;
esac
# Tags: s<S> the token in the signer, r<S> the token server.
for s in $S_LIST; do
	signer=$bd/obhsm-signer
	for tk in $TOKENS; do
		tag=s$s; [ "$tk" = local ] || tag=r$s
		echo "bench: hosting case S=$s ($(basename "$signer")," \
		    "token $tk)" >&2
		OBBENCH_TOKEN=$tk run "$tag" "$bd/bench/obbench" desc \
		    "$signer" "$s" "$ROUNDS" || true
	done
done
echo "bench: OnionBalance 0.2.2 (OBDescriptor, ${OB_SECS}s)" >&2
/usr/bin/python3 "$here/ob_bench.py" time "$OB_SECS" | sed 's/^/ob /' >> "$out"
for s in $OB_RSS_S; do
	echo "bench: OnionBalance RSS S=$s" >&2
	/usr/bin/python3 "$here/ob_bench.py" rss "$s" | sed "s/^/obrss$s /" \
	    >> "$out"
done
echo "bench: raw token rate again" >&2
OBBENCH_TOKEN=local run raw1 "$bd/bench/obbench" raw 3 14000
if [ -f "$p11fault" ]; then
	echo "bench: smartcard class, 10 sig/s, S=$SC_S" >&2
	OBBENCH_TOKEN=local OBBENCH_MODULE=$p11fault \
	    OBHSM_P11FAULT_SIGN_RATE=10 \
	    OBHSM_P11FAULT_MODULE=/usr/lib/softhsm/libsofthsm2.so \
	    run sc "$bd/bench/obbench" desc "$bd/obhsm-signer" "$SC_S" 2 ||
	    true
fi
fi

# The table.
awk -v slist="$S_LIST" -v tokens="$TOKENS" -v sc="$SC_S" -v cap="${cap:-64}" '
{ v[$1 " " $2] = $3 }
function g(t, k) { return v[t " " k] + 0 }
END {
	r0 = g("raw0", "raw_sigs") / g("raw0", "raw_s")
	r1 = g("raw1", "raw_sigs") / g("raw1", "raw_s")
	raw = (r0 + r1) / 2
	ob = g("ob", "ob_desc") / g("ob", "ob_s")
	printf "\n%-34s %s\n", "token raw C_Sign/s (14 kB, 2 runs)",
	    sprintf("%.0f", raw)
	printf "%-34s %.2f  (%d intro points, %d sigs/desc, " \
	    "OPE loop %.2f s)\n", "OnionBalance OBDescriptor desc/s", ob,
	    g("ob", "ob_intro"), g("ob", "ob_sigs_per_desc"),
	    g("ob", "ob_ope_s")
	printf "\n%7s %8s %9s %9s %9s %8s %8s %7s %7s %8s %8s %7s %7s " \
	    "%7s\n", "S", "start_s", "cold_d/s", "cold_sg/d", "steady/s",
	    "xOB", "xtoken", "sg/d", "cpu_us/d", "signerMB", "driverMB",
	    "st_ms/s", "stcpu/s", "kB/s"
	n = split(slist, sl, " ")
	# Per-service growth against the smallest S that ran: start-up
	# time per service, and peak RSS (signer + driver) per service
	# added; flat columns mean no hidden quadratic step (issue item 7).
	s0 = 0
	for (i = 1; i <= n; i++)
		if (g("s" sl[i], "services") > 0 && (s0 == 0 || sl[i] + 0 < s0))
			s0 = sl[i] + 0
	m0 = g("s" s0, "signer_hwm_kb") + g("s" s0, "driver_hwm_kb")
	for (i = 1; i <= n; i++) {
		t = "s" sl[i]
		if (g(t, "services") == 0) {
			# No local-token run asked for (BENCH_TOKEN=remote):
			# the token table below has the figures.
			if (index(" " tokens " ", " local ") > 0)
				printf "%7s  (failed)\n", sl[i]
			else
				printf "%7s  (token local not run)\n", sl[i]
			continue
		}
		cd = g(t, "cold_desc"); sd = g(t, "steady_desc")
		st = sd / g(t, "steady_s")
		cpu = g(t, "steady_signer_cpu_s") + g(t, "steady_driver_cpu_s")
		mem = g(t, "signer_hwm_kb") + g(t, "driver_hwm_kb")
		kbs = "-"
		if (sl[i] > s0)
			kbs = sprintf("%.1f", (mem - m0) / (sl[i] - s0))
		printf "%6d%s %8.2f %9.1f %9.2f %9.1f %8.0f %8.2f %7.2f " \
		    "%7.0f %8.1f %8.1f %7.1f %7.1f %7s\n", sl[i],
		    (sl[i] > cap ? "*" : " "),
		    g(t, "signer_start_s"),
		    cd / g(t, "cold_s"), g(t, "cold_sigs") / cd, st, st / ob,
		    st / raw, g(t, "steady_sigs") / sd,
		    1e6 * cpu / sd,
		    g(t, "signer_hwm_kb") / 1024, g(t, "driver_hwm_kb") / 1024,
		    1000 * g(t, "signer_start_s") / sl[i],
		    1000 * g(t, "signer_start_cpu_s") / sl[i], kbs
	}
	printf "\ncolumns: cold_d/s and steady/s descriptors per second " \
	    "(both periods of each service);\n  cold_sg/d, sg/d token " \
	    "signatures per descriptor (audit records); xOB, xtoken:\n" \
	    "  steady rate / OnionBalance rate, / raw token rate; cpu_us/d" \
	    " CPU microseconds\n  (signer + driver) per steady descriptor, " \
	    "1e6 / it = one-core rate; MB peak RSS\n  " \
	    "(VmHWM signer, ru_maxrss driver = collector side);\n" \
	    "  st_ms/s, stcpu/s signer start-up per service, wall and CPU " \
	    "milliseconds;\n  kB/s peak RSS (signer + driver) added per " \
	    "service over the smallest S.\n"
	for (i = 1; i <= n; i++)
		if (sl[i] > cap) {
			printf "  *: above SIGNER_MAX_SERVICES (%d)\n", cap
			break
		}
	for (i = 1; i <= n; i++)
		if (sl[i] == 1000 && g("s1000", "services") > 0)
			printf "signer + driver peak RSS at S=1000: %.1f MiB " \
			    "(target: under 20 MiB)\n", (g("s1000",
			    "signer_hwm_kb") + g("s1000", "driver_hwm_kb")) / 1024
	split("1 100", os, " ")
	for (i = 1; i <= 2; i++)
		if (g("obrss" os[i], "ob_hwm_kb") > 0)
			printf "OnionBalance peak RSS S=%d: %.1f MB " \
			    "(interpreter and imports alone %.1f MB)\n", os[i],
			    g("obrss" os[i], "ob_hwm_kb") / 1024,
			    g("obrss" os[i], "ob_import_hwm_kb") / 1024
	if (g("sc", "services") > 0) {
		cs = g("sc", "cold_s"); cd = g("sc", "cold_desc")
		ss = g("sc", "steady_s"); sd = g("sc", "steady_desc")
		# tor republishes each descriptor every 60-120 min (mean
		# 90): 2 descriptors per service per 90 min, 1 sig each;
		# a new period costs 2 * 8 intro certs + 1 per service.
		keep = (sd / ss) * 5400 / 2
		printf "\nsmartcard (p11fault sign_rate 10), S=%d: cold set " \
		    "%.1f s (%.2f sigs/desc), steady %.2f desc/s\n", sc, cs,
		    g("sc", "cold_sigs") / cd, sd / ss
		printf "  cold set for S=100 at this rate: %.0f s " \
		    "(scaled from S=%d)\n", cs * 100 / sc, sc
		printf "  services kept published at the tor republish rate " \
		    "(2 desc / 90 min each): %.0f\n", keep
	}
}' "$out"

# Token in or out of the signer's process, and one core against two.
if [ "$TOKENS" != local ] || [ "$ONECORE" = 1 ]; then
awk -v slist="$S_LIST" -v tokens="$TOKENS" '
{ v[$1 " " $2] = $3 }
function g(t, k) { return v[t " " k] + 0 }
END {
	if (g("rawr", "raw_s") > 0)
		printf "\n%-34s %.0f\n", "token raw C_Sign/s via p11proxy",
		    g("rawr", "raw_sigs") / g("rawr", "raw_s")
	printf "\n%7s %6s %8s %8s %8s %8s %9s %8s %8s %8s %8s\n", "S",
	    "token", "steady/s", "1core/s", "signerMB", "driverMB",
	    "sig+drvMB", "tokenMB", "sg_us/d", "drv_us/d", "tok_us/d"
	n = split(slist, sl, " "); m = split(tokens, tl, " ")
	for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
		t = (tl[j] == "local" ? "s" : "r") sl[i]
		if (g(t, "services") == 0) {
			printf "%7s %6s  (failed)\n", sl[i], tl[j]
			continue
		}
		sd = g(t, "steady_desc")
		one = g(t, "steady1_s") > 0 ? sprintf("%.1f",
		    g(t, "steady1_desc") / g(t, "steady1_s")) : "-"
		# The token columns: part of the signer figures when local.
		tm = tc = "-"
		if (g(t, "token_remote") > 0) {
			tm = sprintf("%.1f", g(t, "token_hwm_kb") / 1024)
			tc = sprintf("%.0f",
			    1e6 * g(t, "steady_token_cpu_s") / sd)
		}
		printf "%7d %6s %8.1f %8s %8.1f %8.1f %9.1f %8s %8.0f " \
		    "%8.0f %8s\n", sl[i], tl[j], sd / g(t, "steady_s"),
		    one, g(t, "signer_hwm_kb") / 1024,
		    g(t, "driver_hwm_kb") / 1024,
		    (g(t, "signer_hwm_kb") + g(t, "driver_hwm_kb")) / 1024,
		    tm, 1e6 * g(t, "steady_signer_cpu_s") / sd,
		    1e6 * g(t, "steady_driver_cpu_s") / sd, tc
	}
	printf "\ncolumns: token local = SoftHSM in the signer, remote = " \
	    "SoftHSM in obhsm-p11proxyd;\n  1core/s the same steady " \
	    "rounds with signer, driver and token server on CPU 0;\n" \
	    "  MB peak RSS (VmHWM); sig+drvMB what the 20 MiB target " \
	    "counts (collector side\n  = driver); tokenMB the token " \
	    "server, outside the target but never hidden;\n  *_us/d CPU " \
	    "microseconds per steady descriptor by process.\n"
}' "$out"
fi
echo
echo "raw figures: $out"
