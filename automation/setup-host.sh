#!/bin/bash
# Set up a Debian 12 host for Vdsm from this source tree, as root.
#
#   automation/setup-host.sh              dependencies, then configure and
#                                         start the daemons (dev mode)
#   automation/setup-host.sh --deps-only  dependencies only (CI: the tests
#                                         start their own daemons)
#   automation/setup-host.sh --restart    stop the daemons it started, then
#                                         start them again
#   automation/setup-host.sh --stop       stop the daemons it started
#
# Dependencies: the union of automation/packages/*.txt from apt, the venv
# /opt/vdsm-venv over Debian's /usr/bin/python3 (system site packages)
# with requirements-dev.txt from pip, and the vdsm user.
#
# Dev mode runs without systemd: vdsm-tool configure, libvirtd and
# virtlogd (restarted when configure changed libvirtd.conf after libvirtd
# started), sanlock if it can start, then supervdsmd (root) and vdsmd from
# this tree (PYTHONPATH=<tree>/lib) in the background; vdsmd starts as
# root and drops to vdsm:kvm before serving ([vars] drop_privileges in
# /run/vdsm/dev/vdsmd.conf), as vdsmd.service runs it. Their output goes to
# /var/log/vdsm/*.out, pid files to /run/vdsm/dev/. vdsm-client and
# vdsm-tool wrappers are put in /usr/local/bin.
#
# Running it again is safe: what is installed or running is left alone.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VDSM_VENV:-/opt/vdsm-venv}  # another path only to test this script
SYSTEM_PYTHON=/usr/bin/python3
VDSM_CONF=/etc/vdsm/vdsm.conf
LOG_DIR=/var/log/vdsm
PID_DIR=/run/vdsm/dev
PORT=54321
export DEBIAN_FRONTEND=noninteractive

say() {
    echo "setup-host: $*"
}

die() {
    echo "setup-host: ERROR: $*" >&2
    exit 1
}

# Dependencies ----------------------------------------------------------------

package_list() {
    cat "$REPO"/automation/packages/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' |
        sed '/^$/d' | sort -u
}

install_packages() {
    local wanted missing=()
    mapfile -t wanted < <(package_list)
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "all ${#wanted[@]} Debian packages are installed"
        return
    fi
    say "installing ${#missing[@]} Debian packages: ${missing[*]}"
    apt-get update -q </dev/null
    # Packages must not start their services (libvirtd, sanlock, dnsmasq
    # ...) on a machine without systemd: tests and dev mode start what
    # they need. policy-rc.d exit 101 = "action forbidden".
    local policy=/usr/sbin/policy-rc.d own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=yes
    fi
    local rc=0
    apt-get install -y -q "${wanted[@]}" </dev/null || rc=$?
    [ -z "$own_policy" ] || rm -f "$policy"
    [ "$rc" -eq 0 ] || die "apt-get install failed (exit $rc)"
}

setup_venv() {
    if ! "$VENV/bin/python" -c 'import libvirt, yaml' 2>/dev/null; then
        say "creating $VENV over $SYSTEM_PYTHON (system site packages)"
        "$SYSTEM_PYTHON" -m venv --clear --system-site-packages "$VENV"
    fi
    say "pip install -r requirements-dev.txt into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -r "$REPO/requirements-dev.txt" </dev/null
}

setup_user() {
    getent group kvm >/dev/null || groupadd -r kvm
    if ! getent passwd vdsm >/dev/null; then
        say "creating user vdsm (group kvm)"
        useradd -r -g kvm -d /var/lib/vdsm -s /usr/sbin/nologin \
            -c "Node Virtualization Manager" vdsm
    fi
    mkdir -p "$LOG_DIR" /var/lib/vdsm /run/vdsm
}

# Daemons ---------------------------------------------------------------------

have_entry() {
    # Entry points are written by other parts of the project; until one
    # lands, say so and go on.
    if [ -f "$REPO/$1" ]; then
        return 0
    fi
    say "SKIP $2: $1 does not exist in this tree yet"
    return 1
}

run_py() {
    PYTHONPATH="$REPO/lib" "$SYSTEM_PYTHON" "$@"
}

