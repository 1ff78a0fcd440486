#!/usr/bin/python3
# Cross-check against C tor: HSPOST each descriptor to a private tor and
# print tor's reply (tor decodes the plaintext part, checking the 08 cert
# and the descriptor signature: "250 OK" or "554 Invalid descriptor").
# Must run in a network namespace with only loopback (unshare -rn); the
# torrc is private, TestingTorNetwork with a made-up authority, network
# disabled.  Usage: tor_hspost.py WORKDIR DESC ADDR [DESC ADDR ...]
import os
import socket
import subprocess
import sys
import time

TORRC = """DataDirectory {d}/data
TestingTorNetwork 1
DirAuthority test orport=5000 no-v2 \
v3ident=0000000000000000000000000000000000000000 127.0.0.1:7000 \
0000000000000000000000000000000000000000
ControlPort unix:{d}/control
CookieAuthentication 0
DisableNetwork 1
SocksPort 0
Log notice file {d}/tor.log
"""


def connect(path, proc):
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit('tor exited early: %d' % proc.returncode)
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.1)
    sys.exit('no control socket')


def reply(s):
    data = b''
    s.settimeout(10)
    while not data.endswith(b'\r\n'):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode('ascii', 'replace').strip()


def main():
    work = sys.argv[1]
    # tor wants the control socket's directory private.
    os.chmod(work, 0o700)
    os.makedirs(work + '/data', mode=0o700, exist_ok=True)
    with open(work + '/torrc', 'w') as f:
        f.write(TORRC.format(d=work))
    proc = subprocess.Popen(['tor', '--defaults-torrc', '/dev/null', '-f',
                             work + '/torrc'], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        s = connect(work + '/control', proc)
        s.sendall(b'AUTHENTICATE\r\n')
        print('auth', reply(s))
        args = sys.argv[2:]
        for path, addr in zip(args[0::2], args[1::2]):
            with open(path, 'rb') as f:
                body = f.read().replace(b'\n', b'\r\n')
            # No line of a descriptor starts with '.': no dot-stuffing.
            s.sendall(b'+HSPOST HSADDRESS=' + addr.encode() + b'\r\n' +
                      body + b'.\r\n')
            print(os.path.basename(path), reply(s))
        s.sendall(b'QUIT\r\n')
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == '__main__':
    main()
