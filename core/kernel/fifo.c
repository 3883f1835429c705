/*
 * FIFOs (named pipes): the data of every FIFO node lives in a host pipe
 * the core creates (pipe2) at the first open and closes at the last
 * close, so capacity, PIPE_BUF atomicity and readiness come from the
 * host kernel as they do for pipe(2).  The core never opens a FIFO of the
 * host (the node in a gofer directory is only a name with a type): the
 * sandbox's FIFOs connect sandboxed processes only.
 *
 * What the core does itself, as Linux's fs/pipe.c:
 *  - the open rendezvous (fifo_open): O_RDONLY waits for a writer,
 *    O_WRONLY for a reader, O_RDWR never waits; O_NONBLOCK readers go on
 *    at once and O_NONBLOCK writers without a reader get ENXIO;
 *  - end of file and broken pipes: the core holds both ends of the host
 *    pipe while the FIFO is open, so the host never sees "no writers" or
 *    "no readers"; reads return 0 and writes EPIPE (plus SIGPIPE) from
 *    the core's own counts;
 *  - blocking: both host ends are non-blocking; a read or write that must
 *    wait sleeps on the kernel's condition variable (task_sleep), so a
 *    signal interrupts it (-ERESTARTSYS, restarted under SA_RESTART) and
 *    so does a kill.  The side that moves data wakes sleepers of the
 *    other side (only when there are some: a counter read after the data
 *    call; see wake()).
 *
 * Identity: FIFOs are keyed by the node's (st_dev, st_ino), so hard links
 * and separate opens of one path meet in one pipe.  Locking: the registry
 * and reference counts are under fifo_mu; reader/writer counts under the
 * kernel lock (k->lock), which is what sleepers wait with.  The two are
 * never held together.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vfs/vfs.h"
#include "fifo.h"
#include "kernel.h"

struct fifo {
	struct fifo *next;
	uint64_t dev, ino;
	int refs;		/* attached files (fifo_mu) */
	struct kernel *k;
	int rfd, wfd;		/* the host pipe, both ends O_NONBLOCK */
	/* under k->lock (read without it only as a snapshot) */
	int readers, writers;
	unsigned r_counter, w_counter; /* opens so far, for the rendezvous */
	/* tasks asleep in read / write (atomic; see wake()) */
	int r_waiting, w_waiting;
};

/* one open of a FIFO (struct file's priv) */
struct fifo_file {
	struct fifo *fi;
	/* w_counter when opened O_NONBLOCK for reading with no writer:
	 * Linux reports no POLLHUP until a writer has come (and gone) */
	unsigned version;
};

static pthread_mutex_t fifo_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fifo *fifos;

static struct fifo *fifo_of(const struct file *f)
{
	struct fifo_file *ff = f->priv;

	return ff ? ff->fi : NULL;
}

/* fifo_get - the FIFO for (@dev, @ino), created with its host pipe on
 * first use.  Return: 0 with a reference, or -errno (pipe2's ENFILE ...). */
static int fifo_get(struct kernel *k, uint64_t dev, uint64_t ino,
		    struct fifo **out)
{
	struct fifo *fi;
	int p[2], r = 0;

	pthread_mutex_lock(&fifo_mu);
	for (fi = fifos; fi; fi = fi->next)
		if (fi->dev == dev && fi->ino == ino)
			break;
	if (fi) {
		fi->refs++;
		goto out;
	}
	fi = calloc(1, sizeof(*fi));
	r = -ENOMEM;
	if (!fi)
		goto out;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		free(fi);
		fi = NULL;
		goto out;
	}
	r = 0;
	fi->dev = dev;
	fi->ino = ino;
	fi->refs = 1;
	fi->k = k;
	fi->rfd = p[0];
	fi->wfd = p[1];
	fi->next = fifos;
	fifos = fi;
out:
	pthread_mutex_unlock(&fifo_mu);
	*out = fi;
	return r;
}

/* fifo_put - drop a reference; the last one discards the data. */
static void fifo_put(struct fifo *fi)
{
	pthread_mutex_lock(&fifo_mu);
	if (--fi->refs > 0) {
		pthread_mutex_unlock(&fifo_mu);
		return;
	}
	for (struct fifo **pp = &fifos; *pp; pp = &(*pp)->next) {
		if (*pp == fi) {
			*pp = fi->next;
			break;
		}
	}
	pthread_mutex_unlock(&fifo_mu);
	close(fi->rfd);
	close(fi->wfd);
	free(fi);
}

/* wake - after moving data: wake the other side's sleepers, if any.  The
 * data call and this load are ordered by a full fence, and a sleeper
 * raises its counter before its last data attempt under k->lock, so
 * either the sleeper sees the data or we see the sleeper. */
