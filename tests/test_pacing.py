"""Pacing: one call every interval, and the Retry-After a server asks for."""

from __future__ import annotations

import pytest

from locator.pacing import Pacer, retry_after


def test_the_pacer_spaces_calls():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    pacer = Pacer.per_second(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert slept == pytest.approx([0.25] * 4)
    assert now[0] == pytest.approx(1.0)


def test_no_rate_is_no_wait():
    slept = []
    pacer = Pacer.per_second(0, clock=lambda: 0.0, sleep=slept.append)
    for _ in range(3):
        pacer.wait()
    assert slept == [] and pacer.interval_s == 0.0


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "3"}, 3.0), ({"retry-after": "0.5"}, 0.5), ({"Retry-After": "-2"}, 0.0),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None), ({}, None),
])
def test_retry_after_reads_seconds_only(headers, expected):
    assert retry_after(headers) == expected
