/*
 * kvm platform guest-payload tests: tiny ring-3 programs (blobs_kvm.S)
 * run through the plugin with the conformance harness, in the style of a
 * small VMM's test suite.
 *
 * - the system call stub alone: every register crosses both ways;
 * - exceptions: #GP (hlt, cli, int $0x80), #BP, #UD, #DB (single step),
 *   and page faults of each access kind;
 * - the plugin's region (GDT, stubs) from ring 3: not readable, not
 *   writable, kernel code not executable; the user stub is only a system
 *   call; forged `out`s are #GP, never exits of another kind;
 * - page tables: 2 MiB pages, split by a partial unmap or protect, put
 *   over used 4 KiB pages, and remapped (no stale translation survives);
 * - machine state: rdtsc without an exit, cpuid, the fs and gs bases;
 * - vCPUs: max_threads bounds them (-EAGAIN past it), a parked vCPU comes
 *   back with a clean FPU state and runs on another thread.
 *
 * Divided into: fixture and helpers; the tests; the suite.  Exit 77 (skip)
 * when the plugin reports -ENODEV.
 */
#define _GNU_SOURCE
#include <check.h>
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <x86intrin.h>

#include "../../unit/runner.h"
#include "harness.h"
#include "kvm_abi.h"

#define CODE	 0x400000ULL
#define DATA	 0x500000ULL
#define DATA_OFF 0x10000ULL
#define STACK	 (DATA + 0x8000)
#define HUGE	 0x40000000ULL
#define HUGE_OFF 0x200000ULL

extern const char kb_start[], kb_end[], kb_hlt[], kb_cli[], kb_int3[],
	kb_after_int3[], kb_into_ud[], kb_int80[], kb_single_step[],
	kb_after_step[], kb_read_gdt[], kb_write_ustub[], kb_jump_kstub[],
	kb_call_ustub[], kb_after_ustub[], kb_out_exc[], kb_out_syscall[],
	kb_rdtsc[], kb_cpuid[], kb_fs[], kb_sum_huge[], kb_store_rdi[],
	kb_syscall_only[];

#define B(label) (CODE + (uint64_t)((label) - kb_start))

static struct harness H;
static struct sbx_as *AS;
static struct sbx_ctx *CTX;

/* ---- fixture and helpers ------------------------------------------------- */

static void setup(void)
{
	int err = harness_open(&H, getenv("SBX_PLATFORM_PLUGIN"), NULL);

	ck_assert_msg(err == 0, "init: %s", strerror(-err));
	memcpy(H.mem, kb_start, kb_end - kb_start);
	ck_assert_int_eq(H.ops->as_create(H.p, &AS), 0);
	ck_assert_int_eq(H.ops->as_map(AS, CODE, 0x4000, PROT_READ | PROT_EXEC,
				       H.memfd, 0, SBX_MAP_SHARED), 0);
	ck_assert_int_eq(H.ops->as_map(AS, DATA, 0x10000,
				       PROT_READ | PROT_WRITE, H.memfd,
				       DATA_OFF, SBX_MAP_SHARED), 0);
	ck_assert_int_eq(H.ops->ctx_create(AS, &CTX), 0);
}

static void teardown(void)
{
	H.ops->ctx_destroy(CTX);
	H.ops->as_destroy(AS);
	harness_close(&H);
}

static uint64_t *data64(uint64_t off)
{
	return (uint64_t *)(H.mem + DATA_OFF + off);
}

static void run(struct sbx_regs *r, struct sbx_exit *e)
{
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
	ck_assert_int_eq(H.ops->switch_to(CTX, r, e), 0);
}

static void run_blob(const char *blob, struct sbx_regs *r, struct sbx_exit *e)
{
	harness_regs(r, B(blob), STACK);
	run(r, e);
}

static void expect_fault(const struct sbx_exit *e, int signo, int trapno)
{
	ck_assert_msg(e->kind == SBX_EXIT_FAULT && e->signo == signo &&
			      e->trapno == trapno,
		      "exit kind %u signo %d trapno %d (want %d/%d)", e->kind,
		      e->signo, e->trapno, signo, trapno);
}