static void wake(struct fifo *fi, int *waiting)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(waiting, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&fi->k->lock);
	pthread_cond_broadcast(&fi->k->changed);
	pthread_mutex_unlock(&fi->k->lock);
}

/* wait_for_partner - the open rendezvous: sleep until *@cnt moves (lock
 * held).  Return: 0 or -ERESTARTSYS (a signal or a kill). */
static int wait_for_partner(struct task *t, unsigned *cnt)
{
	unsigned cur = *cnt;

	while (cur == *cnt)
		if (task_sleep(t, 0))
			break;
	return cur == *cnt ? -ERESTARTSYS : 0;
}

int fifo_open(struct task *t, struct file *f)
{
	struct kernel *k = t->proc->k;
	struct fifo_file *ff;
	struct fifo *fi;
	struct k_stat st;
	int r;

	r = vfs_stat(&f->path, &st);
	if (r)
		return r;
	ff = calloc(1, sizeof(*ff));
	if (!ff)
		return -ENOMEM;
	r = fifo_get(k, st.st_dev, st.st_ino, &fi);
	if (r) {
		free(ff);
		return r;
	}
	ff->fi = fi;
	pthread_mutex_lock(&k->lock);
	switch (f->flags & O_ACCMODE) {
	case O_RDONLY:
		fi->r_counter++;
		if (fi->readers++ == 0)
			pthread_cond_broadcast(&k->changed);
		if (fi->writers)
			break;
		if (f->flags & O_NONBLOCK) {
			ff->version = fi->w_counter;
			break;
		}
		r = wait_for_partner(t, &fi->w_counter);
		if (r && --fi->readers == 0)
			pthread_cond_broadcast(&k->changed);
		break;
	case O_WRONLY:
		if ((f->flags & O_NONBLOCK) && !fi->readers) {
			r = -ENXIO;
			break;
		}
		fi->w_counter++;
		if (fi->writers++ == 0)
			pthread_cond_broadcast(&k->changed);
		if (fi->readers)
			break;
		r = wait_for_partner(t, &fi->r_counter);
		if (r && --fi->writers == 0)
			pthread_cond_broadcast(&k->changed);
		break;
	default: /* O_RDWR: both ends at once, never waits (as Linux) */
		fi->readers++;
		fi->writers++;
		fi->r_counter++;
		fi->w_counter++;
		if (fi->readers == 1 || fi->writers == 1)
			pthread_cond_broadcast(&k->changed);
	}
	pthread_mutex_unlock(&k->lock);
	if (r) {
		fifo_put(fi);
		free(ff);
		return r;
	}
	f->priv = ff;
	return 0;
}

int fifo_host_fd(const struct file *f)
{
	struct fifo *fi = f->ops == &fifo_file_ops ? fifo_of(f) : NULL;

	return fi ? fi->rfd : -1;
}

static ssize_t fifo_read_task(struct task *t, struct file *f, void *buf,
			      size_t len)
{
	struct fifo *fi = fifo_of(f);
	ssize_t n;
	int e;

	if (!fi)
		return -EBADF;
	if (!len)
		return 0;
	for (;;) {
		n = read(fi->rfd, buf, len);
		if (n >= 0 || errno != EAGAIN)
			break;
		pthread_mutex_lock(&fi->k->lock);
		__atomic_add_fetch(&fi->r_waiting, 1, __ATOMIC_SEQ_CST);
		n = read(fi->rfd, buf, len);
		e = n < 0 ? errno : 0;
		if (e == EAGAIN) {
			/* empty: end of file without writers, else wait */
			if (!fi->writers)
				n = 0;
			else if (f->flags & O_NONBLOCK)
				n = -EAGAIN;
			else
				n = task_sleep(t, 0) ? -ERESTARTSYS : -EAGAIN;
		} else if (n < 0) {
			n = -e;
		}
		__atomic_sub_fetch(&fi->r_waiting, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&fi->k->lock);
		if (n != -EAGAIN || (f->flags & O_NONBLOCK)) {
			if (n > 0)
				wake(fi, &fi->w_waiting);
			return n;
		}
	}
	if (n < 0)
		return -errno;
	wake(fi, &fi->w_waiting);
	return n;
}

/* broken_pipe - Linux sends SIGPIPE to the writing thread. */
static void broken_pipe(struct task *t)
{
	struct k_siginfo info = { .signo = SIGPIPE, .code = 0 /* SI_USER */ };

	info.u.kill.pid = t->proc->pid;
	info.u.kill.uid = t->proc->uid;
	pthread_mutex_lock(&t->proc->k->lock);
	signal_send_task(t, SIGPIPE, &info);
	pthread_mutex_unlock(&t->proc->k->lock);
}

