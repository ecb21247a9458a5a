"""Static files storage of the example with DEBUG off: WhiteNoise's, forgiving a skipped collectstatic.

The image runs ``collectstatic`` at build (``deploy/Dockerfile``): pages then
name the hashed, compressed files, which WhiteNoise serves for a year. A quick
``DEBUG=0`` run that skipped it (a smoke test, ``check --deploy``) renders its
pages with the plain names instead of failing on every ``{% static %}``.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return str(super().stored_name(name))
        except ValueError:  # not collected: no file to hash
            return name
