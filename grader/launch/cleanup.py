"""The cleanup sweep: what graders killed outright left behind, removed by its labels.

Theory of operation: every container, network, firewall chain and staging
folder the Docker launcher makes is labelled with its owner
(:mod:`grader.launch.leftovers`).  A grader killed outright (SIGKILL, power
loss) cannot remove them, so every new Docker launcher first sweeps the
resources whose owner process is gone, and ``sockgrade cleanup`` does the
same on demand (``--all``: also those of runs still alive).  The sweep also
removes iptables chains (``SOCKGRADE-<hex>``) whose network is gone
(:mod:`grader.launch.sandboxnet`; the iptables command a killed grader left
running is killed first, so that no rule of it lands after the sweep) and staging folders
(``<temp>/sockgrade-docker-<pid>-*``) of dead processes.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from grader.launch import sandboxnet
from grader.launch.leftovers import BRIDGE_LABEL, LABEL, OWNER_LABEL, STAGING_PREFIX, owner_alive


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """What a sweep removed (counts) and what it could not do (``problems``)."""

    containers: int = 0
    networks: int = 0
    chains: int = 0
    folders: int = 0
    groups: int = 0
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the user, e.g. ``removed 2 containers, 2 networks, ...``."""
        return (f"removed {self.containers} container(s), {self.networks} network(s), "
                f"{self.chains} firewall chain(s), {self.folders} staging folder(s), "
                f"{self.groups} local process group(s)")


def sweep(client: Any, *, everything: bool = False) -> SweepResult:
    """Remove sockgrade's leftovers from the Docker engine ``client`` and this host.

    By default only resources whose owner process is gone; with
    ``everything`` also those of runs still in progress.  With ``client``
    None (no engine) only the host's staging folders go, and with
    ``everything`` every sockgrade firewall chain.  Never raises for a
    resource that vanished meanwhile; problems are returned as text.
    """
    problems: list[str] = []
    containers = networks = 0
    if client is None:
        chains, chain_problems = sandboxnet.remove_stale_chains(keep=set(),
                                                                everything=everything)
        return SweepResult(chains=chains, folders=_sweep_folders(everything=everything),
                           problems=tuple(chain_problems))
    for info in client.api.containers(all=True, filters={"label": LABEL}):
        if everything or not owner_alive((info.get("Labels") or {}).get(OWNER_LABEL)):
            try:
                client.api.remove_container(info["Id"], force=True, v=True)
                containers += 1
            except Exception as exc:
                if "in progress" in str(exc) and _gone(client, info["Id"]):
                    continue  # another sweep (or the engine, for a dead grader) removed it
                if "No such container" not in str(exc):
                    problems.append(f"container {info['Id'][:12]}: {exc}")
    live_bridges: set[str] = set()
    for info in client.api.networks(filters={"label": LABEL}):
        labels = info.get("Labels") or {}
        if everything or not owner_alive(labels.get(OWNER_LABEL)):
            try:
                client.api.remove_network(info["Id"])
                networks += 1
                continue
            except Exception as exc:
                if "not found" not in str(exc).lower():
                    problems.append(f"network {info.get('Name')}: {exc}")
        if labels.get(BRIDGE_LABEL):
            live_bridges.add(labels[BRIDGE_LABEL])
    chains, chain_problems = sandboxnet.remove_stale_chains(keep=live_bridges,
                                                            everything=everything)
    problems.extend(chain_problems)
    folders = _sweep_folders(everything=everything)
    return SweepResult(containers=containers, networks=networks, chains=chains,
                       folders=folders, problems=tuple(problems))


def _gone(client: Any, container: str, timeout: float = 30.0) -> bool:
    """True once ``container``, whose removal someone else started, is gone (within
    ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.api.inspect_container(container)
        except Exception as exc:
            return "No such container" in str(exc) or "404" in str(exc)
        time.sleep(0.05)  # polls the real condition: the engine finishing that removal
    return False


def _sweep_folders(*, everything: bool) -> int:
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*"):
        pid_text = path.name[len(STAGING_PREFIX):].split("-", 1)[0]
        alive = pid_text.isdigit() and psutil.pid_exists(int(pid_text))
        if path.is_dir() and (everything or not alive):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
