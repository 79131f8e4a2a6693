"""file_record: the record a write_files entry should have on the host, in the checksums module's form."""
import hashlib

import pytest

from ansible_collections.djangoops.services.plugins.filter.file_record import file_record

ENTRY = {"dest": "/srv/app/.env", "owner": "root", "group": "app", "mode": "0640"}


@pytest.mark.parametrize("key", ["content", "secret_content"])
def test_the_record_hashes_utf8_content_and_keeps_attributes(key):
    assert file_record(dict(ENTRY, **{key: "KEY=\"é\"\n"})) == {
        "checksum": hashlib.sha256("KEY=\"é\"\n".encode("utf-8")).hexdigest(),
        "owner": "root",
        "group": "app",
        "mode": "0640",
    }


@pytest.mark.parametrize("mode", ["640", "0o640", "0980", "rw-r-----", 640])
def test_a_mode_that_is_not_four_octal_digits_is_refused(mode):
    with pytest.raises(ValueError, match="four octal digits"):
        file_record(dict(ENTRY, content="x", mode=mode))


@pytest.mark.parametrize(
    "entry",
    [
        dict(ENTRY),  # no content
        dict(ENTRY, content="x", secret_content="y"),
        {"dest": "/srv/app/run", "content": "x", "owner": "root", "mode": "0750"},  # no group
    ],
)
def test_an_entry_write_files_would_refuse_is_refused(entry):
    with pytest.raises(ValueError, match="needs owner, group, mode and one of content or secret_content"):
        file_record(entry)
