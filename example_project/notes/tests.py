"""Smoke tests of the example project, run by Django's runner: ``cd example_project && python manage.py test``."""

from __future__ import annotations

import io
import json
from typing import Any

from django.test import TestCase

from django_stability import logging as stability_logging
from django_stability.conf import conf
from example_project import settings as project_settings
from example_project.notes.models import TITLE_MAX_LENGTH, Note

PROBLEM = "application/problem+json"
LOG = io.StringIO()


def setUpModule() -> None:
    # JSON lines into a buffer: the tests read them, and the runner's output stays clean.
    stability_logging.configure(json=True, level="INFO", stream=LOG)


def tearDownModule() -> None:
    stability_logging.configure(
        json=not project_settings.DEBUG, level=project_settings.LOG_LEVEL
    )


def _log_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LOG.getvalue().splitlines()]


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["correlation_id"] == response["X-Correlation-ID"]
    return body


class NotesApiTests(TestCase):
    def post_json(self, payload: Any, **extra: Any) -> Any:
        body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        return self.client.post(
            "/api/notes/", body, content_type="application/json", **extra
        )

    def test_empty_list_carries_stability_headers(self) -> None:
        """An empty list answers 200 with correlation, version and no-store cache headers."""
        response = self.client.get("/api/notes/")
        assert response.status_code == 200
        assert response.json() == {"notes": []}
        assert response["X-Correlation-ID"] == response["X-Request-ID"]
        assert len(response["X-Correlation-ID"]) == 36  # a fresh UUID4
        assert response["X-App-Version"] == conf.app_version
        assert "no-store" in response["Cache-Control"]

    def test_access_log_line_carries_the_correlation_id(self) -> None:
        """Each request writes one JSON access line with its route, status and correlation ID."""
        response = self.client.get("/api/notes/7")
        cid = response["X-Correlation-ID"]
        [line] = [
            entry
            for entry in _log_lines()
            if entry.get("event") == "request" and entry["correlation_id"] == cid
        ]
        assert (line["status"], line["route"], line["method"]) == (
            404,
            "api/notes/<int:pk>",
            "GET",
        )

    def test_incoming_request_id_is_echoed(self) -> None:
        """A caller's valid X-Request-ID comes back under both correlation headers."""
        response = self.client.get(
            "/api/notes/", headers={"X-Request-ID": "lb-7f3a.42"}
        )
        assert (response["X-Correlation-ID"], response["X-Request-ID"]) == (
            "lb-7f3a.42",
            "lb-7f3a.42",
        )

    def test_create_then_read(self) -> None:
        """A created note answers 201 with Location, then shows up in its detail URL and the list."""
        response = self.post_json({"title": "Groceries", "body": "milk\neggs"})
        assert response.status_code == 201
        created = response.json()
        assert (created["title"], created["body"], created["owner"]) == (
            "Groceries",
            "milk\neggs",
            None,
        )
        assert response["Location"] == f"/api/notes/{created['id']}"
        assert self.client.get(response["Location"]).json() == created
        assert self.client.get("/api/notes/").json()["notes"] == [created]

    def test_list_limit(self) -> None:
        """?limit=N returns the N most recently updated notes."""
        for title in ("one", "two", "three"):
            Note.objects.create(title=title)
        titles = [
            n["title"] for n in self.client.get("/api/notes/?limit=2").json()["notes"]
        ]
        assert titles == ["three", "two"]

    def test_missing_note_is_problem_404(self) -> None:
        """A note that does not exist is a problem+json 404."""
        _problem(self.client.get("/api/notes/404"), 404, "not_found")

    def test_bad_json_is_problem_400(self) -> None:
        """A body that is not JSON is rejected with a problem+json 400 and nothing is stored."""
        body = _problem(self.post_json("{not json"), 400, "invalid_json")
        assert "JSON" in body["detail"]
        assert not Note.objects.exists()

    def test_bad_notes_are_problem_400(self) -> None:
        """Missing, empty, too long, non-string and unknown fields, and non-object bodies are 400s."""
        cases = [
            ({}, "title"),
            ({"title": "   "}, "title"),
            ({"title": "x" * (TITLE_MAX_LENGTH + 1)}, "title"),
            ({"title": 42}, "title"),
            ({"title": "ok", "body": None}, "body"),
            ({"title": "ok", "owner": 1}, "owner"),
        ]
        for payload, field in cases:
            with self.subTest(payload=payload):
                assert (
                    field
                    in _problem(self.post_json(payload), 400, "invalid_note")["detail"]
                )
        _problem(self.post_json(["title"]), 400, "invalid_json")
        _problem(self.post_json(b"\xff\xfe"), 400, "invalid_json")
        assert not Note.objects.exists()

    def test_form_encoded_post_is_415(self) -> None:
        """Writes must be JSON: a form-encoded POST gets a problem+json 415."""
        _problem(
            self.client.post("/api/notes/", {"title": "x"}),
            415,
            "unsupported_media_type",
        )

    def test_bad_limit_is_problem_400(self) -> None:
        """?limit outside 1..100 or not a number is a 400."""
        for raw in ("0", "101", "-1", "ten", "١"):
            with self.subTest(limit=raw):
                _problem(
                    self.client.get("/api/notes/", {"limit": raw}), 400, "invalid_limit"
                )

    def test_wrong_method(self) -> None:
        """DELETE is not offered: 405 with an Allow header."""
        response = self.client.delete("/api/notes/")
        assert response.status_code == 405
        assert "POST" in response["Allow"]

    def test_version_endpoint(self) -> None:
        """/stability/version reports the APP_VERSION the settings read."""
        response = self.client.get("/stability/version")
        assert response.json() == {"version": conf.app_version}

    async def test_api_under_asgi(self) -> None:
        """Under ASGI the same API creates, lists and 404s with the same headers."""
        created = await self.async_client.post(
            "/api/notes/", {"title": "async"}, content_type="application/json"
        )
        assert created.status_code == 201
        listed = await self.async_client.get(
            "/api/notes/", headers={"X-Correlation-ID": "asgi-1"}
        )
        assert [n["title"] for n in listed.json()["notes"]] == ["async"]
        assert listed["X-Request-ID"] == "asgi-1"
        _problem(await self.async_client.get("/api/notes/999999"), 404, "not_found")


