/*
 * seccomp: the application's own filters, compared natively and in the
 * sandbox.  Every filter is installed in a forked child (the main process
 * stays unfiltered); the parent prints how each child ended.  Covers the
 * actions (ERRNO with its cap, TRAP and its siginfo/ucontext, KILL_PROCESS,
 * KILL_THREAD of the last thread, TRACE and USER_NOTIF without a tracer or
 * listener, LOG, unknown actions), the interpreter (every ALU, jump, load
 * and store form, computed from the arguments), stacking, inheritance over
 * fork and execve, rt_sigreturn and restart_syscall being filtered, x32
 * numbers, strict mode, invalid programs, the total length limit, EACCES
 * without no_new_privs, SECCOMP_GET_ACTION_AVAIL/GET_NOTIF_SIZES, prctl and
 * /proc/self/status.  (Threads: seccomp_threads.c.)
 *
 * "seccomp exec-child" is the second half of the execve case.
 * Self-contained constants: musl has no linux/ headers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- BPF and seccomp constants (Linux uapi) ---- */
struct insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct fprog {
	unsigned short len;
	struct insn *filter;
};
#define STMT(c, k) { (c), 0, 0, (k) }
#define JUMP(c, k, t, f) { (c), (t), (f), (k) }
#define LD_W_ABS 0x20
#define LD_H_ABS 0x28
#define LD_B_ABS 0x30
#define LD_W_IND 0x40
#define LD_W_LEN 0x80
#define LD_IMM 0x00
#define LD_MEM 0x60
#define LDX_IMM 0x01
#define LDX_MEM 0x61
#define LDX_W_LEN 0x81
#define LDX_B_MSH 0xb1
#define ST 0x02
#define STX 0x03
#define ALU_K(op) (0x04 | (op))
#define ALU_X(op) (0x04 | (op) | 0x08)
#define ADD 0x00
#define SUB 0x10
#define MUL 0x20
#define DIV 0x30
#define OR 0x40
#define AND 0x50
#define LSH 0x60
#define RSH 0x70
#define NEG 0x80
#define MOD 0x90
#define XOR 0xa0
#define JA 0x05
#define JEQ_K 0x15
#define JEQ_X 0x1d
#define JGT_K 0x25
#define JGT_X 0x2d
#define JGE_K 0x35
#define JGE_X 0x3d
#define JSET_K 0x45
#define JSET_X 0x4d
#define RET_K 0x06
#define RET_A 0x16
#define RET_X 0x0e
#define TAX 0x07
#define TXA 0x87

#define OFF_NR 0
#define OFF_ARCH 4
#define OFF_IP 8
#define OFF_ARG(i) (16 + 8 * (i))

#define AUDIT_ARCH_X86_64 0xc000003eU
#define R_KILL_PROCESS 0x80000000U
#define R_KILL_THREAD 0x00000000U
#define R_TRAP 0x00030000U
#define R_ERRNO 0x00050000U
#define R_USER_NOTIF 0x7fc00000U
#define R_TRACE 0x7ff00000U
#define R_LOG 0x7ffc0000U
#define R_ALLOW 0x7fff0000U

#define NR_SECCOMP 317
#define F_TSYNC 1
#define F_LOG 2
#define F_SPEC_ALLOW 4
#define F_NEW_LISTENER 8
#define F_TSYNC_ESRCH 16
#define F_WAIT_KILLABLE_RECV 32

static const char *prog_path;

static long sc(unsigned op, unsigned flags, void *args)
{
	return syscall(NR_SECCOMP, op, flags, args);
}

static long install(struct insn *f, unsigned n, unsigned flags)
{
	struct fprog p = { (unsigned short)n, f };

	return sc(1, flags, &p);
}

/* result - a syscall result as "N" or "-1 errno E" */
static const char *result(long r)
{
	static char buf[64];

	if (r == -1)
		snprintf(buf, sizeof(buf), "-1 errno %d", errno);
	else
		snprintf(buf, sizeof(buf), "%ld", r);
	return buf;
}

static void nnp(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		printf("PR_SET_NO_NEW_PRIVS failed: errno %d\n", errno);
}

/* block - install "syscall @nr gets @action, the rest is allowed" */
static long block(int nr, uint32_t action, unsigned flags)
{
	struct insn f[] = {
		STMT(LD_W_ABS, OFF_NR),
		JUMP(JEQ_K, (uint32_t)nr, 0, 1),
		STMT(RET_K, action),
		STMT(RET_K, R_ALLOW),
	};

	return install(f, 4, flags);
}

/* the filters the test itself was started under (a runner in a
 * container may have some): counts are printed relative to them */
static int base_filters = -1;

