/* Confining the core itself: a seccomp allowlist (security invariant 3). */
#ifndef SBX_HOST_CONFINE_H
#define SBX_HOST_CONFINE_H

#include <sbx/platform.h>

#include "../util/error.h"

/*
 * confine_core - install the core's seccomp filter: the host syscalls the
 * core needs to serve the sandbox, plus those the platform's seccomp_rules
 * adds; anything else kills the whole core (and so, through EXITKILL and
 * PDEATHSIG, the sandbox).  Call after start-up (config read, plugin
 * loaded and initialised, program opened), before the sandbox runs.
 * Processes forked later (stubs) inherit the filter.
 * Return: 0 or -errno with @err filled.
 */
int confine_core(const struct sbx_platform_ops *ops, struct sbx_platform *plat,
		 struct sbx_error *err);

#endif
