"""`make test` runs every Molecule scenario: none can be added and silently skipped."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_list(name):
    match = re.search(rf"^{name} := (.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{name} not in Makefile"
    return match.group(1).split()


def test_make_runs_every_scenario():
    on_disk = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
    assert sorted(make_list("SCENARIOS")) == on_disk


def test_one_image_scenarios_exist():
    one, on_13 = set(make_list("ONE_IMAGE")), set(make_list("ON_DEBIAN13"))
    assert one | on_13 <= set(make_list("SCENARIOS"))
    assert not one & on_13


def test_every_scenario_has_tests():
    for scenario in make_list("SCENARIOS"):
        assert list((ROOT / "molecule" / scenario / "tests").glob("test_*.py")), scenario
