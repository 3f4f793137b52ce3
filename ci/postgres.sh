#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package.
#
#   export EMOTIONET_TEST_PG_URL="$(ci/postgres.sh start)"   # prints the SQLAlchemy URL
#   .venv/bin/python -m pytest ...
#   ci/postgres.sh stop                                       # stops it and deletes its files
#
# The cluster lives in $EMOTIONET_PG_DIR (default /tmp/emotionet-pg), listens on 127.0.0.1 only,
# on a free port, with trust authentication: for tests, never for data. PostgreSQL refuses to run
# as root, so under root the server runs as the `postgres` user (created by the package).
set -euo pipefail

STATE_DIR="${EMOTIONET_PG_DIR:-/tmp/emotionet-pg}"
DB_NAME="emotionet_test"
DB_USER="emotionet"

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"  # Debian
    if [ -z "$dir" ] && command -v initdb >/dev/null 2>&1; then
        dir="$(dirname "$(readlink -f "$(command -v initdb)")")"
    fi
    [ -n "$dir" ] || { echo "postgres.sh: no PostgreSQL found (apt-get install postgresql)" >&2; exit 1; }
    echo "$dir"
}

# Run a command as the user that owns the cluster.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        echo $((20000 + RANDOM % 20000))
    fi
}

stop() {
    local bin
    bin="$(pg_bin)"
    if [ -f "$STATE_DIR/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$STATE_DIR/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$STATE_DIR"
}

start() {
    local bin port
    bin="$(pg_bin)"
    stop  # a cluster left over from an earlier run
    mkdir -p "$STATE_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "postgres.sh: running as root needs the postgres user" >&2; exit 1; }
        chown postgres: "$STATE_DIR"
    fi
    as_owner "$bin/initdb" -D "$STATE_DIR/data" -U "$DB_USER" -A trust -E UTF8 --no-sync >/dev/null
    port="$(free_port)"
    as_owner "$bin/pg_ctl" -D "$STATE_DIR/data" -l "$STATE_DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $STATE_DIR -c fsync=off -c max_connections=100" \
        start >&2
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME"
    echo "postgresql+psycopg://$DB_USER@127.0.0.1:$port/$DB_NAME" | tee "$STATE_DIR/url"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) cat "$STATE_DIR/url" ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
