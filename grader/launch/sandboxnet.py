"""Sandbox networks for the Docker launcher: internal, firewalled bridges, never shared
between submissions.

Theory of operation: the grader must reach the submission, and the
submission must reach nothing else.  Each grading gets networks of its own
(the programs of one grading of one submission, its lanes and restarts, may
share one; a program started outside a grading gets one to itself): a
Docker ``--internal`` bridge (Docker drops traffic that would leave its
subnet, so there is no route off the machine) on a small subnet (``/29``
for one container, ``/28`` for a grading's) that holds only the host's
gateway address and that grading's containers (so there is no other
submission's container to reach).  That leaves one hole, measured on
Docker 20.10: a packet from the container to *any address of the host* (the
bridge gateway, docker0, eth0) is local delivery, not forwarding, so host
services listening on all addresses answer.  A per-network iptables chain
``SOCKGRADE-<hex>``, jumped to from INPUT and FORWARD for packets arriving
on the bridge ``sg<hex>``, closes it:

1. ``ESTABLISHED,RELATED`` is accepted: replies on connections the grader
   opened to the container (host to container is never filtered);
2. new TCP/UDP to the grader's own listeners, exactly the ``(address,
   port)`` pairs the program was started for (client labs), is accepted;
3. everything else is rejected (TCP reset, or ICMP port unreachable), so a
   connection attempt fails at once with "connection refused" instead of
   hanging.

The grader's listeners for client labs bind the gateway address of an
*anchor* network: an internal bridge with no container on it, made once per
launcher, so the address is known before any client container exists and
is not reachable from other networks except through rule 2.

Both the chain and its jump rules are installed before the container starts
and removed after it is gone.  IPv6 is switched off inside the containers
(see :mod:`grader.launch.docker`), so no IPv6 rules are needed.  Subnets come
from ``SOCKGRADE_DOCKER_POOL`` (default ``198.18.0.0/15``, the RFC 2544
benchmarking range), skipping any that overlap a host route; Docker itself
refuses one that overlaps another network, and the next is tried.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from grader.errors import GraderError
from grader.launch.leftovers import BRIDGE_LABEL, OWNER_LABEL, owner_alive

#: Environment variable naming the address pool sandbox subnets are cut from.
POOL_ENV = "SOCKGRADE_DOCKER_POOL"
DEFAULT_POOL = "198.18.0.0/15"
#: Prefix length of one sandbox subnet: gateway, one container, spare addresses.
SUBNET_PREFIX = 29
#: Prefix length of a subnet shared by one grading's programs: gateway and up to 13.
SHARED_PREFIX = 28
CHAIN_PREFIX = "SOCKGRADE-"
BRIDGE_PREFIX = "sg"
COMMENT = "sockgrade"
#: Subnets tried before giving up (each failure is an overlap with something else).
ATTEMPTS = 64

#: Environment variable naming the owner (:func:`~grader.launch.leftovers.owner_id`) on every
#: iptables command run for a chain, so that a sweep can find the commands a killed grader left
#: running (:func:`stop_orphaned_commands`).
OWNER_VAR = "SOCKGRADE_FIREWALL_OWNER"
#: Seconds a sweep waits for a killed grader's iptables commands to end once it has killed them.
ORPHAN_WAIT = 5.0
#: Times a sweep lists the rules again and retries a chain that would not go (a rule that
#: landed after the listing, or a transaction of another process's in the way).
SWEEP_PASSES = 3

_IPTABLES_LOCK = threading.Lock()


class FirewallError(GraderError):
    """iptables is missing or refused (the Docker runner needs root or CAP_NET_ADMIN)."""

    kind = "grader error"


def _iptables_path() -> str:
    for candidate in (shutil.which("iptables"), "/usr/sbin/iptables", "/sbin/iptables"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FirewallError("the Docker runner needs iptables to firewall its sandbox networks, "
                        "and no iptables command was found")


def iptables(*args: str, check: bool = True,
             owner: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``iptables -w ARGS`` (filter table); FirewallError when ``check`` and it fails.

    ``owner`` (a command that changes an owner's chain) goes into the command's environment
    as :data:`OWNER_VAR`.
    """
    env = None if owner is None else {**os.environ, OWNER_VAR: owner}
    with _IPTABLES_LOCK:
        done = subprocess.run([_iptables_path(), "-w", *args], capture_output=True, text=True,
                              check=False, env=env)
    if check and done.returncode != 0:
        message = done.stderr.strip().splitlines()
        detail = next((m for m in message if "Warning" not in m), "failed")
        raise FirewallError(f"iptables {' '.join(args)}: {detail} (the Docker runner firewalls "
                            f"each sandbox and must run as root)")
    return done


