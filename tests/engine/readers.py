"""oVirt Engine's readers of Vdsm replies, as checks.

The engine decodes JSON with Jackson (a number that fits in 32 bits is an
``Integer``, a bigger one a ``Long``, one with a fraction a ``Double``;
arrays are ``Object[]``) and reads the values with a few helpers of
``VdsBrokerObjectsBuilder`` or with direct casts. Their rules, as the
engine's code has them:

* ``assignDoubleValue``: a Double or a String (parsed); anything else,
  an Integer included, reads as null.
* ``assignIntValue``: an Integer, or a String (the part before a ``.``
  parsed); a Long, Double or Boolean throws ClassCastException.
* ``assignLongValue`` / ``assignBigIntegerValue``: an Integer, a Long, or
  a numeric String; anything else reads as null.
* ``assignStringValue``: a String; anything else reads as null.
* ``assignBoolValue``: a Boolean, or any value's text ("true").
* direct casts ``(String)``, ``(Integer)``, ``(Boolean)``, ``(Map)``,
  ``(Object[])``: that type or null, anything else throws.

Each check below is one engine parser (named in its docstring) over one
reply, and fails (``EngineReadError``) where the engine would throw, or
where a value we send would read as null (lost). Keys the engine reads
unconditionally (unboxes, iterates without a null check) must be there.
"""

from __future__ import annotations

import re
from typing import Any, Callable

INT_MIN, INT_MAX = -2**31, 2**31 - 1
LONG_MIN, LONG_MAX = -2**63, 2**63 - 1

# VMStatus names the engine's convertToVmStatus accepts (blanks removed,
# case-insensitive), and the two it maps by name.
VM_STATUSES = {"unassigned", "down", "up", "poweringup", "paused",
               "migratingfrom", "migratingto", "unknown", "notresponding",
               "waitforlaunch", "rebootinprogress", "savingstate",
               "restoringstate", "suspended", "imagelocked",
               "poweringdown", "imageillegal"}
VM_STATUS_NAMES = {"Migration Source", "Migration Destination"}
PAUSE_CODES = {"NONE", "EOTHER", "EIO", "ENOSPC", "EPERM", "NOERR"}
TASK_STATES = {"unknown", "init", "running", "finished", "aborting",
               "cleaning"}
TASK_RESULTS = {"success", "failure", "cleanSuccess", "cleanFailure"}
SPM_STATUSES = {"SPM", "Contend", "Free", "Unknown_Pool", "SPM_ERROR"}
STORAGE_TYPES = {"UNKNOWN", "NFS", "FCP", "ISCSI", "LOCALFS", "POSIXFS",
                 "GLUSTERFS", "GLANCE", "CINDER", "MANAGED_BLOCK_STORAGE"}
DOMAIN_STATUSES = {"Unknown", "Uninitialized", "Unattached", "Active",
                   "Inactive", "Locked", "Maintenance",
                   "PreparingForMaintenance", "Detaching", "Activating"}
# yyyy-MM-dd HH:mm:ss z, after the engine replaces the first T by a blank.
DATETIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d [A-Za-z]{1,5}$")


class EngineReadError(AssertionError):
    pass


