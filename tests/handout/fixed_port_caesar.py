"""Written like the handout (docs/labs.md §8): ``localhost:10000`` hard-coded, no SO_REUSEADDR.

An iterative Caesar server as students write it: it reads up to the '.',
answers and closes the connection itself, so every connection ends with
the server's FIN first.  It has one bug: it does not catch
ConnectionResetError, so the reset probes crash it.  Graded with
``--port 10000`` the grader must restart it on that port (leaving no
TIME_WAIT there, which would make the bind fail) and run every later probe;
only ``robustness/client-reset`` and ``robustness/reset-before-reply`` fail,
and five gradings in a row agree.
"""
import socket

HOST = "localhost"
PORT = 10000


def shift(text, k):
    out = bytearray()
    for b in text:
        if 97 <= b <= 122:
            out.append((b - 97 + k) % 26 + 97)
        else:
            out.append(b)
    return bytes(out)


def reply_to(request):
    op, digits, text = request[:1], request[1:3], request[3:]
    if op not in (b"e", b"d") or len(digits) != 2 or not digits.isdigit():
        return b"ERR."
    k = int(digits) if op == b"e" else -int(digits)
    return shift(text, k) + b"."


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind((HOST, PORT))
s.listen(5)
print("listening on", HOST, PORT)
while True:
    conn, addr = s.accept()
    print("connection from", addr)
    data = b""
    while b"." not in data:
        chunk = conn.recv(1024)  # a reset here is not caught: the server dies
        if not chunk:
            break
        data += chunk
    if b"." in data:
        conn.sendall(reply_to(data[: data.index(b".")]))
    conn.close()
