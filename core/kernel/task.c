/*
 * The task loop (one host thread per application thread): run the context
 * on the platform, then handle what stopped it: a syscall, a fault, or an
 * interrupt.  Also process exit and fault-to-signal conversion.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "../util/log.h"
#include "kernel.h"

/* Signals whose default action dumps core (wait status bit 0x80). */
#define CORE_SIGNALS                                                          \
	((1ULL << (SIGQUIT - 1)) | (1ULL << (SIGILL - 1)) |                   \
	 (1ULL << (SIGTRAP - 1)) | (1ULL << (SIGABRT - 1)) |                  \
	 (1ULL << (SIGBUS - 1)) | (1ULL << (SIGFPE - 1)) |                    \
	 (1ULL << (SIGSEGV - 1)) | (1ULL << (SIGXCPU - 1)) |                  \
	 (1ULL << (SIGXFSZ - 1)) | (1ULL << (SIGSYS - 1)))

void process_exit(struct process *p, int status)
{
	if (p->exiting)
		return;
	p->exiting = true;
	p->exit_status = status;
}

/* kill_by_signal - the default action of a fatal synchronous signal.
 * Handlers and signal frames come with the process model. */
static void kill_by_signal(struct task *t, int sig)
{
	int core = (CORE_SIGNALS >> (sig - 1)) & 1;

	process_exit(t->proc, sig | (core ? 0x80 : 0));
}

static void handle_fault(struct task *t, const struct sbx_exit *ex)
{
	int code = ex->code;

	if (ex->signo == SIGSEGV &&
	    mm_fault(&t->proc->mm, ex->addr, ex->access, &code) == 0)
		return; /* stack grown: retry the access */
	sbx_info("pid %d: %s at %#llx (code %d, rip %#llx)", t->proc->pid,
		 strsignal(ex->signo), (unsigned long long)ex->addr, code,
		 (unsigned long long)t->regs.rip);
	kill_by_signal(t, ex->signo);
}

int task_run(struct task *t)
{
	const struct sbx_platform_ops *ops = t->proc->k->pops;
	struct sbx_exit ex;
	int r;

	while (!t->proc->exiting) {
		memset(&ex, 0, sizeof(ex));
		ex.size = sizeof(ex);
		r = ops->switch_to(t->ctx, &t->regs, &ex);
		if (r < 0) {
			sbx_err("platform: cannot run pid %d: %s", t->proc->pid,
				strerror(-r));
			kill_by_signal(t, SIGKILL);
			return r;
		}
		switch (ex.kind) {
		case SBX_EXIT_SYSCALL:
			syscall_dispatch(t);
			break;
		case SBX_EXIT_FAULT:
			handle_fault(t, &ex);
			break;
		case SBX_EXIT_INTERRUPT:
			break;
		default:
			sbx_err("platform: unknown exit kind %u", ex.kind);
			kill_by_signal(t, SIGKILL);
			return -EINVAL;
		}
	}
	return 0;
}