def check_firewall() -> None:
    """Raise FirewallError unless this process may use iptables (reading needs CAP_NET_ADMIN)."""
    iptables("-S", "INPUT")


def comment(owner: str) -> str:
    """The comment on sockgrade's rules: ``sockgrade:<owner label>`` (who may remove them)."""
    return f"{COMMENT}:{owner}"


def _jump(hook: str, bridge: str, chain: str, note: str) -> list[str]:
    return [hook, "-i", bridge, "-m", "comment", "--comment", note, "-j", chain]


def install_chain(bridge: str, chain: str, allow: Sequence[tuple[str, int]], *,
                  owner: str) -> None:
    """Create ``chain`` (rules 1-3 of the module docstring) and jump to it from the bridge.

    Every jump, and the chain's first rule, carry :func:`comment` ``(owner)``.
    """
    note = comment(owner)
    iptables("-N", chain, owner=owner)
    try:
        iptables("-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED",
                 "-m", "comment", "--comment", note, "-j", "ACCEPT", owner=owner)
        for host, port in allow:
            for proto in ("tcp", "udp"):
                iptables("-A", chain, "-d", host, "-p", proto, "--dport", str(port),
                         "-j", "ACCEPT", owner=owner)
        iptables("-A", chain, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset",
                 owner=owner)
        iptables("-A", chain, "-j", "REJECT", "--reject-with", "icmp-port-unreachable",
                 owner=owner)
        for hook in ("INPUT", "FORWARD"):
            spec = _jump(hook, bridge, chain, note)
            iptables("-I", spec[0], "1", *spec[1:], owner=owner)
    except GraderError:
        remove_chain(bridge, chain, owner=owner)
        raise


def remove_chain(bridge: str, chain: str, *, owner: str) -> None:
    """Delete the jumps to ``chain`` and the chain itself; missing pieces are fine."""
    for hook in ("INPUT", "FORWARD"):
        while iptables("-D", *_jump(hook, bridge, chain, comment(owner)),
                       check=False, owner=owner).returncode == 0:
            pass
    iptables("-F", chain, check=False, owner=owner)
    iptables("-X", chain, check=False, owner=owner)


def _rules() -> list[list[str]]:
    """The filter table's rules, ``iptables -S``, each split into its words."""
    return [shlex.split(line) for line in iptables("-S").stdout.splitlines()]


def chain_owners(listing: list[list[str]] | None = None) -> dict[str, str | None]:
    """Every ``SOCKGRADE-*`` chain of the filter table and the owner in its rules' comment;
    ``listing``: the rules already listed (:func:`_rules`), else they are listed now."""
    if listing is None:
        listing = _rules()
    owners: dict[str, str | None] = {
        words[1]: None for words in listing
        if len(words) >= 2 and words[0] == "-N" and words[1].startswith(CHAIN_PREFIX)}
    for words in listing:
        if words[:1] != ["-A"] or "--comment" not in words[:-1]:
            continue
        note = words[words.index("--comment") + 1]
        if note.startswith(f"{COMMENT}:"):
            for name in (words[1], words[-1]):  # a rule in the chain, or a jump to it
                if name in owners:
                    owners[name] = note[len(COMMENT) + 1:]
    return owners


