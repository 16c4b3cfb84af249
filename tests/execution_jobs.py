"""Job functions for tests/test_execution_differential.py (importable by process-pool workers)."""

import time


class CustomError(Exception):
    pass


def add(a, b=0, *, c=0):
    return a + b + c


def echo_kwargs(**kwargs):
    return dict(sorted(kwargs.items()))


def raise_custom(msg):
    raise CustomError(msg)


def system_exit():
    raise SystemExit(3)


def sleep_then(seconds, value):
    time.sleep(seconds)
    return value


class Multiplier:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x):
        return x * self.factor

    def times(self, x):
        return x * self.factor
