# Sourced by scripts/test and scripts/bellhop: makes sure a local PostgreSQL answers on 5432
# (installing it with apt when missing), and, for the pg_stat_statements tests, a second local
# server on 5433 that preloads the extension (the first one is left as it is: other work may use it).

pg_say() { printf '\n== %s\n' "$*" >&2; }

pg_need_packages() {
    pg_say "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Starts the server on 5432 when nothing answers there; sets DATABASE_URL when unset.
ensure_postgres() {
    if [ -n "${DATABASE_URL:-}" ]; then return; fi
    export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
    if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then return; fi
    if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then
        pg_need_packages postgresql
    fi
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        pg_say "starting PostgreSQL"
        local version
        version="$(ls /etc/postgresql | sort -V | tail -1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
            || pg_ctlcluster "$version" main start
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
        pg_isready -h 127.0.0.1 -p 5432
    fi
    # A fresh server asks TCP clients for a password; give the tests one to use.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
}

# A cluster named bellhop_stats on 5433 with shared_preload_libraries = pg_stat_statements.
ensure_stats_server() {
    if [ -n "${BELLHOP_STATS_DATABASE_URL:-}" ]; then return; fi
    export BELLHOP_STATS_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5433/postgres"
    if pg_isready -q -h 127.0.0.1 -p 5433; then return; fi
    local version
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    if [ ! -d "/etc/postgresql/$version/bellhop_stats" ]; then
        pg_say "creating a PostgreSQL server on 5433 that preloads pg_stat_statements"
        pg_createcluster -p 5433 "$version" bellhop_stats -- --auth-local=trust --auth-host=scram-sha-256 >/dev/null
        echo "shared_preload_libraries = 'pg_stat_statements'" >>"/etc/postgresql/$version/bellhop_stats/postgresql.conf"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" bellhop_stats start 2>/dev/null \
        || pg_ctlcluster "$version" bellhop_stats start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5433 && break; sleep 1; done
    su postgres -c "psql -q -p 5433 -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
}