def remove_stale_chains(*, keep: set[str], everything: bool = False) -> tuple[int, list[str]]:
    """Remove the ``SOCKGRADE-*`` chains (and jumps to them) of dead owners.

    A chain stays when its bridge is in ``keep`` (a live network) or its
    owner process is alive, or, while no rule of it names an owner yet (a
    grader is installing it), its bridge still exists; unless ``everything``.  Returns (chains removed,
    problems).  Without iptables permission there is nothing this process
    could have installed: (0, [reason]).  Before the first removal the iptables
    commands that dead owners left running are killed
    (:func:`stop_orphaned_commands`) and the rules listed again; a chain that
    still will not go is retried on a fresh listing, :data:`SWEEP_PASSES` in all.
    """
    def stale(chain: str, owner: str | None) -> bool:
        bridge = BRIDGE_PREFIX + chain[len(CHAIN_PREFIX):]
        if everything:
            return True
        if bridge in keep:
            return False
        if owner is not None:
            return not owner_alive(owner)
        # no rule yet names its owner: a grader is installing it now, unless its network
        # (made first, the bridge with it) is gone; ``keep`` was listed before it may have been
        return not Path("/sys/class/net", bridge).exists()

    removed = 0
    stopped = False
    for _ in range(SWEEP_PASSES):
        try:
            listing = _rules()
            chains = [chain for chain, owner in chain_owners(listing).items()
                      if stale(chain, owner)]
        except GraderError as exc:
            return removed, [str(exc)]
        if chains and not stopped:
            # a grader killed mid-command leaves that command running; stopped first, so that
            # no rule of it lands after this listing (the listing is taken again)
            stopped = True
            if stop_orphaned_commands(everything=everything):
                continue
        left = []
        for chain in chains:
            for words in listing:
                if words[:1] == ["-A"] and words[-2:] == ["-j", chain]:
                    iptables("-D", *words[1:], check=False)
            iptables("-F", chain, check=False)
            if iptables("-X", chain, check=False).returncode == 0:
                removed += 1
            else:
                left.append(chain)
        if not left:
            break
    return removed, []


def stop_orphaned_commands(*, everything: bool = False, wait: float = ORPHAN_WAIT) -> int:
    """Kill the iptables commands still running for a dead owner (all owners with
    ``everything``), found by :data:`OWNER_VAR` in their environment, and wait up to
    ``wait`` seconds for them to end.  Returns how many were killed.

    A grader killed outright leaves its last iptables command running, and that command
    may add a rule or a jump after a sweep has listed the rules, so the chain would stay.
    Killing an iptables command is safe: it commits its change whole or not at all.  Only
    processes this one may read the environment of are seen (root sees all).
    """
    killed = []
    for proc in psutil.process_iter():
        try:
            owner = proc.environ().get(OWNER_VAR)
            if owner is not None and (everything or not owner_alive(owner)):
                proc.kill()
                killed.append(proc)
        except psutil.Error:
            continue
    psutil.wait_procs(killed, timeout=wait)
    return len(killed)


def _host_networks() -> list[ipaddress.IPv4Network]:
    """IPv4 destinations routed on this host (excluding the default route)."""
    found: list[ipaddress.IPv4Network] = []
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        cols = line.split()
        if len(cols) < 8 or cols[7] == "00000000":
            continue
        dest = ipaddress.IPv4Address(bytes.fromhex(cols[1])[::-1])
        mask = ipaddress.IPv4Address(bytes.fromhex(cols[7])[::-1])
        with contextlib.suppress(ValueError):
            found.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return found


def _pool() -> ipaddress.IPv4Network:
    text = os.environ.get(POOL_ENV, DEFAULT_POOL)
    try:
        pool = ipaddress.IPv4Network(text)
    except ValueError as exc:
        raise GraderError(f"{POOL_ENV}={text!r}: not an IPv4 network ({exc})") from None
    if pool.prefixlen > SUBNET_PREFIX:
        raise GraderError(f"{POOL_ENV}={text!r}: must be /{SUBNET_PREFIX} or larger")
    return pool


