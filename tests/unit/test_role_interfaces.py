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


def readme_variables(role, readme=None):
    text = (readme or ROOT / "roles" / role / "README.md").read_text(encoding="utf-8")
    pattern = rf"^\| `({role}_[a-z0-9_]+)` \|([^|]*)\|"
    return {m.group(1): m.group(2).strip() for m in re.finditer(pattern, text, re.MULTILINE)}


def shown_default(value):
    """How a README shows a default: strings as they are ("" when empty), the rest as YAML."""
    if isinstance(value, str):
        return value or '""'
    # One line: a table row cannot wrap.
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


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


@pytest.mark.parametrize("readme", ["role", "collection"])
@pytest.mark.parametrize("role", ROLES)
def test_readme_table_matches_argument_specs(role, readme):
    opts = options(role)
    documented = readme_variables(role, ROOT / "README.md" if readme == "collection" else None)
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


def test_deploy_playbook_passes_every_role_variable_with_the_role_default():
    """playbooks/tasks/deploy_app.yml maps each variable explicitly; its fallbacks must not drift."""
    from jinja2.nativetypes import NativeEnvironment

    (task,) = [t for t in load(ROOT / "playbooks/tasks/deploy_app.yml") if "ansible.builtin.include_role" in t]
    # Private role variables (app_base__*) are the playbook's wiring, not user input.
    mapping = {k: v for k, v in task["vars"].items() if not k.startswith("djangoops_") and "__" not in k}
    specs = {name: spec for role in ROLES for name, spec in options(role).items()}
    assert set(mapping) == set(specs)
    native = NativeEnvironment()

    def render(template, ctx):
        value = native.from_string(template).render(ctx)
        return "" if value is None else value  # an empty native result comes back as None

    context = {"djangoops_app": {}, "djangoops__host": {}, "app_base_name": "shop"}
    for name, spec in specs.items():
        if spec.get("required"):
            continue
        expected = spec.get("default")
        if isinstance(expected, str):
            expected = render(expected, context)
        rendered = native.from_string(mapping[name]).render(context) if expected is None else render(mapping[name], context)
        assert rendered == expected, name
        context_app = {**context, "djangoops_app": {name: "from-app"}, "djangoops__host": {name: "from-host"}}
        assert render(mapping[name], context_app) == "from-app", name
        context_host = {**context, "djangoops__host": {name: "from-host"}}
        assert render(mapping[name], context_host) == "from-host", name


@pytest.mark.parametrize("role", ROLES)
def test_deploy_playbook_reads_the_hosts_value_of_every_option(role):
    """The names whose host values deploy_app.yml reads once per app are the role's options."""
    (task,) = [t for t in load(ROOT / "playbooks/tasks/deploy_app.yml") if "ansible.builtin.set_fact" in t]
    words = re.search(r"'([^']*)'", task["vars"]["djangoops__options"][role]).group(1).split()
    assert sorted(f"{role}_{word}" for word in words) == sorted(options(role))


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_shows_every_option(role, ansible_cli):
    """`ansible-doc -t role djangoops.services.<role>` is how users read the interface."""
    import json
    import subprocess

    out = subprocess.run(
        [ansible_cli("ansible-doc"), "-t", "role", "--json", f"djangoops.services.{role}"],
        capture_output=True, text=True, check=True,
    ).stdout
    shown = json.loads(out)[f"djangoops.services.{role}"]["entry_points"]["main"]["options"]
    assert set(shown) == set(options(role))