class NotesPageTests(TestCase):
    def test_page_lists_notes(self) -> None:
        """The home page shows the notes and the page's correlation ID."""
        Note.objects.create(title="Visible note")
        response = self.client.get("/")
        assert response.status_code == 200
        assert b"Visible note" in response.content
        assert response["X-Correlation-ID"].encode() in response.content

    def test_form_creates_note_and_redirects(self) -> None:
        """Submitting the form stores the note and redirects back to the list."""
        response = self.client.post("/", {"title": "From the form", "body": ""})
        assert (response.status_code, response["Location"]) == (302, "/")
        assert Note.objects.get().title == "From the form"

    def test_invalid_form_is_redisplayed(self) -> None:
        """A form without a title is shown again with the error, as a 400 HTML page, not problem+json."""
        response = self.client.post("/", {"title": "", "body": "orphan"})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
        assert b"This field is required." in response.content
        assert not Note.objects.exists()


class NotesAutosaveTests(TestCase):
    def setUp(self) -> None:
        from django.contrib.auth import get_user_model

        self.user = get_user_model().objects.create_user("writer", password="x")

    def test_logged_in_page_autosaves_with_stability_js(self) -> None:
        """A logged-in user's form loads stability.js with autosave, keepalive and version watching."""
        self.client.force_login(self.user)
        page = self.client.get("/").content.decode()
        assert "/static/django_stability/stability.js" in page
        autosave = (
            'autosave(form, "notes:new", { initial: "note-draft", ttl: 604800000 })'
        )
        for call in (autosave, "keepalive()", "watchVersion()", "clearAll()"):
            assert call in page
        assert f'<meta name="stability-user" content="{self.user.pk}">' in page
        assert "data-autosave-status" in page
        assert f'<meta name="app-version" content="{conf.app_version}">' in page

    def test_the_page_embeds_the_draft_so_autosave_asks_for_none(self) -> None:
        """The form page carries the user's draft as JSON (null without one), so loading it makes no 404 request."""
        from django_stability.drafts import save_draft

        self.client.force_login(self.user)
        empty = self.client.get("/").content.decode()
        assert '<script id="note-draft" type="application/json">null</script>' in empty
        save_draft(self.user, "notes:new", {"title": "Half-typed"})
        page = self.client.get("/").content.decode()
        assert '"data": {"title": "Half-typed"}, "version": 1' in page
        assert "Use the saved version" in page and "Keep mine" in page

    def test_anonymous_page_offers_to_log_in(self) -> None:
        """Anonymous visitors get no autosave, and a link to log in for it."""
        page = self.client.get("/").content.decode()
        assert "data-autosave-status" not in page
        assert "/admin/login/?next=/" in page

    def test_the_script_is_a_static_file(self) -> None:
        """stability.js is found by the staticfiles finders, so collectstatic ships it."""
        from django.contrib.staticfiles import finders

        assert finders.find("django_stability/stability.js")

    def test_drafts_api_round_trip(self) -> None:
        """The drafts API the form talks to stores and answers the draft of the logged-in user."""
        self.client.force_login(self.user)
        put = self.client.put(
            "/stability/drafts/notes:new",
            json.dumps({"data": {"title": "Half-typed"}}),
            content_type="application/json",
        )
        assert put.status_code == 200
        got = self.client.get("/stability/drafts/notes:new").json()
        assert (got["data"], got["version"]) == ({"title": "Half-typed"}, 1)


