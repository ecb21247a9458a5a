"""The drafts' system check W030: a drafts limit that Django's upload limit would undercut."""

from __future__ import annotations

from django.test import override_settings

from tests.checks import check_error_codes


def test_limit_above_the_upload_limit_warns():
    """STABILITY_DRAFT_MAX_BYTES over DATA_UPLOAD_MAX_MEMORY_SIZE is W030, naming both sizes."""
    with override_settings(STABILITY_DRAFT_MAX_BYTES=5_000_000):
        [message] = check_error_codes(["W030"])
    assert "STABILITY_DRAFT_MAX_BYTES is 5000000 bytes" in message.msg
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE (2621440 bytes)" in message.msg


def test_limit_within_the_upload_limit_or_no_upload_limit_is_fine():
    """No warning at or under the upload limit, nor when the project lifts it (None)."""
    with override_settings(STABILITY_DRAFT_MAX_BYTES=2_621_440):
        check_error_codes([])
    with override_settings(
        STABILITY_DRAFT_MAX_BYTES=5_000_000, DATA_UPLOAD_MAX_MEMORY_SIZE=None
    ):
        check_error_codes([])


def test_an_invalid_limit_is_only_e016():
    """An invalid limit gets its E016 and no W030 on top."""
    with override_settings(STABILITY_DRAFT_MAX_BYTES=-1):
        check_error_codes(["E016"])