static void expect_syscall(const struct sbx_exit *e,
			   const struct sbx_regs *r, uint64_t nr)
{
	ck_assert_msg(e->kind == SBX_EXIT_SYSCALL && r->orig_rax == nr,
		      "exit kind %u signo %d trapno %d nr %llu", e->kind,
		      e->signo, e->trapno, (unsigned long long)r->orig_rax);
}

/* ---- the tests -------------------------------------------------------------- */

START_TEST(test_kvm_syscall_stub_alone)
{
	struct sbx_regs r, in;
	struct sbx_exit e;

	harness_regs(&r, B(kb_syscall_only), STACK);
	r.rax = 1234;
	r.rbx = 0x1111111111111111ULL;
	r.rdx = 0x3333333333333333ULL;
	r.rsi = 0x4444444444444444ULL;
	r.rdi = 0x5555555555555555ULL;
	r.rbp = 0x6666666666666666ULL;
	r.r8 = 0x8888888888888888ULL;
	r.r9 = 0x9999999999999999ULL;
	r.r10 = 0xaaaaaaaaaaaaaaaaULL;
	r.r12 = 0xccccccccccccccccULL;
	r.r13 = 0xddddddddddddddddULL;
	r.r14 = 0xeeeeeeeeeeeeeeeeULL;
	r.r15 = 0xffffffffffffffffULL;
	r.eflags = 0x202 | 0x1 | 0x40 | 0x80; /* CF ZF SF */
	in = r;
	run(&r, &e);
	expect_syscall(&e, &r, 1234);
	ck_assert_uint_eq(r.rip, B(kb_syscall_only) + 2);
	ck_assert_uint_eq(r.rcx, r.rip);
	ck_assert_uint_eq(r.r11 & 0xcd5, in.eflags & 0xcd5);
	ck_assert_uint_eq(r.eflags & 0xcd5, in.eflags & 0xcd5);
	ck_assert_uint_eq(r.rbx, in.rbx);
	ck_assert_uint_eq(r.rdx, in.rdx);
	ck_assert_uint_eq(r.rsi, in.rsi);
	ck_assert_uint_eq(r.rdi, in.rdi);
	ck_assert_uint_eq(r.rbp, in.rbp);
	ck_assert_uint_eq(r.rsp, in.rsp);
	ck_assert_uint_eq(r.r8, in.r8);
	ck_assert_uint_eq(r.r9, in.r9);
	ck_assert_uint_eq(r.r10, in.r10);
	ck_assert_uint_eq(r.r12, in.r12);
	ck_assert_uint_eq(r.r13, in.r13);
	ck_assert_uint_eq(r.r14, in.r14);
	ck_assert_uint_eq(r.r15, in.r15);
	ck_assert_uint_eq(r.cs, KVM_USER_CS);
	ck_assert_uint_eq(r.ss, KVM_USER_DS);
	/* and back: the next one sees the result */
	r.rax = 77;
	run(&r, &e);
	expect_syscall(&e, &r, 60);
}
END_TEST

START_TEST(test_kvm_exc_gp)
{
	struct sbx_regs r;
	struct sbx_exit e;

	run_blob(kb_hlt, &r, &e);
	expect_fault(&e, SIGSEGV, 13);
	ck_assert_uint_eq(r.rip, B(kb_hlt));
	run_blob(kb_cli, &r, &e);
	expect_fault(&e, SIGSEGV, 13);
	ck_assert_uint_eq(r.rip, B(kb_cli));
	/*
	 * int $0x80 past the IDT limit: #GP on a CPU; PVM reports #UD (its
	 * hypervisor claims that vector).  Either way a fault at the insn.
	 */
	run_blob(kb_int80, &r, &e);
	ck_assert_uint_eq(e.kind, SBX_EXIT_FAULT);
	ck_assert(e.trapno == 13 || e.trapno == 6);
	ck_assert_uint_eq(r.rip, B(kb_int80));
}
END_TEST

START_TEST(test_kvm_exc_bp_ud)
{
	struct sbx_regs r;
	struct sbx_exit e;

	run_blob(kb_int3, &r, &e);
	expect_fault(&e, SIGTRAP, 3);
	ck_assert_uint_eq(r.rip, B(kb_after_int3));
	run(&r, &e);
	expect_syscall(&e, &r, 60);
	run_blob(kb_into_ud, &r, &e);
	expect_fault(&e, SIGILL, 6);
	ck_assert_uint_eq(e.addr, B(kb_into_ud));
}
END_TEST

