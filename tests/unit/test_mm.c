/*
 * Memory manager unit tests: VMA split/merge/protect/unmap edge cases,
 * mremap, brk, faults, checked copies and the memory limit, against a fake
 * platform backend that records what the platform would be asked to do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sbx/platform.h>

#include "core/mm/memfile.h"
#include "core/mm/mfile.h"
#include "core/mm/mm.h"
#include "runner.h"

#define BASE 0x10000000ULL
#define P PAGE_SIZE

static struct mm mm;
static int n_map, n_unmap, n_protect, fail_map;

static int fake_map(void *as, uint64_t a, uint64_t l, int prot, int fd,
		    uint64_t off, uint32_t fl)
{
	n_map++;
	return fail_map ? -ENOMEM : 0;
}

static int fake_unmap(void *as, uint64_t a, uint64_t l)
{
	n_unmap++;
	return 0;
}

static int fake_protect(void *as, uint64_t a, uint64_t l, int prot)
{
	n_protect++;
	return 0;
}

static void setup(void)
{
	struct mm_backend be = { NULL, fake_map, fake_unmap, fake_protect };

	ck_assert_int_eq(memfile_init(1ULL << 32), 0);
	mm_init(&mm, 0x10000, 0x7f0000000000ULL, 0, &be);
	n_map = n_unmap = n_protect = fail_map = 0;
}

static void teardown(void)
{
	mm_destroy(&mm);
	memfile_fini();
}

START_TEST(test_mm_map_and_merge)
{
	ck_assert_int_eq(mm_map_anon(&mm, BASE, 4 * P, PROT_READ | PROT_WRITE, 0), 0);
	ck_assert_int_eq(mm_map_anon(&mm, BASE + 4 * P, 4 * P, PROT_READ | PROT_WRITE, 0), 0);
	/* consecutive extents of the memory file: one VMA */
	ck_assert_uint_eq(mm.n, 1);
	ck_assert_uint_eq(mm.v[0].end - mm.v[0].start, 8 * P);
	ck_assert_int_eq(n_map, 2);
	/* different protection: no merge */
	ck_assert_int_eq(mm_map_anon(&mm, BASE + 8 * P, P, PROT_READ, 0), 0);
	ck_assert_uint_eq(mm.n, 2);
	ck_assert_uint_eq(mm.committed, 9 * P);
}
END_TEST

START_TEST(test_mm_unmap_splits)
{
	ck_assert_int_eq(mm_map_anon(&mm, BASE, 10 * P, PROT_READ, 0), 0);
	ck_assert_int_eq(mm_unmap(&mm, BASE + 3 * P, 2 * P), 0);
	ck_assert_uint_eq(mm.n, 2);
	ck_assert_uint_eq(mm.v[0].end, BASE + 3 * P);
	ck_assert_uint_eq(mm.v[1].start, BASE + 5 * P);
	ck_assert_uint_eq(mm.v[1].off, mm.v[0].off + 5 * P);
	ck_assert_ptr_null(mm_find_vma(&mm, BASE + 4 * P));
	/* unmapping holes and across VMAs is fine */
	ck_assert_int_eq(mm_unmap(&mm, BASE, 20 * P), 0);
	ck_assert_uint_eq(mm.n, 0);
	ck_assert_uint_eq(mm.committed, 0);
}
END_TEST

START_TEST(test_mm_protect_split_merge)
{
	ck_assert_int_eq(mm_map_anon(&mm, BASE, 9 * P, PROT_READ | PROT_WRITE, 0), 0);
	ck_assert_int_eq(mm_protect(&mm, BASE + 3 * P, 3 * P, PROT_READ), 0);
	ck_assert_uint_eq(mm.n, 3);
	ck_assert_int_eq(mm.v[1].prot, PROT_READ);
	ck_assert_int_eq(mm_protect(&mm, BASE + 3 * P, 3 * P, PROT_READ | PROT_WRITE), 0);
	ck_assert_uint_eq(mm.n, 1);
	/* a hole in the range: ENOMEM and nothing changes */
	ck_assert_int_eq(mm_unmap(&mm, BASE + 4 * P, P), 0);
	n_protect = 0;
	ck_assert_int_eq(mm_protect(&mm, BASE, 9 * P, PROT_NONE), -ENOMEM);
	ck_assert_int_eq(n_protect, 0);
	ck_assert_int_eq(mm.v[0].prot, PROT_READ | PROT_WRITE);
}
END_TEST

