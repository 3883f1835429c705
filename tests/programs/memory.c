/*
 * memory: exercise brk, mmap, munmap, mprotect, mremap and madvise, and
 * print results that are the same natively and in the sandbox (success,
 * errno names, contents, relations between addresses; never addresses).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096UL

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EEXIST: return "EEXIST";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENODEV: return "ENODEV";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "other";
	}
}

/* map - raw mmap; prints "name: ok" or "name: -1 ERRNO". */
static void *map(const char *name, void *addr, size_t len, int prot,
		 int flags)
{
	void *p;

	errno = 0;
	p = mmap(addr, len, prot, flags, -1, 0);
	if (name)
		printf("%s: %s\n", name,
		       p == MAP_FAILED ? ename(errno) : "ok");
	return p;
}

static void rc(const char *name, long r)
{
	printf("%s: %ld %s\n", name, r, r < 0 ? ename(errno) : "0");
}

static int all(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

static void test_brk(void)
{
	uintptr_t b0 = (uintptr_t)syscall(SYS_brk, 0);
	uintptr_t b1, b2, b3;

	printf("brk(0) nonzero: %d\n", b0 != 0);
	b1 = (uintptr_t)syscall(SYS_brk, b0 + 10 * PG + 123);
	printf("brk grow: %d\n", b1 == b0 + 10 * PG + 123);
	memset((void *)b0, 0x5a, 10 * PG + 123);
	printf("brk memory written: %d\n", all((void *)b0, 10 * PG, 0x5a));
	b2 = (uintptr_t)syscall(SYS_brk, b0 + PG);
	printf("brk shrink: %d\n", b2 == b0 + PG);
	b3 = (uintptr_t)syscall(SYS_brk, b0 + 10 * PG);
	printf("brk regrow: %d\n", b3 == b0 + 10 * PG);
	/* the page boundary above the shrink point was dropped: zero again */
	printf("brk regrown pages zero: %d\n",
	       all((void *)((b0 + PG + PG - 1) & ~(PG - 1)) + PG, 4 * PG, 0));
	printf("brk below start fails: %d\n",
	       (uintptr_t)syscall(SYS_brk, b0 - 100 * PG) == b3);
	printf("brk huge fails: %d\n",
	       (uintptr_t)syscall(SYS_brk, b0 + (1UL << 46)) == b3);
	syscall(SYS_brk, b0);
}

static void test_mmap(void)
{
	unsigned char *p, *q, *r;

	p = map("anon private", NULL, 3 * PG, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS);
	printf("anon zeroed: %d\n", all(p, 3 * PG, 0));
	printf("page aligned: %d\n", ((uintptr_t)p & (PG - 1)) == 0);
	memset(p, 1, 3 * PG);

	q = map("anon shared", NULL, 2 * PG, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS);
	memset(q, 2, 2 * PG);
	printf("shared written: %d\n", all(q, 2 * PG, 2));

	/* MAP_FIXED over the middle page of p: fresh zero page there */
	r = map("fixed over existing", p + PG, PG, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	printf("fixed at address: %d\n", r == p + PG);
	printf("fixed page zero, neighbours kept: %d %d %d\n",
	       all(p + PG, PG, 0), all(p, PG, 1), all(p + 2 * PG, PG, 1));

	r = map("fixed_noreplace over existing", p, PG, PROT_READ,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);

	/* unmap the middle page; the hole takes MAP_FIXED_NOREPLACE */
	rc("munmap middle", munmap(p + PG, PG));
	printf("outer pages kept: %d %d\n", all(p, PG, 1),
	       all(p + 2 * PG, PG, 1));
	r = map("fixed_noreplace in hole", p + PG, PG, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
	printf("noreplace at address: %d zero: %d\n", r == p + PG,
	       all(p + PG, PG, 0));
	r = map("fixed_noreplace straddling", p + 2 * PG, 2 * PG, PROT_READ,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
	rc("munmap unaligned len", munmap(p, 3 * PG - 7));
	rc("munmap again (nothing mapped)", munmap(p, 3 * PG));
	rc("munmap shared", munmap(q, 2 * PG));

	/* a hint address that is free is honoured */
	p = map(NULL, NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	munmap(p, 4 * PG);
	q = map("hint", p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	printf("hint honoured: %d\n", q == p + PG);
	/* an unaligned hint is rounded, not an error */
	r = map("unaligned hint", (char *)q + 5, PG, PROT_READ,
		MAP_PRIVATE | MAP_ANONYMOUS);
	printf("unaligned hint gives other page: %d aligned: %d\n", r != q,
	       ((uintptr_t)r & (PG - 1)) == 0);
	munmap(q, PG);
	munmap(r, PG);

	/* errors */
	map("len 0", NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	map("no type", NULL, PG, PROT_READ, MAP_ANONYMOUS);
	map("bad prot", NULL, PG, 0x100, MAP_PRIVATE | MAP_ANONYMOUS);
	map("fixed unaligned", (void *)0x10000001, PG, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	map("huge len", NULL, 1UL << 62, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS);
	map("len wraps", NULL, (size_t)-1, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS);
	map("fixed above user space", (void *)0x800000000000UL, PG, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	map("shared_validate unknown flag", NULL, PG, PROT_READ,
	    MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x800000);
	map("bad fd file mapping", NULL, PG, PROT_READ, MAP_PRIVATE);
	map("hugetlb", NULL, 2UL << 20, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
	rc("munmap len 0", munmap(p, 0));
	rc("munmap unaligned", munmap((char *)p + 1, PG));
	rc("munmap kernel address", munmap((void *)0xffff800000000000UL, PG));
}

static void test_mprotect(void)
{
	unsigned char *p = map("mprotect area", NULL, 4 * PG,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS);

	memset(p, 7, 4 * PG);
	rc("mprotect read-only", mprotect(p + PG, 2 * PG, PROT_READ));
	printf("read after mprotect: %d\n", all(p, 4 * PG, 7));
	rc("mprotect none", mprotect(p, PG, PROT_NONE));
	rc("mprotect back", mprotect(p, 4 * PG, PROT_READ | PROT_WRITE));
	p[0] = 8;
	printf("write after restoring: %d %d\n", p[0] == 8,
	       all(p + 1, PG - 1, 7));
	rc("mprotect unaligned", mprotect(p + 1, PG, PROT_READ));
	rc("mprotect bad prot", mprotect(p, PG, 0x100));
	rc("mprotect len 0", mprotect(p, 0, PROT_READ));
	munmap(p + 2 * PG, PG);
	rc("mprotect over hole", mprotect(p, 4 * PG, PROT_READ));
	rc("mprotect unmapped", mprotect(p + 2 * PG, PG, PROT_READ));
	munmap(p, 4 * PG);
}

static void test_mremap(void)
{
	unsigned char *p, *q, *blk;
	size_t i;

	p = map("mremap area", NULL, 2 * PG, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS);
	for (i = 0; i < 2 * PG; i++)
		p[i] = (unsigned char)(i * 7);
	/* block the page after p so growing in place is impossible */
	blk = map(NULL, p + 2 * PG, PG, PROT_READ,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
	errno = 0;
	q = mremap(p, 2 * PG, 8 * PG, 0);
	printf("mremap grow blocked no-move: %s\n",
	       q == MAP_FAILED ? ename(errno) : "ok");
	q = mremap(p, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
	printf("mremap grow maymove: %s moved: %d\n",
	       q == MAP_FAILED ? ename(errno) : "ok", q != p);
	for (i = 0; i < 2 * PG; i++)
		if (q[i] != (unsigned char)(i * 7))
			break;
	printf("contents kept: %d new part zero: %d\n", i == 2 * PG,
	       all(q + 2 * PG, 6 * PG, 0));
	q[8 * PG - 1] = 9;
	p = mremap(q, 8 * PG, 3 * PG, 0);
	printf("mremap shrink in place: %d\n", p == q);
	for (i = 0; i < 2 * PG; i++)
		if (p[i] != (unsigned char)(i * 7))
			break;
	printf("contents kept after shrink: %d\n", i == 2 * PG);
	/* grow in place into the freed tail */
	q = mremap(p, 3 * PG, 5 * PG, 0);
	printf("mremap grow in place: %d tail zero: %d\n", q == p,
	       all(q + 3 * PG, 2 * PG, 0));
	/* move to a fixed place */
	blk = map(NULL, NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	munmap(blk, 16 * PG);
	p = mremap(q, 5 * PG, 5 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		   blk + 4 * PG);
	printf("mremap fixed: %d\n", p == blk + 4 * PG);
	printf("fixed contents: %d\n", p[7] == (unsigned char)49);
	errno = 0;
	q = mremap(p, 5 * PG, 5 * PG, MREMAP_FIXED, blk);
	printf("mremap fixed without maymove: %s\n",
	       q == MAP_FAILED ? ename(errno) : "ok");
	q = mremap(p + 1, PG, PG, 0);
	printf("mremap unaligned: %s\n", q == MAP_FAILED ? ename(errno) : "ok");
	q = mremap(p, PG, 0, MREMAP_MAYMOVE);
	printf("mremap new len 0: %s\n", q == MAP_FAILED ? ename(errno) : "ok");
	q = mremap(p, PG, PG, 0x80);
	printf("mremap bad flags: %s\n", q == MAP_FAILED ? ename(errno) : "ok");
	munmap(p, 5 * PG);
	errno = 0;
	q = mremap(p, PG, 2 * PG, MREMAP_MAYMOVE);
	printf("mremap unmapped: %s\n", q == MAP_FAILED ? ename(errno) : "ok");
}

static void test_growsdown(void)
{
	unsigned char *p = map("growsdown", NULL, 4 * PG,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN);

	p[0] = 1;
	p[4 * PG - 1] = 2;
	printf("growsdown usable: %d\n", p[0] == 1 && p[4 * PG - 1] == 2);
	munmap(p, 4 * PG);
}

static void test_madvise(void)
{
	unsigned char *p = map("madvise area", NULL, 4 * PG,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS);

	memset(p, 3, 4 * PG);
	rc("madvise dontneed", madvise(p + PG, 2 * PG, MADV_DONTNEED));
	printf("dontneed zeroes: %d kept: %d %d\n", all(p + PG, 2 * PG, 0),
	       all(p, PG, 3), all(p + 3 * PG, PG, 3));
	rc("madvise willneed", madvise(p, 4 * PG, MADV_WILLNEED));
	rc("madvise bad advice", madvise(p, PG, 12345));
	rc("madvise unaligned", madvise(p + 1, PG, MADV_NORMAL));
	rc("madvise len 0", madvise(p, 0, MADV_DONTNEED));
	munmap(p, 4 * PG);
	rc("madvise unmapped", madvise(p, PG, MADV_DONTNEED));
}

static void test_big(void)
{
	size_t n = 100UL << 20;
	unsigned char *p = malloc(n);
	unsigned long sum = 0;

	printf("malloc 100M: %d\n", p != NULL);
	if (!p)
		return;
	for (size_t i = 0; i < n; i += PG)
		p[i] = (unsigned char)(i >> 12);
	for (size_t i = 0; i < n; i += PG)
		sum += p[i];
	printf("touched every page, sum %lu\n", sum);
	free(p);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_brk();
	test_mmap();
	test_mprotect();
	test_mremap();
	test_growsdown();
	test_madvise();
	test_big();
	return 0;
}
