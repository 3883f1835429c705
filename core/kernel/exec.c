/*
 * The ELF loader and initial stack (see exec.h).
 *
 * Segments are loaded the way musl's map_library does it: reserve the whole
 * span, fill each PT_LOAD, then give each its protection and unmap the
 * gaps.  Segment contents are copied into anonymous memory through the
 * VFS read path (struct file), for the program and its PT_INTERP alike:
 * exact for private mappings, and no platform needs to map host files.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mm/mfile.h"
#include "../vdso/vdso.h"
#include "exec.h"

#define MAX_PHNUM 128
#define INITIAL_STACK (128ULL << 10)
#define ET_DYN_RANDOM_PAGES (1ULL << 18)    /* static-pie base: 1 GiB range */
#define MMAP_RANDOM_PAGES (1ULL << 28)	    /* as Linux's mmap_rnd_bits */
#define STACK_RANDOM_PAGES (1ULL << 14)

static uint64_t rnd(uint64_t pages)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = 0;
	return (v % pages) * PAGE_SIZE;
}

static int pread_all(struct file *f, void *buf, size_t len, off_t off)
{
	return vfs_read_full(f, buf, len, (uint64_t)off);
}

static int check_header(const Elf64_Ehdr *eh, struct sbx_error *err)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return sbx_error_set(err, ENOEXEC, "not an ELF file");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return sbx_error_set(err, ENOEXEC, "not an x86-64 ELF file");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return sbx_error_set(err, ENOEXEC, "ELF file is not executable");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > MAX_PHNUM)
		return sbx_error_set(err, ENOEXEC, "bad ELF program headers");
	return 0;
}

/* seg_prot - the PROT_* of a segment */
static int seg_prot(const Elf64_Phdr *s)
{
	return (s->p_flags & PF_R ? PROT_READ : 0) |
	       (s->p_flags & PF_W ? PROT_WRITE : 0) |
	       (s->p_flags & PF_X ? PROT_EXEC : 0);
}

/*
 * mappable - can the PT_LOADs of @fd be mapped from the file, as Linux's
 * binfmt_elf does: a host file (the gofer's), each segment's address and
 * offset congruent modulo the page, its bytes inside the file, and no
 * page shared by two segments (those are copied, the later's protection
 * winning).
 */
static bool mappable(struct file *fd, const Elf64_Ehdr *eh,
		     const Elf64_Phdr *ph)
{
	struct k_stat st;
	uint64_t prev_end = 0;

	if (fd->host_fd < 0 || !fd->path.mnt || !fd->ops->stat ||
	    fd->ops->stat(fd, &st))
		return false;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *s = &ph[i];

		if (s->p_type != PT_LOAD)
			continue;
		if ((s->p_vaddr ^ s->p_offset) & (PAGE_SIZE - 1) ||
		    s->p_offset + s->p_filesz > (uint64_t)st.st_size ||
		    PAGE_DOWN(s->p_vaddr) < prev_end)
			return false;
		prev_end = PAGE_UP(s->p_vaddr + s->p_memsz);
	}
	return true;
}

/*
 * map_segments - load_segments through file mappings: each segment's
 * file pages mapped privately (shared with the page cache until written,
 * copy-on-write after), the bss tail of its last file page zeroed and the
 * rest of the bss anonymous.  The span is reserved first (PROT_NONE) and
 * its gaps unmapped last, as load_segments does.
 */
