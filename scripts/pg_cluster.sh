#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for building the dbt models on PostgreSQL
# (docs/engines.md, make test-postgres).
#
#   scripts/pg_cluster.sh start DIR PORT   initdb into DIR/data, listen on 127.0.0.1:PORT only,
#                                          create the login role (allowed to create databases)
#                                          and database `wh` (password `wh`), print the
#                                          environment dbt's `pg` target reads
#   scripts/pg_cluster.sh stop DIR         stop that cluster, and only that one (pg_ctl -D)
#
# DIR must be empty or absent. PostgreSQL refuses to run as root, so when this script runs
# as root the cluster runs as the `postgres` system user (the Debian package creates it) and
# DIR is handed to that user: its parent folders must let it through (a `mktemp -d` folder
# directly under /tmp does; pytest's tmp_path, under a 0700 folder, does not).
# PG_BIN overrides the folder of initdb / pg_ctl / psql (default: the newest
# /usr/lib/postgresql/*/bin, else the folder of `pg_config --bindir`).
set -euo pipefail

usage() {
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
}

pg_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then
        echo "$PG_BIN"
        return
    fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$newest" && -x "$newest/initdb" ]]; then
        echo "$newest"
    elif command -v pg_config >/dev/null 2>&1; then
        pg_config --bindir
    else
        echo "no PostgreSQL server found: apt-get install -y postgresql (or set PG_BIN)" >&2
        exit 1
    fi
}

# Run a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local dir=$1 port=$2 bin
    bin=$(pg_bin)
    [[ "$port" =~ ^[0-9]+$ ]] || { echo "PORT must be a number, got '$port'" >&2; exit 2; }
    mkdir -p "$dir"
    if [[ -n "$(ls -A "$dir")" ]]; then
        echo "$dir is not empty: give a new folder" >&2
        exit 1
    fi
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || { echo "running as root needs a 'postgres' user" >&2; exit 1; }
        chown postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "user postgres cannot write $dir (a parent folder is closed to it)" >&2
            exit 1
        fi
    fi
    chmod 700 "$dir"
    as_owner mkdir -m 700 "$dir/data" "$dir/sock"

    # Trust on the owner's socket only (to create the role below); TCP needs the password.
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
    # A scratch cluster: no fsync. JIT off: it compiles the large view-on-view queries of the
    # indicator models for seconds each, which costs more than it saves (5x on int_customer_months).
    local options="-c listen_addresses=127.0.0.1 -p $port -k $dir/sock"
    options+=" -c fsync=off -c jit=off -c work_mem=64MB"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 -o "$options" \
        start >/dev/null

    local psql=("$bin/psql" -h "$dir/sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q)
    # CREATEDB: the PostgreSQL scenario test builds its full-rebuild twin in a second database.
    as_owner "${psql[@]}" -c "create role wh login createdb password 'wh'"
    # A separate call: CREATE DATABASE cannot run inside a transaction block.
    as_owner "${psql[@]}" -c "create database wh owner wh"

    cat <<EOF
export WH_PG_HOST=127.0.0.1
export WH_PG_PORT=$port
export WH_PG_USER=wh
export WH_PG_PASSWORD=wh
export WH_PG_DB=wh
export WH_DBT_TARGET=pg
EOF
}

stop() {
    local dir=$1 bin
    bin=$(pg_bin)
    if [[ ! -f "$dir/data/postmaster.pid" ]]; then
        echo "no running cluster in $dir" >&2
        return 0
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
}

case "${1:-}" in
    start) [[ $# -eq 3 ]] || usage; start "$2" "$3" ;;
    stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
    *) usage ;;
esac
