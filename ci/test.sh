#!/usr/bin/env bash
# The linter, the formatter's check and the whole test suite (what `make test` runs). When Debian's postgresql is installed and no
# EMOTIONET_TEST_PG_URL is given, the storage tests also run against a throwaway local server.
set -uo pipefail
cd "$(dirname "$0")/.."
# Lint and format first (pyproject.toml): a failure here fails the run before the slow tests start.
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || { echo "ci/test.sh: run '.venv/bin/ruff format .'" >&2; exit 1; }
started=""
if [ -z "${EMOTIONET_TEST_PG_URL:-}" ] && ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    if url="$(bash ci/postgres.sh start)"; then
        export EMOTIONET_TEST_PG_URL="$url"
        started=1
    else
        echo "ci/test.sh: could not start PostgreSQL; its tests will be skipped" >&2
    fi
fi
# Three workers, one test module each at a time (module-scoped servers and libraries start once per
# module): a browser test leaves its core idle while it waits on the page, and three workers keep both
# cores busy (four gave no more; docs/benchmarks.md, "The test suite"). EMOTIONET_TEST_WORKERS=0 runs
# the suite in this one process.
.venv/bin/python -m pytest -n "${EMOTIONET_TEST_WORKERS:-3}" --dist loadfile "$@"
rc=$?
[ -n "$started" ] && bash ci/postgres.sh stop >/dev/null 2>&1
exit $rc
