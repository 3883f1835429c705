/*
 * The vDSO parameter page ([vvar]): written only by the core, mapped
 * read-only into every address space, read by the vDSO code (image.c).
 * Shared by both sides, so it holds only fixed-size integer fields.
 *
 * Clock value at TSC t, for a clock with base B:
 *   ns = B + (((t - tsc_base) * mult) >> shift)
 * Readers retry while seq is odd or changed (a seqlock).
 */
#ifndef SBX_VDSO_VVAR_H
#define SBX_VDSO_VVAR_H

#include <stdint.h>

#define VVAR_CLOCK_REALTIME 0
#define VVAR_CLOCK_MONOTONIC 1
#define VVAR_CLOCK_BOOTTIME 2
#define VVAR_NCLOCKS 3

struct sbx_vvar {
	uint32_t seq;
	uint32_t valid;	    /* 0: the vDSO must use the real syscalls */
	uint64_t tsc_base;
	uint64_t mult;
	uint32_t shift;
	uint32_t pad;
	int64_t base_ns[VVAR_NCLOCKS];
	int64_t coarse_res_ns; /* clock_getres of the _COARSE clocks */
};

#endif
