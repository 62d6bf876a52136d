# Sourced by .ci/run: start a throwaway PostgreSQL on 127.0.0.1 for the PostgreSQL
# tests and export SCANBOT_TEST_POSTGRES_URL.  Best effort: when no PostgreSQL server can be
# had, say so loudly and leave the variable unset (those tests then skip with a reason).
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pg_bin" ] && command -v initdb >/dev/null 2>&1; then
    pg_bin=$(dirname "$(command -v initdb)")  # a server installed elsewhere on PATH
fi
if [ -z "$pg_bin" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "--- installing PostgreSQL (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
        || echo "WARNING: apt-get install postgresql failed"
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
fi
if [ -n "$pg_bin" ]; then
    pg_dir=$(mktemp -d /tmp/scanbot-ci-pg.XXXXXX)
    pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_pg=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system postgres
        chown postgres "$pg_dir"
        as_pg=(runuser -u postgres --)
    fi
    if "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null \
        && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir" start >/dev/null \
        && "${as_pg[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres scanbot_test; then
        export SCANBOT_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/scanbot_test"
        echo "--- PostgreSQL running on 127.0.0.1:$pg_port for the PostgreSQL tests (store, kill -9 e2e)"
        trap '"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
    else
        echo "WARNING: could not start PostgreSQL; the PostgreSQL tests will be skipped"
        [ -f "$pg_dir/log" ] && tail -5 "$pg_dir/log"
    fi
else
    echo "WARNING: no PostgreSQL server on this machine; the PostgreSQL tests will be skipped"
fi
