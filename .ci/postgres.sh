#!/usr/bin/env bash
# Install (apt-get: postgresql), start a local PostgreSQL cluster listening on loopback only,
# create a test role and database, and print the DSN for the ledger's PostgreSQL tests.
#
# Usage (from the repository root, as root or with passwordless sudo):
#     eval "$(.ci/postgres.sh)"        # exports INFERCARBON_TEST_POSTGRES_DSN
#     python -m pytest tests/ledger
#
# Only the `export ...` line goes to stdout; progress goes to stderr.  Idempotent: a second run
# reuses the installed server, the running cluster, the role and the database.  The server runs
# as the `postgres` OS user (never as root), from Debian's pg_ctlcluster (no systemd needed).
set -euo pipefail

DB="${INFERCARBON_PG_DB:-infercarbon_test}"
ROLE="${INFERCARBON_PG_ROLE:-infercarbon}"
PASSWORD="${INFERCARBON_PG_PASSWORD:-infercarbon}"

log() { echo "postgres.sh: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
as_postgres() { $SUDO runuser -u postgres -- "$@"; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
CLUSTER=main
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
  log "creating cluster $VERSION/$CLUSTER"
  $SUDO pg_createcluster "$VERSION" "$CLUSTER" >&2
fi

# loopback only (the Debian default is 'localhost'; make it explicit)
CONF="/etc/postgresql/$VERSION/$CLUSTER/postgresql.conf"
if ! grep -q "^listen_addresses = '127.0.0.1'" "$CONF"; then
  echo "listen_addresses = '127.0.0.1'" | $SUDO tee -a "$CONF" >/dev/null
fi

STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}')"
if [ "$STATUS" != "online" ]; then
  log "starting cluster $VERSION/$CLUSTER"
  $SUDO pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')"

# wait until it accepts connections
for _ in $(seq 1 30); do
  if as_postgres pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 1
done
as_postgres pg_isready -h 127.0.0.1 -p "$PORT" >&2

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
  log "creating role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  log "creating database $DB"
  psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi

DSN="postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
log "ready: $DSN"
echo "export INFERCARBON_TEST_POSTGRES_DSN='$DSN'"
