"""Job functions for the process-pool tests (importable by the worker processes)."""

import os
import signal
import time


def square(x):
    return x * x


def pid():
    return os.getpid()


def fail(message):
    raise ValueError(message)


def kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def exit_abruptly(code):
    os._exit(code)


def unpicklable_result():
    return lambda: None


def slow(seconds):
    time.sleep(seconds)
    return seconds


INITIALIZED = []


def initializer(value):
    INITIALIZED.append(value)


def initialized():
    return list(INITIALIZED)
