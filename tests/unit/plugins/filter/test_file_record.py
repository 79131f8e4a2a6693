"""file_record: the record a file should have, in the checksums module's form."""
import hashlib

import pytest

from ansible_collections.djangoops.services.plugins.filter.file_record import file_record


def test_the_record_hashes_utf8_content_and_keeps_attributes():
    assert file_record("KEY=\"é\"\n", "root", "app", "0640") == {
        "checksum": hashlib.sha256("KEY=\"é\"\n".encode("utf-8")).hexdigest(),
        "owner": "root",
        "group": "app",
        "mode": "0640",
    }


@pytest.mark.parametrize("mode", ["640", "0o640", "0980", "rw-r-----", 640])
def test_a_mode_that_is_not_four_octal_digits_is_refused(mode):
    with pytest.raises(ValueError, match="four octal digits"):
        file_record("x", "root", "app", mode)