static int map_segments(struct process *p, struct file *fd,
			const Elf64_Ehdr *eh, const Elf64_Phdr *ph,
			uint64_t bias, uint64_t lo, uint64_t hi)
{
	static const char zeros[4096];
	struct mm *mm = &p->mm;
	uint64_t prev_end = lo + bias, need = 0;
	struct mfile *mf;
	int r;

	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD &&
		    PAGE_UP(ph[i].p_offset + ph[i].p_filesz) > need)
			need = PAGE_UP(ph[i].p_offset + ph[i].p_filesz);
	r = file_mfile(p->fs, fd, need, &mf);
	if (r)
		return r;
	r = mm_map_anon(mm, lo + bias, hi - lo, PROT_NONE, 0);
	if (r)
		goto out;
	for (int i = 0; i < eh->e_phnum && !r; i++) {
		const Elf64_Phdr *s = &ph[i];
		uint64_t start = PAGE_DOWN(s->p_vaddr) + bias;
		uint64_t fend = PAGE_UP(s->p_vaddr + s->p_filesz) + bias;
		uint64_t mend = PAGE_UP(s->p_vaddr + s->p_memsz) + bias;
		uint64_t tail = s->p_vaddr + s->p_filesz + bias;
		int prot = seg_prot(s);

		if (s->p_type != PT_LOAD)
			continue;
		if (start > prev_end)
			r = mm_unmap(mm, prev_end, start - prev_end);
		if (!r && fend > start)
			r = mm_map_file(mm, start, fend - start, prot, mf,
					PAGE_DOWN(s->p_offset), false,
					(prot & PROT_WRITE) &&
						fend - start <= FILE_COPY_NOW);
		/* the file's bytes after the segment, in its last page */
		if (!r && s->p_memsz > s->p_filesz && fend > tail)
			r = mm_poke(mm, tail, zeros, fend - tail);
		if (!r && mend > fend)
			r = mm_map_anon(mm, fend, mend - fend, prot, 0);
		if (mend > prev_end)
			prev_end = mend;
	}
out:
	mfile_put(mf);
	return r;
}

/* load_segments - map every PT_LOAD at @bias; sets brk and *@phdr_addr. */
static int load_segments(struct process *p, struct file *fd, const Elf64_Ehdr *eh,
			 const Elf64_Phdr *ph, uint64_t bias, uint64_t lo,
			 uint64_t hi, uint64_t *phdr_addr, bool set_brk,
			 struct sbx_error *err)
{
	struct mm *mm = &p->mm;
	uint64_t prev_end = lo + bias;
	char *buf = NULL;
	int r;

	if (mappable(fd, eh, ph)) {
		*phdr_addr = 0;
		for (int i = 0; i < eh->e_phnum; i++) {
			const Elf64_Phdr *s = &ph[i];

			if (s->p_type == PT_PHDR)
				*phdr_addr = s->p_vaddr + bias;
			if (s->p_type == PT_LOAD && !*phdr_addr &&
			    eh->e_phoff >= s->p_offset &&
			    eh->e_phoff < s->p_offset + s->p_filesz)
				*phdr_addr = s->p_vaddr + bias +
					     (eh->e_phoff - s->p_offset);
		}
		r = map_segments(p, fd, eh, ph, bias, lo, hi);
		if (r)
			return sbx_error_set(err, -r, "cannot map the program: %s",
					     strerror(-r));
		if (set_brk)
			mm->brk_start = mm->brk = PAGE_UP(hi + bias);
		return 0;
	}

	r = mm_map_anon(mm, lo + bias, hi - lo, PROT_READ | PROT_WRITE, 0);
	if (r)
		return sbx_error_set(err, -r, "cannot reserve %#llx bytes for the program",
				     (unsigned long long)(hi - lo));
	buf = malloc(1 << 20);
	if (!buf)
		return -ENOMEM;
	*phdr_addr = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *s = &ph[i];

		if (s->p_type == PT_PHDR)
			*phdr_addr = s->p_vaddr + bias;
		if (s->p_type != PT_LOAD)
			continue;
		if (!*phdr_addr && eh->e_phoff >= s->p_offset &&
		    eh->e_phoff < s->p_offset + s->p_filesz)
			*phdr_addr = s->p_vaddr + bias + (eh->e_phoff - s->p_offset);
		for (uint64_t at = 0; at < s->p_filesz; at += 1 << 20) {
			size_t n = s->p_filesz - at < (1 << 20) ? s->p_filesz - at
								 : (1 << 20);

			r = pread_all(fd, buf, n, (off_t)(s->p_offset + at));
			if (r)
				goto out_free;
			r = mm_poke(mm, s->p_vaddr + bias + at, buf, n);
			if (r)
				goto out_free;
		}
	}
	/* protections last: a page shared by two segments gets the later's */
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *s = &ph[i];
		uint64_t start = PAGE_DOWN(s->p_vaddr) + bias;
		uint64_t end = PAGE_UP(s->p_vaddr + s->p_memsz) + bias;
		int prot = (s->p_flags & PF_R ? PROT_READ : 0) |
			   (s->p_flags & PF_W ? PROT_WRITE : 0) |
			   (s->p_flags & PF_X ? PROT_EXEC : 0);

		if (s->p_type != PT_LOAD)
			continue;
		if (start > prev_end) {
			r = mm_unmap(mm, prev_end, start - prev_end);
			if (r)
				goto out_free;
		}
		r = mm_protect(mm, start, end - start, prot);
		if (r)
			goto out_free;
		if (end > prev_end)
			prev_end = end;
	}
	if (set_brk)
		mm->brk_start = mm->brk = PAGE_UP(hi + bias);
	r = 0;