START_TEST(test_kvm_exc_single_step)
{
	struct sbx_regs r;
	struct sbx_exit e;

	run_blob(kb_single_step, &r, &e);
	expect_fault(&e, SIGTRAP, 1);
	ck_assert_uint_eq(r.rip, B(kb_after_step));
	ck_assert(r.eflags & 0x100);
	r.eflags &= ~0x100ULL;
	run(&r, &e);
	expect_syscall(&e, &r, 60);
}
END_TEST

START_TEST(test_kvm_region_from_ring3)
{
	struct sbx_regs r;
	struct sbx_exit e;

	run_blob(kb_read_gdt, &r, &e);
	expect_fault(&e, SIGSEGV, 14);
	ck_assert_int_eq(e.code, SEGV_ACCERR);
	ck_assert_uint_eq(e.access, SBX_ACCESS_READ);
	ck_assert_uint_eq(e.addr, KVM_VA_BASE + 0x1000 * KVM_PG_GDT);

	run_blob(kb_write_ustub, &r, &e);
	expect_fault(&e, SIGSEGV, 14);
	ck_assert_int_eq(e.code, SEGV_ACCERR);
	ck_assert_uint_eq(e.access, SBX_ACCESS_WRITE);
	ck_assert_uint_eq(e.addr, KVM_VA_USTUB);

	run_blob(kb_jump_kstub, &r, &e);
	expect_fault(&e, SIGSEGV, 14);
	ck_assert_uint_eq(e.access, SBX_ACCESS_EXEC);
	ck_assert_uint_eq(e.addr, KVM_VA_KSTUB);
}
END_TEST

START_TEST(test_kvm_user_stub_is_a_syscall)
{
	struct sbx_regs r;
	struct sbx_exit e;

	run_blob(kb_call_ustub, &r, &e);
	expect_syscall(&e, &r, 39);
	ck_assert_uint_eq(r.rip, B(kb_after_ustub));
	run(&r, &e);
	expect_syscall(&e, &r, 60);
}
END_TEST

START_TEST(test_kvm_forged_out)
{
	struct sbx_regs r;
	struct sbx_exit e;

	/* neither is taken for an exception or a system call */
	run_blob(kb_out_exc, &r, &e);
	expect_fault(&e, SIGSEGV, 13);
	run_blob(kb_out_syscall, &r, &e);
	expect_fault(&e, SIGSEGV, 13);
	/* and the vCPU is still fine */
	run_blob(kb_syscall_only, &r, &e);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
}
END_TEST

START_TEST(test_kvm_rdtsc_no_exit)
{
	struct sbx_regs r;
	struct sbx_exit e;
	uint64_t h0, h1, g0, g1;

	h0 = __rdtsc();
	run_blob(kb_rdtsc, &r, &e);
	h1 = __rdtsc();
	expect_syscall(&e, &r, 60);
	g0 = *data64(0);
	g1 = *data64(8);
	fprintf(stderr, "# guest rdtsc delta %llu cycles; host around %llu\n",
		(unsigned long long)(g1 - g0), (unsigned long long)(h1 - h0));
	ck_assert(g1 > g0);
	/* an exit costs tens of microseconds: 20000 cycles is none */
	ck_assert_uint_lt(g1 - g0, 20000);
	/* the guest's TSC is the host's (the vDSO depends on it) */
	ck_assert_msg(g0 >= h0 && g1 <= h1, "guest TSC %llu outside [%llu, %llu]",
		      (unsigned long long)g0, (unsigned long long)h0,
		      (unsigned long long)h1);
}
END_TEST

START_TEST(test_kvm_cpuid)
{
	struct sbx_regs r;
	struct sbx_exit e;
	unsigned a, b, c, d;

	run_blob(kb_cpuid, &r, &e);
	expect_syscall(&e, &r, 60);
	__cpuid(0, a, b, c, d);
	ck_assert_uint_eq(*(uint32_t *)data64(0), b);
	ck_assert_uint_eq(*(uint32_t *)data64(4), d);
	ck_assert_uint_eq(*(uint32_t *)data64(8), c);
}
END_TEST

