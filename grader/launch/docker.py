"""The Docker launcher: each submission runs in a locked-down container of its own.

Theory of operation: one :class:`DockerLauncher` serves a grading run (or a
whole batch); each ``start()`` makes one container, with a network namespace
of its own, on a firewalled internal network (:mod:`grader.launch.sandboxnet`),
so submissions with hard-coded ports grade in parallel, and a submission
reaches the grader and nothing else.  The programs of one grading
(``LaunchSpec.group``: one submission's lanes, restarts and client runs
started for the same grader listeners) share one such network, made with the
first and removed after the last is gone; programs of different gradings
never do, and a program without a group gets a network of its own.

The container runs the image's ``python`` (the launcher's ``python``
attribute replaces the grader's interpreter in the command) as user
65534:65534 with a read-only root file system, all capabilities dropped,
``no-new-privileges``, CPU, memory (no swap) and task-count limits, no core
dumps, IPv6 off and logging off.  The submission folder is copied once per
run into a host staging folder owned by the sandbox user, mounted read-only,
and copied again at start into ``/submission``, a size-capped tmpfs that is
the working directory: the program may write its own folder (as it could
locally) while the original is never written.  ``/tmp`` is a tmpfs too;
grader-owned ``writable`` folders (the runner's ``{scratch}``) are mounted
read-write at their host paths.

Standard input, output and error go over one attach connection opened
before the start (so nothing is lost): stdin stays open until
``close_stdin()`` half-closes it (``write_stdin()`` types into it meanwhile);
a reader thread splits the multiplexed stream into two pipes read by
:class:`CappedCapture` with the local caps.  Both are read to the end,
however much the program prints, so its writes never block (the engine
buffers nothing; the captures keep head and tail).

The grader reaches a server from inside the container's network namespace
(:mod:`grader.launch.netns`): its sockets are made there and connect to the
container's loopback, so a server bound to ``localhost`` is reached, over the
same kind of path as a local one.  A spec with ``prepare`` (a port scanner's
targets) starts held: the container's shell waits for one line on stdin
while the grader makes its listeners in the container's namespace, then
runs the program, which finds them on its own loopback.  The sandbox network carries only what
the program itself sends (client labs, and what the firewall refuses).

Observation uses host PIDs: the container's main process (``State.Pid``)
and its descendants, read from the host's ``/proc`` by
:mod:`grader.launch.base`; ``/proc/PID/net`` there shows the container's own
network namespace.  ``stop()`` kills the program and collects its output
and status at once; removing the container (and, after the last container
on it, the network and its firewall chain) runs in a background thread, off
the grading's critical path.  ``close()`` waits for those removals, so
nothing is left behind on any path; :mod:`grader.launch.leftovers` backs
that up at exit and sweeps what a killed grader left.

Each :class:`DockerProgram` keeps the seconds its launch and teardown took,
by phase, in ``phases`` (see :data:`PHASES`), which a batch records per
submission and ``benchmarks/bench_batch.py`` sets beside the local runner's.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import signal
import socket
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil

from grader.errors import GraderError, LaunchError
from grader.launch import cleanup, leftovers, netns, sandboxnet
from grader.launch.base import DEFAULT_IMAGE, LaunchSpec, Limits, Output
from grader.launch.capture import CappedCapture
from grader.launch.sandboxnet import SHARED_PREFIX, SandboxNetwork, check_firewall

#: The unprivileged user and group every container runs as ("nobody" in Debian images).
SANDBOX_UID = 65534
#: Where the read-only staging copy is mounted, and the working directory.
SOURCE_MOUNT = "/sockgrade/submission"
WORKDIR = "/submission"
#: Largest submission folder copied in, in bytes.
SOURCE_CAP = 64 * 1024 * 1024
#: Seconds the engine gets for one API call.
API_TIMEOUT = 60
#: Pings in a row that must fail before the engine counts as unreachable.
ENGINE_PINGS = 3
#: The container's command: copy the submission into the tmpfs, then become the program.
SETUP = f'cp -R -p {SOURCE_MOUNT}/. {WORKDIR}/ && exec "$@"'
#: The same, held until the grader sends one line on stdin: a ``LaunchSpec.prepare`` runs
#: first, in the container's network namespace, which exists only once the container does.
#: (``read`` in dash takes one byte at a time, so nothing after that line is consumed.)
GATED_SETUP = f'cp -R -p {SOURCE_MOUNT}/. {WORKDIR}/ && read -r _ && exec "$@"'
MIB = 1024 * 1024
#: The phases timed in ``DockerProgram.phases`` (seconds each): ``copy`` the host staging
#: copy (and the fingerprint that finds it made already), ``network`` making and removing the
#: sandbox network and its firewall chain, ``create`` creating the container and attaching
#: to it, ``start`` starting it and entering its network namespace, ``stop`` killing it and
#: collecting its output, ``teardown`` removing it (and its network after the last user) in
#: the background, off the critical path: recorded when done, so a report written sooner
#: may miss it.  (The copy into the container's tmpfs runs in the container before the
#: program, so it counts in the runner's ``ready``.)  ``network`` is charged to the program
#: that made a shared network; the others of its grading only look it up.
PHASES = ("copy", "network", "create", "start", "stop", "teardown")
#: Phases spent off the critical path (a benchmark leaves them out of the overhead).
BACKGROUND_PHASES = frozenset({"teardown"})
#: Seconds ``close()`` waits for the background removals (each API call is bounded too).
RETIRE_BOUND = 2 * API_TIMEOUT
#: What to do when the image is missing (README: air-gapped labs).
IMAGE_ADVICE = ("build a local image with .ci/build-image (no registry needed) and pass "
                "--image sockgrade/debian-python:bookworm, or set [docker] image in the "
                "assignment")


#: What programs must have in common to share a network: their grading (``LaunchSpec.group``)
#: and the grader listeners its firewall lets them reach.
_LeaseKey = tuple[str, tuple[tuple[str, int], ...]]


class _Lease:
    """A sandbox network and how many programs use it (containers not yet removed).

    ``key`` is set while the network takes more programs of its grading;
    ``capacity`` is how many containers its subnet holds.
    """

    def __init__(self, network: SandboxNetwork, key: _LeaseKey | None, token: int) -> None:
        self.network = network
        self.key = key
        self.token = token
        self.users = 1
        self.capacity = ipaddress.IPv4Network(network.subnet).num_addresses - 3


def connect_engine() -> Any:
    """A Docker SDK client for the local engine; GraderError when unreachable or remote."""
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=API_TIMEOUT, max_pool_size=64)
        client.ping()
    except docker.errors.DockerException as exc:
        raise GraderError(f"cannot reach the Docker engine ({exc}); is it running, and may "
                          f"this user use it?") from None
    base = str(client.api.base_url)
    if not base.startswith("http+docker://"):
        client.close()
        raise GraderError(f"the Docker runner needs the local engine (unix socket), not {base}: "
                          f"it firewalls and observes containers from this machine")
    return client


class DockerLauncher:
    """Runs submissions in Docker containers (``--runner docker``, for teachers).

    ``image`` is the image name; ``cpus`` (cores), ``memory`` (bytes) and
    ``pids`` (tasks) override the assignment's limits when given.  Creating a
    launcher first sweeps the leftovers of dead graders.  Raises
    GraderError when the engine is unreachable.
    """

    name = "docker"
    #: Servers are told to bind the container's loopback, and reached there (see DockerProgram).
    bind_host = "127.0.0.1"
    isolated_network = True
    network_mode = ("each server in a container of its own, on a firewalled network shared "
                    "only with its own grading's programs")
    #: The interpreter word of a ``python ...`` command: the image's own.
    python = "python"

    def __init__(
        self,
        *,
        image: str = DEFAULT_IMAGE,
        cpus: float | None = None,
        memory: int | None = None,
        pids: int | None = None,
        client: Any = None,
    ) -> None:
        self.image = image
        self._cpus = cpus
        self._memory = memory
        self._pids = pids
        self._own_client = client is None
        self._client = client if client is not None else connect_engine()
        self.run_id = os.urandom(4).hex()
        self._owner = leftovers.owner_id()
        self._lock = threading.Lock()
        self._anchor: SandboxNetwork | None = None
        self._anchor_token: int | None = None
        self._staged: dict[tuple[Path, str], Path] = {}
        self._staging_root: Path | None = None
        self._staging_token: int | None = None
        self._programs: set[DockerProgram] = set()
        self._shared: dict[_LeaseKey, _Lease] = {}
        self._making: dict[_LeaseKey, threading.Lock] = {}
        self._retiring: set[threading.Thread] = set()
        self._checked = False
        self._closed = False
        cleanup.sweep(self._client)

    @classmethod
    def checked(cls, *, image: str, cpus: float | None = None, memory: int | None = None,
                pids: int | None = None) -> DockerLauncher:
        """A launcher whose engine, image and firewall are checked now, so a missing piece is
        one clear line (GraderError/UsageError) before any grading starts.  ``cpus`` (cores),
        ``memory`` (bytes) and ``pids`` override the assignment's limits when given."""
        launcher = cls(image=image, cpus=cpus, memory=memory, pids=pids)
        try:
            launcher.check()
        except BaseException:
            launcher.close()
            raise
        leftovers.install_signal_handlers()
        return launcher

    # -- readiness of the machine ------------------------------------------

    def check(self) -> None:
        """Make sure the image is here (pulling it if possible) and iptables works.

        Raises GraderError with one line saying what to do.
        """
        if self._checked:
            return
        import docker.errors

        try:
            self._client.images.get(self.image)
        except docker.errors.ImageNotFound:
            from docker.utils import parse_repository_tag

            repo, tag = parse_repository_tag(self.image)
            try:
                self._client.images.pull(repo, tag=tag or "latest")
            except docker.errors.DockerException as exc:
                reason = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:160]
                raise GraderError(f"Docker image {self.image!r} is not on this machine and cannot "
                                  f"be pulled ({reason}): {IMAGE_ADVICE}") from None
        except docker.errors.DockerException as exc:
            raise GraderError(f"cannot inspect Docker image {self.image!r}: {exc}") from None
        check_firewall()
        self._checked = True

    # -- addresses ----------------------------------------------------------

    def _anchor_network(self) -> SandboxNetwork:
        with self._lock:
            if self._anchor is None:
                if self._closed:
                    raise LaunchError("the Docker launcher was closed")
                self._anchor = SandboxNetwork.create(
                    self._client, name=f"sockgrade-{self.run_id}-anchor", labels=self.labels(),
                    firewall=False)
                anchor = self._anchor
                self._anchor_token = leftovers.REGISTRY.add(lambda: anchor.remove(self._client))
            return self._anchor

    @property
    def listen_host(self) -> str:
        """Where the grader's own listeners bind (client labs): the anchor network's gateway."""
        return self._anchor_network().gateway

    @property
    def client_host(self) -> str:
        """The address a client submission is told to connect to (same as ``listen_host``)."""
        return self.listen_host

    def labels(self) -> dict[str, str]:
        """Labels of everything this launcher makes."""
        return {leftovers.LABEL: "1", leftovers.RUN_LABEL: self.run_id,
                leftovers.OWNER_LABEL: self._owner}

    # -- starting -----------------------------------------------------------

    def limits(self, base: Limits) -> Limits:
        """``base`` (the assignment's) with the command line's overrides applied."""
        return replace(
            base,
            cpus=self._cpus if self._cpus is not None else base.cpus,
            memory=self._memory if self._memory is not None else base.memory,
            processes=self._pids if self._pids is not None else base.processes,
        )

    def _stage(self, folder: Path) -> Path:
        """A read-only-mountable copy of ``folder`` owned by the sandbox user.

        Made once per run for each distinct content of the folder (its
        files' names, sizes and modification times).
        """
        folder = folder.resolve()
        key = (folder, fingerprint(folder))
        with self._lock:
            if key in self._staged:
                return self._staged[key]
            if self._staging_root is None:
                self._staging_root = leftovers.staging_folder()
                root = self._staging_root
                self._staging_token = leftovers.REGISTRY.add(lambda: _rmtree(root))
            target = self._staging_root / f"s{len(self._staged)}"
            copy_submission(folder, target)
            self._staged[key] = target
            return target

    def start(self, spec: LaunchSpec) -> DockerProgram:
        """Start ``spec`` in a new container; LaunchError when the machine cannot."""
        if self._closed:
            raise LaunchError("the Docker launcher was closed (interrupted?)")
        try:
            self.check()
            allow: tuple[tuple[str, int], ...] = ()
            if spec.grader_ports:
                allow = tuple((self.listen_host, port) for port in spec.grader_ports)
            staging = time.monotonic()
            source = self._stage(spec.cwd)
            copy = time.monotonic() - staging
        except LaunchError:
            raise
        except GraderError as exc:
            raise LaunchError(str(exc)) from None
        program = DockerProgram(self, spec, source=source, limits=self.limits(spec.limits),
                                allow=allow, copy_seconds=copy)
        with self._lock:
            self._programs.add(program)
            closed = self._closed
        if closed:
            program.stop()
            raise LaunchError("the Docker launcher was closed (interrupted?)")
        return program

    def _forget(self, program: DockerProgram) -> None:
        with self._lock:
            self._programs.discard(program)

    # -- networks -------------------------------------------------------------

    def _acquire(self, group: str | None, allow: tuple[tuple[str, int], ...]) -> _Lease:
        """A network for a program of ``group`` allowed to reach ``allow``: its grading's
        shared one while it has room, else a new one (shared when ``group`` is set)."""
        key = None if group is None else (group, allow)
        if key is None:
            return self._new_lease(None, allow)
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:  # lanes starting at once wait for the first one's network
            with self._lock:
                lease = self._shared.get(key)
                if lease is not None and lease.users < lease.capacity:
                    lease.users += 1
                    return lease
            return self._new_lease(key, allow)

    def _new_lease(self, key: _LeaseKey | None, allow: tuple[tuple[str, int], ...]) -> _Lease:
        """A new network whose firewall lets its programs reach ``allow`` (shared by ``key``'s
        programs when set, in place of a full one), used by one program."""
        network = SandboxNetwork.create(
            self._client, name=f"sockgrade-{self.run_id}-{os.urandom(3).hex()}",
            labels=self.labels(), allow=allow,
            prefix=SHARED_PREFIX if key is not None else sandboxnet.SUBNET_PREFIX)
        client = self._client
        lease = _Lease(network, None, leftovers.REGISTRY.add(lambda: network.remove(client)))
        if key is not None:
            with self._lock:
                lease.key = key
                self._shared[key] = lease
        return lease

    def _release(self, lease: _Lease) -> None:
        """One program of ``lease`` is gone (its container removed): remove the network and its
        firewall chain after the last."""
        with self._lock:
            lease.users -= 1
            if lease.users > 0:
                return
            if lease.key is not None and self._shared.get(lease.key) is lease:
                del self._shared[lease.key]
                self._making.pop(lease.key, None)
            lease.key = None
        lease.network.remove(self._client)
        leftovers.REGISTRY.discard(lease.token)

    def _retire(self, program: DockerProgram) -> None:
        """Remove ``program``'s container (and network after its last user) in a background
        thread; at once when the launcher is closing."""
        def run() -> None:
            try:
                program._remove()
            except Exception:  # left registered: the exit backstop and the sweep remove it
                pass
            finally:
                with self._lock:
                    self._retiring.discard(threading.current_thread())

        thread = threading.Thread(target=run, name="docker-teardown", daemon=True)
        with self._lock:
            background = not self._closed
            if background:
                self._retiring.add(thread)
        if background:
            thread.start()
        else:
            program._remove()

    def settle(self, timeout: float = RETIRE_BOUND) -> None:
        """Wait up to ``timeout`` seconds for the background removals started so far."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._retiring)
            if not threads:
                return
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return

    def close(self) -> None:
        """Stop every program still running, wait for the removals, remove the anchor network
        and staging copies."""
        with self._lock:
            self._closed = True
            programs = list(self._programs)
        for program in programs:
            program.stop()
        self.settle()
        with self._lock:
            leases = list(self._shared.values())
            self._shared.clear()
        for lease in leases:  # only after a removal that outlived RETIRE_BOUND (the exit
            lease.network.remove(self._client)  # backstop tries again)
        with self._lock:
            anchor, self._anchor = self._anchor, None
            root, self._staging_root = self._staging_root, None
            self._staged.clear()
        if anchor is not None:
            anchor.remove(self._client)
            leftovers.REGISTRY.discard(self._anchor_token)
        if root is not None:
            _rmtree(root)
            leftovers.REGISTRY.discard(self._staging_token)
        if self._own_client:
            with contextlib.suppress(Exception):
                self._client.close()

    def engine_problem(self) -> str | None:
        """None while the engine answers a ping; else why not, in one line (a batch turns the
        submissions it could not grade into error rows, never failures).

        The engine is declared gone only when :data:`ENGINE_PINGS` pings in a row, about a
        second apart, all fail: one refused or cut connection on a loaded machine is not an
        outage, and it would cost the rest of a class their grading.
        """
        why = ""
        for attempt in range(ENGINE_PINGS):
            if attempt:
                time.sleep(1.0)  # a pause between independent pings, not a synchronisation
            try:
                self._client.ping()
                return None
            except Exception as exc:  # requests' connection errors are not DockerExceptions
                why = " ".join(str(exc).split())[:160]
        where = os.environ.get("DOCKER_HOST") or str(self._client.api.base_url)
        return f"the Docker engine ({where}) became unreachable: {why}"

    # For DockerProgram and the tests.
    @property
    def client(self) -> Any:
        """The Docker SDK client."""
        return self._client


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


#: Folder names never copied into a container.
SKIPPED = frozenset({".git", "__pycache__"})


def _entries(source: Path) -> list[tuple[str, os.stat_result]]:
    """(relative path, lstat) of what would be copied; LaunchError past SOURCE_CAP."""
    found = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                info = os.lstat(path)
                found.append((os.path.relpath(path, source), info))
                total += info.st_size
        if total > SOURCE_CAP:
            raise LaunchError(f"the submission folder {source} holds more than "
                              f"{SOURCE_CAP // MIB} MiB: too large to copy into a container")
    return found


def fingerprint(source: Path) -> str:
    """A digest of the names, sizes and modification times of the files under ``source``."""
    import hashlib

    sha = hashlib.sha256()
    for rel, info in _entries(source):
        sha.update(f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_mode}\n".encode())
    return sha.hexdigest()


def copy_submission(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, owned and readable by the sandbox user.

    Symlinks stay links (they resolve inside the container); ``.git``,
    ``__pycache__`` and anything that is not a regular file, folder or
    symlink (a FIFO would block the copy) are left out.  LaunchError when
    the folder holds more than SOURCE_CAP bytes.
    """
    import shutil
    import stat

    _entries(source)  # the size check

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            try:
                mode = os.lstat(os.path.join(folder, name)).st_mode
            except OSError:
                skipped.add(name)
                continue
            kept = stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)
            if not kept or (name in SKIPPED and stat.S_ISDIR(mode)):
                skipped.add(name)
        return skipped

    shutil.copytree(source, target, symlinks=True, ignore=ignore)
    give_to_sandbox(target)


