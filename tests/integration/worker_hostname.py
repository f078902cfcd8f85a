"""The hostname a Celery worker of the topology test reports (`Topology.worker_env`).

Two workers on one machine share its hostname; Airflow records `hostname_callable()` on every
task instance, so each worker is given a name of its own to tell them apart.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("SIGMD_TOPOLOGY_WORKER") or socket.getfqdn()
