#!/usr/bin/env bash
# `npm test`: lint, typecheck, then the whole test suite twice, once on
# SQLite and once on PostgreSQL. Every step runs even if an earlier one
# failed, so one CI run shows all problems; the exit code is non-zero if any
# step failed. The last line is the plain total over both runs:
#   total: N passed, N failed, N skipped
#
# Usage: bash scripts/test.sh [FILTER...]   (filters go to run-tests.mjs)
#
# Environment read: STOCKADE_TEST_CONCURRENCY (run-tests.mjs),
#   STOCKADE_PG_FORCE_THROWAWAY (ensure-postgres.sh).
# Environment set for the tests: STOCKADE_TEST_DB=sqlite|postgres,
#   STOCKADE_TEST_PG_URL (postgres run), STOCKADE_TEST_SUMMARY.
set -uo pipefail

cd "$(dirname "$0")/.."

WORK=$(mktemp -d /tmp/stockade-test.XXXXXX)
PG_CLEANUP=$WORK/pg-cleanup.sh
: >"$PG_CLEANUP"

# Stop a throwaway PostgreSQL (if ensure-postgres.sh started one) however we exit.
cleanup() {
  bash "$PG_CLEANUP" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STEP_NAMES=()
STEP_RESULTS=()
STEP_SECS=()
FAILED_STEPS=()
TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0
N_STEPS=6
STEP_NO=0

# Wall-clock timing with 0.1 s resolution (bash 5's EPOCHREALTIME, in µs).
now_us() { echo "${EPOCHREALTIME/./}"; }
since() { local d=$(( ($(now_us) - $1) / 100000 )); echo "$((d / 10)).$((d % 10))"; }

heading() {
  STEP_NO=$((STEP_NO + 1))
  echo
  echo "==> [$STEP_NO/$N_STEPS] $1"
}

# record NAME RC SECONDS [NOTE]
record() {
  STEP_NAMES+=("$1")
  STEP_SECS+=("$3")
  if [[ $2 -eq 0 ]]; then
    STEP_RESULTS+=("ok${4:+  $4}")
  else
    STEP_RESULTS+=("FAILED (exit $2)${4:+  $4}")
    FAILED_STEPS+=("$1")
  fi
  echo "--> $1: ${STEP_RESULTS[-1]} in ${3}s"
}

# run_step NAME COMMAND... : heading, timing, result.
run_step() {
  local name=$1 start rc
  shift
  heading "$name: $*"
  start=$(now_us)
  "$@"
  rc=$?
  record "$name" "$rc" "$(since "$start")"
}

# run_tests DB [ENV=VALUE...] : one full run of the suite, counts added to the totals.
run_tests() {
  local db=$1 summary=$WORK/summary-$1.json start rc counts pass fail skip
  shift
  heading "tests ($db): node scripts/run-tests.mjs ${FILTERS[*]}"
  start=$(now_us)
  env "$@" STOCKADE_TEST_DB="$db" STOCKADE_TEST_SUMMARY="$summary" \
    node scripts/run-tests.mjs "${FILTERS[@]}"
  rc=$?
  # pass fail(+cancelled) skipped(+todo) from the runner's own closing counts.
  counts=$(node -e '
    try {
      const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
      console.log(s.pass, s.fail + s.cancelled, s.skipped + s.todo);
    } catch { console.log("0 0 0"); }
  ' "$summary")
  read -r pass fail skip <<<"$counts"
  # A run that failed without any failing test (crash, no tests, no counts)
  # still counts as one failure, so the total line agrees with the exit code.
  if [[ $rc -ne 0 && $fail -eq 0 ]]; then fail=1; fi
  TOTAL_PASS=$((TOTAL_PASS + pass))
  TOTAL_FAIL=$((TOTAL_FAIL + fail))
  TOTAL_SKIP=$((TOTAL_SKIP + skip))
  record "tests ($db)" "$rc" "$(since "$start")" "$pass passed, $fail failed, $skip skipped"
}

# The runner (Node 20, --test-force-exit, under load) has been seen to end a file's process
# before its last tests reported: they are then neither passed nor failed. Both databases run
# the same tests, so a file with fewer results in one run is run again, alone, on that
# database, and must report every test.
recover_lost_tests() {
  local lost db file have_pass have want summary pass fail rc=0 start
  [[ -f $WORK/summary-sqlite.files.txt && -f $WORK/summary-postgres.files.txt ]] || return 0
  if ! lost=$(node scripts/lost-tests.mjs sqlite "$WORK/summary-sqlite.files.txt" postgres "$WORK/summary-postgres.files.txt"); then
    TOTAL_FAIL=$((TOTAL_FAIL + 1))
    record "lost tests" 1 0 "could not compare the two runs"
    return 0
  fi
  [[ -n $lost ]] || return 0
  echo
  echo "==> tests the runner lost, run again alone"
  start=$(now_us)
  while read -r db file have_pass have want; do
    echo "$db: $file reported $have of the $want tests the other run reported; running it again"
    summary=$WORK/rerun-$db.json
    if [[ $db == postgres ]]; then
      env STOCKADE_TEST_PG_URL="$PG_URL" STOCKADE_TEST_DB="$db" STOCKADE_TEST_SUMMARY="$summary" node scripts/run-tests.mjs "$file"
    else
      env STOCKADE_TEST_DB="$db" STOCKADE_TEST_SUMMARY="$summary" node scripts/run-tests.mjs "$file"
    fi
    read -r pass fail <<<"$(node -e '
      try {
        const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
        console.log(s.pass, s.fail + s.cancelled);
      } catch { console.log("0 1"); }
    ' "$summary")"
    if [[ $fail -gt 0 || $((pass + fail)) -lt $want ]]; then
      echo "$db: $file: $pass passed, $fail failed of $want on its own"
      TOTAL_FAIL=$((TOTAL_FAIL + (fail > 0 ? fail : 1)))
      rc=1
    else
      TOTAL_PASS=$((TOTAL_PASS + pass - have_pass))
    fi
  done <<<"$lost"
  record "lost tests" "$rc" "$(since "$start")" "$(wc -l <<<"$lost") file(s) run again"
}

FILTERS=("$@")

run_step lint npx --no -- eslint .
run_step typecheck npx --no -- tsc --noEmit -p tsconfig.json
run_step clients bash scripts/ensure-clients.sh

heading "postgres: bash scripts/ensure-postgres.sh"
start=$(now_us)
PG_URL=$(STOCKADE_PG_CLEANUP_FILE=$PG_CLEANUP bash scripts/ensure-postgres.sh)
rc=$?
[[ $rc -eq 0 ]] && echo "PostgreSQL for the tests: $PG_URL"
record postgres "$rc" "$(since "$start")"

run_tests sqlite

if [[ $rc -eq 0 && -n $PG_URL ]]; then
  run_tests postgres STOCKADE_TEST_PG_URL="$PG_URL"
else
  heading "tests (postgres): not run, no PostgreSQL"
  TOTAL_FAIL=$((TOTAL_FAIL + 1))
  record "tests (postgres)" 1 0 "not run: no PostgreSQL"
fi

recover_lost_tests

echo
echo "==> Summary"
for i in "${!STEP_NAMES[@]}"; do
  printf '  %-18s %6ss  %s\n' "${STEP_NAMES[$i]}" "${STEP_SECS[$i]}" "${STEP_RESULTS[$i]}"
done
if [[ ${#FAILED_STEPS[@]} -gt 0 ]]; then
  echo "FAILED steps: ${FAILED_STEPS[*]}"
  STATUS=1
else
  echo "all steps passed"
  STATUS=0
fi
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
exit $STATUS