def java_type(value: Any) -> str:
    """The class Jackson decodes this JSON value to."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return "Integer"
        return "Long" if LONG_MIN <= value <= LONG_MAX else "BigInteger"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Object[]"
    return "Map"


def _fail(path: str, value: Any, what: str) -> EngineReadError:
    return EngineReadError(
        f"{path}: {java_type(value)} {value!r}: {what}")


def _present(d: dict, key: str, path: str, need: bool,
             null_absent: bool = False) -> bool:
    """Whether the reader has a value to read (a null counts as absent
    where null_absent); an absent needed one raises."""
    if key in d and not (null_absent and d[key] is None):
        return True
    if need:
        raise EngineReadError(f"{path}{key}: missing")
    return False


# The helpers. Each returns the value the engine gets, or raises.

class _Unread(ValueError):
    """A String the engine reads as null, for a reason of its own."""


def _assign(d: dict, key: str, path: str, need: bool, kinds: tuple[str, ...],
            parse: Callable[[str], Any], fails: str, other: str) -> Any:
    """The assign*Value readers: a value of one of the kinds as it is, a
    String through parse (a ValueError is what fails says, an _Unread
    its own reason), any other value what other says."""
    if not _present(d, key, path, need):
        return None
    where = f"{path}{key}"
    value = d[key]
    kind = java_type(value)
    if kind in kinds:
        return value
    if kind == "String":
        try:
            return parse(value)
        except _Unread as e:
            raise _fail(where, value, str(e))
        except ValueError:
            raise _fail(where, value, fails)
    raise _fail(where, value, other)


def double(d: dict, key: str, path: str = "", need: bool = False
           ) -> float | None:
    """assignDoubleValue."""
    return _assign(d, key, path, need, ("Double",), float,
                   "Double.parseDouble throws", "assignDoubleValue reads "
                   "null (a float or a string only)")


def _parse_int(value: str) -> int:
    text = value.split(".")[0]
    if not text:
        raise _Unread("reads null")
    number = int(text)
    if not INT_MIN <= number <= INT_MAX:
        raise _Unread("out of Integer range (null)")
    return number


def integer(d: dict, key: str, path: str = "", need: bool = False
            ) -> int | None:
    """assignIntValue."""
    return _assign(d, key, path, need, ("Integer",), _parse_int,
                   "Integer.parseInt fails (null)",
                   "(String) cast throws ClassCastException")


def long(d: dict, key: str, path: str = "", need: bool = False
         ) -> int | None:
    """assignLongValue, assignBigIntegerValue."""
    return _assign(d, key, path, need, ("Integer", "Long"),
                   lambda value: int(value.split(".")[0]),
                   "Long.parseLong fails (null)",
                   "reads null (an int or a numeric string)")


def string(d: dict, key: str, path: str = "", need: bool = False
           ) -> str | None:
    """assignStringValue and (String) casts."""
    if not _present(d, key, path, need, null_absent=True):
        return None
    where = f"{path}{key}"
    value = d[key]
    if java_type(value) != "String":
        raise _fail(where, value, "not a String (null or "
                    "ClassCastException)")
    return value


def boolean(d: dict, key: str, path: str = "", cast: bool = False
            ) -> bool | None:
    """assignBoolValue (any text), or a (Boolean) cast with cast=True."""
    if key not in d:
        return None
    value = d[key]
    if java_type(value) == "Boolean":
        return value
    if cast:
        raise _fail(f"{path}{key}", value,
                    "(Boolean) cast throws ClassCastException")
    if value is None:
        raise _fail(f"{path}{key}", value, "toString() on null")
    # Boolean.parseBoolean(value.toString()): only "true" is true.
    text = "true" if value is True else str(value)
    return text.lower() == "true"


def cast_int(d: dict, key: str, path: str = "", need: bool = False
             ) -> int | None:
    """An (Integer) cast."""
    if not _present(d, key, path, need, null_absent=True):
        return None
    if java_type(d[key]) != "Integer":
        raise _fail(f"{path}{key}", d[key],
                    "(Integer) cast throws ClassCastException")
    return d[key]


def parse_int(d: dict, key: str, path: str = "", need: bool = False
              ) -> int | None:
    """Integer.parseInt(value.toString())."""
    if not _present(d, key, path, need):
        return None
    value = d[key]
    text = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        number = int(text)
    except ValueError:
        raise _fail(f"{path}{key}", value, "Integer.parseInt throws")
    if not INT_MIN <= number <= INT_MAX:
        raise _fail(f"{path}{key}", value, "Integer.parseInt throws")
    return number


def mapping(d: dict, key: str, path: str = "", need: bool = False
            ) -> dict | None:
    """A (Map) cast."""
    if not _present(d, key, path, need, null_absent=True):
        return None
    if not isinstance(d[key], dict):
        raise _fail(f"{path}{key}", d[key], "(Map) cast throws")
    return d[key]


def array(d: dict, key: str, path: str = "", need: bool = False
          ) -> list | None:
    """An (Object[]) cast."""
    if not _present(d, key, path, need, null_absent=True):
        return None
    if not isinstance(d[key], list):
        raise _fail(f"{path}{key}", d[key], "(Object[]) cast throws")
    return d[key]


def strings(d: dict, key: str, path: str = "") -> list[str] | None:
    """assignStringArrayValue: an array, each item's toString()."""
    items = array(d, key, path)
    if items is not None:
        for i, item in enumerate(items):
            if item is None:
                raise EngineReadError(f"{path}{key}[{i}]: null "
                                      "(toString throws)")
    return items


