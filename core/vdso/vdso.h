/*
 * The core's side of the sbx vDSO: keeping the parameter page ([vvar])
 * calibrated, and mapping [vvar] and [vdso] into address spaces.
 */
#ifndef SBX_VDSO_VDSO_H
#define SBX_VDSO_VDSO_H

#include <stdint.h>

#include "../mm/mm.h"

/*
 * vdso_init - allocate the parameter page in the memory file, calibrate
 * the TSC against the host clocks (~2 ms), and start the thread that keeps
 * it in step.  Without an invariant TSC the page says "invalid" and the
 * vDSO uses the real syscalls.  Call after memfile_init, before the core
 * is confined.  Return: 0 or -errno.
 */
int vdso_init(void);
void vdso_fini(void);

/*
 * vdso_map - map [vvar] (read-only, shared, never writable) and the vDSO
 * image (the process's own copy) into @mm.  Return: 0 and *@ehdr (the
 * image's address, for AT_SYSINFO_EHDR), or -errno.
 */
int vdso_map(struct mm *mm, uint64_t *ehdr);

#endif
