"""The example project's ASGI application with its static files served, for the browser tests.

``runserver`` serves ``stability.js`` from the app's static folder when DEBUG is
on; uvicorn does not, so the realtime browser test wraps the application the
way Channels' ``runserver`` does.
"""

from __future__ import annotations

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from example_project.asgi import application as project

# Typed for Django's handler, it wraps any ASGI application.
application = ASGIStaticFilesHandler(project)  # type: ignore[arg-type]