START_TEST(test_mm_copy_checks)
{
	char buf[16] = "hello";
	char out[16];

	ck_assert_int_eq(mm_map_anon(&mm, BASE, P, PROT_READ | PROT_WRITE, 0), 0);
	ck_assert_int_eq(mm_map_anon(&mm, BASE + P, P, PROT_READ, 0), 0);
	ck_assert_int_eq(mm_map_anon(&mm, BASE + 2 * P, P, PROT_NONE, 0), 0);
	ck_assert_int_eq(mm_copy_out(&mm, BASE + 8, buf, 6), 0);
	ck_assert_int_eq(mm_copy_in(&mm, out, BASE + 8, 6), 0);
	ck_assert_str_eq(out, "hello");
	/* crossing into a read-only page: writes fault, reads do not */
	ck_assert_int_eq(mm_copy_out(&mm, BASE + P - 2, buf, 4), -EFAULT);
	ck_assert_int_eq(mm_copy_in(&mm, out, BASE + P - 2, 4), 0);
	ck_assert_int_eq(mm_copy_in(&mm, out, BASE + 2 * P, 1), -EFAULT);
	ck_assert_int_eq(mm_copy_in(&mm, out, BASE + 3 * P, 1), -EFAULT);
	ck_assert_int_eq(mm_copy_in(&mm, out, UINT64_MAX - 2, 8), -EFAULT);
	/* mm_poke ignores protection (loader) */
	ck_assert_int_eq(mm_poke(&mm, BASE + P, buf, 6), 0);
	ck_assert_int_eq(mm_copy_str(&mm, out, BASE + P, sizeof(out)), 5);
	ck_assert_int_eq(mm_copy_str(&mm, out, BASE + P, 3), -ENAMETOOLONG);
	ck_assert_int_eq(mm_poke(&mm, BASE + 2 * P - 1, "x", 1), 0);
	ck_assert_int_eq(mm_copy_str(&mm, out, BASE + 2 * P - 1, 16), -EFAULT);
}
END_TEST

START_TEST(test_mm_remap)
{
	char buf[8] = "abcdefg", out[8];
	int64_t r;

	ck_assert_int_eq(mm_map_anon(&mm, BASE, 2 * P, PROT_READ | PROT_WRITE, 0), 0);
	ck_assert_int_eq(mm_poke(&mm, BASE, buf, 8), 0);
	/* grow in place */
	ck_assert_int_eq(mm_remap(&mm, BASE, 2 * P, 4 * P, 0, 0), (int64_t)BASE);
	ck_assert_ptr_nonnull(mm_find_vma(&mm, BASE + 3 * P));
	/* blocked: ENOMEM without MAYMOVE, moves with it, data follows */
	ck_assert_int_eq(mm_map_anon(&mm, BASE + 4 * P, P, PROT_READ, 0), 0);
	ck_assert_int_eq(mm_remap(&mm, BASE, 4 * P, 8 * P, 0, 0), -ENOMEM);
	r = mm_remap(&mm, BASE, 4 * P, 8 * P, MREMAP_MAYMOVE, 0);
	ck_assert_int_gt(r, 0);
	ck_assert_int_ne(r, (int64_t)BASE);
	ck_assert_ptr_null(mm_find_vma(&mm, BASE));
	ck_assert_int_eq(mm_copy_in(&mm, out, (uint64_t)r, 8), 0);
	ck_assert_str_eq(out, "abcdefg");
	ck_assert_ptr_nonnull(mm_find_vma(&mm, (uint64_t)r + 7 * P));
	/* shrink */
	ck_assert_int_eq(mm_remap(&mm, (uint64_t)r, 8 * P, P, 0, 0), r);
	ck_assert_ptr_null(mm_find_vma(&mm, (uint64_t)r + P));
	/* fixed destination */
	ck_assert_int_eq(mm_remap(&mm, (uint64_t)r, P, P, MREMAP_MAYMOVE | MREMAP_FIXED,
				  BASE + 100 * P), (int64_t)(BASE + 100 * P));
	ck_assert_int_eq(mm_copy_in(&mm, out, BASE + 100 * P, 8), 0);
	ck_assert_str_eq(out, "abcdefg");
	/* old range not within one VMA */
	ck_assert_int_eq(mm_remap(&mm, BASE + 50 * P, P, 2 * P, MREMAP_MAYMOVE, 0), -EFAULT);
}
END_TEST

