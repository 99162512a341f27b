#!/usr/bin/env bash
# Every check, in the order a reviewer would want the first failure:
# lint, format, types, web unit tests, then pytest on SQLite and PostgreSQL (browser tests included).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
failed=()

step() {
  local name=$1; shift
  echo "── $name"
  if ! "$@"; then failed+=("$name"); fi
}

scripts/test-setup.sh services || failed+=("services")
step "ruff check" "$BIN/ruff" check src tests bench
step "ruff format" "$BIN/ruff" format --check src tests bench
step "mypy" "$BIN/mypy"
step "web unit tests" bash -c "cd web && npm test --silent"

echo "── pytest (SQLite and PostgreSQL, one worker per core)"
# Each worker makes its own SQLite and PostgreSQL databases; CITYOS_TEST_WORKERS=0 runs
# everything in this process (for a debugger).
"$BIN/python" -m pytest -n "${CITYOS_TEST_WORKERS:-auto}" --dist loadgroup "$@"
code=$?
if [[ $code -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure" >&2
  failed+=("pytest (no tests)")
elif [[ $code -ne 0 ]]; then
  failed+=("pytest")
fi

if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all checks passed"
