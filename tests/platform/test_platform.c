/*
 * Platform conformance suite: one Check suite run against any platform
 * plugin, named by path in SBX_PLATFORM_PLUGIN.  It drives the plugin
 * directly through harness.c (no core): maps code blobs (blobs.S) from its
 * own memory file and checks what switch_to() reports.
 *
 * Divided into: fixture and helpers; system calls and registers; faults;
 * memory; interrupts; FPU state; lifecycle (many address spaces, a killed
 * core, limits, threads, options); several contexts per address space;
 * the suite.  Exit 77 (skip) when the
 * platform reports -ENODEV (e.g. kvm without /dev/kvm).
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../unit/runner.h"
#include "harness.h"

/* Application layout: memory-file offsets and where they are mapped. */
#define CODE	 0x400000ULL
#define CODE_OFF 0x0ULL
#define CODE_LEN 0x4000ULL
#define DATA	 0x500000ULL
#define DATA_OFF 0x10000ULL
#define DATA_LEN 0x10000ULL
#define RO	 0x510000ULL
#define RO_OFF	 0x20000ULL
#define NONE	 0x600000ULL

extern const char blobs_start[], blobs_end[], blob_syscall[],
	blob_syscall_ret[], blob_regs[], blob_read_unmapped[], blob_write_ro[],
	blob_exec_data[], blob_ud2[], blob_after_ud2[], blob_int3[],
	blob_after_int3[], blob_div0_insn[], blob_div0[], blob_shared[],
	blob_store[], blob_load[], blob_spin[], blob_xmm0[], blob_count[],
	blob_count_rbx[], blob_store_loop[], blob_load_loop[], blob_store_rbx[],
	blob_load_rbx[], blob_load_rbx2[];

#define B(label) (CODE + (uint64_t)((label) - blobs_start))

static struct harness H;
static struct sbx_as *AS;
static struct sbx_ctx *CTX;

/* ---- fixture and helpers ------------------------------------------------ */

static const char *plugin_path(void)
{
	return getenv("SBX_PLATFORM_PLUGIN");
}

static void map_layout(struct sbx_as *as)
{
	ck_assert_int_eq(H.ops->as_map(as, CODE, CODE_LEN,
				       PROT_READ | PROT_EXEC, H.memfd, CODE_OFF,
				       SBX_MAP_SHARED), 0);
	ck_assert_int_eq(H.ops->as_map(as, DATA, DATA_LEN,
				       PROT_READ | PROT_WRITE, H.memfd,
				       DATA_OFF, SBX_MAP_SHARED), 0);
	ck_assert_int_eq(H.ops->as_map(as, RO, 0x1000, PROT_READ, H.memfd,
				       RO_OFF, SBX_MAP_SHARED), 0);
}

static void setup(void)
{
	int err = harness_open(&H, plugin_path(), NULL);

	ck_assert_msg(err == 0, "init: %s", strerror(-err));
	memcpy(H.mem + CODE_OFF, blobs_start, blobs_end - blobs_start);
	ck_assert_int_eq(H.ops->as_create(H.p, &AS), 0);
	map_layout(AS);
	ck_assert_int_eq(H.ops->ctx_create(AS, &CTX), 0);
}

static void teardown(void)
{
	if (CTX)
		H.ops->ctx_destroy(CTX);
	if (AS)
		H.ops->as_destroy(AS);
	CTX = NULL;
	AS = NULL;
	harness_close(&H);
}

static uint64_t *data64(uint64_t off)
{
	return (uint64_t *)(H.mem + DATA_OFF + off);
}

static int run(struct sbx_regs *r, struct sbx_exit *e)
{
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
	return H.ops->switch_to(CTX, r, e);
}

/* run and expect a system call numbered @nr */
static void run_syscall(struct sbx_regs *r, uint64_t nr)
{
	struct sbx_exit e;

	ck_assert_int_eq(run(r, &e), 0);
	ck_assert_msg(e.kind == SBX_EXIT_SYSCALL,
		      "exit kind %u signo %d addr %#llx rip %#llx", e.kind,
		      e.signo, (unsigned long long)e.addr,
		      (unsigned long long)r->rip);
	ck_assert_uint_eq(r->orig_rax, nr);
}

static void run_fault(struct sbx_regs *r, struct sbx_exit *e, int signo)
{
	ck_assert_int_eq(run(r, e), 0);
	ck_assert_msg(e->kind == SBX_EXIT_FAULT && e->signo == signo,
		      "exit kind %u signo %d (want fault %d), rip %#llx",
		      e->kind, e->signo, signo, (unsigned long long)r->rip);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- system calls and registers ----------------------------------------- */

START_TEST(test_platform_describe)
{
	struct sbx_platform_info info = { .size = sizeof(info) };

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	ck_assert(info.user_min >= 0x1000);
	ck_assert(info.user_max > NONE + 0x1000);
	ck_assert(info.user_max <= 0x800000000000ULL);
	ck_assert(info.flags & SBX_PLATFORM_MULTI_AS);
	ck_assert_str_eq(H.desc->name, H.desc->name);
}
END_TEST

START_TEST(test_platform_syscall)
{
	struct sbx_regs r;

	harness_regs(&r, B(blob_syscall), DATA + 0x8000);
	run_syscall(&r, 500);
	ck_assert_uint_eq(r.rdi, 0x11);
	ck_assert_uint_eq(r.rsi, 0x22);
	ck_assert_uint_eq(r.rdx, 0x33);
	ck_assert_uint_eq(r.r10, 0x44);
	ck_assert_uint_eq(r.r8, 0x55);
	ck_assert_uint_eq(r.r9, 0x66);
	ck_assert_uint_eq(r.rip, B(blob_syscall_ret));
	ck_assert_uint_eq(r.rcx, B(blob_syscall_ret));

	r.rax = 0x1234567;
	run_syscall(&r, 60);
	ck_assert_uint_eq(r.rdi, 7);
	ck_assert_uint_eq(*data64(0), 0x1234567);
}
END_TEST

START_TEST(test_platform_regs)
{
	static const char magic[8] = "fsbase!";
	struct sbx_regs r;
	uint64_t want[16];
	int i;

	memcpy(data64(0x800), magic, 8);
	harness_regs(&r, B(blob_regs), DATA + 0x8000);
	for (i = 0; i < 16; i++)
		want[i] = 0x1000000000000001ULL * (i + 1) + 0x0102030405060708ULL;
	want[7] = DATA + 0x7000; /* rsp */
	r.rax = want[0];
	r.rbx = want[1];
	r.rcx = want[2];
	r.rdx = want[3];
	r.rsi = want[4];
	r.rdi = want[5];
	r.rbp = want[6];
	r.rsp = want[7];
	r.r8 = want[8];
	r.r9 = want[9];
	r.r10 = want[10];
	r.r11 = want[11];
	r.r12 = want[12];
	r.r13 = want[13];
	r.r14 = want[14];
	r.r15 = want[15];
	r.fs_base = DATA + 0x800;
	run_syscall(&r, 60);
	for (i = 0; i < 16; i++)
		ck_assert_msg(*data64(8 * i) == want[i], "reg %d: %#llx != %#llx",
			      i, (unsigned long long)*data64(8 * i),
			      (unsigned long long)want[i]);
	ck_assert_mem_eq(data64(128), magic, 8);
	/* kept across the exit (rax, rcx, r11 are the syscall's) */
	ck_assert_uint_eq(r.rbx, want[1]);
	ck_assert_uint_eq(r.rbp, want[6]);
	ck_assert_uint_eq(r.rsp, want[7]);
	ck_assert_uint_eq(r.r15, want[15]);
	ck_assert_uint_eq(r.fs_base, DATA + 0x800);
}
END_TEST

/* ---- faults --------------------------------------------------------------- */

START_TEST(test_platform_fault_read_unmapped)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(blob_read_unmapped), DATA + 0x8000);
	run_fault(&r, &e, SIGSEGV);
	ck_assert_int_eq(e.code, SEGV_MAPERR);
	ck_assert_uint_eq(e.addr, NONE);
	ck_assert_uint_eq(r.rip, B(blob_read_unmapped));
}
END_TEST

