/*
 * The sbx vDSO: time calls answered inside the application from the
 * parameter page the core keeps ([vvar], see vvar.h), so they never trap.
 * Built freestanding (no libc, no TLS, no relocations) into a small shared
 * object, linked with image.lds, exported under LINUX_2.6 as glibc and musl
 * expect.  Anything not answerable here (CPU-time clocks, unknown clocks,
 * an invalid TSC) falls back to the real syscall, which the core handles.
 */
#include <stdint.h>

#include "vvar.h"

struct vts {
	int64_t sec, nsec;
};

struct vtv {
	int64_t sec, usec;
};

/* The page right below the vDSO image (image.lds); accessed PC-relative. */
extern const volatile struct sbx_vvar sbx_vvar_page
	__attribute__((visibility("hidden")));

#define NSEC 1000000000LL

static long fallback2(long nr, long a, long b)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(nr), "D"(a), "S"(b)
			 : "rcx", "r11", "memory");
	return r;
}

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* clock_index - which vvar base serves @clk, or -1 for the syscall. */
static int clock_index(int clk)
{
	switch (clk) {
	case 0: /* CLOCK_REALTIME */
	case 5: /* CLOCK_REALTIME_COARSE */
		return VVAR_CLOCK_REALTIME;
	case 1: /* CLOCK_MONOTONIC */
	case 6: /* CLOCK_MONOTONIC_COARSE */
		return VVAR_CLOCK_MONOTONIC;
	case 7: /* CLOCK_BOOTTIME */
		return VVAR_CLOCK_BOOTTIME;
	default:
		return -1;
	}
}

/* read_ns - the clock's value in ns, or -1 when the vvar is invalid. */
static int64_t read_ns(int idx)
{
	const volatile struct sbx_vvar *v = &sbx_vvar_page;
	uint32_t seq;
	int64_t ns;

	do {
		seq = v->seq;
		__asm__ volatile("" ::: "memory");
		if (seq & 1)
			continue;
		if (!v->valid)
			return -1;
		uint64_t delta = rdtsc_ordered() - v->tsc_base;

		if ((int64_t)delta < 0)
			delta = 0;
		ns = v->base_ns[idx] +
		     (int64_t)(((unsigned __int128)delta * v->mult) >> v->shift);
		__asm__ volatile("" ::: "memory");
	} while ((seq & 1) || seq != v->seq);
	return ns;
}

int __vdso_clock_gettime(int clk, struct vts *ts)
{
	int idx = clock_index(clk);
	int64_t ns = idx < 0 ? -1 : read_ns(idx);

	if (ns < 0)
		return (int)fallback2(228, clk, (long)ts);
	ts->sec = ns / NSEC;
	ts->nsec = ns % NSEC;
	return 0;
}

int __vdso_gettimeofday(struct vtv *tv, void *tz)
{
	int64_t ns = read_ns(VVAR_CLOCK_REALTIME);

	if (ns < 0)
		return (int)fallback2(96, (long)tv, (long)tz);
	if (tv) {
		tv->sec = ns / NSEC;
		tv->usec = ns % NSEC / 1000;
	}
	if (tz) {
		((int32_t *)tz)[0] = 0;
		((int32_t *)tz)[1] = 0;
	}
	return 0;
}

long __vdso_time(long *t)
{
	int64_t ns = read_ns(VVAR_CLOCK_REALTIME);
	long s;

	if (ns < 0)
		return fallback2(201, (long)t, 0);
	s = ns / NSEC;
	if (t)
		*t = s;
	return s;
}

int __vdso_clock_getres(int clk, struct vts *res)
{
	const volatile struct sbx_vvar *v = &sbx_vvar_page;
	int idx = clock_index(clk);

	if (idx < 0 || !v->valid)
		return (int)fallback2(229, clk, (long)res);
	if (res) {
		res->sec = 0;
		res->nsec = (clk == 5 || clk == 6) ? v->coarse_res_ns : 1;
	}
	return 0;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	uint32_t aux;

	/* the host kernel keeps (node << 12 | cpu) in TSC_AUX */
	__asm__ volatile("rdtscp" : "=c"(aux)::"eax", "edx");
	if (cpu)
		*cpu = aux & 0xfff;
	if (node)
		*node = aux >> 12;
	(void)cache;
	return 0;
}

int clock_gettime(int, struct vts *)
	__attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vtv *, void *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct vts *)
	__attribute__((weak, alias("__vdso_clock_getres")));
int getcpu(unsigned *, unsigned *, void *)
	__attribute__((weak, alias("__vdso_getcpu")));
