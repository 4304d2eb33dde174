import re
import time

from domain.ids import new_id


def test_ids_are_ulids() -> None:
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", new_id())


def test_ids_sort_by_creation_time() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first


def test_ids_are_unique() -> None:
    assert len({new_id() for _ in range(1000)}) == 1000
