"""Test program: writes what it is started as (JSON) to the file named by argv[1], then waits.

Its open file descriptors (listed before the report is opened), its rlimits, its
parent, its cgroup and its network namespace: what the local launcher's trampoline
must hand over when it execs the program.
"""
import json
import os
import resource
import sys
import time

fds = []
for fd in os.listdir("/proc/self/fd"):
    try:
        os.fstat(int(fd))  # the listing's own descriptor is closed by now
    except OSError:
        continue
    fds.append(int(fd))
fds.sort()
limits = {name: resource.getrlimit(getattr(resource, f"RLIMIT_{name}"))[0]
          for name in ("AS", "FSIZE", "CPU", "CORE", "NPROC")}
with open("/proc/self/cgroup") as f:
    cgroup = f.read()
report = {"fds": fds, "limits": limits, "ppid": os.getppid(), "cgroup": cgroup,
          "netns": os.readlink("/proc/self/ns/net"), "argv": sys.argv,
          "session": os.getsid(0) == os.getpid()}
with open(sys.argv[1] + ".partial", "w") as f:
    json.dump(report, f)
os.replace(sys.argv[1] + ".partial", sys.argv[1])
time.sleep(600)
