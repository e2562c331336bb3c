#!/bin/sh
# Generate configure and Makefile.in, then run configure.
#
#   ./autogen.sh --system     configure for an installed system:
#                             prefix=/usr sysconfdir=/etc localstatedir=/var
#   ./autogen.sh [ARGS]       pass ARGS to configure as they are
#   NOCONFIGURE=1 ./autogen.sh   only generate configure
set -e

srcdir=$(dirname "$0")
test -n "$srcdir" || srcdir=.

(cd "$srcdir" && autoreconf --install --force)

if [ -n "$NOCONFIGURE" ]; then
    echo "Skipping configure (NOCONFIGURE is set)"
    exit 0
fi

args=""
if [ "$1" = "--system" ]; then
    shift
    args="--prefix=/usr --sysconfdir=/etc --localstatedir=/var"
    args="$args --libdir=/usr/lib"
fi

echo "Running: $srcdir/configure $args $*"
# shellcheck disable=SC2086
"$srcdir/configure" $args "$@"
