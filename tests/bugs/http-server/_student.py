"""A student's HTTP server, written the way the lab's handout teaches: correct as it stands.

Each known bug in this folder is this server with one function replaced by
the buggy version a student writes (``_student.NAME = buggy`` before
``_student.main()``), so the bug file shows exactly the mistake.

Usage: python BUG.py HOST PORT ROOT
"""
import mimetypes
import os
import socket
import sys
import threading
from urllib.parse import unquote

HOST, PORT, ROOT = sys.argv[1], int(sys.argv[2]), os.path.realpath(sys.argv[3])
MESSAGES = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed"}


def read_request(conn, buf):
    """The next request head (bytes before the blank line), or None when the client closed."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(4096)
        if not data:
            return None
        buf += data
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    return head


def parse(head):
    """(method, target, version, headers); ValueError if malformed."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ")
    if not version.startswith("HTTP/") or not target.startswith("/"):
        raise ValueError("bad request line")
    headers = {}
    for line in lines[1:]:
        if ":" not in line:
            raise ValueError("bad header")
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


def find_file(target):
    """The file's path under ROOT, or None."""
    path = unquote(target.split("?")[0])
    if "\0" in path:
        return None
    full = os.path.realpath(os.path.join(ROOT, path.lstrip("/")))
    if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
        return None
    return full


def content_type(path):
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def head_bytes(status, headers):
    lines = [f"HTTP/1.1 {status} {MESSAGES[status]}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_response(conn, status, body, method="GET", ctype="text/plain", extra=None):
    headers = {"Content-Type": ctype, "Content-Length": len(body), **(extra or {})}
    conn.sendall(head_bytes(status, headers) + (b"" if method == "HEAD" else body))


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def send_file(conn, method, path):
    body = read_file(path)
    send_response(conn, 200, body, method, content_type(path))


def handle(conn, head):
    """Answer one request; False when the connection must close."""
    try:
        method, target, version, headers = parse(head)
    except ValueError:
        send_response(conn, 400, b"bad request\n", extra={"Connection": "close"})
        return False
    if method not in ("GET", "HEAD"):
        send_response(conn, 405, b"method not allowed\n", extra={"Allow": "GET, HEAD"})
    else:
        path = find_file(target)
        if path is None:
            send_response(conn, 404, b"not found\n", method)
        else:
            send_file(conn, method, path)
    return headers.get("connection", "").lower() != "close"


def serve(conn):
    buf = bytearray()
    with conn:
        try:
            while True:
                head = read_request(conn, buf)
                if head is None or not handle(conn, head):
                    break
        except OSError as e:
            print("client error:", e)


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, PORT))
    server.listen(50)
    print(f"serving {ROOT} on {HOST}:{PORT}", flush=True)
    while True:
        conn, addr = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
