#!/usr/bin/env bash
# The tests' environment, for `make test` and CI alike: install the system parts the tests need
# when one is missing (Debian, as root), give them a throwaway PostgreSQL server unless
# OCOP_TEST_DATABASE_URL names one, and run the command given inside that environment.
#
#   scripts/test-env.sh COMMAND [ARG ...]
#   scripts/test-env.sh .venv/bin/python -m pytest tests/test_scans.py -k flush
set -euo pipefail

if [ $# = 0 ]; then
  echo "usage: scripts/test-env.sh COMMAND [ARG ...]" >&2
  exit 2
fi

# The system parts, each as a test for it and the Debian package that provides it.
missing=()
command -v chromium >/dev/null || missing+=(chromium)  # the pages, in a real browser
command -v node >/dev/null || missing+=(nodejs)  # the independent verifier in tests/interop
[ -e /usr/lib/softhsm/libsofthsm2.so ] || missing+=(softhsm2)  # a real PKCS#11 token for the keys
postgres_bin() {  # the newest server's programs, as Debian's postgresql packages lay them out
  compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1
}
if [ -z "${OCOP_TEST_DATABASE_URL:-}" ] && [ ! -x "$(postgres_bin || true)/initdb" ]; then
  missing+=(postgresql)  # a server of our own for the run, started below
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-env: installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    {
      needed=$(printf '%s, ' "${missing[@]}")
      echo "test-env: the tests need ${needed%, }, which this machine lacks. On Debian run:"
      echo
      echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
      echo
      echo "then make test again. Elsewhere, install Chromium (as 'chromium' on the PATH),"
      echo "Node.js and SoftHSM2 (set OCOP_TEST_PKCS11_MODULE to its libsofthsm2.so), and set"
      echo "OCOP_TEST_DATABASE_URL to a PostgreSQL database the tests may create and drop"
      echo "schemas in (postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE)."
    } >&2
    exit 1
  fi
fi

if [ -n "${OCOP_TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

# A server of our own for this run: a cluster in a temporary directory, on a free port and
# with its socket there too, so the machine's own clusters are never touched; removed when the
# command ends, however it ends. It holds nothing worth keeping: no fsync.
pg_bin=$(postgres_bin)
cluster=$(mktemp -d -t ocop-test-pg.XXXXXX)
as_owner() {  # initdb and postgres refuse to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_cluster() {
  as_owner "$pg_bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] && chown postgres "$cluster"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
echo "$password" >"$cluster/password"
if ! as_owner "$pg_bin/initdb" -D "$cluster/data" -U ocop --pwfile="$cluster/password" \
  -A scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$cluster/initdb.log" 2>&1 ||
  ! as_owner "$pg_bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w start -o \
    "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >/dev/null; then
  echo "test-env: could not start a PostgreSQL server for the tests:" >&2
  cat "$cluster/initdb.log" "$cluster/server.log" >&2 2>/dev/null || true
  exit 1
fi
export OCOP_TEST_DATABASE_URL="postgresql+psycopg://ocop:$password@127.0.0.1:$port/postgres"
status=0
"$@" || status=$?
exit $status
