#!/bin/bash
# A cluster of vdsm hosts on this machine (see tests/fixtures/cluster.py).
#
#   automation/cluster.sh up N          bring up N hosts (seconds)
#   automation/cluster.sh status        hosts, addresses, UUIDs, URIs
#   automation/cluster.sh exec I CMD..  run CMD inside host I (a shell
#                                       without CMD)
#   automation/cluster.sh down          stop everything, remove all
#
# CLUSTER=name picks another cluster (default: default). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/opt/vdsm-venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" tests/fixtures/cluster.py --name "${CLUSTER:-default}" "$@"
