#!/usr/bin/env bash
# Smoke test of the example project against real servers, production-style settings
# (DEBUG=0, JSON logs): `manage.py runserver --noreload` (the example's: Daphne, ASGI,
# what `make demo` runs), `manage.py runserver --noasgi` (Django's WSGI server on
# wsgi.py), then uvicorn (ASGI).
# For each: start on a free port, wait until it answers, check a few requests and the
# access log, stop it. Only processes this script started are stopped.
#
#   example_project/smoke.sh            # temporary SQLite database
#   DATABASE_URL=postgres://... REDIS_URL=redis://... example_project/smoke.sh
#
# Needs curl. PYTHON defaults to the repository's .venv. Exit status 0 = all checks passed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-$root/.venv/bin/python}"
tmp="$(mktemp -d)"
server_pid=""

stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$server_pid" 2>/dev/null && kill -KILL "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() { stop_server; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $*" >&2
    [[ -f "$tmp/server.log" ]] && { echo "--- server log (tail) ---" >&2; tail -n 30 "$tmp/server.log" >&2; }
    exit 1
}

export DJANGO_SETTINGS_MODULE=example_project.settings
export DEBUG=0 HTTPS=0 LOG_LEVEL=INFO ALLOWED_HOSTS=127.0.0.1
# Each server is stopped with SIGTERM: no drain window to wait through.
export DRAIN_SECONDS=0
export SECRET_KEY="smoke-$("$python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export APP_VERSION="smoke-$$"
export DATABASE_URL="${DATABASE_URL:-sqlite:///$tmp/smoke.sqlite3}"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"

cd "$here"
"$python" manage.py migrate --noinput >"$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log" >&2; fail "migrate"; }

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_until_up() {  # $1 base URL; at most 30 s
    for _ in $(seq 300); do
        kill -0 "$server_pid" 2>/dev/null || fail "server exited during startup"
        curl -fsS -o /dev/null --max-time 1 "$1/stability/version" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "server did not answer within 30 s"
}

check_server() {  # $1 name, $2 base URL
    local name="$1" base="$2" cid="smoke-$1-$$" headers body status
    curl_() { curl -sS --max-time 10 "$@"; }

    body="$(curl_ "$base/stability/version")"
    [[ "$body" == "{\"version\": \"$APP_VERSION\"}" ]] || fail "$name: /stability/version said $body"

    status="$(curl_ -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"title\": \"smoke via $name\"}" "$base/api/notes/")"
    [[ "$status" == 201 ]] || fail "$name: POST /api/notes/ gave $status: $(cat "$tmp/body")"

    headers="$(curl_ -D - -o "$tmp/body" -H "X-Request-ID: $cid" "$base/api/notes/")"
    grep -qi "^x-correlation-id: $cid" <<<"$headers" || fail "$name: X-Correlation-ID not echoed"
    grep -qi "^x-app-version: $APP_VERSION" <<<"$headers" || fail "$name: no X-App-Version"
    grep -qi '^cache-control: .*no-store' <<<"$headers" || fail "$name: /api/ not no-store"
    grep -q "smoke via $name" "$tmp/body" || fail "$name: the new note is not listed"

    headers="$(curl_ -D - -o "$tmp/body" "$base/api/notes/999999999")"
    grep -q '^HTTP/1.1 404' <<<"$headers" || fail "$name: missing note is not 404"
    grep -qi '^content-type: application/problem+json' <<<"$headers" || fail "$name: 404 is not problem+json"

    status="$(curl_ -o /dev/null -w '%{http_code}' "$base/")"
    [[ "$status" == 200 ]] || fail "$name: GET / gave $status"

    # The access line is JSON and carries the caller's ID (logs may lag a moment).
    for _ in $(seq 20); do
        grep -q "\"correlation_id\": \"$cid\"" "$tmp/server.log" && break
        sleep 0.1
    done
    [[ "$(grep "\"correlation_id\": \"$cid\"" "$tmp/server.log" | grep -c '"event": "request"')" == 1 ]] \
        || fail "$name: not exactly one JSON access line with correlation_id $cid"
    # ... and no second line of the server's own for the same requests.
    ! grep -E '"logger": "django\.(channels\.)?server"' "$tmp/server.log" || fail "$name: the server logs requests too"
    echo "ok: $name"
}

port="$(free_port)"
"$python" manage.py runserver --noreload "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
server_pid=$!
wait_until_up "http://127.0.0.1:$port"
check_server runserver "http://127.0.0.1:$port"
stop_server

port="$(free_port)"
"$python" manage.py runserver --noasgi --noreload "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
server_pid=$!
wait_until_up "http://127.0.0.1:$port"
check_server runserver-wsgi "http://127.0.0.1:$port"
stop_server

port="$(free_port)"
"$python" -m uvicorn example_project.asgi:application --app-dir "$root" --host 127.0.0.1 --port "$port" \
    --lifespan off --no-access-log >"$tmp/server.log" 2>&1 &
server_pid=$!
wait_until_up "http://127.0.0.1:$port"
check_server uvicorn "http://127.0.0.1:$port"
stop_server

echo "smoke test passed"
