"""Reference HTTP/1.1 static file server (lab 11 of the sockgrade lab catalogue).

Usage: python http_server.py HOST PORT ROOT

Serves the files under ROOT with GET and HEAD.  Four lessons live here:
- TCP is a byte stream: a request ends at the blank line (CRLF CRLF), not at
  the end of a recv().  Bytes are kept in a buffer; a request may arrive one
  byte at a time, and several requests may arrive in one recv() (pipelining).
- Every response says how long its body is (Content-Length), so the client
  knows where it ends and the connection can carry the next request
  (HTTP/1.1 keep-alive).  'Connection: close' from the client, or an
  HTTP/1.0 request, ends the connection after the response.
- A path from the network is untrusted: it is percent-decoded, then resolved
  (os.path.realpath) and served only if it is still inside ROOT.
- A file is sent in chunks with sendall(), which loops until every byte is
  handed to the kernel (send() may take only part of them).
Each client gets its own thread.  Standard library only.
"""

import contextlib
import mimetypes
import os
import socket
import sys
import threading
from email.utils import formatdate
from urllib.parse import unquote_to_bytes

MAX_HEAD = 16 * 1024          # bytes of request line + headers we accept
CHUNK = 64 * 1024
ALLOWED = ("GET", "HEAD")
KNOWN = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE")
TOKEN = set(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           431: "Request Header Fields Too Large", 501: "Not Implemented"}


class BadRequest(Exception):
    """The request cannot be parsed; answer 400 (or the status given) and close."""

    def __init__(self, why, status=400):
        super().__init__(why)
        self.status = status


class Request:
    """One parsed request: method, target path (decoded later), version, headers (lower-case names)."""

    def __init__(self, method, target, version, headers):
        self.method, self.target, self.version, self.headers = method, target, version, headers

    def wants_close(self):
        tokens = [t.strip().lower() for t in self.headers.get("connection", "").split(",")]
        if self.version == "HTTP/1.0":
            return "keep-alive" not in tokens
        return "close" in tokens


def parse_head(head):
    """Parse the request line and header lines (bytes, without the blank line); BadRequest if malformed."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0] or not set(parts[0]) <= TOKEN:
        raise BadRequest("malformed request line")
    method, target, version = (p.decode("latin-1") for p in parts)
    if version not in ("HTTP/1.0", "HTTP/1.1") or not target.startswith("/"):
        raise BadRequest("malformed request line")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or not set(name) <= TOKEN:
            raise BadRequest("malformed header line")
        key = name.decode("latin-1").lower()
        value = value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return Request(method, target, version, headers)


def resolve(root, target):
    """The real path of the file that 'target' names inside 'root', or None (outside, or not a file)."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    raw = unquote_to_bytes(path)           # '%2e%2e' becomes '..', '%20' a space
    if b"\0" in raw:
        return None
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    candidate = os.path.realpath(os.path.join(root, name.lstrip("/")))
    if os.path.commonpath([root, candidate]) != root or not os.path.isfile(candidate):
        return None
    return candidate


def header_block(status, headers):
    lines = [f"HTTP/1.1 {status} {REASONS[status]}", f"Date: {formatdate(usegmt=True)}",
             "Server: reference-http", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_error(conn, status, *, head_only=False, close=False, extra=()):
    body = f"{status} {REASONS[status]}\n".encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
               *extra]
    if close:
        headers.append(("Connection", "close"))
    conn.sendall(header_block(status, headers) + (b"" if head_only else body))


def send_file(conn, request, path, close):
    """Send 200 with the file's headers, and its bytes unless the method is HEAD."""
    kind, encoding = mimetypes.guess_type(path)
    if kind is None or encoding is not None:
        kind = "application/octet-stream"
    with open(path, "rb") as handle:        # binary: the file is bytes, never text
        size = os.fstat(handle.fileno()).st_size
        headers = [("Content-Type", kind), ("Content-Length", str(size))]
        if close:
            headers.append(("Connection", "close"))
        conn.sendall(header_block(200, headers))
        if request.method == "HEAD":
            return                           # HEAD: the same headers, never a body
        while chunk := handle.read(CHUNK):
            conn.sendall(chunk)


def read_head(conn, buffer):
    """The next request's head (bytes before CRLF CRLF) from 'buffer' + the socket; None at EOF."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buffer[:end])
            del buffer[:end + 4]
            return head
        if len(buffer) > MAX_HEAD:
            raise BadRequest("request head too large", 431)
        chunk = conn.recv(CHUNK)
        if not chunk:
            if buffer.strip():
                raise BadRequest("request cut short")
            return None
        buffer += chunk


def discard_body(conn, buffer, request):
    """Skip a request body (POST, PUT...) so the next request starts at the right byte."""
    if "transfer-encoding" in request.headers:
        raise BadRequest("chunked request bodies are not supported")
    try:
        length = int(request.headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest("bad Content-Length") from None
    if length < 0:
        raise BadRequest("bad Content-Length")
    while len(buffer) < length:
        chunk = conn.recv(CHUNK)
        if not chunk:
            raise BadRequest("request body cut short")
        buffer += chunk
    del buffer[:length]


def serve_client(conn, address, root):
    """Answer requests on one connection until the client closes or asks to close."""
    buffer = bytearray()
    with conn:
        try:
            while True:
                try:
                    head = read_head(conn, buffer)
                    if head is None:
                        return                   # the client closed: done
                    request = parse_head(head)
                    discard_body(conn, buffer, request)
                except BadRequest as why:
                    print(f"client {address}: {why}", file=sys.stderr)
                    send_error(conn, why.status, close=True)
                    return
                close = request.wants_close()
                if request.method not in ALLOWED:
                    status = 405 if request.method in KNOWN else 501
                    allow = (("Allow", ", ".join(ALLOWED)),) if status == 405 else ()
                    send_error(conn, status, close=close, extra=allow)
                else:
                    path = resolve(root, request.target)
                    if path is None:
                        send_error(conn, 404, head_only=request.method == "HEAD", close=close)
                    else:
                        send_file(conn, request, path, close)
                print(f"client {address}: {request.method} {request.target}", flush=True)
                if close:
                    return
        except OSError as exc:                   # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)


def main():
    if len(sys.argv) != 4:
        print("usage: http_server.py HOST PORT ROOT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    root = os.path.realpath(sys.argv[3])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"http server on {host}:{port}, serving {root}", flush=True)
        while True:
            conn, address = server.accept()
            threading.Thread(target=serve_client, args=(conn, address, root), daemon=True).start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