def give_to_sandbox(path: Path) -> None:
    """Make ``path`` and everything under it owned, readable and writable by the sandbox user."""
    def fix(item: str, is_dir: bool) -> None:
        with contextlib.suppress(OSError):
            os.lchown(item, SANDBOX_UID, SANDBOX_UID)
            if not os.path.islink(item):
                mode = os.lstat(item).st_mode
                os.chmod(item, mode | (0o700 if is_dir else 0o600))

    fix(str(path), True)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames:
            fix(os.path.join(dirpath, name), True)
        for name in filenames:
            fix(os.path.join(dirpath, name), False)


class _Demux(threading.Thread):
    """Splits the attach stream (8-byte frame headers) into stdout and stderr pipes."""

    def __init__(self, sock: socket.socket, out_fd: int, err_fd: int) -> None:
        super().__init__(name="docker-demux", daemon=True)
        self._sock = sock
        self._fds = {1: out_fd, 2: err_fd}

    def _recv_exactly(self, size: int) -> bytes | None:
        chunks = []
        while size:
            chunk = self._sock.recv(min(size, 65536))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def run(self) -> None:
        try:
            while True:
                header = self._recv_exactly(8)
                if header is None:
                    break
                stream, size = header[0], struct.unpack(">I", header[4:])[0]
                while size:
                    chunk = self._sock.recv(min(size, 65536))
                    if not chunk:
                        return
                    size -= len(chunk)
                    fd = self._fds.get(stream)
                    if fd is None:
                        continue
                    data = memoryview(chunk)
                    while data:
                        data = data[os.write(fd, data):]
        except OSError:
            pass
        finally:
            for fd in self._fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)


