#!/usr/bin/python3
# obnet: a private tor network for end-to-end tests, the demo and the
# benchmarks.  Standard library only, plus stem (Debian python3-stem) to
# decrypt descriptors.  See tests/integration/README for the why.
#
# Outside the namespace:
#   obnet.py run [--rundir D] [--timeout S] -- CMD ARGS...
#       makes a network namespace with only loopback and a PID namespace,
#       checks that nothing leaves the machine, runs CMD inside, then ends
#       every process it started (by PID) and exits with CMD's status.
#       CMD runs the subcommands below (OBNET_RUNDIR tells them where).
# Inside (see "obnet.py -h"):
#   up, frontend-start, frontend-stop, wait-master, fetch, hsfetch,
#   backend-kill, backend-start, wait-drop, frontend-restart, descheck,
#   token, token-paused, revcheck, rss, status, report, down.
#
# Every wait has a deadline, every process is recorded in
# $OBNET_RUNDIR/state.json and ended by PID, and the run directory keeps
# every log (torrc, notice.log, onionbalance.log) for a failed test.

import argparse
import base64
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"     # Debian's stem/onionbalance live only here
TOR = os.environ.get("OBNET_TOR", "tor")

# Ports: the namespace is ours alone, so fixed numbers are safe.
AUTH_OR, AUTH_DIR = 5000, 7000
RELAY_OR, RELAY_DIR = 5100, 7100
CLIENT_SOCKS, CLIENT_CTL = 9050, 9051
BACKEND_CTL, BACKEND_HTTP = 9100, 8000
FRONTEND_CTL = 9200

# OnionBalance's --is-testnet hard-codes a 20 s voting interval (its
# consensus.py), and tor derives the test-network time period from it:
# 24 rounds = 8 minutes, so period rollover happens during a run.
VOTING_INTERVAL = 20

# A client attempt that has not got the page after this long is stuck
# (a connection here takes 1-10 s); fetch_once retries on a new circuit.
ATTEMPT_TIMEOUT = 20
FE_UNAVAILABLE = 3      # exit code: the chosen frontend cannot run here


class ObnetError(Exception):
	pass


class Timeout(ObnetError):
	pass


def log(msg):
	line = "%s obnet: %s" % (time.strftime("%H:%M:%S"), msg)
	print(line, file=sys.stderr, flush=True)
	rundir = os.environ.get("OBNET_RUNDIR")
	if rundir and os.path.isdir(rundir):
		with open(os.path.join(rundir, "obnet.log"), "a") as f:
			f.write(line + "\n")


# ---------------------------------------------------------------- state

class State:
	"""The run's bookkeeping: processes (name -> pid, log), addresses,
	timings.  Subcommands are separate processes, so it lives in a file,
	updated under a lock."""

	def __init__(self, rundir):
		self.rundir = rundir
		self.path = os.path.join(rundir, "state.json")

	def _locked(self, fn):
		with open(self.path + ".lock", "a") as lk:
			fcntl.flock(lk, fcntl.LOCK_EX)
			try:
				with open(self.path) as f:
					st = json.load(f)
			except FileNotFoundError:
				st = {"procs": {}, "times": {}, "net": {}}
			r = fn(st)
			tmp = self.path + ".tmp"
			with open(tmp, "w") as f:
				json.dump(st, f, indent=1, sort_keys=True)
			os.rename(tmp, self.path)
			return r

	def get(self):
		return self._locked(lambda st: st)

	def update(self, fn):
		return self._locked(fn)

	def set_proc(self, name, pid, logf):
		def f(st):
			st["procs"][name] = {"pid": pid, "log": logf,
			    "started": time.time()}
		self.update(f)

	def drop_proc(self, name):
		self.update(lambda st: st["procs"].pop(name, None))

	def set_time(self, key, value):
		def f(st):
			st["times"][key] = round(value, 1)
		self.update(f)

	def set_net(self, key, value):
		def f(st):
			st["net"][key] = value
		self.update(f)


def rundir_get():
	rundir = os.environ.get("OBNET_RUNDIR")
	if not rundir or os.environ.get("OBNET_INSIDE") != "1":
		raise ObnetError("not inside an obnet namespace: use "
		    "'obnet.py run -- CMD' (OBNET_RUNDIR/OBNET_INSIDE unset)")
	return rundir


# ---------------------------------------------------------------- processes

def proc_alive(pid):
	try:
		with open("/proc/%d/stat" % pid) as f:
			return f.read().rsplit(")", 1)[1].split()[0] != "Z"
	except (FileNotFoundError, ProcessLookupError, IndexError):
		return False


def proc_start(state, name, argv, logf, cwd=None, env=None):
	"""Start argv in the background, record its PID under name.  The
	process outlives this subcommand; obnet's init reaps it."""
	out = open(logf, "ab")
	p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
	    stderr=subprocess.STDOUT, cwd=cwd, env=env,
	    start_new_session=True)
	out.close()
	state.set_proc(name, p.pid, logf)
	log("started %s pid %d" % (name, p.pid))
	return p.pid


def proc_stop(state, name, grace=10.0):
	"""End one recorded process by PID: TERM, then KILL after grace."""
	st = state.get()
	ent = st["procs"].get(name)
	if ent is None:
		return
	pid = ent["pid"]
	if proc_alive(pid):
		try:
			os.kill(pid, signal.SIGTERM)
		except ProcessLookupError:
			pass
		deadline = time.monotonic() + grace
		while proc_alive(pid) and time.monotonic() < deadline:
			time.sleep(0.1)
		if proc_alive(pid):
			log("%s pid %d ignored TERM; KILL" % (name, pid))
			try:
				os.kill(pid, signal.SIGKILL)
			except ProcessLookupError:
				pass
	state.drop_proc(name)
	log("stopped %s pid %d" % (name, pid))


def procs_stop_all(state, grace=10.0):
	"""End every recorded process by PID: TERM to all (frontend first),
	one shared grace period, then KILL what is left."""
	procs = state.get()["procs"]
	order = sorted(procs, key=lambda n: (
	    0 if n.startswith("fe") else 2 if n.startswith("auth") else 1, n))
	for name in order:
		try:
			os.kill(procs[name]["pid"], signal.SIGTERM)
		except ProcessLookupError:
			pass
	deadline = time.monotonic() + grace
	while time.monotonic() < deadline and any(proc_alive(
	    procs[n]["pid"]) for n in order):
		time.sleep(0.1)
	for name in order:
		pid = procs[name]["pid"]
		if proc_alive(pid):
			log("%s pid %d ignored TERM; KILL" % (name, pid))
			try:
				os.kill(pid, signal.SIGKILL)
			except ProcessLookupError:
				pass
		state.drop_proc(name)
	log("stopped %d processes" % len(order))


def rss_kb(pid, field="VmRSS"):
	try:
		with open("/proc/%d/status" % pid) as f:
			for line in f:
				if line.startswith(field + ":"):
					return int(line.split()[1])
	except (FileNotFoundError, ProcessLookupError):
		pass
	return 0


# ---------------------------------------------------------------- control port

class Ctl:
	"""Minimal tor control-port client: cookie auth, commands, async
	events.  Own code rather than stem's Controller so that every read
	has a deadline and multi-line HS_DESC_CONTENT bodies arrive raw."""

	def __init__(self, port, cookie_path, timeout=10.0):
		self.buf = b""
		self.events = []
		self.sock = socket.create_connection(("127.0.0.1", port),
		    timeout=timeout)
		with open(cookie_path, "rb") as f:
			cookie = f.read()
		code, lines = self.command("AUTHENTICATE " + cookie.hex())
		if code != "250":
			raise ObnetError("control auth failed on %d: %s" %
			    (port, lines))

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass

	def __enter__(self):
		return self

	def __exit__(self, *a):
		self.close()

	def _readline(self, deadline):
		while b"\r\n" not in self.buf:
			left = deadline - time.monotonic()
			if left <= 0:
				raise Timeout("control read timed out")
			self.sock.settimeout(left)
			try:
				d = self.sock.recv(65536)
			except socket.timeout:
				raise Timeout("control read timed out")
			if not d:
				raise ObnetError("control connection closed")
			self.buf += d
		line, self.buf = self.buf.split(b"\r\n", 1)
		return line.decode("utf-8", "replace")

	def _reply(self, deadline):
		"""One reply: (code, [(text, data lines or None)])."""
		lines = []
		while True:
			ln = self._readline(deadline)
			if len(ln) < 4 or ln[3] not in " -+":
				raise ObnetError("bad control line %r" % ln)
			code, sep, text = ln[:3], ln[3], ln[4:]
			data = None
			if sep == "+":
				data = []
				while True:
					d = self._readline(deadline)
					if d == ".":
						break
					data.append(d[1:] if d.startswith(".")
					    else d)
			lines.append((text, data))
			if sep == " ":
				return code, lines

	def command(self, line, timeout=30.0):
		self.sock.sendall(line.encode() + b"\r\n")
		deadline = time.monotonic() + timeout
		while True:
			code, lines = self._reply(deadline)
			if code == "650":
				self.events.append(lines)
				continue
			return code, lines

	def getinfo(self, key, timeout=30.0):
		code, lines = self.command("GETINFO " + key, timeout)
		if code != "250":
			raise ObnetError("GETINFO %s: %s %s" % (key, code,
			    lines[0][0] if lines else ""))
		text, data = lines[0]
		if data is not None:
			return "\n".join(data)
		return text.split("=", 1)[1] if "=" in text else ""

	def event(self, deadline):
		if self.events:
			return self.events.pop(0)
		while True:
			code, lines = self._reply(deadline)
			if code == "650":
				return lines


def tor_ctl(rundir, name, port):
	return Ctl(port, os.path.join(rundir, name, "control_auth_cookie"))


class FetchResult:
	def __init__(self, addr):
		self.addr = addr
		self.requested = set()
		self.result = {}        # hsdir -> "RECEIVED" | "FAILED REASON"
		self.content = {}       # hsdir -> descriptor text ("" on fail)
		self.complete = False

	def descriptors(self):
		return [c for h, c in self.content.items()
		    if c and self.result.get(h) == "RECEIVED"]

	def summary(self):
		return "%d HSDirs asked, %d received, results: %s" % (
		    len(self.requested), len(self.descriptors()),
		    ", ".join("%s=%s" % (h.split("~")[-1], r)
		    for h, r in sorted(self.result.items())))


