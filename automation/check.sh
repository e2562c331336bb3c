#!/bin/bash
# The project's checks, one definition used by make, tox and CI.
#
#   automation/check.sh STEP...
#
# Steps:
#   lint    ruff over lib/ vdsm/ vdsm_hooks/ tests/ (pyproject.toml)
#   mypy    mypy on lib/vdsm (settings: pyproject.toml)
#   quick   the tests without the slow and stress markers
#   all     every test, slow and stress included
#   doc     regenerate doc/api.md from the API schema
#   doc-check  warn (never fail) when doc/api.md is older than the schema
#
# Environment: PYTHON (default: /opt/vdsm-venv/bin/python, else
# /usr/bin/python3), PYTEST_ARGS (extra pytest arguments).
# pytest's exit code 5 (no test collected) counts as success.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x /opt/vdsm-venv/bin/python ]; then
        PYTHON=/opt/vdsm-venv/bin/python
    else
        PYTHON=/usr/bin/python3
    fi
fi
read -r -a pytest_args <<< "${PYTEST_ARGS:-}"

step() {
    echo "=== $* ==="
}

entry_points() {
    # Extension-less Python scripts in vdsm/ (ruff skips them in a
    # directory walk).
    [ -d "$top/vdsm" ] || return 0
    find "$top/vdsm" -maxdepth 1 -type f ! -name '*.*' -print0 |
        xargs -0 -r grep -l '^#!.*python' || true
}

run_lint() {
    step "lint: ruff"
    local paths=(lib tests) d
    for d in vdsm vdsm_hooks; do
        [ -d "$top/$d" ] && paths+=("$d")
    done
    local scripts
    mapfile -t scripts < <(entry_points)
    (cd "$top" && "$PYTHON" -m ruff check "${paths[@]}" "${scripts[@]}")
}

run_mypy() {
    step "mypy: lib/vdsm"
    (cd "$top" && "$PYTHON" -m mypy)
}

run_pytest() {
    local rc=0
    (cd "$top/tests" && PYTHONPATH="$top/lib" \
        "$PYTHON" -m pytest -ra "$@" "${pytest_args[@]}") || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest: no test was collected (exit 5), not a failure"
        rc=0
    fi
    return "$rc"
}

run_quick() {
    step "tests: quick (not slow, not stress)"
    run_pytest -m "not slow and not stress"
}

run_all() {
    step "tests: all (quick, slow and stress)"
    run_pytest
}

run_doc() {
    step "doc: doc/api.md"
    mkdir -p "$top/doc"
    (cd "$top" && PYTHONPATH="$top/lib" \
        "$PYTHON" -m vdsm.api.docgen -o doc/api.md)
    echo "wrote $top/doc/api.md"
}

run_doc_check() {
    step "doc-check: doc/api.md"
    local fresh
    fresh=$(cd "$top" && PYTHONPATH="$top/lib" "$PYTHON" -m vdsm.api.docgen)
    if [ "$fresh" == "$(cat "$top/doc/api.md" 2>/dev/null)" ]; then
        echo "doc/api.md is up to date"
    else
        echo "WARNING: doc/api.md differs from the schema: run make doc"
    fi
}

if [ $# -eq 0 ]; then
    sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 2
fi

for s in "$@"; do
    case "$s" in
        lint|mypy|quick|all|doc) "run_$s" ;;
        doc-check) run_doc_check ;;
        *) echo "unknown step: $s" >&2; exit 2 ;;
    esac
done
