#!/usr/bin/env bash
# Installs the servers the store and engine tests need (Debian's postgresql and redis-server) when
# they are missing and this is a root shell with apt-get (CI, a fresh container). Elsewhere it only
# says what is missing: those tests then skip with a reason (with CI=true they fail instead).
set -uo pipefail
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
missing=()
have_pg || missing+=(postgresql)
have_redis || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]} from Debian for the Postgres / Redis tests" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "warning: could not install ${missing[*]}; the Postgres / Redis tests will skip (fail under CI=true)" >&2
else
  echo "note: ${missing[*]} not installed; the Postgres / Redis tests will skip (install: apt-get install ${missing[*]})" >&2
fi
exit 0
