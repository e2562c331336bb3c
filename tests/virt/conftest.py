"""Fixtures of the virt tests that need storage: a guest on a file domain
(virt/storagevm.py) over the storage tests' loop file systems and
sanlock (requested by those tests only)."""

from storage.conftest import (  # noqa: F401
    env, machine_lock, sanlock_daemon, userstorage_fs)
from virt.storagevm import disk_size, repository, storage_vm  # noqa: F401
