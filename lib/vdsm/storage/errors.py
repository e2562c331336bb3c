"""Storage errors, with the codes of upstream Vdsm's storage error table.

Each class says what went wrong and carries the wire code oVirt Engine
knows. All are ``expected`` (client mistakes or storage conditions the
caller can act on) unless noted.
"""

from __future__ import annotations

from vdsm.common.exception import GeneralError, VdsmError
# One InvalidParameter (code 1000) for every subsystem; storage code names
# it errors.InvalidParameter.
from vdsm.common.exception import InvalidParameter  # noqa: F401


class StorageError(VdsmError):
    """A storage operation failed; the message says which and why."""
    code = 200
    message = "Storage error"


class VolumeDoesNotExist(StorageError):
    code = 201
    message = "Volume does not exist"


class VolumeCreationError(StorageError):
    code = 205
    message = "Error creating a new volume"


class VolumeAlreadyExists(StorageError):
    code = 212
    message = "Volume already exists"


class VolumeIsIllegal(StorageError):
    """The volume did not finish its creation or copy; delete it."""
    code = 227
    message = "Volume is illegal"


class VolumeHasChildren(StorageError):
    code = 204
    message = "Cannot delete volume which has children"


class VolumeIsNotInChain(StorageError):
    code = 920
    message = "Volume is not part of the chain."


class WrongParentVolume(StorageError):
    code = 921
    message = "Wrong parent volume."


class ImagePathError(StorageError):
    code = 254
    message = "Image path does not exist or cannot be accessed/created"


class ImageDoesNotExistInDomain(StorageError):
    code = 268
    message = "Image does not exist in domain"


class CopyImageError(StorageError):
    """Streaming or copying an image's data failed, or the image is not
    one that can be streamed (one volume, no parent)."""
    code = 261
    message = "low level Image copy failed"


class StoragePoolConnectionError(StorageError):
    code = 302
    message = "Error storage pool connection"


class StoragePoolMasterNotFound(StorageError):
    code = 304
    message = "Cannot find master domain"


class StoragePoolWrongMaster(StorageError):
    """The master domain or master version given is not the pool's."""
    code = 324
    message = "Wrong Master domain or its version"


class StoragePoolConnected(StorageError):
    """Already connected to the pool, with another host id."""
    code = 325
    message = "Cannot perform action while storage pool is connected"


class StoragePoolUnknown(StorageError):
    code = 309
    message = "Unknown pool id, pool not connected"


class StoragePoolNotConnected(StorageError):
    code = 313
    message = "Storage pool not connected"


class StorageDomainNotInPool(StorageError):
    code = 353
    message = "Storage domain not in pool"


class StorageDomainDoesNotExist(StorageError):
    code = 358
    message = "Storage domain does not exist"


class StorageDomainFSNotMounted(StorageError):
    code = 360
    message = "Storage domain remote path not mounted"


class StorageDomainAlreadyExists(StorageError):
    code = 365
    message = "Storage domain already exists"


class StorageDomainNotActive(StorageError):
    code = 369
    message = "Storage domain not active"


class StorageDomainAccessError(StorageError):
    """The domain's storage did not answer in time or refused I/O."""
    code = 379
    message = "Domain is either partially accessible or entirely inaccessible"


class StorageDomainAlreadyAttached(StorageError):
    code = 380
    message = "Storage domain already attached to pool"


class CannotFormatAttachedStorageDomain(StorageError):
    """The domain belongs to a pool: destroy the pool (or detach the
    domain) first, or format with autoDetach."""
    code = 391
    message = "Cannot format attached storage domain"


class CannotFormatStorageDomainInConnectedPool(StorageError):
    """The domain is a member of the pool this host is connected to:
    detach it, or destroy the pool, first."""
    code = 392
    message = "Cannot format storage domain in connected pool"


class UnknownTask(StorageError):
    code = 401
    message = "Task id unknown"


class TaskNotFinished(StorageError):
    code = 403
    message = "Task not finished"


class TaskAborted(StorageError):
    code = 411
    message = "Task is aborted"


class StorageServerConnectionError(StorageError):
    code = 451
    message = "Error storage server connection"


class StorageServerAccessPermissionError(StorageError):
    """vdsmd (user vdsm, group kvm) may not read, write or enter the
    connected directory: give it to vdsm:kvm (0755) and connect again."""
    code = 469
    message = ("Permission settings on the specified path do not allow "
               "access to the storage")


