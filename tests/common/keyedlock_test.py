"""KeyedLocks: one lock per key, gone when nobody holds it."""

from __future__ import annotations

import threading

from vdsm.common.keyedlock import KeyedLocks


def test_same_key_excludes_other_key_does_not():
    locks = KeyedLocks()
    entered = threading.Event()
    release = threading.Event()
    got_b = threading.Event()
    got_a = threading.Event()

    def hold_a():
        with locks.hold("a"):
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold_a)
    holder.start()
    assert entered.wait(10)

    def take(key, done):
        with locks.hold(key):
            done.set()

    other = threading.Thread(target=take, args=("b", got_b))
    other.start()
    assert got_b.wait(10)          # another key is free
    waiter = threading.Thread(target=take, args=("a", got_a))
    waiter.start()
    assert not got_a.wait(0.2)     # the same key waits for the holder
    release.set()
    assert got_a.wait(10)
    for t in (holder, other, waiter):
        t.join(10)
    assert len(locks) == 0         # nothing kept for keys no one holds


def test_released_on_error():
    locks = KeyedLocks()
    try:
        with locks.hold("a"):
            raise ValueError("boom")
    except ValueError:
        pass
    assert len(locks) == 0
    with locks.hold("a"):
        assert len(locks) == 1


def test_many_keys_in_any_order_do_not_deadlock():
    locks = KeyedLocks()
    counts = {"x": 0}

    def worker(keys):
        for _ in range(300):
            with locks.hold(*keys):
                counts["x"] += 1

    threads = [threading.Thread(target=worker, args=(keys,))
               for keys in (("a", "b", "c"), ("c", "b", "a"),
                            ("b", "a"), ("c", "a", "a"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert counts["x"] == 1200
    assert len(locks) == 0
