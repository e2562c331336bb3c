#!/bin/sh
# Build the small test guest (Debian kernel + busybox initramfs) into a
# cache dir, default /var/cache/vdsm-tests/guest; prints the directory.
# Needs linux-image-amd64, busybox-static and cpio (automation/packages/
# virt.txt).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
exec python3 "$top/tests/fixtures/testguest.py" "$@"