START_TEST(test_mm_brk)
{
	mm.brk_start = mm.brk = BASE + 10;
	ck_assert_uint_eq(mm_brk(&mm, 0), BASE + 10);
	ck_assert_uint_eq(mm_brk(&mm, BASE + 3 * P), BASE + 3 * P);
	ck_assert_ptr_nonnull(mm_find_vma(&mm, BASE + P));
	ck_assert_uint_eq(mm_brk(&mm, BASE + P + 5), BASE + P + 5);
	ck_assert_ptr_null(mm_find_vma(&mm, BASE + 2 * P));
	ck_assert_uint_eq(mm_brk(&mm, BASE - P), BASE + P + 5);
	/* a mapping in the way: brk stays */
	ck_assert_int_eq(mm_map_anon(&mm, BASE + 10 * P, P, PROT_READ, 0), 0);
	ck_assert_uint_eq(mm_brk(&mm, BASE + 20 * P), BASE + P + 5);
}
END_TEST

START_TEST(test_mm_fault_codes)
{
	int code = 0;

	ck_assert_int_eq(mm_map_anon(&mm, BASE, P, PROT_READ, 0), 0);
	ck_assert_int_eq(mm_fault(&mm, BASE + 5, SBX_ACCESS_WRITE, &code), -EFAULT);
	ck_assert_int_eq(code, SEGV_ACCERR);
	ck_assert_int_eq(mm_fault(&mm, BASE + 5 * P, 0, &code), -EFAULT);
	ck_assert_int_eq(code, SEGV_MAPERR);
}
END_TEST

START_TEST(test_mm_stack_growth)
{
	uint64_t top = 0x7e0000000000ULL;
	int code;

	ck_assert_int_eq(mm_map_anon(&mm, top - 4 * P, 4 * P, PROT_READ | PROT_WRITE,
				     VMA_GROWSDOWN), 0);
	ck_assert_int_eq(mm_fault(&mm, top - 10 * P + 8, 0, &code), 0);
	ck_assert_ptr_nonnull(mm_find_vma(&mm, top - 10 * P));
	/* beyond the stack limit: a real fault */
	ck_assert_int_eq(mm_fault(&mm, top - (9ULL << 20), 0, &code), -EFAULT);
	ck_assert_int_eq(code, SEGV_MAPERR);
}
END_TEST

START_TEST(test_mm_limit)
{
	mm.limit = 8 * P;
	ck_assert_int_eq(mm_map_anon(&mm, BASE, 8 * P, PROT_READ, 0), 0);
	ck_assert_int_eq(mm_map_anon(&mm, BASE + 10 * P, P, PROT_READ, 0), -ENOMEM);
	/* inaccessible memory is not charged until it becomes accessible */
	ck_assert_int_eq(mm_map_anon(&mm, BASE + 10 * P, 4 * P, PROT_NONE, 0), 0);
	ck_assert_int_eq(mm_protect(&mm, BASE + 10 * P, P, PROT_READ), -ENOMEM);
	/* replacing a mapping reuses its charge */
	ck_assert_int_eq(mm_map_anon(&mm, BASE, 8 * P, PROT_READ | PROT_WRITE, 0), 0);
	ck_assert_int_eq(mm_unmap(&mm, BASE, 2 * P), 0);
	ck_assert_int_eq(mm_protect(&mm, BASE + 10 * P, 2 * P, PROT_READ), 0);
	ck_assert_uint_eq(mm.committed, 8 * P);
}
END_TEST

START_TEST(test_mm_placement_and_zero)
{
	uint64_t a, b;
	char buf[4] = "xyz", out[4];

	mm.mmap_base = 0x7000000000ULL;
	ck_assert_int_eq(mm_get_unmapped(&mm, 0, 4 * P, &a), 0);
	ck_assert_uint_eq(a, 0x7000000000ULL - 4 * P);
	ck_assert_int_eq(mm_map_anon(&mm, a, 4 * P, PROT_READ | PROT_WRITE, 0), 0);
	ck_assert_int_eq(mm_get_unmapped(&mm, 0, P, &b), 0);
	ck_assert_uint_eq(b, a - P);
	/* a free hint is taken, a busy one is not */
	ck_assert_int_eq(mm_get_unmapped(&mm, BASE, P, &b), 0);
	ck_assert_uint_eq(b, BASE);
	ck_assert_int_eq(mm_get_unmapped(&mm, a, P, &b), 0);
	ck_assert_uint_ne(b, a);
	ck_assert_int_eq(mm_get_unmapped(&mm, 0, 1ULL << 60, &b), -ENOMEM);
	/* MADV_DONTNEED semantics */
	ck_assert_int_eq(mm_poke(&mm, a, buf, 4), 0);
	ck_assert_int_eq(mm_zero(&mm, a, P), 0);
	ck_assert_int_eq(mm_copy_in(&mm, out, a, 4), 0);
	ck_assert_int_eq(out[0], 0);
}
END_TEST

