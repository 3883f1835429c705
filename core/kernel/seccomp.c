/*
 * seccomp(2) for the application, evaluated by the core (see seccomp.h for
 * the lifecycle).  The application's filters are never installed on the
 * host: the core checks them exactly as Linux 6.1 does at install, keeps
 * them per task as a shared chain (newest first, refcounted, inherited by
 * fork and clone, kept across execve) and runs every filter of the chain
 * before each syscall, taking the action of highest precedence.
 *
 * Divided into: the application-visible structures, validation (Linux's
 * bpf_check_classic + seccomp_check_filter), the classic BPF interpreter,
 * the allow cache, chains (refcounts, fork, release), evaluation before a
 * syscall, installing (modes, TSYNC), and the syscalls (seccomp, prctl).
 *
 * Not provided: user notification (SECCOMP_FILTER_FLAG_NEW_LISTENER is
 * refused with EINVAL, as by a kernel without it, and GET_ACTION_AVAIL
 * says SECCOMP_RET_USER_NOTIF is unavailable; a filter that returns it
 * anyway gets ENOSYS, Linux's answer when there is no listener), ptrace of
 * the application (SECCOMP_RET_TRACE gives ENOSYS, as Linux without a
 * tracer), and the 32-bit int 0x80 ABI (platforms do not report it; see
 * docs/ARCHITECTURE.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../util/log.h"
#include "kernel.h"
#include "seccomp.h"

/* ---- application-visible structures and constants (Linux uapi) ---- */

struct k_seccomp_data {
	int32_t nr;
	uint32_t arch;
	uint64_t instruction_pointer;
	uint64_t args[6];
};
_Static_assert(sizeof(struct k_seccomp_data) == 64, "seccomp_data");

struct k_sock_fprog {
	uint16_t len;
	uint8_t pad[6];
	uint64_t filter;
};
_Static_assert(sizeof(struct k_sock_fprog) == 16, "sock_fprog");

struct k_seccomp_notif_sizes {
	uint16_t notif, notif_resp, data;
};

