#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 and prepare a database for the test suite.
# Prints the DATABASE_URL to use on its last line. Safe to run when it is already up.
set -euo pipefail
PGPASS=${SK_PG_PASSWORD:-seatkeeper-ci}
PGDB=${SK_PG_DATABASE:-seatkeeper_test}
if ! pg_lsclusters -h | awk '$1=="15" && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect 15 main start >&2
fi
for _ in $(seq 1 50); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 0.2
done
# Local TCP asks for a password: set one as the postgres OS user (peer auth works there).
su postgres -c "psql -q -v ON_ERROR_STOP=1 -c \"ALTER USER postgres PASSWORD '${PGPASS}'\"" >&2
if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = '${PGDB}'\"" | grep -q 1; then
  su postgres -c "createdb ${PGDB}" >&2
fi
echo "postgres://postgres:${PGPASS}@127.0.0.1:5432/${PGDB}"
