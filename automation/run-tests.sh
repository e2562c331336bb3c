#!/bin/bash
# Run every check of the project, as CI does: build with autotools, lint,
# mypy, all tests (quick, slow and stress) with skip reasons, then build
# the RPM and list its files.
#
#   automation/run-tests.sh [PYTEST_ARGS...]
#
# Needs the dependencies of automation/setup-host.sh --deps-only.
# Run as root: tests use loop devices, namespaces and libvirtd.
set -euo pipefail

cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-/opt/vdsm-venv/bin/python}
PYTEST_ARGS="--durations=25 $*"
log=$(mktemp /tmp/vdsm-tests.XXXXXX)
trap 'rm -f "$log"' EXIT
start=$SECONDS

stage() {
    echo
    echo "##### $* ($((SECONDS - start)) s)"
}

stage "build: ./autogen.sh --system && make"
./autogen.sh --system >"$log" 2>&1 || { cat "$log"; exit 1; }
make

stage "make check-all: lint, mypy, all tests"
make check-all PYTEST_ARGS="$PYTEST_ARGS" 2>&1 | tee "$log"
summary=$(grep -E '^=+ .*(passed|failed|skipped|deselected|no tests ran).* =+$' \
    "$log" | tail -n 1 || true)

bash automation/check.sh doc-check

stage "make rpm"
make rpm >"$log" 2>&1 || { cat "$log"; exit 1; }
for rpm in rpmbuild/RPMS/noarch/*.rpm; do
    echo "--- $rpm"
    case "$rpm" in
        */vdsm-python-*)  # the whole library: its packages and a count
            rpm -qlp "$rpm" | grep -E '/vdsm(/[a-z_]+)?$'
            echo "($(rpm -qlp "$rpm" | grep -c '\.py$') python modules)" ;;
        *) rpm -qlp "$rpm" ;;
    esac
done

stage "done"
echo "pytest: ${summary:-no summary}"