class LiveUpdateTests(TestCase):
    def test_a_saved_note_is_broadcast_on_the_notes_channel(self) -> None:
        """Saving a note appends it to the ``notes`` replay log once the transaction commits."""
        from django_stability.realtime._log import READ, log_keys
        from django_stability.state import get_engine

        with self.captureOnCommitCallbacks(execute=True):
            note = Note.objects.create(title="live", body="shown in other tabs")
        read = get_engine().run(READ, log_keys("notes"), [0, 600_000, 0])
        assert [json.loads(data)["note"]["id"] for _, data in read.events][
            -1
        ] == note.pk

    def test_a_live_note_carries_the_markup_the_page_renders(self) -> None:
        """The event's ``html`` is the list's own fragment for that note: line breaks, escaping, date line."""
        from django_stability.realtime._log import READ, log_keys
        from django_stability.state import get_engine

        with self.captureOnCommitCallbacks(execute=True):
            Note.objects.create(title="Two <lines>", body="first\nsecond")
        read = get_engine().run(READ, log_keys("notes"), [0, 600_000, 0])
        html = json.loads(read.events[-1][1])["html"].strip()
        assert "first<br>second" in html
        assert "Two &lt;lines&gt;" in html
        assert "Updated <time" in html
        assert html in self.client.get("/").content.decode()


class NotesProductTests(TestCase):
    def test_the_page_names_its_icon_and_stylesheet(self) -> None:
        """The page links an SVG icon and the example's stylesheet, both static files."""
        from django.contrib.staticfiles import finders

        page = self.client.get("/").content.decode()
        assert '<link rel="icon" href="/static/notes/favicon.svg"' in page
        assert '<link rel="stylesheet" href="/static/notes/notes.css">' in page
        assert finders.find("notes/favicon.svg") and finders.find("notes/notes.css")

    def test_favicon_ico_leads_to_the_icon(self) -> None:
        """Pages without an icon of their own (the admin's) get the example's, not a 404."""
        response = self.client.get("/favicon.ico")
        assert (response.status_code, response["Location"]) == (
            302,
            "/static/notes/favicon.svg",
        )

    def test_staff_see_the_operations_links(self) -> None:
        """Staff get links to the breakers, the readiness probe and the drafts; others do not."""
        from django.contrib.auth import get_user_model

        users = get_user_model().objects
        links = (
            "/admin/django_stability/breaker/",
            "/stability/health/ready",
            "/admin/django_stability/draft/",
        )
        self.client.force_login(users.create_user("writer", password="x"))
        page = self.client.get("/").content.decode()
        assert "Connecting…" in page
        assert not any(link in page for link in links)
        self.client.force_login(users.create_user("ops", password="x", is_staff=True))
        page = self.client.get("/").content.decode()
        assert all(f'href="{link}"' in page for link in links)