def hsfetch(ctl, addr, timeout=60.0, servers=()):
	"""HSFETCH addr and consume every event it causes.  Tor 0.4.9 may
	query several HSDirs for one HSFETCH; each gives REQUESTED, then
	RECEIVED or FAILED, and an HS_DESC_CONTENT (empty on failure).  Wait
	for all of them (or the deadline) so none leaks into the next call."""
	fr = FetchResult(addr)
	ctl.command("SETEVENTS HS_DESC HS_DESC_CONTENT")
	ctl.events.clear()
	cmd = "HSFETCH " + addr + "".join(" SERVER=" + s for s in servers)
	code, lines = ctl.command(cmd)
	if code != "250":
		raise ObnetError("%s: %s %s" % (cmd, code, lines))
	deadline = time.monotonic() + timeout
	no_hsdir = False
	while True:
		if fr.requested and all(h in fr.result and h in fr.content
		    for h in fr.requested):
			fr.complete = True
			break
		if no_hsdir and not fr.requested:
			fr.complete = True
			break
		try:
			ev = ctl.event(deadline)
		except Timeout:
			break
		text, data = ev[0]
		w = text.split()
		if len(w) >= 5 and w[0] == "HS_DESC" and w[2] == addr:
			action, hsdir = w[1], w[4]
			reason = [x for x in w if x.startswith("REASON=")]
			if action == "REQUESTED":
				fr.requested.add(hsdir)
			elif action == "RECEIVED":
				fr.result[hsdir] = "RECEIVED"
			elif action == "FAILED":
				if hsdir == "UNKNOWN":
					no_hsdir = True
				fr.result[hsdir] = "FAILED " + " ".join(
				    r[7:] for r in reason)
		elif len(w) >= 4 and w[0] == "HS_DESC_CONTENT" and \
		    w[1] == addr:
			fr.content[w[3]] = ("\n".join(data) + "\n") if data \
			    else ""
	ctl.command("SETEVENTS")
	return fr


def desc_intro_keys(text, addr):
	"""The enc-keys of a descriptor's intro points (decrypted
	with the public address, as any client can)."""
	from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
	desc = HiddenServiceDescriptorV3(text.encode(), validate=True)
	inner = desc.decrypt(addr)
	# enc-key is the service's per-intro-point key; onion-key is the
	# intro relay's, shared by every service using that relay.
	return desc.revision_counter, [ip.enc_key_raw
	    for ip in inner.introduction_points]


def onion_address(pubkey):
	"""rend-spec [ONIONADDRESS]: base32(PUBKEY | CHECKSUM | VERSION)."""
	ver = b"\x03"
	chk = hashlib.sha3_256(b".onion checksum" + pubkey + ver).digest()[:2]
	return base64.b32encode(pubkey + chk + ver).decode().lower()


# ---------------------------------------------------------------- waiting

def wait_for(what, fn, timeout, interval=2.0):
	"""Poll fn() until it returns something true; ObnetError/OSError
	count as "not yet".  Returns (value, seconds waited)."""
	t0 = time.monotonic()
	deadline = t0 + timeout
	last = None
	said = t0
	while True:
		try:
			v = fn()
			if v:
				return v, time.monotonic() - t0
		except (ObnetError, OSError) as e:
			if last is None or time.monotonic() >= said + 30:
				log("waiting for %s: %s" % (what, e))
				said = time.monotonic()
			last = e
		if time.monotonic() >= deadline:
			raise Timeout("timed out after %ds waiting for %s%s" %
			    (timeout, what,
			    " (last: %s)" % last if last else ""))
		time.sleep(interval)


def ring_complete(rundir, name, port, n_relays):
	"""True when this tor is bootstrapped and its consensus lists every
	relay as HSDir with a microdescriptor, so its hash ring is the same
	as everyone else's (a tor missing an md leaves that HSDir out of its
	ring and uploads or fetches elsewhere)."""
	with tor_ctl(rundir, name, port) as c:
		if "PROGRESS=100" not in c.getinfo("status/bootstrap-phase"):
			raise ObnetError("%s not bootstrapped" % name)
		ns = c.getinfo("ns/all")
		hsdirs = []
		ident = None
		for line in ns.splitlines():
			if line.startswith("r "):
				ident = line.split()[2]
			elif line.startswith("s ") and ident:
				if "HSDir" in line.split()[1:]:
					hsdirs.append(ident)
				ident = None
		if len(hsdirs) < n_relays:
			raise ObnetError("%s sees %d/%d HSDirs" % (name,
			    len(hsdirs), n_relays))
		for b in hsdirs:
			fp = base64.b64decode(b + "=" * (-len(b) % 4)).hex()
			code, _ = c.command("GETINFO md/id/$" + fp.upper())
			if code != "250":
				raise ObnetError("%s lacks md for %s" %
				    (name, fp))
		return True


# ---------------------------------------------------------------- torrc

def torrc_common(st_net, datadir):
	lines = [
	    "TestingTorNetwork 1",
	    "DataDirectory " + datadir,
	    "PidFile " + os.path.join(datadir, "pid"),
	    "Log notice file " + os.path.join(datadir, "notice.log"),
	    "SafeLogging 0",
	    "ShutdownWaitLength 0",
	    "Address 127.0.0.1",
	    "ClientUseIPv6 0",
	    "AvoidDiskWrites 1",
	]
	lvl = os.environ.get("OBNET_TOR_LOG")
	if lvl:
		lines.append("Log %s file %s" % (lvl,
		    os.path.join(datadir, lvl + ".log")))
	lines += st_net["dirauthority"]
	return lines


def torrc_write(path, lines):
	with open(path, "w") as f:
		f.write("\n".join(lines) + "\n")


def tor_argv(torrc):
	return [TOR, "--defaults-torrc", "/dev/null", "-f", torrc]


def tor_fingerprint(d, nick, orport):
	"""Make the relay keys and return the RSA identity fingerprint."""
	rc = os.path.join(d, "keygen.torrc")
	torrc_write(rc, [
	    "TestingTorNetwork 1", "DataDirectory " + d,
	    "Nickname " + nick, "Address 127.0.0.1",
	    "ORPort 127.0.0.1:%d" % orport,
	    "Log warn file " + os.path.join(d, "keygen.log"),
	    "DirAuthority dummy 127.0.0.1:1 " + "f" * 40])
	out = subprocess.run(tor_argv(rc) + ["--list-fingerprint"],
	    capture_output=True, text=True, timeout=60)
	for line in out.stdout.splitlines():
		w = line.split()
		if w and w[0] == nick and len(w) == 11:
			return "".join(w[1:])
	raise ObnetError("tor --list-fingerprint for %s failed: %s %s" %
	    (nick, out.stdout, out.stderr))


def auth_keys(d, dirport):
	"""tor-gencert an authority identity; return its v3ident."""
	k = os.path.join(d, "keys")
	os.makedirs(k, mode=0o700, exist_ok=True)
	subprocess.run(["tor-gencert", "--create-identity-key",
	    "--passphrase-fd", "0", "-m", "12",
	    "-a", "127.0.0.1:%d" % dirport,
	    "-i", os.path.join(k, "authority_identity_key"),
	    "-s", os.path.join(k, "authority_signing_key"),
	    "-c", os.path.join(k, "authority_certificate")],
	    input=b"\n", capture_output=True, check=True, timeout=120)
	with open(os.path.join(k, "authority_certificate")) as f:
		for line in f:
			if line.startswith("fingerprint "):
				return line.split()[1]
	raise ObnetError("no fingerprint in %s/authority_certificate" % k)


def tor_start(state, rundir, name, lines):
	d = os.path.join(rundir, name)
	os.makedirs(d, mode=0o700, exist_ok=True)
	os.chmod(d, 0o700)
	rc = os.path.join(d, "torrc")
	torrc_write(rc, lines)
	pid = proc_start(state, name, tor_argv(rc),
	    os.path.join(d, "stdout.log"))
	time.sleep(0.3)
	if not proc_alive(pid):
		raise ObnetError("%s exited at once; see %s/stdout.log" %
		    (name, d))
	return pid


# ---------------------------------------------------------------- network

def net_up(args):
	rundir = rundir_get()
	state = State(rundir)
	t0 = time.monotonic()
	n_auth, n_relay = 3, args.relays
	net = {"n_auth": n_auth, "n_relay": n_relay,
	    "n_backend": args.backends, "frontend": args.frontend}

	fe = frontend_get(args.frontend)
	fe.check(rundir)
	log("generating %d authorities, %d relays" % (n_auth, n_relay))
	dirauth = []
	fps = {}
	for i in range(n_auth):
		d = os.path.join(rundir, "auth%d" % i)
		os.makedirs(d, mode=0o700, exist_ok=True)
		v3 = auth_keys(d, AUTH_DIR + i)
		fp = tor_fingerprint(d, "auth%d" % i, AUTH_OR + i)
		fps["auth%d" % i] = fp
		dirauth.append("DirAuthority auth%d orport=%d no-v2 "
		    "v3ident=%s 127.0.0.1:%d %s" % (i, AUTH_OR + i, v3,
		    AUTH_DIR + i, fp))
	for j in range(n_relay):
		d = os.path.join(rundir, "relay%d" % j)
		os.makedirs(d, mode=0o700, exist_ok=True)
		fps["relay%d" % j] = tor_fingerprint(d, "relay%d" % j,
		    RELAY_OR + j)
	net["dirauthority"] = dirauth
	net["fingerprints"] = fps
	state.update(lambda st: st["net"].update(net))

	vote = ["V3AuthVotingInterval %d" % VOTING_INTERVAL,
	    "V3AuthVoteDelay 4", "V3AuthDistDelay 4",
	    "TestingV3AuthInitialVotingInterval %d" % VOTING_INTERVAL,
	    "TestingV3AuthInitialVoteDelay 4",
	    "TestingV3AuthInitialDistDelay 4",
	    "TestingDirAuthVoteHSDir *", "TestingDirAuthVoteGuard *",
	    "TestingDirAuthVoteExit *"]
	for i in range(n_auth):
		name = "auth%d" % i
		tor_start(state, rundir, name,
		    torrc_common(net, os.path.join(rundir, name)) + [
		    "Nickname " + name, "ContactInfo %s@test.invalid" % name,
		    "ORPort 127.0.0.1:%d" % (AUTH_OR + i),
		    "DirPort 127.0.0.1:%d" % (AUTH_DIR + i),
		    "AuthoritativeDirectory 1", "V3AuthoritativeDirectory 1",
		    "AssumeReachable 1", "SocksPort 0",
		    "ExitPolicy reject *:*"] + vote)
	for j in range(n_relay):
		name = "relay%d" % j
		tor_start(state, rundir, name,
		    torrc_common(net, os.path.join(rundir, name)) + [
		    "Nickname " + name, "ContactInfo %s@test.invalid" % name,
		    "ORPort 127.0.0.1:%d" % (RELAY_OR + j),
		    "DirPort 127.0.0.1:%d" % (RELAY_DIR + j),
		    "AssumeReachable 1", "SocksPort 0",
		    # Loopback exits only: there is nothing else in here.
		    "ExitRelay 1", "ExitPolicy accept 127.0.0.0/8:*",
		    "ExitPolicy reject *:*"])
	client_start(state, rundir, net)
	n_all = n_auth + n_relay
	_, took = wait_for("client bootstrap and a complete HSDir ring",
	    lambda: ring_complete(rundir, "client", CLIENT_CTL, n_all),
	    args.timeout)
	boot = time.monotonic() - t0
	state.set_time("bootstrap_s", boot)
	log("network up: client bootstrapped, %d HSDirs in ring (%.0fs)" %
	    (n_all, boot))

	master = fe.prepare(state, rundir)
	state.set_net("master", master)
	log("master address %s.onion (frontend %s)" % (master, fe.name))

	for k in range(1, args.backends + 1):
		backend_start(state, rundir, k, master)
	t1 = time.monotonic()
	for k in range(1, args.backends + 1):
		wait_backend_published(state, rundir, k, args.timeout)
	state.set_time("backends_published_s", time.monotonic() - t1)
	log("net up in %.0fs" % (time.monotonic() - t0))