struct k_insn { /* struct sock_filter */
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
_Static_assert(sizeof(struct k_insn) == sizeof(struct sock_filter), "sock_filter");

#define AUDIT_ARCH_X86_64 0xc000003eU
#define AUDIT_ARCH_I386 0x40000003U

#define SET_MODE_STRICT 0
#define SET_MODE_FILTER 1
#define GET_ACTION_AVAIL 2
#define GET_NOTIF_SIZES 3

#define FLAG_TSYNC (1U << 0)
#define FLAG_LOG (1U << 1)
#define FLAG_SPEC_ALLOW (1U << 2)
#define FLAG_NEW_LISTENER (1U << 3)
#define FLAG_TSYNC_ESRCH (1U << 4)
#define FLAG_WAIT_KILLABLE_RECV (1U << 5)
#define FLAG_MASK 0x3fU /* Linux 6.1's SECCOMP_FILTER_FLAG_MASK */

#define RET_KILL_PROCESS 0x80000000U
#define RET_KILL_THREAD 0x00000000U
#define RET_TRAP 0x00030000U
#define RET_ERRNO 0x00050000U
#define RET_USER_NOTIF 0x7fc00000U
#define RET_TRACE 0x7ff00000U
#define RET_LOG 0x7ffc0000U
#define RET_ALLOW 0x7fff0000U
#define RET_ACTION_FULL 0xffff0000U
#define RET_DATA 0x0000ffffU

#define SYS_SECCOMP 1	/* si_code of a seccomp SIGSYS */
#define MAX_ERRNO 4095
/* Limit any path through the tree to 256 KiB of instructions (Linux). */
#define MAX_INSNS_PER_PATH ((1 << 18) / 8)

/* syscall numbers the allow cache covers (Linux 6.1 has 0..450) */
#define CACHE_NR 512

struct kseccomp_filter {
	unsigned refs;			/* atomic */
	bool log;			/* SECCOMP_FILTER_FLAG_LOG */
	int count;			/* filters in the chain from here */
	struct kseccomp_filter *prev;	/* older filter: one reference */
	/* bit nr: the whole chain from here returns ALLOW for x86-64
	 * syscall nr whatever its arguments (Linux's action cache) */
	uint64_t allow[CACHE_NR / 64];
	uint32_t len;
	struct k_insn insns[];
};

/* ---- validation ---- */

/* code_allowed - bpf_check_classic's table of classic opcodes. */
static bool code_allowed(uint16_t code)
{
	switch (code) {
	case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
	case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
	case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
	case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
	case BPF_ALU | BPF_MOD | BPF_K: case BPF_ALU | BPF_MOD | BPF_X:
	case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
	case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X:
	case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
	case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
	case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X:
	case BPF_ALU | BPF_NEG:
	case BPF_LD | BPF_W | BPF_ABS: case BPF_LD | BPF_H | BPF_ABS:
	case BPF_LD | BPF_B | BPF_ABS: case BPF_LD | BPF_W | BPF_LEN:
	case BPF_LD | BPF_W | BPF_IND: case BPF_LD | BPF_H | BPF_IND:
	case BPF_LD | BPF_B | BPF_IND: case BPF_LD | BPF_IMM:
	case BPF_LD | BPF_MEM: case BPF_LDX | BPF_W | BPF_LEN:
	case BPF_LDX | BPF_B | BPF_MSH: case BPF_LDX | BPF_IMM:
	case BPF_LDX | BPF_MEM:
	case BPF_ST: case BPF_STX:
	case BPF_MISC | BPF_TAX: case BPF_MISC | BPF_TXA:
	case BPF_RET | BPF_K: case BPF_RET | BPF_A:
	case BPF_JMP | BPF_JA:
	case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
	case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
	case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
	case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
		return true;
	}
	return false;
}

static bool is_cond_jump(uint16_t code)
{
	return BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_JA;
}

/* check_load_and_stores - every scratch cell read was written before on
 * every path to the read (Linux's check, including its quirk that a
 * RET does not end the "written" set of the instruction after it). */
static int check_load_and_stores(const struct k_insn *f, uint32_t len)
{
	uint16_t *masks, memvalid = 0;
	int r = 0;

	masks = malloc(len * sizeof(*masks));
	if (!masks)
		return -ENOMEM;
	memset(masks, 0xff, len * sizeof(*masks));
	for (uint32_t pc = 0; pc < len; pc++) {
		memvalid &= masks[pc];
		switch (f[pc].code) {
		case BPF_ST:
		case BPF_STX:
			memvalid |= (uint16_t)(1U << f[pc].k);
			break;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
			if (!(memvalid & (1U << f[pc].k))) {
				r = -EINVAL;
				goto out;
			}
			break;
		case BPF_JMP | BPF_JA:
			masks[pc + 1 + f[pc].k] &= memvalid;
			memvalid = 0xffff;
			break;
		default:
			if (is_cond_jump(f[pc].code)) {
				masks[pc + 1 + f[pc].jt] &= memvalid;
				masks[pc + 1 + f[pc].jf] &= memvalid;
				memvalid = 0xffff;
			}
		}
	}
out:
	free(masks);
	return r;
}

/* check_classic - Linux's bpf_check_classic: known opcodes, no constant
 * division by zero or shift >= 32, scratch cells in range, jumps inside
 * the program (forward only, so every run ends), no unknown ancillary
 * loads, a RET last, cells written before read. */
static int check_classic(const struct k_insn *f, uint32_t len)
{
	for (uint32_t pc = 0; pc < len; pc++) {
		const struct k_insn *in = &f[pc];

		if (!code_allowed(in->code))
			return -EINVAL;
		switch (in->code) {
		case BPF_ALU | BPF_DIV | BPF_K:
		case BPF_ALU | BPF_MOD | BPF_K:
			if (in->k == 0)
				return -EINVAL;
			break;
		case BPF_ALU | BPF_LSH | BPF_K:
		case BPF_ALU | BPF_RSH | BPF_K:
			if (in->k >= 32)
				return -EINVAL;
			break;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
		case BPF_ST:
		case BPF_STX:
			if (in->k >= BPF_MEMWORDS)
				return -EINVAL;
			break;
		case BPF_JMP | BPF_JA:
			if (in->k >= len - pc - 1)
				return -EINVAL;
			break;
		case BPF_LD | BPF_W | BPF_ABS:
		case BPF_LD | BPF_H | BPF_ABS:
		case BPF_LD | BPF_B | BPF_ABS:
			/* packet ancillary loads (SKF_AD_*) are refused below
			 * by seccomp anyway, known or not */
			break;
		default:
			if (is_cond_jump(in->code) &&
			    (pc + in->jt + 1 >= len || pc + in->jf + 1 >= len))
				return -EINVAL;
		}
	}
	if (f[len - 1].code != (BPF_RET | BPF_K) &&
	    f[len - 1].code != (BPF_RET | BPF_A))
		return -EINVAL;
	return check_load_and_stores(f, len);
}

/* check_seccomp - Linux's seccomp_check_filter: only 32-bit aligned loads
 * inside seccomp_data (no packet loads, no MOD), and the length loads
 * become the constant sizeof(struct seccomp_data). */
static int check_seccomp(struct k_insn *f, uint32_t len)
{
	for (uint32_t pc = 0; pc < len; pc++) {
		struct k_insn *in = &f[pc];

		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (in->k >= sizeof(struct k_seccomp_data) || (in->k & 3))
				return -EINVAL;
			continue;
		case BPF_LD | BPF_W | BPF_LEN:
			in->code = BPF_LD | BPF_IMM;
			in->k = sizeof(struct k_seccomp_data);
			continue;
		case BPF_LDX | BPF_W | BPF_LEN:
			in->code = BPF_LDX | BPF_IMM;
			in->k = sizeof(struct k_seccomp_data);
			continue;
		case BPF_RET | BPF_K: case BPF_RET | BPF_A:
		case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
		case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
		case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
		case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
		case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
		case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X:
		case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
		case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
		case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X:
		case BPF_ALU | BPF_NEG:
		case BPF_LD | BPF_IMM: case BPF_LDX | BPF_IMM:
		case BPF_MISC | BPF_TAX: case BPF_MISC | BPF_TXA:
		case BPF_LD | BPF_MEM: case BPF_LDX | BPF_MEM:
		case BPF_ST: case BPF_STX:
		case BPF_JMP | BPF_JA:
		case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
		case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
		case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
		case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
			continue;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- the interpreter ---- */

/*
 * run - one validated program over @sd.  Semantics of Linux's conversion
 * to eBPF: A and X start at 0, 32-bit unsigned arithmetic, shifts by X
 * use its low 5 bits, division by X == 0 returns 0 (KILL_THREAD).  Jumps
 * only go forward and the last instruction is a RET: every run ends.
 */
static uint32_t run(const struct kseccomp_filter *f,
		    const struct k_seccomp_data *sd)
{
	const struct k_insn *pc = f->insns;
	const uint8_t *data = (const uint8_t *)sd;
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS];

	for (;; pc++) {
		uint32_t k = pc->k;

		switch (pc->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			memcpy(&A, data + k, sizeof(A)); /* host byte order */
			break;
		case BPF_LD | BPF_IMM: A = k; break;
		case BPF_LDX | BPF_IMM: X = k; break;
		case BPF_LD | BPF_MEM: A = M[k]; break;
		case BPF_LDX | BPF_MEM: X = M[k]; break;
		case BPF_ST: M[k] = A; break;
		case BPF_STX: M[k] = X; break;
		case BPF_MISC | BPF_TAX: X = A; break;
		case BPF_MISC | BPF_TXA: A = X; break;
		case BPF_ALU | BPF_ADD | BPF_K: A += k; break;
		case BPF_ALU | BPF_ADD | BPF_X: A += X; break;
		case BPF_ALU | BPF_SUB | BPF_K: A -= k; break;
		case BPF_ALU | BPF_SUB | BPF_X: A -= X; break;
		case BPF_ALU | BPF_MUL | BPF_K: A *= k; break;
		case BPF_ALU | BPF_MUL | BPF_X: A *= X; break;
		case BPF_ALU | BPF_DIV | BPF_K: A /= k; break;
		case BPF_ALU | BPF_DIV | BPF_X:
			if (!X)
				return 0;
			A /= X;
			break;
		case BPF_ALU | BPF_AND | BPF_K: A &= k; break;
		case BPF_ALU | BPF_AND | BPF_X: A &= X; break;
		case BPF_ALU | BPF_OR | BPF_K: A |= k; break;
		case BPF_ALU | BPF_OR | BPF_X: A |= X; break;
		case BPF_ALU | BPF_XOR | BPF_K: A ^= k; break;
		case BPF_ALU | BPF_XOR | BPF_X: A ^= X; break;
		case BPF_ALU | BPF_LSH | BPF_K: A <<= k; break;
		case BPF_ALU | BPF_LSH | BPF_X: A <<= (X & 31); break;
		case BPF_ALU | BPF_RSH | BPF_K: A >>= k; break;
		case BPF_ALU | BPF_RSH | BPF_X: A >>= (X & 31); break;
		case BPF_ALU | BPF_NEG: A = -A; break;
		case BPF_JMP | BPF_JA: pc += k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += A == k ? pc->jt : pc->jf; break;
		case BPF_JMP | BPF_JEQ | BPF_X: pc += A == X ? pc->jt : pc->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += A > k ? pc->jt : pc->jf; break;
		case BPF_JMP | BPF_JGT | BPF_X: pc += A > X ? pc->jt : pc->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += A >= k ? pc->jt : pc->jf; break;
		case BPF_JMP | BPF_JGE | BPF_X: pc += A >= X ? pc->jt : pc->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (A & k) ? pc->jt : pc->jf; break;
		case BPF_JMP | BPF_JSET | BPF_X: pc += (A & X) ? pc->jt : pc->jf; break;
		case BPF_RET | BPF_K: return k;
		case BPF_RET | BPF_A: return A;
		default: /* validation let nothing else through */
			return RET_KILL_PROCESS;
		}
	}
}

/* ---- the allow cache ---- */

/*
 * const_allow - the program returns ALLOW for syscall @nr (x86-64) without
 * looking at anything but nr and arch: Linux's seccomp_is_const_allow, a
 * walk that gives up at the first load of an argument or the instruction
 * pointer, or at any instruction but a constant jump, an AND and a RET K.
 */
static bool const_allow(const struct kseccomp_filter *f, uint32_t nr)
{
	uint32_t a = 0;

	for (uint32_t pc = 0; pc < f->len; pc++) {
		const struct k_insn *in = &f->insns[pc];
		bool taken;

		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (in->k == offsetof(struct k_seccomp_data, nr))
				a = nr;
			else if (in->k == offsetof(struct k_seccomp_data, arch))
				a = AUDIT_ARCH_X86_64;
			else
				return false;
			break;
		case BPF_RET | BPF_K:
			return in->k == RET_ALLOW;
		case BPF_JMP | BPF_JA:
			pc += in->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			switch (BPF_OP(in->code)) {
			case BPF_JEQ: taken = a == in->k; break;
			case BPF_JGE: taken = a >= in->k; break;
			case BPF_JGT: taken = a > in->k; break;
			default: taken = (a & in->k) != 0; break;
			}
			pc += taken ? in->jt : in->jf;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= in->k;
			break;
		default:
			return false;
		}
	}
	return false;
}

/* cache_prepare - @f's own allow bits (before it is attached: up to
 * 512 walks of 4096 instructions are not done under the kernel lock). */
static void cache_prepare(struct kseccomp_filter *f)
{
	for (uint32_t nr = 0; nr < CACHE_NR; nr++)
		if (const_allow(f, nr))
			f->allow[nr / 64] |= 1ULL << (nr % 64);
}

/* cache_attach - a call is allowed by the chain only if by every filter. */
static void cache_attach(struct kseccomp_filter *f)
{
	if (f->prev)
		for (unsigned i = 0; i < CACHE_NR / 64; i++)
			f->allow[i] &= f->prev->allow[i];
}

/* ---- chains ---- */

static void get(struct kseccomp_filter *f)
{
	if (f)
		__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

/* put - drop one reference, freeing the chain's single-owner tail. */
static void put(struct kseccomp_filter *f)
{
	while (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		struct kseccomp_filter *prev = f->prev;

		free(f);
		f = prev;
	}
}

void kseccomp_fork(struct task *child, const struct task *parent)
{
	struct kseccomp_filter *f = __atomic_load_n(&parent->seccomp,
						    __ATOMIC_ACQUIRE);

	get(f);
	child->seccomp = f;
	child->seccomp_mode = __atomic_load_n(&parent->seccomp_mode,
					      __ATOMIC_ACQUIRE);
}

void kseccomp_release(struct task *t)
{
	put(t->seccomp);
	t->seccomp = NULL;
}

int kseccomp_nfilters(const struct task *t)
{
	const struct kseccomp_filter *f = __atomic_load_n(&t->seccomp,
							  __ATOMIC_ACQUIRE);

	return f ? f->count : 0;
}

/* ---- evaluation ---- */

/* action_rank - Linux compares actions as signed 32-bit numbers, so
 * KILL_PROCESS (0x80000000) wins over everything and ALLOW loses. */
static int32_t action_rank(uint32_t ret)
{
	return (int32_t)(ret & RET_ACTION_FULL);
}

/* kill_process - SIGSYS ends the process whatever its handler says
 * (Linux forces SIG_DFL, also for init); the core bit as signal.c's fatal
 * sets it: where Linux would dump core. */
static void kill_process(struct task *t, int sig)
{
	struct process *p = t->proc;
	bool core = sig == SIGSYS && p->rlim[RLIMIT_CORE].cur;

	pthread_mutex_lock(&p->k->lock);
	process_kill_locked(p, sig | (core ? 0x80 : 0));
	pthread_mutex_unlock(&p->k->lock);
}

/* kill_thread - Linux's do_exit(@sig) for one thread: the others go on;
 * the last one takes the process with it. */
static void kill_thread(struct task *t, int sig)
{
	struct process *p = t->proc;
	bool alone;

	pthread_mutex_lock(&p->k->lock);
	alone = p->nthreads == 1;
	if (!alone)
		t->exit_thread = true;
	pthread_mutex_unlock(&p->k->lock);
	if (alone)
		kill_process(t, sig);
}

/* strict_allowed - SECCOMP_MODE_STRICT's list: read, write, exit,
 * rt_sigreturn (compared with the full number: x32 calls are killed). */
static bool strict_allowed(int32_t nr)
{
	return nr == 0 || nr == 1 || nr == 60 || nr == 15;
}

bool kseccomp_check(struct task *t, const struct sbx_syscall_args *a,
		    const char **why)
{
	int mode = __atomic_load_n(&t->seccomp_mode, __ATOMIC_ACQUIRE);
	/* Linux's syscall_get_nr: orig_rax as an int (x32 numbers keep bit
	 * 30); the arch is x86-64 for them too */
	int32_t nr = (int32_t)a->nr;
	const struct kseccomp_filter *f, *match = NULL;
	struct k_seccomp_data sd;
	uint32_t ret = RET_ALLOW, action, data;

	if (mode == KSECCOMP_MODE_STRICT) {
		if (strict_allowed(nr))
			return false;
		*why = "seccomp strict mode: SIGKILL";
		kill_thread(t, SIGKILL);
		return true;
	}

	f = __atomic_load_n(&t->seccomp, __ATOMIC_ACQUIRE);
	if (!f) { /* cannot happen (the chain is set before the mode): fail closed */
		*why = "seccomp: no filter";
		kill_process(t, SIGSYS);
		return true;
	}
	if ((uint32_t)nr < CACHE_NR &&
	    (f->allow[(uint32_t)nr / 64] & (1ULL << ((uint32_t)nr % 64))))
		return false; /* every filter allows it, whatever the arguments */

	sd.nr = nr;
	sd.arch = AUDIT_ARCH_X86_64;
	sd.instruction_pointer = t->regs.rip;
	memcpy(sd.args, a->a, sizeof(sd.args));
	/* every filter runs; the lowest action wins, the newest on a tie */
	for (; f; f = f->prev) {
		uint32_t cur = run(f, &sd);

		if (action_rank(cur) < action_rank(ret)) {
			ret = cur;
			match = f;
		}
	}
	action = ret & RET_ACTION_FULL;
	data = ret & RET_DATA;
	if (match && match->log && action != RET_LOG)
		sbx_debug("seccomp: tid %d: syscall %d: action %#x (filter "
			  "with SECCOMP_FILTER_FLAG_LOG)", t->tid, nr, ret);

	switch (action) {
	case RET_ALLOW:
		return false;
	case RET_LOG:
		sbx_info("seccomp: tid %d: syscall %d logged by its filter",
			 t->tid, nr);
		return false;
	case RET_ERRNO:
		if (data > MAX_ERRNO)
			data = MAX_ERRNO;
		t->regs.rax = (uint64_t)-(int64_t)data;
		/* never a restart code to signal.c: Linux returns these as
		 * they are unless a signal happens to be pending */
		if (data >= ERESTARTSYS && data <= ERESTART_RESTARTBLOCK)
			t->in_syscall = false;
		break;
	case RET_TRAP: {
		struct k_siginfo info = { .signo = SIGSYS, .code = SYS_SECCOMP };

		info.err = (int32_t)data;
		info.u.sys.call_addr = t->regs.rip;
		info.u.sys.syscall = nr;
		info.u.sys.arch = AUDIT_ARCH_X86_64;
		/* the handler sees the registers of the call: rax rolled back
		 * to the number (Linux's syscall_rollback) */
		t->regs.rax = t->regs.orig_rax;
		signal_force(t, SIGSYS, &info);
		*why = "seccomp TRAP";
		break;
	}
	case RET_USER_NOTIF: /* no listener can exist: Linux says ENOSYS */
	case RET_TRACE:	     /* no tracer: Linux says ENOSYS */
		t->regs.rax = (uint64_t)-ENOSYS;
		break;
	case RET_KILL_THREAD:
	case RET_KILL_PROCESS:
	default: /* an unknown action kills, as in Linux */
		sbx_info("seccomp: tid %d: syscall %d killed by the filter (%s)",
			 t->tid, nr, action == RET_KILL_THREAD ? "thread" : "process");
		if (action == RET_KILL_THREAD)
			kill_thread(t, SIGSYS);
		else
			kill_process(t, SIGSYS);
		*why = action == RET_KILL_THREAD ? "seccomp KILL_THREAD"
						 : "seccomp KILL_PROCESS";
		break;
	}
	return true;
}

/* ---- installing ---- */

static bool cap_sys_admin(const struct process *p)
{
	if (p->caps_dropped)
		return p->cap_eff & (1ULL << 21); /* CAP_SYS_ADMIN */
	return p->uid == 0;
}

static bool is_ancestor(const struct kseccomp_filter *parent,
			const struct kseccomp_filter *child)
{
	if (!parent)
		return true;
	for (; child; child = child->prev)
		if (child == parent)
			return true;
	return false;
}

/* can_sync - 0 when every other live thread of @t's process is unfiltered
 * or runs an ancestor of @t's chain, else the first one's tid (k->lock). */
static int can_sync(const struct task *t)
{
	for (const struct task *o = t->proc->threads; o; o = o->next_thread) {
		if (o == t || o->exit_thread || o->exited)
			continue;
		if (o->seccomp_mode == KSECCOMP_MODE_DISABLED ||
		    (o->seccomp_mode == KSECCOMP_MODE_FILTER &&
		     is_ancestor(o->seccomp, t->seccomp)))
			continue;
		return o->tid;
	}
	return 0;
}

/* sync_threads - give every other thread @t's chain (k->lock held, after
 * can_sync).  The old chain of each is an ancestor of the new one, so
 * dropping its reference frees nothing a running evaluation could hold. */
static void sync_threads(struct task *t)
{
	for (struct task *o = t->proc->threads; o; o = o->next_thread) {
		struct kseccomp_filter *old = o->seccomp;

		if (o == t || o->exit_thread || o->exited)
			continue;
		get(t->seccomp);
		__atomic_store_n(&o->seccomp, t->seccomp, __ATOMIC_RELEASE);
		put(old);
		__atomic_store_n(&o->seccomp_mode, KSECCOMP_MODE_FILTER,
				 __ATOMIC_RELEASE);
	}
}

/* prepare - copy and check the program at @uprog, in Linux's order:
 * EFAULT for the sock_fprog, EINVAL for its length, EACCES without
 * no_new_privs or CAP_SYS_ADMIN, EINVAL for a NULL program, EFAULT for
 * its instructions, EINVAL for a bad program. */
static long prepare(struct task *t, uint64_t uprog, struct kseccomp_filter **out)
{
	struct process *p = t->proc;
	struct kseccomp_filter *f;
	struct k_sock_fprog fprog;
	long r;

	if (mm_copy_in(&p->mm, &fprog, uprog, sizeof(fprog)))
		return -EFAULT;
	if (fprog.len == 0 || fprog.len > BPF_MAXINSNS)
		return -EINVAL;
	if (!p->no_new_privs && !cap_sys_admin(p))
		return -EACCES;
	if (!fprog.filter)
		return -EINVAL;
	f = calloc(1, sizeof(*f) + fprog.len * sizeof(struct k_insn));
	if (!f)
		return -ENOMEM;
	f->len = fprog.len;
	if (mm_copy_in(&p->mm, f->insns, fprog.filter,
		       fprog.len * sizeof(struct k_insn))) {
		r = -EFAULT;
		goto out_free;
	}
	r = check_classic(f->insns, f->len);
	if (!r)
		r = check_seccomp(f->insns, f->len);
	if (r)
		goto out_free;
	f->refs = 1;
	cache_prepare(f);
	*out = f;
	return 0;

out_free:
	free(f);
	return r;
}

static long set_mode_filter(struct task *t, unsigned flags, uint64_t uargs)
{
	struct kernel *k = t->proc->k;
	struct kseccomp_filter *f = NULL;
	unsigned long total;
	long r;

	if (flags & ~FLAG_MASK)
		return -EINVAL;
	if ((flags & FLAG_TSYNC) && (flags & FLAG_NEW_LISTENER) &&
	    !(flags & FLAG_TSYNC_ESRCH))
		return -EINVAL;
	if ((flags & FLAG_WAIT_KILLABLE_RECV) && !(flags & FLAG_NEW_LISTENER))
		return -EINVAL;
	/* no user notification: answered as a kernel without the flag */
	if (flags & FLAG_NEW_LISTENER)
		return -EINVAL;
	r = prepare(t, uargs, &f);
	if (r)
		return r;
	f->log = flags & FLAG_LOG;
	/* FLAG_SPEC_ALLOW: accepted; the sandbox changes no speculation
	 * mitigation for seccomp users */

	pthread_mutex_lock(&k->lock);
	if (t->seccomp_mode != KSECCOMP_MODE_DISABLED &&
	    t->seccomp_mode != KSECCOMP_MODE_FILTER) {
		r = -EINVAL;
		goto out_unlock;
	}
	total = f->len;
	for (const struct kseccomp_filter *w = t->seccomp; w; w = w->prev)
		total += w->len + 4; /* Linux's 4-instruction penalty */
	if (total > MAX_INSNS_PER_PATH) {
		r = -ENOMEM;
		goto out_unlock;
	}
	if (flags & FLAG_TSYNC) {
		r = can_sync(t);
		if (r) {
			if (flags & FLAG_TSYNC_ESRCH)
				r = -ESRCH;
			goto out_unlock;
		}
	}
	f->prev = t->seccomp; /* the task's reference moves to f->prev */
	f->count = f->prev ? f->prev->count + 1 : 1;
	cache_attach(f);
	__atomic_store_n(&t->seccomp, f, __ATOMIC_RELEASE);
	f = NULL;
	if (flags & FLAG_TSYNC)
		sync_threads(t);
	__atomic_store_n(&t->seccomp_mode, KSECCOMP_MODE_FILTER, __ATOMIC_RELEASE);
	r = 0;
out_unlock:
	pthread_mutex_unlock(&k->lock);
	free(f);
	return r;
}

static long set_mode_strict(struct task *t)
{
	struct kernel *k = t->proc->k;
	long r = 0;

	pthread_mutex_lock(&k->lock);
	if (t->seccomp_mode != KSECCOMP_MODE_DISABLED &&
	    t->seccomp_mode != KSECCOMP_MODE_STRICT)
		r = -EINVAL;
	else
		__atomic_store_n(&t->seccomp_mode, KSECCOMP_MODE_STRICT,
				 __ATOMIC_RELEASE);
	pthread_mutex_unlock(&k->lock);
	/* Linux also makes rdtsc fault (TIF_NOTSC); the platforms cannot,
	 * so a strict-mode program may still read the TSC */
	return r;
}

/* ---- the syscalls ---- */

static long get_action_avail(struct task *t, uint64_t uaction)
{
	uint32_t action;

	if (mm_copy_in(&t->proc->mm, &action, uaction, sizeof(action)))
		return -EFAULT;
	switch (action) {
	case RET_KILL_PROCESS:
	case RET_KILL_THREAD:
	case RET_TRAP:
	case RET_ERRNO:
	case RET_TRACE:
	case RET_LOG:
	case RET_ALLOW:
		return 0;
	default: /* RET_USER_NOTIF too: there is no listener to be had */
		return -EOPNOTSUPP;
	}
}

static long get_notif_sizes(struct task *t, uint64_t usizes)
{
	struct k_seccomp_notif_sizes s = { 80, 24, sizeof(struct k_seccomp_data) };

	return mm_copy_out(&t->proc->mm, usizes, &s, sizeof(s)) ? -EFAULT : 0;
}

static long do_seccomp(struct task *t, unsigned op, unsigned flags,
		       uint64_t uargs)
{
	switch (op) {
	case SET_MODE_STRICT:
		if (flags || uargs)
			return -EINVAL;
		return set_mode_strict(t);
	case SET_MODE_FILTER:
		return set_mode_filter(t, flags, uargs);
	case GET_ACTION_AVAIL:
		return flags ? -EINVAL : get_action_avail(t, uargs);
	case GET_NOTIF_SIZES:
		return flags ? -EINVAL : get_notif_sizes(t, uargs);
	default:
		return -EINVAL;
	}
}

long sys_seccomp(struct task *t, const struct sbx_syscall_args *a)
{
	return do_seccomp(t, (unsigned)a->a[0], (unsigned)a->a[1], a->a[2]);
}

long kseccomp_prctl_set(struct task *t, uint64_t mode, uint64_t filter)
{
	switch (mode) {
	case KSECCOMP_MODE_STRICT: /* prctl always ignored the filter */
		return do_seccomp(t, SET_MODE_STRICT, 0, 0);
	case KSECCOMP_MODE_FILTER:
		return do_seccomp(t, SET_MODE_FILTER, 0, filter);
	default:
		return -EINVAL;
	}
}
