/*
 * Signals: queueing (per task, under k->lock), default actions (terminate,
 * core, stop, continue, ignore), restart of interrupted syscalls, and the
 * x86-64 signal frame that rt_sigreturn undoes, laid out as Linux's
 * (rt_sigframe: restorer address, ucontext with sigcontext and mask,
 * siginfo; the XSAVE area below it with the fpx_sw_bytes magic).
 *
 * Divided into: classification, sending, the frame, delivery.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../util/log.h"
#include "kernel.h"

#define BIT(s) (1ULL << ((s) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))
#define STOP_SIGS (BIT(SIGSTOP) | BIT(SIGTSTP) | BIT(SIGTTIN) | BIT(SIGTTOU))
#define CORE_SIGS                                                           \
	(BIT(SIGQUIT) | BIT(SIGILL) | BIT(SIGTRAP) | BIT(SIGABRT) |         \
	 BIT(SIGBUS) | BIT(SIGFPE) | BIT(SIGSEGV) | BIT(SIGXCPU) |          \
	 BIT(SIGXFSZ) | BIT(SIGSYS))
#define IGNORE_SIGS (BIT(SIGCHLD) | BIT(SIGURG) | BIT(SIGWINCH))

#define K_SIG_DFL 0
#define K_SIG_IGN 1
#define K_SA_NOCLDSTOP 0x1
#define K_SA_SIGINFO 0x4
#define K_SA_ONSTACK 0x08000000
#define K_SA_RESTART 0x10000000
#define K_SA_NODEFER 0x40000000
#define K_SA_RESETHAND 0x80000000
#define K_SA_RESTORER 0x04000000
#define K_SS_ONSTACK 1
#define K_SS_DISABLE 2

struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate;
	uint64_t reserved[8];
};

struct k_stack {
	uint64_t sp;
	int32_t flags, pad;
	uint64_t size;
};

struct k_ucontext {
	uint64_t flags, link;
	struct k_stack stack;
	struct k_sigcontext mc;
	uint64_t sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	struct k_siginfo info;
};
_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext");
_Static_assert(sizeof(struct k_ucontext) == 304, "ucontext");
_Static_assert(offsetof(struct k_rt_sigframe, info) == 312, "rt_sigframe");

#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
#define FPSTATE_MAX 8192
/* eflags bits a handler may change through the frame (Linux FIX_EFLAGS) */
#define FIX_EFLAGS 0x50dd5ULL

/* ---- classification ---- */

bool signal_default_ignored(int sig)
{
	return sig >= 1 && sig <= K_NSIG && ((IGNORE_SIGS | BIT(SIGCONT)) & BIT(sig));
}

static bool ignored(struct process *p, int sig)
{
	uint64_t h = p->sigact[sig - 1].handler;

	if (h == K_SIG_IGN)
		return true;
	return h == K_SIG_DFL && ((IGNORE_SIGS | BIT(SIGCONT)) & BIT(sig));
}

bool signal_pending(struct task *t)
{
	return (t->pending & ~(t->sigmask & ~UNBLOCKABLE)) != 0;
}

/* ---- sending ---- */

static void wake(struct task *t)
{
	if (t->ctx && t->proc->k->pops->interrupt)
		t->proc->k->pops->interrupt(t->ctx);
	task_kick(t);
	pthread_cond_broadcast(&t->proc->k->changed);
}

/* stop_cont - what sending SIGCONT or a stop signal does at once. */
static void stop_cont(struct process *p, int sig)
{
	if (sig == SIGCONT || sig == SIGKILL) {
		for (struct task *t = p->threads; t; t = t->next_thread)
			t->pending &= ~STOP_SIGS;
		if (p->stop_sig) {
			p->stop_sig = 0;
			p->cont_report = true;
			if (p->parent && !(p->parent->sigact[SIGCHLD - 1].flags &
					   K_SA_NOCLDSTOP)) {
				struct k_siginfo ci = { .signo = SIGCHLD, .code = 6 };

				ci.u.chld.pid = p->pid; /* CLD_CONTINUED */
				ci.u.chld.status = SIGCONT;
				signal_send_locked(p->parent, SIGCHLD, &ci);
			}
		}
	}
	if (STOP_SIGS & BIT(sig))
		for (struct task *t = p->threads; t; t = t->next_thread)
			t->pending &= ~BIT(SIGCONT);
	signalfd_update_locked(p);
}

/* Real-time signals queue every instance (Linux's RLIMIT_SIGPENDING
 * default is in the thousands; one fixed bound per task here). */
