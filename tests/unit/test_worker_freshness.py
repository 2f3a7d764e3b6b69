"""Check the grid worker's phone says how live its list is, judged on the server's clock."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from cockpit.heartbeat import WORKER_HEARTBEAT, stale_limit_s, worker_freshness
from cockpit.live import LiveStoreError
from layouts.grid_worker import freshness_class, freshness_text, worker_page

NOW = 1_800_000_000.0


def reader(beat: dict | None):
    """Return a view reader holding one heartbeat (or none)."""
    views = {WORKER_HEARTBEAT: orjson.dumps(beat)} if beat else {}
    return views.get


@given(age=st.floats(0, 600), interval=st.floats(0.2, 10), slowest=st.floats(0, 5))
def test_stale_exactly_when_the_beat_is_older_than_the_limit(age, interval, slowest):
    beat = {"beat_wall": NOW - age, "interval_s": interval, "slowest_tick_s": slowest}
    fresh = worker_freshness(reader(beat), 2, 1.0, now_wall=NOW)
    assert fresh["stale"] == (fresh["age_s"] > stale_limit_s(beat, 2, 1.0))
    assert not fresh["lost"]


def test_no_worker_and_no_cache_are_stale_and_say_why():
    assert worker_freshness(reader(None), 2, 1.0, now_wall=NOW) == {
        "age_s": None,
        "stale": True,
        "lost": False,
    }

    def down(_name):
        raise LiveStoreError("redis down")

    assert worker_freshness(down, 2, 1.0, now_wall=NOW)["lost"] is True
    assert freshness_text({"age_s": None, "stale": True}, "zh") == "数据已过期 · 数据更新服务未运行"
    assert freshness_text({"age_s": None, "stale": True}, "en").startswith("STALE")


def test_the_line_reads_fresh_or_stale_in_both_languages():
    fresh, stale = {"age_s": 2.4, "stale": False}, {"age_s": 95.0, "stale": True}
    assert freshness_text(fresh, "zh") == "数据更新于 2 秒前"
    assert freshness_text(stale, "en") == "STALE · updated 95 s ago"
    assert freshness_class(fresh) == "worker-freshness"
    assert freshness_class(stale) == "worker-freshness is-stale"
    page = str(worker_page("12", [], "en", 2000, fresh=stale))
    assert "STALE · updated 95 s ago" in page
