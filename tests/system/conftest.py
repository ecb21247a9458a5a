from __future__ import annotations

import pytest

#: The soak's figures (Markdown), set by the ``soak`` fixture, printed after the run.
FIGURES = pytest.StashKey[str]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if (figures := config.stash.get(FIGURES, None)) is not None:
        terminalreporter.section("soak figures")
        terminalreporter.write_line(figures)
