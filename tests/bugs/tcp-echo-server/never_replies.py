"""Known bug: accepts and reads, but never sends anything back (a hung server)."""
from _threaded import run


def handle(conn):
    while conn.recv(65536):
        pass
    conn.close()


run(handle)
