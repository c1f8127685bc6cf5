"""Known bug (docs/labs.md §9, delimiter): one recv() taken as one line (split lines).

Each recv() is treated as a complete line: its newline is stripped and one
added back.  A line that arrives in pieces comes back as several lines.
Fails: partial/one-byte-writes, framing/split-header, framing/one-mib-frame,
echo/many-messages, partial/large-payload, partial/backpressure (every
message larger than what one recv() returns).
"""
from _common import serve


def handle(conn):
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            line = data.rstrip(b"\n")  # the bug: half a line is not a line
            conn.sendall(line + b"\n")


serve(handle)