def client_start(state, rundir, net):
	tor_start(state, rundir, "client",
	    torrc_common(net, os.path.join(rundir, "client")) + [
	    "Nickname client",
	    "SocksPort 127.0.0.1:%d" % CLIENT_SOCKS,
	    "ControlPort 127.0.0.1:%d" % CLIENT_CTL,
	    "CookieAuthentication 1"])


def backend_start(state, rundir, k, master=None):
	st = state.get()
	net = st["net"]
	master = master or net["master"]
	name = "backend%d" % k
	d = os.path.join(rundir, name)
	hs = os.path.join(d, "hs")
	www = os.path.join(d, "www")
	for x in (d, hs):
		os.makedirs(x, mode=0o700, exist_ok=True)
	os.makedirs(www, exist_ok=True)
	with open(os.path.join(www, "index.html"), "w") as f:
		f.write("obnet-%s\n" % name)
	# Written before tor starts: tor reads it at service configuration.
	with open(os.path.join(hs, "ob_config"), "w") as f:
		f.write(ob_masters(rundir, master))
	proc_start(state, name + "-http", [PYTHON, "-m", "http.server",
	    "--bind", "127.0.0.1", "--directory", www,
	    str(BACKEND_HTTP + k)], os.path.join(d, "http.log"))
	tor_start(state, rundir, name, torrc_common(net, d) + [
	    "Nickname " + name, "SocksPort 0",
	    "ControlPort 127.0.0.1:%d" % (BACKEND_CTL + k),
	    "CookieAuthentication 1",
	    "HiddenServiceDir " + hs,
	    "HiddenServicePort 80 127.0.0.1:%d" % (BACKEND_HTTP + k),
	    "HiddenServiceOnionbalanceInstance 1"])
	addr, _ = wait_for(name + " hostname", lambda: open(os.path.join(
	    hs, "hostname")).read().strip(), 30, 0.2)
	addr = addr.replace(".onion", "")
	state.set_net(name, addr)
	return addr


def ob_masters(rundir, master):
	"""A backend's ob_config: the master, or with OBHSM_FE_SERVICES > 1
	(bench/netscale.sh) the masters frontend-obhsm.sh chose."""
	many = os.path.join(rundir, "fe", "ob_masters")
	if os.environ.get("OBHSM_FE_SERVICES", "1") not in ("", "1") and \
	    os.path.exists(many):
		with open(many) as f:
			return f.read()
	return "MasterOnionAddress %s.onion\n" % master


def wait_backend_published(state, rundir, k, timeout):
	"""A backend is up when the client can fetch its descriptor."""
	net = state.get()["net"]
	addr = net["backend%d" % k]

	# After a restart the HSDirs serve the dead instance's descriptor
	# until the new one replaces it: it does not count.
	dead = set(net.get("dead%d" % k, []))

	def fetched():
		with tor_ctl(rundir, "client", CLIENT_CTL) as c:
			fr = hsfetch(c, addr, 30)
		for text in fr.descriptors():
			rev, keys = desc_intro_keys(text, addr)
			if keys and not set(keys) <= dead:
				backend_keys_add(state, k, keys)
				return True
		raise ObnetError("backend%d: %s%s" % (k, fr.summary(),
		    " (only the dead instance's intro points)" if
		    fr.descriptors() else ""))
	wait_for("backend%d descriptor" % k, fetched, timeout, 5)
	log("backend%d %s.onion published" % (k, addr))


def backend_keys_add(state, k, keys):
	"""Remember every intro point a backend ever had, to spot them in
	the master descriptor after the backend is gone."""
	def f(st):
		s = set(st["net"].get("intro%d" % k, []))
		s.update(keys)
		st["net"]["intro%d" % k] = sorted(s)
	state.update(f)


def backend_kill(args):
	rundir = rundir_get()
	state = State(rundir)
	name = "backend%d" % args.n
	if args.refresh:
		try:
			wait_backend_published(state, rundir, args.n, 60)
		except ObnetError as e:
			log("could not refresh %s intro points: %s" %
			    (name, e))
	proc_stop(state, name)
	proc_stop(state, name + "-http")
	state.set_net(name + "_killed_at", time.time())


def backend_restart(args):
	rundir = rundir_get()
	state = State(rundir)
	state.set_net("backend%d_started_at" % args.n, time.time())

	# The dead instance's intro points no longer count as backend N's
	# (intro_owner): "the master lists backend N" must mean the new
	# instance's intro points.
	def f(st):
		net = st["net"]
		net["dead%d" % args.n] = sorted(set(net.get("dead%d" %
		    args.n, [])) | set(net.get("intro%d" % args.n, [])))
		net["intro%d" % args.n] = []
	state.update(f)
	backend_start(state, rundir, args.n)
	t0 = time.monotonic()
	backend_wait_uploads(rundir, args.n, args.timeout)
	wait_backend_published(state, rundir, args.n, max(30, args.timeout -
	    (time.monotonic() - t0)))


def backend_wait_uploads(rundir, k, timeout):
	"""Wait until a restarted backend's tor has uploaded its own
	descriptors (HS_DESC UPLOAD/UPLOADED on its control port).  Until
	then the HSDirs serve the dead instance's copies, and the dead
	instance's intro points are not all known: a tor service keeps one
	descriptor per time period, each with its own intro points, and
	only the one of the client's period could be fetched before the
	kill.  When the client's period changes between the kill and the
	restart, the dead instance's copy for the new period looks like a
	new instance (this made the fresh-client step of e2e.sh fail once
	in four runs).  After the new instance's uploads, every HSDir it
	uploaded to holds its copy (a higher revision counter replaces the
	old one)."""
	name = "backend%d" % k
	cookie = os.path.join(rundir, name, "control_auth_cookie")
	deadline = time.monotonic() + timeout
	wait_for(name + " control port", lambda: os.path.exists(cookie) and
	    Ctl(BACKEND_CTL + k, cookie).close() is None, 30, 0.1)
	keys = set()
	pending = 0
	done = 0
	with Ctl(BACKEND_CTL + k, cookie) as c:
		c.command("SETEVENTS HS_DESC")
		while True:
			# Two descriptors (both live periods), each sent to
			# every responsible HSDir and every upload answered.
			if len(keys) >= 2 and pending == 0 and done > 0:
				break
			try:
				ev = c.event(deadline)
			except Timeout:
				raise Timeout("%s: own uploads not finished "
				    "in %ds (%d descriptors, %d pending)" % (
				    name, timeout, len(keys), pending))
			w = ev[0][0].split()
			if len(w) < 4 or w[0] != "HS_DESC":
				continue
			if w[1] == "UPLOAD" and len(w) >= 6:
				keys.add(w[5])
				pending += 1
			elif w[1] in ("UPLOADED", "FAILED") and pending > 0:
				pending -= 1
				done += 1
	log("%s uploaded its own descriptors (%d periods, %d uploads)" %
	    (name, len(keys), done))


# ---------------------------------------------------------------- frontends

class Frontend:
	"""The thing under test, which publishes the master descriptor.
	prepare() runs before the backends start (their ob_config needs the
	master address); start() once they are published."""
	name = "?"

	def check(self, rundir):
		"""Raise FrontendUnavailable if it cannot run here."""

	def prepare(self, state, rundir):
		raise NotImplementedError

	def start(self, state, rundir):
		raise NotImplementedError

	def stop(self, state):
		for n in sorted(state.get()["procs"]):
			if n.startswith("fe-"):
				proc_stop(state, n)


def frontend_tor_start(state, rundir, timeout):
	"""The frontend's own tor: a client with a control port."""
	net = state.get()["net"]
	d = os.path.join(rundir, "fe-tor")
	tor_start(state, rundir, "fe-tor", torrc_common(net, d) + [
	    "Nickname fetor", "SocksPort 0",
	    "ControlPort 127.0.0.1:%d" % FRONTEND_CTL,
	    "CookieAuthentication 1"])
	n_all = net["n_auth"] + net["n_relay"]
	wait_for("frontend tor ring", lambda: ring_complete(rundir,
	    "fe-tor", FRONTEND_CTL, n_all), timeout)


class OnionBalance(Frontend):
	"""OnionBalance 0.2.2 (Debian) in --is-testnet mode."""
	name = "onionbalance"

	def check(self, rundir):
		if not shutil.which("onionbalance"):
			raise FrontendUnavailable("onionbalance not installed")
		try:
			import cryptography
		except ImportError:
			raise FrontendUnavailable("python3-cryptography "
			    "missing")
		del cryptography

	def prepare(self, state, rundir):
		# cryptography is OnionBalance's own dependency; its PEM
		# key format is the one OnionBalance documents.
		from cryptography.hazmat.primitives.asymmetric import ed25519
		from cryptography.hazmat.primitives import serialization as s
		d = os.path.join(rundir, "fe")
		os.makedirs(d, mode=0o700, exist_ok=True)
		key = ed25519.Ed25519PrivateKey.generate()
		pem = key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8,
		    s.NoEncryption())
		with open(os.path.join(d, "master.pem"), "wb") as f:
			f.write(pem)
		pub = key.public_key().public_bytes(s.Encoding.Raw,
		    s.PublicFormat.Raw)
		return onion_address(pub)

	def start(self, state, rundir, timeout=120):
		frontend_tor_start(state, rundir, timeout)
		net = state.get()["net"]
		d = os.path.join(rundir, "fe")
		cfg = os.path.join(d, "config.yaml")
		with open(cfg, "w") as f:
			f.write("services:\n- key: %s\n  instances:\n" %
			    os.path.join(d, "master.pem"))
			for k in range(1, net["n_backend"] + 1):
				f.write("  - address: %s.onion\n"
				    "    name: backend%d\n" %
				    (net["backend%d" % k], k))
		proc_start(state, "fe-onionbalance", ["onionbalance",
		    "--is-testnet", "-i", "127.0.0.1", "-p", str(FRONTEND_CTL),
		    "-s", os.path.join(d, "no-control-socket"), "-c", cfg,
		    "-v", os.environ.get("OBNET_OB_VERBOSITY", "info")],
		    os.path.join(d, "onionbalance.log"))


