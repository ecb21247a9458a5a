#!/bin/sh
# Entry point of the image: wait until the database, Redis and the other
# readiness checks answer, then exec the command (so it runs as PID 1 and
# receives SIGTERM itself, which starts the graceful drain).
#
#   DEPENDENCY_WAIT=60       seconds to keep retrying (manage.py check_dependencies --wait)
#   SKIP_DEPENDENCY_WAIT=1   run the command at once
#
# Commands that need no dependency skip the wait by themselves: collectstatic,
# check, help and version (manage.py), anything with --help, check_dependencies
# (it waits on its own) and migrate: check_dependencies counts unapplied
# migrations as "not ready", and migrate is what applies them (compose starts
# it once PostgreSQL's own health check passes).
set -eu

needs_dependencies() {
    [ "${SKIP_DEPENDENCY_WAIT:-0}" = 1 ] && return 1
    after_manage=0
    for arg in "$@"; do
        case "$arg" in
            --help | -h) return 1 ;;
        esac
        if [ "$after_manage" = 1 ]; then
            case "$arg" in
                collectstatic | check | help | version | migrate | check_dependencies) return 1 ;;
            esac
            after_manage=0
        fi
        case "$arg" in
            *manage.py) after_manage=1 ;;
        esac
    done
    return 0
}

if [ "$#" -eq 0 ]; then
    echo "entrypoint: no command given" >&2
    exit 64
fi

if needs_dependencies "$@"; then
    wait_seconds="${DEPENDENCY_WAIT:-60}"
    echo "entrypoint: waiting up to ${wait_seconds} s for the dependencies" >&2
    python example_project/manage.py check_dependencies --wait "$wait_seconds"
fi
exec "$@"