START_TEST(test_mm_platform_failure)
{
	fail_map = 1;
	ck_assert_int_eq(mm_map_anon(&mm, BASE, P, PROT_READ, 0), -ENOMEM);
	ck_assert_uint_eq(mm.n, 0);
	ck_assert_uint_eq(mm.committed, 0);
}
END_TEST

START_TEST(test_mm_special_pages)
{
	uint64_t off;
	char out[4];

	ck_assert_int_eq(memfile_alloc(P, &off), 0);
	memcpy(memfile_ptr(off), "vv", 3);
	ck_assert_int_eq(mm_map_special(&mm, BASE, P, PROT_READ | PROT_WRITE, off), 0);
	/* mapped read-only whatever was asked, never made writable */
	ck_assert_int_eq(mm.v[0].prot, PROT_READ);
	ck_assert_int_eq(mm_protect(&mm, BASE, P, PROT_READ | PROT_WRITE), -EACCES);
	ck_assert_int_eq(mm_copy_out(&mm, BASE, "x", 1), -EFAULT);
	ck_assert_int_eq(mm_remap(&mm, BASE, P, 2 * P, MREMAP_MAYMOVE, 0), -EINVAL);
	/* MADV_DONTNEED and munmap leave the core's page alone */
	ck_assert_int_eq(mm_zero(&mm, BASE, P), 0);
	ck_assert_int_eq(mm_copy_in(&mm, out, BASE, 3), 0);
	ck_assert_str_eq(out, "vv");
	ck_assert_uint_eq(mm.committed, 0);
	ck_assert_int_eq(mm_unmap(&mm, BASE, P), 0);
	ck_assert_str_eq(memfile_ptr(off), "vv");
}
END_TEST

/* ---- fork: copy-on-write and shared memory ---- */

static struct mm child;

static void fork_child(void)
{
	struct mm_backend be = { NULL, fake_map, fake_unmap, fake_protect };

	mm_init(&child, 0x10000, 0x7f0000000000ULL, 0, &be);
	ck_assert_int_eq(mm_fork(&child, &mm), 0);
}

static char peek(struct mm *m, uint64_t addr)
{
	char c = 0x55;

	ck_assert_int_eq(mm_copy_in(m, &c, addr, 1), 0);
	return c;
}

/* all_free - nothing leaked: the whole memory file is one free extent */
static void assert_all_free(void)
{
	uint64_t off;

	ck_assert_int_eq(memfile_alloc(1ULL << 32, &off), 0);
	memfile_free(off, 1ULL << 32);
}

