"""Privileged network functions of supervdsmd.

Each function is small and specific. The main one, ``apply_changes``,
takes a list of structured changes planned by vdsmd (see
``vdsm.supervdsm.netchanges``): every change is checked against that closed
vocabulary *before* any is run, rendered to one ``ip -batch`` line, and
the batch runs in one ``ip`` process (thousands of changes per second).
There is no way to pass a raw command.

``netns`` (a name under /run/netns, "" for supervdsmd's own namespace)
lets tests and ``vdsm-tool restore-nets`` work on a namespace made for
them: ``ip -n NS``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import signal
import time

from vdsm import hooks
from vdsm.common import exception
from vdsm.common.commands import (CommandFailed, CommandNotFound,
                                  CommandTimeout)
from vdsm.supervdsm import netchanges as vocab
from vdsm.supervdsm import runtime
from vdsm.supervdsm.allowlist import privileged

log = logging.getLogger("supervdsm.network")

# One planned change, as JSON (see vdsm.supervdsm.netchanges for the
# kinds).
ChangeArg = dict[str, str | int | bool | list[list[str]] | None]

_FAILED_LINE = re.compile(r"Command failed -:(\d+)")

DHCLIENT_DIR = "/run/vdsm/dhclient"
DHCLIENT_SCRIPT = os.path.join(os.path.dirname(vocab.__file__),
                               "dhclient-script")
# dhclient -nw forks to the background at once; one that has not after
# this long (or half the call timeout, so the cleanup below runs before
# the caller gives up) is killed and its files removed.
DHCLIENT_TIMEOUT = 30.0


class NetworkChangeFailed(RuntimeError):
    """The kernel refused a change. The ones before it were applied."""


def _ip(netns: str) -> list[str]:
    ns = vocab.check_netns(netns)
    return ["ip", "-n", ns] if ns else ["ip"]


def _run_batch(lines: list[str], netns: str, family: str = "") -> None:
    if not lines:
        return
    script = "\n".join(lines) + "\n"
    cmd = _ip(netns) + ([family] if family else []) + ["-batch", "-"]
    try:
        runtime.run(cmd, input=script, timeout=300)
    except CommandFailed as e:
        match = _FAILED_LINE.search(e.stderr)
        done = int(match.group(1)) - 1 if match else 0
        failed = lines[done] if match and done < len(lines) else "?"
        error = e.stderr.strip().splitlines()[0] if e.stderr.strip() else ""
        log.warning("FAILED changes=%d done=%d line=%r error=%r",
                    len(lines), done, failed, error)
        raise NetworkChangeFailed(
            f"{failed!r} failed after {done} of {len(lines)} changes: "
            f"{error}") from None


def _run_in_order(rendered: list[tuple[str, str]], netns: str) -> None:
    """Run (family, line) pairs in order: consecutive lines of one family
    share a batch (IPv6 rules need ``ip -6``, see changes.family)."""
    start = 0
    while start < len(rendered):
        family = rendered[start][0]
        end = start
        while end < len(rendered) and rendered[end][0] == family:
            end += 1
        try:
            _run_batch([line for _, line in rendered[start:end]], netns,
                       family)
        except NetworkChangeFailed as e:
            if start:
                raise NetworkChangeFailed(
                    f"{e} (and {start} earlier changes)") from None
            raise
        start = end


@privileged
def apply_changes(changes: list[ChangeArg], netns: str = "") -> int:
    """Apply planned changes in order; return how many were applied."""
    try:
        rendered = []
        for c in changes:
            line = vocab.render(c)     # checks c before family() reads it
            rendered.append((vocab.family(c), line))
    except vocab.BadChange as e:
        log.warning("REFUSED error=%s", e)
        raise
    log.info("APPLY changes=%d netns=%s", len(rendered), netns or "-")
    _run_in_order(rendered, netns)
    return len(rendered)


@privileged
def add_bridge(name: str, netns: str = "") -> None:
    _run_batch([vocab.render({"kind": "add_bridge", "name": name})], netns)


@privileged
def set_link_mtu(dev: str, mtu: int, netns: str = "") -> None:
    _run_batch([vocab.render({"kind": "set_link", "name": dev,
                                "mtu": mtu})], netns)


@privileged
def add_address(dev: str, cidr: str, netns: str = "") -> None:
    _run_batch([vocab.render({"kind": "add_addr", "dev": dev,
                                "cidr": cidr})], netns)


@privileged
def set_nameservers(servers: list[str], netns: str = "") -> None:
    """Write resolv.conf: /etc/resolv.conf, or /etc/netns/NS/resolv.conf
    (which ``ip netns exec NS`` shows as /etc/resolv.conf)."""
    import ipaddress
    lines = [f"nameserver {ipaddress.ip_address(s)}" for s in servers]
    ns = vocab.check_netns(netns)
    path = f"/etc/netns/{ns}/resolv.conf" if ns else "/etc/resolv.conf"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".vdsm.tmp"
    with open(tmp, "w") as f:
        f.write("# Generated by vdsm\n" + "".join(x + "\n" for x in lines))
    os.replace(tmp, path)
    log.info("NAMESERVERS servers=%s path=%s", ",".join(map(str, servers)),
             path)


def _dhcp_files(dev: str, netns: str, family: int = 4
                ) -> tuple[str, str]:
    key = f"{netns or '-'}_{dev}" + ("" if family == 4 else "_6")
    return (os.path.join(DHCLIENT_DIR, key + ".pid"),
            os.path.join(DHCLIENT_DIR, key + ".lease"))


@privileged
def set_ipv6_autoconf(devices: dict[str, bool], netns: str = "") -> None:
    """IPv6 stateless autoconfiguration per device (networks'
    ``ipv6autoconf``): router advertisements accepted and addresses made
    from them, or neither. One sysctl run for all devices."""
    ns = vocab.check_netns(netns)
    settings = []
    for dev, enabled in sorted(devices.items()):
        vocab.check_ifname(dev)
        # sysctl keys spell a '.' of an interface name (VLANs) as '/'.
        key = f"net.ipv6.conf.{dev.replace('.', '/')}"
        value = "1" if enabled else "0"
        settings += [f"{key}.accept_ra={value}", f"{key}.autoconf={value}"]
    if not settings:
        return
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [
        "sysctl", "-q", "-w"] + settings
    try:
        runtime.run(cmd, timeout=60)
    except CommandFailed as e:
        raise NetworkChangeFailed("cannot set IPv6 autoconf: "
                                  f"{e.stderr.strip()[-300:]}") from None
    # A device made by this call may have autoconfigured already (the
    # kernel's default): drop what it learnt. Static addresses are
    # permanent, so "dynamic" leaves them.
    _run_batch([f"addr flush dev {dev} scope global dynamic"
                for dev, enabled in sorted(devices.items()) if not enabled],
               netns, "-6")
    log.info("IPV6 autoconf devices=%s netns=%s",
             ",".join(f"{d}={int(e)}" for d, e in sorted(devices.items())),
             netns or "-")


@privileged
def start_dhcp(dev: str, default_route: bool, netns: str = "",
               family: int = 4) -> None:
    """Run dhclient for IPv4 (family 4) or DHCPv6 (family 6) on ``dev``
    (in the background); restart it if it runs. Only vdsm's own
    dhclient-script applies the lease. DHCPv6 gives no routes (router
    advertisements do), so default_route matters for IPv4 only."""
    vocab.check_ifname(dev)
    ns = vocab.check_netns(netns)
    _check_family(family)
    stop_dhcp(dev, netns, family)
    os.makedirs(DHCLIENT_DIR, mode=0o755, exist_ok=True)
    pidfile, leasefile = _dhcp_files(dev, netns, family)
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [
        "dhclient", f"-{family}", "-nw", "-cf", "/dev/null", "-pf", pidfile,
        "-lf", leasefile, "-sf", DHCLIENT_SCRIPT,
        "-e", f"VDSM_DEFAULT_ROUTE={'yes' if default_route else 'no'}", dev]
    # dhclient has no "--" (it refuses it): ``dev`` is safe last on the
    # command line only because check_ifname refuses a leading '-'.
    timeout = min(DHCLIENT_TIMEOUT,
                  runtime.config().getfloat("supervdsm", "call_timeout") / 2)
    try:
        runtime.run(cmd, timeout=timeout)
    except CommandNotFound:
        raise NetworkChangeFailed("no DHCP client: install isc-dhcp-client") \
            from None
    except (CommandFailed, CommandTimeout) as e:
        # A dhclient that forked before failing, and its files, go too.
        stop_dhcp(dev, netns, family)
        what = "timed out" if isinstance(e, CommandTimeout) else "failed"
        raise NetworkChangeFailed(f"dhclient {what} on {dev}: "
                                  f"{e.stderr.strip()[-300:]}") from None
    log.info("DHCP start dev=%s netns=%s family=%d", dev, netns or "-",
             family)


@privileged
def stop_dhcp(dev: str, netns: str = "", family: int = 4) -> None:
    """Stop vdsm's dhclient of ``family`` on ``dev``; drop its addresses.

    IPv4: every dynamic address (only DHCP makes them). IPv6: only the
    addresses of its lease file, as autoconf addresses are dynamic too.
    """
    vocab.check_ifname(dev)
    ns = vocab.check_netns(netns)
    _check_family(family)
    pidfile, leasefile = _dhcp_files(dev, netns, family)
    pid = _dhclient_pid(pidfile)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        log.info("DHCP stop dev=%s netns=%s family=%d pid=%d", dev,
                 netns or "-", family, pid)
    if family == 4:
        commands = [f"-4 addr flush dev {dev} dynamic"]
    else:
        commands = [f"-6 addr del {addr}/128 dev {dev}"
                    for addr in _leased_ipv6(leasefile)]
    for path in (pidfile, leasefile):
        if os.path.exists(path):
            os.unlink(path)
    for command in commands:
        try:
            runtime.run(_ip(ns or "") + command.split(), timeout=30)
        except CommandFailed:
            pass    # gone already (expired, or the device went)


def _check_family(family: int) -> None:
    if family not in (4, 6):
        raise vocab.BadChange(f"family must be 4 or 6, not {family!r}")


def _leased_ipv6(leasefile: str) -> list[str]:
    """The addresses (``iaaddr``) dhclient -6 recorded in its lease file."""
    try:
        with open(leasefile) as f:
            text = f.read()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "iaaddr":
            try:
                out.append(str(ipaddress.IPv6Address(words[1])))
            except ValueError:
                continue
    return sorted(set(out))


def _dhclient_pid(pidfile: str) -> int | None:
    """The pid in pidfile if it is our dhclient (never a recycled pid)."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    if b"dhclient" in os.path.basename(cmdline[0]) and \
            pidfile.encode() in cmdline:
        return pid
    return None



@privileged
def run_hook(point: str, data: dict, netns: str = "") -> dict:
    """Run a network hook point (before_network_setup ...) as root.

    Only scripts under supervdsmd's own ``[vars] hooks_dir``: the caller
    cannot name another directory. ``data`` is handed to root's own
    scripts as it is (``_hook_json``), so it needs no vocabulary.
    """
    return network_hook(runtime.config().get("vars", "hooks_dir"), point,
                        data, netns)


def network_hook(hooks_dir: str, point: str, data: dict,
                 netns: str) -> dict:
    """The network hook points, run as root (not itself allowlisted).

    Only the network points; only scripts owned by root and writable by
    root alone; the scripts' result must be a JSON object. The managed
    namespace, if any, is in ``VDSM_NETNS``.
    """
    if point not in hooks.NETWORK_HOOK_POINTS:
        raise ValueError(f"not a network hook point: {point!r}")
    env = {"VDSM_NETNS": vocab.check_netns(netns) or ""}
    result = hooks.run_json(hooks_dir, point, data, env=env, root_only=True)
    if not isinstance(result, dict):
        raise exception.HookError(
            f"{point}: hooks left {type(result).__name__}, not an object")
    return result
