"""Placeholder for ``apscheduler.jobstores.zookeeper``: ZooKeeperJobStore is planned in issue #4."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable("ZooKeeperJobStore", 4, requires=("kazoo",))
