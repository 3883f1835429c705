/*
 * The task loop (one host thread per application thread): run the context
 * on the platform, then handle what stopped it: a syscall, a fault, or an
 * interrupt.  Also process exit and fault-to-signal conversion.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "kernel.h"

void process_exit(struct process *p, int status)
{
	pthread_mutex_lock(&p->k->lock);
	process_kill_locked(p, status);
	pthread_mutex_unlock(&p->k->lock);
}

static void handle_fault(struct task *t, const struct sbx_exit *ex)
{
	struct k_siginfo info = { .signo = ex->signo, .code = ex->code };
	int code = ex->code;

	if (ex->signo == SIGSEGV) {
		int r = -EFAULT;

		/* a fault the mm resolved (COW, stack growth, a raced
		 * upgrade, a copied file page) is retried; the same address
		 * faulting over and over with nothing else in between (a
		 * platform that cannot map what the VMAs say) becomes a
		 * SIGSEGV, not a silent spin */
		if (ex->addr != t->fault_addr)
			t->fault_retries = 0;
		t->fault_addr = ex->addr;
		if (t->fault_retries++ < 64) {
			r = mm_fault(&t->proc->mm, ex->addr, ex->access, &code);
			if (r == 0)
				return;
		}
		t->fault_retries = 0;
		if (r == -ENXIO)
			info.signo = SIGBUS; /* a file page past the end */
		info.code = code;
	}
	info.u.addr = ex->addr;
	sbx_debug("pid %d: %s at %#llx (code %d, rip %#llx)", t->proc->pid,
		  strsignal(info.signo), (unsigned long long)ex->addr, code,
		  (unsigned long long)t->regs.rip);
	signal_force(t, info.signo, &info);
}

__thread struct task *current_task;

int task_run(struct task *t)
{
	const struct sbx_platform_ops *ops = t->proc->k->pops;
	struct sbx_exit ex;
	int r;

	current_task = t;
	t->host_tid = gettid();

	while (!t->proc->exiting && !t->exit_thread) {
		memset(&ex, 0, sizeof(ex));
		ex.size = sizeof(ex);
		r = ops->switch_to(t->ctx, &t->regs, &ex);
		if (r < 0) {
			sbx_err("platform: cannot run pid %d: %s", t->proc->pid,
				strerror(-r));
			process_exit(t->proc, SIGKILL);
			current_task = NULL;
			return r;
		}
		if (ex.kind != SBX_EXIT_FAULT)
			t->fault_retries = 0; /* progress: see handle_fault */
		switch (ex.kind) {
		case SBX_EXIT_SYSCALL:
			t->in_syscall = true;
			syscall_dispatch(t);
			break;
		case SBX_EXIT_FAULT:
			handle_fault(t, &ex);
			break;
		case SBX_EXIT_INTERRUPT:
			break;
		default:
			sbx_err("platform: unknown exit kind %u", ex.kind);
			process_exit(t->proc, SIGKILL);
			current_task = NULL;
			return -EINVAL;
		}
		signal_deliver(t);
	}
	current_task = NULL;
	return 0;
}
