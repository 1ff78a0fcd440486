#!/bin/sh
# End to end: "obhsm-keytool descriptor decode" on descriptors made by C
# tor (arti testdata) and stem, valid and invalid (tests/vectors/hsdesc).
set -u
builddir=${OBHSM_BUILDDIR:-.}
vectors=${OBHSM_TESTDATA:-$(dirname "$0")/vectors}/hsdesc
kt=$builddir/obhsm-keytool
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

if ! "$kt" descriptor --help >/dev/null 2>&1; then
	echo "SKIP: $kt has no \"descriptor\" command"
	exit 77
fi

# expect NAME RC PATTERN -- ARGS: run, check the exit code and that
# stdout+stderr contain PATTERN.
expect() {
	name=$1 want=$2 pat=$3
	shift 4
	"$kt" descriptor decode "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, wanted $want"; cat "$tmp/out"
		fail=1
	elif ! grep -qF -- "$pat" "$tmp/out"; then
		echo "FAIL $name: no \"$pat\" in:"; cat "$tmp/out"
		fail=1
	else
		echo "ok $name"
	fi
}

# arti hsdesc1.txt: subcredential from arti's hsdesc.rs tests.
sub1=78210A0D2C72BB7A0CAF606BCD938B9A3696894FDDDBC3B87D424753A7E3DF37
expect hsdesc1 0 "revision-counter: 19655750" -- \
    --subcredential $sub1 --time 2023-01-23T15:00:00 "$vectors/arti-hsdesc1.txt"
expect hsdesc1-intro 0 "onion-key ntor VTv5+eGXnW9dXX0guz/nJy4y4ituhuNcdqfKijd+QC8" -- \
    --subcredential $sub1 --time 1674486000 "$vectors/arti-hsdesc1.txt"
expect hsdesc1-count 0 "introduction points: 3 valid, 0 skipped" -- \
    --subcredential $sub1 --time 1674486000 "$vectors/arti-hsdesc1.txt"
expect hsdesc1-expired 1 "certificate expired" -- \
    --subcredential $sub1 --time 2023-01-27T00:00:00 "$vectors/arti-hsdesc1.txt"
expect hsdesc1-wrongsub 1 "MAC check failed" -- \
    --subcredential 00$(echo $sub1 | cut -c3-) --time 1674486000 \
    "$vectors/arti-hsdesc1.txt"

# arti hsdesc2.txt: client authorization, key in tor's .auth_private form.
addr2=paozpdhgz2okvc6kgbxvh2bnfsmt4xergrtcl4obkhopyvwxkpjzvoad
echo "$addr2:descriptor:x25519:SDZNMD4RP4SCH4EYTTUZPFRZINNFWAOPPKZ6BINZAC7LREV24RBQ" \
    >"$tmp/client.auth_private"
expect hsdesc2-auth 0 "client authorization: required, our key is authorized" -- \
    --address $addr2.onion --time 2023-02-09T12:00:00 \
    --client-key "$tmp/client.auth_private" "$vectors/arti-hsdesc2.txt"
expect hsdesc2-period 0 "blinded key: time period 19397" -- \
    --address $addr2 --time 2023-02-09T12:00:00 \
    --client-key "$tmp/client.auth_private" "$vectors/arti-hsdesc2.txt"
expect hsdesc2-noauth 1 "not an authorized client" -- \
    --address $addr2 --time 2023-02-09T12:00:00 "$vectors/arti-hsdesc2.txt"

# stem's test descriptor: link specifiers decoded.
addr3=sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad
expect stem-ipv4 0 "ipv4 1.2.3.4:9001" -- \
    --address $addr3 --time 2017-07-14T00:00:00 "$vectors/stem-hidden_service_v3"
expect stem-legacy 0 "legacy-id 4343434343434343434343434343434343434343" -- \
    --address $addr3 --time 2017-07-14T00:00:00 "$vectors/stem-hidden_service_v3"
expect stem-wrongaddr 1 "another address" -- \
    --address $addr2 --time 2017-07-14T00:00:00 "$vectors/stem-hidden_service_v3"

# Garbage, truncation, bad usage.
head -c 3000 "$vectors/arti-hsdesc1.txt" >"$tmp/trunc"
expect truncated 1 "input truncated" -- \
    --subcredential $sub1 --time 1674486000 "$tmp/trunc"
printf 'hello\0world\n' >"$tmp/nul"
expect nul 1 "malformed input" -- --address $addr3 "$tmp/nul"
expect badaddr 64 "not a v3 onion address" -- --address nope "$tmp/nul"
expect badtime 64 "--time" -- --address $addr3 --time yesterday "$tmp/nul"
expect nofile 1 "cannot open" -- --address $addr3 "$tmp/does-not-exist"

exit $fail