#define RT_QUEUE_MAX 4096
#define IS_RT(sig) ((sig) >= 32)

struct sigqueue {
	struct sigqueue *next;
	struct k_siginfo info;
};

static int queue(struct task *t, int sig, const struct k_siginfo *info)
{
	if (IS_RT(sig)) {
		struct sigqueue *q, **tail = &t->rtq;

		if (t->nqueued >= RT_QUEUE_MAX || !(q = calloc(1, sizeof(*q))))
			return -EAGAIN;
		if (info)
			q->info = *info;
		else
			q->info.code = SI_KERNEL;
		q->info.signo = sig;
		while (*tail)
			tail = &(*tail)->next;
		*tail = q;
		t->nqueued++;
		t->pending |= BIT(sig);
	} else if (!(t->pending & BIT(sig))) {
		t->pending |= BIT(sig);
		if (info) {
			t->info[sig - 1] = *info;
		} else {
			memset(&t->info[sig - 1], 0, sizeof(t->info[0]));
			t->info[sig - 1].signo = sig;
			t->info[sig - 1].code = SI_KERNEL;
		}
	}
	signalfd_update_locked(t->proc);
	wake(t);
	return 0;
}

int signal_dequeue(struct task *t, uint64_t set, struct k_siginfo *info)
{
	uint64_t ready = t->pending & set;
	int sig;

	if (!ready)
		return 0;
	sig = __builtin_ctzll(ready) + 1;
	if (IS_RT(sig)) {
		struct sigqueue **pp = &t->rtq, *q;
		bool more = false;

		while ((*pp)->info.signo != sig)
			pp = &(*pp)->next;
		q = *pp;
		*pp = q->next;
		*info = q->info;
		free(q);
		t->nqueued--;
		for (q = *pp; q && !more; q = q->next)
			more = q->info.signo == sig;
		if (!more)
			t->pending &= ~BIT(sig);
	} else {
		*info = t->info[sig - 1];
		info->signo = sig;
		t->pending &= ~BIT(sig);
	}
	t->forced &= ~BIT(sig);
	signalfd_update_locked(t->proc);
	return sig;
}

void signal_discard(struct process *p, int sig)
{
	struct k_siginfo info;

	pthread_mutex_lock(&p->k->lock);
	if (ignored(p, sig))
		for (struct task *t = p->threads; t; t = t->next_thread)
			while (signal_dequeue(t, BIT(sig), &info))
				;
	pthread_mutex_unlock(&p->k->lock);
}

void signal_task_release(struct task *t)
{
	while (t->rtq) {
		struct sigqueue *q = t->rtq;

		t->rtq = q->next;
		free(q);
	}
	t->nqueued = 0;
}

int signal_send_task(struct task *t, int sig, const struct k_siginfo *info)
{
	struct process *p = t->proc;

	if (p->state != PROC_LIVE || sig < 1 || sig > K_NSIG)
		return 0;
	stop_cont(p, sig);
	if (ignored(p, sig) && !(t->sigmask & BIT(sig)) && sig != SIGCONT)
		return 0;
	return queue(t, sig, info);
}

int signal_send_locked(struct process *p, int sig, const struct k_siginfo *info)
{
	struct task *t = p->threads, *target = NULL;

	if (!t || p->state != PROC_LIVE || sig < 1 || sig > K_NSIG)
		return 0;
	stop_cont(p, sig);
	/* a process-directed signal goes to a thread that does not block it */
	for (; t; t = t->next_thread)
		if (!(t->sigmask & BIT(sig))) {
			target = t;
			break;
		}
	/* ignored signals are dropped at once, unless blocked (POSIX) */
	if (ignored(p, sig) && target && sig != SIGCONT)
		return 0;
	return queue(target ? target : p->threads, sig, info);
}

void signal_send(struct process *p, int sig, const struct k_siginfo *info)
{
	pthread_mutex_lock(&p->k->lock);
	signal_send_locked(p, sig, info);
	pthread_mutex_unlock(&p->k->lock);
}

/*
 * Signals sent to sbxrun (a terminal's Ctrl-C, kill from a supervisor) go
 * to the sandbox's init.  sbxrun blocks them in every thread from the
 * start (so the gofer, stubs and helpers it forks do not die of a
 * terminal's Ctrl-C either) and one thread takes them with sigwaitinfo.
 * SIGUSR2 is not forwarded: platforms use it to interrupt contexts.
 */
static const int host_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				 SIGWINCH };

static void wake_handler(int sig)
{
	(void)sig; /* only there to end a ppoll with EINTR */
}

