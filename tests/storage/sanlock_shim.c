/*
 * LD_PRELOAD shim for running the sanlock daemon in tests on machines
 * without CAP_SYS_RESOURCE (containers). sanlock raises RLIMIT_MEMLOCK and
 * RLIMIT_RTPRIO at start and exits when it may not; this makes only those
 * two failing calls succeed, and only with EPERM. Tests-only: production
 * hosts run sanlock with its capabilities and never load this.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/resource.h>

typedef int (*setrlimit_fn)(__rlimit_resource_t, const struct rlimit *);

int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim)
{
    setrlimit_fn real = (setrlimit_fn)dlsym(RTLD_NEXT, "setrlimit");
    int rc = real(resource, rlim);

    if (rc != 0 && errno == EPERM &&
        (resource == RLIMIT_MEMLOCK || resource == RLIMIT_RTPRIO)) {
        errno = 0;
        return 0;
    }
    return rc;
}
