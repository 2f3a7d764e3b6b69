"""Open the complaint feeds the settings name and show each in the source-health view."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from cockpit.panels import SOURCE_HEALTH
from cockpit.runtime import Runtime
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.viewmodels import read_view
from tests.streets import tiny_tier


def test_settings_open_a_folder_feed_and_a_table_feed_with_their_health(tmp_path) -> None:
    export = create_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    metadata = MetaData()
    Table(
        "tickets",
        metadata,
        Column("id", Integer, primary_key=True),
        *(Column(n, String(200)) for n in ("source", "received_at", "category", "text", "address")),
    )
    metadata.create_all(export)
    export.dispose()
    settings = Settings(
        data_dir=tmp_path,
        database_url="",
        redis_url="",
        mqtt_url="",
        auto_seed=False,
        complaint_folder=tmp_path / "inbox",
        complaint_sql_url=f"sqlite:///{tmp_path / 'hotline.db'}",
        complaint_sql_table="tickets",
    )
    runtime = Runtime.open(settings)
    try:
        seed_street(runtime.engine, tiny_tier(), 3, (121.5, 31.3))
        (tmp_path / "inbox").mkdir()
        runtime.open_feeds()
        assert [feed.prefix for feed in runtime.feeds] == ["feed:folder", "feed:sql:tickets"]

        def states() -> dict[str, str]:
            worker = runtime.make_worker()
            worker.tick()
            view = read_view(runtime.live, SOURCE_HEALTH)
            return {s["name"]: s["state"] for s in view["sources"] if s["name"].startswith("feed")}

        assert states() == {"feed:folder": "down", "feed:sql:tickets": "down"}  # not read yet
        for feed in runtime.feeds:
            feed.poll()
        assert states() == {"feed:folder": "ok", "feed:sql:tickets": "ok"}
    finally:
        runtime.stop()
