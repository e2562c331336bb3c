"""Real file systems on loop devices for the storage tests.

    python tests/storage/userstorage.py setup      # make them
    python tests/storage/userstorage.py teardown   # remove them

Makes ext4 and xfs file systems on loop devices with 512 and 4096 byte
logical sectors (where the kernel allows 4096), mounted under BASE. The
tests' session fixture calls ``setup()`` when needed and ``teardown()`` at
the end if it was the one that set them up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass

BASE = os.environ.get("VDSM_USERSTORAGE", "/var/tmp/vdsm-userstorage")
STATE = os.path.join(BASE, "state.json")
SIZE = 2 * 1024 ** 3


@dataclass
class Storage:
    name: str
    fstype: str
    sector_size: int
    backing: str
    device: str
    mountpoint: str


def wanted() -> list[tuple[str, str, int]]:
    return [(f"{fs}-{sector}", fs, sector)
            for fs in ("ext4", "xfs") for sector in (512, 4096)]


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout.strip()


def load() -> dict[str, Storage]:
    try:
        with open(STATE) as f:
            return {n: Storage(**d) for n, d in json.load(f).items()}
    except FileNotFoundError:
        return {}


def _save(storages: dict[str, Storage]) -> None:
    os.makedirs(BASE, exist_ok=True)
    with open(STATE, "w") as f:
        json.dump({n: asdict(s) for n, s in storages.items()}, f, indent=1)


def _make(name: str, fstype: str, sector: int) -> Storage:
    os.makedirs(BASE, exist_ok=True)
    backing = os.path.join(BASE, f"{name}.img")
    mountpoint = os.path.join(BASE, name)
    with open(backing, "wb") as f:
        f.truncate(SIZE)
    device = _run("losetup", "--find", "--show", "--sector-size",
                  str(sector), backing)
    try:
        if fstype == "ext4":
            _run("mkfs.ext4", "-q", "-F", device)
        else:
            _run("mkfs.xfs", "-q", "-f", device)
        os.makedirs(mountpoint, exist_ok=True)
        _run("mount", "-t", fstype, device, mountpoint)
    except subprocess.CalledProcessError:
        _run("losetup", "-d", device)
        os.unlink(backing)
        raise
    return Storage(name, fstype, sector, backing, device, mountpoint)


def is_ready(storages: dict[str, Storage]) -> bool:
    if not storages:
        return False
    with open("/proc/self/mounts") as f:
        mounted = {line.split()[1] for line in f}
    return all(s.mountpoint in mounted for s in storages.values())


def setup() -> dict[str, Storage]:
    storages = load()
    if is_ready(storages):
        return storages
    teardown()
    storages = {}
    for name, fstype, sector in wanted():
        try:
            storages[name] = _make(name, fstype, sector)
        except subprocess.CalledProcessError as e:
            print(f"skip {name}: {e.stderr.strip()}", file=sys.stderr)
    _save(storages)
    return storages


def teardown() -> None:
    for s in load().values():
        subprocess.run(["umount", "-l", s.mountpoint], capture_output=True)
        subprocess.run(["losetup", "-d", s.device], capture_output=True)
        for path in (s.backing,):
            if os.path.exists(path):
                os.unlink(path)
        if os.path.isdir(s.mountpoint):
            os.rmdir(s.mountpoint)
    if os.path.exists(STATE):
        os.unlink(STATE)


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in ("setup", "teardown"):
        sys.exit("usage: userstorage.py setup|teardown")
    if sys.argv[1] == "setup":
        for s in setup().values():
            print(f"{s.name}: {s.device} on {s.mountpoint}")
    else:
        teardown()


if __name__ == "__main__":
    main()
