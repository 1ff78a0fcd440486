#!/usr/bin/python3
# Cross-check: stem (python3-stem 1.8.1) parses a descriptor we built,
# checks its signature and 08 cert, decrypts both layers with the onion
# address and reports what it found, one "name value" per line.
# Usage: check_ours.py DESCRIPTOR-FILE ONION-ADDRESS
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PublicKey

from stem.descriptor.hidden_service import HiddenServiceDescriptorV3


def main():
    path, addr = sys.argv[1], sys.argv[2]
    with open(path, 'rb') as f:
        raw = f.read()
    # validate=True makes stem check the signature against the key in
    # the 08 cert and the cert's own signature.
    desc = HiddenServiceDescriptorV3.from_str(raw.decode('ascii'),
                                              validate=True)
    if desc.signing_cert is None:
        sys.exit('no signing cert')
    # stem checks the descriptor signature (under the certified key) but
    # not the cert's own signature: check that under extension 04.
    cert = desc.signing_cert
    blinded = cert.signing_key()
    raw = cert.pack()
    Ed25519PublicKey.from_public_bytes(blinded).verify(raw[-64:],
                                                       raw[:-64])
    cert.validate(desc)
    inner = desc.decrypt(addr)
    print('revision %d' % desc.revision_counter)
    print('lifetime %d' % desc.lifetime)
    print('intro %d' % len(inner.introduction_points))
    print('single %d' % (1 if inner.is_single_service else 0))
    print('blinded %s' % blinded.hex())
    for ip in inner.introduction_points:
        print('ipt %s' % ip.onion_key_raw)


if __name__ == '__main__':
    main()