def each(items: dict, path: str, check: Callable[[dict, str], Any]) -> None:
    for name, value in items.items():
        if not isinstance(value, dict):
            raise _fail(f"{path}{name}", value, "(Map) cast throws")
        check(value, f"{path}{name}.")


# Host.getCapabilities: VdsBrokerObjectsBuilder.updateVDSDynamicData.

def capabilities(caps: dict) -> None:
    strings(caps, "clusterLevels")
    strings(caps, "supportedENGINEs")
    strings(caps, "emulatedMachines")
    strings(caps, "rngSources")
    strings(caps, "additionalFeatures")
    strings(caps, "nameservers")
    for key in ("cpuThreads", "cpuCores", "cpuSockets", "memSize",
                "reservedMem", "guestOverhead", "kdumpStatus",
                "autoNumaBalancing"):
        integer(caps, key)
    integer(caps, "cpuCores", need=True)
    integer(caps, "memSize", need=True)
    double(caps, "cpuSpeed", need=True)
    for key in ("cpuModel", "onlineCpus", "cpuFlags", "kernelArgs",
                "version_name", "software_version", "build_name",
                "ISCSIInitiatorName", "tscFrequency", "boot_uuid"):
        string(caps, key)
    string(caps, "cpuFlags", need=True)
    string(caps, "software_version", need=True)
    for key in ("kvmEnabled", "hostdevPassthrough", "hostedEngineDeployed",
                "vncEncrypted", "backupEnabled", "coldBackupEnabled",
                "clearBitmapsEnabled", "fipsEnabled", "tscScaling",
                "cd_change_pdiv", "ovnConfigured", "netConfigDirty"):
        boolean(caps, key)
    long(caps, "bootTime")
    # Iterated without a null check: a missing HBAInventory is a
    # NullPointerException and the host never gets Up.
    hbas = mapping(caps, "HBAInventory", need=True)
    assert hbas is not None
    for kind in hbas:
        devices = array(hbas, kind, "HBAInventory.")
        assert devices is not None
        for i, dev in enumerate(devices):
            if not isinstance(dev, dict):
                raise _fail(f"HBAInventory.{kind}[{i}]", dev,
                            "(Map) cast throws")
    selinux = mapping(caps, "selinux")
    if selinux is not None:
        integer(selinux, "mode", "selinux.")
    for key in ("kernelFeatures", "openstack_binding_host_ids",
                "connector_info", "supported_block_size"):
        mapping(caps, key)
    versions = array(caps, "domain_versions")
    for i, version in enumerate(versions or []):
        if java_type(version) != "Integer":
            raise _fail(f"domain_versions[{i}]", version,
                        "(Integer) cast throws")
    _packages(caps)
    _numa(caps)
    _network_caps(caps)


def _packages(caps: dict) -> None:
    host_os = mapping(caps, "operatingSystem")
    if host_os is not None:
        for key in ("name", "version", "release", "pretty_name"):
            string(host_os, key, "operatingSystem.")
    packages = mapping(caps, "packages2")
    if packages is not None:
        def package(p: dict, path: str) -> None:
            string(p, "version", path)
            string(p, "release", path)
        each(packages, "packages2.", package)


def _numa(caps: dict) -> None:
    nodes = mapping(caps, "numaNodes")
    if nodes is None:
        return
    for index, node in nodes.items():
        parse_int({"k": index}, "k", f"numaNodes key {index!r} ")
        path = f"numaNodes.{index}."
        if not isinstance(node, dict):
            raise _fail(path, node, "(Map) cast throws")
        for i, cpu in enumerate(array(node, "cpus", path) or []):
            if java_type(cpu) != "Integer":
                raise _fail(f"{path}cpus[{i}]", cpu, "(Integer) unboxing")
        # long memTotal = assignLongValue(...): null is a NPE.
        long(node, "totalMemory", path, need=True)
    distances = mapping(caps, "numaNodeDistance")
    for index, row in (distances or {}).items():
        for i, value in enumerate(array(distances, index,
                                        "numaNodeDistance.") or []):
            if java_type(value) != "Integer":
                raise _fail(f"numaNodeDistance.{index}[{i}]", value,
                            "(Integer) unboxing")