def _candidate_subnets(prefix: int = SUBNET_PREFIX) -> list[ipaddress.IPv4Network]:
    pool = _pool()
    prefix = max(prefix, pool.prefixlen)
    count = 2 ** (prefix - pool.prefixlen)
    size = 2 ** (32 - prefix)
    start = random.SystemRandom().randrange(count)
    taken = _host_networks()
    out = []
    for i in range(min(count, ATTEMPTS * 4)):
        base = int(pool.network_address) + ((start + i) % count) * size
        subnet = ipaddress.IPv4Network((base, prefix))
        if not any(subnet.overlaps(net) for net in taken):
            out.append(subnet)
        if len(out) >= ATTEMPTS:
            break
    return out


@dataclass(frozen=True, kw_only=True)
class SandboxNetwork:
    """One internal bridge network: Docker ``id``/``name``, host ``bridge`` and ``gateway``.

    ``chain`` is the iptables chain filtering traffic from the bridge, or
    None for the anchor network (no container is ever attached to it).
    """

    id: str
    name: str
    bridge: str
    subnet: str
    gateway: str
    chain: str | None
    owner: str

    @classmethod
    def create(
        cls,
        client: Any,
        *,
        name: str,
        labels: Mapping[str, str],
        allow: Sequence[tuple[str, int]] = (),
        firewall: bool = True,
        prefix: int = SUBNET_PREFIX,
    ) -> SandboxNetwork:
        """Create the network (and its chain when ``firewall``); GraderError when impossible.

        ``allow`` lists the grader's listeners, ``(address, port)``, the
        containers on it may open connections to; ``prefix`` is the subnet's
        prefix length (``SHARED_PREFIX`` for a grading's shared network).
        """
        import docker.errors
        import docker.types

        last = "no free subnet in the pool"
        for subnet in _candidate_subnets(prefix):
            suffix = os.urandom(5).hex()
            bridge = BRIDGE_PREFIX + suffix
            gateway = str(subnet.network_address + 1)
            ipam = docker.types.IPAMConfig(pool_configs=[
                docker.types.IPAMPool(subnet=str(subnet), gateway=gateway)])
            try:
                net = client.api.create_network(
                    name, driver="bridge", internal=True, ipam=ipam,
                    labels={**labels, BRIDGE_LABEL: bridge},
                    options={"com.docker.network.bridge.name": bridge,
                             "com.docker.network.bridge.enable_ip_masquerade": "false"})
            except docker.errors.APIError as exc:
                last = str(getattr(exc, "explanation", None) or exc)
                if "overlap" in last.lower():
                    continue
                raise GraderError(f"cannot create a sandbox network: {last}") from None
            chain = CHAIN_PREFIX + suffix if firewall else None
            made = cls(id=net["Id"], name=name, bridge=bridge, subnet=str(subnet),
                       gateway=gateway, chain=chain, owner=labels.get(OWNER_LABEL, ""))
            try:
                if not Path("/sys/class/net", bridge).exists():
                    raise GraderError(
                        "the Docker engine's networks are not visible here (remote or rootless "
                        "engine?): the Docker runner needs a local engine it can firewall")
                if chain is not None:
                    install_chain(bridge, chain, allow, owner=made.owner)
            except BaseException:
                made.remove(client)
                raise
            return made
        raise GraderError(f"cannot create a sandbox network in {_pool()} "
                          f"(set {POOL_ENV} to a free range): {last}")

    def remove(self, client: Any) -> None:
        """Remove the network, then its firewall chain; safe to repeat."""
        import docker.errors

        for _ in range(20):
            try:
                client.api.remove_network(self.id)
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError as exc:
                # "has active endpoints": the container's removal is still settling
                if "active endpoints" not in str(exc):
                    break
                time.sleep(0.05)  # retry a real condition: the endpoint going away
            except OSError:  # the engine is unreachable: 'sockgrade cleanup' removes it
                break
        if self.chain is not None:
            remove_chain(self.bridge, self.chain, owner=self.owner)