static void status_lines(const char *who)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/status", "r");
	int mode = -1, n = -1, nnp_ = -1;

	if (!f) {
		printf("%s: /proc/self/status: errno %d\n", who, errno);
		return;
	}
	while (fgets(buf, sizeof(buf), f)) {
		sscanf(buf, "Seccomp: %d", &mode);
		sscanf(buf, "Seccomp_filters: %d", &n);
		sscanf(buf, "NoNewPrivs: %d", &nnp_);
	}
	fclose(f);
	if (base_filters < 0) {
		base_filters = n;
		return;
	}
	printf("%s: Seccomp %d, filters +%d, NoNewPrivs %d\n", who,
	       n - base_filters > 0 ? mode : 0, n - base_filters, nnp_);
}

static const char *signame(int s)
{
	switch (s) {
	case SIGSYS: return "SIGSYS";
	case SIGKILL: return "SIGKILL";
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	default: return "other";
	}
}

/* child - run @fn in a forked child and print how it ended */
static void child(const char *name, void (*fn)(void))
{
	int st;
	pid_t pid;

	printf("== %s\n", name);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("fork: errno %d\n", errno);
		return;
	}
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid) {
		printf("waitpid: errno %d\n", errno);
		return;
	}
	if (WIFEXITED(st))
		printf("%s: exit %d\n", name, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", name, signame(WTERMSIG(st)));
	else
		printf("%s: status %#x\n", name, st);
	fflush(stdout);
}

/* ---- actions ---- */

static void t_errno(void)
{
	nnp();
	printf("install: %s\n", result(block(SYS_getpid, R_ERRNO | 13, 0)));
	printf("getpid: %s\n", result(syscall(SYS_getpid)));
	printf("getppid unaffected: %d\n", syscall(SYS_getppid) > 0);
	/* data above MAX_ERRNO is capped at 4095; data 0 is success */
	printf("install cap: %s\n", result(block(SYS_getuid, R_ERRNO | 5000, 0)));
	printf("getuid: %s\n", result(syscall(SYS_getuid)));
	printf("install 0: %s\n", result(block(SYS_getgid, R_ERRNO | 0, 0)));
	printf("getgid: %s\n", result(syscall(SYS_getgid)));
	printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	status_lines("errno child");
}

static void t_trace_notif_log(void)
{
	nnp();
	block(SYS_getuid, R_TRACE | 7, 0);
	block(SYS_getgid, R_USER_NOTIF, 0);
	block(SYS_getppid, R_LOG, F_LOG);
	printf("TRACE without tracer: %s\n", result(syscall(SYS_getuid)));
	printf("USER_NOTIF without listener: %s\n", result(syscall(SYS_getgid)));
	printf("LOG runs the call: %d\n", syscall(SYS_getppid) > 0);
}

static volatile long trap_code, trap_nr, trap_arch, trap_err, trap_rax,
	trap_addr_ok, trap_rip_ok, traps;
extern char after_marked_syscall[];

/* marked - a syscall whose following address is known */
__attribute__((noinline)) static long marked(long nr, long a0)
{
	long ret;

	__asm__ volatile("syscall\n\t"
			 ".globl after_marked_syscall\n"
			 "after_marked_syscall:"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0)
			 : "rcx", "r11", "memory");
	return ret;
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	traps++;
	trap_code = si->si_code;
	trap_nr = si->si_syscall;
	trap_arch = si->si_arch;
	trap_err = si->si_errno;
	trap_addr_ok = si->si_call_addr == (void *)after_marked_syscall;
	trap_rip_ok = uc->uc_mcontext.gregs[REG_RIP] == (long)after_marked_syscall;
	trap_rax = uc->uc_mcontext.gregs[REG_RAX];
	uc->uc_mcontext.gregs[REG_RAX] = 4242; /* the emulated result */
}

static void t_trap(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	nnp();
	printf("install: %s\n", result(block(SYS_getppid, R_TRAP | 0x42, 0)));
	printf("getppid returns the handler's rax: %ld\n", marked(SYS_getppid, 0));
	printf("traps %ld si_code %ld si_syscall %ld si_arch %#lx si_errno %#lx\n",
	       traps, trap_code, trap_nr, trap_arch, trap_err);
	printf("si_call_addr after the syscall: %ld, rip: %ld, rax = nr: %d\n",
	       trap_addr_ok, trap_rip_ok, trap_rax == SYS_getppid);
	printf("again: %ld", marked(SYS_getppid, 0));
	printf(" traps %ld\n", traps);
}

static void t_trap_blocked(void)
{
	sigset_t s;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	sigemptyset(&s);
	sigaddset(&s, SIGSYS);
	sigprocmask(SIG_BLOCK, &s, NULL);
	nnp();
	block(SYS_getppid, R_TRAP, 0);
	printf("blocked SIGSYS is forced: %ld\n", syscall(SYS_getppid));
}

