"""Who this process is, to the other nodes on the same database.

Every server process is a node with a random id (new at every start), written into the
leases and job claims it holds; hostname and pid are kept beside it for people reading
the tables. ``host_key`` says which processes share this machine's process table (same
hostname, same boot, same pid namespace): for those, a pid that no longer exists is a
node that is gone for sure, so a node restarted in place frees what its dead predecessor
held at once instead of waiting for the leases to expire (see ``Repository.register_node``).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _host_key() -> str:
    """hostname + boot id + pid namespace; empty where they cannot be known (no /proc):
    then no node is ever taken for dead by its pid."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        pid_ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        pid_ns = ""
    if not boot or not pid_ns:
        return ""
    return f"{socket.gethostname()}/{boot}/{pid_ns}"[:200]


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    pid: int
    host_key: str

    @classmethod
    def this_process(cls) -> Node:
        return cls(uuid.uuid4().hex, socket.gethostname()[:200], os.getpid(), _host_key())

    @property
    def holder(self) -> str:
        """The node as people read it: ``hostname pid 1234``."""
        return f"{self.hostname} pid {self.pid}"[:200]

    def sees_dead(self, other_host_key: str, other_pid: int) -> bool:
        """True only when ``other`` shares this process table and its pid is gone."""
        if not self.host_key or other_host_key != self.host_key or other_pid == self.pid:
            return False
        try:
            os.kill(other_pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # PermissionError: it exists, as another user
            return False
        return False
