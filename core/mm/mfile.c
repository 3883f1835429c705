/*
 * Mapped host files (see mfile.h): the object, and copies through the
 * core's view that survive a file shrinking under them.
 *
 * The guard is Linux's exception-table idea in user space: a copy sets a
 * thread-local jump buffer, the SIGBUS handler (SA_NODEFER, so nothing
 * stays blocked after the jump) jumps back to it, and the copy reports
 * -EFAULT.  Nothing between sigsetjmp and the jump takes a lock or
 * allocates: the copy is a plain memcpy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mfile.h"

#define PAGE 4096ULL

static __thread sigjmp_buf *guard;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = guard;

	(void)si;
	(void)uc;
	if (jb) {
		guard = NULL;
		siglongjmp(*jb, 1);
	}
	/* not ours: the faulting access repeats with the default action */
	signal(sig, SIG_DFL);
}

int mfile_guard_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) ? -errno : 0;
}

/*
 * guarded_copy - memcpy that returns -EFAULT on SIGBUS.  noinline and the
 * volatile result keep the compiler from moving the copy out of the
 * guarded region.
 */
static __attribute__((noinline)) int guarded_copy(void *dst, const void *src,
						  size_t len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return -EFAULT;
	__atomic_store_n(&guard, &jb, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&guard, NULL, __ATOMIC_RELAXED);
	return 0;
}

int mfile_read(const struct mfile *mf, uint64_t off, void *dst, size_t len)
{
	if (off > mf->vlen || len > mf->vlen - off)
		return -EFAULT;
	return guarded_copy(dst, mf->view + off, len);
}

int mfile_write(struct mfile *mf, uint64_t off, const void *src, size_t len)
{
	if (!mf->writable || off > mf->vlen || len > mf->vlen - off)
		return -EFAULT;
	return guarded_copy(mf->view + off, src, len);
}

uint64_t mfile_size(const struct mfile *mf)
{
	struct stat st;

	return fstat(mf->fd, &st) ? 0 : (uint64_t)st.st_size;
}

int mfile_new(int fd, bool writable, uint64_t len, uint64_t dev, uint64_t ino,
	      const char *path, struct mfile **out)
{
	struct mfile *mf = calloc(1, sizeof(*mf));
	int err = -ENOMEM;

	if (!mf)
		return -ENOMEM;
	mf->path = strdup(path ? path : "");
	if (!mf->path)
		goto out_free;
	mf->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (mf->fd < 0) {
		err = -errno;
		goto out_free;
	}
	mf->vlen = (len + PAGE - 1) & ~(PAGE - 1);
	if (!mf->vlen)
		mf->vlen = PAGE;
	/* never PROT_EXEC: the core only copies through it */
	mf->view = mmap(NULL, mf->vlen,
			PROT_READ | (writable ? PROT_WRITE : 0),
			MAP_SHARED | MAP_NORESERVE, mf->fd, 0);
	if (mf->view == MAP_FAILED) {
		err = -errno;
		goto out_close;
	}
	mf->refs = 1;
	mf->writable = writable;
	mf->dev = dev;
	mf->ino = ino;
	*out = mf;
	return 0;

out_close:
	close(mf->fd);
out_free:
	free(mf->path);
	free(mf);
	return err;
}

int mfile_extend(const struct mfile *mf, uint64_t len, struct mfile **out)
{
	return mfile_new(mf->fd, mf->writable, len, mf->dev, mf->ino, mf->path,
			 out);
}

void mfile_get(struct mfile *mf)
{
	__atomic_add_fetch(&mf->refs, 1, __ATOMIC_RELAXED);
}

void mfile_put(struct mfile *mf)
{
	if (!mf || __atomic_sub_fetch(&mf->refs, 1, __ATOMIC_ACQ_REL))
		return;
	munmap(mf->view, mf->vlen);
	close(mf->fd);
	free(mf->path);
	free(mf);
}