def _device(dev: dict, path: str) -> None:
    """updateCommonInterfaceData: every nic, bond, vlan."""
    cast_int(dev, "speed", path)
    string(dev, "addr", path)
    string(dev, "netmask", path)
    for i, addr in enumerate(array(dev, "ipv6addrs", path) or []):
        if java_type(addr) != "String":
            raise _fail(f"{path}ipv6addrs[{i}]", addr, "(String) cast")
    integer(dev, "mtu", path)
    string(dev, "ad_aggregator_id", path)
    if "ad_aggregator_id" in dev:
        parse_int(dev, "ad_aggregator_id", path)
    for key in ("gateway", "ipv6gateway", "bootproto4"):
        string(dev, key, path)
    for key in ("dhcpv4", "dhcpv6", "ipv6autoconf"):
        boolean(dev, key, path)


def _network_caps(caps: dict) -> None:
    def nic(dev: dict, path: str) -> None:
        _device(dev, path)
        string(dev, "hwaddr", path)
        string(dev, "permhwaddr", path)

    def bond(dev: dict, path: str) -> None:
        _device(dev, path)
        string(dev, "hwaddr", path)
        strings(dev, "slaves", path)
        opts = mapping(dev, "opts", path)
        for key in ("mode", "miimon", "xmit_hash_policy"):
            string(opts or {}, key, f"{path}opts.")
        string(dev, "ad_partner_mac", path)
        string(dev, "active_slave", path)

    def vlan(dev: dict, path: str) -> None:
        _device(dev, path)
        if dev.get("vlanid") is not None and dev.get("iface") is not None:
            cast_int(dev, "vlanid", path)
            string(dev, "iface", path)

    def bridge(dev: dict, path: str) -> None:
        string(dev, "addr", path)
        strings(dev, "ports", path)
        for i, addr in enumerate(array(dev, "ipv6addrs", path) or []):
            if java_type(addr) != "String":
                raise _fail(f"{path}ipv6addrs[{i}]", addr, "(String) cast")

    def network(net: dict, path: str) -> None:
        string(net, "iface", path)
        for key in ("gateway", "ipv6gateway", "addr", "netmask"):
            string(net, key, path)
        boolean(net, "ipv4defaultroute", path)
        if "bridged" in net and net["bridged"] is None:
            raise _fail(f"{path}bridged", None, "toString() on null")

    for key, check in (("nics", nic), ("bondings", bond), ("vlans", vlan),
                       ("bridges", bridge), ("networks", network)):
        devices = mapping(caps, key)
        if devices is not None:
            each(devices, f"{key}.", check)


# Host.getHardwareInfo: updateHardwareSystemInformation.

def hardware_info(info: dict) -> None:
    for key in ("systemManufacturer", "systemProductName", "systemVersion",
                "systemSerialNumber", "systemUUID", "systemFamily"):
        string(info, key)


# Host.getStats: updateVDSStatisticsData, updateNumaStatisticsData,
# updateVDSDomainData, updateLocalDisksUsage, checkTimeDrift.

def host_stats(stats: dict) -> None:
    integer(stats, "memUsed")
    for key in ("cpuSys", "cpuUser", "cpuIdle"):
        double(stats, key, need=True)
    for key in ("cpuLoad", "imagesLastCheck", "imagesLastDelay"):
        double(stats, key)
    for key in ("memFree", "memShared", "swapFree", "swapTotal",
                "ksmPages", "bootTime"):
        long(stats, key)
    for key in ("ksmCpu", "anonHugePages", "vmCount", "vmActive",
                "vmMigrating", "incomingVmMigrations",
                "outgoingVmMigrations"):
        integer(stats, key)
    for key in ("ksmState", "netConfigDirty"):
        boolean(stats, key)
    if "thpState" in stats and stats["thpState"] is None:
        raise _fail("thpState", None, "toString() on null")
    hugepages = stats.get("hugepages")
    if isinstance(hugepages, dict):
        for size, page in hugepages.items():
            parse_int({"k": size}, "k", f"hugepages key {size!r} ")
            integer(page, "vm.free_hugepages", f"hugepages.{size}.")
            integer(page, "nr_hugepages", f"hugepages.{size}.")
    network = mapping(stats, "network")
    if network is not None:
        each(network, "network.", _nic_stats)
    _cpu_statistics(stats)
    _domains(stats)
    disk_stats = mapping(stats, "diskStats")
    if disk_stats is not None:
        each(disk_stats, "diskStats.",
             lambda d, p: long(d, "free", p))
    ha = mapping(stats, "haStats")
    if ha is not None:
        integer(ha, "score", "haStats.")
        for key in ("configured", "active", "globalMaintenance",
                    "localMaintenance"):
            boolean(ha, key, "haStats.")
    when = string(stats, "dateTime", need=True)
    if not DATETIME.match(when or ""):
        raise _fail("dateTime", when, "not 'yyyy-MM-ddTHH:mm:ss z': the "
                    "time drift check fails")


