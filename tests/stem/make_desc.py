#!/usr/bin/python3
# Cross-check: stem (python3-stem 1.8.1) builds a descriptor with a fresh
# identity key, a real blinded key (stem blinds with a random nonce in
# place of the time period), revision counter 77 and two intro points.
# Writes the descriptor to the given file and prints the onion address.
# Usage: make_desc.py OUTPUT-FILE
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey
from stem.client.datatype import LinkByIPv4
from stem.descriptor.hidden_service import (HiddenServiceDescriptorV3,
                                            InnerLayer, IntroductionPointV3)


def main():
    out = sys.argv[1]
    identity = Ed25519PrivateKey.generate()
    # Intro point certs must be signed by the descriptor signing key;
    # stem's create_for_address() drops signing_key (1.8.1) and would
    # sign each with a random key, hence create_for_link_specifiers().
    signing = Ed25519PrivateKey.generate()
    pts = [IntroductionPointV3.create_for_link_specifiers(
        [LinkByIPv4('1.2.3.%d' % i, 9001)], signing_key=signing)
        for i in (1, 2)]
    inner = InnerLayer.create(introduction_points=pts)
    desc = HiddenServiceDescriptorV3.content(identity_key=identity,
                                             signing_key=signing,
                                             inner_layer=inner,
                                             revision_counter=77,
                                             blinding_nonce=os.urandom(32))
    with open(out, 'wb') as f:
        f.write(desc)
    print(HiddenServiceDescriptorV3.address_from_identity_key(identity,
                                                              suffix=False))


if __name__ == '__main__':
    main()
