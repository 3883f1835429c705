/*
 * systrap security tests: what the application can do to the platform
 * from inside, through the harness (no core).
 *
 * - The trampoline as a gadget: the application jumps straight to the
 *   stub's one allowed `syscall` instruction with host calls that must not
 *   run (openat creating a file, execve, kill and ptrace of a bystander
 *   process, socket, mmap of other fds or of the stub's own range,
 *   mprotect/munmap of the stub code).  Each must kill the stub (the core
 *   sees switch_to fail) with no effect on the host; calls the filter
 *   allows (futex) come back harmlessly.
 * - The stub's range: stores to the stub code fault; as_map/unmap/protect
 *   there are refused; scribbling over the shared slot (which the
 *   application can write) never harms the core.
 *
 * Divided into: fixture and helpers; gadget tests; range tests; the suite.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../../unit/runner.h"
#include "harness.h"

#define CODE	 0x400000ULL
#define DATA	 0x500000ULL
#define DATA_OFF 0x10000ULL
#define STACK	 (DATA + 0x8000)
#define STR	 (DATA + 0x100)
#define REGION	 0x7fff00000000ULL /* systrap_abi.h SYSTRAP_REGION */

extern const char st_blobs_start[], st_blobs_end[], st_blob_exit[],
	st_blob_store[], st_blob_scribble[];

#define B(label) (CODE + (uint64_t)((label) - st_blobs_start))

static struct harness H;
static struct sbx_as *AS;
static struct sbx_ctx *CTX;
static uint64_t STUB, TRAMP; /* stub code page, trampoline `syscall` */

/* ---- fixture and helpers ------------------------------------------------- */

/* the stub code: the r-x page of the stub region in our own maps */
static void find_stub(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char perm[8], line[512];
	const uint8_t *c;
	int i;

	ck_assert_ptr_nonnull(f);
	STUB = TRAMP = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3)
			continue;
		if (lo >= REGION && !strcmp(perm, "r-xp") && hi - lo == 4096) {
			STUB = lo;
			break;
		}
	}
	fclose(f);
	ck_assert_msg(STUB, "no stub code page found");
	/* the trampoline is the one `syscall; ret` */
	c = (const uint8_t *)STUB;
	for (i = 0; i < 4094; i++) {
		if (c[i] == 0x0f && c[i + 1] == 0x05 && c[i + 2] == 0xc3) {
			ck_assert_msg(!TRAMP, "two trampolines?");
			TRAMP = STUB + i;
		}
	}
	ck_assert_msg(TRAMP, "no trampoline found");
}

static void new_as(void)
{
	ck_assert_int_eq(H.ops->as_create(H.p, &AS), 0);
	ck_assert_int_eq(H.ops->as_map(AS, CODE, 0x4000, PROT_READ | PROT_EXEC,
				       H.memfd, 0, SBX_MAP_SHARED), 0);
	ck_assert_int_eq(H.ops->as_map(AS, DATA, 0x10000,
				       PROT_READ | PROT_WRITE, H.memfd,
				       DATA_OFF, SBX_MAP_SHARED), 0);
	ck_assert_int_eq(H.ops->ctx_create(AS, &CTX), 0);
}

static void drop_as(void)
{
	if (CTX)
		H.ops->ctx_destroy(CTX);
	if (AS)
		H.ops->as_destroy(AS);
	CTX = NULL;
	AS = NULL;
}

static void setup(void)
{
	int err = harness_open(&H, getenv("SBX_PLATFORM_PLUGIN"), NULL);

	ck_assert_msg(err == 0, "init: %s", strerror(-err));
	memcpy(H.mem, st_blobs_start, st_blobs_end - st_blobs_start);
	find_stub();
	new_as();
}

static void teardown(void)
{
	drop_as();
	harness_close(&H);
}

static uint64_t *data64(uint64_t addr)
{
	return (uint64_t *)(H.mem + DATA_OFF + (addr - DATA));
}