def _nic_stats(nic: dict, path: str) -> None:
    """extractInterfaceStatistics (host and VM NICs)."""
    for key in ("rxDropped", "txDropped", "rx", "tx"):
        long(nic, key, path)
    double(nic, "sampleTime", path)
    integer(nic, "speed", path)
    string(nic, "state", path)


def _cpu_statistics(stats: dict) -> None:
    cpus = mapping(stats, "cpuStatistics")
    for cpu_id, cpu in (cpus or {}).items():
        parse_int({"k": cpu_id}, "k", f"cpuStatistics key {cpu_id!r} ")
        path = f"cpuStatistics.{cpu_id}."
        if not isinstance(cpu, dict):
            raise _fail(path, cpu, "(Map) cast throws")
        # (int) (getCpuSys() + getCpuUser()) and the idle average unbox:
        # a null is a NullPointerException.
        for key in ("cpuUser", "cpuSys", "cpuIdle"):
            double(cpu, key, path, need=True)
        integer(cpu, "nodeIndex", path, need=True)
    mem = mapping(stats, "numaNodeMemFree")
    for node, free in (mem or {}).items():
        parse_int({"k": node}, "k", f"numaNodeMemFree key {node!r} ")
        path = f"numaNodeMemFree.{node}."
        long(free, "memFree", path)
        integer(free, "memPercent", path)
        pages = mapping(free, "hugepages", path)
        for size, page in (pages or {}).items():
            integer(page, "freePages", f"{path}hugepages.{size}.")


def storage_domain(dom: dict, path: str) -> None:
    """One entry of storageDomains. The engine reads each in a try: a
    wrong type drops the domain, which then counts as unreachable."""
    cast_int(dom, "code", path, need=True)
    for key in ("lastCheck", "delay"):
        value = string(dom, key, path)
        if value is not None:
            try:
                float(value)
            except ValueError:
                raise _fail(f"{path}{key}", value, "parseDouble throws")
    boolean(dom, "actual", path, cast=True)
    boolean(dom, "acquired", path, cast=True)


def _domains(stats: dict) -> None:
    domains = mapping(stats, "storageDomains")
    if domains is not None:
        each(domains, "storageDomains.", storage_domain)


# Host.getAllVmStats (and VM.create's, events'): createVdsmVm ->
# updateVMDynamicData, updateVMStatisticsData, buildVmJobsData,
# buildInterfaceStatisticsData, buildVmBalloonInfo,
# buildVmGuestAgentInterfacesData, buildVmDiskStatistics.

def vm_status(status: str, path: str) -> None:
    if status in VM_STATUS_NAMES:
        return
    if status.replace(" ", "").lower() not in VM_STATUSES:
        raise EngineReadError(f"{path}status: {status!r} is no VMStatus "
                              "(read as Unassigned)")


