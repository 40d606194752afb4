"""The composite's per-thread scratch buffers: kept from one call to the next, per name and thread."""

from __future__ import annotations

import threading

import numpy as np

from unmask_video.reconstruct.scratch import scratch


def test_a_name_gets_the_same_memory_back_and_grows_when_asked_for_more() -> None:
    a = scratch("test.a", (10, 20, 3))
    assert a.shape == (10, 20, 3) and a.dtype == np.float32 and a.flags.c_contiguous
    again = scratch("test.a", (9, 21, 3))
    assert again.__array_interface__["data"][0] == a.__array_interface__["data"][0]  # (no new memory: no page faults)
    other = scratch("test.b", (10, 20, 3))
    assert other.__array_interface__["data"][0] != a.__array_interface__["data"][0]
    big = scratch("test.a", (100, 200, 3))
    assert big.shape == (100, 200, 3)
    as_bytes = scratch("test.a", (4, 5), np.uint8)
    assert as_bytes.dtype == np.uint8 and as_bytes.shape == (4, 5)


def test_each_thread_has_its_own_buffers() -> None:
    here = scratch("test.thread", (8, 8))
    there: list[int] = []
    worker = threading.Thread(
        target=lambda: there.append(scratch("test.thread", (8, 8)).__array_interface__["data"][0])
    )
    worker.start()
    worker.join()
    assert there[0] != here.__array_interface__["data"][0]