class Obhsm(Frontend):
	"""Our daemons, as an operator runs them.  The steps live in
	frontend-obhsm.sh (prepare: token + keys, prints the master address;
	start: signer + collector, writes fe-<name>.pid files)."""
	name = "obhsm"
	script = os.path.join(HERE, "frontend-obhsm.sh")

	def _run(self, verb, rundir, timeout):
		env = dict(os.environ, OBNET_FE_DIR=os.path.join(rundir, "fe"),
		    OBNET_FE_CONTROL_PORT=str(FRONTEND_CTL),
		    OBNET_FE_COOKIE=os.path.join(rundir, "fe-tor",
		    "control_auth_cookie"))
		os.makedirs(env["OBNET_FE_DIR"], mode=0o700, exist_ok=True)
		net = State(rundir).get()["net"]
		env["OBNET_BACKENDS"] = " ".join(net.get("backend%d" % k, "")
		    for k in range(1, net.get("n_backend", 0) + 1))
		env["OBNET_MASTER"] = net.get("master", "")
		r = subprocess.run(["sh", self.script, verb], env=env,
		    stdout=subprocess.PIPE, timeout=timeout)
		if r.returncode == FE_UNAVAILABLE:
			raise FrontendUnavailable("obhsm frontend %s: not "
			    "available (see frontend-obhsm.sh output)" % verb)
		if r.returncode != 0:
			raise ObnetError("frontend-obhsm.sh %s failed (%d)" %
			    (verb, r.returncode))
		return r.stdout.decode().strip()

	def check(self, rundir):
		self._run("check", rundir, 30)

	def prepare(self, state, rundir):
		out = self._run("prepare", rundir, 120).split()
		if not out:
			raise ObnetError("frontend-obhsm.sh prepare printed "
			    "no address")
		addr = out[-1]
		addr = addr.replace(".onion", "")
		if len(addr) != 56:
			raise ObnetError("frontend-obhsm.sh prepare printed "
			    "%r, not an onion address" % addr)
		return addr

	def start(self, state, rundir, timeout=120):
		frontend_tor_start(state, rundir, timeout)
		self.run_adopt(state, rundir, "start", timeout)

	def run_adopt(self, state, rundir, verb, timeout):
		"""Run a verb of the script, then record the daemons' PIDs."""
		self._run(verb, rundir, timeout)
		fe = os.path.join(rundir, "fe")
		for f in sorted(os.listdir(fe)):
			if f.startswith("fe-") and f.endswith(".pid"):
				with open(os.path.join(fe, f)) as pf:
					pid = int(pf.read().split()[0])
				state.set_proc(f[:-4], pid,
				    os.path.join(fe, f[:-4] + ".log"))


class FrontendUnavailable(ObnetError):
	pass


FRONTENDS = {"onionbalance": OnionBalance, "obhsm": Obhsm}


def frontend_get(name):
	if name not in FRONTENDS:
		raise ObnetError("unknown frontend %r (have: %s)" % (name,
		    ", ".join(FRONTENDS)))
	return FRONTENDS[name]()


# ---------------------------------------------------------------- probes

def master_intro(rundir, timeout=60, everywhere=False, with_copies=False):
	"""Fetch the master descriptor through the client; return
	(revision, [intro keys], number of HSDirs that had it) of the
	newest copy, or raise.  With everywhere, ask every HSDir of the
	network (SERVER=), not the one tor picks: a publisher whose hash ring
	misses a node leaves holes that a single fetch hits at random."""
	st = State(rundir).get()
	addr = st["net"]["master"]
	servers = sorted(st["net"]["fingerprints"].values()) if everywhere \
	    else ()
	with tor_ctl(rundir, "client", CLIENT_CTL) as c:
		fr = hsfetch(c, addr, timeout, servers)
	best = None
	copies = []
	for text in fr.descriptors():
		rev, keys = desc_intro_keys(text, addr)
		copies.append(keys)
		if best is None or rev > best[0]:
			best = (rev, keys)
	if best is None:
		raise ObnetError("master: " + fr.summary())
	revs_record(rundir, fr)
	if with_copies:
		return best + (len(fr.descriptors()), copies)
	return best + (len(fr.descriptors()),)


def revs_record(rundir, fr):
	"""Append (time, HSDir, blinded key, revision) of every master copy
	served to revs.jsonl, for revcheck: a publisher that restarts must
	never go back to a lower revision counter for the same blinded
	key (tor's HSDirs would refuse it and keep serving a stale
	descriptor)."""
	from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
	with open(os.path.join(rundir, "revs.jsonl"), "a") as f:
		for h, text in sorted(fr.content.items()):
			if not text or fr.result.get(h) != "RECEIVED":
				continue
			d = HiddenServiceDescriptorV3(text.encode())
			blinded = d.signing_cert.signing_key()
			f.write(json.dumps({"t": round(time.time(), 1),
			    "hsdir": h.split("~")[0].lstrip("$"),
			    "blinded": base64.b64encode(blinded).decode(),
			    "rev": d.revision_counter}) + "\n")


def intro_owner(net, key):
	for k in range(1, net["n_backend"] + 1):
		if key in net.get("intro%d" % k, []):
			return "backend%d" % k
	for k in range(1, net["n_backend"] + 1):
		if key in net.get("dead%d" % k, []):
			return "dead-backend%d" % k
	return "?"


def fetch_once(addr, timeout, attempt_timeout=ATTEMPT_TIMEOUT):
	"""One user-visible fetch: like a browser the user reloads, retry
	on a fresh circuit when an attempt stalls.  Right after a backend
	dies, its intro points stay in the master descriptor until the
	next publish; an intro relay that has not yet noticed the dead
	circuit ACKs the INTRODUCE1 and the rendezvous never comes, so a
	single attempt would hang for its whole timeout.  Returns (backend
	name or None, attempts used)."""
	deadline = time.monotonic() + timeout
	n = 0
	while True:
		n += 1
		left = deadline - time.monotonic()
		who = curl_once(addr, max(1, min(attempt_timeout, left)))
		if who or deadline - time.monotonic() < 1:
			return who, n
		log("attempt %d failed; retrying on a fresh circuit" % n)


def curl_once(addr, timeout):
	"""One HTTP GET through the client; a fresh SOCKS username gives a
	fresh circuit (IsolateSOCKSAuth).  Returns the backend name or
	None."""
	user = "obnet" + secrets.token_hex(6)
	r = subprocess.run(["curl", "-s", "--max-time", str(int(timeout)),
	    "-x", "socks5h://%s:x@127.0.0.1:%d" % (user, CLIENT_SOCKS),
	    "http://%s.onion/" % addr], capture_output=True, text=True)
	body = r.stdout.strip()
	if r.returncode == 0 and body.startswith("obnet-"):
		return body[6:]
	return None


# ---------------------------------------------------------------- commands

def cmd_up(args):
	net_up(args)


def cmd_frontend_start(args):
	rundir = rundir_get()
	state = State(rundir)
	name = args.frontend or state.get()["net"]["frontend"]
	t0 = time.monotonic()
	state.set_net("fe_started_at", time.time())
	frontend_get(name).start(state, rundir, args.timeout)
	state.set_time("frontend_start_s", time.monotonic() - t0)


def cmd_frontend_stop(args):
	rundir = rundir_get()
	state = State(rundir)
	frontend_get(state.get()["net"]["frontend"]).stop(state)


def cmd_wait_master(args):
	"""Until the master descriptor is fetchable and lists intro points
	of every backend in --backends (default: all)."""
	rundir = rundir_get()
	state = State(rundir)
	net = state.get()["net"]
	want = args.backends or list(range(1, net["n_backend"] + 1))
	before = revs_max(rundir) if args.newer else {}
	t_start = time.time()

	def ok():
		rev, keys, n, copies = master_intro(rundir, 60, True, True)
		if args.every_copy:
			# What a client arriving now gets, whichever HSDir it
			# asks: every copy must list every wanted backend.
			net = state.get()["net"]
			short = [i for i, ks in enumerate(copies) if not all(
			    "backend%d" % b in set(intro_owner(net, x)
			    for x in ks) for b in want)]
			if short:
				log("master: %d of %d copies lack a wanted "
				    "backend" % (len(short), len(copies)))
				for b in want:
					wait_backend_published(state, rundir,
					    b, 60)
				return False
		if args.signed_since:
			# A revision the signer signed after that event is on
			# an HSDir (the republish is the token's new work).
			ev = state.get()["net"]
			if args.signed_since + "_logs" in ev:
				off = ev[args.signed_since + "_logs"]
				new = signed_revs(rundir, off["signer"])
			else:
				new = signed_revs(rundir, t_from=ev[
				    args.signed_since + "_at"])
			got = served_since(rundir, t_start) & new
			if not got:
				log("master rev %d (on %d HSDirs): nothing "
				    "signed since %s served yet" % (rev, n,
				    args.signed_since))
				return False
		if args.newer and not revs_newer(rundir, before, t_start):
			log("master rev %d (on %d HSDirs): not newer than "
			    "before yet" % (rev, n))
			return False
		owners = sorted(set(intro_owner(state.get()["net"], k)
		    for k in keys))
		log("master rev %d (on %d HSDirs): %d intro points from %s" %
		    (rev, n, len(keys), ", ".join(owners)))
		if all("backend%d" % k in owners for k in want):
			if n >= args.min_hsdirs:
				return True
			log("master on %d HSDirs, want %d" % (n,
			    args.min_hsdirs))
			return False
		# Backends rotate intro points: learn their current ones.
		for k in want:
			if "backend%d" % k not in owners:
				wait_backend_published(state, rundir, k, 60)
		return False
	_, took = wait_for("master descriptor", ok, args.timeout, 5)
	since = state.get()["net"].get(args.since)
	state.set_time(args.record, time.time() - since if since else took)
	log("master published with all wanted backends (%.0fs)" % took)


def revs_max(rundir, since=0):
	"""Highest revision seen per blinded key (revs.jsonl)."""
	m = {}
	try:
		with open(os.path.join(rundir, "revs.jsonl")) as f:
			for line in f:
				r = json.loads(line)
				b = r["blinded"]
				if r["t"] >= since:
					m[b] = max(m.get(b, -1), r["rev"])
	except FileNotFoundError:
		pass
	return m