install_wrappers() {
    # /usr/local/bin/vdsm-client, vdsm-tool: the tree's entry points.
    local f name
    for f in "$REPO"/vdsm/vdsm-*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        printf '#!/bin/sh\nPYTHONPATH=%s/lib exec %s %s "$@"\n' \
            "$REPO" "$SYSTEM_PYTHON" "$f" >"/usr/local/bin/$name"
        chmod 755 "/usr/local/bin/$name"
        say "installed /usr/local/bin/$name"
    done
}

install_config() {
    [ -f "$VDSM_CONF" ] && return
    mkdir -p "$(dirname "$VDSM_CONF")"
    if [ -f "$REPO/static/etc/vdsm/vdsm.conf" ]; then
        cp "$REPO/static/etc/vdsm/vdsm.conf" "$VDSM_CONF"
    else
        printf '# Vdsm configuration: see lib/vdsm/common/config.py\n' \
            >"$VDSM_CONF"
    fi
    say "wrote $VDSM_CONF"
}

configure_host() {
    have_entry vdsm/vdsm-tool "vdsm-tool configure" || return 0
    # Plain configure (no --force) configures what is missing and never
    # replaces the PKI that clients already trust.
    if run_py "$REPO/vdsm/vdsm-tool" is-configured </dev/null >/dev/null 2>&1
    then
        say "host is configured (vdsm-tool is-configured)"
        return
    fi
    say "vdsm-tool configure"
    run_py "$REPO/vdsm/vdsm-tool" configure </dev/null
}

running() {
    # running NAME: a daemon we started whose process is alive.
    local pid
    pid=$(cat "$PID_DIR/$1.pid" 2>/dev/null) || return 1
    kill -0 "$pid" 2>/dev/null
}

libvirtd_is_stale() {
    # A running libvirtd started before libvirtd.conf, qemu.conf or
    # qemu-sanlock.conf last changed (by vdsm-tool configure) does not let
    # the vdsm user in yet, nor use the sanlock lock manager.
    local pid started changed f
    pid=$(pgrep -o -x libvirtd) || return 1
    started=$(stat -c %Y "/proc/$pid")
    for f in libvirtd.conf qemu.conf qemu-sanlock.conf; do
        changed=$(stat -c %Y "/etc/libvirt/$f" 2>/dev/null) || continue
        [ "$changed" -gt "$started" ] && return 0
    done
    return 1
}

start_system_daemons() {
    if ! pgrep -x virtlogd >/dev/null; then
        say "starting virtlogd"
        virtlogd -d
    fi
    if libvirtd_is_stale; then
        # Running guests survive: qemu processes do not depend on libvirtd.
        say "restarting libvirtd (its configuration changed since it started)"
        pkill -x libvirtd
        for _ in $(seq 30); do
            pgrep -x libvirtd >/dev/null || break
            sleep 1
        done
    fi
    if ! pgrep -x libvirtd >/dev/null; then
        say "starting libvirtd"
        libvirtd -d
    fi
    if command -v sanlock >/dev/null && ! pgrep -x sanlock >/dev/null; then
        say "starting sanlock"
        # As its packaged service runs it: user and socket group sanlock
        # (vdsm is in that group). Fails in containers without
        # CAP_SYS_RESOURCE (setrlimit).
        local ids=()
        ! getent passwd sanlock >/dev/null || ids=(-U sanlock -G sanlock)
        sanlock daemon -w 0 "${ids[@]}" || true
        # The daemon forks before it may fail: ask it.
        for _ in 1 2 3 4 5; do
            sleep 1
            sanlock client status >/dev/null 2>&1 && return 0
        done
        say "WARNING: sanlock did not start (see /var/log/sanlock.log;" \
            "without CAP_SYS_RESOURCE its setrlimit fails): storage" \
            "domains cannot get leases, and libvirt (lock_manager" \
            "sanlock) cannot start VMs"
    fi
}

start_daemon() {
    # start_daemon NAME ARGS...: vdsm/NAME in the background.
    local name=$1
    shift
    if running "$name"; then
        say "$name is running (pid $(cat "$PID_DIR/$name.pid"))"
        return
    fi
    say "starting $name $*"
    mkdir -p "$PID_DIR"
    PYTHONPATH="$REPO/lib" setsid "$SYSTEM_PYTHON" "$REPO/vdsm/$name" "$@" \
        </dev/null >>"$LOG_DIR/$name.out" 2>&1 &
    echo $! >"$PID_DIR/$name.pid"
}

