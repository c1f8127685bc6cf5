"""Network namespaces: a server alone on its own loopback, reached by the grader from inside.

Theory of operation: a network namespace (``man 7 network_namespaces``) is a
private copy of the network stack: its own loopback, ports and TIME_WAIT
table.  A local server started in a new one (made with
``unshare(CLONE_NEWNET)``, its loopback brought up) can bind a fixed port
while another copy of the same program binds it in another namespace, finds
nothing left by an earlier program on that port, and reaches nothing but
its own loopback.  The grader makes the namespace (in a throw-away thread:
``unshare`` changes only the calling thread's namespace) and holds it open;
the thread that starts the program enters it for the start
(:meth:`Namespace.entered`), so the program is born in it.  A container's
namespace is the same thing, made by Docker.

The grader reaches such a program by creating its sockets inside the
program's namespace: the calling thread switches to the namespace with
``setns`` (a per-thread attribute), creates the socket and switches back;
the socket stays in the namespace it was created in.  The grader then
connects to ``127.0.0.1`` there, exactly as it does on its own loopback, so a
server bound to ``localhost`` or ``127.0.0.1`` is graded the same locally and
in a container.  ``setns`` into a namespace needs CAP_SYS_ADMIN (root):
:func:`available` says whether this machine allows it.  Linux only.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import os
import socket
import struct
import threading
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = struct.Struct("16sH14x")
#: Set to "0" to keep every local program on the grader's own loopback (the fallback mode).
ENV_SWITCH = "SOCKGRADE_NETNS"

_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args: int) -> None:
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def loopback_up() -> None:
    """Bring up ``lo`` in the calling thread's namespace (a new one starts with it down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        raw = fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0))
        flags = _IFREQ.unpack(raw)[1]
        fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags | _IFF_UP))


def _fresh_fd() -> int:
    """An fd on a new namespace with ``lo`` up, made by a throw-away thread; OSError if refused."""
    box: dict[str, int | OSError] = {}

    def make() -> None:
        try:
            _call("unshare", CLONE_NEWNET)  # this thread only: it ends right after
            loopback_up()
            box["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            box["fd"] = exc

    thread = threading.Thread(target=make, name="netns-create", daemon=True)
    thread.start()
    thread.join(10.0)
    made = box.get("fd", OSError("making a network namespace timed out"))
    if isinstance(made, OSError):
        raise made
    return made


class Namespace:
    """A network namespace held open (an fd on ``/proc/PID/ns/net``) so sockets can be made in it.

    Holding the fd keeps the namespace alive after its processes exit, so a
    socket can still be made (a connect is then refused, as on a dead port).
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    @classmethod
    def of(cls, pid: int) -> Namespace:
        """The namespace process ``pid`` is in; OSError when it cannot be opened."""
        return cls(os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC))

    @classmethod
    def create(cls) -> Namespace:
        """A new, empty namespace with its loopback up; OSError when the kernel refuses."""
        return cls(_fresh_fd())

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """The calling thread inside this namespace for the block, then back in its own.

        A socket made or a process started in the block belongs to this namespace.
        OSError when the namespace cannot be entered; a thread that cannot return to
        its own namespace ends the grader (SystemExit), since it would then reach
        programs only.
        """
        with self._lock:
            if self._fd < 0:
                raise OSError("the program's network namespace was released")
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _call("setns", self._fd, CLONE_NEWNET)
                try:
                    yield
                finally:
                    try:
                        _call("setns", own, CLONE_NEWNET)
                    except OSError as exc:  # a grader thread left in a program's namespace
                        raise SystemExit(f"sockgrade: cannot return to its own network "
                                         f"namespace ({exc})") from None
            finally:
                os.close(own)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM,
               proto: int = 0) -> socket.socket:
        """A new socket that lives in this namespace; OSError when it cannot be made there."""
        with self.entered():
            return socket.socket(family, kind, proto)

    def close(self) -> None:
        """Release the namespace (it ends once no process or socket uses it); idempotent."""
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def available() -> bool:
    """True when local programs can get a namespace of their own that the grader can enter.

    Needs root (CAP_SYS_ADMIN for ``setns``); ``SOCKGRADE_NETNS=0`` turns it off.
    """
    return os.environ.get(ENV_SWITCH, "1") != "0" and _works()


@functools.cache
def _works() -> bool:
    """Tried once per process: a namespace is made, and the grader connects to a listening
    socket inside it."""
    if os.geteuid() != 0:
        return False
    try:
        space = Namespace.create()
    except OSError:
        return False
    try:
        with space.socket() as listener, space.socket() as client:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            client.settimeout(2.0)
            client.connect(listener.getsockname())
        return True
    except OSError:
        return False
    finally:
        space.close()
