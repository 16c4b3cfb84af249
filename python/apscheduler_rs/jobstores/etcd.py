"""Placeholder for ``apscheduler.jobstores.etcd``: EtcdJobStore is planned in issue #4."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "EtcdJobStore",
    4,
    requires=("etcd3",),
    missing_message="EtcdJobStore requires etcd3 be installed",
)