class DockerProgram:
    """A submission running in a container; see :class:`grader.launch.base.Program`.

    ``phases`` maps each phase of :data:`PHASES` to the seconds it took so
    far (``copy_seconds``: the launcher's staging copy for this start).
    """

    def __init__(self, launcher: DockerLauncher, spec: LaunchSpec, *, source: Path,
                 limits: Limits, allow: tuple[tuple[str, int], ...],
                 copy_seconds: float = 0.0) -> None:
        self.phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.phases["copy"] = copy_seconds
        self._launcher = launcher
        self._api = launcher.client.api
        self._limits = limits
        self._lock = threading.Lock()
        self._stdin_lock = threading.Lock()  # one write_stdin() at a time on the attach socket
        self._stopped = False
        self._status: int | None = None
        self._oom = False
        self._network: SandboxNetwork | None = None
        self._lease: _Lease | None = None
        self._container: str | None = None
        self._sock: socket.socket | None = None
        self._response: Any = None
        self._demux: _Demux | None = None
        self._out: CappedCapture | None = None
        self._err: CappedCapture | None = None
        self._started = False
        self._pid = 0
        self._proc: psutil.Process | None = None
        self.ip = ""
        self._namespace: netns.Namespace | None = None
        self.description = "container (starting)"
        self._token = leftovers.REGISTRY.add(self._teardown)
        try:
            self._start(spec, source, allow)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, LaunchError):
                raise
            if isinstance(exc, GraderError):
                raise LaunchError(str(exc)) from None
            import docker.errors

            if isinstance(exc, docker.errors.DockerException):
                text = str(getattr(exc, "explanation", None) or exc)
                raise LaunchError(f"the Docker engine could not start the program: {text}") from None
            raise

    # -- start ----------------------------------------------------------------

    def _start(self, spec: LaunchSpec, source: Path, allow: tuple[tuple[str, int], ...]) -> None:
        import docker.types

        launcher = self._launcher
        labels = launcher.labels()
        mark = time.monotonic()
        self._lease = launcher._acquire(spec.group, allow)
        self._network = self._lease.network
        mark = self._phase("network", mark)
        limits = self._limits
        mounts = [docker.types.Mount(SOURCE_MOUNT, str(source), type="bind", read_only=True)]
        for folder in spec.writable:
            give_to_sandbox(folder)
            mounts.append(docker.types.Mount(str(folder), str(folder), type="bind",
                                             read_only=False))
        tmpfs_size = max(16 * MIB, limits.memory)
        host_config = self._api.create_host_config(
            network_mode=self._network.name,
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=limits.processes,
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9),
            ulimits=[
                docker.types.Ulimit(name="core", soft=0, hard=0),
                docker.types.Ulimit(name="fsize", soft=limits.file_size, hard=limits.file_size),
                docker.types.Ulimit(name="cpu", soft=limits.cpu_seconds, hard=limits.cpu_seconds),
            ],
            tmpfs={
                "/tmp": f"rw,nosuid,nodev,size={tmpfs_size},mode=1777",
                WORKDIR: (f"rw,exec,nosuid,nodev,size={tmpfs_size},uid={SANDBOX_UID},"
                          f"gid={SANDBOX_UID},mode=0755"),
            },
            mounts=mounts,
            sysctls={"net.ipv6.conf.all.disable_ipv6": "1",
                     "net.ipv6.conf.default.disable_ipv6": "1"},
            log_config=docker.types.LogConfig(type="none"),
            oom_score_adj=1000,
        )
        env = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp",
               **spec.env}
        created = self._api.create_container(
            launcher.image,
            ["/bin/sh", "-c", SETUP if spec.prepare is None else GATED_SETUP, "sockgrade",
             *spec.argv],
            user=f"{SANDBOX_UID}:{SANDBOX_UID}", working_dir=WORKDIR, environment=env,
            labels=labels, host_config=host_config, stdin_open=True, detach=False, tty=False,
            hostname="submission",
            networking_config=self._api.create_networking_config(
                {self._network.name: self._api.create_endpoint_config()}),
        )
        self._container = created["Id"]
        self.description = f"container {self._container[:12]}"
        # Attach before starting, so not a byte of early output is lost.
        wrapped = self._api.attach_socket(
            self._container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        self._response = wrapped
        self._sock = wrapped._sock
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self._out = CappedCapture(os.fdopen(out_r, "rb", buffering=0), cap=limits.output)
        self._err = CappedCapture(os.fdopen(err_r, "rb", buffering=0), cap=limits.output)
        self._demux = _Demux(self._sock, out_w, err_w)
        self._demux.start()
        mark = self._phase("create", mark)
        self._api.start(self._container)
        self._started = True
        info = self._api.inspect_container(self._container)
        self._pid = int(info["State"].get("Pid") or 0)
        if self._pid:
            with contextlib.suppress(psutil.Error):
                self._proc = psutil.Process(self._pid)
        self.ip = info["NetworkSettings"]["Networks"][self._network.name]["IPAddress"]
        self.description = f"container {self._container[:12]} ({self.ip})"
        if self._pid:
            with contextlib.suppress(OSError):  # it may have exited already: no server to reach
                self._namespace = netns.Namespace.of(self._pid)
        self._phase("start", mark)
        if spec.prepare is not None:  # the shell waits on stdin (GATED_SETUP) meanwhile
            if self._namespace is None:
                raise LaunchError("the container exited before its network could be prepared")
            spec.prepare(self._namespace.socket)
            self._sock.sendall(b"\n")

    def _phase(self, phase: str, since: float) -> float:
        """Add the seconds since ``since`` (monotonic) to ``phase``; now."""
        now = time.monotonic()
        self.phases[phase] += now - since
        return now

    # -- Program protocol ---------------------------------------------------------

    def address(self, port: int) -> tuple[str, int]:
        """The container's loopback: the grader's sockets are made in its network namespace.

        So a server bound to ``localhost`` is reached as it is locally, over the
        same kind of path (loopback), and gets the same verdicts.
        """
        return ("127.0.0.1", port)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM,
               proto: int = 0) -> socket.socket:
        """A socket in the container's network namespace; OSError when it cannot be made."""
        if self._namespace is None:
            raise OSError("the container exited before its network could be entered")
        return self._namespace.socket(family, kind, proto)

    def _main_alive(self) -> bool:
        proc = self._proc
        if proc is None:
            return False
        try:
            return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def _collect(self) -> int:
        """The exit status, once the main process is gone (waits for the engine to know it)."""
        with self._lock:
            if self._status is not None:
                return self._status
            code = -1
            if self._container is not None:
                import docker.errors

                try:
                    code = int(self._api.wait(self._container, timeout=30)["StatusCode"])
                    state = self._api.inspect_container(self._container)["State"]
                    self._oom = bool(state.get("OOMKilled"))
                except (docker.errors.DockerException, OSError, KeyError, ValueError):
                    pass
            if self._demux is not None:
                self._demux.join(1.0)
            for capture in (self._out, self._err):
                if capture is not None:
                    capture.join(1.0)
            self._status = code
            return code

    def poll(self) -> int | None:
        """The container's exit status once its main process ended, else None."""
        if self._status is not None:
            return self._status
        if self._main_alive():
            return None
        return self._collect()

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the main process to end; its status or None."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            status = self.poll()
            if status is not None:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(0.01, left))  # polls the real condition; the deadline bounds it

    def pids(self) -> list[int]:
        """Host PIDs: the container's main process and all its descendants."""
        if not self._main_alive() or self._proc is None:
            return []
        try:
            return [self._pid, *(c.pid for c in self._proc.children(recursive=True))]
        except psutil.Error:
            return []

    def output(self) -> Output:
        """Capped stdout and stderr so far (stderr ends with a note after an OOM kill)."""
        if self._out is None or self._err is None:
            return Output(stdout=b"", stderr=b"", stdout_total=0, stderr_total=0)
        if self.poll() is not None:  # exited: let the readers reach EOF (a crash's traceback)
            if self._demux is not None:
                self._demux.join(0.5)
            self._out.join(0.5)
            self._err.join(0.5)
        stderr = self._err.data()
        if self._oom:
            stderr += (f"\n[sockgrade] killed at the container's memory limit "
                       f"({self._limits.memory // MIB} MiB): out of memory, as a MemoryError "
                       f"would say\n").encode()
        return Output(stdout=self._out.data(), stderr=stderr,
                      stdout_total=self._out.total, stderr_total=self._err.total)

    def write_stdin(self, data: bytes, *, deadline: float) -> int:
        """Send ``data`` over the attach connection (the engine copies it to the program's
        stdin) before ``deadline``; the bytes it took.

        The socket is shared with the reader thread, so it stays blocking and
        each send waits for room with ``select`` first (MSG_DONTWAIT); a closed
        or half-closed connection ends the write early.
        """
        sock = self._sock
        if sock is None:
            return 0
        view = memoryview(data)
        sent = 0
        with self._stdin_lock:
            while sent < len(data):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    _, ready, _ = select.select([], [sock], [], min(left, 0.1))
                    if ready:
                        sent += sock.send(view[sent:], socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                except (OSError, ValueError):  # shut down, closed, or the container is gone
                    break
        return sent

    def close_stdin(self) -> None:
        """Half-close the attach connection: the program reads EOF on stdin."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        """Kill the program and collect its output and status; idempotent.

        The container, then (after its last user) the network and its
        firewall chain, are removed in the background; the launcher's
        ``close()`` waits for that.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self._halt()
        finally:
            self._launcher._forget(self)
            self._launcher._retire(self)

    def _teardown(self) -> None:
        """Everything ``stop()`` does and what it leaves to the background, at once (the exit
        backstop)."""
        self._halt()
        self._remove()

    def _halt(self) -> None:
        """Kill the container's processes, let the output reach its end, close the sockets."""
        import docker.errors

        mark = time.monotonic()
        if self._container is not None and self._started and self._status is None:
            if self._main_alive() and self._proc is not None:
                # SIGKILL to the container's PID 1 from the host ends its whole PID namespace
                # at once; the engine then ends the attach stream.  Like a local program's,
                # the status is then "killed by SIGKILL".
                with contextlib.suppress(psutil.Error):
                    self._proc.kill()
                with self._lock:
                    if self._status is None:
                        self._status = -signal.SIGKILL
            else:
                with contextlib.suppress(docker.errors.DockerException, OSError):
                    self._api.kill(self._container)
                self._collect()
        if self._demux is not None:
            self._demux.join(1.0)  # the engine ends the stream once the container has exited
        self._close_socket()
        if self._namespace is not None:
            self._namespace.close()
        for capture in (self._out, self._err):
            if capture is not None:
                capture.join(1.0)
        self._phase("stop", mark)

    def _remove(self) -> None:
        """Remove the container, then give its network back (removed after its last user).

        Safe to run again, and at the same time (the exit backstop while a
        background removal is under way): a container already gone is fine,
        and the network is given back once.
        """
        import docker.errors

        mark = time.monotonic()
        try:
            if self._container is not None:
                for _ in range(20):
                    try:
                        self._api.remove_container(self._container, force=True, v=True)
                        break
                    except docker.errors.NotFound:
                        break
                    except docker.errors.APIError as exc:
                        if "in progress" not in str(exc):
                            break
                        time.sleep(0.05)  # retry a real condition: the engine's own removal
                    except OSError:  # the engine is unreachable: 'sockgrade cleanup' removes it
                        break
            if self._demux is not None:
                self._demux.join(1.0)
            self._close_socket()
            with self._lock:
                lease, self._lease = self._lease, None
            if lease is not None:
                self._launcher._release(lease)
        finally:
            self._phase("teardown", mark)
        # Only now: interrupted half-way, the exit-time backstop runs the teardown again.
        leftovers.REGISTRY.discard(self._token)

    def _close_socket(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self._sock.close()
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()