def vm_dynamic(vm: dict, path: str = "") -> None:
    """updateVMDynamicData (getAllVmStats entries and VM_status events)."""
    string(vm, "vmId", path)
    string(vm, "session", path)
    # (String) casts, then Boolean.parseBoolean.
    string(vm, "acpiEnable", path)
    string(vm, "kvmEnable", path)
    status = string(vm, "status", path)
    if status is not None:
        vm_status(status, path)
    display = array(vm, "displayInfo", path)
    for i, info in enumerate(display or []):
        where = f"{path}displayInfo[{i}]."
        if not isinstance(info, dict):
            raise _fail(where, info, "(Map) cast throws")
        # Map<String, String>: every value is used as a String.
        for key in ("type", "ipAddress", "port", "tlsPort"):
            string(info, key, where)
    for key in ("displayPort", "displaySecurePort", "timeOffset",
                "exitCode", "exitReason", "monitorResponse"):
        if key in vm:
            parse_int({key: str(vm[key]).lstrip("+")}, key, path)
    for key in ("displayIp", "exitMessage", "pauseCode", "cdrom",
                "guestName", "username", "guestOs", "guestFQDN",
                "tpmHash", "nvramHash", "hash"):
        string(vm, key, path)
    if "pauseCode" in vm and vm["pauseCode"] not in PAUSE_CODES:
        raise _fail(f"{path}pauseCode", vm["pauseCode"],
                    "no VmPauseStatus")
    if "clientIp" in vm and vm["clientIp"] is None:
        raise _fail(f"{path}clientIp", None, "toString() on null")
    strings(vm, "appsList", path)
    watchdog = mapping(vm, "watchdogEvent", path)
    if watchdog is not None:
        try:
            float(str(watchdog.get("time")))
        except ValueError:
            raise _fail(f"{path}watchdogEvent.time", watchdog.get("time"),
                        "parseDouble throws")
    integer(vm, "guestCPUCount", path)
    os_info = mapping(vm, "guestOsInfo", path)
    for key in ("arch", "codename", "distribution", "kernel", "type",
                "version"):
        string(os_info or {}, key, f"{path}guestOsInfo.")
    tz = mapping(vm, "guestTimezone", path)
    if tz is not None:
        string(tz, "zone", f"{path}guestTimezone.")
        integer(tz, "offset", f"{path}guestTimezone.")


def vm_stats(vm: dict, path: str = "") -> None:
    """One Host.getAllVmStats entry."""
    string(vm, "vmId", path, need=True)
    string(vm, "status", path, need=True)
    # getVdsmCallTimestamp: a null (an int on the wire) is unboxed in
    # VmManager.isLatestData: the whole monitoring cycle aborts.
    double(vm, "statusTime", path, need=True)
    vm_dynamic(vm, path)
    double(vm, "elapsedTime", path)
    double(vm, "cpuSys", path)
    double(vm, "cpuUser", path)
    integer(vm, "memUsage", path)
    integer(vm, "migrationProgress", path)
    mem = mapping(vm, "memoryStats", path)
    for key, value in (mem or {}).items():
        try:
            int(str(value))
        except ValueError:
            raise _fail(f"{path}memoryStats.{key}", value,
                        "Long.parseLong throws")
    balloon = mapping(vm, "balloonInfo", path)
    for key in ("balloon_cur", "balloon_max", "balloon_target",
                "balloon_min"):
        long(balloon or {}, key, f"{path}balloonInfo.")
    jobs = mapping(vm, "vmJobs", path)
    for job_id, job in (jobs or {}).items():
        where = f"{path}vmJobs.{job_id}."
        string(job, "id", where, need=True)
        string(job, "jobType", where)
        if job.get("jobType") == "block":
            string(job, "blockJobType", where)
            string(job, "imgUUID", where, need=True)
            for key in ("cur", "end", "bandwidth"):
                long(job, key, where)
    network = mapping(vm, "network", path)
    if network is not None:
        def vnic(nic: dict, where: str) -> None:
            _nic_stats(nic, where)
            string(nic, "name", where)
            string(nic, "macAddr", where)
        each(network, f"{path}network.", vnic)
    disks = mapping(vm, "disks", path)
    if disks is not None:
        def disk(d: dict, where: str) -> None:
            string(d, "imageID", where)
            string(d, "lunGUID", where)
            integer(d, "readRate", where)
            integer(d, "writeRate", where)
            for key in ("readOps", "writeOps", "truesize"):
                long(d, key, where)
            for key in ("readLatency", "writeLatency", "flushLatency"):
                double(d, key, where)
        each(disks, f"{path}disks.", disk)
    ifaces = array(vm, "netIfaces", path)
    for i, iface in enumerate(ifaces or []):
        where = f"{path}netIfaces[{i}]."
        string(iface, "name", where)
        string(iface, "hw", where)
        for key in ("inet", "inet6"):
            for j, addr in enumerate(array(iface, key, where) or []):
                if java_type(addr) != "String":
                    raise _fail(f"{where}{key}[{j}]", addr, "(String) cast")
    array(vm, "disksUsage", path)