def revs_newer(rundir, before, since):
	"""Has an HSDir served, after since, a master descriptor newer than
	anything in before (a higher revision, or a new blinded key)?"""
	now = revs_max(rundir, since)
	return any(b not in before or r > before[b] for b, r in now.items())


def cmd_fetch(args):
	"""GET the master (or --addr) through the client --count times;
	with --until-all, until every live backend answered.  Prints a JSON
	summary; exits 1 if --min-ok is not reached."""
	rundir = rundir_get()
	st = State(rundir).get()
	addr = args.addr or st["net"]["master"]
	live = set("backend%d" % k
	    for k in range(1, st["net"]["n_backend"] + 1)
	    if "backend%d" % k in st["procs"])
	seen = {}
	lat = []
	ok = fail = 0
	t0 = time.monotonic()
	deadline = t0 + args.timeout
	if args.newnym:
		# What "New Identity" does: tor drops its cached onion
		# service descriptors and intro point failures, so the next
		# fetch sees the master as a client arriving now would.
		with tor_ctl(rundir, "client", CLIENT_CTL) as c:
			code, lines = c.command("SIGNAL NEWNYM")
		if code != "250":
			raise ObnetError("SIGNAL NEWNYM: %s %s" % (code,
			    lines))
	first_ok = None
	n = retries = 0
	while time.monotonic() < deadline:
		if args.until_all and live and live <= set(seen):
			break
		if not args.until_all and n >= args.count:
			break
		n += 1
		tl = time.monotonic()
		who, att = fetch_once(addr, min(args.try_timeout,
		    max(1, deadline - tl)), args.attempt_timeout)
		retries += att - 1
		if who:
			ok += 1
			lat.append(time.monotonic() - tl)
			seen[who] = seen.get(who, 0) + 1
			if first_ok is None:
				first_ok = time.monotonic() - t0
				first_ok_at = time.time()
		else:
			fail += 1
		log("fetch %d: %s (%.1fs)" % (n, who or "FAILED",
		    time.monotonic() - tl))
	res = {"tries": n, "ok": ok, "failed": fail, "backends": seen,
	    "retries": retries,
	    "first_ok_s": None if first_ok is None else round(first_ok, 1),
	    "elapsed_s": round(time.monotonic() - t0, 1)}
	if lat:
		lat.sort()
		res["latency_s"] = {"min": round(lat[0], 2),
		    "p50": round(lat[len(lat) // 2], 2),
		    "p90": round(lat[int(len(lat) * 0.9)], 2),
		    "max": round(lat[-1], 2)}
	print(json.dumps(res, sort_keys=True))
	if args.record and first_ok is not None:
		# Counted from the frontend's start when there was one.
		since = st["net"].get("fe_started_at")
		State(rundir).set_time(args.record, first_ok_at - since
		    if since else first_ok)
	if ok < args.min_ok or (args.until_all and not live <= set(seen)):
		sys.exit(1)


def cmd_hsfetch(args):
	rundir = rundir_get()
	st = State(rundir).get()
	addr = args.addr or st["net"]["master"]
	servers = sorted(st["net"]["fingerprints"].values()) if args.all \
	    else ()
	with tor_ctl(rundir, "client", CLIENT_CTL) as c:
		fr = hsfetch(c, addr, args.timeout, servers)
	print(fr.summary())
	for text in fr.descriptors():
		rev, keys = desc_intro_keys(text, addr)
		print("revision %d, %d intro points: %s" % (rev, len(keys),
		    ", ".join(intro_owner(st["net"], k) for k in keys)))
	if not fr.descriptors():
		sys.exit(1)


def cmd_wait_drop(args):
	"""Kill-to-drop: poll the master descriptor (a fresh HSFETCH each
	time) until it no longer lists backend N's intro points, while
	checking that clients are still served.  Prints a JSON summary."""
	rundir = rundir_get()
	state = State(rundir)
	st = state.get()
	dead = set(st["net"].get("intro%d" % args.n, []))
	killed = st["net"].get("backend%d_killed_at" % args.n, time.time())
	t0 = time.monotonic()
	deadline = t0 + args.timeout
	polls = served = unserved = 0
	dropped = None
	while time.monotonic() < deadline:
		polls += 1
		try:
			rev, keys, n = master_intro(rundir, 60, True)
			still = [k for k in keys if k in dead]
			log("poll %d: master rev %d (on %d HSDirs), %d intro "
			    "points, %d of backend%d" % (polls, rev, n,
			    len(keys), len(still), args.n))
			if keys and not still:
				dropped = time.time() - killed
				break
		except ObnetError as e:
			log("poll %d: %s" % (polls, e))
		if args.probe:
			who, _ = fetch_once(st["net"]["master"], max(5,
			    min(60, deadline - time.monotonic())))
			if who:
				served += 1
			else:
				unserved += 1
			log("probe fetch: %s" % (who or "FAILED"))
		time.sleep(max(0, min(args.interval,
		    deadline - time.monotonic())))
	res = {"dropped_after_s": None if dropped is None else
	    round(dropped, 1), "polls": polls, "probe_ok": served,
	    "probe_failed": unserved, "cap_s": args.timeout}
	print(json.dumps(res, sort_keys=True))
	if dropped is not None:
		state.set_time("failover_drop_s", dropped)
	if dropped is None or (args.bound and dropped > args.bound):
		log("FAIL: backend%d's intro points still listed %s s after "
		    "the kill" % (args.n, args.bound or args.timeout))
		sys.exit(1)


def cmd_frontend_restart(args):
	"""End one frontend part by PID and start it again, as an operator
	(or systemd) would: signer, collector, or the frontend's tor.  The
	master must be republished afterwards (wait-master)."""
	rundir = rundir_get()
	state = State(rundir)
	st = state.get()
	if st["net"]["frontend"] != "obhsm":
		raise ObnetError("frontend-restart: only for obhsm")
	fe = Obhsm()
	t0 = time.monotonic()
	state.set_net("fe_%s_restarted_at" % args.part, time.time())
	if args.part == "tor":
		proc_stop(state, "fe-tor")
		frontend_tor_start(state, rundir, args.timeout)
		# The new tor has a new control cookie and no SocksPort.
		fe.run_adopt(state, rundir, "tor-restarted", args.timeout)
	else:
		proc_stop(state, "fe-" + args.part)
		fe.run_adopt(state, rundir, "start-" + args.part,
		    args.timeout)
	log("frontend %s restarted (%.0fs)" % (args.part,
	    time.monotonic() - t0))


def cmd_revcheck(args):
	"""Every copy of the master descriptor seen on an HSDir (revs.jsonl,
	written by each master fetch): for one blinded key, no HSDir may
	ever serve a lower revision than it served before.  Prints per
	blinded key the revisions seen; exits 1 on a decrease."""
	rundir = rundir_get()
	seen = {}
	bad = []
	n = 0
	try:
		f = open(os.path.join(rundir, "revs.jsonl"))
	except FileNotFoundError:
		raise ObnetError("revcheck: no master descriptor recorded")
	with f:
		for line in f:
			r = json.loads(line)
			n += 1
			key = (r["blinded"], r["hsdir"])
			last = seen.get(key)
			if last is not None and r["rev"] < last:
				bad.append("%s on %s: revision %d after %d" % (
				    r["blinded"][:8], r["hsdir"][:8], r["rev"],
				    last))
			seen[key] = r["rev"] if last is None else \
			    max(last, r["rev"])
	per = {}
	for (b, h), rev in seen.items():
		per.setdefault(b, set()).add(rev)
	# HSDirs refuse a lower revision, so what they serve can hide one
	# the publisher tried: also read what the collector says it
	# published (its log survives its restarts), per time period.
	pub = {}
	npub = 0
	logf = os.path.join(rundir, "fe", "fe-collector.log")
	if os.path.exists(logf):
		with open(logf, errors="replace") as f:
			for line in f:
				w = line.split()
				if "published" not in w or "revision" not in w:
					continue
				try:
					tp = w[w.index("tp") + 1].rstrip(":")
					rev = int(w[w.index("revision") + 1])
				except (ValueError, IndexError):
					continue
				npub += 1
				if tp in pub and rev <= pub[tp]:
					bad.append("collector published tp %s "
					    "revision %d after %d" % (tp, rev,
					    pub[tp]))
				pub[tp] = max(pub.get(tp, -1), rev)
	print(json.dumps({"copies": n, "blinded_keys": len(per),
	    "max_rev": {b[:8]: max(v) for b, v in per.items()},
	    "collector_publishes": npub, "periods": len(pub),
	    "decreases": bad}, sort_keys=True))
	if bad or n == 0:
		sys.exit(1)


# ---------------------------------------------------------------- token

def fe_file(rundir, name):
	return os.path.join(rundir, "fe", name)


def counters_read(rundir):
	"""The fault module's counters (doc/p11fault.md), {} if none yet."""
	out = {}
	try:
		with open(fe_file(rundir, "p11fault.counters")) as f:
			for line in f:
				w = line.split()
				if len(w) == 2 and w[1].lstrip("-").isdigit():
					out[w[0]] = int(w[1])
	except FileNotFoundError:
		pass
	return out


def log_size(path):
	try:
		return os.path.getsize(path)
	except FileNotFoundError:
		return 0


def log_lines_since(path, offset, words):
	"""Lines of a log written after byte offset that contain every
	word (case-insensitive)."""
	try:
		with open(path, errors="replace") as f:
			f.seek(offset)
			text = f.read()
	except FileNotFoundError:
		return []
	return [ln for ln in text.splitlines()
	    if all(w.lower() in ln.lower() for w in words)]


def signed_revs(rundir, start=0, end=None, t_from=None):
	"""Revision counters of the descriptors the signer signed, from its
	log between byte offsets start and end: what the token signed, as
	opposed to what an HSDir serves (which can lag or be for another
	period than the one fetched before)."""
	out = set()
	try:
		with open(fe_file(rundir, "fe-signer.log"), "rb") as f:
			f.seek(start)
			data = f.read() if end is None else f.read(max(0,
			    end - start))
	except FileNotFoundError:
		return out
	import calendar
	for ln in data.decode(errors="replace").splitlines():
		w = ln.replace(",", " ").split()
		if t_from is not None:
			# The daemon's own stamp: 2026-11-22T22:37:38Z.
			try:
				t = calendar.timegm(time.strptime(w[1],
				    "%Y-%m-%dT%H:%M:%SZ"))
			except (ValueError, IndexError):
				continue
			if t < int(t_from):
				continue
		if "signed" in w and "revision" in w:
			try:
				out.add(int(w[w.index("revision") + 1]))
			except (ValueError, IndexError):
				pass
	return out


def served_since(rundir, since):
	"""Revisions of every master copy fetched since (revs.jsonl)."""
	out = set()
	try:
		with open(os.path.join(rundir, "revs.jsonl")) as f:
			for line in f:
				r = json.loads(line)
				if r["t"] >= since:
					out.add(r["rev"])
	except FileNotFoundError:
		pass
	return out


def cmd_token(args):
	"""Pull the signer's token out (remove) or put it back (insert),
	through the fault module's control file (frontend-obhsm.sh with
	OBHSM_FE_P11FAULT=1), replaced whole as doc/p11fault.md asks.
	Records the time, the log offsets, the signatures counter and the
	highest master revisions seen so far."""
	rundir = rundir_get()
	state = State(rundir)
	st = state.get()
	fe_pids = {n: e["pid"] for n, e in st["procs"].items()
	    if n in ("fe-signer", "fe-collector", "fe-tor")}
	if args.action == "check":
		# The same daemons as when the token was pulled, alive: the
		# recovery needed no restart.
		then = st["net"].get("token_removed_pids", {})
		bad = [n for n in then if fe_pids.get(n) != then[n] or
		    not proc_alive(then[n])]
		print(json.dumps({"daemons": then, "restarted_or_dead": bad},
		    sort_keys=True))
		if bad or not then:
			log("FAIL: %s restarted or dead since the token was "
			    "pulled" % (", ".join(bad) or "none recorded"))
			sys.exit(1)
		return
	ctl = fe_file(rundir, "p11fault.ctl")
	if not os.path.exists(ctl):
		raise ObnetError("token: no %s (frontend without "
		    "OBHSM_FE_P11FAULT=1?)" % ctl)
	removed = 1 if args.action == "remove" else 0
	tmp = ctl + ".new"
	with open(tmp, "w") as f:
		f.write("removed %d\n" % removed)
	os.chmod(tmp, 0o644)
	os.rename(tmp, ctl)
	key = "token_removed" if removed else "token_inserted"
	state.set_net(key + "_at", time.time())
	state.set_net(key + "_pids", fe_pids)
	state.set_net(key + "_logs", {n: log_size(fe_file(rundir,
	    "fe-%s.log" % n)) for n in ("signer", "collector")})
	state.set_net(key + "_signatures",
	    counters_read(rundir).get("signatures", -1))
	log("token %s (removed %d)" % ("removed" if removed else
	    "re-inserted", removed))


def cmd_token_paused(args):
	"""While the token is out: the collector asks the signer (at its
	next publish) and is refused, the signer says the token is not
	there, the token makes no signature, no HSDir serves a newer master
	revision, and the client is still served from the copy published
	before.  Prints a JSON summary; exits 1 if any of that fails."""
	rundir = rundir_get()
	state = State(rundir)
	net = state.get()["net"]
	t_out = net.get("token_removed_at")
	if t_out is None:
		raise ObnetError("token-paused: run 'token remove' first")
	offs = net["token_removed_logs"]
	sig0 = net["token_removed_signatures"]
	slog = fe_file(rundir, "fe-signer.log")
	clog = fe_file(rundir, "fe-collector.log")

	def refused():
		# A refusal for the token's sake ("token: hsm_...: ..."),
		# not one of another reason that happens to come first.
		r = log_lines_since(clog, offs["collector"],
		    ["failed", "signer refused", "token"])
		return r[0] if r else None
	line, took = wait_for("the collector's next publish, refused by "
	    "the signer", refused, args.timeout, 2)
	refused_s = time.time() - t_out
	log("collector: %s" % line.strip())
	t_base = time.time()
	master_intro(rundir, 60, True, True)
	res = {"refused_after_s": round(refused_s, 1),
	    "collector_log": line.split("obhsm-collector: ", 1)[-1][:160]}
	# Stay out a while longer: the collector retries, still refused.
	time.sleep(args.hold)
	# hsm/ names the missing token: the module's CKR_DEVICE_REMOVED or
	# CKR_TOKEN_NOT_PRESENT, then "no token present matches <uri>".
	signer_says = [ln for ln in log_lines_since(slog, offs["signer"],
	    ["refused"]) if any(w in ln for w in ("no token present",
	    "CKR_DEVICE_REMOVED", "CKR_TOKEN_NOT_PRESENT"))]
	res["signer_log"] = signer_says[0].split("obhsm-signer: ", 1)[-1][
	    :160] if signer_says else None
	who, _ = fetch_once(net["master"], 60)
	res["client_served_by"] = who
	master_intro(rundir, 60, True, True)
	# Every copy served while out must be one signed before the
	# removal (the client's period may have changed meanwhile, so "a
	# blinded key not seen before" is no evidence), and the signer
	# must have signed nothing since.
	before = signed_revs(rundir, 0, offs["signer"])
	served = served_since(rundir, t_base)
	newer = sorted(served - before)
	after = sorted(signed_revs(rundir, offs["signer"]))
	sig1 = counters_read(rundir).get("signatures", -1)
	res["token_signatures_while_out"] = sig1 - sig0
	res["copies_not_signed_before_removal"] = newer
	res["signed_while_out"] = after
	res["served_revisions"] = len(served)
	status = collector_status(rundir)
	if status:
		res["collector_status"] = status
	res["refusals"] = len(log_lines_since(clog, offs["collector"],
	    ["failed", "signer refused", "token"]))
	print(json.dumps(res, sort_keys=True))
	bad = []
	if not signer_says:
		bad.append("the signer's log never said the token is not "
		    "present")
	if newer:
		bad.append("HSDirs served revisions %s not signed before the "
		    "removal" % newer)
	if after:
		bad.append("the signer signed revisions %s while the token "
		    "was out" % after)
	if sig0 < 0 or sig1 != sig0:
		bad.append("the token made %d signatures while out" %
		    (sig1 - sig0))
	if not who:
		bad.append("the client was not served while the token was "
		    "out")
	if bad:
		log("FAIL: " + "; ".join(bad))
		sys.exit(1)


def collector_status(rundir):
	"""What obhsm-collector status says about the signer and failures
	(for the figures; the log is what the test asserts on)."""
	bld = os.environ.get("OBHSM_BUILDDIR")
	if not bld:
		return None
	try:
		r = subprocess.run([os.path.join(bld, "obhsm-collector"), "-f",
		    fe_file(rundir, "collector.conf"), "status"],
		    capture_output=True, text=True, timeout=30)
	except (OSError, subprocess.TimeoutExpired):
		return None
	keep = [ln.strip() for ln in r.stdout.splitlines() if
	    ln.startswith("tor:") or "refus" in ln or "error" in ln or
	    "token" in ln]
	return [k[:110] for k in keep[:3]]


# ---------------------------------------------------------------- descheck

# rend-spec [KEYBLIND]: the basepoint as the spec writes it.
ED25519_BASEPOINT = (b"(1511222134953540077250115140958853151145401269"
    b"3041857206046113283949847762202, 463168356949264781694283940034751"
    b"63141307993866256225615783033603165251855960)")


def blind_pubkey(pub, tp, period_len):
	"""KP_hs_blind_id for time period tp (rend-spec [KEYBLIND]),
	computed here, independently of the collector and the signer."""
	import stem.descriptor.hidden_service as hsmod
	n = b"key-blind" + tp.to_bytes(8, "big") + \
	    period_len.to_bytes(8, "big")
	h = hashlib.sha3_256(b"Derive temporary signing key\x00" + pub +
	    ED25519_BASEPOINT + n).digest()
	return hsmod._blinded_pubkey(pub, h)


def consensus_period(rundir, name="client", port=CLIENT_CTL, va_out=None):
	"""(time period a client fetches, period length, rotation offset)
	from this tor's consensus: tor's own rule (hs_common.c) with the
	test-network period of 24 voting intervals.  va_out (a list) gets
	the consensus valid-after."""
	import calendar
	with tor_ctl(rundir, name, port) as c:
		text = c.getinfo("dir/status-vote/current/consensus-microdesc")
	va = fu = None
	for line in text.splitlines():
		w = line.split()
		if len(w) == 3 and w[0] in ("valid-after", "fresh-until"):
			t = calendar.timegm(time.strptime(w[1] + " " + w[2],
			    "%Y-%m-%d %H:%M:%S"))
			if w[0] == "valid-after":
				va = t
			else:
				fu = t
		if va is not None and fu is not None:
			break
	if va is None or fu is None or fu <= va:
		raise ObnetError("%s: no valid-after/fresh-until in its "
		    "consensus" % name)
	vi = fu - va
	plen = 24 * vi // 60
	rot = 12 * vi // 60
	if va_out is not None:
		va_out.append(va)
	return (va // 60 - rot) // plen, plen, rot


def live_periods(va, plen, rot):
	"""The two periods whose descriptors a service must have on the
	HSDirs at consensus time va, and since when (rend-spec
	[FETCHUPLOADDESC], tor-v3-notes 1.6): from a period's start to the
	next shared-random run (every plen minutes), the previous period's
	and this one's; from that run to the next period's start, this
	period's and the next one's."""
	m = va // 60
	tp = (m - rot) // plen
	tp_start = tp * plen + rot
	srv = (m // plen) * plen	# start of the current SR run
	if srv <= tp_start:
		return (tp - 1, tp), tp_start * 60
	return (tp, tp + 1), srv * 60


def collector_published(rundir, addr, since):
	"""Periods the collector logged a publish for at or after since."""
	import calendar
	out = set()
	try:
		with open(fe_file(rundir, "fe-collector.log"),
		    errors="replace") as f:
			for ln in f:
				w = ln.split()
				if len(w) < 6 or w[3] != "published" or \
				    w[4] != addr or w[5] != "tp":
					continue
				try:
					t = calendar.timegm(time.strptime(w[1],
					    "%Y-%m-%dT%H:%M:%SZ"))
					tp = int(w[6].rstrip(":"))
				except (ValueError, IndexError):
					continue
				if t >= since:
					out.add(tp)
	except FileNotFoundError:
		pass
	return out


def bundle_periods(path):
	"""period -> (token-key, [certs]) from an obhsm bundle."""
	out = {}
	cur = None
	with open(path) as f:
		for line in f:
			w = line.split()
			if len(w) != 2:
				continue
			if w[0] == "period":
				cur = int(w[1])
				out[cur] = [None, []]
			elif cur is not None and w[0] == "token-key":
				out[cur][0] = w[1]
			elif cur is not None and w[0] == "cert":
				out[cur][1].append(w[1])
	return out


def b64_nopad(b):
	return base64.b64encode(b).decode().rstrip("=")


def desc_check(text, addr, tp, plen, bundle=None):
	"""Check one master descriptor copy as a client would, and more:
	stem parses it and verifies its signature by the descriptor
	signing key, the 08 cert is signed by the blinded key, the blinded
	key is the one of period tp for this address (computed here), the
	cert is one the bundle holds for tp, and both layers decrypt.
	Returns a dict; raises ObnetError on any failure."""
	from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
	from cryptography.hazmat.primitives.asymmetric.ed25519 import \
	    Ed25519PublicKey
	from cryptography.exceptions import InvalidSignature
	try:
		d = HiddenServiceDescriptorV3(text.encode(), validate=True)
	except ValueError as e:
		raise ObnetError("stem rejects the descriptor: %s" % e)
	cert = d.signing_cert
	blinded = cert.signing_key()
	# The cert's bytes as the descriptor carries them.
	try:
		b = text.split("descriptor-signing-key-cert\n-----BEGIN "
		    "ED25519 CERT-----\n", 1)[1].split("-----END", 1)[0]
		raw = base64.b64decode("".join(b.split()))
	except (IndexError, ValueError):
		raise ObnetError("no descriptor-signing-key-cert block")
	if len(raw) < 104:
		raise ObnetError("08 cert of %d bytes" % len(raw))
	try:
		Ed25519PublicKey.from_public_bytes(blinded).verify(raw[-64:],
		    raw[:-64])
	except InvalidSignature:
		raise ObnetError("08 cert not signed by the blinded key it "
		    "names")
	pub = base64.b32decode(addr.upper())[:32]
	want = blind_pubkey(pub, tp, plen)
	if blinded != want:
		raise ObnetError("blinded key %s is not period %d's (%s)" % (
		    b64_nopad(blinded)[:12], tp, b64_nopad(want)[:12]))
	try:
		inner = d.decrypt(addr)
	except ValueError as e:
		raise ObnetError("stem cannot decrypt it: %s" % e)
	res = {"rev": d.revision_counter, "intro": len(
	    inner.introduction_points), "blinded": b64_nopad(blinded)[:12]}
	if bundle is not None:
		ent = bundle.get(tp)
		if ent is None:
			raise ObnetError("period %d is not in the bundle" % tp)
		if b64_nopad(cert.key) != ent[0]:
			raise ObnetError("certified key is not the token key "
			    "of period %d in the bundle" % tp)
		c64 = b64_nopad(raw)
		if c64 not in ent[1]:
			raise ObnetError("08 cert is none of the bundle's "
			    "for period %d" % tp)
		res["bundle_cert"] = ent[1].index(c64)
	return res


def cmd_descheck(args):
	"""Fetch the master descriptor from every HSDir as the client does
	(its own time period) and check every copy (desc_check), also with
	our decoder (obhsm-keytool descriptor decode) when built.  With
	--after-tp, first wait (at most --timeout) until the client's
	period is past that one (a recorded net key or a number): the
	descriptor a client fetches after a boundary is the next period's.
	Checks the harness's own blinding against tor's on a backend."""
	rundir = rundir_get()
	state = State(rundir)
	net = state.get()["net"]
	addr = net["master"]
	t0 = time.monotonic()
	after = None
	if args.after_tp:
		after = net.get(args.after_tp)
		if after is None:
			after = int(args.after_tp)

		def moved():
			tp, _, _ = consensus_period(rundir)
			return tp > after
		wait_for("the client's time period to pass %d" % after,
		    moved, args.timeout, 5)
	tp, plen, rot = consensus_period(rundir)
	if args.record_tp:
		state.set_net(args.record_tp, tp)
	bundle = None
	bpath = fe_file(rundir, "bundle")
	if net.get("frontend") == "obhsm" and os.path.exists(bpath):
		bundle = bundle_periods(bpath)
	# The harness's blinding agrees with tor's own (a stock backend).
	b1 = net["backend%d" % args.check_backend]
	with tor_ctl(rundir, "client", CLIENT_CTL) as c:
		fb = hsfetch(c, b1, 60)
	for text in fb.descriptors()[:1]:
		from stem.descriptor.hidden_service import \
		    HiddenServiceDescriptorV3
		d = HiddenServiceDescriptorV3(text.encode())
		pub = base64.b32decode(b1.upper())[:32]
		if d.signing_cert.signing_key() != blind_pubkey(pub, tp, plen):
			raise ObnetError("harness blinding disagrees with tor "
			    "for backend%d, period %d" % (args.check_backend,
			    tp))
	servers = sorted(net["fingerprints"].values())
	with tor_ctl(rundir, "client", CLIENT_CTL) as c:
		fr = hsfetch(c, addr, 60, servers)
	revs_record(rundir, fr)
	texts = fr.descriptors()
	if len(texts) < args.min_hsdirs:
		raise ObnetError("master on %d HSDirs, want %d: %s" % (
		    len(texts), args.min_hsdirs, fr.summary()))
	checks = []
	for text in texts:
		checks.append(desc_check(text, addr, tp, plen, bundle))
	kt = os.path.join(os.environ.get("OBHSM_BUILDDIR", ""),
	    "obhsm-keytool")
	keytool = None
	if os.environ.get("OBHSM_BUILDDIR") and os.access(kt, os.X_OK):
		with tempfile.NamedTemporaryFile("w", dir=rundir,
		    suffix=".desc", delete=False) as f:
			f.write(texts[0])
		r = subprocess.run([kt, "descriptor", "decode", "--address",
		    addr, f.name], capture_output=True, text=True, timeout=60)
		if r.returncode != 0 or "signature: valid" not in r.stdout:
			raise ObnetError("obhsm-keytool descriptor decode: "
			    "%s" % (r.stderr.strip() or r.stdout[-300:]))
		keytool = "valid"
	res = {"tp": tp, "period_min": plen, "hsdirs": len(texts),
	    "revisions": sorted(set(c["rev"] for c in checks)),
	    "blinded": checks[0]["blinded"], "intro_points": sorted(set(
	    c["intro"] for c in checks)),
	    "bundle_certs": sorted(set(c.get("bundle_cert", -1)
	    for c in checks)) if bundle else None,
	    "stem": "signature valid, cert valid, decrypted",
	    "keytool": keytool, "waited_s": round(time.monotonic() - t0)}
	if after is not None:
		res["after_tp"] = after
	if args.both_published and net.get("frontend") == "obhsm":
		# Tor's notion of the two live descriptors at this moment,
		# from the client's consensus, against what the collector
		# published since that phase began (it republishes every
		# 60-90 s here, and at once when the set changes).
		def both():
			va = []
			tp_now, pl, ro = consensus_period(rundir, va_out=va)
			want, since = live_periods(va[0], pl, ro)
			got = collector_published(rundir, addr, since)
			if set(want) <= got:
				return want, since
			log("collector published %s since %s, tor wants %s" % (
			    sorted(got), time.strftime("%H:%M:%S",
			    time.gmtime(since)), list(want)))
			return None
		(want, since), took = wait_for("the collector publishing both "
		    "live periods", both, 150, 5)
		res["live_periods_published"] = list(want)
		res["phase_began"] = time.strftime("%H:%M:%S",
		    time.gmtime(since))
	print(json.dumps(res, sort_keys=True))


def rss_report(rundir):
	st = State(rundir).get()
	out = {}
	for name, ent in sorted(st["procs"].items()):
		out[name] = {"rss_kb": rss_kb(ent["pid"]),
		    "hwm_kb": rss_kb(ent["pid"], "VmHWM")}
	return out


def cmd_rss(args):
	rundir = rundir_get()
	r = rss_report(rundir)
	try:
		with open(os.path.join(rundir, "rss.json")) as f:
			peak = json.load(f)
	except (FileNotFoundError, ValueError):
		peak = {}
	print(json.dumps({"now": r, "sampled": peak}, indent=1,
	    sort_keys=True))


def cmd_report(args):
	"""Append the run's figures to a Markdown file (--out) or stdout."""
	rundir = rundir_get()
	st = State(rundir).get()
	try:
		with open(os.path.join(rundir, "rss.json")) as f:
			rss = json.load(f)
	except (FileNotFoundError, ValueError):
		rss = {}
	t = st["times"]
	hwm = rss.get("peak_hwm_kb", {})

	def mb(kb):
		return "%.0f MB" % (kb / 1024.0)

	def fig(key):
		return "%s s" % t[key] if key in t else "not measured/reached"
	tors = sum(v for k, v in hwm.items() if not k.endswith("-http"))
	fe = sum(v for k, v in hwm.items() if k.startswith("fe-"))
	lines = [
	    "### Run %s (frontend %s)" % (time.strftime("%Y-%m-%d %H:%M UTC",
	    time.gmtime()), st["net"].get("frontend")),
	    "",
	    "| figure | value |",
	    "|---|---|",
	    "| network bootstrap (tors started to client at 100%% with "
	    "all %d HSDirs in its ring) | %s |" % (st["net"]["n_auth"] +
	    st["net"]["n_relay"], fig("bootstrap_s")),
	    "| backends published (started to descriptors fetchable) | "
	    "%s |" % fig("backends_published_s"),
	    "| frontend start to master descriptor listing every backend | "
	    "%s |" % fig("master_published_s"),
	    "| frontend start to first successful client fetch | %s |" %
	    fig("first_fetch_s"),
	    "| backend killed to master descriptor without its intro "
	    "points | %s |" % fig("failover_drop_s"),
	    "| killed backend restarted to master listing it again | %s |" %
	    fig("recovery_s"),
	    "| peak RSS, frontend processes (sum of VmHWM) | %s |" % mb(fe),
	    "| peak RSS, every process (sum of VmHWM) | %s |" % mb(tors),
	    "| peak RSS, all processes at one moment (sampled 2 s) | %s |" %
	    mb(rss.get("peak_total_rss_kb", 0)),
	    "",
	    "Per process VmHWM: " + ", ".join("%s %s" % (k, mb(v))
	    for k, v in sorted(hwm.items())),
	    ""]
	for extra in args.note or []:
		lines.insert(-1, extra)
	out = "\n".join(lines) + "\n"
	if args.out:
		with open(args.out, "a") as f:
			f.write(out)
	sys.stdout.write(out)


def cmd_status(args):
	rundir = rundir_get()
	st = State(rundir).get()
	for name, ent in sorted(st["procs"].items()):
		print("%-18s pid %-6d %s" % (name, ent["pid"],
		    "alive" if proc_alive(ent["pid"]) else "DEAD"))
	print(json.dumps({"net": {k: v for k, v in st["net"].items()
	    if not k.startswith(("intro", "dirauth"))},
	    "times": st["times"]}, indent=1, sort_keys=True))


def cmd_down(args):
	procs_stop_all(State(rundir_get()))


# ---------------------------------------------------------------- namespace

def isolation_check():
	"""Refuse to go on unless lo is the only interface and every route
	goes through lo: tor must never reach a real network."""
	# Ask netlink (ip), not /sys: sysfs shows the namespace it was
	# mounted in, which is the host's.
	r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
	    text=True, check=True)
	ifs = sorted(line.split(":")[1].strip().split("@")[0]
	    for line in r.stdout.splitlines() if line.strip())
	if ifs != ["lo"]:
		raise ObnetError("namespace has interfaces %s, want only lo" %
		    ifs)
	with open("/proc/net/route") as f:
		for line in f.readlines()[1:]:
			w = line.split()
			if w and w[0] != "lo":
				raise ObnetError("IPv4 route via %s" % w[0])
	try:
		with open("/proc/net/ipv6_route") as f:
			for line in f:
				w = line.split()
				if w and w[-1] != "lo":
					raise ObnetError("IPv6 route via %s" %
					    w[-1])
	except FileNotFoundError:
		pass
	r = subprocess.run(["ip", "-o", "route", "show", "table", "all"],
	    capture_output=True, text=True)
	for line in r.stdout.splitlines():
		if " dev " in line and " dev lo" not in line:
			raise ObnetError("route leaves lo: %s" % line)


def cmd_init(args):
	"""PID 1 of the run's namespaces: check isolation, run CMD, reap
	every orphan, sample RSS, enforce the run deadline, end every
	recorded process by PID.  When it exits the kernel kills whatever
	is left in the PID namespace."""
	os.environ["OBNET_RUNDIR"] = args.rundir
	os.environ["OBNET_INSIDE"] = "1"
	subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
	try:
		isolation_check()
	except ObnetError as e:
		log("ABORT: %s" % e)
		sys.exit(2)
	log("namespace isolated: only lo, no route out; run dir %s" %
	    args.rundir)
	state = State(args.rundir)
	stop = []
	signal.signal(signal.SIGTERM, lambda s, f: stop.append(s))
	signal.signal(signal.SIGINT, lambda s, f: stop.append(s))
	child = subprocess.Popen(args.cmd)
	deadline = time.monotonic() + args.timeout
	status = None
	peak_total = 0
	peak = {}
	next_sample = 0
	while status is None:
		try:
			pid, st = os.waitpid(-1, os.WNOHANG)
		except ChildProcessError:
			pid = 0
		if pid == child.pid:
			status = os.waitstatus_to_exitcode(st)
			break
		if pid:
			continue
		now = time.monotonic()
		if now >= next_sample:
			next_sample = now + 2
			total = 0
			for name, ent in state.get()["procs"].items():
				kb = rss_kb(ent["pid"])
				hwm = rss_kb(ent["pid"], "VmHWM")
				total += kb
				peak[name] = max(peak.get(name, 0), hwm)
			peak_total = max(peak_total, total)
			with open(os.path.join(args.rundir, "rss.json"),
			    "w") as f:
				json.dump({"peak_total_rss_kb": peak_total,
				    "peak_hwm_kb": peak}, f, indent=1,
				    sort_keys=True)
		if now >= deadline or stop:
			log("run %s: ending %s" % ("deadline reached" if
			    now >= deadline else "interrupted", args.cmd[0]))
			child.terminate()
			try:
				child.wait(10)
			except subprocess.TimeoutExpired:
				child.kill()
				child.wait()
			status = 124 if now >= deadline else 130
			break
		time.sleep(0.2)
	procs_stop_all(state)
	log("run finished with status %d; logs in %s" % (status, args.rundir))
	sys.exit(status)


def cmd_run(args):
	rundir = args.rundir
	if rundir:
		os.makedirs(rundir, exist_ok=True)
	else:
		rundir = tempfile.mkdtemp(prefix="obnet-")
	rundir = os.path.abspath(rundir)
	for tool in (TOR, "tor-gencert", "unshare", "ip", "curl"):
		if not shutil.which(tool):
			log("missing tool %s" % tool)
			sys.exit(FE_UNAVAILABLE)
	ns = ["unshare", "--net", "--pid", "--fork", "--kill-child",
	    "--mount-proc"]
	if os.geteuid() != 0:
		ns.insert(1, "--map-root-user")
		ns.insert(1, "--user")
	cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
	if not cmd:
		cmd = [os.environ.get("SHELL", "/bin/sh")]
	argv = ns + [PYTHON, os.path.abspath(__file__), "_init",
	    "--rundir", rundir, "--timeout", str(args.timeout), "--"] + cmd
	print("obnet: run dir %s" % rundir, file=sys.stderr, flush=True)
	r = subprocess.run(argv)
	sys.exit(r.returncode)


def main():
	p = argparse.ArgumentParser(prog="obnet.py",
	    description="private tor network harness")
	sub = p.add_subparsers(dest="cmd_name", required=True)

	s = sub.add_parser("run", help="run CMD in a fresh namespace")
	s.add_argument("--rundir")
	s.add_argument("--timeout", type=float, default=600)
	s.add_argument("cmd", nargs=argparse.REMAINDER)
	s.set_defaults(fn=cmd_run)

	s = sub.add_parser("_init")
	s.add_argument("--rundir", required=True)
	s.add_argument("--timeout", type=float, required=True)
	s.add_argument("cmd", nargs=argparse.REMAINDER)
	s.set_defaults(fn=lambda a: cmd_init(argparse.Namespace(
	    rundir=a.rundir, timeout=a.timeout,
	    cmd=a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd)))

	s = sub.add_parser("up", help="authorities, relays, client, "
	    "backends (frontend prepared, not started)")
	s.add_argument("--relays", type=int, default=5)
	s.add_argument("--backends", type=int, default=2)
	s.add_argument("--frontend", default=os.environ.get(
	    "OBNET_FRONTEND", "onionbalance"), choices=sorted(FRONTENDS))
	s.add_argument("--timeout", type=float, default=180)
	s.set_defaults(fn=cmd_up)

	s = sub.add_parser("frontend-start")
	s.add_argument("--frontend", choices=sorted(FRONTENDS))
	s.add_argument("--timeout", type=float, default=120)
	s.set_defaults(fn=cmd_frontend_start)

	s = sub.add_parser("frontend-stop")
	s.set_defaults(fn=cmd_frontend_stop)

	s = sub.add_parser("wait-master")
	s.add_argument("--backends", type=int, nargs="*")
	s.add_argument("--timeout", type=float, default=240)
	s.add_argument("--min-hsdirs", type=int, default=0,
	    help="also require the descriptor on this many HSDirs (with 8 "
	    "HSDirs, 2 replicas x spread 4 = all 8 are responsible)")
	s.add_argument("--newer", action="store_true",
	    help="also require a revision newer than any seen before "
	    "(a republish)")
	s.add_argument("--record", default="master_published_s")
	s.add_argument("--signed-since", metavar="EVENT",
	    help="require a copy the signer signed after EVENT (e.g. "
	    "token_inserted, recorded by obnet.py token)")
	s.add_argument("--every-copy", action="store_true",
	    help="every HSDir's copy (not only the newest) must list every "
	    "wanted backend")
	s.add_argument("--since", default="fe_started_at",
	    help="count from this recorded event (net key)")
	s.set_defaults(fn=cmd_wait_master)

	s = sub.add_parser("fetch")
	s.add_argument("--addr")
	s.add_argument("--count", type=int, default=1)
	s.add_argument("--until-all", action="store_true")
	s.add_argument("--min-ok", type=int, default=1)
	s.add_argument("--timeout", type=float, default=180)
	s.add_argument("--try-timeout", type=float, default=60)
	s.add_argument("--attempt-timeout", type=float,
	    default=ATTEMPT_TIMEOUT, help="retry on a fresh circuit after "
	    "this long (within --try-timeout)")
	s.add_argument("--newnym", action="store_true",
	    help="first make the client forget cached descriptors")
	s.add_argument("--record", help="store first-success time as KEY")
	s.set_defaults(fn=cmd_fetch)

	s = sub.add_parser("hsfetch")
	s.add_argument("--addr")
	s.add_argument("--all", action="store_true",
	    help="ask every HSDir (SERVER=), not the one tor picks")
	s.add_argument("--timeout", type=float, default=60)
	s.set_defaults(fn=cmd_hsfetch)

	s = sub.add_parser("backend-kill")
	s.add_argument("n", type=int)
	s.add_argument("--refresh", action="store_true",
	    help="learn its current intro points first")
	s.set_defaults(fn=backend_kill)

	s = sub.add_parser("backend-start")
	s.add_argument("n", type=int)
	s.add_argument("--timeout", type=float, default=180)
	s.set_defaults(fn=backend_restart)

	s = sub.add_parser("wait-drop")
	s.add_argument("n", type=int)
	s.add_argument("--timeout", type=float, default=720)
	s.add_argument("--interval", type=float, default=10)
	s.add_argument("--bound", type=float,
	    help="fail if the drop came later than this after the kill")
	s.add_argument("--probe", action="store_true",
	    help="also GET the master each poll")
	s.set_defaults(fn=cmd_wait_drop)

	s = sub.add_parser("frontend-restart")
	s.add_argument("part", choices=["signer", "collector", "tor"])
	s.add_argument("--timeout", type=float, default=120)
	s.set_defaults(fn=cmd_frontend_restart)

	s = sub.add_parser("token", help="pull the signer's token out or "
	    "put it back (fault module)")
	s.add_argument("action", choices=["remove", "insert", "check"],
	    help="check: the daemons running when it was removed still run")
	s.set_defaults(fn=cmd_token)

	s = sub.add_parser("token-paused")
	s.add_argument("--timeout", type=float, default=150,
	    help="for the collector's refused publish")
	s.add_argument("--hold", type=float, default=20,
	    help="then stay out this long, checking nothing is published")
	s.set_defaults(fn=cmd_token_paused)

	s = sub.add_parser("descheck")
	s.add_argument("--after-tp",
	    help="first wait until the client's period is past this one "
	    "(number or recorded net key)")
	s.add_argument("--record-tp", help="store the period as this net key")
	s.add_argument("--timeout", type=float, default=600)
	s.add_argument("--min-hsdirs", type=int, default=1)
	s.add_argument("--check-backend", type=int, default=2)
	s.add_argument("--both-published", action="store_true",
	    help="(obhsm) also wait until the collector has published, "
	    "since the current phase began, both periods tor has live")
	s.set_defaults(fn=cmd_descheck)

	s = sub.add_parser("revcheck")
	s.set_defaults(fn=cmd_revcheck)

	s = sub.add_parser("report")
	s.add_argument("--out")
	s.add_argument("--note", action="append")
	s.set_defaults(fn=cmd_report)

	for nm, fn in (("rss", cmd_rss), ("status", cmd_status),
	    ("down", cmd_down)):
		s = sub.add_parser(nm)
		s.set_defaults(fn=fn)

	args = p.parse_args()
	try:
		args.fn(args)
	except FrontendUnavailable as e:
		log(str(e))
		sys.exit(FE_UNAVAILABLE)
	except ObnetError as e:
		log("ERROR: %s" % e)
		sys.exit(1)


if __name__ == "__main__":
	main()