out_free:
	free(buf);
	if (r == -ENOEXEC)
		return sbx_error_set(err, ENOEXEC, "truncated ELF file");
	return r;
}

/* ---- the initial stack ---- */

struct stack_img {
	uint64_t top;	/* application address of the image's end */
	uint64_t bottom;
	char *buf;	/* core copy of [bottom, top) */
};

static uint64_t push(struct stack_img *s, const void *data, size_t len)
{
	s->bottom -= len;
	memcpy(s->buf + (s->bottom - (s->top - INITIAL_STACK * 8)), data, len);
	return s->bottom;
}

static size_t strings_size(char *const v[], size_t *count)
{
	size_t n = 0, c = 0;

	for (; v && v[c]; c++)
		n += strlen(v[c]) + 1;
	*count = c;
	return n;
}

static int build_stack(struct process *p, const char *execfn,
		       char *const argv[], char *const envp[],
		       const uint64_t *aux, size_t naux, uint64_t stack_top,
		       uint64_t *sp_out)
{
	size_t argc, envc, words, size;
	size_t str = strings_size(argv, &argc) + strings_size(envp, &envc);
	struct stack_img s;
	uint64_t *ptrs, at, execfn_addr, platform, random_addr;
	unsigned char random[16];
	int r;

	/* Linux allows argument strings up to a quarter of the stack limit */
	if (str > p->mm.stack_max / 4)
		return -E2BIG;
	size = INITIAL_STACK * 8;
	s.top = stack_top;
	s.bottom = stack_top;
	s.buf = calloc(1, size);
	ptrs = calloc(argc + envc + 2, sizeof(*ptrs));
	if (!s.buf || !ptrs) {
		r = -ENOMEM;
		goto out;
	}
	push(&s, &(uint64_t){ 0 }, 8);
	execfn_addr = push(&s, execfn, strlen(execfn) + 1);
	for (size_t i = envc; i-- > 0;)
		ptrs[argc + 1 + i] = push(&s, envp[i], strlen(envp[i]) + 1);
	p->mm.env_start = s.bottom;
	p->mm.env_end = execfn_addr;
	for (size_t i = argc; i-- > 0;)
		ptrs[i] = push(&s, argv[i], strlen(argv[i]) + 1);
	p->mm.arg_start = s.bottom;
	p->mm.arg_end = p->mm.env_start;
	platform = push(&s, "x86_64", 7);
	if (getrandom(random, sizeof(random), 0) != sizeof(random))
		memset(random, 0x5a, sizeof(random));
	random_addr = push(&s, random, sizeof(random));
	s.bottom &= ~15ULL;
	words = 1 + (argc + 1) + (envc + 1) + naux + 8;
	if (words & 1)
		s.bottom -= 8;
	at = s.bottom - words * 8;
	if (s.top - at > size) {
		r = -E2BIG;
		goto out;
	}
	{
		uint64_t *w = (uint64_t *)(s.buf + (at - (s.top - size)));
		size_t k = 0;

		w[k++] = argc;
		for (size_t i = 0; i < argc; i++)
			w[k++] = ptrs[i];
		w[k++] = 0;
		for (size_t i = 0; i < envc; i++)
			w[k++] = ptrs[argc + 1 + i];
		w[k++] = 0;
		for (size_t i = 0; i < naux; i += 2) {
			w[k++] = aux[i];
			w[k++] = aux[i + 1];
		}
		w[k++] = AT_RANDOM, w[k++] = random_addr;
		w[k++] = AT_EXECFN, w[k++] = execfn_addr;
		w[k++] = AT_PLATFORM, w[k++] = platform;
		w[k++] = AT_NULL, w[k++] = 0;
		/* keep the auxv for /proc/self/auxv */
		memcpy(p->auxv, w + 1 + argc + 1 + envc + 1,
		       (naux + 8) * sizeof(uint64_t) < sizeof(p->auxv)
			       ? (naux + 8) * sizeof(uint64_t) : sizeof(p->auxv));
	}
	r = mm_poke(&p->mm, at, s.buf + (at - (s.top - size)), s.top - at);
	*sp_out = at;
	p->mm.start_stack = at;
out:
	free(ptrs);
	free(s.buf);
	return r;
}

