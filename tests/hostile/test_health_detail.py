"""The public probes show anonymous callers each check's status, never hosts, ports or errors."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.servers import example_project, free_port, request

TOKEN = "hostile-probe-token-0123456789"


def test_anonymous_probes_get_statuses_only(tmp_path: Path) -> None:
    """ready and startup answer anonymous callers without detail; the metrics token sees it."""
    port = free_port()  # nothing listens there: the database check fails, naming it
    with example_project(
        tmp_path,
        DATABASE_URL=f"postgres://app:pw@127.0.0.1:{port}/app",
        METRICS_TOKEN=TOKEN,
    ) as server:
        for probe in ("ready", "startup"):
            answer = request(server.url(f"/stability/health/{probe}"))
            assert answer.status == 503
            assert answer.body["status"] == "fail"
            assert answer.body["checks"]["database"] == {"status": "fail"}
            for result in answer.body["checks"].values():
                assert set(result) == {"status"}
            assert str(port) not in str(answer.body)

        staff = request(
            server.url("/stability/health/ready"),
            {"Authorization": f"Bearer {TOKEN}"},
        )
        assert staff.status == 503
        database = staff.body["checks"]["database"]
        assert set(database) == {"status", "ms", "detail"}
        assert database["detail"]
