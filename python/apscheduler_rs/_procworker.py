"""Entry point of a process-pool worker (a fresh interpreter started by the native pool).

Frames (a little-endian ``u32`` length, then the bytes) arrive on ``task_fd`` and answers go
out on ``result_fd``; stdout and stderr stay the parent's, so jobs print normally. The first
frame is the set-up: ``multiprocessing.spawn`` preparation data (``sys.path``, working
directory, the main module re-imported as ``__mp_main__``, exactly as the ``spawn`` start
method does) plus an optional initializer. Each later frame is a pickled
``(job, jobstore_alias, run_times, logger_name)``, answered with ``(True, event_fields)`` (one
``(code, job_id, jobstore, scheduled_run_time, retval, exception, traceback)`` per event) or, when the
machinery itself failed, ``(False, exception, traceback_text)``. End of file means "exit".
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import traceback
from typing import Any, BinaryIO

_HEADER = struct.Struct("<I")


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return payload


def _write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _answer(task: bytes) -> bytes:
    from .executors.base import run_job  # cached after the first task

    try:
        job, jobstore_alias, run_times, logger_name = pickle.loads(task)
        events = run_job(job, jobstore_alias, run_times, logger_name)
        # Plain tuples pickle (and load) several times faster than the event objects.
        fields = [
            (e.code, e.job_id, e.jobstore, e.scheduled_run_time, e.retval, e.exception, e.traceback)
            for e in events
        ]
        return pickle.dumps((True, fields), pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # the machinery failed (unpicklable task or result, ...)
        text = traceback.format_exc()
        try:
            return pickle.dumps((False, exc, text), pickle.HIGHEST_PROTOCOL)
        except BaseException:
            return pickle.dumps((False, RuntimeError(repr(exc)), text), pickle.HIGHEST_PROTOCOL)


def main(task_fd: int, result_fd: int) -> None:
    # Ctrl+C in a terminal reaches the whole process group: the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks = os.fdopen(task_fd, "rb")
    results = os.fdopen(result_fd, "wb")
    setup = _read_frame(tasks)
    if setup is None:
        return
    config: dict[str, Any] = pickle.loads(setup)
    from multiprocessing import spawn

    spawn.prepare(config["preparation"])
    if config.get("initializer") is not None:
        # Unpickled only now: it may live in the main module, which prepare() just loaded.
        initializer, initargs = pickle.loads(config["initializer"])
        initializer(*initargs)
    while (task := _read_frame(tasks)) is not None:
        _write_frame(results, _answer(task))
    sys.exit(0)