static ssize_t fifo_write_task(struct task *t, struct file *f, const void *buf,
			       size_t len)
{
	struct fifo *fi = fifo_of(f);
	bool nonblock = f->flags & O_NONBLOCK;
	size_t done = 0;
	ssize_t n;
	int e, r;

	if (!fi)
		return -EBADF;
	if (!len)
		return 0;
	for (;;) {
		if (!__atomic_load_n(&fi->readers, __ATOMIC_SEQ_CST)) {
			r = -EPIPE;
			break;
		}
		/* at most PIPE_BUF bytes go in whole or not at all: the host
		 * pipe's guarantee for non-blocking writes */
		n = write(fi->wfd, (const char *)buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			wake(fi, &fi->r_waiting);
			if (done == len || nonblock)
				return (ssize_t)done;
			continue;
		}
		if (errno != EAGAIN)
			return done ? (ssize_t)done : -errno;
		if (nonblock)
			return done ? (ssize_t)done : -EAGAIN;
		pthread_mutex_lock(&fi->k->lock);
		__atomic_add_fetch(&fi->w_waiting, 1, __ATOMIC_SEQ_CST);
		r = 0;
		n = 0;
		if (!fi->readers) {
			r = -EPIPE;
		} else {
			n = write(fi->wfd, (const char *)buf + done, len - done);
			e = n < 0 ? errno : 0;
			if (n > 0)
				done += (size_t)n;
			else if (e != EAGAIN)
				r = -e;
			else
				r = task_sleep(t, 0) ? -ERESTARTSYS : 0;
		}
		__atomic_sub_fetch(&fi->w_waiting, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&fi->k->lock);
		if (n > 0)
			wake(fi, &fi->r_waiting);
		if (r)
			break;
		if (done == len)
			return (ssize_t)done;
	}
	if (!done)
		return r; /* -EPIPE: the caller sends SIGPIPE (sys_fs.c) */
	if (r == -EPIPE)
		broken_pipe(t);
	return (ssize_t)done;
}

/* pread/pwrite on a FIFO: ESPIPE, as on any pipe */
static ssize_t fifo_pread(struct file *f, void *buf, size_t len, int64_t off)
{
	return -ESPIPE;
}

static ssize_t fifo_pwrite(struct file *f, const void *buf, size_t len,
			   int64_t off)
{
	return -ESPIPE;
}

static int fifo_stat(struct file *f, struct k_stat *st)
{
	return vfs_stat(&f->path, st);
}

static short fifo_poll(struct file *f, short events, struct pollfd *host)
{
	struct fifo_file *ff = f->priv;
	struct fifo *fi = fifo_of(f);
	int acc = f->flags & O_ACCMODE;
	short now = 0;

	host[0].fd = host[1].fd = -1;
	if (!fi)
		return POLLERR;
	if (acc != O_WRONLY) {
		host[0] = (struct pollfd){ fi->rfd, events & (POLLIN | POLLRDNORM), 0 };
		if (!__atomic_load_n(&fi->writers, __ATOMIC_SEQ_CST) &&
		    ff->version != __atomic_load_n(&fi->w_counter, __ATOMIC_SEQ_CST))
			now |= POLLHUP;
	}
	if (acc != O_RDONLY) {
		host[1] = (struct pollfd){ fi->wfd, events & (POLLOUT | POLLWRNORM), 0 };
		if (!__atomic_load_n(&fi->readers, __ATOMIC_SEQ_CST))
			now |= POLLERR;
	}
	return now;
}

/* fifo_release - the last reference to one open: leave the FIFO (readers
 * now see end of file, writers EPIPE) and wake whoever waits on it. */
static void fifo_release(struct file *f)
{
	struct fifo_file *ff = f->priv;
	struct fifo *fi = ff ? ff->fi : NULL;
	int acc = f->flags & O_ACCMODE;

	if (!fi) {
		free(ff);
		return; /* never attached (opened by execve's checks) */
	}
	pthread_mutex_lock(&fi->k->lock);
	if (acc != O_WRONLY)
		fi->readers--;
	if (acc != O_RDONLY)
		fi->writers--;
	pthread_cond_broadcast(&fi->k->changed);
	pthread_mutex_unlock(&fi->k->lock);
	fifo_put(fi);
	free(ff);
	f->priv = NULL;
}

const struct file_ops fifo_file_ops = {
	.read = fifo_pread,
	.write = fifo_pwrite,
	.stat = fifo_stat,
	.release = fifo_release,
	.read_task = fifo_read_task,
	.write_task = fifo_write_task,
	.poll = fifo_poll,
};