START_TEST(test_kvm_fs_gs_base)
{
	struct sbx_regs r;
	struct sbx_exit e;

	*data64(0x808) = 0xf5f5f5f5ULL;
	*data64(0x910) = 0x6565656565ULL;
	harness_regs(&r, B(kb_fs), STACK);
	r.fs_base = DATA + 0x800;
	r.gs_base = DATA + 0x900;
	run(&r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*data64(0x10), 0xf5f5f5f5ULL);
	ck_assert_uint_eq(*data64(0x18), 0x6565656565ULL);
	ck_assert_uint_eq(r.fs_base, DATA + 0x800);
	ck_assert_uint_eq(r.gs_base, DATA + 0x900);
}
END_TEST

static uint64_t *huge64(uint64_t off)
{
	return (uint64_t *)(H.mem + HUGE_OFF + off);
}

START_TEST(test_kvm_huge_pages)
{
	struct sbx_regs r;
	struct sbx_exit e;
	uint64_t sum = 0, i;

	for (i = 0; i < 1024; i++) {
		*huge64(i * 4096) = i + 1;
		sum += i + 1;
	}
	/* 2 MiB aligned address, offset and length: two 2 MiB pages */
	ck_assert_int_eq(H.ops->as_map(AS, HUGE, 0x400000, PROT_READ,
				       H.memfd, HUGE_OFF, SBX_MAP_SHARED), 0);
	run_blob(kb_sum_huge, &r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*data64(0x20), sum);

	/* a hole in the middle of the first one: split, fault there only */
	ck_assert_int_eq(H.ops->as_unmap(AS, HUGE + 0x100000, 0x1000), 0);
	run_blob(kb_sum_huge, &r, &e);
	expect_fault(&e, SIGSEGV, 14);
	ck_assert_int_eq(e.code, SEGV_MAPERR);
	ck_assert_uint_eq(e.addr, HUGE + 0x100000);
	/* filled from elsewhere: the new page is seen, the others kept */
	*data64(0x3000) = 1000000;
	ck_assert_int_eq(H.ops->as_map(AS, HUGE + 0x100000, 0x1000, PROT_READ,
				       H.memfd, DATA_OFF + 0x3000,
				       SBX_MAP_SHARED), 0);
	run_blob(kb_sum_huge, &r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*data64(0x20), sum - 257 + 1000000);

	/* the second 2 MiB page: read-only, then writable */
	harness_regs(&r, B(kb_store_rdi), STACK);
	r.rdi = HUGE + 0x300008;
	run(&r, &e);
	expect_fault(&e, SIGSEGV, 14);
	ck_assert_int_eq(e.code, SEGV_ACCERR);
	ck_assert_uint_eq(e.access, SBX_ACCESS_WRITE);
	ck_assert_int_eq(H.ops->as_protect(AS, HUGE + 0x200000, 0x200000,
					   PROT_READ | PROT_WRITE), 0);
	harness_regs(&r, B(kb_store_rdi), STACK);
	r.rdi = HUGE + 0x300008;
	run(&r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*huge64(0x300008), 7);
	/* protect part of it back: split again */
	ck_assert_int_eq(H.ops->as_protect(AS, HUGE + 0x300000, 0x1000,
					   PROT_READ), 0);
	harness_regs(&r, B(kb_store_rdi), STACK);
	r.rdi = HUGE + 0x300010;
	run(&r, &e);
	expect_fault(&e, SIGSEGV, 14);
	harness_regs(&r, B(kb_store_rdi), STACK);
	r.rdi = HUGE + 0x301010;
	run(&r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*huge64(0x301010), 7);
}
END_TEST

