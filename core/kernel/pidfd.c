/*
 * pidfds: pidfd_open, CLONE_PIDFD, pidfd_send_signal, pidfd_getfd and
 * waitid(P_PIDFD).
 *
 * A pidfd names a process by (pid, start time), so a reused pid is never
 * mistaken for the process the fd was opened on.  For poll/epoll it holds
 * a host fd: the read end of a pipe the process creates on first use and
 * whose write end it writes and closes as it becomes a zombie, so the
 * pidfd turns readable exactly when the process exits, as Linux's does.
 * read and write on a pidfd are EINVAL, as Linux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdtable.h"
#include "kernel.h"

struct pidfd {
	int pid;
	int64_t start_ns;
};

static ssize_t pidfd_rw(struct file *f, void *buf, size_t len, int64_t off)
{
	return -EINVAL;
}

static ssize_t pidfd_write(struct file *f, const void *buf, size_t len,
			   int64_t off)
{
	return -EINVAL;
}

/* the *_task forms: so read(2) never waits on the exit pipe first */
static ssize_t pidfd_read_task(struct task *t, struct file *f, void *buf,
			       size_t len)
{
	return -EINVAL;
}

static ssize_t pidfd_write_task(struct task *t, struct file *f,
				const void *buf, size_t len)
{
	return -EINVAL;
}

static void pidfd_release(struct file *f)
{
	free(f->priv);
}

static const struct file_ops pidfd_ops = {
	.read = pidfd_rw,
	.write = pidfd_write,
	.release = pidfd_release,
	.anon_name = "[pidfd]",
	.read_task = pidfd_read_task,
	.write_task = pidfd_write_task,
};

/* exit_pipe_rfd - the read end of @p's exit pipe, made on first use
 * (k->lock held).  Return: a new host fd (dup) or -errno. */
static int exit_pipe_rfd(struct process *p)
{
	if (!p->has_exit_pipe) {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
			return -errno;
		p->exit_rfd = fds[0];
		p->exit_wfd = fds[1];
		p->has_exit_pipe = true;
		if (p->state == PROC_ZOMBIE)
			pidfd_process_exited(p);
	}
	int fd = fcntl(p->exit_rfd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

void pidfd_process_exited(struct process *p)
{
	if (p->has_exit_pipe && p->exit_wfd >= 0) {
		char c = 0;

		if (write(p->exit_wfd, &c, 1) < 0) {
			/* cannot happen on an empty pipe; the close still
			 * makes it readable (POLLHUP) */
		}
		close(p->exit_wfd);
		p->exit_wfd = -1;
	}
}

void pidfd_process_release(struct process *p)
{
	if (p->has_exit_pipe) {
		pidfd_process_exited(p);
		close(p->exit_rfd);
		p->has_exit_pipe = false;
	}
}

int pidfd_new(struct task *t, struct process *target, bool nonblock)
{
	struct pidfd *pd = malloc(sizeof(*pd));
	struct file *f;
	int hfd, fd;

	if (!pd)
		return -ENOMEM;
	pd->pid = target->pid;
	pd->start_ns = target->start_ns;
	pthread_mutex_lock(&t->proc->k->lock);
	hfd = exit_pipe_rfd(target);
	pthread_mutex_unlock(&t->proc->k->lock);
	if (hfd < 0) {
		free(pd);
		return hfd;
	}
	f = file_new(&pidfd_ops, O_RDWR | (nonblock ? O_NONBLOCK : 0), hfd, NULL);
	if (!f) {
		close(hfd);
		free(pd);
		return -ENOMEM;
	}
	f->priv = pd;
	fd = fd_install(t->proc->files, f, 0, true);
	file_put(f);
	return fd;
}

/*
 * pidfd_target - the process @fd names (k->lock held).  Return: 0 and
 * *@out (a zombie too), -EBADF (not a pidfd) or -ESRCH (reaped).
 */
int pidfd_target(struct task *t, int fd, struct process **out)
{
	struct file *f = fd_get(t->proc->files, fd);
	struct pidfd *pd;
	int r = -EBADF;

	if (!f)
		return -EBADF;
	if (f->ops == &pidfd_ops) {
		pd = f->priv;
		*out = process_find(t->proc->k, pd->pid);
		r = *out && (*out)->start_ns == pd->start_ns ? 0 : -ESRCH;
	}
	file_put(f);
	return r;
}

long sys_pidfd_open(struct task *t, const struct sbx_syscall_args *a)
{
	int pid = (int)a->a[0];
	struct process *p;

	if (a->a[1] & ~(uint64_t)O_NONBLOCK || pid <= 0)
		return -EINVAL;
	pthread_mutex_lock(&t->proc->k->lock);
	p = process_find(t->proc->k, pid);
	if (!p && task_find(t->proc->k, pid)) {
		pthread_mutex_unlock(&t->proc->k->lock);
		return -EINVAL; /* a thread, not a thread-group leader */
	}
	pthread_mutex_unlock(&t->proc->k->lock);
	if (!p)
		return -ESRCH;
	/* @p cannot be reaped meanwhile by anyone but this process's own
	 * threads: a small window Linux closes with a pid reference */
	return pidfd_new(t, p, a->a[1] & O_NONBLOCK);
}

long sys_pidfd_send_signal(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	int sig = (int)a->a[1];
	struct k_siginfo info;
	struct process *p;
	long r;

	if (a->a[3])
		return -EINVAL;
	if (sig < 0 || sig > K_NSIG)
		return -EINVAL;
	if (a->a[2]) {
		if (mm_copy_in(&t->proc->mm, &info, a->a[2], sizeof(info)))
			return -EFAULT;
		if (info.signo != sig)
			return -EINVAL;
	} else {
		memset(&info, 0, sizeof(info));
		info.signo = sig;
		info.code = SI_USER;
		info.u.kill.pid = t->proc->pid;
		info.u.kill.uid = t->proc->uid;
	}
	pthread_mutex_lock(&k->lock);
	r = pidfd_target(t, (int)a->a[0], &p);
	if (!r && p->state != PROC_LIVE)
		r = -ESRCH;
	if (!r && a->a[2] && (info.code >= 0 || info.code == SI_TKILL) &&
	    p != t->proc)
		r = -EPERM;
	if (!r && sig)
		r = signal_send_locked(p, sig, &info);
	pthread_mutex_unlock(&k->lock);
	return r;
}

long sys_pidfd_getfd(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	struct file *f = NULL;
	struct process *p;
	long r;

	if (a->a[2])
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	r = pidfd_target(t, (int)a->a[0], &p);
	if (!r && (p->state != PROC_LIVE || !p->files))
		r = -ESRCH;
	if (!r) {
		f = fd_get(p->files, (int)a->a[1]);
		r = f ? 0 : -EBADF;
	}
	pthread_mutex_unlock(&k->lock);
	if (r)
		return r;
	r = fd_install(t->proc->files, f, 0, true);
	file_put(f);
	return r;
}
