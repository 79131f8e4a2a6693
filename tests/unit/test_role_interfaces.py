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


DEPLOY_APP = ROOT / "playbooks/tasks/deploy_app.yml"


def deploy_app_task(module):
    (task,) = [t for t in load(DEPLOY_APP) if module in t]
    return task


def resolve(context):
    """deploy_app.yml's djangoops__vars, rendered natively (as Ansible does) for one app."""
    from jinja2.nativetypes import NativeEnvironment

    task = deploy_app_task("ansible.builtin.set_fact")
    native = NativeEnvironment()
    context = {"djangoops__defaults": task["vars"]["djangoops__defaults"], "inventory_hostname": "web1", **context}
    # The task's own choice of the manager (the app's, else the host's djangoops_manager).
    context["djangoops__manager"] = native.from_string(task["vars"]["djangoops__manager"]).render(context)
    return native.from_string(task["ansible.builtin.set_fact"]["djangoops__vars"]).render(context)


def test_deploy_playbook_passes_every_role_variable_as_resolved_once():
    """playbooks/tasks/deploy_app.yml passes each option explicitly, from the dict it resolves."""
    mapping = deploy_app_task("ansible.builtin.include_role")["vars"]
    # Private role variables (app_base__*) are the playbook's wiring, not user input.
    passed = {k: v for k, v in mapping.items() if "__" not in k}
    assert set(passed) == {name for role in ROLES for name in options(role)}
    for name, value in passed.items():
        assert value == f"{{{{ djangoops__vars.{name} }}}}", name


@pytest.mark.parametrize("role", ROLES)
def test_deploy_playbook_defaults_are_the_argument_specs(role):
    """Its defaults must not drift; null where the spec's default is another option's value."""
    defaults = deploy_app_task("ansible.builtin.set_fact")["vars"]["djangoops__defaults"][role]
    assert set(defaults) == set(options(role))
    for name, spec in options(role).items():
        expected = spec.get("default")
        if spec.get("required"):
            continue
        if isinstance(expected, str) and "{{" in expected:
            assert defaults[name] is None, name
        else:
            assert defaults[name] == expected, name


def spec_default(name, **values):
    (expected,) = [options(role)[name].get("default") for role in ROLES if name in options(role)]
    if isinstance(expected, str):
        for key, value in values.items():
            expected = expected.replace(f"{{{{ {key} }}}}", value)
    return expected


@pytest.mark.parametrize("manager", ["systemd", "supervisor"])
def test_deploy_playbook_takes_the_apps_value_then_the_hosts_then_the_default(manager):
    names = [n for role in ROLES for n in options(role) if n != "app_base_name"]
    other = "django_" + ({"systemd", "supervisor"} - {manager}).pop() + "_"
    app = {"app_base_name": "shop", "djangoops_manager": manager}
    host = {name: "from-host" for name in names}
    both = resolve({"djangoops_app": {**app, **{n: "from-app" for n in names}}, "hostvars": {"web1": host}})
    assert all(both[n] == "from-app" for n in names)
    # The host's values of app_base's and the manager's role's options, as that role reads them.
    from_host = resolve({"djangoops_app": app, "hostvars": {"web1": host}})
    for name in names:
        expected = spec_default(name, app_base_name="shop") if name.startswith(other) else "from-host"
        assert from_host[name] == expected, name
    defaulted = resolve({"djangoops_app": app, "hostvars": {"web1": {}}})
    for name in names:
        assert defaulted[name] == spec_default(name, app_base_name="shop", app_base_group="shop"), name
    # A default that is another option's value follows that option.
    grouped = resolve({"djangoops_app": {**app, "app_base_group": "www"}, "hostvars": {"web1": {}}})
    assert (grouped["app_base_gunicorn_socket_group"], grouped["app_base_user"]) == ("www", "shop")
    # The host's djangoops_manager picks whose options the host's values are read for.
    by_host = resolve({"djangoops_app": {"app_base_name": "shop"}, "djangoops_manager": manager, "hostvars": {"web1": host}})
    assert all(by_host[n] == from_host[n] for n in names)
    # An app's null is its value (e.g. django_supervisor_http_server_enabled: null, "auto").
    nulls = resolve({"djangoops_app": {**app, "django_supervisor_http_server_enabled": None, "app_base_src": None},
                     "hostvars": {"web1": host}})
    assert nulls["django_supervisor_http_server_enabled"] is None and nulls["app_base_src"] is None
    # An app deployed at once reads its parent host's values.
    parent = resolve({"djangoops_app": app, "djangoops__parent": "web2", "hostvars": {"web1": {}, "web2": host}})
    assert parent["app_base_src"] == "from-host"
    # remove.yml and rollback.yml set every app's state and release.
    overridden = resolve({"djangoops_app": {**app, "app_base_state": "present", "app_base_release": "x"},
                          "hostvars": {"web1": {}}, "djangoops_state": "absent", "djangoops__release": "previous"})
    assert (overridden["app_base_state"], overridden["app_base_release"]) == ("absent", "previous")


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