static void t_trap_ignored(void)
{
	signal(SIGSYS, SIG_IGN);
	nnp();
	block(SYS_getppid, R_TRAP, 0);
	printf("ignored SIGSYS is forced: %ld\n", syscall(SYS_getppid));
}

static void t_kill_process(void)
{
	struct sigaction sa;

	/* a handler does not help against KILL_PROCESS */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	nnp();
	block(SYS_getppid, R_KILL_PROCESS, 0);
	printf("before the call\n");
	fflush(stdout);
	syscall(SYS_getppid);
	printf("survived KILL_PROCESS\n");
}

static void t_kill_thread(void)
{
	nnp();
	block(SYS_getppid, R_KILL_THREAD, 0);
	syscall(SYS_getppid);
	printf("survived KILL_THREAD\n");
}

static void t_unknown_action(void)
{
	nnp();
	block(SYS_getppid, 0x00010000U, 0);
	syscall(SYS_getppid);
	printf("survived an unknown action\n");
}

static void t_arch(void)
{
	struct insn f[] = {
		STMT(LD_W_ABS, OFF_ARCH),
		JUMP(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
		STMT(RET_K, R_KILL_PROCESS),
		STMT(LD_W_ABS, OFF_NR),
		/* x32 numbers have bit 30 set and arch x86-64 */
		JUMP(JGE_K, 0x40000000, 0, 1),
		STMT(RET_K, R_ERRNO | 33),
		STMT(RET_K, R_ALLOW),
	};

	nnp();
	printf("install: %s\n", result(install(f, 7, 0)));
	printf("x86-64 getppid runs: %d\n", syscall(SYS_getppid) > 0);
	printf("x32 getpid: %s\n", result(syscall(0x40000000 | SYS_getpid)));
}

/* ---- the interpreter ---- */

#define MAGIC 0x5ecc
#define MAXF 512

static struct insn calc[MAXF];
static unsigned ncalc;

static unsigned emit(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	calc[ncalc] = (struct insn){ code, jt, jf, k };
	return ncalc++;
}

/* op chunks: "if arg1 == @op: compute, return ERRNO | (A & 0xfff)" */
static unsigned chunk_start;

static void op_begin(uint32_t op)
{
	chunk_start = emit(LD_W_ABS, OFF_ARG(1), 0, 0);
	emit(JEQ_K, op, 0, 0); /* jf patched in op_end */
	emit(LD_MEM, 0, 0, 0);	/* A = x */
	emit(LDX_MEM, 1, 0, 0); /* X = y */
}

static void op_end(void)
{
	emit(ALU_K(AND), 0xfff, 0, 0);
	emit(ALU_K(OR), R_ERRNO, 0, 0);
	emit(RET_A, 0, 0, 0);
	calc[chunk_start + 1].jf = (uint8_t)(ncalc - (chunk_start + 1) - 1);
}

static void build_calc(void)
{
	ncalc = 0;
	/* jumps reach 255 instructions at most: allow near the top */
	emit(LD_W_ABS, OFF_NR, 0, 0);
	emit(JEQ_K, SYS_getpid, 1, 0);
	emit(RET_K, R_ALLOW, 0, 0);
	emit(LD_W_ABS, OFF_ARG(0), 0, 0);
	emit(JEQ_K, MAGIC, 1, 0);
	emit(RET_K, R_ALLOW, 0, 0);
	emit(LD_W_ABS, OFF_ARG(2), 0, 0);
	emit(ST, 0, 0, 0);
	emit(LD_W_ABS, OFF_ARG(3), 0, 0);
	emit(ST, 1, 0, 0);

	op_begin(1), emit(ALU_X(ADD), 0, 0, 0), op_end();
	op_begin(2), emit(ALU_K(ADD), 1000, 0, 0), op_end();
	op_begin(3), emit(ALU_X(SUB), 0, 0, 0), op_end();
	op_begin(4), emit(ALU_K(SUB), 7, 0, 0), op_end();
	op_begin(5), emit(ALU_X(MUL), 0, 0, 0), op_end();
	op_begin(6), emit(ALU_K(MUL), 0x10001, 0, 0), op_end();
	op_begin(7), emit(ALU_X(DIV), 0, 0, 0), op_end();
	op_begin(8), emit(ALU_K(DIV), 7, 0, 0), op_end();
	op_begin(9), emit(ALU_X(AND), 0, 0, 0), op_end();
	op_begin(10), emit(ALU_K(AND), 0x0f0, 0, 0), op_end();
	op_begin(11), emit(ALU_X(OR), 0, 0, 0), op_end();
	op_begin(12), emit(ALU_K(OR), 0x800, 0, 0), op_end();
	op_begin(13), emit(ALU_X(XOR), 0, 0, 0), op_end();
	op_begin(14), emit(ALU_K(XOR), 0x555, 0, 0), op_end();
	op_begin(15), emit(ALU_X(LSH), 0, 0, 0), op_end();
	op_begin(16), emit(ALU_K(LSH), 3, 0, 0), op_end();
	op_begin(17), emit(ALU_X(RSH), 0, 0, 0), op_end();
	op_begin(18), emit(ALU_K(RSH), 2, 0, 0), op_end();
	op_begin(19), emit(ALU_K(NEG), 0, 0, 0), op_end();
	/* jumps: A = 1 when taken, 2 when not */
	op_begin(20), emit(JGT_X, 0, 1, 0), emit(LD_IMM, 2, 0, 0),
		emit(JA, 1, 0, 0), emit(LD_IMM, 1, 0, 0), op_end();
	op_begin(21), emit(JGE_X, 0, 1, 0), emit(LD_IMM, 2, 0, 0),
		emit(JA, 1, 0, 0), emit(LD_IMM, 1, 0, 0), op_end();
	op_begin(22), emit(JSET_X, 0, 1, 0), emit(LD_IMM, 2, 0, 0),
		emit(JA, 1, 0, 0), emit(LD_IMM, 1, 0, 0), op_end();
	op_begin(23), emit(JEQ_X, 0, 1, 0), emit(LD_IMM, 2, 0, 0),
		emit(JA, 1, 0, 0), emit(LD_IMM, 1, 0, 0), op_end();
	op_begin(24), emit(JGT_K, 100, 1, 0), emit(LD_IMM, 2, 0, 0),
		emit(JA, 1, 0, 0), emit(LD_IMM, 1, 0, 0), op_end();
	op_begin(25), emit(JGE_K, 100, 1, 0), emit(LD_IMM, 2, 0, 0),
		emit(JA, 1, 0, 0), emit(LD_IMM, 1, 0, 0), op_end();
	op_begin(26), emit(JSET_K, 0x10, 1, 0), emit(LD_IMM, 2, 0, 0),
		emit(JA, 1, 0, 0), emit(LD_IMM, 1, 0, 0), op_end();
	/* TAX/TXA, scratch cells through X, the length loads */
	op_begin(27), emit(TAX, 0, 0, 0), emit(LD_IMM, 5, 0, 0),
		emit(ALU_X(ADD), 0, 0, 0), emit(STX, 15, 0, 0),
		emit(LDX_MEM, 15, 0, 0), emit(TXA, 0, 0, 0), op_end();
	op_begin(28), emit(LD_W_LEN, 0, 0, 0), emit(LDX_W_LEN, 0, 0, 0),
		emit(ALU_X(ADD), 0, 0, 0), op_end();
	/* the other words of seccomp_data */
	op_begin(29), emit(LD_W_ABS, OFF_ARCH, 0, 0), op_end();
	op_begin(30), emit(LD_W_ABS, OFF_ARG(2) + 4, 0, 0), op_end();
	op_begin(31), emit(LD_W_ABS, OFF_ARG(5), 0, 0), op_end();
	op_begin(32), emit(LD_W_ABS, OFF_IP, 0, 0), op_end();
	op_begin(33), emit(LD_W_ABS, OFF_IP + 4, 0, 0),
		emit(JEQ_K, 0, 1, 0), emit(LD_IMM, 1, 0, 0), op_end();
	/* division by X == 0 ends the filter with 0: KILL_THREAD */
	op_begin(34), emit(ALU_X(DIV), 0, 0, 0), op_end();

	emit(RET_K, R_ALLOW, 0, 0);
}

extern char after_calc_syscall[];

/* marked_calc - getpid(MAGIC, @op) through a syscall of known address;
 * the raw result (-errno) */
__attribute__((noinline)) static long marked_calc(long op)
{
	long ret;

	__asm__ volatile("syscall\n\t"
			 ".globl after_calc_syscall\n"
			 "after_calc_syscall:"
			 : "=a"(ret)
			 : "a"((long)SYS_getpid), "D"((long)MAGIC), "S"(op)
			 : "rcx", "r11", "memory");
	return ret;
}

static long calc_call(long op, long x, long y)
{
	return syscall(SYS_getpid, MAGIC, op, x, y, 0, 0x12345);
}

static void t_calc(void)
{
	static const long cases[][2] = {
		{ 700, 300 }, { 5, 9 }, { 0xabcdef, 0x13 }, { 3, 33 },
		{ 100, 100 }, { 0x80000000L, 1 }, { 0x700000003L, 2 },
	};

	build_calc();
	nnp();
	printf("install %u instructions: %s\n", ncalc, result(install(calc, ncalc, 0)));
	printf("plain getpid runs: %d\n", syscall(SYS_getpid) > 0);
	for (long op = 1; op <= 31; op++)
		for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			long r = calc_call(op, cases[i][0], cases[i][1]);

			printf("op %ld (%#lx, %#lx): %s\n", op, cases[i][0],
			       cases[i][1], result(r));
		}
	/* the instruction pointer is the address after the syscall */
	printf("ip low 12 bits: %d\n", -marked_calc(32) ==
	       (long)((uintptr_t)after_calc_syscall & 0xfff));
	printf("ip high word nonzero: %s\n", result(calc_call(33, 0, 0)));
	printf("division by zero kills:\n");
	fflush(stdout);
	calc_call(34, 1, 0);
	printf("survived\n");
}