START_TEST(test_kvm_huge_over_small)
{
	struct sbx_regs r;
	struct sbx_exit e;
	uint64_t i, sum = 0;

	/* 4 KiB pages first (odd file offset), used, then 2 MiB over them */
	for (i = 0; i < 1024; i++)
		*huge64(i * 4096) = 1;
	ck_assert_int_eq(H.ops->as_map(AS, HUGE, 0x400000, PROT_READ,
				       H.memfd, HUGE_OFF + 0x1000,
				       SBX_MAP_SHARED), 0);
	run_blob(kb_sum_huge, &r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*data64(0x20), 1023);	/* the last page is past */
	for (i = 0; i < 1024; i++) {
		*huge64(i * 4096) = i;
		sum += i;
	}
	ck_assert_int_eq(H.ops->as_map(AS, HUGE, 0x400000, PROT_READ,
				       H.memfd, HUGE_OFF, SBX_MAP_SHARED), 0);
	run_blob(kb_sum_huge, &r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*data64(0x20), sum);
	/* and unmapped whole: gone */
	ck_assert_int_eq(H.ops->as_unmap(AS, HUGE, 0x400000), 0);
	run_blob(kb_sum_huge, &r, &e);
	expect_fault(&e, SIGSEGV, 14);
	ck_assert_uint_eq(e.addr, HUGE);
}
END_TEST

START_TEST(test_kvm_prot_none_keeps_frame)
{
	struct sbx_regs r;
	struct sbx_exit e;

	/* PROT_NONE then back: the page still maps the same file page */
	ck_assert_int_eq(H.ops->as_protect(AS, DATA, 0x1000, PROT_NONE), 0);
	harness_regs(&r, B(kb_store_rdi), STACK);
	r.rdi = DATA + 0x100;
	run(&r, &e);
	expect_fault(&e, SIGSEGV, 14);
	ck_assert_int_eq(H.ops->as_protect(AS, DATA, 0x1000,
					   PROT_READ | PROT_WRITE), 0);
	harness_regs(&r, B(kb_store_rdi), STACK);
	r.rdi = DATA + 0x100;
	run(&r, &e);
	expect_syscall(&e, &r, 60);
	ck_assert_uint_eq(*data64(0x100), 7);
}
END_TEST

START_TEST(test_kvm_bad_return_state)
{
	struct sbx_regs r;
	struct sbx_exit e;

	/* a non-canonical rip or rsp (sigreturn can ask for one): #GP */
	harness_regs(&r, 0x800000000000ULL, STACK);
	run(&r, &e);
	expect_fault(&e, SIGSEGV, 13);
	harness_regs(&r, B(kb_syscall_only), 0x8000000000000000ULL);
	run(&r, &e);
	expect_fault(&e, SIGSEGV, 13);
	/* the plugin's own range is not the application's */
	harness_regs(&r, KVM_VA_USTUB, STACK);
	run(&r, &e);
	expect_fault(&e, SIGSEGV, 13);
	/* IOPL and other system flags are not the application's either */
	harness_regs(&r, B(kb_cli), STACK);
	r.eflags = 0x3202;
	run(&r, &e);
	expect_fault(&e, SIGSEGV, 13);
	harness_regs(&r, B(kb_syscall_only), STACK);
	run(&r, &e);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
}
END_TEST

/* ---- vCPUs: one per context, a bounded pool of parked ones -------------- */

struct pool_run {
	struct harness *h;
	struct sbx_as *as;
	int err;
	struct sbx_exit e;
	struct sbx_regs r;
};

/* on a new thread: take a parked vCPU, run a system call on it, park it */
static void *pool_thread(void *arg)
{
	struct pool_run *pr = arg;
	struct sbx_ctx *c;

	pr->err = pr->h->ops->ctx_create(pr->as, &c);
	if (pr->err)
		return NULL;
	harness_regs(&pr->r, B(kb_syscall_only), STACK);
	pr->r.rax = 4321;
	memset(&pr->e, 0, sizeof(pr->e));
	pr->e.size = sizeof(pr->e);
	pr->err = pr->h->ops->switch_to(c, &pr->r, &pr->e);
	pr->h->ops->ctx_destroy(c);
	return NULL;
}