config_args() {
    # --config FILE... when the entry point takes it: the host's
    # vdsm.conf, then vdsmd's dev-mode settings.
    if run_py "$REPO/vdsm/$1" --help 2>/dev/null | grep -q -- --config; then
        echo -n "--config $VDSM_CONF"
        [ "$1" != vdsmd ] || echo -n " --config $PID_DIR/vdsmd.conf"
        echo
    fi
}

prepare_unprivileged_vdsmd() {
    # vdsmd starts as root and drops to the vdsm user, as under systemd
    # (User=vdsm Group=kvm); files a root vdsmd left behind become vdsm's.
    local f
    mkdir -p "$PID_DIR"
    printf '# Written by automation/setup-host.sh (dev mode).\n[vars]\ndrop_privileges = true\n' \
        >"$PID_DIR/vdsmd.conf"
    for f in "$LOG_DIR/vdsm.log" /run/vdsm/vdsmd.port; do
        [ ! -e "$f" ] || chown vdsm:kvm "$f"
    done
}

wait_for() {
    # wait_for NAME SECONDS CHECK...: until CHECK passes or NAME dies.
    local name=$1 timeout=$2
    shift 2
    for _ in $(seq "$timeout"); do
        "$@" 2>/dev/null && return 0
        if ! running "$name"; then
            tail -n 30 "$LOG_DIR/$name.out" >&2 || true
            die "$name exited; see $LOG_DIR/$name.out"
        fi
        sleep 1
    done
    die "$name did not get ready in ${timeout}s; see $LOG_DIR/$name.out"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

api_answers() {
    if [ -x /usr/local/bin/vdsm-client ]; then
        /usr/local/bin/vdsm-client Host ping2 >/dev/null </dev/null
    else
        port_open
    fi
}

start_vdsm() {
    local args
    if have_entry vdsm/supervdsmd supervdsmd; then
        read -r -a args <<<"$(config_args supervdsmd)"
        start_daemon supervdsmd "${args[@]}"
        wait_for supervdsmd 30 test -S /run/vdsm/svdsm.sock
    fi
    if have_entry vdsm/vdsmd vdsmd; then
        prepare_unprivileged_vdsmd
        read -r -a args <<<"$(config_args vdsmd)"
        start_daemon vdsmd "${args[@]}"
        say "waiting for the API on port $PORT"
        wait_for vdsmd 120 api_answers
        say "vdsmd answers on port $PORT"
    fi
}

stop_vdsm() {
    local name pid
    for name in vdsmd supervdsmd; do
        running "$name" || continue
        pid=$(cat "$PID_DIR/$name.pid")
        say "stopping $name (pid $pid)"
        kill "$pid"
        for _ in $(seq 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        rm -f "$PID_DIR/$name.pid"
    done
}

print_usage() {
    cat <<EOF

Vdsm runs from $REPO (logs in $LOG_DIR/).
Try:
    vdsm-client Host ping2
    vdsm-client Host getCapabilities
    vdsm-client Host getStats
Stop it:      $REPO/automation/setup-host.sh --stop
Restart it:   $REPO/automation/setup-host.sh --restart
EOF
}

main() {
    local mode=all
    case "${1:-}" in
        "") ;;
        --deps-only) mode=deps ;;
        --restart) mode=restart ;;
        --stop) mode=stop ;;
        -h|--help) sed -n '2,/^set /p' "$0" | sed '$d'; exit 0 ;;
        *) die "unknown option $1 (try --help)" ;;
    esac
    [ "$(id -u)" -eq 0 ] || die "run as root"

    if [ "$mode" = stop ]; then
        stop_vdsm
        return
    fi
    install_packages
    setup_venv
    setup_user
    if [ "$mode" = deps ]; then
        say "dependencies ready (--deps-only: no daemon started)"
        return
    fi
    [ "$mode" = restart ] && stop_vdsm
    install_wrappers
    install_config
    configure_host
    start_system_daemons
    start_vdsm
    print_usage
}

main "$@"
