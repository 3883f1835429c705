/*
 * platform_roundtrip: getppid round trips through a platform plugin (path
 * in argv[1]), as the core would make them: switch_to, set rax, switch_to.
 * A blob loops on `syscall`; for the ptrace plugin it runs once with
 * option pin true and once with pin false, for systrap with each CPU
 * placement (pin cross/same/none) and spin policy.  Several plugins may be
 * named, to compare them side by side in one run.
 *
 * Output: `name value unit` lines, medians of RUNS runs of ITERS calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "harness.h"

#define RUNS 11
#define CODE 0x400000ULL

/* 1: mov $110, %eax (getppid); syscall; jmp 1b */
static const unsigned char blob[] = { 0xb8, 0x6e, 0x00, 0x00, 0x00,
				      0x0f, 0x05, 0xeb, 0xf7 };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int bench(const char *path, const char *name, const char *const *kv,
		 int iters)
{
	struct harness h;
	struct sbx_as *as;
	struct sbx_ctx *ctx;
	struct sbx_regs r;
	struct sbx_exit e = { .size = sizeof(e) };
	double v[RUNS], t0 = 0;
	int err, run, i;

	err = harness_open(&h, path, kv);
	if (err) {
		fprintf(stderr, "%s: init: %s\n", path, strerror(-err));
		return 1;
	}
	memcpy(h.mem, blob, sizeof(blob));
	for (run = 0; run < RUNS; run++) {
		if (h.ops->as_create(h.p, &as) ||
		    h.ops->as_map(as, CODE, 4096, PROT_READ | PROT_EXEC,
				  h.memfd, 0, SBX_MAP_SHARED) ||
		    h.ops->ctx_create(as, &ctx)) {
			fprintf(stderr, "%s: setup failed\n", name);
			return 1;
		}
		harness_regs(&r, CODE, 0);
		for (i = -iters / 10; i < iters; i++) {
			if (i == 0)
				t0 = now_ns();
			if (h.ops->switch_to(ctx, &r, &e) ||
			    e.kind != SBX_EXIT_SYSCALL) {
				fprintf(stderr, "%s: bad exit %u\n", name,
					e.kind);
				return 1;
			}
			r.rax = 1;
		}
		v[run] = (now_ns() - t0) / iters;
		h.ops->ctx_destroy(ctx);
		h.ops->as_destroy(as);
	}
	harness_close(&h);
	qsort(v, RUNS, sizeof(v[0]), cmp);
	printf("%s %.0f ns\n", name, v[RUNS / 2]);
	fflush(stdout);
	return 0;
}

/* one plugin's variants: ptrace pinned or not; systrap by pin and spin */
static int bench_plugin(const char *path, int iters)
{
	static const char *const pin_on[] = { "pin", "true", NULL };
	static const char *const pin_off[] = { "pin", "false", NULL };
	static const char *const st_cross[] = { "pin", "cross", "spin_us", "20",
						NULL };
	static const char *const st_same[] = { "pin", "same", "spin_us", "0",
					       NULL };
	static const char *const st_none[] = { "pin", "none", "spin_us", "20",
					       NULL };
	static const char *const st_futex[] = { "pin", "cross", "spin_us", "0",
						NULL };

	if (strstr(path, "ptrace"))
		return bench(path, "platform_getppid_pin_ns", pin_on, iters) ||
		       bench(path, "platform_getppid_nopin_ns", pin_off, iters);
	if (strstr(path, "systrap"))
		return bench(path, "systrap_getppid_cross_spin20_ns", st_cross,
			     iters) ||
		       bench(path, "systrap_getppid_cross_futex_ns", st_futex,
			     iters) ||
		       bench(path, "systrap_getppid_same_futex_ns", st_same,
			     iters) ||
		       bench(path, "systrap_getppid_nopin_spin20_ns", st_none,
			     iters);
	return bench(path, "platform_getppid_ns", NULL, iters);
}

/* usage: platform_roundtrip PLATFORM.so... [ITERS]: plugins side by side */
int main(int argc, char **argv)
{
	int iters = 20000, i, n = 0, err = 0;

	for (i = 1; i < argc; i++)
		if (!strstr(argv[i], ".so"))
			iters = atoi(argv[i]);
	for (i = 1; i < argc; i++) {
		if (!strstr(argv[i], ".so"))
			continue;
		printf("# %s\n", argv[i]);
		err |= bench_plugin(argv[i], iters);
		n++;
	}
	if (!n) {
		fprintf(stderr, "usage: %s PLATFORM.so... [ITERS]\n", argv[0]);
		return 2;
	}
	return err;
}
