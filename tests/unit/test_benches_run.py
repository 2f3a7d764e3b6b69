"""Run the benches once, briefly: each prints its figures and returns them (none asserted)."""

from __future__ import annotations

from cockpit.bench.all import Figure, bench_all, table


def test_the_benches_run_and_print_one_table_of_their_figures():
    """A bench that breaks (a helper's signature changed) fails here, not when someone runs it."""
    said: list[str] = []
    figures = bench_all("changbai", runs=2, browser=False, say=said.append, changes_s=3)
    names = [f.name for f in figures]
    assert "wall refresh / bare Flask floor" in names and "largest device cell (zoomed in)" in names
    assert "tablet refresh / the app's own route (sign-in, headers, limits)" in names
    assert all(f.value and f.command.startswith("cockpit bench ") for f in figures)
    assert any(line.startswith("bare Flask route") for line in said)
    assert any("gzip 5" in line for line in said)
    assert any(line.startswith("tablet: ") and "per change" in line for line in said)
    # The table is the last thing said, one row per figure.
    assert said[-1] == table(figures)
    assert len(said[-1].splitlines()) == len(figures) + 2


def test_the_table_is_markdown_with_the_command_of_each_figure():
    rows = table([Figure("wall refresh", "1.20 ms", "<= 1.5x", "cockpit bench refresh")])
    assert rows.splitlines() == [
        "| figure | value | target | command |",
        "| --- | --- | --- | --- |",
        "| wall refresh | 1.20 ms | <= 1.5x | `cockpit bench refresh` |",
    ]