/* ---- stacking, inheritance ---- */

/* filters that decide by number only (which the core caches, as Linux
 * does) next to one that reads an argument */
static void t_cache(void)
{
	struct insn by_range[] = {
		STMT(LD_W_ABS, OFF_NR),
		STMT(ALU_K(AND), 0xfff0),
		JUMP(JEQ_K, SYS_getuid & 0xfff0, 0, 1),
		STMT(RET_K, R_ERRNO | 40),
		STMT(RET_K, R_ALLOW),
	};
	struct insn by_arg[] = {
		STMT(LD_W_ABS, OFF_NR),
		JUMP(JEQ_K, SYS_getpid, 0, 3),
		STMT(LD_W_ABS, OFF_ARG(0)),
		JUMP(JEQ_K, 7, 0, 1),
		STMT(RET_K, R_ERRNO | 41),
		STMT(RET_K, R_ALLOW),
	};

	nnp();
	printf("by range: %s\n", result(install(by_range, 5, 0)));
	printf("getuid %s, ", result(syscall(SYS_getuid)));
	printf("getppid %s, ", result(syscall(SYS_getppid)));
	printf("getpid runs %d\n", syscall(SYS_getpid) > 0);
	printf("by argument: %s\n", result(install(by_arg, 6, 0)));
	printf("getpid(0) runs %d, ", syscall(SYS_getpid, 0) > 0);
	printf("getpid(7) %s, ", result(syscall(SYS_getpid, 7)));
	printf("getppid %s\n", result(syscall(SYS_getppid)));
}

