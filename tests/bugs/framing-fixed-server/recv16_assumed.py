"""Known bug (docs/labs.md §9, fixed-length): recv(16) assumed to return 16 bytes.

Each message is read with one recv(16) and unpacked as a 16-byte record with
struct; when fewer bytes have arrived, struct.error ends that client's
thread and its connection.
Fails: partial/one-byte-writes, framing/split-header.
"""
import struct

from _common import serve

RECORD = struct.Struct("16s")


def handle(conn):
    with conn:
        while True:
            data = conn.recv(16)  # the bug: may return fewer than 16 bytes
            if not data:
                break
            (record,) = RECORD.unpack(data)  # struct.error on a short read
            conn.sendall(record)


serve(handle)
