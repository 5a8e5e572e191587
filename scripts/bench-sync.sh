#!/usr/bin/env bash
# The contacts-sync benchmark at full scale, from the command line as an
# information center would run it (docs/contacts-sync.md, "Benchmark"):
# a standalone simulator (`wecomapp sim --seed empty`, today's rules,
# default limits), the seed generator (`wecomapp seed --scale full`), and
# `wecomapp sync` with wecom.api_base pointing at the simulator:
#
#   1. the first sync of an empty corp (batch jobs for the members),
#   2. a run with nothing changed,
#   3. a run after 1 % churn (joins, leavers, transfers, renamed
#      departments, a tag rule change),
#   4. a run killed mid-apply and restarted,
#   5. an export with half the students missing (the guard stops it).
#
# For each run it prints the exit status, wall time, peak memory (the sync
# process's maximum resident set) and the API requests by endpoint.
# Usage: scripts/bench-sync.sh [full|demo]   (WORK=dir keeps the files)
set -euo pipefail
scale=${1:-full}
here=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
bin=$work/wecomapp
port=${PORT:-19391}
go build -o "$bin" "$here/cmd/wecomapp"

cat >"$work/config.yaml" <<CFG
database:
  driver: sqlite
  dsn: "file:$work/wecomapp.db"
simulator:
  enabled: false
wecom:
  api_base: "http://127.0.0.1:$port"
  corp_id: wwbenchsync000001
  http_timeout: 30s
log:
  level: warn
CFG
head -c 32 /dev/urandom | base64 >"$work/data.key"
export WECOMAPP_CONFIG=$work/config.yaml
export WECOMAPP_SECURITY_DATA_KEY_FILE=$work/data.key
export WECOMAPP_WECOM_CONTACTS_SECRET=bench-contacts-secret-0123456789
export WECOMAPP_WECOM_CONTACTS_TOKEN=benchtoken WECOMAPP_WECOM_CONTACTS_ENCODING_AES_KEY=jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C
export WECOMAPP_WECOM_APPS_HALL_SECRET=bench-hall-secret-0123456789 WECOMAPP_WECOM_APPS_HALL_TOKEN=benchtoken
export WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY=jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C

"$bin" sim --addr "127.0.0.1:$port" --seed empty >"$work/sim.out" 2>"$work/sim.err" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.2; done

"$bin" migrate up >/dev/null
"$bin" seed --scale "$scale"

run() { # name, args…
  local name=$1; shift
  local start end rc=0
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/$name.mem" "$bin" sync "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  end=$(date +%s.%N)
  printf '\n== %s (exit %d, %.1f s, peak %d MB)\n' "$name" "$rc" "$(echo "$end - $start" | bc)" "$(( $(tail -1 "$work/$name.mem") / 1024 ))"
  grep -E '^(plan|run|batch|API|failed|nothing|the guard)' "$work/$name.out" | cut -c1-400 || true
}

run first
echo; echo "== verify after the first sync (WeCom's ids against the mirror)"
"$bin" sync --verify 2>&1 | tail -2
run nochange
"$bin" seed --churn 0.01 --churn-seed 7
run churn

# Killed mid-apply: another churn, the sync killed (SIGKILL) once its
# progress passes 30 %, then run again; no create may be applied twice
# (the simulator would answer 60102, which the resumed run reports as an
# adoption).
"$bin" seed --churn 0.01 --churn-seed 8
"$bin" sync >"$work/killed.out" 2>"$work/killed.err" &
pid=$!
for _ in $(seq 600); do grep -qE '\((3|4|5|6|7|8|9)[0-9]%\)' "$work/killed.err" 2>/dev/null && break; sleep 0.01; done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
echo; echo "== killed at: $(grep -E 'operations \(' "$work/killed.err" | tail -1)"
run resumed
grep -q '^adopted' "$work/resumed.out" && echo "resumed: $(grep '^adopted' "$work/resumed.out" | cut -c1-200)" || echo "resumed: no member created twice (nothing adopted)"
run after-resume

# Half the students missing from the export: the guard stops the run.
# (The data center writes these tables itself each night; a distribution
# that stopped half-way is half the rows.)
python3 - "$work/wecomapp.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM dc_students WHERE rowid % 2 = 0"); c.commit()
PY
run half-missing
echo; echo "== verify at the end"
"$bin" sync --verify 2>&1 | tail -2
echo; echo "files in $work"