START_TEST(test_mm_fork_cow)
{
	int code;

	ck_assert_int_eq(mm_map_anon(&mm, BASE, 64 * P, PROT_READ | PROT_WRITE, 0), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(mm_copy_out(&mm, BASE + i * P, "abcd" + i, 1), 0);
	n_protect = 0;
	fork_child();
	/* the touched run is shared, the untouched rest is the child's own */
	ck_assert_uint_eq(child.n, 2);
	ck_assert(child.v[0].flags & VMA_COW);
	ck_assert_uint_eq(child.v[0].end, BASE + 4 * P);
	ck_assert(!(child.v[1].flags & VMA_COW));
	ck_assert(mm.v[0].flags & VMA_COW);
	ck_assert_int_eq(n_protect, 1); /* the parent's run, write-protected */
	ck_assert_int_eq(peek(&child, BASE + 2 * P), 'c');

	/* a core write into the parent copies; the child keeps the old byte */
	ck_assert_int_eq(mm_copy_out(&mm, BASE, "X", 1), 0);
	ck_assert_int_eq(peek(&mm, BASE), 'X');
	ck_assert_int_eq(peek(&child, BASE), 'a');
	/* a write fault in the child copies the rest of the run */
	ck_assert_int_eq(mm_fault(&child, BASE + P, SBX_ACCESS_WRITE, &code), 0);
	ck_assert(!(mm_find_vma(&child, BASE + P)->flags & VMA_COW));
	ck_assert_int_eq(mm_copy_out(&child, BASE + P, "Y", 1), 0);
	ck_assert_int_eq(peek(&mm, BASE + P), 'b');
	/* the parent is now alone with its pages: taken back in place */
	ck_assert_int_eq(mm_fault(&mm, BASE + 2 * P, SBX_ACCESS_WRITE, &code), 0);
	ck_assert(!(mm_find_vma(&mm, BASE + 3 * P)->flags & VMA_COW));
	ck_assert_int_eq(peek(&mm, BASE + 3 * P), 'd');
	/* a read fault on a COW page is a real fault */
	mm_destroy(&child);
	fork_child();
	ck_assert_int_eq(mm_fault(&child, BASE + 2 * P, SBX_ACCESS_EXEC, &code),
			 -EFAULT);
	ck_assert_int_eq(code, SEGV_ACCERR);
	/* MADV_DONTNEED in the child does not zero the parent */
	ck_assert_int_eq(mm_zero(&child, BASE, 4 * P), 0);
	ck_assert_int_eq(peek(&child, BASE + 3 * P), 0);
	ck_assert_int_eq(peek(&mm, BASE + 3 * P), 'd');
	/* part of a COW VMA zeroed: the range stays whole */
	ck_assert_int_eq(mm_copy_out(&mm, BASE + 8 * P, "e", 1), 0);
	mm_destroy(&child);
	fork_child();
	ck_assert_int_eq(mm_zero(&child, BASE, P), 0);
	ck_assert_int_eq(mm_protect(&child, BASE, 64 * P, PROT_READ), 0);
	ck_assert_int_eq(peek(&child, BASE + 8 * P), 'e');
	mm_destroy(&child);
	mm_destroy(&mm);
	mm_init(&mm, 0x10000, 0x7f0000000000ULL, 0, &child.be);
	assert_all_free();
}
END_TEST

START_TEST(test_mm_fork_shared)
{
	ck_assert_int_eq(mm_map_anon(&mm, BASE, 4 * P, PROT_READ | PROT_WRITE,
				     VMA_SHARED), 0);
	fork_child();
	ck_assert_int_eq(mm_copy_out(&child, BASE + P, "s", 1), 0);
	ck_assert_int_eq(peek(&mm, BASE + P), 's');
	ck_assert_int_eq(mm_copy_out(&mm, BASE, "p", 1), 0);
	ck_assert_int_eq(peek(&child, BASE), 'p');
	/* the memory outlives the parent's mapping */
	ck_assert_int_eq(mm_unmap(&mm, BASE, 4 * P), 0);
	ck_assert_int_eq(peek(&child, BASE), 'p');
	mm_destroy(&child);
	assert_all_free();
}
END_TEST

/* file VMAs over a memfd standing in for a donated host file */
START_TEST(test_mm_file_vmas)
{
	int fd = memfd_create("file", 0);
	struct mfile *mf;
	struct mm child;
	struct mm_backend be = { NULL, fake_map, fake_unmap, fake_protect };
	char buf[8] = "";
	int code;

	ck_assert_int_eq(mfile_guard_init(), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4 * P), 0);
	ck_assert_int_eq(pwrite(fd, "filedata", 8, P), 8);
	ck_assert_int_eq(mfile_new(fd, true, 8 * P, 1, 2, "/f", &mf), 0);
	/* shared: core copies reach the file */
	ck_assert_int_eq(mm_map_file(&mm, BASE, 4 * P, PROT_READ | PROT_WRITE,
				     mf, 0, true, false), 0);
	ck_assert_int_eq(mm_copy_in(&mm, buf, BASE + P, 8), 0);
	ck_assert_mem_eq(buf, "filedata", 8);
	ck_assert_int_eq(mm_copy_out(&mm, BASE + 2 * P, "shared", 6), 0);
	ck_assert_int_eq(pread(fd, buf, 6, 2 * P), 6);
	ck_assert_mem_eq(buf, "shared", 6);
	ck_assert_uint_eq(mm.committed, 0); /* the file's pages, not ours */
	/* private: a core write copies the page, the file stays */
	ck_assert_int_eq(mm_map_file(&mm, BASE + 8 * P, 4 * P,
				     PROT_READ | PROT_WRITE, mf, 0, false,
				     false), 0);
	ck_assert_int_eq(mm_copy_out(&mm, BASE + 9 * P, "privat", 6), 0);
	ck_assert_int_eq(pread(fd, buf, 8, P), 8);
	ck_assert_mem_eq(buf, "filedata", 8);
	ck_assert_int_eq(mm_copy_in(&mm, buf, BASE + 9 * P, 8), 0);
	ck_assert_mem_eq(buf, "privatta", 8);
	ck_assert(mm_find_vma(&mm, BASE + 9 * P)->flags & VMA_COPIED);
	/* past the end of the file: EFAULT for the core, SIGBUS on a fault */
	ck_assert_int_eq(ftruncate(fd, P), 0);
	ck_assert_int_eq(mm_copy_in(&mm, buf, BASE + 3 * P, 8), -EFAULT);
	ck_assert_int_eq(mm_fault(&mm, BASE + 8 * P + 3 * P,
				  SBX_ACCESS_WRITE, &code), -ENXIO);
	ck_assert_int_eq(code, BUS_ADRERR);
	/* access unknown (ptrace) on the read-write VMA: still the file's
	 * SIGBUS, not a raced fault to retry */
	code = 0;
	ck_assert_int_eq(mm_fault(&mm, BASE + 8 * P + 2 * P, 0, &code),
			 -ENXIO);
	ck_assert_int_eq(code, BUS_ADRERR);
	ck_assert_int_eq(ftruncate(fd, 4 * P), 0);
	/* a write fault on a file page copies it */
	ck_assert_int_eq(mm_fault(&mm, BASE + 8 * P + 3 * P,
				  SBX_ACCESS_WRITE, &code), 0);
	/* mprotect of a read-only file's shared mapping: EACCES */
	mf->writable = false;
	ck_assert_int_eq(mm_protect(&mm, BASE, P, PROT_READ), 0);
	ck_assert_int_eq(mm_protect(&mm, BASE, P, PROT_READ | PROT_WRITE),
			 -EACCES);
	mf->writable = true;
	/* fork shares both; split and unmap keep the references right */
	mm_init(&child, 0x10000, 0x7f0000000000ULL, 0, &be);
	ck_assert_int_eq(mm_fork(&child, &mm), 0);
	ck_assert_int_eq(mm_copy_out(&mm, BASE + 2 * P, "again!", 6), 0);
	ck_assert_int_eq(mm_copy_in(&child, buf, BASE + 2 * P, 6), 0);
	ck_assert_mem_eq(buf, "again!", 6);
	ck_assert_int_eq(mm_copy_in(&child, buf, BASE + 9 * P, 6), 0);
	ck_assert_mem_eq(buf, "privat", 6);
	ck_assert_int_eq(mm_unmap(&child, BASE + P, P), 0);
	mm_destroy(&child);
	ck_assert_int_eq(mm_copy_in(&mm, buf, BASE + 2 * P, 6), 0);
	/* placed (mmap): the range is chosen under the lock, never a taken
	 * one */
	{
		uint64_t at = BASE;

		ck_assert_int_eq(mm_map_file_placed(&mm, &at, P, PROT_READ, mf,
						    0, true, false,
						    MM_PLACE_NOREPLACE),
				 -EEXIST);
		ck_assert_int_eq(mm_map_file_placed(&mm, &at, P, PROT_READ, mf,
						    0, true, false,
						    MM_PLACE_HINT),
				 0);
		ck_assert(at + P <= BASE || at >= BASE + 12 * P);
		ck_assert_ptr_eq(mm_find_vma(&mm, at)->mf, mf);
		ck_assert_int_eq(mm_unmap(&mm, at, P), 0);
	}
	ck_assert_int_eq(mm_unmap(&mm, BASE, 16 * P), 0);
	ck_assert_int_eq(__atomic_load_n(&mf->refs, __ATOMIC_RELAXED), 1);
	mfile_put(mf);
	close(fd);
}
END_TEST

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("mm");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
		{ "map", test_mm_map_and_merge },
		{ "unmap", test_mm_unmap_splits },
		{ "protect", test_mm_protect_split_merge },
		{ "copy", test_mm_copy_checks },
		{ "remap", test_mm_remap },
		{ "brk", test_mm_brk },
		{ "fault", test_mm_fault_codes },
		{ "stack", test_mm_stack_growth },
		{ "limit", test_mm_limit },
		{ "placement", test_mm_placement_and_zero },
		{ "platform", test_mm_platform_failure },
		{ "special", test_mm_special_pages },
		{ "fork_cow", test_mm_fork_cow },
		{ "fork_shared", test_mm_fork_shared },
		{ "file", test_mm_file_vmas },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}
