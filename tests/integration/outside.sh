# outside.sh: sourced by e2e.sh and horizon.sh, the part of each that
# runs outside the namespaces.  obnet_outside NAME LABEL TIMEOUT SCRIPT
# skips (77) when OBHSM_E2E=0, when namespaces cannot be made or a tool
# is missing; otherwise it runs SCRIPT inside obnet.py's network (at most
# TIMEOUT seconds), prints "NAME: PASS (LABEL)" or why not, and exits 0
# pass, 1 fail (the run dir is kept), 77 skip (obnet.py's status 3: the
# frontend LABEL is not available).  What SCRIPT needs from the
# environment is exported by the caller before the call.
obnet_outside() {
	_name=$1 _label=$2 _timeout=$3 _script=$4
	if [ "${OBHSM_E2E:-1}" = 0 ]; then
		echo "$_name: SKIP: OBHSM_E2E=0"; exit 77
	fi
	if ! unshare --net --pid --fork --map-root-user true 2>/dev/null &&
	    ! unshare --net --pid --fork true 2>/dev/null; then
		echo "$_name: SKIP: cannot create namespaces here"; exit 77
	fi
	for _t in tor tor-gencert curl /usr/bin/python3; do
		command -v "$_t" >/dev/null || {
			echo "$_name: SKIP: $_t not installed"; exit 77; }
	done
	_rundir=$(mktemp -d "${TMPDIR:-/tmp}/obhsm-$_name.XXXXXX")
	_rc=0
	/usr/bin/python3 "$(dirname "$_script")/obnet.py" run \
	    --rundir "$_rundir" --timeout "$_timeout" -- sh "$_script" ||
	    _rc=$?
	case $_rc in
	0)	echo "$_name: PASS ($_label)"
		[ "${OBNET_KEEP:-}" = 1 ] || rm -rf "$_rundir" ;;
	3)	echo "$_name: SKIP: frontend $_label not available"
		rm -rf "$_rundir"; _rc=77 ;;
	*)	echo "$_name: FAIL ($_label, status $_rc); logs in $_rundir"
		_rc=1 ;;
	esac
	exit $_rc
}
