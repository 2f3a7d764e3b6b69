"""Check the differences between a view's publications: exact, small, and sent only when they fit."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
from dash import Patch, no_update
from hypothesis import given, settings
from hypothesis import strategies as st

from callbacks.shell import patch_from, refresh_views
from cockpit.live import InProcessLiveStore
from cockpit.view_patches import apply, diff, size_of
from cockpit.viewmodels import PATCH_STEPS, TAIL_BYTES, ViewModelPublisher, patch_view, peek

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=25,
)
records = st.lists(
    st.fixed_dictionaries({"id": st.integers(0, 30), "state": st.sampled_from("abc")}),
    max_size=12,
    unique_by=lambda r: r["id"],
)


def dash_apply(doc, patch: Patch):
    """Apply a Dash Patch as dash-renderer does (Assign, Delete, Insert), to a copy of doc."""
    doc = orjson.loads(orjson.dumps(doc))
    for op in patch.to_plotly_json()["operations"]:
        *within, last = op["location"]
        parent = doc
        for key in within:
            parent = parent[key]
        if op["operation"] == "Assign":
            parent[last] = op["params"]["value"]
        elif op["operation"] == "Delete":
            del parent[last]
        elif op["operation"] == "Insert":
            parent[last].insert(op["params"]["index"], op["params"]["value"])
        else:
            raise AssertionError(f"unexpected operation {op['operation']}")
    return doc


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=2), json_values, max_size=5), st.data())
def test_any_two_objects_diff_to_operations_that_rebuild_the_second(old, data):
    new = data.draw(st.dictionaries(st.text(max_size=2), json_values, max_size=5))
    assert apply(old, diff(old, new)) == new


@settings(max_examples=300, deadline=None)
@given(records, records)
def test_any_two_lists_of_records_diff_exactly(old, new):
    assert apply({"items": old}, diff({"items": old}, {"items": new})) == {"items": new}


def test_one_record_added_at_the_top_of_a_long_list_costs_that_record():
    old = {"items": [{"id": i, "title": f"case {i}", "state": "open"} for i in range(200)]}
    new = {"items": [{"id": 999, "title": "new", "state": "open"}, *old["items"]]}
    ops = diff(old, new)
    assert ops == [["ins", ["items"], 0, new["items"][0]]]
    assert size_of(ops) < 80


def test_a_moved_record_costs_one_removal_and_one_insertion():
    items = [{"id": i, "state": "open"} for i in range(50)]
    moved = [*items[:10], *items[11:40], dict(items[10], state="dispatched"), *items[40:]]
    ops = diff({"items": items}, {"items": moved})
    assert [op[0] for op in ops] == ["del", "ins"]
    assert apply({"items": items}, ops) == {"items": moved}


def test_a_changed_field_of_one_record_is_set_alone():
    items = [{"id": i, "state": "open", "where": {"grid": "G1"}} for i in range(50)]
    changed = [dict(item) for item in items]
    changed[7] = {"id": 7, "state": "closed", "where": {"grid": "G1"}}
    assert diff({"items": items}, {"items": changed}) == [["set", ["items", 7, "state"], "closed"]]


def test_a_rewrite_larger_than_the_value_sets_the_value_whole():
    old = {"series": list(range(30))}
    new = {"series": list(range(1, 31))}  # a rolling window: every position moved
    assert diff(old, new) == [["set", ["series"], new["series"]]]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=2), json_values, max_size=5), st.data())
def test_the_dash_patch_of_a_chain_rebuilds_the_view_as_the_browser_applies_it(old, data):
    new = data.draw(st.dictionaries(st.text(max_size=2), json_values, max_size=5))
    old = {k: v for k, v in old.items() if k not in ("version", "generated_at", "published_wall")}
    new = {k: v for k, v in new.items() if k not in ("version", "generated_at", "published_wall")}
    chain = orjson.dumps({"to": "v2", "at": "t2", "steps": [{"from": "v1", "ops": diff(old, new)}]})
    patch = patch_from(chain, "v1", ("v2", 12.5))
    assert patch is not None
    held = dict(old, version="v1", generated_at="t1", published_wall=1.0)
    assert dash_apply(held, patch) == dict(
        new, version="v2", generated_at="t2", published_wall=12.5
    )


def cases_model(count: int, seed: int) -> dict:
    """Return a cases-like view: a list of records, one state each, ordered by id."""
    rng = random.Random(seed)
    return {"open": [{"id": i, "state": rng.choice("ab"), "title": "x" * 40} for i in range(count)]}


def moving_cases(steps: int) -> list[dict]:
    """Return views of 60 cases where each next one has one more case dispatched."""
    base = cases_model(60, 0)["open"]
    return [
        {"open": [dict(case, state="dispatched") if case["id"] < k else case for case in base]}
        for k in range(steps)
    ]


def test_the_publisher_keeps_a_chain_from_each_recent_version_to_the_current_one():
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live, patched=frozenset({"cases"}))
    models = moving_cases(4)
    versions = [publisher.publish("cases", model, NOW) for model in models]
    chain = orjson.loads(live.get_view(patch_view("cases")))
    assert chain["to"] == versions[-1]
    assert [step["from"] for step in chain["steps"]] == versions[:-1]
    raw = live.get_view("cases")
    stamps = peek(raw[-TAIL_BYTES:])
    for held, model in zip(versions[:-1], models[:-1], strict=True):
        patch = patch_from(live.get_view(patch_view("cases")), held, stamps)
        start = dict(model, version=held, generated_at="", published_wall=0)
        assert dash_apply(start, patch) == orjson.loads(raw)


def test_a_first_publication_and_an_unpatched_view_have_no_chain_to_follow():
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live, patched=frozenset({"cases"}))
    publisher.publish("cases", cases_model(10, 1), NOW)
    publisher.publish("ticker", {"items": [1]}, NOW)
    publisher.publish("ticker", {"items": [2]}, NOW)
    assert orjson.loads(live.get_view(patch_view("cases")))["steps"] == []
    assert live.get_view(patch_view("ticker")) is None


def test_the_chain_keeps_its_newest_steps_within_its_count_and_half_the_view():
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live, patched=frozenset({"cases"}))
    for model in moving_cases(PATCH_STEPS + 5):
        publisher.publish("cases", model, NOW)
    chain = orjson.loads(live.get_view(patch_view("cases")))
    assert len(chain["steps"]) == PATCH_STEPS
    assert size_of([step["ops"] for step in chain["steps"]]) <= len(live.get_view("cases")) / 2
    # A whole new view is no difference worth sending: the chain empties.
    publisher.publish("cases", {"open": [{"id": 1000 + i} for i in range(60)]}, NOW)
    assert orjson.loads(live.get_view(patch_view("cases")))["steps"] == []


def test_a_model_changed_by_its_caller_after_publishing_is_diffed_as_published():
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live, patched=frozenset({"ticker"}))
    model = {"items": [{"id": 1, "level": "red"}]}
    first = publisher.publish("ticker", model, NOW)
    model["items"].append({"id": 2, "level": "yellow"})  # the same dict, changed in place
    publisher.publish("ticker", model, NOW)
    chain = orjson.loads(live.get_view(patch_view("ticker")))
    assert chain["steps"] == [{"from": first, "ops": [["ins", ["items"], 1, model["items"][1]]]}]


def refresh_of(live: InProcessLiveStore, held: dict[str, str]):
    """Return refresh_views' answer for the cases store, tails and chains read as the callback does."""
    tails = {"cases": live.get_view_tails(["cases"], TAIL_BYTES)[0]}
    chains = {"cases": live.get_view(patch_view("cases"))}
    return refresh_views(live.get_view, ["cases"], held, 0.0, None, tails, chains)


def test_the_refresh_sends_a_patch_from_a_held_version_and_the_view_whole_otherwise():
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live, patched=frozenset({"cases"}))
    old = publisher.publish("cases", cases_model(60, 1), NOW)
    new = publisher.publish("cases", cases_model(60, 2), NOW)
    out, versions, _beat = refresh_of(live, {"cases": old})
    assert isinstance(out[0], Patch) and versions == {"cases": new}
    out, versions, _beat = refresh_of(live, {"cases": "a version long gone"})
    assert out[0] == orjson.loads(live.get_view("cases")) and versions == {"cases": new}
    out, versions, _beat = refresh_of(live, {"cases": new})
    assert out[0] is no_update and versions is no_update


def test_a_chain_that_does_not_reach_the_views_version_is_not_used():
    chain = orjson.dumps({"to": "v2", "at": "t", "steps": [{"from": "v1", "ops": []}]})
    assert patch_from(chain, "v1", ("v3", 0.0)) is None  # the worker is between two writes
    assert patch_from(chain, None, ("v2", 0.0)) is None
