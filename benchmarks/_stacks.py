"""The middleware stacks the middleware benchmark compares, and the settings each runs with.

Each stack runs in its own worker process (``benchmarks._worker``) so that its
settings, installed apps and logging configuration are exactly what a project
using it would have: django-structlog and django-stability both configure
structlog globally, which one process could not hold at the same time.
"""

from __future__ import annotations

import io
import logging.config
from dataclasses import dataclass, field
from typing import Any

# Django 5.2's `startproject` MIDDLEWARE.
DJANGO_DEFAULT = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

OUR_CORRELATION = "django_stability.middleware.CorrelationIdMiddleware"
OUR_ACCESS_LOG = "django_stability.middleware.AccessLogMiddleware"
OUR_CACHE = "django_stability.middleware.CacheHeadersMiddleware"
OUR_PROBLEM = "django_stability.middleware.ProblemDetailsMiddleware"
OUR_RATELIMIT = "django_stability.middleware.RateLimitMiddleware"
# Never reached by the benchmark's one client: the allowed path is what is measured.
UNREACHED_RATE = {"STABILITY_RATELIMIT": "1000000/s"}
PROMETHEUS_BEFORE = "django_prometheus.middleware.PrometheusBeforeMiddleware"
PROMETHEUS_AFTER = "django_prometheus.middleware.PrometheusAfterMiddleware"
GUID = "django_guid.middleware.guid_middleware"
STRUCTLOG = "django_structlog.middlewares.RequestMiddleware"
CONDITIONAL_GET = "django.middleware.http.ConditionalGetMiddleware"


def _default_with(
    *,
    first: tuple[str, ...] = (),
    after_session: tuple[str, ...] = (),
    last: tuple[str, ...] = (),
) -> list[str]:
    """Django's default stack with extra middleware at the places their docs prescribe."""
    stack = [*first]
    for name in DJANGO_DEFAULT:
        stack.append(name)
        if name.endswith("SessionMiddleware"):
            stack.extend(after_session)
    return [*stack, *last]


@dataclass(frozen=True)
class Stack:
    name: str
    label: str
    middleware: list[str]
    logging: str = "none"  # "none", "ours" or "peers"
    apps: tuple[str, ...] = ()
    group: str = (
        "main"  # "main" (the acceptance comparison) or "detail" (one piece alone)
    )
    extra_settings: dict[str, Any] = field(default_factory=dict)


