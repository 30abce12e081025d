"""The scenario table of docs/scenarios.md names every scenario of the catalogue, by number and id, with its priority."""

from __future__ import annotations

from pathlib import Path

from flows.catalog import SCENARIOS

SCENARIOS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def test_the_scenario_table_matches_the_catalogue():
    """One row per scenario, starting `| N | `id` |` and ending with its priority."""
    rows = [
        line
        for line in SCENARIOS_PAGE.read_text("utf-8").splitlines()
        if line.startswith("| ") and "` |" in line
    ]
    table = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if cells[0].isdigit() and cells[1].startswith("`"):
            table[int(cells[0])] = (cells[1].strip("`"), int(cells[-1]))
    assert table == {s.number: (s.id, s.priority) for s in SCENARIOS.values()}
