"""Vdsm configuration: documented defaults, overridden by an ini file.

The file has the sections of upstream's ``/etc/vdsm/vdsm.conf``. Every
option lives in the table below with its default and a paragraph on what it
does; ``vdsm-tool show-config`` (or ``python -m vdsm.common.config``)
prints the effective configuration.

Subsystems add their options to ``DEFAULTS`` under their section; keep the
table sorted by section, then by meaning.
"""

from __future__ import annotations

import configparser
import sys
from typing import NamedTuple


class Option(NamedTuple):
    name: str
    default: str
    doc: str


DEFAULTS: dict[str, list[Option]] = {
    "vars": [
        Option("ssl", "true",
               "Serve TLS with client certificates (mutual TLS). false "
               "serves plain TCP; only for development."),
        Option("ssl_protocol", "tls1.2",
               "Lowest TLS version accepted."),
        Option("fake_kvm_support", "false",
               "Run kvm guests emulated (TCG, domain type qemu). Also used "
               "when /dev/kvm cannot run guests."),
        Option("vm_sample_interval", "15",
               "Seconds between two bulk libvirt stats samples."),
        Option("vm_guest_info_interval", "60",
               "Seconds between two queries of a VM's guest agent (guest "
               "info in VM stats); off the stats path."),
        Option("vm_shutdown_timeout", "30",
               "Seconds VM.shutdown waits for the guest to power off after "
               "the ACPI power button before forcing it off, when the call "
               "gives no timeout."),
        Option("max_outgoing_migrations", "2",
               "Migrations from this host running at once; more wait in "
               "Migration Source until one ends. VM.migrate's "
               "outgoingLimit changes it."),
        Option("max_incoming_migrations", "2",
               "Migrations to this host running at once; VM.migrationCreate "
               "refuses more with code 82 and the source retries. "
               "migrationCreate's incomingLimit changes it."),
        Option("migration_libvirt_uri", "qemu+tls://{host}/system",
               "The destination libvirtd's URI for peer-to-peer migration; "
               "{host} is VM.migrate's dst (IPv6 in brackets)."),
        Option("migration_unsafe", "false",
               "Pass VIR_MIGRATE_UNSAFE: migrate even when libvirt thinks "
               "a disk is not on shared storage. Only for storage that is "
               "shared in a way libvirt cannot see (the test cluster's "
               "ext4, mounted by every host from one loop device)."),
        Option("migration_max_bandwidth", "52",
               "MiB/s a migration may use when VM.migrate gives no "
               "maxBandwidth."),
        Option("migration_downtime", "500",
               "Milliseconds of downtime allowed at switch-over when "
               "VM.migrate gives no convergenceSchedule."),
        Option("migration_monitor_interval", "10",
               "Seconds between two readings of a migration's progress "
               "(events, the convergence schedule)."),
        Option("migration_retry_timeout", "10",
               "Seconds the source waits before asking again a destination "
               "that had no free incoming slot."),
        Option("migration_destination_timeout", "21600",
               "Seconds a Migration Destination VM waits for its guest "
               "before it goes Down (MigrationFailed)."),
        Option("migration_progress_timeout", "240",
               "Seconds without progress after which a migration without "
               "convergenceSchedule is aborted."),
        Option("rpc_workers", "8",
               "Threads running verb handlers."),
        Option("rpc_queue_size", "256",
               "Calls waiting for a worker before new calls are refused "
               "with code 40."),
        Option("rpc_call_timeout", "180",
               "Seconds a verb may run before the client gets an error and "
               "its worker is discarded."),
        Option("max_frame_size", str(4 * 1024 * 1024),
               "Largest STOMP frame accepted, in bytes; a larger frame "
               "closes the connection."),
        Option("connection_idle_timeout", "10",
               "Seconds a new connection may stay silent before it is "
               "closed (TLS handshake, then the first frame)."),
        Option("ssl_handshake_timeout", "5",
               "Seconds a TLS handshake may take (at most "
               "connection_idle_timeout)."),
        Option("connection_max_idle", "300",
               "Seconds a STOMP connection may go without sending anything "
               "complete (a frame or a heart-beat) before it is closed; 0: "
               "no limit."),
        Option("max_connections", "500",
               "API connections open at once, TLS handshakes included; "
               "more are closed at accept, before any TLS work."),
        Option("max_connections_per_client", "50",
               "API connections open at once from one client address."),
        Option("max_tls_handshakes", "32",
               "TLS handshakes in progress at once; more connections are "
               "closed at accept."),
        Option("max_subscriptions", "64",
               "STOMP subscriptions one connection may hold; one more "
               "closes the connection."),
        Option("max_requests_per_connection", "32",
               "Requests of one connection running at once; past them the "
               "connection is not read from until one ends."),
        Option("max_write_buffer", str(16 * 1024 * 1024),
               "Bytes of unsent replies and events past which a client "
               "that does not read is dropped."),
        Option("strict_schema", "false",
               "Results and event params are always checked against the "
               "schema, a mismatch logged as BAD_RESULT/BAD_EVENT; strict "
               "mode (on in tests) also fails the call (or refuses the "
               "event) and refuses unknown fields."),
        Option("host_sample_interval", "2",
               "Seconds between two host samples (/proc/stat, meminfo, "
               "NIC counters). Host.getStats computes cpu usage and NIC "
               "rates from the last two samples and never reads them "
               "itself."),
        Option("host_mem_reserve", "256",
               "MiB of host memory kept for the host itself, reported as "
               "reservedMem in the capabilities."),
        Option("guest_ram_overhead", "65",
               "MiB of host memory each guest costs beyond its own RAM, "
               "reported as guestOverhead in the capabilities."),
        Option("hooks_dir", "/usr/libexec/vdsm/hooks",
               "Directory of hook directories (before_vm_start/ ...)."),
        Option("run_dir", "/run/vdsm",
               "Runtime files: sockets, pid files."),
        Option("lib_dir", "/var/lib/vdsm",
               "Persistent host state (network config, storage "
               "connections)."),
        Option("user", "vdsm", "User vdsmd runs as in production."),
        Option("group", "kvm", "Group vdsmd runs as in production."),
        Option("drop_privileges", "false",
               "When vdsmd is started as root, switch to [vars] user and "
               "group (with the user's supplementary groups and kvm, "
               "qemu, sanlock; never disk) before serving. systemd does "
               "this itself with User=/Group= in vdsmd.service."),
    ],
    "addresses": [
        Option("management_ip", "::",
               "Address the API listens on; :: falls back to 0.0.0.0 "
               "where IPv6 is off."),
        Option("management_port", "54321", "Port of the API."),
    ],
    "pki": [
        Option("pki_dir", "/etc/pki/vdsm",
               "Root of keys/vdsmkey.pem, certs/vdsmcert.pem and "
               "certs/cacert.pem (and the CA key, keys/cakey.pem, when "
               "vdsm-tool made the CA)."),
    ],
    "logging": [
        Option("log_file", "/var/log/vdsm/vdsm.log",
               "vdsmd's log; '-' logs to stderr."),
        Option("log_level", "INFO", "Level of the root logger."),
        Option("max_size", str(256 * 1024 * 1024),
               "Bytes a log file (vdsm.log, supervdsm.log) may reach before "
               "the daemon moves it to <file>.old and starts a new one; 0: "
               "no cap. logrotate (hourly, 15 MiB) normally rotates first."),
    ],
    "supervdsm": [
        Option("socket", "/run/vdsm/svdsm.sock",
               "UNIX socket of supervdsmd."),
        Option("log_file", "/var/log/vdsm/supervdsm.log",
               "supervdsmd's log; '-' logs to stderr."),
        Option("call_timeout", "60",
               "Seconds a privileged call may run."),
        Option("allowed_roots", "",
               "Space-separated directories, besides [irs] repository, "
               "under which privileged calls may mount, mkdir, chown and "
               "attach loop devices (tests use temporary trees)."),
        Option("workers", "16",
               "Privileged calls that may run at the same time; more "
               "connections wait for a free worker."),
        Option("socket_group", "vdsm",
               "Group of the socket (root:socket_group 0660). Only the "
               "vdsm user may be in it: never kvm, which every qemu "
               "process has. vdsm-tool configure (module vdsm-user) "
               "creates it and adds the vdsm user."),
        Option("max_connections", "64",
               "Connections served at the same time; one more from an "
               "allowed peer is answered ResourceUnavailable and closed."),
    ],
    "network": [
        Option("netns", "",
               "Network namespace (a name under /run/netns) whose links "
               "vdsm manages, reads and watches with ip -n; empty for "
               "vdsmd's own namespace. Needs vdsmd to run as root: for "
               "tests, which run vdsmd beside a namespace they made."),
        Option("privileged", "supervdsm",
               "How network changes get root: 'supervdsm' (production) or "
               "'direct', calling the privileged functions in-process "
               "when vdsmd itself runs as root (tests only), through "
               "the same allowlist and argument checks."),
        Option("stats_interval", "5",
               "Seconds between two samples of the interface counters "
               "behind Host.getNetworkStatistics rates."),
        Option("dhcp_timeout", "30",
               "Seconds Host.setupNetworks waits for the DHCP lease of a "
               "network sent with blockingdhcp before it fails (29) and "
               "rolls back."),
        Option("monitor_settle", "1.0",
               "Seconds of netlink silence that end a burst of changes "
               "before |net|host_conn|no_id is sent."),
    ],
    "mom": [
        Option("enabled", "true",
               "Run the host memory policy (vdsm.host.mempolicy, our "
               "stand-in for upstream's MOM): KSM and guest balloons, "
               "tuned by Host.setMOMPolicyParameters. false reports "
               "momStatus 'disabled' and touches neither."),
        Option("privileged", "supervdsm",
               "How KSM settings get root: 'supervdsm' (production) or "
               "'direct', in-process through the same allowlist and "
               "argument checks when vdsmd itself is root (tests)."),
        Option("policy_interval", "15",
               "Seconds between two runs of the policy (MOM's "
               "policy-engine-interval)."),
        Option("sample_history", "10",
               "Samples of host free memory and of each guest's balloon "
               "averaged by the policy (MOM's sample-history-length)."),
        Option("ksm_free_percent", "0.20",
               "KSM runs when host free memory (MemFree + Buffers + "
               "Cached) is below this fraction of MemTotal, or when the "
               "guests' memory leaves less than that free (MOM's "
               "ksm_free_percent). 1.0 keeps KSM running while enabled."),
        Option("ksm_pages_boost", "300",
               "Pages added to pages_to_scan per run under pressure."),
        Option("ksm_pages_decay", "-50",
               "Pages added (negative: removed) per run without "
               "pressure."),
        Option("ksm_npages_min", "64", "Lowest pages_to_scan set."),
        Option("ksm_npages_max", "1250", "Highest pages_to_scan set."),
        Option("ksm_sleep_ms_baseline", "10",
               "sleep_millisecs of a 16 GiB host; scaled by 16 GiB / "
               "MemTotal, never below 10."),
        Option("pressure_threshold", "0.20",
               "Host free memory fraction below which balloons of "
               "guests are inflated (when balloonEnabled). 1.0 means "
               "always (tests)."),
        Option("pressure_critical", "0.05",
               "Below this free fraction guests are pushed to swap."),
        Option("min_guest_free_percent", "0.20",
               "Free memory a guest keeps when the host has no "
               "pressure, as a fraction of its current memory."),
        Option("max_balloon_change_percent", "0.05",
               "Largest change of a balloon per run, as a fraction of "
               "the guest's current memory."),
        Option("min_balloon_change_percent", "0.0025",
               "Smaller balloon changes are not made."),
    ],
    "virt": [
        Option("privileged", "supervdsm",
               "How TPM and NVRAM data (VM.getExternalData) are read and "
               "restored, and vNIC port mirroring (tc) is set: "
               "'supervdsm' (production) or 'direct', "
               "in-process through the same allowlist and argument checks "
               "when vdsmd itself is root (tests)."),
        Option("external_data_interval", "60",
               "Seconds between two reads of the TPM and NVRAM data of "
               "the running VMs (tpmHash, nvramHash in the VM stats)."),
    ],
    "irs": [
        Option("sd_health_check_delay", "10",
               "Seconds between two checks of a storage domain."),
        Option("repository", "/rhev/data-center",
               "Where storage domains and pools are linked."),
        Option("process_pool_timeout", "60",
               "Seconds a file operation on a domain mount may take in the "
               "out-of-process helper before the caller gets code 379 and "
               "the helper is replaced."),
    ],
    "jobs": [
        Option("autodelete_delay", "3600",
               "Seconds an ended host job (SDM.copy_data ...) stays "
               "listed by Host.getJobs before it is deleted; negative "
               "keeps it until Jobs.delete."),
    ],
    "sanlock": [
        Option("io_timeout", "10",
               "sanlock I/O timeout, in seconds, written into new domains' "
               "lockspaces (IOOPTIMEOUTSEC). Acquiring a host id takes "
               "about 2-3 times this."),
    ],
}


class Config:
    """Effective configuration: defaults overridden by ini files."""

    def __init__(self, paths: list[str] | None = None) -> None:
        self._parser = configparser.ConfigParser(interpolation=None)
        for section, options in DEFAULTS.items():
            self._parser.add_section(section)
            for opt in options:
                self._parser.set(section, opt.name, opt.default)
        for path in paths or []:
            with open(path) as f:
                self._parser.read_file(f)

    def get(self, section: str, name: str) -> str:
        return self._parser.get(section, name)

    def getint(self, section: str, name: str) -> int:
        return self._parser.getint(section, name)

    def getfloat(self, section: str, name: str) -> float:
        return self._parser.getfloat(section, name)

    def getboolean(self, section: str, name: str) -> bool:
        return self._parser.getboolean(section, name)

    def set(self, section: str, name: str, value: str) -> None:
        if not self._parser.has_section(section):
            self._parser.add_section(section)
        self._parser.set(section, name, value)

    def write(self, out) -> None:
        self._parser.write(out)


def main() -> None:
    Config(sys.argv[1:]).write(sys.stdout)


if __name__ == "__main__":
    main()