STACKS = [
    Stack("bare", "no middleware", []),
    Stack("django", "Django's default stack", list(DJANGO_DEFAULT)),
    Stack(
        "ours",
        "default + django-stability (with rate limit and metrics)",
        _default_with(
            first=(OUR_CORRELATION, OUR_ACCESS_LOG, OUR_RATELIMIT),
            last=(OUR_CACHE, OUR_PROBLEM),
        ),
        logging="ours",
        apps=("django_stability",),
        extra_settings=UNREACHED_RATE,
    ),
    Stack(
        "peers",
        "default + django-guid + django-structlog + ConditionalGet + django-prometheus",
        _default_with(
            first=(PROMETHEUS_BEFORE, GUID),
            after_session=(CONDITIONAL_GET,),
            last=(STRUCTLOG, PROMETHEUS_AFTER),
        ),
        logging="peers",
        apps=("django_guid", "django_structlog", "django_prometheus"),
    ),
    Stack(
        "ours_core",
        "default + django-stability without rate limiting",
        _default_with(
            first=(OUR_CORRELATION, OUR_ACCESS_LOG),
            last=(OUR_CACHE, OUR_PROBLEM),
        ),
        logging="ours",
        apps=("django_stability",),
    ),
    Stack(
        "peers_core",
        "default + django-guid + django-structlog + ConditionalGet",
        _default_with(
            first=(GUID,),
            after_session=(CONDITIONAL_GET,),
            last=(STRUCTLOG,),
        ),
        logging="peers",
        apps=("django_guid", "django_structlog"),
    ),
    Stack(
        "ours_correlation",
        "CorrelationIdMiddleware",
        _default_with(first=(OUR_CORRELATION,)),
        "ours",
        ("django_stability",),
        "detail",
    ),
    Stack(
        "ours_access_log",
        "AccessLogMiddleware",
        _default_with(first=(OUR_ACCESS_LOG,)),
        "ours",
        ("django_stability",),
        "detail",
    ),
    Stack(
        "ours_ratelimit",
        "RateLimitMiddleware (memory engine)",
        _default_with(first=(OUR_RATELIMIT,)),
        "ours",
        ("django_stability",),
        "detail",
        UNREACHED_RATE,
    ),
    Stack(
        "ours_cache",
        "CacheHeadersMiddleware",
        _default_with(last=(OUR_CACHE,)),
        "ours",
        ("django_stability",),
        "detail",
    ),
    Stack(
        "ours_problem",
        "ProblemDetailsMiddleware",
        _default_with(last=(OUR_PROBLEM,)),
        "ours",
        ("django_stability",),
        "detail",
    ),
    Stack(
        "peers_guid",
        "django-guid",
        _default_with(first=(GUID,)),
        "peers",
        ("django_guid",),
        "detail",
    ),
    Stack(
        "peers_structlog",
        "django-structlog RequestMiddleware",
        _default_with(last=(STRUCTLOG,)),
        "peers",
        ("django_structlog",),
        "detail",
    ),
    Stack(
        "peers_prometheus",
        "django-prometheus",
        _default_with(first=(PROMETHEUS_BEFORE,), last=(PROMETHEUS_AFTER,)),
        "none",
        ("django_prometheus",),
        "detail",
    ),
    Stack(
        "peers_conditional",
        "ConditionalGetMiddleware",
        _default_with(after_session=(CONDITIONAL_GET,)),
        "none",
        (),
        "detail",
    ),
]
BY_NAME = {stack.name: stack for stack in STACKS}


class CountingSink(io.StringIO):
    """A text stream that discards what it is given and counts the lines.

    Log lines are fully rendered (JSON) and handed to a real ``StreamHandler``,
    so their cost is measured; only the write to a file or pipe is left out.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def django_settings(stack: Stack) -> dict[str, Any]:
    return {
        "DEBUG": False,
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "ALLOWED_HOSTS": ["testserver"],
        "ROOT_URLCONF": "benchmarks._urls",
        "INSTALLED_APPS": [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            *stack.apps,
        ],
        "MIDDLEWARE": stack.middleware,
        "DATABASES": {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        "USE_TZ": True,
        # Logging is set up below, per stack, the way each project documents it.
        "LOGGING_CONFIG": None,
        **stack.extra_settings,
    }


def configure_logging(stack: Stack, sink: CountingSink) -> None:
    """Production-style JSON logging at INFO into ``sink``, the way each side documents it."""
    if stack.logging == "ours":
        from django_stability.logging import configure

        configure(json=True, level="INFO", stream=sink)
    elif stack.logging == "peers":
        import structlog

        # django-structlog's documented configuration (stdlib integration, JSON formatter).
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.filter_by_level,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
                structlog.stdlib.PositionalArgumentsFormatter(),
                structlog.processors.StackInfoRenderer(),
                structlog.processors.format_exc_info,
                structlog.processors.UnicodeDecoder(),
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            cache_logger_on_first_use=True,
        )
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {
                    "json": {
                        "()": structlog.stdlib.ProcessorFormatter,
                        "processor": structlog.processors.JSONRenderer(),
                    }
                },
                "handlers": {
                    "sink": {
                        "class": "logging.StreamHandler",
                        "formatter": "json",
                        "stream": sink,
                    }
                },
                "root": {"handlers": ["sink"], "level": "INFO"},
            }
        )
    else:
        logging.basicConfig(stream=sink, level=logging.INFO)