START_TEST(test_kvm_vcpu_pool)
{
	static const char *const three[] = { "max_threads", "3", NULL };
	static const char *const zero[] = { "max_threads", "0", NULL };
	static const char *const many[] = { "max_threads", "5000", NULL };
	const char *path = getenv("SBX_PLATFORM_PLUGIN");
	struct pool_run pr = { 0 };
	struct harness h2;
	struct sbx_as *as;
	struct sbx_ctx *c[3], *c4;
	uint8_t fp[4096];
	pthread_t th;
	int i, n;

	ck_assert_int_eq(harness_open(&h2, path, zero), -EINVAL);
	ck_assert_int_eq(harness_open(&h2, path, many), -EINVAL);
	ck_assert_int_eq(harness_open(&h2, path, three), 0);
	memcpy(h2.mem, kb_start, kb_end - kb_start);
	ck_assert_int_eq(h2.ops->as_create(h2.p, &as), 0);
	ck_assert_int_eq(h2.ops->as_map(as, CODE, 0x4000, PROT_READ | PROT_EXEC,
					h2.memfd, 0, SBX_MAP_SHARED), 0);
	ck_assert_int_eq(h2.ops->as_map(as, DATA, 0x10000,
					PROT_READ | PROT_WRITE, h2.memfd,
					DATA_OFF, SBX_MAP_SHARED), 0);

	/* three vCPUs, then a clean -EAGAIN */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(h2.ops->ctx_create(as, &c[i]), 0);
	ck_assert_int_eq(h2.ops->ctx_create(as, &c4), -EAGAIN);

	/* a parked vCPU comes back without its last thread's FPU state */
	n = h2.ops->ctx_get_fpstate(c[1], fp, sizeof(fp));
	ck_assert_int_ge(n, 512);
	memset(fp + 160, 0xa5, 16); /* xmm0 in the FXSAVE area */
	ck_assert_int_eq(h2.ops->ctx_set_fpstate(c[1], fp, n), n);
	h2.ops->ctx_destroy(c[1]);
	ck_assert_int_eq(h2.ops->ctx_create(as, &c4), 0);
	ck_assert_int_eq(h2.ops->ctx_get_fpstate(c4, fp, sizeof(fp)), n);
	for (i = 160; i < 176; i++)
		ck_assert_uint_eq(fp[i], 0);
	ck_assert_int_eq(h2.ops->ctx_create(as, &c[1]), -EAGAIN);

	/* and runs on whichever thread takes it next */
	h2.ops->ctx_destroy(c4);
	pr.h = &h2;
	pr.as = as;
	ck_assert_int_eq(pthread_create(&th, NULL, pool_thread, &pr), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(pr.err, 0);
	expect_syscall(&pr.e, &pr.r, 4321);

	ck_assert_int_eq(h2.ops->ctx_create(as, &c4), 0);
	h2.ops->ctx_destroy(c4);
	h2.ops->ctx_destroy(c[0]);
	h2.ops->ctx_destroy(c[2]);
	h2.ops->as_destroy(as);
	harness_close(&h2);
}
END_TEST

/* ---- the suite ---------------------------------------------------------------- */

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("kvm");
	TCase *tc = tcase_create("guest");
	struct harness h;
	int err;

	if (!getenv("SBX_PLATFORM_PLUGIN")) {
		printf("1..0 # SKIP SBX_PLATFORM_PLUGIN is not set\n");
		exit(77);
	}
	err = harness_open(&h, getenv("SBX_PLATFORM_PLUGIN"), NULL);
	if (err == -ENODEV) {
		printf("1..0 # SKIP kvm unavailable on this host\n");
		exit(77);
	}
	if (err) {
		printf("Bail out! init: %s\n", strerror(-err));
		exit(1);
	}
	harness_close(&h);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kvm_syscall_stub_alone);
	tcase_add_test(tc, test_kvm_exc_gp);
	tcase_add_test(tc, test_kvm_exc_bp_ud);
	tcase_add_test(tc, test_kvm_exc_single_step);
	tcase_add_test(tc, test_kvm_region_from_ring3);
	tcase_add_test(tc, test_kvm_user_stub_is_a_syscall);
	tcase_add_test(tc, test_kvm_forged_out);
	tcase_add_test(tc, test_kvm_rdtsc_no_exit);
	tcase_add_test(tc, test_kvm_cpuid);
	tcase_add_test(tc, test_kvm_fs_gs_base);
	tcase_add_test(tc, test_kvm_huge_pages);
	tcase_add_test(tc, test_kvm_huge_over_small);
	tcase_add_test(tc, test_kvm_bad_return_state);
	tcase_add_test(tc, test_kvm_prot_none_keeps_frame);
	tcase_add_test(tc, test_kvm_vcpu_pool);
	suite_add_tcase(s, tc);
	return s;
}