void task_wake_setup(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;
	sa.sa_flags = SA_RESTART; /* ppoll still ends: it never restarts */
	sigaction(TASK_WAKE_SIG, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, TASK_WAKE_SIG);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void task_kick(struct task *t)
{
	pid_t tid = __atomic_load_n(&t->host_tid, __ATOMIC_ACQUIRE);

	if (tid)
		syscall(SYS_tgkill, getpid(), tid, TASK_WAKE_SIG);
}

int task_host_poll(struct task *t, struct pollfd *fds, unsigned long n, int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigset_t mask;

	(void)t;
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, TASK_WAKE_SIG);
	return ppoll(fds, n, ms < 0 ? NULL : &ts, &mask);
}

void signal_host_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(host_sigs) / sizeof(host_sigs[0]); i++)
		sigaddset(set, host_sigs[i]);
}

static void *forward_signals(void *arg)
{
	sigset_t set;
	siginfo_t si;

	signal_host_set(&set);
	for (;;) {
		int sig = sigwaitinfo(&set, &si);

		if (sig > 0)
			signal_from_host(arg, sig);
	}
	return NULL;
}

void signal_forward_start(struct kernel *k)
{
	pthread_attr_t attr;
	pthread_t th;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, forward_signals, k))
		sbx_warn("cannot forward sbxrun's signals to the sandbox");
	pthread_attr_destroy(&attr);
}

void signal_from_host(struct kernel *k, int sig)
{
	/* si_pid 0: from outside the sandbox, as from a parent pid ns */
	struct k_siginfo info = { .signo = sig, .code = SI_USER };
	struct process *p;

	pthread_mutex_lock(&k->lock);
	p = k->init;
	if (p && p->state == PROC_LIVE && signal_send_locked(p, sig, &info) == 0)
		for (struct task *t = p->threads; t; t = t->next_thread)
			if (t->pending & BIT(sig))
				t->forced |= BIT(sig); /* init may not ignore it */
	pthread_mutex_unlock(&k->lock);
}

void signal_force(struct task *t, int sig, const struct k_siginfo *info)
{
	struct process *p = t->proc;

	pthread_mutex_lock(&p->k->lock);
	if (p->sigact[sig - 1].handler == K_SIG_IGN || (t->sigmask & BIT(sig)))
		p->sigact[sig - 1].handler = K_SIG_DFL;
	t->sigmask &= ~BIT(sig);
	t->forced |= BIT(sig);
	signal_send_task(t, sig, info); /* the faulting thread, not any */
	pthread_mutex_unlock(&p->k->lock);
}

/* ---- the frame ---- */

static uint64_t xcr0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static bool on_altstack(struct task *t, uint64_t sp)
{
	return t->altstack.size && sp > t->altstack.sp &&
	       sp <= t->altstack.sp + t->altstack.size;
}

