#!/usr/bin/python3
"""ob_bench.py: OnionBalance 0.2.2's master descriptor assembly, timed.

    ob_bench.py time SECONDS   descriptors/s of OBDescriptor, 8 intro points
    ob_bench.py rss S          peak RSS holding S services' 2 descriptors

Prints "key value" lines for bench/run.sh.  The intro points come from
four real backend descriptors (2 intro points each) built with stem,
serialised, parsed and decrypted as OnionBalance's ReceivedDescriptor
gets them from the network.  OBDescriptor itself (recertification, the
revision counter, stem's encryption and signing, the size check) runs
unchanged; the only stand-in is the consensus object it asks for the
shared-random run start, answered as the live network does (runs start
at 00:00 UTC, 24 one-hour rounds), because there is no tor here.
"""
import datetime
import os
import resource
import sys
import time

import stem.util
from stem.descriptor.hidden_service import (HiddenServiceDescriptorV3,
                                            InnerLayer, IntroductionPointV3)
from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey

import onionbalance.hs_v3.onionbalance as obmod
from onionbalance.hs_v3 import descriptor as obdesc

PERIOD_MIN = 1440
ROT_MIN = 720


class LiveNetworkSRV:
    """The two answers OBDescriptor needs from a live consensus."""

    def get_start_time_of_current_srv_run(self):
        now = int(time.time())
        return now - now % 86400

    def get_start_time_of_previous_srv_run(self):
        return self.get_start_time_of_current_srv_run() - 86400


class Shim:
    is_testnet = False
    consensus = LiveNetworkSRV()


def blinding_param(pub, tp):
    # rend-spec-v3 A.2, as onionbalance.hs_v3.consensus computes it.
    import hashlib
    base = (b"(15112221349535400772501151409588531511"
            b"454012693041857206046113283949847762202, "
            b"463168356949264781694283940034751631413"
            b"07993866256225615783033603165251855960)")
    n = (b"key-blind" + tp.to_bytes(8, 'big') +
         PERIOD_MIN.to_bytes(8, 'big'))
    return hashlib.sha3_256(b"Derive temporary signing key\x00" + pub +
                            base + n).digest()


def time_period():
    return (int(time.time()) // 60 - ROT_MIN) // PERIOD_MIN


def backend_intro_points(nb=4, per=2):
    """Intro points as OnionBalance gets them: from real descriptors."""
    tp = time_period()
    ips = []
    for b in range(nb):
        ident = Ed25519PrivateKey.generate()
        pub = stem.util._pubkey_bytes(ident)
        addr = HiddenServiceDescriptorV3.address_from_identity_key(ident)
        mine = [IntroductionPointV3.create_for_address(
            '10.0.%d.%d' % (b, i + 1), 9001) for i in range(per)]
        d = HiddenServiceDescriptorV3.create(
            identity_key=ident, blinding_nonce=blinding_param(pub, tp),
            inner_layer=InnerLayer.create(introduction_points=mine))
        text = str(d)
        parsed = HiddenServiceDescriptorV3.from_str(text)
        inner = parsed.decrypt(addr)
        ips.extend(inner.introduction_points)
    return ips


def make_desc(ident, addr, pub, ips, first):
    tp = time_period() + (0 if first else 1)
    return obdesc.OBDescriptor(addr, ident, blinding_param(pub, tp), ips,
                               first)


def service_keys():
    ident = Ed25519PrivateKey.generate()
    pub = stem.util._pubkey_bytes(ident)
    addr = HiddenServiceDescriptorV3.address_from_identity_key(ident)
    return ident, pub, addr


def cmd_time(secs):
    ips = backend_intro_points()
    ident, pub, addr = service_keys()
    make_desc(ident, addr, pub, ips, True)  # warm caches and imports
    n = 0
    size = 0
    t0 = time.monotonic()
    while True:
        d = make_desc(ident, addr, pub, ips, n % 2 == 0)
        size = d.get_size()
        n += 1
        t = time.monotonic() - t0
        if t >= secs:
            break
    # The OPE loop alone, for the limiting factor: one call at this
    # second of the SRV run.
    t1 = time.monotonic()
    d._get_revision_counter(ident, True)
    ope = time.monotonic() - t1
    print("ob_desc %d" % n)
    print("ob_s %.4f" % t)
    print("ob_intro %d" % len(ips))
    print("ob_desc_bytes %d" % size)
    print("ob_ope_s %.6f" % ope)
    # OBDescriptor's own signatures per descriptor: a 09 and a 0B cert
    # per intro point, the 08 cert, the descriptor signature.
    print("ob_sigs_per_desc %d" % (2 * len(ips) + 2))


def cmd_rss(s):
    ips = backend_intro_points()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    keep = []
    for _ in range(s):
        ident, pub, addr = service_keys()
        keep.append((make_desc(ident, addr, pub, ips, True),
                     make_desc(ident, addr, pub, ips, False)))
    print("ob_services %d" % s)
    print("ob_import_hwm_kb %d" % base)
    print("ob_hwm_kb %d" % resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss)


def main():
    import logging
    from onionbalance.common import log as oblog
    oblog.get_logger().setLevel(logging.WARNING)
    obmod.my_onionbalance = Shim()
    if len(sys.argv) == 3 and sys.argv[1] == 'time':
        cmd_time(float(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == 'rss':
        cmd_rss(int(sys.argv[2]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == '__main__':
    main()
