"""System checks of the rate-limit settings and the trusted proxies."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags

from django_stability.checks._base import check, is_list, kind, show
from django_stability.checks._codes import Codes
from django_stability.checks._rates import rate_problem
from django_stability.conf import Settings, conf
from django_stability.ratelimit._client_ip import proxy_network
from django_stability.ratelimit._settings import BOOL, Exempt, exempt_problems


@check(Tags.security)
def check_ratelimit(**kwargs: Any) -> list[CheckMessage]:
    value: Any = conf.ratelimit
    problem = None if value is None else rate_problem(value)
    if problem is None:
        return []
    return [Codes.RATELIMIT.msg(Settings.ratelimit.setting_name, problem=problem)]


@check(Tags.security)
def check_ratelimit_exempt(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.ratelimit_exempt.setting_name
    return [
        Codes.RATELIMIT_EXEMPT.msg(
            name, where=name + where, problem=f"{expected}, not {kind(found)}"
        )
        for where, expected, found in exempt_problems(conf.ratelimit_exempt)
    ]


# Paths that must never be rate limited (DESIGN.md "HTTP surface"): probes and scrapes.
NEVER_LIMITED = ("/stability/health/", "/stability/metrics")


def _ratelimit_middleware_installed() -> bool:
    middleware: Any = settings.MIDDLEWARE
    return is_list(middleware) and any(
        isinstance(entry, str) and entry.rpartition(".")[2] == "RateLimitMiddleware"
        for entry in middleware
    )


@check(Tags.security)
def check_ratelimit_exempts_probes(**kwargs: Any) -> list[CheckMessage]:
    exempt: Any = conf.ratelimit_exempt
    if (
        conf.ratelimit is None
        or not is_list(exempt)
        or not all(isinstance(prefix, str) for prefix in exempt)  # E009 says so
        or not _ratelimit_middleware_installed()
    ):
        return []
    name = Settings.ratelimit_exempt.setting_name
    return [
        Codes.RATELIMIT_PROBES_LIMITED.msg(name, value=show(path))
        for path in NEVER_LIMITED
        if not Exempt(tuple(exempt))(path)
    ]


@check(Tags.security)
def check_ratelimit_fail_open(**kwargs: Any) -> list[CheckMessage]:
    value: Any = conf.ratelimit_fail_open
    if isinstance(value, bool):
        return []
    problem = f"{BOOL}, not {kind(value)}"
    return [
        Codes.RATELIMIT_FAIL_OPEN.msg(
            Settings.ratelimit_fail_open.setting_name, problem=problem
        )
    ]


def _is_broad(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    # Wider than a /8 of IPv4 or a /16 of IPv6 (unique local fc00::/7 excepted):
    # large enough that strangers share it. Cloud and CDN ranges are narrower.
    if network.version == 4:
        return network.prefixlen < 8
    return network.prefixlen < 16 and not network.subnet_of(
        ipaddress.IPv6Network("fc00::/7")
    )


@check(Tags.security)
def check_trusted_proxies(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.trusted_proxies.setting_name
    value: Any = conf.trusted_proxies
    if not is_list(value):
        problem = f"must be a list of IP addresses or networks, not {kind(value)}"
        return [Codes.TRUSTED_PROXIES.msg(name, problem=problem)]
    messages = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        try:
            network = proxy_network(item)
        except TypeError:
            problem = f"must be an IP address or network string, not {kind(item)}"
        except ValueError as exc:
            problem = f"is not an IP address or network: {exc}"
        else:
            if _is_broad(network):
                messages.append(
                    Codes.TRUSTED_PROXY_BROAD.msg(name, where=where, value=show(item))
                )
            continue
        messages.append(Codes.TRUSTED_PROXIES.msg(name, where=where, problem=problem))
    return messages