/* build_frame - push an rt_sigframe for @info->signo; Return: 0 or -EFAULT. */
static int build_frame(struct task *t, const struct k_siginfo *info,
		       const struct k_sigaction *act,
		       uint64_t oldmask)
{
	const struct sbx_platform_ops *ops = t->proc->k->pops;
	struct sbx_regs *r = &t->regs;
	static __thread uint8_t fp[FPSTATE_MAX + 4];
	struct k_rt_sigframe f;
	uint64_t sp = r->rsp, fp_addr = 0, frame;
	int fpsize = 0;

	if ((act->flags & K_SA_ONSTACK) && t->altstack.size &&
	    !(t->altstack.flags & K_SS_DISABLE) && !on_altstack(t, sp))
		sp = t->altstack.sp + t->altstack.size;
	else
		sp -= 128; /* the red zone */
	if (SBX_OPS_HAS(ops, ctx_get_fpstate))
		fpsize = ops->ctx_get_fpstate(t->ctx, fp, FPSTATE_MAX);
	if (fpsize >= 512) {
		uint32_t *sw = (uint32_t *)(fp + 464);

		sw[0] = FP_XSTATE_MAGIC1;
		sw[1] = (uint32_t)fpsize + 4;	/* extended_size */
		*(uint64_t *)&sw[2] = xcr0();	/* xfeatures */
		sw[4] = (uint32_t)fpsize;	/* xstate_size */
		memcpy(fp + fpsize, &(uint32_t){ FP_XSTATE_MAGIC2 }, 4);
		sp = (sp - (uint64_t)fpsize - 4) & ~63ULL;
		fp_addr = sp;
	}
	sp -= sizeof(f);
	sp = ((sp + 8) & ~15ULL) - 8; /* as after a call: rsp+8 is aligned */
	frame = sp;

	memset(&f, 0, sizeof(f));
	f.pretcode = act->restorer;
	f.uc.flags = 0x7; /* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
	f.uc.stack.sp = t->altstack.sp;
	f.uc.stack.size = t->altstack.size;
	f.uc.stack.flags = !t->altstack.size ? K_SS_DISABLE
			   : on_altstack(t, r->rsp) ? K_SS_ONSTACK : 0;
	f.uc.mc = (struct k_sigcontext){
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rdi = r->rdi, .rsi = r->rsi, .rbp = r->rbp, .rbx = r->rbx,
		.rdx = r->rdx, .rax = r->rax, .rcx = r->rcx, .rsp = r->rsp,
		.rip = r->rip, .eflags = r->eflags, .cs = 0x33, .ss = 0x2b,
		.oldmask = oldmask, .fpstate = fp_addr,
	};
	if (info->signo == SIGSEGV || info->signo == SIGBUS)
		f.uc.mc.cr2 = info->u.addr;
	f.uc.sigmask = oldmask;
	f.info = *info;
	if (mm_copy_out(&t->proc->mm, frame, &f, sizeof(f)))
		return -EFAULT;
	if (fp_addr && mm_copy_out(&t->proc->mm, fp_addr, fp, (size_t)fpsize + 4))
		return -EFAULT;

	r->rdi = (uint64_t)info->signo;
	r->rsi = frame + offsetof(struct k_rt_sigframe, info);
	r->rdx = frame + offsetof(struct k_rt_sigframe, uc);
	r->rax = 0;
	r->rsp = frame;
	r->rip = act->handler;
	r->eflags &= ~(0x100ULL | 0x400ULL | 0x10000ULL); /* TF, DF, RF */
	r->cs = 0x33;
	r->ss = 0x2b;
	return 0;
}

long sys_rt_sigreturn(struct task *t, const struct sbx_syscall_args *a)
{
	const struct sbx_platform_ops *ops = t->proc->k->pops;
	static __thread uint8_t fp[FPSTATE_MAX];
	struct sbx_regs *r = &t->regs;
	struct k_rt_sigframe f;
	uint64_t frame = r->rsp - 8;

	if (mm_copy_in(&t->proc->mm, &f, frame, sizeof(f))) {
		struct k_siginfo info = { .signo = SIGSEGV, .code = SI_KERNEL };

		signal_force(t, SIGSEGV, &info);
		return (long)r->rax;
	}
	r->r8 = f.uc.mc.r8, r->r9 = f.uc.mc.r9, r->r10 = f.uc.mc.r10;
	r->r11 = f.uc.mc.r11, r->r12 = f.uc.mc.r12, r->r13 = f.uc.mc.r13;
	r->r14 = f.uc.mc.r14, r->r15 = f.uc.mc.r15, r->rdi = f.uc.mc.rdi;
	r->rsi = f.uc.mc.rsi, r->rbp = f.uc.mc.rbp, r->rbx = f.uc.mc.rbx;
	r->rdx = f.uc.mc.rdx, r->rcx = f.uc.mc.rcx, r->rsp = f.uc.mc.rsp;
	r->rip = f.uc.mc.rip;
	r->eflags = (r->eflags & ~FIX_EFLAGS) | (f.uc.mc.eflags & FIX_EFLAGS);
	r->cs = 0x33;
	r->ss = 0x2b;
	r->orig_rax = (uint64_t)-1; /* not a syscall: never restarted */
	pthread_mutex_lock(&t->proc->k->lock);
	t->sigmask = f.uc.sigmask & ~UNBLOCKABLE;
	pthread_mutex_unlock(&t->proc->k->lock);
	if (!(f.uc.stack.flags & K_SS_DISABLE) && f.uc.stack.size &&
	    !on_altstack(t, r->rsp)) {
		t->altstack.sp = f.uc.stack.sp;
		t->altstack.size = f.uc.stack.size;
	}
	if (f.uc.mc.fpstate && SBX_OPS_HAS(ops, ctx_set_fpstate)) {
		int size = 512;
		uint32_t sw[5];

		if (mm_copy_in(&t->proc->mm, sw, f.uc.mc.fpstate + 464, sizeof(sw)) == 0 &&
		    sw[0] == FP_XSTATE_MAGIC1 && sw[4] >= 512 && sw[4] <= FPSTATE_MAX)
			size = (int)sw[4];
		if (mm_copy_in(&t->proc->mm, fp, f.uc.mc.fpstate, (size_t)size) == 0)
			ops->ctx_set_fpstate(t->ctx, fp, (size_t)size);
	}
	t->in_syscall = false;
	return (long)f.uc.mc.rax;
}