class MountError(StorageError):
    code = 477
    message = "Problem while trying to mount target"


class SpmStartError(StorageError):
    code = 650
    message = "Cannot start SPM"


class AcquireLockFailure(StorageError):
    code = 651
    message = "Cannot obtain lock"


class NotSPM(StorageError):
    """The verb needs the SPM role: call spmStart first, or ask the SPM."""
    code = 654
    message = "Not SPM"


class IsSPM(StorageError):
    code = 656
    message = "Operation not allowed while SPM is active"


class AcquireHostIdFailure(StorageError):
    code = 661
    message = "Cannot acquire host id"


class HostIdMismatch(StorageError):
    """The host id given is not the one this host connected the pool
    with."""
    code = 700
    message = "Host id not found or does not match manager host id"


class ClusterLockInitError(StorageError):
    """sanlock could not write a lockspace or lease: often it may not open
    the file (it reaches vdsm's files through group kvm, mode 0660)."""
    code = 701
    message = "Could not initialize cluster lock"


class StorageTimeout(StorageDomainAccessError):
    """A file operation on a mount did not finish in time."""
    message = "Storage operation timed out"


class MiscDirCleanupFailure(StorageError):
    """A directory could not be removed (permissions, a read-only file
    system ...): nothing was removed; fix the storage and retry."""
    code = 2008
    message = "Directory cleanup failure"


# Volume operations (SDM jobs, Volume.copy) and image copies between
# domains (Image.cloneStructure, Image.syncData).

class IncorrectFormat(StorageError):
    """The volume's format does not allow the operation (amend of a raw
    volume)."""
    code = 202
    message = "Incorrect Volume format"


class SharedVolumeNonWritable(StorageError):
    code = 219
    message = "Shared volume is read only"


class VolumeNonWritable(StorageError):
    """The volume may not grow here (a size update of a volume that is
    not the image's leaf); nothing changed."""
    code = 213
    message = "Volume cannot be access to writes"


class VolumeResizeValueError(StorageError):
    """A resize to less than the volume's current size; nothing
    changed."""
    code = 232
    message = "Incorrect size value for volume resize"


class NonLeafVolumeNotWritable(StorageError):
    """Upstream's sparsify refuses a volume with children."""
    code = 224
    message = "Volume cannot be accessed to writes, it's not a leaf volume"


class CannotSparsifyVolume(StorageError):
    code = 234
    message = "Cannot sparsify volume"


class TemplateCreationError(StorageError):
    code = 251
    message = "Error creating template from VM"


class SourceImageActionError(StorageError):
    code = 259
    message = "Error during source image manipulation"


class DestImageActionError(StorageError):
    """The destination image is not what the operation needs (another
    chain, or already there)."""
    code = 260
    message = "Error during destination image manipulation"


class ImageIsNotLegalChain(StorageError):
    code = 262
    message = "Image is not a legal chain"


class GenerationMismatch(StorageError):
    """The caller's generation of the volume is not the volume's: it
    changed since the caller looked."""
    code = 911
    message = "The provided generation does not match the actual generation"


class UnsupportedOperation(StorageError):
    """The domain cannot do this (a lease verb on a domain without an
    xleases volume)."""
    code = 2009
    message = "Unsupported operation"


# External leases (xleases). Upstream raises all but NoSuchLease as plain
# errors of its xlease module, which reach the engine as code 100
# (General Exception, also as a task's result): so do these.

class NoSuchLease(StorageError):
    code = 936
    message = "No such lease"


class LeaseExists(GeneralError):
    message = "Lease exists"


class LeaseUpdating(GeneralError):
    """An add or remove of this lease was cut short: Lease.delete it, or
    Lease.rebuild_leases, first."""
    message = "Lease is updating"


class NoSpaceForLease(GeneralError):
    message = "No space to add lease"


class InvalidLeaseIndex(GeneralError):
    """The xleases index cannot be read: Lease.rebuild_leases makes it
    again from the sanlock resources on the volume."""
    message = "Invalid xleases index"


class LeaseIndexIsUpdating(InvalidLeaseIndex):
    message = ("Index is updating or an update operation was aborted, the "
               "index must be rebuilt from storage")


class LeaseIndexNotFormatted(InvalidLeaseIndex):
    """The domain's xleases volume was laid out but its index never
    written (a domain made before this version): it holds no leases; the
    SPM formats it on the first Lease.create or Lease.rebuild_leases."""
    message = "xleases index is not formatted"
