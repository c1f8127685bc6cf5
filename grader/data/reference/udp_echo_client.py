"""Reference UDP echo client (lab 15 of the sockgrade lab catalogue).

Usage: python udp_echo_client.py HOST PORT MESSAGE

Sends MESSAGE (UTF-8) as one datagram and prints the reply.  The socket is
connected to the server, so the kernel delivers only the server's datagrams
(a datagram from any other address or port is dropped) and reports an ICMP
port unreachable as ConnectionRefusedError.  UDP may lose the request or
the reply: when no reply comes within TIMEOUT seconds the message is sent
again, up to TRIES times in all.  Only the first reply is printed, so a
duplicated or late reply changes nothing.  Errors are one line on stderr
with exit status 1.  Standard library only.
"""

import socket
import sys

TIMEOUT = 1.0  # seconds to wait for a reply before sending again
TRIES = 3  # datagrams sent before giving up
MAX_DATAGRAM = 65535  # receive buffer: larger than any UDP payload


def ask(host, port, message):
    """Send ``message`` (bytes) and return the server's reply; raises OSError."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))  # only the server's datagrams are received
        sock.settimeout(TIMEOUT)
        for _ in range(TRIES):
            sock.send(message)
            try:
                return sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                continue  # the request or the reply was lost: send again
    raise TimeoutError(f"no reply from {host}:{port} after {TRIES} tries "
                       f"({TIMEOUT:g} s each)")


def main():
    if len(sys.argv) != 4:
        print("usage: udp_echo_client.py HOST PORT MESSAGE", file=sys.stderr)
        sys.exit(2)
    host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        reply = ask(host, port, message.encode("utf-8"))
    except ConnectionRefusedError:
        print(f"error: no server at {host}:{port} (port unreachable)", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(reply.decode("utf-8", "replace"))


if __name__ == "__main__":
    main()
