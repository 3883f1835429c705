/*
 * Open files and fd tables (see fdtable.h).  The table grows on demand up
 * to its RLIMIT_NOFILE; the lowest free slot is always chosen, as POSIX
 * requires.  Every close of an fd goes through drop(): the table is the
 * owner of its process's POSIX record locks, which any close of the file
 * releases (locks.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdtable.h"
#include "locks.h"

struct fdtable *fdtable_new(int max)
{
	struct fdtable *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->max = max;
	return t;
}

/* drop - the table lets go of @f (a close of one of its fds) */
static void drop(struct fdtable *t, struct file *f)
{
	if (!f)
		return;
	locks_remove_posix(t, f);
	file_put(f);
}

void fdtable_free(struct fdtable *t)
{
	if (!t)
		return;
	locks_remove_owner(t);
	for (int i = 0; i < t->size; i++)
		file_put(t->fds[i].file);
	free(t->fds);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct fdtable *fdtable_clone(struct fdtable *t)
{
	struct fdtable *n = fdtable_new(t->max);

	if (!n)
		return NULL;
	pthread_mutex_lock(&t->lock);
	n->fds = calloc((size_t)(t->size ? t->size : 1), sizeof(*n->fds));
	if (!n->fds) {
		pthread_mutex_unlock(&t->lock);
		fdtable_free(n);
		return NULL;
	}
	n->size = t->size;
	for (int i = 0; i < t->size; i++) {
		n->fds[i] = t->fds[i];
		if (n->fds[i].file)
			file_get(n->fds[i].file);
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

void fdtable_close_on_exec(struct fdtable *t)
{
	for (int i = 0; i < t->size; i++) {
		struct file *f = NULL;

		pthread_mutex_lock(&t->lock);
		if (t->fds[i].file && t->fds[i].cloexec) {
			f = t->fds[i].file;
			t->fds[i].file = NULL;
		}
		pthread_mutex_unlock(&t->lock);
		drop(t, f);
	}
}

static int grow(struct fdtable *t, int fd)
{
	int size = t->size ? t->size : 64;
	struct fd_entry *n;

	while (size <= fd)
		size *= 2;
	if (size > t->max)
		size = t->max;
	n = realloc(t->fds, (size_t)size * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + t->size, 0, (size_t)(size - t->size) * sizeof(*n));
	t->fds = n;
	t->size = size;
	return 0;
}

int fd_install(struct fdtable *t, struct file *f, int min, bool cloexec)
{
	int fd, r = -EMFILE;

	if (min < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	for (fd = min; fd < t->max; fd++) {
		if (fd >= t->size && grow(t, fd)) {
			r = -ENOMEM;
			break;
		}
		if (!t->fds[fd].file) {
			file_get(f);
			t->fds[fd] = (struct fd_entry){ f, cloexec };
			r = fd;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

int fd_install_at(struct fdtable *t, int fd, struct file *f, bool cloexec)
{
	struct file *old = NULL;

	if (fd < 0 || fd >= t->max)
		return -EBADF;
	pthread_mutex_lock(&t->lock);
	if (fd >= t->size && grow(t, fd)) {
		pthread_mutex_unlock(&t->lock);
		return -ENOMEM;
	}
	old = t->fds[fd].file;
	file_get(f);
	t->fds[fd] = (struct fd_entry){ f, cloexec };
	pthread_mutex_unlock(&t->lock);
	drop(t, old);
	return fd;
}

struct file *fd_get(struct fdtable *t, int fd)
{
	struct file *f = NULL;

	pthread_mutex_lock(&t->lock);
	if (fd >= 0 && fd < t->size && t->fds[fd].file) {
		f = t->fds[fd].file;
		file_get(f);
	}
	pthread_mutex_unlock(&t->lock);
	return f;
}

int fd_close(struct fdtable *t, int fd)
{
	struct file *f = NULL;

	pthread_mutex_lock(&t->lock);
	if (fd >= 0 && fd < t->size) {
		f = t->fds[fd].file;
		t->fds[fd].file = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	if (!f)
		return -EBADF;
	drop(t, f);
	return 0;
}

int fd_cloexec(struct fdtable *t, int fd, int set)
{
	int r = -EBADF;

	pthread_mutex_lock(&t->lock);
	if (fd >= 0 && fd < t->size && t->fds[fd].file) {
		if (set >= 0)
			t->fds[fd].cloexec = set;
		r = t->fds[fd].cloexec;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

int fd_close_range(struct fdtable *t, unsigned lo, unsigned hi, bool cloexec)
{
	for (unsigned i = lo; i <= hi && i < (unsigned)INT_MAX; i++) {
		struct file *f = NULL;

		pthread_mutex_lock(&t->lock);
		if ((int)i >= t->size) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		if (t->fds[i].file) {
			if (cloexec) {
				t->fds[i].cloexec = true;
			} else {
				f = t->fds[i].file;
				t->fds[i].file = NULL;
			}
		}
		pthread_mutex_unlock(&t->lock);
		drop(t, f);
	}
	return 0;
}