/* ---- delivery ---- */

/* fatal - the default action "terminate" or "core": the core bit is set
 * where Linux would dump core (RLIMIT_CORE not 0); we never write one. */
static void fatal(struct process *p, int sig)
{
	bool core = (CORE_SIGS & BIT(sig)) && p->rlim[RLIMIT_CORE].cur;

	process_kill_locked(p, sig | (core ? 0x80 : 0));
}

/* stop - default action of a stop signal: wait for SIGCONT (lock held). */
static void stop(struct task *t, int sig)
{
	struct process *p = t->proc;

	p->stop_sig = sig;
	p->stop_report = true;
	if (p->parent && !(p->parent->sigact[SIGCHLD - 1].flags & K_SA_NOCLDSTOP)) {
		struct k_siginfo ci = { .signo = SIGCHLD, .code = 5 }; /* CLD_STOPPED */

		ci.u.chld.pid = p->pid;
		ci.u.chld.status = sig;
		signal_send_locked(p->parent, SIGCHLD, &ci);
	}
	pthread_cond_broadcast(&p->k->changed);
	while (p->stop_sig && !p->exiting && !(t->pending & BIT(SIGKILL)))
		pthread_cond_wait(&p->k->changed, &p->k->lock);
}

/* restart - set up an interrupted syscall to run again. */
static void restart(struct task *t, long code)
{
	t->regs.rip -= 2;
	t->regs.rax = code == -ERESTART_RESTARTBLOCK ? 219 /* restart_syscall */
						     : t->regs.orig_rax;
}

void signal_deliver(struct task *t)
{
	struct process *p = t->proc;
	long ret = (long)t->regs.rax;
	bool restartable = t->in_syscall && ret <= -ERESTARTSYS &&
			   ret >= -ERESTART_RESTARTBLOCK;

	t->in_syscall = false;
	pthread_mutex_lock(&p->k->lock);
	for (;;) {
		uint64_t ready = t->pending & ~(t->sigmask & ~UNBLOCKABLE);
		struct k_sigaction act;
		struct k_siginfo info;
		uint64_t oldmask;
		int sig;

		if (!ready || p->exiting)
			break;
		sig = __builtin_ctzll(ready) + 1;
		bool forced = t->forced & BIT(sig);

		signal_dequeue(t, BIT(sig), &info);
		act = p->sigact[sig - 1];
		if (act.handler == K_SIG_IGN)
			continue;
		if (act.handler == K_SIG_DFL) {
			if (sig != SIGKILL && p->pid == 1 && !forced)
				continue; /* init ignores what it does not handle */
			if ((IGNORE_SIGS | BIT(SIGCONT)) & BIT(sig))
				continue;
			if (STOP_SIGS & BIT(sig)) {
				stop(t, sig);
				continue;
			}
			fatal(p, sig);
			break;
		}
		/* a handler runs */
		if (restartable) {
			if (ret == -ERESTARTNOINTR ||
			    (ret == -ERESTARTSYS && (act.flags & K_SA_RESTART)))
				restart(t, ret);
			else
				t->regs.rax = (uint64_t)-EINTR;
			restartable = false;
		}
		if (!(act.flags & K_SA_RESTORER)) {
			/* x86-64 has no kernel-provided return trampoline */
			fatal(p, SIGSEGV);
			break;
		}
		oldmask = t->has_saved_mask ? t->saved_mask : t->sigmask;
		t->has_saved_mask = false;
		pthread_mutex_unlock(&p->k->lock);
		if (build_frame(t, &info, &act, oldmask)) {
			pthread_mutex_lock(&p->k->lock);
			fatal(p, SIGSEGV);
			break;
		}
		pthread_mutex_lock(&p->k->lock);
		t->sigmask |= act.mask | ((act.flags & K_SA_NODEFER) ? 0 : BIT(sig));
		t->sigmask &= ~UNBLOCKABLE;
		if (act.flags & K_SA_RESETHAND)
			p->sigact[sig - 1].handler = K_SIG_DFL;
		break; /* one frame at a time; the rest after sigreturn */
	}
	if (restartable)
		restart(t, ret);
	if (t->has_saved_mask) {
		t->sigmask = t->saved_mask;
		t->has_saved_mask = false;
	}
	pthread_mutex_unlock(&p->k->lock);
}
