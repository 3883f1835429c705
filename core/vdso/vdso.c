/*
 * The core's side of the vDSO (see vdso.h).
 *
 * Clock model: ns(t) = base + ((t - tsc_base) * mult >> 32) per clock.
 * mult comes from the whole span since start-up (so it gets more precise
 * as the sandbox runs), and every REFRESH_MS the bases are re-anchored to
 * the host's clocks.  Re-anchoring happens inside the seqlock's write
 * section, at a TSC read there, and monotonic clocks never step back: the
 * new base is at least what the old parameters gave at that instant.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

#include "../mm/memfile.h"
#include "../util/log.h"
#include "vdso.h"
#include "vvar.h"

#define SHIFT 32
#define CALIBRATE_NS 2000000LL
#define REFRESH_MS 50
#define MAX_BRACKET_TSC 20000 /* ~8 us at 2.5 GHz */

extern const unsigned char vdso_image[];
extern const size_t vdso_image_size;

static const clockid_t host_clock[VVAR_NCLOCKS] = {
	[VVAR_CLOCK_REALTIME] = CLOCK_REALTIME,
	[VVAR_CLOCK_MONOTONIC] = CLOCK_MONOTONIC,
	[VVAR_CLOCK_BOOTTIME] = CLOCK_BOOTTIME,
};

/* each clock read with the TSC at its own midpoint: a preemption between
 * two reads must not shift one clock against the other */
struct sample {
	uint64_t tsc[VVAR_NCLOCKS];
	int64_t ns[VVAR_NCLOCKS];
};

static struct {
	struct sbx_vvar *page;
	uint64_t off;		/* of the page in the memory file */
	struct sample first;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int running;
} vd = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int64_t ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static uint64_t tsc_now(void)
{
	_mm_lfence();
	return __rdtsc();
}

/* take - read each clock bracketed by TSC reads (midpoint). */
static void take(struct sample *s)
{
	struct timespec ts;
	uint64_t t0, t1;

	for (int i = 0; i < VVAR_NCLOCKS; i++) {
		/* retry a bracket the scheduler stretched: it would skew mult */
		for (int try = 0; try < 20; try++) {
			t0 = tsc_now();
			clock_gettime(host_clock[i], &ts);
			t1 = tsc_now();
			if (t1 - t0 < MAX_BRACKET_TSC)
				break;
		}
		s->tsc[i] = t0 + (t1 - t0) / 2;
		s->ns[i] = ts_ns(&ts);
	}
}

static int64_t scaled(uint64_t delta, uint64_t mult)
{
	return (int64_t)(((unsigned __int128)delta * mult) >> SHIFT);
}

static uint64_t mult_between(const struct sample *a, const struct sample *b)
{
	uint64_t dtsc = b->tsc[VVAR_CLOCK_MONOTONIC] - a->tsc[VVAR_CLOCK_MONOTONIC];
	int64_t dns = b->ns[VVAR_CLOCK_MONOTONIC] - a->ns[VVAR_CLOCK_MONOTONIC];

	if (dtsc == 0 || dns <= 0)
		return 0;
	return (uint64_t)(((unsigned __int128)dns << SHIFT) / dtsc);
}

/* publish - re-anchor the page to @s with @mult (seqlock writer). */
static void publish(const struct sample *s, uint64_t mult)
{
	struct sbx_vvar *v = vd.page;
	uint64_t t;

	__atomic_store_n(&v->seq, v->seq + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t = tsc_now();
	for (int i = 0; i < VVAR_NCLOCKS; i++) {
		int64_t now = s->ns[i] + scaled(t - s->tsc[i], mult);

		if (v->valid && i != VVAR_CLOCK_REALTIME) {
			int64_t old = v->base_ns[i] + scaled(t - v->tsc_base, v->mult);

			if (now < old)
				now = old; /* never backwards */
		}
		v->base_ns[i] = now;
	}
	v->tsc_base = t;
	v->mult = mult;
	v->shift = SHIFT;
	v->valid = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&v->seq, v->seq + 1, __ATOMIC_RELEASE);
}

static void *refresh(void *arg)
{
	struct timespec until;
	struct sample s;

	(void)arg;
	pthread_mutex_lock(&vd.lock);
	while (!vd.stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += REFRESH_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vd.cond, &vd.lock, &until);
		if (vd.stop)
			break;
		take(&s);
		uint64_t mult = mult_between(&vd.first, &s);

		if (mult)
			publish(&s, mult);
	}
	pthread_mutex_unlock(&vd.lock);
	return NULL;
}

/* invariant_tsc - CPUID 0x80000007 EDX bit 8: the TSC ticks at a constant
 * rate in every state, so it can stand for time. */
static int invariant_tsc(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d))
		return 0;
	return (d >> 8) & 1;
}

int vdso_init(void)
{
	struct timespec res;
	struct sample s;
	pthread_condattr_t ca;
	int r;

	r = memfile_alloc(PAGE_SIZE, &vd.off);
	if (r)
		return r;
	vd.page = memfile_ptr(vd.off);
	memset(vd.page, 0, PAGE_SIZE);
	clock_getres(CLOCK_REALTIME_COARSE, &res);
	vd.page->coarse_res_ns = ts_ns(&res);
	if (!invariant_tsc()) {
		sbx_info("vdso: no invariant TSC; time calls use syscalls");
		return 0;
	}
	take(&vd.first);
	do
		take(&s);
	while (s.ns[VVAR_CLOCK_MONOTONIC] - vd.first.ns[VVAR_CLOCK_MONOTONIC] <
	       CALIBRATE_NS);
	publish(&s, mult_between(&vd.first, &s));

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vd.cond, &ca);
	pthread_condattr_destroy(&ca);
	r = -pthread_create(&vd.thread, NULL, refresh, NULL);
	if (r) {
		vd.page->valid = 0; /* no refresh: let the syscalls answer */
		return r;
	}
	vd.running = 1;
	return 0;
}

void vdso_fini(void)
{
	if (!vd.running)
		return;
	pthread_mutex_lock(&vd.lock);
	vd.stop = 1;
	pthread_cond_signal(&vd.cond);
	pthread_mutex_unlock(&vd.lock);
	pthread_join(vd.thread, NULL);
	vd.running = 0;
}

int vdso_map(struct mm *mm, uint64_t *ehdr)
{
	uint64_t len = PAGE_UP(vdso_image_size), addr;
	int r;

	if (!vd.page)
		return -ENODEV;
	r = mm_get_unmapped(mm, 0, PAGE_SIZE + len, &addr);
	if (r)
		return r;
	r = mm_map_special(mm, addr, PAGE_SIZE, PROT_READ, vd.off);
	if (r)
		return r;
	r = mm_map_anon(mm, addr + PAGE_SIZE, len, PROT_READ | PROT_WRITE, 0);
	if (!r)
		r = mm_poke(mm, addr + PAGE_SIZE, vdso_image, vdso_image_size);
	if (!r)
		r = mm_protect(mm, addr + PAGE_SIZE, len, PROT_READ | PROT_EXEC);
	if (r) {
		mm_unmap(mm, addr, PAGE_SIZE + len);
		return r;
	}
	*ehdr = addr + PAGE_SIZE;
	return 0;
}
