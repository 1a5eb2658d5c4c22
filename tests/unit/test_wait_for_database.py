import time

import pytest

from control_plane.db.engine import make_engine, wait_for_database
from control_plane.errors import DatabaseUnavailable


def test_an_unreachable_catalog_is_one_clear_error_after_the_deadline(tmp_path):
    engine = make_engine(f"postgresql+psycopg://nobody@/nothing?host={tmp_path}&port=1&connect_timeout=1")
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="Cannot reach the catalog database"):
        wait_for_database(engine, timeout=1.5)
    assert 1.0 <= time.monotonic() - started < 15  # it retried until the deadline, then gave up
