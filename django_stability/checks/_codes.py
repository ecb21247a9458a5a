"""Every system check ID, declared once with its message and hint."""

from __future__ import annotations

import enum

from django_stability.checks._message import CheckCode

_WHAT = "{where} {problem}."


class Codes(CheckCode, enum.Enum):
    """The check IDs with their message and hint templates; :meth:`msg` builds the check message."""

    REDIS_URL = (
        "E001",
        _WHAT,
        'Use None (state stays in process memory) or a URL such as "redis://127.0.0.1:6379/0", '
        '"rediss://user:password@host:6380/0" (TLS) or "unix:///run/redis.sock?db=0".',
    )
    APP_VERSION = (
        "E002",
        _WHAT,
        "It is sent as the X-App-Version header: use a short printable ASCII string "
        'such as a release tag or commit hash ("2025.06.1", "3f2c1ab").',
    )
    CORRELATION_HEADERS = (
        "E003",
        _WHAT,
        'Use a list of header names, the preferred first: ["X-Correlation-ID", "X-Request-ID"].',
    )
    CORRELATION_HEADER_NAME = (
        "E004",
        _WHAT,
        "A header name is one or more letters, digits or !#$%&'*+-.^_`|~ (an RFC 9110 token), "
        'for example "X-Request-ID".',
    )
    CACHE_POLICIES = (
        "E005",
        _WHAT,
        'Use a list of (path prefix, Cache-Control value) pairs such as [("/static/", '
        '"public, max-age=86400, immutable"), ("/api/", "no-store")]; prefixes start with "/".',
    )
    CACHE_CONTROL_SYNTAX = (
        "E006",
        _WHAT,
        'Write comma-separated directives, each "name" or "name=value" ("max-age=600", '
        '"no-store", \'private="Set-Cookie"\'); delta-seconds directives take a whole number.',
    )
    API_PREFIXES = (
        "E007",
        _WHAT,
        'Use a list of path prefixes starting with "/", such as ["/api/"].',
    )
    RATELIMIT = (
        "E008",
        _WHAT,
        'Use None (no global limit) or a rate "N/u" or "N/Mu" with u one of s, m, h, d: '
        '"100/s", "5/10m", "1000/h".',
    )
    RATELIMIT_EXEMPT = (
        "E009",
        _WHAT,
        'Use a list of path prefixes starting with "/", such as ["/stability/health/", "/static/"].',
    )
    RATELIMIT_FAIL_OPEN = (
        "E010",
        _WHAT,
        "Use True (let requests through) or False (answer 503).",
    )
    TRUSTED_PROXIES = (
        "E011",
        _WHAT,
        'Use a list of IP addresses or networks in CIDR notation, such as ["10.0.0.0/8", '
        '"fd00::/8", "192.0.2.10"]; a network is written with its network address.',
    )
    BREAKERS = (
        "E012",
        _WHAT,
        'Use a dict of breaker name -> options dict: {{"payments": {{"failure_threshold": 5}}}}. '
        "Names are 1-200 characters of letters, digits and ._:- (they appear in URLs and keys).",
    )
    BREAKER_OPTION_UNKNOWN = (
        "E013",
        "{where} is not a breaker option{suggestion}.",
        "Known options: {known}.",
    )
    BREAKER_OPTION = (
        "E014",
        _WHAT,
        "The option table under STABILITY_BREAKERS in the settings reference (docs/settings.rst) "
        "gives each option's type and range.",
    )
    DRAFT_TTL = (
        "E015",
        _WHAT,
        "Use a positive datetime.timedelta, such as timedelta(days=7).",
    )
    DRAFT_MAX_BYTES = (
        "E016",
        _WHAT,
        "Use a positive whole number of bytes, such as 262144.",
    )
    DRAFTS_PER_USER = ("E017", _WHAT, "Use a positive whole number, such as 200.")
    REALTIME = (
        "E018",
        _WHAT,
        'Use a dict with some of the keys {known}, such as {{"HEARTBEAT": 30}}; '
        "missing keys keep their defaults.",
    )
    REALTIME_OPTION = (
        "E019",
        _WHAT,
        "HEARTBEAT, REPLAY_TTL and SEND_TIMEOUT are positive numbers of seconds, MAX_CONNECTIONS_PER_USER and "
        'REPLAY_MAX_EVENTS positive whole numbers, CONNECT_RATE a rate such as "100/m", '
        'CHANNELS a dict of channel pattern -> rule such as {{"notes": "authenticated"}}.',
    )
    HEALTH_TIMEOUT = ("E020", _WHAT, "Use a positive number of seconds, such as 2.0.")
    READINESS_CHECKS = (
        "E021",
        _WHAT,
        "Use None (database, cache and channel layer checks) or a list of dotted paths to "
        'health check classes, such as ["myproject.health.SearchIndex"].',
    )
    READINESS_CHECK_IMPORT = (
        "E022",
        _WHAT,
        "Each entry must be the dotted path of a subclass of health_check.base.HealthCheck "
        "that the settings module's environment can import.",
    )
    METRICS_TOKEN = (
        "E023",
        _WHAT,
        "Use None (only 127.0.0.1 and ::1 may read /metrics) or a random token sent as "
        '"Authorization: Bearer <token>", such as secrets.token_urlsafe(32).',
    )
    DRAIN_SECONDS = ("E024", _WHAT, "Use a number of seconds, 0 or more, such as 10.")
    REMOVED_SETTING = (
        "E025",
        "{where} was removed in django-stability {version}: {advice}.",
        "Remove or rename it as {changelog} explains for that release.",
    )
    DATABASE_BREAKER_ALIAS = (
        "E026",
        "{where} names the database alias {alias!r}, which DATABASES lacks.",
        'Write "database:<alias>" with a key of DATABASES ("database" alone guards the '
        "default alias), or remove the entry.",
    )
    BREAKER_CACHE_BACKEND = (
        "E027",
        _WHAT,
        "BreakerCache wraps the backend named in OPTIONS['BACKEND'], such as "
        '"django_redis.cache.RedisCache" or "django.core.cache.backends.redis.RedisCache".',
    )
    BULKHEADS = (
        "E050",
        _WHAT,
        'Use a dict of bulkhead name -> options dict: {{"search": {{"max_concurrent": 10}}}}. '
        "Names are 1-200 characters of letters, digits and ._:- (they appear in keys and metrics).",
    )
    BULKHEAD_OPTION = (
        "E051",
        _WHAT,
        "docs/settings.rst gives each option of STABILITY_BULKHEADS with its type and range.",
    )
    DEADLINES = (
        "E052",
        _WHAT,
        'Use a dict of path prefix -> seconds: {{"/api/": 10, "/api/reports/": 60}}.',
    )
    RETRIES = (
        "E053",
        _WHAT,
        'Use a dict of retry name -> options dict: {{"payments": {{"attempts": 3, "budget": 0.1}}}}. '
        "Names are 1-200 characters of letters, digits and ._:- (they appear in keys and metrics).",
    )
    RETRY_OPTION_UNKNOWN = (
        "E054",
        "{where} is not a retry option{suggestion}.",
        "Known options: {known}.",
    )
    RETRY_OPTION = (
        "E055",
        _WHAT,
        "The settings reference (docs/settings.rst) gives each retry option's type and range.",
    )
    REDIS_URL_UNSET = (
        "W001",
        "{where} is not set while DEBUG is off: rate limits, circuit breakers, connection slots, "
        "the replay log and the drain flag are kept per process and do not agree across workers.",
        'Set it to your Redis server, such as "redis://127.0.0.1:6379/0", or silence this check '
        "if the site runs as a single process.",
    )
    CONN_MAX_AGE_ASGI = (
        "W002",
        "{where} is {value} while the project runs under ASGI ({evidence}): persistent "
        "connections are not reused under ASGI and leak until the server closes them "
        "(Django ticket #33497).",
        "Set CONN_MAX_AGE to 0 and use a connection pool instead (OPTIONS['pool'] with psycopg 3, "
        "as django_stability.db.database_from_env() builds, or PgBouncer).",
    )
    UNKNOWN_SETTING = (
        "W003",
        "{where} is not a django-stability setting and is ignored{suggestion}.",
        "Correct or remove it; the settings of this version are listed in the settings "
        "reference (docs/settings.rst).",
    )
    MIDDLEWARE_ORDER = (
        "W004",
        "{where} lists {first} after {second}.",
        "Keep the django-stability middleware in this order: {order}.",
    )
    CORRELATION_HEADER_DUPLICATE = (
        "W005",
        "{where} repeats {value} (header names are case-insensitive).",
        "Remove the duplicate.",
    )
    CORRELATION_HEADER_UNDERSCORE = (
        "W006",
        "{where} {value} contains an underscore.",
        "Django's development server, gunicorn, nginx and many proxies drop request headers "
        'whose names contain "_"; use "-" instead, as in "X-Request-ID".',
    )
    CACHE_CONTROL_UNKNOWN = (
        "W007",
        "{where} uses {value}, which is not a response Cache-Control directive{suggestion}.",
        "Caches ignore unknown directives. Response directives: {known}.",
    )
    CACHE_POLICY_SHADOWED = (
        "W008",
        "{where} never applies: the earlier prefix {value} matches every path it matches.",
        "The first matching prefix wins: put the longer prefix first.",
    )
    TRUSTED_PROXY_BROAD = (
        "W009",
        "{where} {value} trusts a very large public network.",
        "Any client in it can set X-Forwarded-For and choose the IP address that rate limits "
        "and logs see. List only your load balancers or their private network.",
    )
    METRICS_TOKEN_SHORT = (
        "W010",
        "{where} is only {length} characters long.",
        "Anyone who guesses it reads /metrics and the full health report; use at least 16 "
        "random characters, such as secrets.token_urlsafe(32).",
    )
    RATELIMIT_PROBES_LIMITED = (
        "W040",
        "{where} does not exempt {value}, which RateLimitMiddleware then limits.",
        "Load-balancer probes and Prometheus scrapes come from a few addresses, many times "
        "a minute: limited, their 429s take healthy instances out of rotation or leave gaps "
        'in the metrics. Keep the prefix exempt, as the default ["/stability/health/", '
        '"/stability/metrics", "/static/"] does.',
    )
    REALTIME_NO_CHANNELS = (
        "W041",
        "{where}['CHANNELS'] declares no channel: every realtime subscription is refused "
        "(4403, SSE 403) unless a consumer's can_subscribe() allows it.",
        'Declare the channels clients may follow, such as STABILITY_REALTIME = {{"CHANNELS": '
        '{{"notes": "authenticated", "user-{{user.pk}}": "authenticated"}}}}.',
    )
    DB_POOL_WORKERS = (
        "W015",
        "{where}: {workers} worker processes (WEB_CONCURRENCY) x a pool of up to {max_size} "
        "connections may open {total} connections, more than PostgreSQL's default "
        "max_connections of {limit}.",
        "Each worker process has its own pool. Lower DB_POOL_MAX (OPTIONS['pool']['max_size']), "
        "raise max_connections on the server (SHOW max_connections), or put PgBouncer in front.",
    )
    CHANNEL_LAYER_IN_MEMORY = (
        "W016",
        "{where} uses InMemoryChannelLayer while DEBUG is off: messages and groups stay "
        "inside one process, so a broadcast never reaches clients connected to another worker.",
        'Use channels_redis.core.RedisChannelLayer (or RedisPubSubChannelLayer) with "hosts" '
        "pointing at Redis, or silence this check if the site runs as a single process.",
    )
    RATELIMIT_CACHE_LOCAL = (
        "W017",
        "{where} ({alias!r}, used by django-ratelimit's RATELIMIT_USE_CACHE) is {backend}, "
        "which {problem}.",
        "Point RATELIMIT_USE_CACHE at a cache every worker shares, such as "
        "django.core.cache.backends.redis.RedisCache or django_redis.cache.RedisCache.",
    )
    DEADLINE_MIDDLEWARE_MISSING = (
        "W050",
        "{where} is set but MIDDLEWARE lacks DeadlineMiddleware: no request gets a deadline.",
        "Add it right after RateLimitMiddleware (docs/middleware.rst), or remove the setting.",
    )
    RETRY_BREAKER_UNKNOWN = (
        "W051",
        "{where} names the breaker {value}, which STABILITY_BREAKERS does not list.",
        "A misspelt name is a breaker that never stops the retries: correct it, add the "
        "breaker to STABILITY_BREAKERS, or silence this check if it runs on its defaults.",
    )
    DRAFT_MAX_BYTES_OVER_UPLOAD = (
        "W030",
        "{where} is {value} bytes, more than DATA_UPLOAD_MAX_MEMORY_SIZE ({upload} bytes): "
        "drafts between the two sizes are refused with 413 before they are read.",
        "Raise DATA_UPLOAD_MAX_MEMORY_SIZE above it (a request body also holds the JSON "
        "around the draft), set it to None, or lower {where}.",
    )