def vm_status_event(params: dict) -> None:
    """EventVmStatsRefresher: notify_time is any Number; every other key
    is a VM id to what updateVMDynamicData reads."""
    params = dict(params)
    notify = params.pop("notify_time", None)
    if java_type(notify) not in ("Integer", "Long"):
        raise _fail("notify_time", notify, "not a Number (null)")
    for vm_id, vm in params.items():
        if not isinstance(vm, dict):
            raise _fail(vm_id, vm, "(Map) cast throws")
        vm_dynamic(vm, f"{vm_id}.")


# Replies of storage and task verbs.

def status(value: dict, path: str = "") -> None:
    """vdsbroker.Status: code (Integer) cast, message's toString()."""
    cast_int(value, "code", path, need=True)
    if value.get("message") is None:
        raise EngineReadError(f"{path}message: missing")


def task_status(task: dict, path: str = "") -> None:
    """TaskStatus, then HSMGetAllTasksStatusesVDSCommand.parseTaskStatus
    (AsyncTaskStatusEnum.valueOf, AsyncTaskResultEnum.valueOf)."""
    status(task, path)
    state = string(task, "taskState", path, need=True)
    if state not in TASK_STATES:
        raise _fail(f"{path}taskState", state, "no AsyncTaskStatusEnum")
    result = string(task, "taskResult", path)
    if state == "finished" and result not in TASK_RESULTS:
        raise _fail(f"{path}taskResult", result, "no AsyncTaskResultEnum")


def all_tasks_statuses(tasks: dict) -> None:
    for task_id, task in tasks.items():
        task_status(task, f"{task_id}.")


def spm_status(spm: dict) -> None:
    """SpmStatusVDSCommand: each value's toString(), parsed."""
    if str(spm.get("spmStatus")) not in SPM_STATUSES:
        raise _fail("spmStatus", spm.get("spmStatus"), "no SpmStatus")
    parse_int(spm, "spmId", need=True)
    try:
        int(str(spm.get("spmLver")))
    except ValueError:
        raise _fail("spmLver", spm.get("spmLver"), "Long.parseLong throws")


def storage_pool_info(reply: dict) -> None:
    """GetStoragePoolInfoVDSCommand: the whole result holds info and
    dominfo."""
    info = mapping(reply, "info", need=True)
    assert info is not None
    if str(info.get("type")) not in STORAGE_TYPES:
        raise _fail("info.type", info.get("type"), "no StorageType")
    string(info, "name", "info.")
    integer(info, "master_ver", "info.", need=True)
    string(info, "master_uuid", "info.", need=True)
    domains = mapping(reply, "dominfo", need=True)
    for sd, dom in (domains or {}).items():
        where = f"dominfo.{sd}."
        status_name = str(dom.get("status"))
        if status_name not in DOMAIN_STATUSES:
            raise _fail(f"{where}status", dom.get("status"),
                        "no StorageDomainStatus")
        for key in ("diskfree", "disktotal"):
            if key in dom:
                long(dom, key, where)
        for i, alert in enumerate(array(dom, "alerts", where) or []):
            cast_int(alert, "code", f"{where}alerts[{i}].")


def connection_statuses(statuses: list) -> None:
    """ServerConnectionStatusReturn: [{id (String), status}]."""
    for i, entry in enumerate(statuses):
        string(entry, "id", f"[{i}].", need=True)
        parse_int(entry, "status", f"[{i}].", need=True)


def host_devices(devices: dict) -> None:
    """buildHostDevices."""
    for name, dev in devices.items():
        where = f"{name}."
        params = mapping(dev, "params", where, need=True)
        assert params is not None
        where += "params."
        for key in ("capability",) + (() if name == "computer"
                                      else ("parent",)):
            if params.get(key) is None:
                raise EngineReadError(f"{where}{key}: missing "
                                      "(toString() on null)")
        for key in ("iommu_group", "totalvfs"):
            if key in params:
                parse_int(params, key, where)
        boolean(params, "is_assignable", where)
        mapping(params, "address", where)
        mapping(params, "mdev", where)
        for key in ("device_size", "align_size"):
            long(params, key, where)


def domain_xmls(xmls: dict) -> None:
    """DumpXmls: {vmId: domain XML string}."""
    for vm_id, xml in xmls.items():
        string(xmls, vm_id, need=True)
        if not xml.lstrip().startswith("<domain"):
            raise _fail(vm_id, xml[:40], "not a domain XML")
