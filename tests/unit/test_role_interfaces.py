"""Each role declares one interface three times: defaults, argument_specs and README.

These tests keep the three in step, so a variable cannot be added, renamed or given a new
default in one place only.
"""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta/argument_specs.yml").exists())


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def options(role):
    return load(ROOT / "roles" / role / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def readme_variables(role):
    text = (ROOT / "roles" / role / "README.md").read_text(encoding="utf-8")
    pattern = rf"^\| `({role}_[a-z0-9_]+)` \|([^|]*)\|"
    return {m.group(1): m.group(2).strip() for m in re.finditer(pattern, text, re.MULTILINE)}


def shown_default(value):
    """How a README shows a default: strings as they are ("" when empty), the rest as YAML."""
    if isinstance(value, str):
        return value or '""'
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def test_there_are_roles_to_check():
    assert "app_base" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_declare_the_same_variables(role):
    defaults = load(ROOT / "roles" / role / "defaults/main.yml")
    opts = options(role)
    optional = {name for name, spec in opts.items() if not spec.get("required")}
    assert set(defaults) == optional
    for name in defaults:
        assert opts[name].get("default") == defaults[name], name


@pytest.mark.parametrize("role", ROLES)
def test_variables_carry_the_role_prefix(role):
    assert all(name.startswith(f"{role}_") for name in options(role))


@pytest.mark.parametrize("role", ROLES)
def test_readme_table_matches_argument_specs(role):
    opts = options(role)
    documented = readme_variables(role)
    assert set(documented) == set(opts)
    for name, spec in opts.items():
        shown = documented[name]
        if spec.get("required"):
            assert shown == "required", name
        else:
            assert shown == f"`{shown_default(spec.get('default'))}`", name


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_point_validates_the_same_options(role):
    specs = load(ROOT / "roles" / role / "meta/argument_specs.yml")["argument_specs"]
    for entry in specs.values():
        assert entry["options"] == specs["main"]["options"]