static int run(struct sbx_regs *r, struct sbx_exit *e)
{
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
	return H.ops->switch_to(CTX, r, e);
}

/*
 * gadget - jump to the trampoline with system call @nr and arguments; the
 * `ret` after it would return to st_blob_exit.  Return: what switch_to
 * said (< 0: the stub is gone), with the exit in *@e.
 */
static int gadget(struct sbx_exit *e, long nr, uint64_t a0, uint64_t a1,
		  uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct sbx_regs r;

	harness_regs(&r, TRAMP, STACK);
	*data64(STACK) = B(st_blob_exit);
	r.rax = nr;
	r.rdi = a0;
	r.rsi = a1;
	r.rdx = a2;
	r.r10 = a3;
	r.r8 = a4;
	r.r9 = a5;
	return run(&r, e);
}

/* the call must have killed the stub; a fresh address space follows */
static void expect_killed(const char *what, long nr, uint64_t a0, uint64_t a1,
			  uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct sbx_exit e;
	int r = gadget(&e, nr, a0, a1, a2, a3, a4, a5);

	ck_assert_msg(r < 0, "%s through the trampoline: not killed (exit kind %u)",
		      what, e.kind);
	drop_as();
	new_as();
}

static pid_t bystander(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

/* ---- gadget tests ----------------------------------------------------------- */

START_TEST(test_systrap_gadget_openat)
{
	char path[64];

	snprintf(path, sizeof(path), "/tmp/sbx-systrap-gadget-%d", getpid());
	unlink(path);
	strcpy((char *)data64(STR), path);
	expect_killed("openat", SYS_openat, AT_FDCWD, STR,
		      O_CREAT | O_WRONLY, 0644, 0, 0);
	expect_killed("creat", SYS_creat, STR, 0644, 0, 0, 0, 0);
	ck_assert_msg(access(path, F_OK) < 0, "%s was created", path);
}
END_TEST

START_TEST(test_systrap_gadget_execve)
{
	strcpy((char *)data64(STR), "/bin/true");
	*data64(STR + 0x100) = STR;
	*data64(STR + 0x108) = 0;
	expect_killed("execve", SYS_execve, STR, STR + 0x100, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_systrap_gadget_kill_ptrace)
{
	pid_t pid = bystander();
	int status;

	expect_killed("kill", SYS_kill, pid, SIGKILL, 0, 0, 0, 0);
	expect_killed("tgkill", SYS_tgkill, pid, pid, SIGKILL, 0, 0, 0);
	expect_killed("ptrace", SYS_ptrace, PTRACE_ATTACH, pid, 0, 0, 0, 0);
	expect_killed("kill(-1)", SYS_kill, -1, SIGKILL, 0, 0, 0, 0);
	/* the bystander is alive and untraced */
	ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(test_systrap_gadget_socket)
{
	expect_killed("socket", SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
	expect_killed("socket unix", SYS_socket, AF_UNIX, SOCK_DGRAM, 0, 0, 0,
		      0);
}
END_TEST

START_TEST(test_systrap_gadget_mmap)
{
	/* another fd (the stub has none, but the filter must not care) */
	expect_killed("mmap fd 3", SYS_mmap, 0x700000, 4096, PROT_READ,
		      MAP_SHARED | MAP_FIXED, 3, 0);
	/* a high word in the fd: the kernel would truncate it to fd 0 */
	expect_killed("mmap fd 1<<32", SYS_mmap, 0x700000, 4096, PROT_READ,
		      MAP_SHARED | MAP_FIXED, 1ULL << 32, 0);
	/* anonymous, or not fixed, or with extra flags */
	expect_killed("mmap anon", SYS_mmap, 0x700000, 4096, PROT_READ,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	expect_killed("mmap not fixed", SYS_mmap, 0x700000, 4096, PROT_READ,
		      MAP_SHARED, 0, 0);
	expect_killed("mmap growsdown", SYS_mmap, 0x700000, 4096, PROT_READ,
		      MAP_SHARED | MAP_FIXED | MAP_GROWSDOWN, 0, 0);
	/* the memory file over the stub's own pages */
	expect_killed("mmap stub", SYS_mmap, STUB, 4096,
		      PROT_READ | PROT_WRITE | PROT_EXEC,
		      MAP_SHARED | MAP_FIXED, 0, 0);
	expect_killed("mmap huge", SYS_mmap, 0x7ffd00000000ULL, 1ULL << 33,
		      PROT_READ, MAP_SHARED | MAP_FIXED, 0, 0);
	expect_killed("mprotect stub", SYS_mprotect, STUB, 4096,
		      PROT_READ | PROT_WRITE | PROT_EXEC, 0, 0, 0);
	expect_killed("munmap stub", SYS_munmap, STUB, 4096, 0, 0, 0, 0);
	expect_killed("mremap", SYS_mremap, CODE, 4096, 4096, 0, 0, 0);
	expect_killed("seccomp", SYS_seccomp, 0, 0, 0, 0, 0, 0);
	expect_killed("rt_sigaction", SYS_rt_sigaction, SIGSYS, 0, 0, 8, 0, 0);
	expect_killed("futex requeue", SYS_futex, STR, 3 /* REQUEUE */, 1, 0,
		      0, 0);
	expect_killed("arch_prctl get", SYS_arch_prctl, 0x1003, STR, 0, 0, 0,
		      0);
}
END_TEST

/* an allowed call comes back, and the application is none the wiser */
START_TEST(test_systrap_gadget_allowed)
{
	struct sbx_exit e;

	ck_assert_int_eq(gadget(&e, SYS_futex, STR, 1 /* WAKE */, 1, 0, 0, 0),
			 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
}
END_TEST

/* systrap_abi.h: slot i at STUB + SH_OFF + i * SLOT, new stacks at BOOT_OFF */
#define SLOT(i)	 (STUB + 0x10000 + (uint64_t)(i) * 0x10000)
#define BOOT_OFF (0x10000 - 1024)
#define THREAD_FLAGS                                                     \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
	 CLONE_SYSVSEM)

/*
 * The clone the platform uses for new stub threads is allowed from the
 * trampoline only with its exact flags, zero tid/TLS pointers and a stack
 * at the boot offset of a stub slot: no fork, vfork, clone3, other flags
 * (no CLONE_SETTLS, no missing CLONE_THREAD), foreign stacks, or exit
 * codes other than 0.
 */
START_TEST(test_systrap_gadget_clone)
{
	uint64_t sp = SLOT(5) + BOOT_OFF;

	expect_killed("fork", SYS_fork, 0, 0, 0, 0, 0, 0);
	expect_killed("vfork", SYS_vfork, 0, 0, 0, 0, 0, 0);
	expect_killed("clone3", SYS_clone3, DATA, 88, 0, 0, 0, 0);
	expect_killed("clone(SIGCHLD)", SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
	expect_killed("clone(SIGCHLD) on a slot", SYS_clone, SIGCHLD, sp, 0,
		      0, 0, 0);
	expect_killed("clone without CLONE_THREAD", SYS_clone,
		      THREAD_FLAGS & ~CLONE_THREAD, sp, 0, 0, 0, 0);
	expect_killed("clone with CLONE_SETTLS", SYS_clone,
		      THREAD_FLAGS | CLONE_SETTLS, sp, 0, 0, 0, DATA);
	expect_killed("clone with CLONE_VFORK", SYS_clone,
		      THREAD_FLAGS | CLONE_VFORK, sp, 0, 0, 0, 0);
	expect_killed("clone flags in the high word", SYS_clone,
		      THREAD_FLAGS | (1ULL << 32), sp, 0, 0, 0, 0);
	expect_killed("clone on the application's stack", SYS_clone,
		      THREAD_FLAGS, STACK, 0, 0, 0, 0);
	expect_killed("clone on the stub code page", SYS_clone, THREAD_FLAGS,
		      STUB + BOOT_OFF, 0, 0, 0, 0);
	expect_killed("clone off the boot offset", SYS_clone, THREAD_FLAGS,
		      SLOT(5) + 0x8000, 0, 0, 0, 0);
	expect_killed("clone past the slots", SYS_clone, THREAD_FLAGS,
		      SLOT(64) + BOOT_OFF, 0, 0, 0, 0);
	expect_killed("clone with a parent tid pointer", SYS_clone,
		      THREAD_FLAGS, sp, DATA, 0, 0, 0);
	expect_killed("clone with a child tid pointer", SYS_clone,
		      THREAD_FLAGS, sp, 0, DATA, 0, 0);
	expect_killed("exit(1)", SYS_exit, 1, 0, 0, 0, 0, 0);
}
END_TEST

/*
 * The allowed clone, asked for by the application: the thread it gets
 * inherits the filter and the handlers, so it is as trapped as any (here
 * it crashes on the slot's zero "return address" into a handler nobody
 * listens to); the application thread carries on, trapped too.
 */
START_TEST(test_systrap_gadget_clone_allowed)
{
	struct sbx_regs r;
	struct sbx_exit e;

	ck_assert_int_eq(gadget(&e, SYS_clone, THREAD_FLAGS,
				SLOT(7) + BOOT_OFF, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
	harness_regs(&r, B(st_blob_exit), STACK);
	r.rax = 1234;
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
	ck_assert_uint_eq(r.orig_rax, 60);
	ck_assert_uint_eq(r.rdi, 1234);
	/* as ops and new contexts still work beside the stray thread */
	ck_assert_int_eq(H.ops->as_protect(AS, DATA, 0x1000, PROT_READ), 0);
	{
		struct sbx_ctx *c2;

		ck_assert_int_eq(H.ops->ctx_create(AS, &c2), 0);
		H.ops->ctx_destroy(c2);
	}
}
END_TEST

/* threads of our stub process (its pid from as_cpu_pid: scanning /proc
 * for stub-shaped processes would also find other sandboxes' stubs) */
static int stub_threads(void)
{
	char path[64];
	struct dirent *de;
	int pid = H.ops->as_cpu_pid(AS), n = 0;
	DIR *t;

	ck_assert_int_gt(pid, 0);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	t = opendir(path);
	ck_assert_ptr_nonnull(t);
	while ((de = readdir(t)))
		if (de->d_name[0] != '.')
			n++;
	closedir(t);
	return n;
}

/* ctx_destroy ends its stub thread (exit, not exit_group) */
START_TEST(test_systrap_ctx_destroy_ends_thread)
{
	struct sbx_ctx *c[3];
	struct sbx_regs r;
	struct sbx_exit e;
	int i;

	ck_assert_int_eq(stub_threads(), 1);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(H.ops->ctx_create(AS, &c[i]), 0);
	ck_assert_int_eq(stub_threads(), 4);
	H.ops->ctx_destroy(c[1]);
	ck_assert_int_eq(stub_threads(), 3);
	H.ops->ctx_destroy(c[0]);
	H.ops->ctx_destroy(c[2]);
	ck_assert_int_eq(stub_threads(), 1);
	/* the leader (CTX) still runs */
	harness_regs(&r, B(st_blob_exit), STACK);
	r.rax = 5;
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
	ck_assert_uint_eq(r.rdi, 5);
}
END_TEST


/* ---- range tests ---------------------------------------------------------------- */

START_TEST(test_systrap_store_to_stub_code)
{
	struct sbx_regs r;
	struct sbx_exit e;

	harness_regs(&r, B(st_blob_store), STACK);
	r.rax = TRAMP;
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_FAULT);
	ck_assert_int_eq(e.signo, SIGSEGV);
	ck_assert_int_eq(e.code, SEGV_ACCERR);
	ck_assert_uint_eq(e.addr, TRAMP);
	ck_assert_uint_eq(e.access, SBX_ACCESS_WRITE);
	/* and the stub still works */
	harness_regs(&r, B(st_blob_exit), STACK);
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
}
END_TEST

START_TEST(test_systrap_platform_refuses_stub_range)
{
	struct sbx_platform_info info = { .size = sizeof(info) };
	struct sbx_regs r;
	struct sbx_exit e;

	ck_assert_int_eq(H.ops->describe(H.p, &info), 0);
	ck_assert(STUB >= info.user_max);
	ck_assert_int_lt(H.ops->as_map(AS, STUB, 4096, PROT_READ | PROT_WRITE,
				       H.memfd, 0, SBX_MAP_SHARED), 0);
	ck_assert_int_lt(H.ops->as_unmap(AS, STUB, 4096), 0);
	ck_assert_int_lt(H.ops->as_protect(AS, STUB, 4096,
					   PROT_READ | PROT_WRITE), 0);
	ck_assert_int_lt(H.ops->as_map(AS, info.user_max - 4096, 1ULL << 32,
				       PROT_READ, H.memfd, 0, SBX_MAP_SHARED),
			 0);
	harness_regs(&r, B(st_blob_exit), STACK);
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
}
END_TEST

/*
 * The shared slot is writable by the application (it holds the signal
 * frame).  Scribbling over its control words and then trapping must end
 * in a normal exit or a dead stub (an error from switch_to), never in a
 * crash or hang of the core.
 */
START_TEST(test_systrap_scribble_shared)
{
	static const uint64_t lens[] = { 16, 64, 512 };
	struct sbx_regs r;
	struct sbx_exit e;
	unsigned i;
	int n;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		harness_regs(&r, B(st_blob_scribble), STACK);
		r.rdi = STUB + 0x10000; /* SYSTRAP_SH_OFF */
		r.rcx = lens[i];
		for (n = 0; n < 4; n++) {
			if (run(&r, &e) < 0)
				break;
			ck_assert(e.kind == SBX_EXIT_SYSCALL ||
				  e.kind == SBX_EXIT_FAULT ||
				  e.kind == SBX_EXIT_INTERRUPT);
			if (e.kind == SBX_EXIT_SYSCALL && r.orig_rax == 60)
				break; /* the blob's exit: beyond is `jmp .` */
		}
		drop_as();
		new_as();
	}
	/* the platform still works */
	harness_regs(&r, B(st_blob_exit), STACK);
	ck_assert_int_eq(run(&r, &e), 0);
	ck_assert_uint_eq(e.kind, SBX_EXIT_SYSCALL);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------- */

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("systrap");
	TCase *tc = tcase_create("security");

	if (!getenv("SBX_PLATFORM_PLUGIN")) {
		printf("1..0 # SKIP SBX_PLATFORM_PLUGIN is not set\n");
		exit(77);
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_systrap_gadget_openat);
	tcase_add_test(tc, test_systrap_gadget_execve);
	tcase_add_test(tc, test_systrap_gadget_kill_ptrace);
	tcase_add_test(tc, test_systrap_gadget_socket);
	tcase_add_test(tc, test_systrap_gadget_mmap);
	tcase_add_test(tc, test_systrap_gadget_allowed);
	tcase_add_test(tc, test_systrap_gadget_clone);
	tcase_add_test(tc, test_systrap_gadget_clone_allowed);
	tcase_add_test(tc, test_systrap_ctx_destroy_ends_thread);
	tcase_add_test(tc, test_systrap_store_to_stub_code);
	tcase_add_test(tc, test_systrap_platform_refuses_stub_range);
	tcase_add_test(tc, test_systrap_scribble_shared);
	suite_add_tcase(s, tc);
	return s;
}