/* read_elf - the ELF header and program headers; [lo, hi) of PT_LOADs. */
static int read_elf(struct file *f, Elf64_Ehdr *eh, Elf64_Phdr *ph,
		    uint64_t *lo, uint64_t *hi, struct sbx_error *err)
{
	int r = pread_all(f, eh, sizeof(*eh), 0);

	if (r)
		return r == -ENOEXEC ? sbx_error_set(err, ENOEXEC, "not an ELF file")
				     : sbx_error_set(err, -r, "read: %s", strerror(-r));
	r = check_header(eh, err);
	if (r)
		return r;
	r = pread_all(f, ph, eh->e_phnum * sizeof(Elf64_Phdr), (off_t)eh->e_phoff);
	if (r)
		return sbx_error_set(err, ENOEXEC, "truncated ELF program headers");
	*lo = UINT64_MAX;
	*hi = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz ||
		    ph[i].p_vaddr + ph[i].p_memsz < ph[i].p_vaddr)
			return sbx_error_set(err, ENOEXEC, "bad ELF segment");
		if (PAGE_DOWN(ph[i].p_vaddr) < *lo)
			*lo = PAGE_DOWN(ph[i].p_vaddr);
		if (PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz) > *hi)
			*hi = PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz);
	}
	if (*hi <= *lo)
		return sbx_error_set(err, ENOEXEC, "ELF file has nothing to load");
	return 0;
}

/*
 * load_interp - load the program interpreter named by PT_INTERP (ld.so)
 * through the VFS at a free place in the mmap area.  Return: 0 with its
 * base and entry, or -errno with @err set.
 */
static int load_interp(struct process *p, struct file *prog,
		       const Elf64_Phdr *pi, uint64_t *base, uint64_t *entry,
		       struct sbx_error *err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHNUM];
	uint64_t lo, hi, bias, phdr;
	struct file *f;
	char *name;
	int r;

	if (pi->p_filesz < 2 || pi->p_filesz > PATH_MAX)
		return sbx_error_set(err, ENOEXEC, "bad PT_INTERP");
	name = calloc(1, pi->p_filesz + 1);
	if (!name)
		return -ENOMEM;
	r = pread_all(prog, name, pi->p_filesz, (off_t)pi->p_offset);
	if (r || name[pi->p_filesz - 1] != 0) {
		free(name);
		return sbx_error_set(err, ENOEXEC, "bad PT_INTERP");
	}
	r = vfs_open(p->fs, NULL, name, O_RDONLY, 0, 0, &f);
	if (r) {
		sbx_error_set(err, -r, "interpreter %s: %s", name, strerror(-r));
		free(name);
		return r == -ENOENT ? -ENOENT : -ENOEXEC;
	}
	r = read_elf(f, &eh, ph, &lo, &hi, err);
	if (r)
		goto out;
	if (eh.e_type != ET_DYN) {
		r = sbx_error_set(err, ENOEXEC, "interpreter %s is not ET_DYN", name);
		goto out;
	}
	r = mm_get_unmapped(&p->mm, 0, hi - lo, &bias);
	if (r) {
		r = sbx_error_set(err, ENOMEM, "no room for the interpreter");
		goto out;
	}
	bias -= lo;
	r = load_segments(p, f, &eh, ph, bias, lo, hi, &phdr, false, err);
	if (r)
		goto out;
	*base = lo + bias;
	*entry = eh.e_entry + bias;
