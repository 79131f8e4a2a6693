"""Import the collection's plugins as Ansible does: ansible_collections.djangoops.services."""
import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[2] / ".cache" / "collections"
if not (COLLECTIONS / "ansible_collections" / "djangoops" / "services").exists():
    raise RuntimeError(f"{COLLECTIONS} has no djangoops.services link: run 'make collection' first")
sys.path.insert(0, str(COLLECTIONS))
