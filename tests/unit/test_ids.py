import re
import time

from domain.ids import ID_PATTERN, new_id


def test_issued_ids_pass_the_validation_of_ids_in_paths() -> None:
    assert re.fullmatch(ID_PATTERN, new_id())


def test_ids_sort_by_creation_time() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first


def test_ids_are_unique() -> None:
    assert len({new_id() for _ in range(1000)}) == 1000