static void t_stack(void)
{
	nnp();
	/* same action: the newest filter's data wins */
	block(SYS_getuid, R_ERRNO | 1, 0);
	block(SYS_getuid, R_ERRNO | 2, 0);
	printf("ERRNO 1 then ERRNO 2: %s\n", result(syscall(SYS_getuid)));
	/* ERRNO beats ALLOW whatever the order */
	block(SYS_getgid, R_ERRNO | 3, 0);
	block(SYS_getgid, R_ALLOW, 0);
	printf("ERRNO then ALLOW: %s\n", result(syscall(SYS_getgid)));
	/* TRACE (ENOSYS here) beats LOG, ERRNO beats TRACE */
	block(SYS_geteuid, R_LOG, 0);
	block(SYS_geteuid, R_TRACE, 0);
	printf("LOG then TRACE: %s\n", result(syscall(SYS_geteuid)));
	block(SYS_geteuid, R_ERRNO | 4, 0);
	printf("+ ERRNO: %s\n", result(syscall(SYS_geteuid)));
	printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	status_lines("stack");
	/* KILL_PROCESS beats everything */
	block(SYS_geteuid, R_KILL_PROCESS, 0);
	block(SYS_geteuid, R_ALLOW, 0);
	fflush(stdout);
	syscall(SYS_geteuid);
	printf("survived\n");
}

static void t_stack_trap(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	nnp();
	block(SYS_getppid, R_TRAP | 9, 0);
	block(SYS_getppid, R_ERRNO | 5, 0);
	printf("TRAP beats a newer ERRNO: %ld", marked(SYS_getppid, 0));
	printf(" (si_errno %ld)\n", trap_err);
}

