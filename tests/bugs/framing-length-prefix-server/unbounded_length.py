"""Known bug (docs/labs.md §9, length-prefix): no upper bound on the length.

The payload buffer is allocated at the size the header claims, before a
single payload byte arrives, and the server then waits for all of them.  A
header claiming 4 GiB makes it allocate (here capped at 512 MiB, so the test
machine survives; a real bytearray(length) would take 4 GiB or die) and keep
the connection open, waiting for bytes that never come.
Fails: framing/huge-length-header (resident memory grows ~512 MiB; the
connection is not closed).
"""
from _common import serve

CAP = 512 * 1024 * 1024  # stand-in for bytearray(length)


def handle(conn):
    with conn:
        while True:
            header = bytearray()
            while len(header) < 4:
                chunk = conn.recv(4 - len(header))
                if not chunk:
                    return
                header += chunk
            length = int.from_bytes(header, "big")
            payload = bytearray(min(length, CAP))  # the bug: trusts the claim
            got = 0
            while got < length:
                chunk = conn.recv(min(length - got, 65536))
                if not chunk:
                    return
                payload[got : got + len(chunk)] = chunk
                got += len(chunk)
            conn.sendall(bytes(header) + payload[:length])


serve(handle)
