# Sourced by .ci/run (bash): makes sure PostgreSQL and Redis run on this machine, installing them
# first where they are missing, and exports what the tests use:
#   DATABASE_URL             a dedicated PostgreSQL database (the platform suite runs on it;
#                            pytest-django creates test_bulwark_test beside it)
#   BULWARK_TEST_BROKER_URL  a Redis database for the end-to-end tests' Celery broker
# Any failure here stops CI: a missing service is an error, never a skipped test.

BULWARK_DB_USER=bulwark
BULWARK_DB_PASSWORD=bulwark-ci-only
BULWARK_DB_NAME=bulwark_test
REDIS_PORT=6379

ci_install_services() {
  local missing=""
  command -v pg_ctlcluster >/dev/null 2>&1 || missing="$missing postgresql"
  command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
  if [ -n "$missing" ]; then
    echo "ci: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  fi
}

ci_start_postgres() {
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    echo "ci: no PostgreSQL cluster under /etc/postgresql" >&2
    return 1
  fi
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    echo "ci: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 && break
    sleep 0.5
  done
  pg_isready -h 127.0.0.1
  # The role may create databases: pytest-django makes test_<name>, the e2e tests their own.
  (cd /tmp && runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt) <<SQL
SELECT 'CREATE ROLE $BULWARK_DB_USER LOGIN CREATEDB PASSWORD ''$BULWARK_DB_PASSWORD'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$BULWARK_DB_USER') \gexec
ALTER ROLE $BULWARK_DB_USER LOGIN CREATEDB PASSWORD '$BULWARK_DB_PASSWORD';
SELECT 'CREATE DATABASE $BULWARK_DB_NAME OWNER $BULWARK_DB_USER'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$BULWARK_DB_NAME') \gexec
SQL
  export DATABASE_URL="postgres://$BULWARK_DB_USER:$BULWARK_DB_PASSWORD@127.0.0.1:5432/$BULWARK_DB_NAME"
}

ci_start_redis() {
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "ci: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
  for _ in $(seq 1 60); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null
  # Database 15: the tests flush it; a developer's data in 0 stays.
  export BULWARK_TEST_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/15"
}

ci_services() {
  ci_install_services
  ci_start_postgres
  ci_start_redis
  echo "ci: PostgreSQL and Redis up (DATABASE_URL and BULWARK_TEST_BROKER_URL exported)"
}