START_TEST(test_platform_fault_write_readonly)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(blob_write_ro), DATA + 0x8000);
	run_fault(&r, &e, SIGSEGV);
	ck_assert_int_eq(e.code, SEGV_ACCERR);
	ck_assert_uint_eq(e.addr, RO);
	ck_assert_uint_eq(r.rip, B(blob_write_ro));
}
END_TEST

START_TEST(test_platform_fault_exec_noexec)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(blob_exec_data), DATA + 0x8000);
	run_fault(&r, &e, SIGSEGV);
	ck_assert_uint_eq(e.addr, DATA);
	ck_assert_uint_eq(r.rip, DATA);
}
END_TEST

START_TEST(test_platform_fault_ud2)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(blob_ud2), DATA + 0x8000);
	run_fault(&r, &e, SIGILL);
	ck_assert_uint_eq(e.addr, B(blob_ud2));
	ck_assert_uint_eq(r.rip, B(blob_ud2));
	/* the signal is not delivered: skip the insn and carry on */
	r.rip = B(blob_after_ud2);
	run_syscall(&r, 60);
}
END_TEST

START_TEST(test_platform_fault_int3)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(blob_int3), DATA + 0x8000);
	run_fault(&r, &e, SIGTRAP);
	ck_assert_uint_eq(r.rip, B(blob_after_int3));
	run_syscall(&r, 60);
}
END_TEST

START_TEST(test_platform_fault_div0)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(blob_div0), DATA + 0x8000);
	run_fault(&r, &e, SIGFPE);
	ck_assert_int_eq(e.code, FPE_INTDIV);
	ck_assert_uint_eq(e.addr, B(blob_div0_insn));
	ck_assert_uint_eq(r.rip, B(blob_div0_insn));
}
END_TEST

/* ---- memory ----------------------------------------------------------------- */

START_TEST(test_platform_protect_unmap)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(blob_store), DATA + 0x8000);
	run_syscall(&r, 60);
	ck_assert_uint_eq(*data64(0x300), 0x42);

	ck_assert_int_eq(H.ops->as_protect(AS, DATA, 0x1000, PROT_READ), 0);
	harness_regs(&r, B(blob_store), DATA + 0x8000);
	run_fault(&r, &e, SIGSEGV);
	ck_assert_int_eq(e.code, SEGV_ACCERR);
	ck_assert_uint_eq(e.addr, DATA + 0x300);

	ck_assert_int_eq(H.ops->as_protect(AS, DATA, 0x1000,
					   PROT_READ | PROT_WRITE), 0);
	*data64(0x300) = 0;
	harness_regs(&r, B(blob_store), DATA + 0x8000);
	run_syscall(&r, 60);
	ck_assert_uint_eq(*data64(0x300), 0x42);

	ck_assert_int_eq(H.ops->as_unmap(AS, DATA, 0x1000), 0);
	harness_regs(&r, B(blob_load), DATA + 0x8000);
	run_fault(&r, &e, SIGSEGV);
	ck_assert_int_eq(e.code, SEGV_MAPERR);
	ck_assert_uint_eq(e.addr, DATA + 0x300);
	/* unmapping what is not mapped is fine */
	ck_assert_int_eq(H.ops->as_unmap(AS, DATA, 0x1000), 0);

	/* map it back at another file offset: the blob sees that page */
	*(uint64_t *)(H.mem + 0x30000 + 0x300) = 0x77;
	ck_assert_int_eq(H.ops->as_map(AS, DATA, 0x1000, PROT_READ, H.memfd,
				       0x30000, SBX_MAP_SHARED), 0);
	harness_regs(&r, B(blob_load), DATA + 0x8000);
	run_syscall(&r, 60);
	ck_assert_uint_eq(r.rdi, 0x77);
}
END_TEST

START_TEST(test_platform_map_bad_args)
{
	struct sbx_platform_info info = { .size = sizeof(info) };

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	/* above user_max: the platform's own region */
	ck_assert_int_lt(H.ops->as_map(AS, info.user_max, 0x1000, PROT_READ,
				       H.memfd, 0, SBX_MAP_SHARED), 0);
	ck_assert_int_lt(H.ops->as_map(AS, info.user_max - 0x1000, 0x2000,
				       PROT_READ, H.memfd, 0, SBX_MAP_SHARED),
			 0);
	ck_assert_int_lt(H.ops->as_unmap(AS, info.user_max, 0x1000), 0);
	ck_assert_int_lt(H.ops->as_protect(AS, info.user_max, 0x1000,
					   PROT_READ | PROT_WRITE), 0);
}
END_TEST

START_TEST(test_platform_shared_memory)
{
	struct sbx_regs r;

	*data64(0x100) = 41;
	harness_regs(&r, B(blob_shared), DATA + 0x8000);
	run_syscall(&r, 60);
	ck_assert_uint_eq(*data64(0x108), 42);
	/* and again: the core's write is seen without any remapping */
	*data64(0x100) = 1000;
	harness_regs(&r, B(blob_shared), DATA + 0x8000);
	run_syscall(&r, 60);
	ck_assert_uint_eq(*data64(0x108), 1001);
}
END_TEST

/* ---- interrupts ------------------------------------------------------------- */

static void *interrupt_later(void *arg)
{
	usleep(100 * 1000);
	H.ops->interrupt(CTX);
	return arg;
}

START_TEST(test_platform_interrupt_running)
{
	struct sbx_regs r;
	struct sbx_exit e;
	pthread_t th;
	double t0;

	harness_regs(&r, B(blob_spin), DATA + 0x8000);
	ck_assert_int_eq(pthread_create(&th, NULL, interrupt_later, NULL), 0);
	t0 = now();
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_INTERRUPT);
	ck_assert_msg(now() - t0 < 1.0, "interrupt took %.3f s", now() - t0);
	ck_assert_uint_eq(r.rip, B(blob_spin));
	pthread_join(th, NULL);

	/* the blob can go on; no interrupt is left over */
	*data64(0x400) = 0;
	r.rip = B(blob_count);
	run_syscall(&r, 39);
	run_syscall(&r, 39);
	ck_assert_uint_eq(*data64(0x400), 2);
}
END_TEST

