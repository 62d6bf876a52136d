"""bot.process.collector: when the cyclic garbage collector may run (off the acks' way)."""

from __future__ import annotations

import gc

from bot.process.collector import freeze_startup_heap, paused


def test_freezing_the_start_up_heap_hides_it_from_later_collections() -> None:
    before = gc.get_freeze_count()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_no_automatic_collection_while_paused_and_the_collector_is_back_after() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():  # nested: still paused
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_never_turns_on_a_collector_that_was_off_before() -> None:
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
