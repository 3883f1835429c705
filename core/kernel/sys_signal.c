/*
 * Signal syscalls.  Actions and the mask are recorded with Linux's checks;
 * delivery (frames, default actions, kill) comes with the process model.
 */
#include <errno.h>
#include <signal.h>

#include "kernel.h"

#define SIGBIT(s) (1ULL << ((s) - 1))
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

long sys_rt_sigaction(struct task *t, const struct sbx_syscall_args *a)
{
	int sig = (int)a->a[0];
	struct k_sigaction act, old;

	if (a->a[3] != K_SIGSET_SIZE)
		return -EINVAL;
	if (sig < 1 || sig > K_NSIG)
		return -EINVAL;
	if (a->a[1] && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (a->a[1] && mm_copy_in(&t->proc->mm, &act, a->a[1], sizeof(act)))
		return -EFAULT;
	old = t->proc->sigact[sig - 1];
	if (a->a[1]) {
		act.mask &= ~UNBLOCKABLE;
		t->proc->sigact[sig - 1] = act;
		signal_discard(t->proc, sig);
	}
	if (a->a[2] && mm_copy_out(&t->proc->mm, a->a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

long sys_rt_sigprocmask(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t set, old = t->sigmask;

	if (a->a[3] != K_SIGSET_SIZE)
		return -EINVAL;
	if (a->a[1]) {
		if (mm_copy_in(&t->proc->mm, &set, a->a[1], sizeof(set)))
			return -EFAULT;
		switch ((int)a->a[0]) {
		case SIG_BLOCK:
			t->sigmask |= set;
			break;
		case SIG_UNBLOCK:
			t->sigmask &= ~set;
			break;
		case SIG_SETMASK:
			t->sigmask = set;
			break;
		default:
			return -EINVAL;
		}
		t->sigmask &= ~UNBLOCKABLE;
	}
	if (a->a[2] && mm_copy_out(&t->proc->mm, a->a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}