out:
	file_put(f);
	free(name);
	return r;
}

int exec_load(struct process *p, struct file *fd, const char *execfn,
	      char *const argv[], char *const envp[], struct sbx_regs *regs,
	      struct sbx_error *err)
{
	struct mm *mm = &p->mm;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHNUM];
	uint64_t lo = UINT64_MAX, hi = 0, bias = 0, phdr = 0, stack_top, sp, vdso;
	uint64_t aux[40];
	size_t n = 0, stack_len;
	int r;

	const Elf64_Phdr *interp = NULL;
	uint64_t interp_base = 0, entry;

	r = read_elf(fd, &eh, ph, &lo, &hi, err);
	if (r)
		return r;
	for (int i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_INTERP && !interp)
			interp = &ph[i];

	/* layout: stack at the top, mmap area below it, program low */
	stack_top = mm->user_max - rnd(STACK_RANDOM_PAGES) - PAGE_SIZE;
	mm->mmap_base = PAGE_DOWN(stack_top - mm->stack_max - (128ULL << 20) -
				  rnd(MMAP_RANDOM_PAGES));
	if (eh.e_type == ET_DYN)
		bias = PAGE_DOWN(mm->user_max / 3 * 2) - lo - rnd(ET_DYN_RANDOM_PAGES);
	if (lo + bias < mm->user_min || hi + bias > mm->user_max)
		return sbx_error_set(err, ENOEXEC,
				     "ELF segments outside the sandbox's address range");
	r = load_segments(p, fd, &eh, ph, bias, lo, hi, &phdr, true, err);
	if (r)
		return r;
	entry = eh.e_entry + bias;
	mm->start_code = lo + bias;
	mm->end_code = hi + bias;
	if (interp) {
		r = load_interp(p, fd, interp, &interp_base, &entry, err);
		if (r)
			return r;
	}

	stack_len = INITIAL_STACK * 8;
	r = mm_map_anon(mm, stack_top - stack_len, stack_len,
			PROT_READ | PROT_WRITE, VMA_GROWSDOWN);
	if (r)
		return sbx_error_set(err, -r, "cannot map the stack");

	/* no vDSO (calibration failed) only costs speed: time calls trap */
	if (vdso_map(mm, &vdso) == 0)
		aux[n++] = AT_SYSINFO_EHDR, aux[n++] = vdso;
	aux[n++] = AT_HWCAP, aux[n++] = getauxval(AT_HWCAP);
	aux[n++] = AT_PAGESZ, aux[n++] = PAGE_SIZE;
	aux[n++] = AT_CLKTCK, aux[n++] = 100;
	aux[n++] = AT_PHDR, aux[n++] = phdr;
	aux[n++] = AT_PHENT, aux[n++] = sizeof(Elf64_Phdr);
	aux[n++] = AT_PHNUM, aux[n++] = eh.e_phnum;
	aux[n++] = AT_BASE, aux[n++] = interp_base;
	aux[n++] = AT_FLAGS, aux[n++] = 0;
	aux[n++] = AT_ENTRY, aux[n++] = eh.e_entry + bias;
	aux[n++] = AT_UID, aux[n++] = p->uid;
	aux[n++] = AT_EUID, aux[n++] = p->uid;
	aux[n++] = AT_GID, aux[n++] = p->gid;
	aux[n++] = AT_EGID, aux[n++] = p->gid;
	aux[n++] = AT_SECURE, aux[n++] = 0;
	aux[n++] = AT_HWCAP2, aux[n++] = getauxval(AT_HWCAP2);
	aux[n++] = AT_MINSIGSTKSZ, aux[n++] = getauxval(AT_MINSIGSTKSZ);
	r = build_stack(p, execfn, argv, envp, aux, n, stack_top, &sp);
	if (r)
		return sbx_error_set(err, -r, "cannot build the initial stack: %s",
				     strerror(-r));

	memset(regs, 0, sizeof(*regs));
	regs->rip = entry;
	regs->rsp = sp;
	regs->cs = 0x33;     /* __USER_CS */
	regs->ss = 0x2b;     /* __USER_DS */
	regs->eflags = 0x202; /* IF */
	return 0;
}