static void t_fork(void)
{
	pid_t pid;
	int st;

	nnp();
	block(SYS_getpid, R_ERRNO | 11, 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("grandchild getpid: %s\n", result(syscall(SYS_getpid)));
		printf("grandchild PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
		block(SYS_getuid, R_ERRNO | 12, 0);
		status_lines("grandchild");
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("grandchild exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* the grandchild's own filter stayed its own */
	printf("child getuid runs: %d\n", syscall(SYS_getuid) >= 0);
	status_lines("child");
}

static void t_exec(void)
{
	char base[16];
	char *argv[] = { (char *)prog_path, "exec-child", base, NULL };

	snprintf(base, sizeof(base), "%d", base_filters);

	nnp();
	block(SYS_getpid, R_ERRNO | 12, 0);
	block(SYS_getuid, R_ERRNO | 14, 0);
	fflush(stdout);
	execv(prog_path, argv);
	printf("execv: errno %d\n", errno);
}

static int exec_child(void)
{
	printf("after execve getpid: %s\n", result(syscall(SYS_getpid)));
	printf("after execve getuid: %s\n", result(syscall(SYS_getuid)));
	printf("after execve PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	status_lines("after execve");
	return 5;
}

/* ---- rt_sigreturn and restart_syscall go through the filter ---- */

static void on_usr1(int s)
{
	(void)s;
}

static void t_sigreturn(void)
{
	signal(SIGUSR1, on_usr1);
	nnp();
	block(SYS_rt_sigreturn, R_KILL_PROCESS, 0);
	raise(SIGUSR1);
	printf("survived rt_sigreturn\n");
}

static void t_restart(void)
{
	int fds[2], st;
	pid_t pid;
	char c;

	if (pipe(fds)) {
		printf("pipe: errno %d\n", errno);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct timespec ts = { 3, 0 };

		nnp();
		block(SYS_restart_syscall, R_ERRNO | 77, 0);
		(void)!write(fds[1], "x", 1);
		printf("nanosleep after a stop: %s\n",
		       result(syscall(SYS_nanosleep, &ts, NULL)));
		fflush(stdout);
		_exit(0);
	}
	(void)!read(fds[0], &c, 1);
	/* stop and continue it until a stop lands inside the sleep (the
	 * first one may come before it starts on a loaded machine) */
	for (int i = 0; i < 10; i++) {
		usleep(200000);
		if (waitpid(pid, &st, WNOHANG) == pid)
			goto done;
		kill(pid, SIGSTOP);
		if (waitpid(pid, &st, WUNTRACED) == pid && !WIFSTOPPED(st))
			goto done;
		kill(pid, SIGCONT);
	}
	waitpid(pid, &st, 0);
done:
	printf("exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* ---- strict mode ---- */

static void say(const char *s)
{
	syscall(SYS_write, 1, s, strlen(s));
}

static void t_strict(void)
{
	char c;

	if (sc(0, 0, NULL)) {
		printf("strict: errno %d\n", errno);
		return;
	}
	say("strict: write works\n");
	if (syscall(SYS_read, -1, &c, 1) == -1 && errno == EBADF)
		say("strict: read works (EBADF)\n");
	syscall(SYS_exit, 3);
}

static void t_strict_prctl(void)
{
	if (prctl(PR_SET_SECCOMP, 1, 0x1234, 0, 0)) /* the filter is ignored */
		return;
	say("strict via prctl\n");
	syscall(SYS_getpid);
	say("survived getpid\n");
}

static void t_strict_exit_group(void)
{
	sc(0, 0, NULL);
	say("strict: exit_group next\n");
	syscall(SYS_exit_group, 0);
}

static void t_modes(void)
{
	printf("strict with flags: %s\n", result(sc(0, 1, NULL)));
	printf("strict with args: %s\n", result(sc(0, 0, (void *)1)));
	nnp();
	block(SYS_getuid, R_ERRNO | 1, 0);
	printf("strict after a filter: %s\n", result(sc(0, 0, NULL)));
	printf("prctl strict after a filter: %s\n",
	       result(prctl(PR_SET_SECCOMP, 1, 0, 0, 0)));
}

/* ---- install-time checks ---- */

static long try1(uint16_t code, uint32_t k)
{
	struct insn f[] = { STMT(code, k), STMT(RET_K, R_ALLOW) };

	return install(f, 2, 0);
}

static void t_invalid(void)
{
	static struct insn big[4097];
	struct insn ok[] = { STMT(RET_K, R_ALLOW) };
	struct insn noret[] = { STMT(LD_IMM, 0) };
	struct insn jout[] = { JUMP(JEQ_K, 0, 1, 0), STMT(RET_K, R_ALLOW) };
	struct insn jaout[] = { STMT(JA, 1), STMT(RET_K, R_ALLOW) };
	struct insn ja_last[] = { STMT(JA, 0), STMT(RET_K, R_ALLOW) };
	struct insn uninit[] = { STMT(LD_MEM, 3), STMT(RET_K, R_ALLOW) };
	struct insn halfinit[] = {
		STMT(LD_W_ABS, OFF_NR), JUMP(JEQ_K, 1, 0, 1), STMT(ST, 3),
		STMT(LD_MEM, 3), STMT(RET_K, R_ALLOW),
	};
	struct insn bothinit[] = {
		STMT(LD_W_ABS, OFF_NR), JUMP(JEQ_K, 1, 0, 2), STMT(ST, 3),
		STMT(JA, 1), STMT(ST, 3), STMT(LD_MEM, 3), STMT(RET_K, R_ALLOW),
	};
	struct fprog p;

	nnp();
	printf("NULL fprog: %s\n", result(sc(1, 0, NULL)));
	printf("bad fprog: %s\n", result(sc(1, 0, (void *)8)));
	p = (struct fprog){ 0, ok };
	printf("len 0: %s\n", result(sc(1, 0, &p)));
	p = (struct fprog){ 4097, big };
	printf("len 4097: %s\n", result(sc(1, 0, &p)));
	p = (struct fprog){ 1, NULL };
	printf("NULL filter: %s\n", result(sc(1, 0, &p)));
	p = (struct fprog){ 1, (struct insn *)8 };
	printf("bad filter: %s\n", result(sc(1, 0, &p)));
	printf("no RET last: %s\n", result(install(noret, 1, 0)));
	printf("jump past the end: %s\n", result(install(jout, 2, 0)));
	printf("JA past the end: %s\n", result(install(jaout, 2, 0)));
	printf("JA 0: %s\n", result(install(ja_last, 2, 0)));
	printf("LD M[3] unwritten: %s\n", result(install(uninit, 2, 0)));
	printf("LD M[3] written on one path: %s\n", result(install(halfinit, 5, 0)));
	printf("LD M[3] written on both paths: %s\n", result(install(bothinit, 7, 0)));
	printf("ST M[16]: %s\n", result(try1(ST, 16)));
	printf("LD W ABS 64: %s\n", result(try1(LD_W_ABS, 64)));
	printf("LD W ABS 2: %s\n", result(try1(LD_W_ABS, 2)));
	printf("LD W ABS 60: %s\n", result(try1(LD_W_ABS, 60)));
	printf("LD H ABS 0: %s\n", result(try1(LD_H_ABS, 0)));
	printf("LD B ABS 0: %s\n", result(try1(LD_B_ABS, 0)));
	printf("LD W IND 0: %s\n", result(try1(LD_W_IND, 0)));
	printf("LDX B MSH 0: %s\n", result(try1(LDX_B_MSH, 0)));
	printf("LD ancillary protocol: %s\n", result(try1(LD_W_ABS, 0xfffff000)));
	printf("MOD K: %s\n", result(try1(ALU_K(MOD), 3)));
	printf("MOD X: %s\n", result(try1(ALU_X(MOD), 0)));
	printf("DIV K 0: %s\n", result(try1(ALU_K(DIV), 0)));
	printf("LSH K 32: %s\n", result(try1(ALU_K(LSH), 32)));
	printf("RSH K 31: %s\n", result(try1(ALU_K(RSH), 31)));
	printf("NEG X form: %s\n", result(try1(ALU_X(NEG), 0)));
	printf("RET X: %s\n", result(try1(RET_X, 0)));
	printf("opcode 0xffff: %s\n", result(try1(0xffff, 0)));
	printf("LD IMM with BPF_H: %s\n", result(try1(LD_IMM | 0x08, 0)));
	printf("LEN loads: %s\n", result(try1(LD_W_LEN, 0)));
	printf("unknown flag: %s\n", result(block(SYS_getuid, R_ALLOW, 1U << 6)));
	printf("TSYNC|NEW_LISTENER: %s\n",
	       result(block(SYS_getuid, R_ALLOW, F_TSYNC | F_NEW_LISTENER)));
	printf("WAIT_KILLABLE_RECV alone: %s\n",
	       result(block(SYS_getuid, R_ALLOW, F_WAIT_KILLABLE_RECV)));
	printf("TSYNC: %s\n", result(block(SYS_getuid, R_ALLOW, F_TSYNC)));
	printf("TSYNC|TSYNC_ESRCH: %s\n",
	       result(block(SYS_getuid, R_ALLOW, F_TSYNC | F_TSYNC_ESRCH)));
	printf("LOG|SPEC_ALLOW: %s\n",
	       result(block(SYS_getuid, R_ALLOW, F_LOG | F_SPEC_ALLOW)));
	printf("unknown op: %s\n", result(sc(4, 0, NULL)));
	printf("prctl mode 3: %s\n", result(prctl(PR_SET_SECCOMP, 3, 0, 0, 0)));
	printf("prctl filter NULL: %s\n", result(prctl(PR_SET_SECCOMP, 2, 0, 0, 0)));
	p = (struct fprog){ 1, ok };
	printf("prctl filter: %s\n", result(prctl(PR_SET_SECCOMP, 2, &p, 0, 0)));
	status_lines("invalid");
}

static void t_length(void)
{
	static struct insn f[4096];
	int n = 0;
	long r;

	for (int i = 0; i < 4095; i++)
		f[i] = (struct insn)STMT(LD_IMM, (uint32_t)i);
	f[4095] = (struct insn)STMT(RET_K, R_ALLOW);
	nnp();
	while ((r = install(f, 4096, 0)) == 0)
		n++;
	printf("4096-instruction filters installed: %d, then %s\n", n, result(r));
	/* a smaller one still fits: 7 * 4100 + 60 <= 32768 */
	printf("60 more: %s\n", result(install(f + 4036, 60, 0)));
	printf("1 more: %s\n", result(install(f + 4095, 1, 0)));
	printf("getpid still runs: %d\n", syscall(SYS_getpid) > 0);
}

static void t_eacces(void)
{
	struct insn ok[] = { STMT(RET_K, R_ALLOW) };
	struct fprog p = { 0, ok };

	printf("root without no_new_privs: %s\n", result(block(SYS_getuid, R_ALLOW, 0)));
	if (setuid(65534)) {
		printf("setuid: errno %d\n", errno);
		return;
	}
	/* Linux's order: the length first, then the privilege */
	printf("nobody, len 0: %s\n", result(sc(1, 0, &p)));
	p = (struct fprog){ 1, NULL };
	printf("nobody, NULL filter: %s\n", result(sc(1, 0, &p)));
	printf("nobody: %s\n", result(block(SYS_getuid, R_ALLOW, 0)));
	nnp();
	printf("nobody with no_new_privs: %s\n", result(block(SYS_getuid, R_ERRNO | 3, 0)));
	printf("getuid: %s\n", result(syscall(SYS_getuid)));
}

static void t_avail(void)
{
	static const struct {
		const char *name;
		uint32_t action;
	} a[] = {
		{ "KILL_PROCESS", R_KILL_PROCESS }, { "KILL_THREAD", R_KILL_THREAD },
		{ "TRAP", R_TRAP }, { "ERRNO", R_ERRNO }, { "TRACE", R_TRACE },
		{ "LOG", R_LOG }, { "ALLOW", R_ALLOW }, { "0x10000", 0x10000 },
		{ "ERRNO|5", R_ERRNO | 5 },
	};
	uint16_t sizes[3];

	for (unsigned i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		uint32_t v = a[i].action;

		printf("GET_ACTION_AVAIL %s: %s\n", a[i].name, result(sc(2, 0, &v)));
	}
	printf("GET_ACTION_AVAIL flags 1: %s\n", result(sc(2, 1, &sizes)));
	printf("GET_ACTION_AVAIL bad pointer: %s\n", result(sc(2, 0, (void *)8)));
	memset(sizes, 0, sizeof(sizes));
	printf("GET_NOTIF_SIZES: %s", result(sc(3, 0, sizes)));
	printf(" %u %u %u\n", sizes[0], sizes[1], sizes[2]);
	printf("GET_NOTIF_SIZES flags 1: %s\n", result(sc(3, 1, sizes)));
	printf("GET_NOTIF_SIZES bad pointer: %s\n", result(sc(3, 0, (void *)8)));
	printf("PR_GET_SECCOMP unfiltered: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
}

int main(int argc, char **argv)
{
	struct rlimit no_core = { 0, 0 };

	/* SIGSYS deaths dump core natively where allowed: not here */
	setrlimit(RLIMIT_CORE, &no_core);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	prog_path = argv[0];
	status_lines("base"); /* prints nothing: sets base_filters */
	if (argc == 3 && !strcmp(argv[1], "exec-child")) {
		base_filters = atoi(argv[2]); /* the count before the test's */
		return exec_child();
	}

	t_avail();
	child("errno", t_errno);
	child("trace, user_notif, log", t_trace_notif_log);
	child("trap", t_trap);
	child("trap with SIGSYS blocked", t_trap_blocked);
	child("trap with SIGSYS ignored", t_trap_ignored);
	child("kill_process", t_kill_process);
	child("kill_thread, last thread", t_kill_thread);
	child("unknown action", t_unknown_action);
	child("arch and x32", t_arch);
	child("interpreter", t_calc);
	child("number-only and argument filters", t_cache);
	child("stacking", t_stack);
	child("stacking trap", t_stack_trap);
	child("fork", t_fork);
	child("execve", t_exec);
	child("rt_sigreturn filtered", t_sigreturn);
	child("restart_syscall filtered", t_restart);
	child("strict", t_strict);
	child("strict via prctl", t_strict_prctl);
	child("strict exit_group", t_strict_exit_group);
	child("mode changes", t_modes);
	child("invalid", t_invalid);
	child("length limit", t_length);
	child("eacces", t_eacces);
	status_lines("main");
	return 0;
}
