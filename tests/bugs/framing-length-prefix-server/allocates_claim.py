"""Known bug (docs/labs.md §9, length-prefix): allocates whatever the header claims.

``bytearray(length)`` for a header claiming 4 GiB.  Under the local runner's
address-space cap the allocation raises MemoryError, the handler thread dies
and its connection closes, which looks like a refusal; the grader must see
the attempt (the MemoryError on stderr) and fail the probe anyway.
Fails: framing/huge-length-header.
"""
from _common import serve


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
            payload = bytearray(length)  # the bug: trusts the claim
            view = memoryview(payload)
            got = 0
            while got < length:
                n = conn.recv_into(view[got:], min(length - got, 65536))
                if not n:
                    return
                got += n
            conn.sendall(header + payload)


serve(handle)