START_TEST(test_platform_interrupt_before)
{
	struct sbx_regs r;
	struct sbx_exit e;
	double t0;

	*data64(0x400) = 0;
	harness_regs(&r, B(blob_count), DATA + 0x8000);
	/* two interrupts before running: one prompt exit, no progress */
	ck_assert_int_eq(H.ops->interrupt(CTX), 0);
	ck_assert_int_eq(H.ops->interrupt(CTX), 0);
	t0 = now();
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_INTERRUPT);
	ck_assert(now() - t0 < 0.5);
	ck_assert_uint_eq(r.rip, B(blob_count));
	ck_assert_uint_eq(*data64(0x400), 0);
	/* then it runs normally, and stays normal */
	run_syscall(&r, 39);
	ck_assert_uint_eq(*data64(0x400), 1);
	run_syscall(&r, 39);
	run_syscall(&r, 39);
	ck_assert_uint_eq(*data64(0x400), 3);
}
END_TEST

START_TEST(test_platform_interrupt_during_as_op)
{
	struct sbx_regs r;
	struct sbx_exit e;

	*data64(0x400) = 0;
	harness_regs(&r, B(blob_count), DATA + 0x8000);
	run_syscall(&r, 39);
	/* an interrupt while the core changes the address space */
	ck_assert_int_eq(H.ops->interrupt(CTX), 0);
	ck_assert_int_eq(H.ops->as_protect(AS, RO, 0x1000, PROT_READ), 0);
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_INTERRUPT);
	ck_assert_uint_eq(*data64(0x400), 1);
	run_syscall(&r, 39);
	ck_assert_uint_eq(*data64(0x400), 2);
	run_syscall(&r, 39);
}
END_TEST

START_TEST(test_platform_interrupt_after_fault)
{
	struct sbx_regs r;
	struct sbx_exit e;

	/* an interrupt that comes after the exit is an interrupt, not a fault */
	harness_regs(&r, B(blob_ud2), DATA + 0x8000);
	run_fault(&r, &e, SIGILL);
	ck_assert_int_eq(H.ops->interrupt(CTX), 0);
	r.rip = B(blob_after_ud2);
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_INTERRUPT);
	ck_assert_uint_eq(r.rip, B(blob_after_ud2));
	run_syscall(&r, 60);
}
END_TEST

static volatile int storm_done;

static void *interrupt_storm(void *arg)
{
	int i;

	for (i = 0; i < 300; i++) {
		H.ops->interrupt(CTX);
		usleep(500 + (i % 7) * 100);
	}
	storm_done = 1;
	return arg;
}

/*
 * Interrupts racing with every kind of exit: none turns into a fault, the
 * blob never loses or repeats a step, and once they stop, at most one
 * interrupt is still reported.
 */
START_TEST(test_platform_interrupt_storm)
{
	uint64_t syscalls = 0, interrupts = 0, after = 0;
	struct sbx_regs r;
	struct sbx_exit e;
	pthread_t th;
	int i;

	*data64(0x400) = 0;
	harness_regs(&r, B(blob_count), DATA + 0x8000);
	storm_done = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, interrupt_storm, NULL), 0);
	while (!storm_done) {
		ck_assert_int_eq(run(&r, &e), 0);
		ck_assert(e.kind == SBX_EXIT_SYSCALL ||
			  e.kind == SBX_EXIT_INTERRUPT);
		if (e.kind == SBX_EXIT_SYSCALL) {
			ck_assert_uint_eq(r.orig_rax, 39);
			syscalls++;
		} else {
			interrupts++;
		}
	}
	pthread_join(th, NULL);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(run(&r, &e), 0);
		if (e.kind == SBX_EXIT_INTERRUPT)
			after++;
		else
			syscalls++;
	}
	ck_assert_uint_le(after, 1);
	ck_assert_uint_gt(interrupts, 0);
	ck_assert_uint_eq(*data64(0x400), syscalls);
}
END_TEST

/* ---- FPU state ----------------------------------------------------------------- */

START_TEST(test_platform_fpstate)
{
	static const uint8_t xmm0[16] = "0123456789abcdef";
	size_t len = 64 * 1024;
	uint8_t *buf = calloc(1, len);
	struct sbx_regs r;
	uint64_t bv;
	int n;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(H.ops->ctx_get_fpstate(CTX, buf, 100), -ENOSPC);
	n = H.ops->ctx_get_fpstate(CTX, buf, len);
	ck_assert_int_ge(n, 512);
	memcpy(buf + 160, xmm0, 16); /* FXSAVE: xmm0 at byte 160 */
	if (n >= 576) {
		/* XSAVE header: mark x87 and SSE state as present */
		memcpy(&bv, buf + 512, 8);
		bv |= 3;
		memcpy(buf + 512, &bv, 8);
	}
	ck_assert_int_eq(H.ops->ctx_set_fpstate(CTX, buf, n), n);

	memset(buf, 0, len);
	ck_assert_int_eq(H.ops->ctx_get_fpstate(CTX, buf, len), n);
	ck_assert_mem_eq(buf + 160, xmm0, 16);

	harness_regs(&r, B(blob_xmm0), DATA + 0x8000);
	run_syscall(&r, 60);
	ck_assert_mem_eq(data64(0x200), xmm0, 16);

	/* a legacy-only (512-byte) set works too */
	memcpy(buf + 160, "fedcba9876543210", 16);
	ck_assert_int_ge(H.ops->ctx_set_fpstate(CTX, buf, 512), 512);
	harness_regs(&r, B(blob_xmm0), DATA + 0x8000);
	run_syscall(&r, 60);
	ck_assert_mem_eq(data64(0x200), "fedcba9876543210", 16);
	free(buf);
}
END_TEST

/* ---- lifecycle ------------------------------------------------------------------ */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* children of every thread of this process, from /proc */
static int list_children(pid_t *pids, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	char path[300];
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		FILE *f;
		int pid;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children",
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fscanf(f, "%d", &pid) == 1)
			if (n < max)
				pids[n++] = pid;
		fclose(f);
	}
	closedir(d);
	return n;
}

