#!/bin/sh
# A CI gate for egregora-pipeline, runnable as it is or step by step (docs/ci.md):
#
#   sh docs/ci-example.sh              every step, in order
#   sh docs/ci-example.sh STEP...      only these: install, schema, defs, ingest
#
# install  creates .venv and installs the project with its pinned tree
# schema   creates the warehouse at head when it is a DuckDB file that does not exist yet
#          (a fresh CI warehouse), then gates it as it is: `db check --json` (exit 1 and
#          the drifted columns listed when it does not match the declared schema)
# defs     `dg check defs`: the Dagster definitions load
# ingest   ingests a fixture and fails on a failed asset check or a rejected input,
#          naming each
#
# Settings (environment): EGREGORA_DATABASE (default: a fresh DuckDB file under
# $RUNNER_TEMP or /tmp), EGREGORA_CI_FIXTURE (default: examples), EGREGORA_CI_REPORTS
# (default: reports; JSON answers and JUnit XML go there), EGREGORA_CI_BIN (default:
# .venv/bin), PYTHON (default: python3, for install).
set -eu

cd "$(dirname "$0")/.."
BIN=${EGREGORA_CI_BIN:-.venv/bin}
REPORTS=${EGREGORA_CI_REPORTS:-reports}
FIXTURE=${EGREGORA_CI_FIXTURE:-examples}
WAREHOUSE=${EGREGORA_DATABASE:-${RUNNER_TEMP:-/tmp}/egregora-ci-$$/egregora.duckdb}
export EGREGORA_DATABASE="$WAREHOUSE"

step_install() {
    "${PYTHON:-python3}" -m venv .venv
    .venv/bin/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
}

step_schema() {
    mkdir -p "$REPORTS" "$(dirname "$WAREHOUSE")"
    case "$WAREHOUSE" in
        postgres:* | postgresql:*) ;;  # a server's warehouse is gated as it is
        *) [ -e "$WAREHOUSE" ] || "$BIN/egregora-pipeline" db upgrade --json >"$REPORTS/db-upgrade.json" ;;
    esac
    status=0
    "$BIN/egregora-pipeline" db check --json --junit "$REPORTS/db-check.xml" \
        >"$REPORTS/db-check.json" || status=$?
    if [ "$status" -ne 0 ]; then
        # exit 1: drift (the document lists it); 3: could not check (an error document)
        "$BIN/python" - "$REPORTS/db-check.json" <<'EOF'
import json, sys
answer = json.load(open(sys.argv[1]))
if "error" in answer:
    print(f"db check could not run: {answer['error']['message']}", file=sys.stderr)
for problem in answer.get("problems", []):
    print(f"schema drift: {problem}", file=sys.stderr)
EOF
        exit "$status"
    fi
    echo "schema gate passed: $WAREHOUSE"
}

step_defs() {
    "$BIN/dg" check defs
}

step_ingest() {
    mkdir -p "$REPORTS" "$(dirname "$WAREHOUSE")"
    status=0
    "$BIN/egregora-pipeline" ingest --ephemeral --json --junit "$REPORTS/ingest.xml" \
        "$FIXTURE" >"$REPORTS/ingest.json" || status=$?
    "$BIN/python" - "$REPORTS/ingest.json" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
if "error" in run:
    sys.exit(f"ingest could not run: {run['error']['message']}")
for check in run["checks"]:
    if check["fails_the_run"]:
        print(f"failed asset check {check['asset']}:{check['name']}: "
              f"{check['offending_rows']} offending row(s), e.g. {check['sample'][:1]}",
              file=sys.stderr)
for item in run["inputs"]:
    for rejection in item["rejections"]:
        where = ":".join(str(p) for p in (rejection["source_path"], rejection["line"]) if p is not None)
        print(f"rejected {where}: {rejection['reason']}", file=sys.stderr)
for failure in run["failures"]:
    print(f"step {failure['step']} failed: {failure['message']}", file=sys.stderr)
print(f"Dagster run {run['run_id']}: ok={run['ok']}")
sys.exit(0 if run["ok"] else run["exit_code"])
EOF
    # the document and the exit code agree; trust the exit code if the reader did not run
    [ "$status" -eq 0 ] || exit "$status"
}

if [ "$#" -eq 0 ]; then
    set -- install schema defs ingest
fi
for step in "$@"; do
    case "$step" in
        install | schema | defs | ingest) "step_$step" ;;
        *) echo "unknown step $step (install, schema, defs, ingest)" >&2; exit 2 ;;
    esac
done
