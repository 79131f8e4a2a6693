"""Every plugin's documentation parses: `ansible-doc` is how users read a plugin, and a
YAML slip there (a colon in a description) only shows when someone asks for it."""
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = [
    (kind, path.stem)
    for kind, folder in (("module", "modules"), ("lookup", "lookup"))
    for path in sorted((ROOT / "plugins" / folder).glob("*.py"))
    if path.stem != "__init__"
]


def filter_names():
    """Every filter the collection's filter plugins provide (one file may hold several)."""
    import importlib.util

    names = []
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names += sorted(module.FilterModule().filters())
    return names


# Filters are documented in a YAML file of their name beside the plugin (ansible-doc reads it).
PLUGINS += [("filter", name) for name in filter_names()]


@pytest.mark.parametrize("kind, name", PLUGINS)
def test_ansible_doc_reads_the_plugin(kind, name, ansible_cli):
    run = subprocess.run(
        [ansible_cli("ansible-doc"), "-t", kind, "--json", f"djangoops.services.{name}"],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr
    doc = json.loads(run.stdout)[f"djangoops.services.{name}"]["doc"]
    assert doc["short_description"] and doc["description"]