START_TEST(test_platform_many_address_spaces)
{
	struct sbx_regs r;
	struct sbx_as *as;
	int fds, i, status;
	pid_t kids[8];

	H.ops->ctx_destroy(CTX);
	H.ops->as_destroy(AS);
	CTX = NULL;
	AS = NULL;

	fds = count_fds();
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(H.ops->as_create(H.p, &as), 0);
		if (i % 10 == 0) {
			/* some of them run a little */
			AS = as;
			map_layout(as);
			ck_assert_int_eq(H.ops->ctx_create(as, &CTX), 0);
			harness_regs(&r, B(blob_syscall), DATA + 0x8000);
			run_syscall(&r, 500);
			H.ops->ctx_destroy(CTX);
			CTX = NULL;
			AS = NULL;
		}
		H.ops->as_destroy(as);
	}
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(list_children(kids, 8), 0);
	ck_assert_int_eq(waitpid(-1, &status, WNOHANG | __WALL), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* A core killed with SIGKILL leaves no stubs behind. */
START_TEST(test_platform_killed_core_leaves_no_stubs)
{
	pid_t core, kids[16];
	int pipefd[2], n = 0, i, status;
	double t0;

	teardown();
	/* orphans come to us, so we can see them die and reap them */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	core = fork();
	ck_assert_int_ge(core, 0);
	if (core == 0) {
		struct sbx_as *as[3];

		close(pipefd[0]);
		if (harness_open(&H, plugin_path(), NULL))
			_exit(1);
		for (i = 0; i < 3; i++)
			if (H.ops->as_create(H.p, &as[i]))
				_exit(2);
		n = list_children(kids, 16);
		if (write(pipefd[1], kids, n * sizeof(pid_t)) < 0)
			_exit(3);
		close(pipefd[1]);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	close(pipefd[1]);
	while ((i = read(pipefd[0], (char *)kids + n, sizeof(kids) - n)) > 0)
		n += i;
	close(pipefd[0]);
	n /= sizeof(pid_t);
	fprintf(stderr, "# %d stub processes to watch\n", n);
	ck_assert_int_eq(waitpid(core, &status, 0), core);
	/* ptrace and systrap have stub processes; kvm has none */
	ck_assert_int_le(n, 3);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	t0 = now();
	for (i = 0; i < n; i++) {
		pid_t r;

		while ((r = waitpid(kids[i], &status, WNOHANG | __WALL)) == 0 &&
		       now() - t0 < 1.0)
			usleep(1000);
		ck_assert_msg(r == kids[i] || (r < 0 && errno == ECHILD),
			      "stub %d still alive after 1 s", kids[i]);
	}
	for (i = 0; i < n; i++)
		ck_assert_msg(kill(kids[i], 0) < 0, "stub %d still exists",
			      kids[i]);
}
END_TEST

START_TEST(test_platform_stub_killed)
{
	struct sbx_regs r;
	struct sbx_exit e;
	pid_t kids[8];
	int n, i;

	/* only for platforms with stub processes */
	n = list_children(kids, 8);
	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	harness_regs(&r, B(blob_spin), DATA + 0x8000);
	ck_assert_int_lt(run(&r, &e), 0);
	ck_assert_int_lt(run(&r, &e), 0);
}
END_TEST

START_TEST(test_platform_contexts_per_as)
{
	struct sbx_platform_info info = { .size = sizeof(info) };
	struct sbx_ctx *c2;
	struct sbx_regs r;
	int err;

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	err = H.ops->ctx_create(AS, &c2);
	if (info.flags & SBX_PLATFORM_MULTI_CTX) {
		ck_assert_int_eq(err, 0);
		H.ops->ctx_destroy(c2);
	} else {
		ck_assert_int_eq(err, -EAGAIN);
	}
	/* destroy and create again: the address space stays usable */
	H.ops->ctx_destroy(CTX);
	CTX = NULL;
	ck_assert_int_eq(H.ops->ctx_create(AS, &CTX), 0);
	harness_regs(&r, B(blob_syscall), DATA + 0x8000);
	run_syscall(&r, 500);
}
END_TEST

static void *other_thread_map(void *arg)
{
	*(int *)arg = H.ops->as_map(AS, DATA, 0x1000, PROT_READ, H.memfd,
				    DATA_OFF, SBX_MAP_SHARED);
	return NULL;
}

START_TEST(test_platform_other_thread)
{
	struct sbx_regs r;
	pthread_t th;
	int err = 1;

	/* the ABI allows this for an address space only from its threads */
	ck_assert_int_eq(pthread_create(&th, NULL, other_thread_map, &err), 0);
	pthread_join(th, NULL);
	ck_assert(err == 0 || err == -EPERM);
	harness_regs(&r, B(blob_syscall), DATA + 0x8000);
	run_syscall(&r, 500);
}
END_TEST

START_TEST(test_platform_options)
{
	static const char *const bad[] = { "no-such-option", "1", NULL };
	struct harness h2;

	ck_assert_int_eq(harness_open(&h2, plugin_path(), bad), -EINVAL);
}
END_TEST

START_TEST(test_platform_two_instances)
{
	struct harness h2;
	struct sbx_as *as2;
	struct sbx_ctx *c2;
	struct sbx_regs r;
	struct sbx_exit e;

	ck_assert_int_eq(harness_open(&h2, plugin_path(), NULL), 0);
	memcpy(h2.mem + CODE_OFF, blobs_start, blobs_end - blobs_start);
	ck_assert_int_eq(h2.ops->as_create(h2.p, &as2), 0);
	ck_assert_int_eq(h2.ops->as_map(as2, CODE, CODE_LEN,
					PROT_READ | PROT_EXEC, h2.memfd, 0,
					SBX_MAP_SHARED), 0);
	ck_assert_int_eq(h2.ops->ctx_create(as2, &c2), 0);
	harness_regs(&r, B(blob_syscall), DATA + 0x8000);
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	ck_assert_int_eq(h2.ops->switch_to(c2, &r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
	ck_assert_uint_eq(r.orig_rax, 500);
	/* the first instance still works */
	harness_regs(&r, B(blob_syscall), DATA + 0x8000);
	run_syscall(&r, 500);
	h2.ops->ctx_destroy(c2);
	h2.ops->as_destroy(as2);
	harness_close(&h2);
}
END_TEST

/*
 * Under a seccomp allowlist of a few basics plus the plugin's own
 * seccomp_rules(), the platform still works end to end (stubs forked from
 * the core inherit the filter).
 */
START_TEST(test_platform_seccomp_rules)
{
	static const int basics[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(close),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(futex),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigaction), SCMP_SYS(lseek), SCMP_SYS(fstat),
		SCMP_SYS(newfstatat), SCMP_SYS(brk), SCMP_SYS(openat),
		SCMP_SYS(unlink), SCMP_SYS(fcntl), SCMP_SYS(getdents64),
		SCMP_SYS(clock_gettime), SCMP_SYS(timer_create),
		SCMP_SYS(timer_settime), SCMP_SYS(timer_delete),
		SCMP_SYS(getpid), SCMP_SYS(kill),
	};
	scmp_filter_ctx sc;
	struct sbx_regs r;
	struct sbx_as *as;
	size_t i;

	if (!H.ops->seccomp_rules)
		return;
	sc = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	ck_assert_ptr_nonnull(sc);
	for (i = 0; i < sizeof(basics) / sizeof(basics[0]); i++)
		ck_assert_int_eq(seccomp_rule_add(sc, SCMP_ACT_ALLOW, basics[i],
						  0), 0);
	ck_assert_int_eq(H.ops->seccomp_rules(H.p, sc), 0);
	ck_assert_int_eq(seccomp_load(sc), 0);
	seccomp_release(sc);
	/* the filter is on: an unlisted call fails */
	ck_assert_int_eq(syscall(SYS_getpriority, 0, 0), -1);
	ck_assert_int_eq(errno, EPERM);

	H.ops->ctx_destroy(CTX);
	CTX = NULL;
	ck_assert_int_eq(H.ops->as_create(H.p, &as), 0);
	map_layout(as);
	ck_assert_int_eq(H.ops->ctx_create(as, &CTX), 0);
	harness_regs(&r, B(blob_syscall), DATA + 0x8000);
	run_syscall(&r, 500);
	r.rax = 99;
	run_syscall(&r, 60);
	ck_assert_uint_eq(*data64(0), 99);
	H.ops->ctx_destroy(CTX);
	CTX = NULL;
	H.ops->as_destroy(as);
}
END_TEST

/* ---- several contexts per address space ------------------------------------ */

/* threads of this process, from /proc */
static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * One application thread as the core runs it: a host thread that creates
 * its context itself, runs it until told to stop, then destroys it.
 */
struct mt_worker {
	pthread_t th;
	uint64_t off;	      /* its counter: DATA + off */
	bool protect;	      /* as ops from its own thread, between runs */
	struct sbx_ctx *ctx;
	atomic_int stop;
	atomic_int ready;     /* 1 created, -1 failed */
	atomic_ulong syscalls;
	atomic_ulong interrupts;
	int err;
};

/* stands in for the core's address-space lock (the ABI: ops serialised) */
static pthread_mutex_t mt_as_lock = PTHREAD_MUTEX_INITIALIZER;

static void *mt_run(void *arg)
{
	struct mt_worker *w = arg;
	struct sbx_regs r;
	struct sbx_exit e;
	int err;

	w->err = H.ops->ctx_create(AS, &w->ctx);
	if (w->err) {
		atomic_store(&w->ready, -1);
		return NULL;
	}
	atomic_store(&w->ready, 1);
	harness_regs(&r, B(blob_count_rbx), DATA + 0x8000);
	r.rbx = DATA + w->off;
	while (!atomic_load(&w->stop)) {
		memset(&e, 0, sizeof(e));
		e.size = sizeof(e);
		err = H.ops->switch_to(w->ctx, &r, &e);
		if (err) {
			w->err = err;
			break;
		}
		if (e.kind == SBX_EXIT_INTERRUPT) {
			atomic_fetch_add(&w->interrupts, 1);
			continue;
		}
		if (e.kind != SBX_EXIT_SYSCALL || r.orig_rax != 39 ||
		    r.rbx != DATA + w->off) {
			w->err = -EPROTO;
			break;
		}
		if (atomic_fetch_add(&w->syscalls, 1) % 64 == 0 && w->protect) {
			pthread_mutex_lock(&mt_as_lock);
			err = H.ops->as_protect(AS, RO, 0x1000, PROT_READ);
			pthread_mutex_unlock(&mt_as_lock);
			if (err) {
				w->err = err;
				break;
			}
		}
	}
	H.ops->ctx_destroy(w->ctx);
	return NULL;
}

static void mt_start(struct mt_worker *w, uint64_t off, bool protect)
{
	double t0 = now();

	memset(w, 0, sizeof(*w));
	w->off = off;
	w->protect = protect;
	ck_assert_int_eq(pthread_create(&w->th, NULL, mt_run, w), 0);
	while (!atomic_load(&w->ready) && now() - t0 < 5)
		usleep(1000);
	ck_assert_msg(atomic_load(&w->ready) == 1, "ctx_create: %s",
		      strerror(-w->err));
}

/* wait until @w made @n more system calls (it runs while we wait) */
static void mt_progress(struct mt_worker *w, unsigned long n)
{
	unsigned long from = atomic_load(&w->syscalls);
	double t0 = now();

	while (atomic_load(&w->syscalls) < from + n && now() - t0 < 5 &&
	       !w->err)
		usleep(500);
	ck_assert_msg(atomic_load(&w->syscalls) >= from + n,
		      "context at +%#llx stalled at %lu (err %d)",
		      (unsigned long long)w->off, atomic_load(&w->syscalls),
		      w->err);
}

static void mt_stop(struct mt_worker *w)
{
	atomic_store(&w->stop, 1);
	pthread_join(w->th, NULL);
	ck_assert_msg(w->err == 0, "context at +%#llx: %s",
		      (unsigned long long)w->off, strerror(-w->err));
	/* every round trip counted once, in the shared memory */
	ck_assert_uint_eq(*data64(w->off), atomic_load(&w->syscalls));
}

START_TEST(test_platform_multi_ctx)
{
	struct sbx_platform_info info = { .size = sizeof(info) };
	struct mt_worker a, b;
	unsigned long intr;
	int fds, fds2, threads, i;
	double t0;

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	if (!(info.flags & SBX_PLATFORM_MULTI_CTX)) {
		fprintf(stderr,
			"# SKIP multi_ctx: %s does not report SBX_PLATFORM_MULTI_CTX\n",
			H.desc->name);
		return;
	}
	/* contexts are created by the threads that run them, as the core does */
	H.ops->ctx_destroy(CTX);
	CTX = NULL;
	fds = count_fds();
	threads = count_threads();
	*data64(0x600) = 0;
	*data64(0x608) = 0;

	/* A runs; B is created while A runs, then both run at once */
	mt_start(&a, 0x600, true);
	mt_progress(&a, 200);
	mt_start(&b, 0x608, false);
	mt_progress(&b, 200);
	mt_progress(&a, 200);

	/* map, unmap and protect from a third thread while both run */
	for (i = 0; i < 50; i++) {
		pthread_mutex_lock(&mt_as_lock);
		ck_assert_int_eq(H.ops->as_map(AS, NONE, 0x2000,
					       PROT_READ | PROT_WRITE, H.memfd,
					       0x30000, SBX_MAP_SHARED), 0);
		ck_assert_int_eq(H.ops->as_protect(AS, NONE, 0x1000,
						   PROT_READ), 0);
		ck_assert_int_eq(H.ops->as_unmap(AS, NONE, 0x2000), 0);
		pthread_mutex_unlock(&mt_as_lock);
	}
	mt_progress(&a, 100);
	mt_progress(&b, 100);

	/* an interrupt reaches B only; A carries on */
	intr = atomic_load(&b.interrupts);
	ck_assert_int_eq(H.ops->interrupt(b.ctx), 0);
	t0 = now();
	while (atomic_load(&b.interrupts) == intr && now() - t0 < 1)
		usleep(500);
	ck_assert_msg(atomic_load(&b.interrupts) > intr,
		      "the interrupt did not reach B");
	mt_progress(&b, 100);
	mt_progress(&a, 100);

	/* B goes (its thread destroys its context) while A keeps running */
	mt_stop(&b);
	mt_progress(&a, 500);
	/* and a new context can take its place */
	*data64(0x608) = 0;
	mt_start(&b, 0x608, false);
	mt_progress(&b, 50);
	mt_stop(&b);
	mt_progress(&a, 100);
	mt_stop(&a);
	fprintf(stderr, "# multi_ctx: A %lu syscalls %lu interrupts, B %lu\n",
		atomic_load(&a.syscalls), atomic_load(&a.interrupts),
		atomic_load(&b.syscalls));

	/* the address space still works with a fresh context */
	ck_assert_int_eq(H.ops->ctx_create(AS, &CTX), 0);
	{
		struct sbx_regs r;

		harness_regs(&r, B(blob_syscall), DATA + 0x8000);
		run_syscall(&r, 500);
	}
	/*
	 * Contexts come and go on new threads without growing anything: a
	 * platform may keep a destroyed context's resources for the next one
	 * (kvm cannot destroy a vCPU before its VM, so it parks it), but no
	 * more than were alive at once (CTX, A and B here).
	 */
	fds2 = count_fds();
	for (i = 0; i < 20; i++) {
		*data64(0x608) = 0;
		mt_start(&b, 0x608, false);
		mt_progress(&b, 5);
		mt_stop(&b);
	}
	ck_assert_int_eq(count_fds(), fds2);
	ck_assert_int_eq(count_threads(), threads);
	ck_assert_int_le(count_fds(), fds + 2);
}
END_TEST

/*
 * A worker for the tests below: it makes its own context, then for each
 * round (go) runs its blob @repeat times, each until an exit other than an
 * interrupt, and counts exits that are not the fault it expects (@want:
 * a SIGSEGV at @rbx from @rip with rbx intact); the last one stays in r/e.
 */
struct sd_worker {
	pthread_t th;
	struct sbx_ctx *ctx;
	atomic_int ready, go, done, quit;
	uint64_t rip, rbx, rcx;
	int repeat;
	int bad;
	struct sbx_regs r;
	struct sbx_exit e;
	int err;
};

static void *sd_run(void *arg)
{
	struct sd_worker *w = arg;
	int round = 0, k;

	w->err = H.ops->ctx_create(AS, &w->ctx);
	atomic_store(&w->ready, w->err ? -1 : 1);
	if (w->err)
		return NULL;
	for (;;) {
		while (atomic_load(&w->go) == round && !atomic_load(&w->quit))
			usleep(100);
		if (atomic_load(&w->quit))
			break;
		round++;
		for (k = 0; k < (w->repeat ? w->repeat : 1) && !w->err; k++) {
			harness_regs(&w->r, w->rip, DATA + 0x8000);
			w->r.rbx = w->rbx;
			w->r.rcx = w->rcx;
			do {
				memset(&w->e, 0, sizeof(w->e));
				w->e.size = sizeof(w->e);
				w->err = H.ops->switch_to(w->ctx, &w->r, &w->e);
			} while (!w->err && w->e.kind == SBX_EXIT_INTERRUPT);
			if (w->e.kind != SBX_EXIT_FAULT ||
			    w->e.signo != SIGSEGV || w->e.addr != w->rbx ||
			    w->r.rip != w->rip || w->r.rbx != w->rbx)
				w->bad++;
		}
		atomic_store(&w->done, round);
		if (w->err)
			break;
	}
	H.ops->ctx_destroy(w->ctx);
	return NULL;
}

static void sd_start(struct sd_worker *w)
{
	double t0 = now();

	ck_assert_int_eq(pthread_create(&w->th, NULL, sd_run, w), 0);
	while (!atomic_load(&w->ready) && now() - t0 < 5)
		usleep(500);
	ck_assert_msg(atomic_load(&w->ready) == 1, "ctx_create: %s",
		      strerror(-w->err));
}

static void sd_wait(struct sd_worker *w, int round)
{
	double t0 = now();

	while (atomic_load(&w->done) < round && now() - t0 < 5)
		usleep(100);
	ck_assert_msg(atomic_load(&w->done) >= round,
		      "worker stuck in round %d (exit kind %u)", round,
		      w->e.kind);
	ck_assert_msg(w->err == 0, "switch_to: %s", strerror(-w->err));
}

static void sd_stop(struct sd_worker *w)
{
	atomic_store(&w->quit, 1);
	pthread_join(w->th, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

#define TLBX	 0x700000ULL
#define TLBX_OFF 0x40000ULL
#define SD_ROUNDS 25

static volatile uint64_t *tlbx64(void)
{
	return (volatile uint64_t *)(H.mem + TLBX_OFF);
}

/*
 * TLB shootdown: a context stores to (or loads from) a page in a tight
 * loop without exits while this thread write-protects (or unmaps) it.  When
 * as_protect/as_unmap returns, the change must hold for the running
 * context too: no store lands after it (a load already done may still be
 * counted once), and the context faults at the page.  Timed against the
 * same op on a used page while no other context runs.
 */
START_TEST(test_platform_multi_ctx_shootdown)
{
	struct sbx_platform_info info = { .size = sizeof(info) };
	volatile uint64_t *cnt = data64(0x700);
	double busy[2][SD_ROUNDS], idle[2][SD_ROUNDS];
	struct sd_worker w;
	struct sbx_regs r;
	int i;

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	if (!(info.flags & SBX_PLATFORM_MULTI_CTX)) {
		fprintf(stderr, "# SKIP multi_ctx_shootdown: no MULTI_CTX\n");
		return;
	}
	memset(&w, 0, sizeof(w));
	sd_start(&w);
	for (i = 0; i < 2 * SD_ROUNDS; i++) {
		bool unmap = i >= SD_ROUNDS;
		volatile uint64_t *watch = unmap ? cnt : tlbx64();
		uint64_t v1, v2;
		double t0;
		int err;

		ck_assert_int_eq(H.ops->as_map(AS, TLBX, 0x1000,
					       PROT_READ | PROT_WRITE, H.memfd,
					       TLBX_OFF, SBX_MAP_SHARED), 0);
		*tlbx64() = 0;
		*cnt = 0;
		w.rip = unmap ? B(blob_load_loop) : B(blob_store_loop);
		w.rbx = TLBX;
		w.rcx = DATA + 0x700;
		atomic_store(&w.go, i + 1);
		t0 = now();
		while (*watch < 1000 && now() - t0 < 5)
			usleep(100);
		ck_assert_msg(*watch >= 1000, "round %d: no progress", i);

		pthread_mutex_lock(&mt_as_lock);
		t0 = now();
		err = unmap ? H.ops->as_unmap(AS, TLBX, 0x1000) :
			      H.ops->as_protect(AS, TLBX, 0x1000, PROT_READ);
		busy[unmap][i % SD_ROUNDS] = (now() - t0) * 1e6;
		pthread_mutex_unlock(&mt_as_lock);
		ck_assert_int_eq(err, 0);
		v1 = *watch;
		usleep(5000);
		v2 = *watch;
		ck_assert_msg(unmap ? v2 <= v1 + 1 : v2 == v1,
			      "round %d: %s went on after it returned: %llu -> %llu",
			      i, unmap ? "a load" : "a store",
			      (unsigned long long)v1, (unsigned long long)v2);
		sd_wait(&w, i + 1);
		ck_assert_msg(w.e.kind == SBX_EXIT_FAULT &&
				      w.e.signo == SIGSEGV &&
				      w.e.addr == TLBX,
			      "round %d: exit kind %u signo %d addr %#llx", i,
			      w.e.kind, w.e.signo,
			      (unsigned long long)w.e.addr);
		if (w.e.access)
			ck_assert_uint_eq(w.e.access, unmap ? SBX_ACCESS_READ :
							      SBX_ACCESS_WRITE);

		/* the same op, on a used page, with no context running */
		ck_assert_int_eq(H.ops->as_map(AS, TLBX, 0x1000,
					       PROT_READ | PROT_WRITE, H.memfd,
					       TLBX_OFF, SBX_MAP_SHARED), 0);
		harness_regs(&r, B(blob_store_rbx), DATA + 0x8000);
		r.rbx = TLBX;
		run_syscall(&r, 60);
		t0 = now();
		err = unmap ? H.ops->as_unmap(AS, TLBX, 0x1000) :
			      H.ops->as_protect(AS, TLBX, 0x1000, PROT_READ);
		idle[unmap][i % SD_ROUNDS] = (now() - t0) * 1e6;
		ck_assert_int_eq(err, 0);
		ck_assert_int_eq(H.ops->as_unmap(AS, TLBX, 0x1000), 0);
	}
	sd_stop(&w);
	fprintf(stderr,
		"# shootdown (%s, median us): as_protect %.1f idle, %.1f with a context running; as_unmap %.1f idle, %.1f running\n",
		H.desc->name, median(idle[0], SD_ROUNDS),
		median(busy[0], SD_ROUNDS), median(idle[1], SD_ROUNDS),
		median(busy[1], SD_ROUNDS));
}
END_TEST

/* Two contexts fault at once, again and again: each sees its own fault. */
START_TEST(test_platform_multi_ctx_faults)
{
	struct sbx_platform_info info = { .size = sizeof(info) };
	struct sd_worker a, b;
	int i;

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	if (!(info.flags & SBX_PLATFORM_MULTI_CTX)) {
		fprintf(stderr, "# SKIP multi_ctx_faults: no MULTI_CTX\n");
		return;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.rip = B(blob_load_rbx);
	a.rbx = NONE + 0x1008;
	a.repeat = 100;
	b.rip = B(blob_load_rbx2);
	b.rbx = NONE + 0x3010;
	b.repeat = 100;
	sd_start(&a);
	sd_start(&b);
	for (i = 1; i <= 5; i++) {
		atomic_store(&a.go, i);
		atomic_store(&b.go, i);
		sd_wait(&a, i);
		sd_wait(&b, i);
	}
	sd_stop(&a);
	sd_stop(&b);
	ck_assert_msg(a.bad == 0 && b.bad == 0,
		      "%d and %d of 500 faults were not the context's own",
		      a.bad, b.bad);
}
END_TEST

/*
 * The thread that created the address space runs a context, another
 * context starts beside it, then the creator destroys its context and its
 * thread exits: the address space must live on (ptrace ties its stub to
 * threads; the application's main thread may leave first).
 */
struct creator {
	struct mt_worker *a;
	int err;
};

static void *creator_run(void *arg)
{
	struct creator *c = arg;
	struct sbx_ctx *ctx;
	struct sbx_regs r;
	struct sbx_exit e;
	double t0;
	int i;

	c->err = H.ops->as_create(H.p, &AS);
	if (c->err)
		return NULL;
	/* map_layout asserts; these are the same calls, checked here */
	if ((c->err = H.ops->as_map(AS, CODE, CODE_LEN, PROT_READ | PROT_EXEC,
				    H.memfd, CODE_OFF, SBX_MAP_SHARED)) ||
	    (c->err = H.ops->as_map(AS, DATA, DATA_LEN, PROT_READ | PROT_WRITE,
				    H.memfd, DATA_OFF, SBX_MAP_SHARED)) ||
	    (c->err = H.ops->as_map(AS, RO, 0x1000, PROT_READ, H.memfd,
				    RO_OFF, SBX_MAP_SHARED)) ||
	    (c->err = H.ops->ctx_create(AS, &ctx)))
		return NULL;
	for (i = 0; i < 20 && !c->err; i++) {
		harness_regs(&r, B(blob_syscall), DATA + 0x8000);
		memset(&e, 0, sizeof(e));
		e.size = sizeof(e);
		c->err = H.ops->switch_to(ctx, &r, &e);
		if (!c->err && (e.kind != SBX_EXIT_SYSCALL || r.orig_rax != 500))
			c->err = -EPROTO;
	}
	/* a second context starts while this one exists (mt_run) */
	memset(c->a, 0, sizeof(*c->a));
	c->a->off = 0x600;
	if (!c->err && pthread_create(&c->a->th, NULL, mt_run, c->a))
		c->err = -EAGAIN;
	t0 = now();
	while (!c->err && atomic_load(&c->a->syscalls) < 100 && now() - t0 < 5)
		usleep(500);
	H.ops->ctx_destroy(ctx);
	return NULL;
}

START_TEST(test_platform_multi_ctx_creator_leaves)
{
	struct sbx_platform_info info = { .size = sizeof(info) };
	struct mt_worker a, b;
	struct creator c = { &a, 0 };
	pthread_t th;
	int i;

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	if (!(info.flags & SBX_PLATFORM_MULTI_CTX)) {
		fprintf(stderr, "# SKIP multi_ctx_creator_leaves: no MULTI_CTX\n");
		return;
	}
	H.ops->ctx_destroy(CTX);
	H.ops->as_destroy(AS);
	CTX = NULL;
	AS = NULL;
	*data64(0x600) = 0;
	*data64(0x608) = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, creator_run, &c), 0);
	pthread_join(th, NULL);
	ck_assert_msg(c.err == 0, "creator: %s", strerror(-c.err));
	ck_assert_msg(atomic_load(&a.ready) == 1, "second context: %s",
		      strerror(-a.err));

	/* the creator is gone: A runs on, a new context joins it */
	mt_progress(&a, 200);
	mt_start(&b, 0x608, false);
	mt_progress(&b, 100);
	/* address-space ops from a thread without a context */
	for (i = 0; i < 10; i++) {
		pthread_mutex_lock(&mt_as_lock);
		ck_assert_int_eq(H.ops->as_map(AS, NONE, 0x1000, PROT_READ,
					       H.memfd, 0x30000,
					       SBX_MAP_SHARED), 0);
		ck_assert_int_eq(H.ops->as_unmap(AS, NONE, 0x1000), 0);
		pthread_mutex_unlock(&mt_as_lock);
	}
	mt_progress(&a, 100);
	mt_stop(&a);
	mt_stop(&b);
	/* teardown destroys AS from this thread, which did not create it */
	ck_assert_int_eq(H.ops->ctx_create(AS, &CTX), 0);
	{
		struct sbx_regs r;

		harness_regs(&r, B(blob_syscall), DATA + 0x8000);
		run_syscall(&r, 500);
	}
}
END_TEST

/* kc_spin - a context of the killed core below: runs until it dies */
static void *kc_spin(void *arg)
{
	struct sbx_as *as = arg;
	struct sbx_ctx *ctx;
	struct sbx_regs r;
	struct sbx_exit e;

	if (H.ops->ctx_create(as, &ctx))
		_exit(5);
	harness_regs(&r, B(blob_syscall), DATA + 0x8000);
	for (;;) {
		memset(&e, 0, sizeof(e));
		e.size = sizeof(e);
		if (H.ops->switch_to(ctx, &r, &e))
			pause();
	}
	return NULL;
}

/* kc_leave - create a context on another thread and destroy it there */
static void *kc_leave(void *arg)
{
	struct sbx_ctx *ctx;

	if (H.ops->ctx_create(arg, &ctx))
		_exit(6);
	H.ops->ctx_destroy(ctx);
	return NULL;
}

/*
 * A core killed with SIGKILL leaves no stubs behind, with address spaces
 * whose contexts run on several threads (one still running, the creator's
 * gone) and one whose contexts are all gone.
 */
START_TEST(test_platform_multi_ctx_killed_core)
{
	struct sbx_platform_info info = { .size = sizeof(info) };
	pid_t core, kids[16];
	int pipefd[2], n = 0, i, status;
	double t0;

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	if (!(info.flags & SBX_PLATFORM_MULTI_CTX)) {
		fprintf(stderr, "# SKIP multi_ctx_killed_core: no MULTI_CTX\n");
		return;
	}
	teardown();
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	core = fork();
	ck_assert_int_ge(core, 0);
	if (core == 0) {
		struct sbx_as *as[2];
		struct sbx_ctx *ctx;
		pthread_t th;

		close(pipefd[0]);
		if (harness_open(&H, plugin_path(), NULL))
			_exit(1);
		for (i = 0; i < 2; i++) {
			if (H.ops->as_create(H.p, &as[i]) ||
			    H.ops->as_map(as[i], CODE, CODE_LEN,
					  PROT_READ | PROT_EXEC, H.memfd,
					  CODE_OFF, SBX_MAP_SHARED) ||
			    H.ops->as_map(as[i], DATA, DATA_LEN,
					  PROT_READ | PROT_WRITE, H.memfd,
					  DATA_OFF, SBX_MAP_SHARED) ||
			    H.ops->ctx_create(as[i], &ctx))
				_exit(2);
			if (i == 0 && pthread_create(&th, NULL, kc_spin, as[i]))
				_exit(3);
			if (i == 1 && (pthread_create(&th, NULL, kc_leave, as[i]) ||
				       pthread_join(th, NULL)))
				_exit(3);
			H.ops->ctx_destroy(ctx);
		}
		usleep(20000); /* kc_spin runs */
		n = list_children(kids, 16);
		if (write(pipefd[1], kids, n * sizeof(pid_t)) < 0)
			_exit(4);
		close(pipefd[1]);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	close(pipefd[1]);
	while ((i = read(pipefd[0], (char *)kids + n, sizeof(kids) - n)) > 0)
		n += i;
	close(pipefd[0]);
	n /= sizeof(pid_t);
	fprintf(stderr, "# %d stub processes to watch\n", n);
	ck_assert_int_eq(waitpid(core, &status, 0), core);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "core status %#x", status);
	t0 = now();
	for (i = 0; i < n; i++) {
		pid_t r;

		while ((r = waitpid(kids[i], &status, WNOHANG | __WALL)) == 0 &&
		       now() - t0 < 1.0)
			usleep(1000);
		ck_assert_msg(r == kids[i] || (r < 0 && errno == ECHILD),
			      "stub %d still alive after 1 s", kids[i]);
	}
}
END_TEST

/* ---- the suite ------------------------------------------------------------------- */

/* Skip the whole suite (exit 77) if there is no plugin or no host support. */
static void check_available(void)
{
	struct harness h;
	int err;

	if (!plugin_path()) {
		printf("1..0 # SKIP SBX_PLATFORM_PLUGIN is not set\n");
		exit(77);
	}
	err = harness_open(&h, plugin_path(), NULL);
	if (err == -ENODEV) {
		printf("1..0 # SKIP %s: platform unavailable on this host\n",
		       plugin_path());
		exit(77);
	}
	if (err) {
		printf("Bail out! %s: init: %s\n", plugin_path(),
		       strerror(-err));
		exit(1);
	}
	harness_close(&h);
}

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("platform");
	TCase *tc = tcase_create("conformance");

	check_available();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_platform_describe);
	tcase_add_test(tc, test_platform_syscall);
	tcase_add_test(tc, test_platform_regs);
	tcase_add_test(tc, test_platform_fault_read_unmapped);
	tcase_add_test(tc, test_platform_fault_write_readonly);
	tcase_add_test(tc, test_platform_fault_exec_noexec);
	tcase_add_test(tc, test_platform_fault_ud2);
	tcase_add_test(tc, test_platform_fault_int3);
	tcase_add_test(tc, test_platform_fault_div0);
	tcase_add_test(tc, test_platform_protect_unmap);
	tcase_add_test(tc, test_platform_map_bad_args);
	tcase_add_test(tc, test_platform_shared_memory);
	tcase_add_test(tc, test_platform_interrupt_running);
	tcase_add_test(tc, test_platform_interrupt_before);
	tcase_add_test(tc, test_platform_interrupt_during_as_op);
	tcase_add_test(tc, test_platform_interrupt_after_fault);
	tcase_add_test(tc, test_platform_interrupt_storm);
	tcase_add_test(tc, test_platform_fpstate);
	tcase_add_test(tc, test_platform_many_address_spaces);
	tcase_add_test(tc, test_platform_killed_core_leaves_no_stubs);
	tcase_add_test(tc, test_platform_stub_killed);
	tcase_add_test(tc, test_platform_contexts_per_as);
	tcase_add_test(tc, test_platform_other_thread);
	tcase_add_test(tc, test_platform_options);
	tcase_add_test(tc, test_platform_two_instances);
	tcase_add_test(tc, test_platform_seccomp_rules);
	tcase_add_test(tc, test_platform_multi_ctx);
	tcase_add_test(tc, test_platform_multi_ctx_shootdown);
	tcase_add_test(tc, test_platform_multi_ctx_faults);
	tcase_add_test(tc, test_platform_multi_ctx_creator_leaves);
	tcase_add_test(tc, test_platform_multi_ctx_killed_core);
	suite_add_tcase(s, tc);
	return s;
}
