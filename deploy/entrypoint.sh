#!/bin/sh
# The image's entry point: `web` migrates the database, syncs rulesets/ into the catalogue and
# runs gunicorn; `worker` and `beat` run Celery; anything else runs as given (manage.py ...).
set -eu
role=${1:-web}
case "$role" in
  web)
    python manage.py migrate --noinput
    python manage.py sync_rulesets
    exec gunicorn -c deploy/gunicorn.conf.py
    ;;
  worker)
    # Audits wait on the network: one process runs many at once in threads.
    exec celery -A bulwark.celery_app worker --loglevel "${LOG_LEVEL:-INFO}" \
      --pool threads --concurrency "${WORKER_CONCURRENCY:-16}"
    ;;
  beat)
    exec celery -A bulwark.celery_app beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule /var/lib/bulwark/celerybeat-schedule
    ;;
  *)
    exec "$@"
    ;;
esac
