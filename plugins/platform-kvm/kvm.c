/*
 * kvm platform plugin: the application runs in guest user mode (ring 3,
 * 64-bit) of a KVM virtual machine, on page tables this plugin builds from
 * the address-space ops; a tiny guest stub (stub.S) turns `syscall` and
 * exceptions into I/O exits, and registers cross with KVM_CAP_SYNC_REGS.
 *
 * One VM per address space, one vCPU per context (SBX_PLATFORM_MULTI_CTX).
 * Guest memory: the core's memory file is mapped once in
 * the plugin and given to each VM as memory slots (guest-physical =
 * memory-file offset), added per KVM_CHUNK as mappings reach them, so the
 * application's memory is the core's without copies.  Donated files (host
 * files the core maps for the application) go through a per-VM file
 * window: a reserved host range, given to the VM as memory slots above the
 * private memory (added per chunk as they are first used, like the memory
 * file's), into which each as_map of a file mmaps that file at a free
 * place (first fit); the page tables point at the window's guest-physical
 * pages.  Slots are never removed or moved: the window's host mappings
 * change under them and KVM's MMU notifier follows, so the number of
 * memory slots stays fixed whatever the program maps.  A guest access to a
 * window page the file does not cover (past its end) makes KVM_RUN fail
 * with EFAULT and no address (this host's KVM gives no memory-fault exit),
 * so the page tables map file pages only up to the end of the file: the
 * guest takes an ordinary page fault past it, which the core turns into
 * SIGBUS (or maps the pages, when the file has grown since).  A file that
 * shrinks under a mapping is found on that EFAULT: each mapping's file
 * (the plugin keeps a duplicate fd) is measured again, pages now past its
 * end leave the page tables, and the vCPU runs on into the page fault.  Each VM also has
 * private memory (kvm_abi.h) for the stub pages, GDT, IDT, page tables and
 * one area per vCPU (TSS and kernel stack), mapped above user_max and
 * supervisor-only except the read-only user stub page.  All set-up is done from the host (SREGS,
 * MSRs, CPUID, XCRs once per vCPU): no guest code runs in ring 0 at start.
 *
 * System calls.  LSTAR points at the user stub page: `out` to
 * KVM_PORT_SYSCALL.  On VMX/SVM the stub runs in ring 0 and the way back is
 * `iretq` (kernel stub) with a frame the host writes on the kernel stack;
 * on PVM hosts (kvm_pvm, shadow paging, the guest kernel is itself in
 * hardware ring 3) `syscall` from a guest that does not speak the PVM ABI
 * arrives at LSTAR still in user mode (measured at start-up by the self
 * test), so the host just sets the user registers back: one exit per call.
 *
 * Exceptions go through the IDT to the kernel stub (`out` to KVM_PORT_EXC
 * + vector) with the CPU's frame on the kernel stack; the host turns them
 * into SBX_EXIT_FAULT (CR2 and the error code's access kind for #PF) and
 * returns with `iretq`.
 *
 * Page tables.  4-level, 4 KiB pages and 2 MiB pages where address, file
 * offset and length allow; written by the host directly, never by the
 * guest.  KVM does not see host writes (on PVM its shadow page tables
 * would go stale), so changing a present entry drops the translations of
 * its old frame through KVM's MMU notifier (kvm_zap: MADV_DONTNEED on the
 * plugin's view of the frame; batched per op).  The notifier flushes every
 * vCPU of the VM before madvise returns (running ones are sent an IPI and
 * flush before they re-enter), so this is also the TLB shootdown for the
 * other threads.  Entries change atomically under running vCPUs and tables
 * are never freed (see "page tables" below).  New mappings (non-present to
 * present) need nothing, so mmap and page touching never exit to the host.
 *
 * The TSS I/O bitmap allows KVM_PORT_SYSCALL alone (PVM checks it for
 * the user-mode stub); the application's own `out`s, to that port from
 * elsewhere or to the exception ports, are reported as #GP, never taken
 * for system calls or exceptions (the host checks the mode and rip).
 *
 * interrupt(): SIGUSR2 to the vCPU's thread, which keeps it blocked except
 * inside KVM_RUN (KVM_SET_SIGNAL_MASK): a signal sent before KVM_RUN makes
 * it return -EINTR at once, none ever interrupts the core's own calls (so
 * the blocked signal does what run->immediate_exit would, without a
 * handler that could break the core's host calls with EINTR); it is sent
 * only while the thread is inside switch_to (kvm_interrupt);
 * the signal stays pending after that -EINTR and is drained with
 * sigtimedwait, and a pending flag tells real interrupts from stale
 * signals.  A system call or exception caught between its entry and its
 * `out` is let through first (kvm_in_flight): nothing is lost.
 *
 * Start-up: init() opens /dev/kvm, checks the API and capabilities, and
 * runs a self-test VM (syscall + ud2) under a 2 s watchdog; any failure is
 * one log line ending in "use platform: systrap" and -ENODEV.  The test's
 * VM becomes the first address space (a VM costs ~1-2 ms to make here).
 *
 * Threads: the thread that calls ctx_create runs the context's vCPU; as_*
 * may be called from any thread while other vCPUs of the VM run (the core
 * serialises them per address space).  KVM cannot destroy a vCPU before
 * its VM, so ctx_destroy parks it in a per-VM pool and ctx_create reuses
 * parked ones first (FPU state reset, signal mask bound to the new
 * thread); past KVM_CAP_MAX_VCPUS vCPUs in use, ctx_create gives -EAGAIN.
 *
 * Options: max_threads (1-1024, default KVM's limit): vCPUs per VM, which
 * is also the process's thread limit (describe's max_threads).
 *
 * The file is divided into: types and helpers; page tables; VM and vCPU
 * set-up; the self-test; init/fini/describe/seccomp_rules; address
 * spaces; contexts and switch_to; FPU state; the ops table and entry.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <sbx/platform.h>
#include <sbx/plugin.h>

#include "kvm_abi.h"

#define KVM_PAGE	 4096ULL
#define KVM_HUGE	 (2ULL << 20)
#define KVM_CHUNK_MIN	 (1ULL << 30)
#define KVM_PRIV_SIZE	 (64ULL << 20) /* private memory per VM */
#define KVM_PRIV_PAGES	 (KVM_PRIV_SIZE / KVM_PAGE)
#define KVM_PRIV_SLOT	 0
#define KVM_EXIT_MEMORY_FAULT_ 39 /* KVM_EXIT_MEMORY_FAULT (Linux 6.8) */
#define KVM_INTR_SIG	 SIGUSR2
#define KVM_PROBE_MS	 2000
#define KVM_XSAVE_SIZE	 4096
#define KVM_TSS_IOBM_BYTES 33 /* ports 0-255, and the closing byte */
#define KVM_TSS_LIMIT	 (104 + KVM_TSS_IOBM_BYTES - 1)

/* page-table entry bits */
#define PTE_P	   (1ULL << 0)
#define PTE_W	   (1ULL << 1)
#define PTE_U	   (1ULL << 2)
#define PTE_A	   (1ULL << 5)	/* set by the CPU (or KVM's walker) on use */
#define PTE_AD	   (3ULL << 5)	/* Accessed, Dirty */
#define PTE_PS	   (1ULL << 7)
#define PTE_MAPPED (1ULL << 9)	/* software: an application mapping */
#define PTE_NX	   (1ULL << 63)
#define PTE_ADDR   0x000ffffffffff000ULL

/* x86 control bits */
#define CR0_PE	      (1ULL << 0)
#define CR0_MP	      (1ULL << 1)
#define CR0_ET	      (1ULL << 4)
#define CR0_NE	      (1ULL << 5)
#define CR0_WP	      (1ULL << 16)
#define CR0_PG	      (1ULL << 31)
#define CR4_PAE	      (1ULL << 5)
#define CR4_OSFXSR    (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_FSGSBASE  (1ULL << 16)
#define CR4_OSXSAVE   (1ULL << 18)
#define EFER_SCE      (1ULL << 0)
#define EFER_LME      (1ULL << 8)
#define EFER_LMA      (1ULL << 10)
#define EFER_NXE      (1ULL << 11)
#define MSR_STAR      0xc0000081
#define MSR_LSTAR     0xc0000082
#define MSR_CSTAR     0xc0000083
#define MSR_SFMASK    0xc0000084
#define MSR_FS_BASE   0xc0000100
#define MSR_GS_BASE   0xc0000101
#define RFLAGS_USER   0x240dd5ULL /* CF PF AF ZF SF TF DF OF AC ID */
#define RFLAGS_FIXED  0x202ULL	  /* bit 1, IF */
#define RFLAGS_RF     0x10000ULL

extern const char kvm_stub_user[], kvm_stub_kernel[], kvm_stub_end[];

struct sbx_platform {
	const struct sbx_services *svc;
	int kvm;		/* /dev/kvm */
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	uint8_t *mem;		/* the memory file, mapped whole */
	uint64_t mem_size;
	uint64_t chunk;		/* memory-file bytes per memory slot */
	unsigned nchunks;
	uint64_t priv_gpa;	/* GPA of each VM's private memory */
	uint64_t win_gpa;	/* GPA of each VM's file window */
	uint64_t win_size;	/* bytes of it (a multiple of chunk) */
	bool sys_user;		/* LSTAR runs in user mode (PVM) */
	uint64_t cr4;
	uint64_t xcr0;
	int xsave_size;		/* bytes of XSAVE state we report */
	int max_vcpus;		/* per VM: KVM's limit, ours, the option's */
	struct kvm_xsave *xsave_init; /* a fresh vCPU's FPU state */
	_Atomic(struct sbx_as *) spare; /* the self-test's VM, for as_create */
	struct kvm_cpuid2 *cpuid;
};

/*
 * One context is one vCPU.  Fields other than pending and running belong
 * to the thread that runs the context (the one that called ctx_create).
 */
struct sbx_ctx {
	struct sbx_as *as;
	int id;			/* vCPU id: also its per-vCPU area */
	int fd;			/* vCPU */
	struct kvm_run *run;
	pid_t tid;		/* the thread that runs it */
	atomic_int pending;	/* interrupt() not yet reported */
	atomic_int running;	/* inside switch_to (interrupt signals) */
	bool in_user;		/* the vCPU waits in user mode (not at iret) */
	bool dead;
	bool mask_set;		/* kvm_mask is the vCPU's signal mask */
	uint64_t kvm_mask;
	uint64_t fs_base;	/* what the vCPU has */
	uint64_t gs_base;
	struct sbx_ctx *next;	/* in the address space's pool */
};

/*
 * One VM.  KVM cannot destroy a vCPU before its VM, so destroyed contexts
 * are parked in a pool and reused (ctx_lock guards pool and nvcpus; it is
 * never taken on the switch_to path).  Page tables and slots are edited
 * only by the address-space ops, which the core serialises.
 */
/* One donated-file mapping: guest [va, va+len) is window [w, w+len),
 * bytes [off, off+len) of the file @fd (the plugin's duplicate). */
struct kvm_fmap {
	uint64_t va, len, w, off;
	int fd;
};

struct sbx_as {
	struct sbx_platform *p;
	int vm;
	uint8_t *priv;		/* private memory, host view */
	uint32_t next_page;	/* bump allocator for page-table pages */
	uint8_t *slots;		/* memory-file chunks added as slots */
	uint8_t *win;		/* the file window, host view (NULL until
				   the first file mapping) */
	uint8_t *wslots;	/* window chunks added as slots */
	struct kvm_fmap *fm;	/* file mappings, sorted by va */
	size_t nfm, capfm;
	/* file mappings and their page tables: the as ops (serialised by
	 * the core) and a vCPU finding a shrunk file (kvm_file_shrunk) */
	pthread_mutex_t fm_lock;
	uint64_t zap_lo, zap_hi; /* guest-physical range to drop (kvm_zap) */
	pthread_mutex_t ctx_lock;
	int nvcpus;		/* vCPUs made (ids 0..nvcpus-1) */
	struct sbx_ctx *pool;	/* parked vCPUs, ready for ctx_create */
};

#define kvm_log(p, level, ...) \
	(p)->svc->log((level), "kvm", __VA_ARGS__)

static uint64_t *kvm_page(struct sbx_as *as, uint32_t pg)
{
	return (uint64_t *)(as->priv + (uint64_t)pg * KVM_PAGE);
}

static uint64_t kvm_pg_gpa(struct sbx_as *as, uint32_t pg)
{
	return as->p->priv_gpa + (uint64_t)pg * KVM_PAGE;
}

static bool kvm_canonical(uint64_t a)
{
	return a < 0x800000000000ULL || a >= 0xffff800000000000ULL;
}

/* ---- page tables -------------------------------------------------------- */

/*
 * Page tables are edited while other vCPUs of the VM may run and walk them
 * (the hardware walker on VMX/SVM, KVM's shadow walker on PVM), so every
 * edit keeps each entry valid at every instant:
 *  - an entry is written with one atomic 8-byte store or exchange, never
 *    built in place;
 *  - a new table is filled before the entry pointing to it is published
 *    (release store), so no walker sees a half-built table;
 *  - a leaf is replaced with an exchange, which returns the Accessed bit
 *    as it was at the instant of the change (walkers set it atomically
 *    before they cache the translation), so kvm_pt_set never misses one;
 *  - a page table, once linked, is never unlinked, freed or reused until
 *    the VM goes: a paging-structure cache or a PVM shadow page of the old
 *    table can never alias a new one.  A 2 MiB mapping over a range that
 *    has a table fills the table's 512 entries instead.
 * Edits themselves are serialised by the core (the address space's lock).
 */

static uint64_t pte_load(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_RELAXED);
}

/* pte_publish - point @e at a table the caller has finished filling */
static void pte_publish(uint64_t *e, uint64_t val)
{
	__atomic_store_n(e, val, __ATOMIC_RELEASE);
}

static uint64_t pte_xchg(uint64_t *e, uint64_t val)
{
	return __atomic_exchange_n(e, val, __ATOMIC_SEQ_CST);
}

static int kvm_pt_alloc(struct sbx_as *as, uint32_t *out)
{
	uint32_t pg;

	if (as->next_page >= KVM_PRIV_PAGES)
		return -ENOMEM;
	pg = as->next_page++;
	memset(kvm_page(as, pg), 0, KVM_PAGE);
	*out = pg;
	return 0;
}

/* the page-table page an intermediate @entry points to, host view */
static uint64_t *kvm_pt_next(struct sbx_as *as, uint64_t entry)
{
	return (uint64_t *)(as->priv + ((entry & PTE_ADDR) - as->p->priv_gpa));
}

static bool kvm_is_table(uint64_t entry)
{
	return (entry & PTE_P) && !(entry & PTE_PS);
}

/*
 * kvm_pt_split - replace the 2 MiB entry @e by a table of 512 entries with
 * the same frames and rights (nothing cached becomes wrong, so nothing is
 * dropped).  The small entries inherit the big one's Accessed bit as it
 * was when the table replaced it: a walker may set it between our copy
 * and the exchange.
 */
static int kvm_pt_split(struct sbx_as *as, uint64_t *e)
{
	uint64_t big = pte_load(e), old, *pt;
	uint32_t pg;
	int i, err;

	err = kvm_pt_alloc(as, &pg);
	if (err)
		return err;
	pt = kvm_page(as, pg);
	for (i = 0; i < 512; i++)
		pt[i] = ((big & PTE_ADDR & ~(KVM_HUGE - 1)) + i * KVM_PAGE) |
			(big & ~PTE_ADDR & ~PTE_PS);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	old = pte_xchg(e, kvm_pg_gpa(as, pg) | PTE_P | PTE_W | PTE_U);
	if ((old & PTE_A) && !(big & PTE_A))
		for (i = 0; i < 512; i++)
			__atomic_fetch_or(&pt[i], PTE_A, __ATOMIC_RELAXED);
	return 0;
}

/*
 * kvm_pt_walk - the entry for @va at @level (1: PTE, 2: PDE), creating the
 * tables above it when @alloc.  A 2 MiB entry met on the way to level 1 is
 * split into 512 PTEs first.  Return: NULL if absent (or out of memory,
 * *@err set).
 */
static uint64_t *kvm_pt_walk(struct sbx_as *as, uint64_t va, int level,
			     bool alloc, int *err)
{
	uint64_t *table = kvm_page(as, KVM_PG_PML4);
	int l;

	for (l = 4; l > level; l--) {
		uint64_t *e = &table[(va >> (12 + 9 * (l - 1))) & 511];
		uint64_t cur = pte_load(e);
		uint32_t pg;

		if (l == 2 && (cur & PTE_PS)) {
			if (!alloc)
				return NULL;
			if ((*err = kvm_pt_split(as, e)))
				return NULL;
		} else if (!(cur & PTE_P)) {
			if (!alloc)
				return NULL;
			if ((*err = kvm_pt_alloc(as, &pg)))
				return NULL;
			pte_publish(e, kvm_pg_gpa(as, pg) | PTE_P | PTE_W |
					       PTE_U);
		}
		table = kvm_pt_next(as, pte_load(e));
	}
	return &table[(va >> (12 + 9 * (level - 1))) & 511];
}

static uint64_t kvm_pte_bits(int prot)
{
	uint64_t b = PTE_MAPPED | PTE_U;

	if (prot & (PROT_READ | PROT_WRITE | PROT_EXEC))
		b |= PTE_P;
	if (prot & PROT_WRITE)
		b |= PTE_W;
	if (!(prot & PROT_EXEC))
		b |= PTE_NX;
	return b;
}

/*
 * kvm_zap - forget every guest translation to guest-physical range [@gpa,
 * +@len): MADV_DONTNEED on the plugin's own mapping of it (the data stays
 * in the memory file, or in the shared private memory) fires KVM's MMU
 * notifier, which drops each shadow (PVM) or EPT/NPT entry for those
 * frames and flushes the TLBs of every vCPU of every VM that maps them:
 * it IPIs the vCPUs in guest mode and waits until they have left it, and
 * none re-enters before flushing.  So when madvise returns, no vCPU of
 * this VM holds a stale translation, wherever it runs; the address-space
 * op returns only after that.  Ranges are batched per op
 * (kvm_zap_commit).
 */
static void *kvm_zap_host(struct sbx_as *as, uint64_t gpa)
{
	if (gpa >= as->p->win_gpa)
		return as->win + (gpa - as->p->win_gpa);
	if (gpa >= as->p->priv_gpa)
		return as->priv + (gpa - as->p->priv_gpa);
	return as->p->mem + gpa;
}

/* kvm_gpa_region - which host mapping backs @gpa (zaps never cross) */
static int kvm_gpa_region(struct sbx_as *as, uint64_t gpa)
{
	return gpa >= as->p->win_gpa ? 2 : gpa >= as->p->priv_gpa ? 1 : 0;
}

static int kvm_zap_commit(struct sbx_as *as)
{
	int err = 0;

	if (as->zap_hi > as->zap_lo &&
	    madvise(kvm_zap_host(as, as->zap_lo), as->zap_hi - as->zap_lo,
		    MADV_DONTNEED)) {
		err = -errno;
		kvm_log(as->p, SBX_LOG_ERROR,
			"madvise(MADV_DONTNEED) of [%#llx, %#llx): %s: stale translations may remain",
			(unsigned long long)as->zap_lo,
			(unsigned long long)as->zap_hi, strerror(-err));
	}
	as->zap_lo = as->zap_hi = 0;
	return err;
}

static void kvm_zap(struct sbx_as *as, uint64_t gpa, uint64_t len)
{
	if (as->zap_hi > as->zap_lo && gpa == as->zap_hi &&
	    kvm_gpa_region(as, as->zap_lo) == kvm_gpa_region(as, gpa)) {
		as->zap_hi += len;
		return;
	}
	kvm_zap_commit(as);
	as->zap_lo = gpa;
	as->zap_hi = gpa + len;
}

/*
 * kvm_pt_set - replace leaf entry @e (a PTE, or a 2 MiB PDE) by @val.
 * Any change to a present entry that was used (even an upgrade: a stale
 * read-only translation would give a spurious fault) drops the
 * translations of the old frame.  An entry without the Accessed bit was
 * never cached by a TLB nor shadowed by KVM (both set it first).
 */
static void kvm_pt_set(struct sbx_as *as, uint64_t *e, uint64_t val)
{
	uint64_t old;

	if (pte_load(e) == val)
		return;
	old = pte_xchg(e, val);
	/* never used (no Accessed bit): nothing can be cached */
	if (!(old & PTE_P) || !(old & PTE_A) || (old & ~PTE_AD) == val)
		return;
	if (old & PTE_PS)
		kvm_zap(as, old & PTE_ADDR & ~(KVM_HUGE - 1), KVM_HUGE);
	else
		kvm_zap(as, old & PTE_ADDR, KVM_PAGE);
}

/*
 * kvm_pt_map - map [@va, @va+@len) to guest-physical @gpa with @bits
 * (kvm_pte_bits), 2 MiB pages where possible.  @bits without PTE_MAPPED
 * unmaps.
 */
static int kvm_pt_map(struct sbx_as *as, uint64_t va, uint64_t len,
		      uint64_t gpa, uint64_t bits)
{
	uint64_t end = va + len;
	int err = 0;

	while (va < end) {
		uint64_t *e;

		if (!(va & (KVM_HUGE - 1)) && !(gpa & (KVM_HUGE - 1)) &&
		    end - va >= KVM_HUGE) {
			e = kvm_pt_walk(as, va, 2, true, &err);
			if (!e)
				return err ? err : -ENOMEM;
			if (!kvm_is_table(pte_load(e))) {
				kvm_pt_set(as, e, (bits & PTE_MAPPED) ?
						  gpa | bits | PTE_PS : 0);
				va += KVM_HUGE;
				gpa += KVM_HUGE;
				continue;
			}
			/* a page table is here: it stays; fill it below */
		}
		if (!(bits & PTE_MAPPED)) {
			/* unmapping: absent tables need nothing */
			uint64_t *pde = kvm_pt_walk(as, va, 2, false, &err);

			if (!pde || !(pte_load(pde) & (PTE_P | PTE_MAPPED))) {
				uint64_t next = (va | (KVM_HUGE - 1)) + 1;

				gpa += (next < end ? next : end) - va;
				va = next < end ? next : end;
				continue;
			}
		}
		e = kvm_pt_walk(as, va, 1, true, &err);
		if (!e)
			return err ? err : -ENOMEM;
		kvm_pt_set(as, e, (bits & PTE_MAPPED) ? gpa | bits : 0);
		va += KVM_PAGE;
		gpa += KVM_PAGE;
	}
	return 0;
}

/* kvm_pt_protect - new rights for the mapped pages of a range */
static int kvm_pt_protect(struct sbx_as *as, uint64_t va, uint64_t len,
			  int prot)
{
	uint64_t end = va + len, bits = kvm_pte_bits(prot);
	int err = 0;

	while (va < end) {
		uint64_t *pde = kvm_pt_walk(as, va, 2, false, &err);
		uint64_t next = (va | (KVM_HUGE - 1)) + 1, *e, cur;

		if (next > end)
			next = end;
		cur = pde ? pte_load(pde) : 0;
		if (!(cur & (PTE_P | PTE_MAPPED))) {
			va = next;
			continue;
		}
		if ((cur & PTE_PS) && !(va & (KVM_HUGE - 1)) &&
		    next - va == KVM_HUGE) {
			kvm_pt_set(as, pde, (cur & PTE_ADDR) | bits | PTE_PS);
			va = next;
			continue;
		}
		for (; va < next; va += KVM_PAGE) {
			e = kvm_pt_walk(as, va, 1, true, &err);
			if (!e)
				return err ? err : -ENOMEM;
			cur = pte_load(e);
			if (cur & PTE_MAPPED)
				kvm_pt_set(as, e, (cur & PTE_ADDR) | bits);
		}
	}
	return 0;
}

/* ---- VM and vCPU set-up ------------------------------------------------- */

static int kvm_slot(struct sbx_as *as, uint32_t slot, uint64_t gpa,
		    uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(as->vm, KVM_SET_USER_MEMORY_REGION, &r))
		return -errno;
	return 0;
}

/* kvm_need_chunks - memory slots for memory-file range [@off, @off+@len) */
static int kvm_need_chunks(struct sbx_as *as, uint64_t off, uint64_t len)
{
	struct sbx_platform *p = as->p;
	uint64_t c;
	int err;

	for (c = off / p->chunk; c <= (off + len - 1) / p->chunk; c++) {
		uint64_t size = p->mem_size - c * p->chunk;

		if (as->slots[c])
			continue;
		if (size > p->chunk)
			size = p->chunk;
		err = kvm_slot(as, 1 + c, c * p->chunk, size,
			       p->mem + c * p->chunk);
		if (err) {
			kvm_log(p, SBX_LOG_ERROR, "memory slot %llu: %s",
				(unsigned long long)c, strerror(-err));
			return err;
		}
		as->slots[c] = 1;
	}
	return 0;
}

/*
 * The private pages shared by all vCPUs: stubs, GDT, IDT, the kernel's
 * page tables, and the page tables of the per-vCPU areas (all of them,
 * so that adding a vCPU never edits a table another vCPU walks).
 */
static void kvm_priv_init(struct sbx_as *as)
{
	uint64_t *gdt = kvm_page(as, KVM_PG_GDT), *idt = kvm_page(as, KVM_PG_IDT);
	uint64_t tss_va = KVM_VA_CPU_TSS(0);
	uint64_t *pt, *pd;
	int i, c;

	memcpy(kvm_page(as, KVM_PG_USTUB), kvm_stub_user,
	       kvm_stub_end - kvm_stub_user);
	gdt[KVM_KERNEL_CS >> 3] = 0x00af9b000000ffffULL;
	gdt[KVM_KERNEL_DS >> 3] = 0x00cf93000000ffffULL;
	gdt[4] = 0x00cffb000000ffffULL; /* user code32 (STAR base) */
	gdt[KVM_USER_DS >> 3] = 0x00cff3000000ffffULL;
	gdt[KVM_USER_CS >> 3] = 0x00affb000000ffffULL;
	/*
	 * One TSS descriptor, for vCPU 0's TSS.  Nothing reads it: each
	 * vCPU's TR (base = its own TSS) is set from the host with its SREGS
	 * and never reloaded with ltr.
	 */
	gdt[KVM_TSS_SEL >> 3] = 0x0000890000000000ULL | KVM_TSS_LIMIT |
				((tss_va & 0xffffff) << 16) |
				(((tss_va >> 24) & 0xff) << 56);
	gdt[(KVM_TSS_SEL >> 3) + 1] = tss_va >> 32;
	for (i = 0; i < 32; i++) {
		uint64_t h = KVM_VA_KSTUB + KVM_EXC_OFF + 8 * i;

		idt[2 * i] = (h & 0xffff) | ((uint64_t)KVM_KERNEL_CS << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * i + 1] = h >> 32;
	}

	/* PML4[255] -> PDPT (shared with the top of the user range) */
	kvm_page(as, KVM_PG_PML4)[255] = kvm_pg_gpa(as, KVM_PG_KPDPT) | PTE_P |
					 PTE_W | PTE_U;
	/* PDPT[511] -> PD -> PT, supervisor, except the user stub page */
	kvm_page(as, KVM_PG_KPDPT)[511] = kvm_pg_gpa(as, KVM_PG_KPD) | PTE_P |
					  PTE_W | PTE_U;
	pd = kvm_page(as, KVM_PG_KPD);
	pd[0] = kvm_pg_gpa(as, KVM_PG_KPT) | PTE_P | PTE_W | PTE_U;
	pt = kvm_page(as, KVM_PG_KPT);
	pt[KVM_PG_USTUB] = kvm_pg_gpa(as, KVM_PG_USTUB) | PTE_P | PTE_U;
	pt[KVM_PG_KSTUB] = kvm_pg_gpa(as, KVM_PG_KSTUB) | PTE_P;
	pt[KVM_PG_GDT] = kvm_pg_gpa(as, KVM_PG_GDT) | PTE_P | PTE_W | PTE_NX;
	pt[KVM_PG_IDT] = kvm_pg_gpa(as, KVM_PG_IDT) | PTE_P | PTE_W | PTE_NX;

	/* per-vCPU areas: TSS and stack mapped, the guard page not */
	for (i = 0; i < KVM_CPU_PTS; i++)
		pd[1 + i] = kvm_pg_gpa(as, KVM_PG_CPU_PT + i) | PTE_P | PTE_W |
			    PTE_U;
	for (c = 0; c < KVM_MAX_VCPUS; c++) {
		uint32_t first = c * KVM_CPU_PAGES;

		pt = kvm_page(as, KVM_PG_CPU_PT + first / 512);
		for (i = 0; i < KVM_CPU_PAGES; i++)
			if (i != 1)
				pt[(first + i) % 512] =
					kvm_pg_gpa(as, KVM_PG_CPU + first + i) |
					PTE_P | PTE_W | PTE_NX;
	}
	as->next_page = KVM_PG_FIRST_FREE;
}

/* kvm_cpu_init - vCPU @id's TSS: its kernel stack, the I/O bitmap */
static void kvm_cpu_init(struct sbx_as *as, int id)
{
	uint8_t *tss = (uint8_t *)kvm_page(as, KVM_PG_CPU + id * KVM_CPU_PAGES);
	uint64_t rsp0 = KVM_VA_CPU_STACK_TOP(id);

	memset(tss, 0, KVM_PAGE);
	memcpy(tss + 4, &rsp0, 8);
	/*
	 * I/O bitmap: only KVM_PORT_SYSCALL, which the user stub needs where
	 * it runs in user mode (PVM checks the bitmap as a CPU would).
	 */
	tss[102] = 104;
	memset(tss + 104, 0xff, KVM_TSS_IOBM_BYTES);
	tss[104 + KVM_PORT_SYSCALL / 8] &= ~(1u << (KVM_PORT_SYSCALL % 8));
}

static int kvm_set_msrs(struct sbx_ctx *ctx, const uint32_t *idx,
			const uint64_t *val, int n)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[8];
	} m;
	int i, r;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = n;
	for (i = 0; i < n; i++) {
		m.e[i].index = idx[i];
		m.e[i].data = val[i];
	}
	r = ioctl(ctx->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return -errno;
	return r == n ? 0 : -EINVAL;
}

static void kvm_seg(struct kvm_segment *s, uint16_t sel, bool code, int dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->present = 1;
	s->s = 1;
	s->dpl = dpl;
	s->g = 1;
	s->type = code ? 11 : 3;
	s->l = code;
	s->db = !code;
}

/* kvm_vcpu_setup - the vCPU's whole state, from the host, once */
static int kvm_vcpu_setup(struct sbx_ctx *ctx)
{
	struct sbx_as *as = ctx->as;
	struct sbx_platform *p = as->p;
	static const uint32_t idx[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR,
					MSR_SFMASK, MSR_FS_BASE, MSR_GS_BASE };
	uint64_t val[] = { ((uint64_t)KVM_KERNEL_CS << 32) | (0x20ULL << 48),
			   KVM_VA_USTUB, KVM_VA_USTUB, 0x44700, 0, 0 };
	struct kvm_sregs s;
	struct kvm_xcrs xcrs;
	const char *what;

	what = "KVM_SET_CPUID2";
	if (ioctl(ctx->fd, KVM_SET_CPUID2, p->cpuid))
		goto fail;
	what = "KVM_GET_SREGS";
	if (ioctl(ctx->fd, KVM_GET_SREGS, &s))
		goto fail;
	kvm_seg(&s.cs, KVM_KERNEL_CS, true, 0);
	kvm_seg(&s.ss, KVM_KERNEL_DS, false, 0);
	kvm_seg(&s.ds, 0, false, 0);
	s.ds.present = 0;
	s.es = s.fs = s.gs = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = KVM_VA_CPU_TSS(ctx->id);
	s.tr.limit = KVM_TSS_LIMIT;
	s.tr.selector = KVM_TSS_SEL;
	s.tr.type = 11;
	s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.type = 2;
	s.ldt.unusable = 1;
	s.gdt.base = KVM_VA_BASE + KVM_PAGE * KVM_PG_GDT;
	s.gdt.limit = 0x4f;
	s.idt.base = KVM_VA_BASE + KVM_PAGE * KVM_PG_IDT;
	s.idt.limit = 32 * 16 - 1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = kvm_pg_gpa(as, KVM_PG_PML4);
	s.cr4 = p->cr4;
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	what = "KVM_SET_SREGS";
	if (ioctl(ctx->fd, KVM_SET_SREGS, &s))
		goto fail;
	what = "KVM_SET_MSRS";
	errno = -kvm_set_msrs(ctx, idx, val, 6);
	if (errno)
		goto fail;
	if (p->cr4 & CR4_OSXSAVE) {
		memset(&xcrs, 0, sizeof(xcrs));
		xcrs.nr_xcrs = 1;
		xcrs.xcrs[0].xcr = 0;
		xcrs.xcrs[0].value = p->xcr0;
		what = "KVM_SET_XCRS";
		if (ioctl(ctx->fd, KVM_SET_XCRS, &xcrs))
			goto fail;
	}
	/* the guest TSC is the host's, so the vDSO's rdtsc maths holds */
	{
		uint64_t zero = 0;
		struct kvm_device_attr a = {
			.group = KVM_VCPU_TSC_CTRL,
			.attr = KVM_VCPU_TSC_OFFSET,
			.addr = (uintptr_t)&zero,
		};

		(void)ioctl(ctx->fd, KVM_SET_DEVICE_ATTR, &a);
	}

	ctx->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	ctx->in_user = false;
	return 0;
fail:
	kvm_log(p, SBX_LOG_ERROR, "vCPU set-up: %s: %s", what, strerror(errno));
	return -errno ? -errno : -EINVAL;
}

/*
 * kvm_vcpu_bind - make the calling thread the one that runs @ctx.
 * interrupt() signals it with KVM_INTR_SIG, which it keeps blocked except
 * inside KVM_RUN (the vCPU's KVM_SET_SIGNAL_MASK is the thread's mask
 * without it): a kick sent at any time either stops KVM_RUN or makes the
 * next one return -EINTR at once, and never interrupts the core's own host
 * calls.  The mask is set again only when it differs from the vCPU's
 * (a pooled vCPU taken by another thread).
 */
static int kvm_vcpu_bind(struct sbx_ctx *ctx)
{
	struct {
		struct kvm_signal_mask h;
		uint8_t set[8];
	} sm;
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, KVM_INTR_SIG);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sigdelset(&old, KVM_INTR_SIG);
	ctx->tid = gettid();
	if (ctx->mask_set && !memcmp(&ctx->kvm_mask, &old, 8))
		return 0;
	memset(&sm, 0, sizeof(sm));
	sm.h.len = 8;
	memcpy(sm.set, &old, 8);
	if (ioctl(ctx->fd, KVM_SET_SIGNAL_MASK, &sm)) {
		int err = -errno;

		kvm_log(ctx->as->p, SBX_LOG_ERROR, "KVM_SET_SIGNAL_MASK: %s",
			strerror(-err));
		return err;
	}
	memcpy(&ctx->kvm_mask, &old, 8);
	ctx->mask_set = true;
	return 0;
}

/* ---- contexts (declared early: the self-test uses them) ----------------- */

static int kvm_as_create(struct sbx_platform *p, struct sbx_as **out);
static void kvm_as_destroy(struct sbx_as *as);
static int kvm_ctx_create(struct sbx_as *as, struct sbx_ctx **out);
static void kvm_ctx_destroy(struct sbx_ctx *ctx);
static int kvm_switch_to(struct sbx_ctx *ctx, struct sbx_regs *regs,
			 struct sbx_exit *exit);
static int kvm_interrupt(struct sbx_ctx *ctx);
static void kvm_drain_kick(void);

/* ---- the self-test ------------------------------------------------------ */

struct kvm_watchdog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, fired;
	struct sbx_ctx *ctx;
};

static void *kvm_watchdog_main(void *arg)
{
	struct kvm_watchdog *w = arg;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += KVM_PROBE_MS / 1000;
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) ==
		    ETIMEDOUT) {
			w->fired = true;
			if (w->ctx)
				kvm_interrupt(w->ctx);
			ts.tv_sec += 1; /* and again, until it lets go */
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * kvm_selftest - run `syscall; ud2` in a throw-away VM: one system call
 * exit (which tells whether LSTAR runs in user mode) and one #UD.
 */
static int kvm_selftest(struct sbx_platform *p, const char **what)
{
	static const uint8_t code[] = { 0xb8, 0x27, 0, 0, 0, /* mov $39,%eax */
					0x0f, 0x05,	    /* syscall */
					0x0f, 0x0b };	    /* ud2 */
	struct kvm_watchdog w = { .lock = PTHREAD_MUTEX_INITIALIZER,
				  .cond = PTHREAD_COND_INITIALIZER };
	pthread_condattr_t ca;
	struct sbx_regs r;
	struct sbx_exit e = { .size = sizeof(e) };
	struct sbx_as *as;
	struct sbx_ctx *ctx;
	pthread_t th;
	int err;

	sigset_t mask;

	/* ctx_create blocks our signal in this thread: not for good */
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	*what = "creating a VM";
	err = kvm_as_create(p, &as);
	if (err)
		return err;
	memcpy(kvm_page(as, KVM_PG_PROBE), code, sizeof(code));
	err = kvm_pt_map(as, 0x400000, KVM_PAGE, kvm_pg_gpa(as, KVM_PG_PROBE),
			 kvm_pte_bits(PROT_READ | PROT_EXEC));
	*what = "creating a vCPU";
	if (!err)
		err = kvm_ctx_create(as, &ctx);
	if (err)
		goto out_as;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	w.ctx = ctx;
	*what = "starting the watchdog";
	err = -pthread_create(&th, NULL, kvm_watchdog_main, &w);
	if (err)
		goto out_ctx;

	memset(&r, 0, sizeof(r));
	r.rip = 0x400000;
	r.rsp = 0x401000;
	r.cs = KVM_USER_CS;
	r.ss = KVM_USER_DS;
	r.eflags = 0x202;
	*what = "the guest self-test (syscall)";
	err = kvm_switch_to(ctx, &r, &e);
	if (!err && (e.kind != SBX_EXIT_SYSCALL || r.orig_rax != 39 ||
		     r.rip != 0x400007))
		err = -EIO;
	if (!err) {
		p->sys_user = ctx->in_user;
		*what = "the guest self-test (exception)";
		err = kvm_switch_to(ctx, &r, &e);
		if (!err && (e.kind != SBX_EXIT_FAULT || e.signo != SIGILL ||
			     r.rip != 0x400007))
			err = -EIO;
	}
	pthread_mutex_lock(&w.lock);
	w.done = true;
	if (w.fired)
		err = -ETIMEDOUT;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(th, NULL);
	if (err == -EIO)
		kvm_log(p, SBX_LOG_DEBUG,
			"self-test: exit kind %u signo %d rip %#llx",
			e.kind, e.signo, (unsigned long long)r.rip);
out_ctx:
	pthread_cond_destroy(&w.cond);
	kvm_ctx_destroy(ctx);
out_as:
	kvm_drain_kick();
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (!err) {
		err = kvm_pt_map(as, 0x400000, KVM_PAGE, 0, 0);
		kvm_zap_commit(as);
	}
	if (err) {
		kvm_as_destroy(as);
		return err;
	}
	/* a VM costs ~1 ms to make here: the first as_create takes this one */
	atomic_store(&p->spare, as);
	return 0;
}

/* ---- init/fini/describe/seccomp_rules ----------------------------------- */

static void kvm_sig_nop(int sig)
{
	(void)sig;
}

static int kvm_probe_host(struct sbx_platform *p, const char **what)
{
	unsigned a, b, c, d;
	int n, r;

	*what = "KVM_GET_API_VERSION";
	r = ioctl(p->kvm, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		kvm_log(p, SBX_LOG_ERROR,
			"kvm: /dev/kvm has API version %d, want %d; use platform: systrap",
			r, KVM_API_VERSION);
		*what = NULL; /* said */
		return -ENODEV;
	}
	*what = "KVM_CAP_SYNC_REGS";
	r = ioctl(p->kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (r < 0 || (r & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) !=
			     (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS))
		return -ENODEV;
	*what = "KVM_CAP_NR_MEMSLOTS";
	n = ioctl(p->kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (n < 2)
		return -ENODEV;
	/* slots: private, the memory file's chunks, as many for the
	 * file window (as large as the memory file) */
	p->chunk = KVM_CHUNK_MIN;
	while (2 * (p->mem_size / p->chunk + 1) + 1 > (uint64_t)n)
		p->chunk <<= 1;
	p->nchunks = (p->mem_size + p->chunk - 1) / p->chunk;
	p->priv_gpa = (p->mem_size + KVM_CHUNK_MIN - 1) & ~(KVM_CHUNK_MIN - 1);
	p->win_gpa = (p->priv_gpa + KVM_PRIV_SIZE + p->chunk - 1) &
		     ~(p->chunk - 1);
	p->win_size = (uint64_t)p->nchunks * p->chunk;
	/* vCPUs per VM: KVM's limit bounds ours (and the option's) */
	*what = "KVM_CAP_MAX_VCPUS";
	n = ioctl(p->kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(p->kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (n <= 0)
		return -ENODEV;
	if (n < p->max_vcpus)
		p->max_vcpus = n;
	r = ioctl(p->kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	if (r > 0 && r < p->max_vcpus)
		p->max_vcpus = r;
	*what = "KVM_GET_VCPU_MMAP_SIZE";
	p->run_size = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (p->run_size <= 0)
		return -ENODEV;
	*what = "KVM_GET_SUPPORTED_CPUID";
	p->cpuid = calloc(1, sizeof(*p->cpuid) +
				     256 * sizeof(struct kvm_cpuid_entry2));
	if (!p->cpuid)
		return -ENOMEM;
	p->cpuid->nent = 256;
	if (ioctl(p->kvm, KVM_GET_SUPPORTED_CPUID, p->cpuid))
		return -ENODEV;

	p->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	__cpuid(1, a, b, c, d);
	if (c & (1u << 27)) { /* OSXSAVE: the host uses XSAVE */
		uint32_t lo, hi;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		p->xcr0 = ((uint64_t)hi << 32) | lo;
		p->cr4 |= CR4_OSXSAVE;
		__cpuid_count(0xd, 0, a, b, c, d);
		p->xsave_size = b > KVM_XSAVE_SIZE ? KVM_XSAVE_SIZE : (int)b;
	} else {
		p->xsave_size = 512;
	}
	if (p->xsave_size < 576 && p->xsave_size != 512)
		p->xsave_size = 512;
	return 0;
}

static int kvm_init(const struct sbx_services *svc,
		    const struct sbx_options *opts, struct sbx_platform **out)
{
	struct sbx_platform *p;
	struct sigaction sa;
	const char *key, *value, *what = "";
	size_t iter = 0;
	struct stat st;
	int err;

	if (svc->size < offsetof(struct sbx_services, memfd) + sizeof(int))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->svc = svc;
	p->max_vcpus = KVM_MAX_VCPUS;
	while (opts && svc->option_next &&
	       svc->option_next(opts, &iter, &key, &value) == 1) {
		uint64_t v;

		if (strcmp(key, "max_threads")) {
			err = svc->option_error(opts, key,
						"unknown option of the kvm platform (known: max_threads)");
			free(p);
			return err;
		}
		err = svc->option_u64(opts, key, &v);
		if (!err && (v < 1 || v > KVM_MAX_VCPUS))
			err = svc->option_error(opts, key,
						"must be 1 to %d (vCPUs per VM)",
						KVM_MAX_VCPUS);
		if (err) {
			free(p);
			return err;
		}
		p->max_vcpus = (int)v;
	}
	p->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm < 0) {
		err = errno;
		kvm_log(p, SBX_LOG_ERROR, "kvm: /dev/kvm: %s%s; use platform: systrap",
			strerror(err),
			err == ENOENT ? " (no KVM on this host, or not in this container)" :
			err == EACCES || err == EPERM ? " (not in the kvm group?)" : "");
		free(p);
		return -ENODEV;
	}
	if (fstat(svc->memfd, &st)) {
		err = -errno;
		goto out_close;
	}
	p->mem_size = st.st_size & ~(KVM_PAGE - 1);
	if (!p->mem_size) {
		err = -EINVAL;
		goto out_close;
	}
	p->mem = mmap(NULL, p->mem_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_NORESERVE, svc->memfd, 0);
	if (p->mem == MAP_FAILED) {
		err = -errno;
		kvm_log(p, SBX_LOG_ERROR, "mmap memory file: %s", strerror(-err));
		goto out_close;
	}
	err = kvm_probe_host(p, &what);
	if (err) {
		if (err == -ENODEV && what)
			kvm_log(p, SBX_LOG_ERROR,
				"kvm: %s failed; use platform: systrap", what);
		goto out_unmap;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvm_sig_nop;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(KVM_INTR_SIG, &sa, NULL)) {
		err = -errno;
		goto out_unmap;
	}
	err = kvm_selftest(p, &what);
	if (err) {
		kvm_log(p, SBX_LOG_ERROR, "kvm: %s: %s; use platform: systrap",
			what, err == -ETIMEDOUT ? "no answer in 2 s" :
			err == -EIO ? "wrong exit" : strerror(-err));
		err = -ENODEV;
		goto out_unmap;
	}
	kvm_log(p, SBX_LOG_DEBUG,
		"memory file %llu MiB in %u slots, LSTAR in %s mode, xsave %d bytes",
		(unsigned long long)(p->mem_size >> 20), p->nchunks,
		p->sys_user ? "user (PVM)" : "kernel", p->xsave_size);
	*out = p;
	return 0;

out_unmap:
	munmap(p->mem, p->mem_size);
out_close:
	close(p->kvm);
	free(p->cpuid);
	free(p);
	return err;
}

static void kvm_fini(struct sbx_platform *p)
{
	if (!p)
		return;
	kvm_as_destroy(atomic_exchange(&p->spare, NULL));
	munmap(p->mem, p->mem_size);
	close(p->kvm);
	free(p->cpuid);
	free(p->xsave_init);
	free(p);
}

static int kvm_describe(struct sbx_platform *p, struct sbx_platform_info *info)
{
	if (info->size < sizeof(*info))
		return -EINVAL;
	info->flags = SBX_PLATFORM_NEEDS_KVM | SBX_PLATFORM_MULTI_AS |
		      SBX_PLATFORM_MULTI_CTX;
	info->max_threads = p->max_vcpus;
	info->user_min = KVM_USER_MIN;
	info->user_max = KVM_USER_MAX;
	return 0;
}

/* The host calls made after start-up: VM and vCPU ioctls, memory, kicks. */
static int kvm_seccomp_rules(struct sbx_platform *p, void *scmp_ctx)
{
	static const int calls[] = {
		SCMP_SYS(mmap),	       SCMP_SYS(munmap),
		SCMP_SYS(madvise),
		SCMP_SYS(close),       SCMP_SYS(tgkill),
		/* donated files: the plugin's duplicates, measured */
		SCMP_SYS(fcntl),       SCMP_SYS(fstat),
		SCMP_SYS(mprotect),
		SCMP_SYS(getpid),      SCMP_SYS(gettid),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigtimedwait),
	};
	static const unsigned long ioctls[] = {
		KVM_CREATE_VM,	       KVM_SET_USER_MEMORY_REGION,
		KVM_CREATE_VCPU,       KVM_SET_CPUID2,
		KVM_GET_SREGS,	       KVM_SET_SREGS,
		KVM_SET_MSRS,	       KVM_SET_XCRS,
		KVM_SET_DEVICE_ATTR,   KVM_SET_SIGNAL_MASK,
		KVM_RUN,	       KVM_GET_XSAVE,
		KVM_SET_XSAVE,
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		err = seccomp_rule_add(scmp_ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (err)
			goto fail;
	}
	for (i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		err = seccomp_rule_add(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
				       1, SCMP_A1(SCMP_CMP_EQ, ioctls[i]));
		if (err)
			goto fail;
	}
	return 0;
fail:
	kvm_log(p, SBX_LOG_ERROR, "seccomp_rule_add: %s", strerror(-err));
	return err;
}

/* ---- address spaces ----------------------------------------------------- */

static int kvm_as_create(struct sbx_platform *p, struct sbx_as **out)
{
	struct sbx_as *as = atomic_exchange(&p->spare, NULL);
	int err;

	if (as) {
		*out = as;
		return 0;
	}
	as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	as->p = p;
	pthread_mutex_init(&as->ctx_lock, NULL);
	pthread_mutex_init(&as->fm_lock, NULL);
	as->slots = calloc(p->nchunks, 1);
	if (!as->slots) {
		err = -ENOMEM;
		goto out_free;
	}
	as->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
	if (as->vm < 0) {
		err = -errno;
		kvm_log(p, SBX_LOG_ERROR, "KVM_CREATE_VM: %s", strerror(-err));
		goto out_free;
	}
	as->priv = mmap(NULL, KVM_PRIV_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (as->priv == MAP_FAILED) {
		err = -errno;
		goto out_vm;
	}
	kvm_priv_init(as);
	err = kvm_slot(as, KVM_PRIV_SLOT, p->priv_gpa, KVM_PRIV_SIZE, as->priv);
	if (err) {
		kvm_log(p, SBX_LOG_ERROR, "private memory slot: %s",
			strerror(-err));
		goto out_unmap;
	}
	*out = as;
	return 0;

out_unmap:
	munmap(as->priv, KVM_PRIV_SIZE);
out_vm:
	close(as->vm);
out_free:
	free(as->slots);
	pthread_mutex_destroy(&as->ctx_lock);
	pthread_mutex_destroy(&as->fm_lock);
	free(as);
	return err;
}

static int kvm_check_range(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	if ((addr | len) & (KVM_PAGE - 1) || len == 0 ||
	    addr < KVM_USER_MIN || addr >= KVM_USER_MAX ||
	    len > KVM_USER_MAX - addr) {
		kvm_log(as->p, SBX_LOG_ERROR,
			"range [%#llx, +%#llx) outside the user range",
			(unsigned long long)addr, (unsigned long long)len);
		return -EINVAL;
	}
	return 0;
}

/* ---- the file window ---- */

/* kvm_win_reserve - reserve the window's host range at its first use */
static int kvm_win_reserve(struct sbx_as *as)
{
	struct sbx_platform *p = as->p;
	void *m;

	if (as->win)
		return 0;
	as->wslots = calloc(p->nchunks, 1);
	if (!as->wslots)
		return -ENOMEM;
	m = mmap(NULL, p->win_size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		free(as->wslots);
		as->wslots = NULL;
		return -errno;
	}
	as->win = m;
	return 0;
}

/* kvm_need_wchunks - memory slots for window range [@w, @w+@len) */
static int kvm_need_wchunks(struct sbx_as *as, uint64_t w, uint64_t len)
{
	struct sbx_platform *p = as->p;
	int err;

	for (uint64_t c = w / p->chunk; c <= (w + len - 1) / p->chunk; c++) {
		if (as->wslots[c])
			continue;
		err = kvm_slot(as, 1 + p->nchunks + c, p->win_gpa + c * p->chunk,
			       p->chunk, as->win + c * p->chunk);
		if (err) {
			kvm_log(p, SBX_LOG_ERROR, "file window slot %llu: %s",
				(unsigned long long)c, strerror(-err));
			return err;
		}
		as->wslots[c] = 1;
	}
	return 0;
}

/* kvm_win_alloc - the lowest free window offset for @len bytes */
static int kvm_win_alloc(struct sbx_as *as, uint64_t len, uint64_t *out)
{
	uint64_t at = 0;
	bool moved = true;

	while (moved) {
		moved = false;
		for (size_t i = 0; i < as->nfm; i++) {
			const struct kvm_fmap *f = &as->fm[i];

			if (f->w < at + len && at < f->w + f->len) {
				at = f->w + f->len;
				moved = true;
			}
		}
	}
	if (at + len > as->p->win_size || at + len < at)
		return -ENOMEM;
	*out = at;
	return 0;
}

/* kvm_win_release - the file leaves window range [@w, @w+@len) */
static void kvm_win_release(struct sbx_as *as, uint64_t w, uint64_t len)
{
	if (mmap(as->win + w, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		kvm_log(as->p, SBX_LOG_WARN, "file window release: %s",
			strerror(errno));
}

/* kvm_fm_reserve - room for @extra more file mappings */
static int kvm_fm_reserve(struct sbx_as *as, size_t extra)
{
	struct kvm_fmap *n;
	size_t cap;

	if (as->nfm + extra <= as->capfm)
		return 0;
	cap = as->capfm ? as->capfm * 2 : 16;
	while (cap < as->nfm + extra)
		cap *= 2;
	n = realloc(as->fm, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	as->fm = n;
	as->capfm = cap;
	return 0;
}

/*
 * kvm_fm_cut - guest range [@va, @va+@len) no longer maps any file (its
 * page tables already say so, and the zap is committed): give the window
 * ranges behind it back.  Room for one more entry is reserved.
 */
static void kvm_fm_cut(struct sbx_as *as, uint64_t va, uint64_t len)
{
	uint64_t end = va + len;

	for (size_t i = 0; i < as->nfm;) {
		struct kvm_fmap *f = &as->fm[i];
		uint64_t fe = f->va + f->len;
		uint64_t s = f->va > va ? f->va : va, e = fe < end ? fe : end;

		if (s >= e) {
			i++;
			continue;
		}
		kvm_win_release(as, f->w + (s - f->va), e - s);
		if (s == f->va && e == fe) {
			close(f->fd);
			memmove(f, f + 1, (as->nfm - i - 1) * sizeof(*f));
			as->nfm--;
			continue;
		}
		if (s > f->va && e < fe) {
			/* the middle: keep both ends (each with an fd; without
			 * one the tail is only never re-measured) */
			memmove(f + 1, f, (as->nfm - i) * sizeof(*f));
			as->nfm++;
			f[1].va = e;
			f[1].w = f->w + (e - f->va);
			f[1].off = f->off + (e - f->va);
			f[1].len = fe - e;
			f[1].fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
			f->len = s - f->va;
			i += 2;
			continue;
		}
		if (s == f->va) {
			/* the head goes */
			f->w += e - f->va;
			f->off += e - f->va;
			f->va = e;
			f->len = fe - e;
		} else {
			/* the tail goes */
			f->len = s - f->va;
		}
		i++;
	}
}

/* kvm_fm_insert - record guest [@va, +@len) -> window @w, file @fd at
 * @off (the plugin's own fd, now the entry's); room reserved */
static void kvm_fm_insert(struct sbx_as *as, uint64_t va, uint64_t len,
			  uint64_t w, uint64_t off, int fd)
{
	size_t i = 0;

	while (i < as->nfm && as->fm[i].va < va)
		i++;
	memmove(&as->fm[i + 1], &as->fm[i], (as->nfm - i) * sizeof(as->fm[0]));
	as->fm[i] = (struct kvm_fmap){ va, len, w, off, fd };
	as->nfm++;
}

/* kvm_file_mapped - how many bytes from @off of file @fd lie before its
 * end (page rounded), at most @len */
static uint64_t kvm_file_mapped(int fd, uint64_t off, uint64_t len)
{
	struct stat st;
	uint64_t eof;

	if (fd < 0 || fstat(fd, &st))
		return len; /* unknown: as mapped */
	eof = ((uint64_t)st.st_size + KVM_PAGE - 1) & ~(KVM_PAGE - 1);
	if (eof <= off)
		return 0;
	return eof - off < len ? eof - off : len;
}

/*
 * kvm_file_shrunk - KVM_RUN failed with EFAULT: if a mapped file has
 * shrunk, take its pages past the new end out of the page tables (the
 * vCPU then page-faults there, and the core sends SIGBUS).  Return: true
 * if any were, so that running again makes progress.
 */
static bool kvm_file_shrunk(struct sbx_as *as)
{
	bool any = false;

	pthread_mutex_lock(&as->fm_lock);
	for (size_t i = 0; i < as->nfm; i++) {
		struct kvm_fmap *f = &as->fm[i];
		uint64_t keep = kvm_file_mapped(f->fd, f->off, f->len);

		if (keep < f->len) {
			kvm_pt_map(as, f->va + keep, f->len - keep, 0, 0);
			any = true;
		}
	}
	kvm_zap_commit(as);
	pthread_mutex_unlock(&as->fm_lock);
	return any;
}

/*
 * kvm_fm_protect - give the window's host mappings behind [@va, +@len)
 * write access (@write) or take it away: KVM maps guest pages writable
 * only where the host mapping is.
 */
static int kvm_fm_protect(struct sbx_as *as, uint64_t va, uint64_t len,
			  bool write)
{
	uint64_t end = va + len;

	for (size_t i = 0; i < as->nfm; i++) {
		const struct kvm_fmap *f = &as->fm[i];
		uint64_t s = f->va > va ? f->va : va;
		uint64_t e = f->va + f->len < end ? f->va + f->len : end;

		if (s < e && mprotect(as->win + f->w + (s - f->va), e - s,
				      PROT_READ | (write ? PROT_WRITE : 0)))
			return -errno;
	}
	return 0;
}

/* kvm_fm_va - the guest address of window offset @w, or 0 */
static uint64_t kvm_fm_va(struct sbx_as *as, uint64_t w)
{
	for (size_t i = 0; i < as->nfm; i++)
		if (w >= as->fm[i].w && w - as->fm[i].w < as->fm[i].len)
			return as->fm[i].va + (w - as->fm[i].w);
	return 0;
}

/*
 * kvm_map_file - as_map of a donated file: mmap it into a free window
 * range, make sure the window's slots exist there, point the page tables
 * at it, then give back the window ranges of files it replaced.
 */
static int kvm_map_file(struct sbx_as *as, uint64_t addr, uint64_t len,
			int prot, int fd, uint64_t offset, uint32_t flags)
{
	struct sbx_platform *p = as->p;
	uint64_t w, keep;
	int err, zerr, dfd;

	err = kvm_win_reserve(as);
	if (err)
		return err;
	err = kvm_fm_reserve(as, 2);
	if (err)
		return err;
	err = kvm_win_alloc(as, len, &w);
	if (err)
		return err;
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return -errno;
	if (mmap(as->win + w, len, PROT_READ | (prot & PROT_WRITE),
		 MAP_FIXED | (flags == SBX_MAP_SHARED ? MAP_SHARED : MAP_PRIVATE),
		 fd, (off_t)offset) == MAP_FAILED) {
		err = -errno;
		goto out_release;
	}
	err = kvm_need_wchunks(as, w, len);
	if (err)
		goto out_release;
	/* pages past the end of the file stay out (see the file comment) */
	keep = kvm_file_mapped(dfd, offset, len);
	err = kvm_pt_map(as, addr, keep, p->win_gpa + w, kvm_pte_bits(prot));
	if (!err && keep < len)
		err = kvm_pt_map(as, addr + keep, len - keep, 0, 0);
	zerr = kvm_zap_commit(as);
	kvm_fm_cut(as, addr, len);
	kvm_fm_insert(as, addr, len, w, offset, dfd);
	return err ? err : zerr;

out_release:
	kvm_win_release(as, w, len);
	close(dfd);
	return err;
}

/*
 * The address-space ops may run while other vCPUs of the VM run: each
 * returns only after kvm_zap_commit, so a removed or downgraded mapping is
 * gone from every vCPU's TLB when the core goes on (see kvm_zap).
 */
static int kvm_as_map_locked(struct sbx_as *as, uint64_t addr, uint64_t len,
			     int prot, int fd, uint64_t offset, uint32_t flags)
{
	struct sbx_platform *p = as->p;
	int err, zerr;

	err = kvm_check_range(as, addr, len);
	if (err)
		return err;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC) ||
	    (flags != SBX_MAP_SHARED && flags != SBX_MAP_PRIVATE) ||
	    offset & (KVM_PAGE - 1))
		return -EINVAL;
	if (fd != p->svc->memfd)
		return kvm_map_file(as, addr, len, prot, fd, offset, flags);
	if (offset >= p->mem_size || len > p->mem_size - offset)
		return -EINVAL;
	err = kvm_fm_reserve(as, 1);
	if (err)
		return err;
	err = kvm_need_chunks(as, offset, len);
	if (err)
		return err;
	err = kvm_pt_map(as, addr, len, offset, kvm_pte_bits(prot));
	zerr = kvm_zap_commit(as);
	kvm_fm_cut(as, addr, len);
	return err ? err : zerr;
}

static int kvm_as_unmap_locked(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	int err = kvm_check_range(as, addr, len), zerr;

	if (err)
		return err;
	err = kvm_fm_reserve(as, 1);
	if (err)
		return err;
	err = kvm_pt_map(as, addr, len, 0, 0);
	zerr = kvm_zap_commit(as);
	kvm_fm_cut(as, addr, len);
	return err ? err : zerr;
}

static int kvm_as_protect_locked(struct sbx_as *as, uint64_t addr,
				 uint64_t len, int prot)
{
	int err = kvm_check_range(as, addr, len), zerr;

	if (err)
		return err;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	/* file pages: the host mapping gains write access before the page
	 * tables do, and loses it after */
	if (prot & PROT_WRITE) {
		err = kvm_fm_protect(as, addr, len, true);
		if (err)
			return err;
	}
	err = kvm_pt_protect(as, addr, len, prot);
	zerr = kvm_zap_commit(as);
	if (!(prot & PROT_WRITE) && !err && !zerr)
		err = kvm_fm_protect(as, addr, len, false);
	return err ? err : zerr;
}

static int kvm_as_map(struct sbx_as *as, uint64_t addr, uint64_t len,
		      int prot, int fd, uint64_t offset, uint32_t flags)
{
	int err;

	pthread_mutex_lock(&as->fm_lock);
	err = kvm_as_map_locked(as, addr, len, prot, fd, offset, flags);
	pthread_mutex_unlock(&as->fm_lock);
	return err;
}

static int kvm_as_unmap(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	int err;

	pthread_mutex_lock(&as->fm_lock);
	err = kvm_as_unmap_locked(as, addr, len);
	pthread_mutex_unlock(&as->fm_lock);
	return err;
}

static int kvm_as_protect(struct sbx_as *as, uint64_t addr, uint64_t len,
			  int prot)
{
	int err;

	pthread_mutex_lock(&as->fm_lock);
	err = kvm_as_protect_locked(as, addr, len, prot);
	pthread_mutex_unlock(&as->fm_lock);
	return err;
}

static void kvm_vcpu_free(struct sbx_ctx *ctx)
{
	munmap(ctx->run, ctx->as->p->run_size);
	close(ctx->fd);
	free(ctx);
}

static void kvm_as_destroy(struct sbx_as *as)
{
	struct sbx_ctx *ctx;

	if (!as)
		return;
	while ((ctx = as->pool)) {
		as->pool = ctx->next;
		kvm_vcpu_free(ctx);
	}
	close(as->vm);
	munmap(as->priv, KVM_PRIV_SIZE);
	for (size_t i = 0; i < as->nfm; i++)
		close(as->fm[i].fd);
	if (as->win)
		munmap(as->win, as->p->win_size);
	pthread_mutex_destroy(&as->fm_lock);
	free(as->wslots);
	free(as->fm);
	free(as->slots);
	pthread_mutex_destroy(&as->ctx_lock);
	free(as);
}

/* ---- contexts and switch_to --------------------------------------------- */

/* kvm_vcpu_new - vCPU @id of @as, set up from the host (ctx_lock held) */
static int kvm_vcpu_new(struct sbx_as *as, int id, struct sbx_ctx **out)
{
	struct sbx_platform *p = as->p;
	struct sbx_ctx *ctx;
	int err;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->as = as;
	ctx->id = id;
	kvm_cpu_init(as, id);
	ctx->fd = ioctl(as->vm, KVM_CREATE_VCPU, id);
	if (ctx->fd < 0) {
		err = -errno;
		kvm_log(p, SBX_LOG_ERROR, "KVM_CREATE_VCPU %d: %s", id,
			strerror(-err));
		free(ctx);
		/* EINVAL: past what this host's KVM takes after all */
		return err == -EINVAL ? -EAGAIN : err;
	}
	as->nvcpus++; /* the id is KVM's now, whatever follows */
	ctx->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			ctx->fd, 0);
	if (ctx->run == MAP_FAILED) {
		err = -errno;
		close(ctx->fd);
		free(ctx);
		return err;
	}
	err = kvm_vcpu_setup(ctx);
	if (!err && !p->xsave_init) {
		/* the state every reused vCPU starts from again */
		struct kvm_xsave *x = malloc(sizeof(*x));

		if (x && ioctl(ctx->fd, KVM_GET_XSAVE, x) == 0)
			p->xsave_init = x;
		else
			free(x);
	}
	if (err) {
		kvm_vcpu_free(ctx);
		return err;
	}
	*out = ctx;
	return 0;
}

/*
 * kvm_vcpu_reuse - a parked vCPU for a new thread: what the previous one
 * left behind goes (pending kick, FPU state); registers, segment bases and
 * the rest are set by every switch_to anyway.
 */
static int kvm_vcpu_reuse(struct sbx_ctx *ctx)
{
	struct sbx_platform *p = ctx->as->p;

	atomic_store(&ctx->pending, 0);
	if (p->xsave_init && ioctl(ctx->fd, KVM_SET_XSAVE, p->xsave_init))
		return -errno;
	return 0;
}

/*
 * A context is a parked vCPU of the VM if there is one, else a new vCPU
 * (ids 0, 1, ...: each also names its per-vCPU area), up to max_vcpus;
 * past that, -EAGAIN (clone's errno for "too many threads").
 */
static int kvm_ctx_create(struct sbx_as *as, struct sbx_ctx **out)
{
	struct sbx_ctx *ctx = NULL;
	bool fresh = false;
	int err = 0;

	pthread_mutex_lock(&as->ctx_lock);
	if (as->pool) {
		ctx = as->pool;
		as->pool = ctx->next;
		ctx->next = NULL;
	} else if (as->nvcpus >= as->p->max_vcpus) {
		err = -EAGAIN;
	} else {
		err = kvm_vcpu_new(as, as->nvcpus, &ctx);
		fresh = true;
	}
	pthread_mutex_unlock(&as->ctx_lock);
	if (err) {
		if (err == -EAGAIN)
			kvm_log(as->p, SBX_LOG_DEBUG,
				"ctx_create: all %d vCPUs of the VM in use",
				as->nvcpus);
		return err;
	}
	err = fresh ? 0 : kvm_vcpu_reuse(ctx);
	if (!err)
		err = kvm_vcpu_bind(ctx);
	if (err) {
		kvm_log(as->p, SBX_LOG_ERROR, "ctx_create: vCPU %d: %s",
			ctx->id, strerror(-err));
		ctx->dead = true;
		kvm_ctx_destroy(ctx);
		return err;
	}
	*out = ctx;
	return 0;
}

/*
 * ctx_destroy parks the vCPU for the next ctx_create of this VM; a vCPU
 * whose state is unknown (dead) is closed instead (its id stays used:
 * KVM keeps it until the VM goes).
 */
static void kvm_ctx_destroy(struct sbx_ctx *ctx)
{
	struct sbx_as *as;

	if (!ctx)
		return;
	as = ctx->as;
	if (ctx->dead) {
		kvm_vcpu_free(ctx);
		return;
	}
	pthread_mutex_lock(&as->ctx_lock);
	ctx->next = as->pool;
	as->pool = ctx;
	pthread_mutex_unlock(&as->ctx_lock);
}

/*
 * interrupt - kick @ctx out of switch_to.  The pending flag carries the
 * request; the signal is needed only while the context's thread is inside
 * switch_to (running), where it may be in KVM_RUN or about to enter it.
 * pending and running are sequentially consistent (a Dekker pair with
 * switch_to): either switch_to sees pending before KVM_RUN, or we see
 * running and signal, and then the blocked signal makes KVM_RUN return
 * -EINTR wherever it stands.  Not signalling a thread that is busy in the
 * core spares it a spurious -EINTR exit later.
 */
static int kvm_interrupt(struct sbx_ctx *ctx)
{
	if (atomic_exchange(&ctx->pending, 1))
		return 0;
	if (!atomic_load(&ctx->running))
		return 0;
	if (syscall(SYS_tgkill, getpid(), ctx->tid, KVM_INTR_SIG))
		return -errno;
	return 0;
}

/* kvm_drain_kick - consume our signal if it is pending (blocked) here */
static void kvm_drain_kick(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KVM_INTR_SIG);
	while (sigtimedwait(&set, NULL, &zero) == KVM_INTR_SIG)
		;
}

static void kvm_set_exit(struct sbx_exit *exit, uint32_t kind)
{
	exit->kind = kind;
	exit->signo = 0;
	exit->code = 0;
	exit->access = 0;
	exit->trapno = -1;
	exit->addr = 0;
}

/* frame the CPU pushes on the kernel stack for an exception from ring 3 */
struct kvm_iret {
	uint64_t rip, cs, rflags, rsp, ss;
};

/* kvm_frame - @ctx's kernel stack at guest address @va (frame-sized) */
static struct kvm_iret *kvm_frame(struct sbx_ctx *ctx, uint64_t va)
{
	uint64_t top = KVM_VA_CPU_STACK_TOP(ctx->id), lo = top - 2 * KVM_PAGE;

	if (va < lo || va > top - sizeof(struct kvm_iret))
		return NULL;
	return (struct kvm_iret *)(ctx->as->priv +
				   KVM_PAGE * (KVM_PG_CPU + KVM_CPU_PAGES *
						ctx->id + 2) +
				   (va - lo));
}

/* kvm_put_regs - the core's registers into the vCPU (user mode or iret) */
static void kvm_put_regs(struct sbx_ctx *ctx, const struct sbx_regs *r)
{
	struct kvm_regs *k = &ctx->run->s.regs.regs;
	uint64_t flags = (r->eflags & RFLAGS_USER) | RFLAGS_FIXED;

	k->rax = r->rax;
	k->rbx = r->rbx;
	k->rcx = r->rcx;
	k->rdx = r->rdx;
	k->rsi = r->rsi;
	k->rdi = r->rdi;
	k->rbp = r->rbp;
	k->r8 = r->r8;
	k->r9 = r->r9;
	k->r10 = r->r10;
	k->r11 = r->r11;
	k->r12 = r->r12;
	k->r13 = r->r13;
	k->r14 = r->r14;
	k->r15 = r->r15;
	if (ctx->in_user) {
		k->rip = r->rip;
		k->rsp = r->rsp;
		k->rflags = flags;
	} else {
		uint64_t top = KVM_VA_CPU_STACK_TOP(ctx->id);
		struct kvm_iret *f = kvm_frame(ctx, top - sizeof(*f));

		f->rip = r->rip;
		f->cs = KVM_USER_CS;
		f->rflags = flags;
		f->rsp = r->rsp;
		f->ss = KVM_USER_DS;
		k->rip = KVM_VA_KSTUB;
		k->rsp = top - sizeof(*f);
		k->rflags = 0x2;
	}
	ctx->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
}

/* kvm_get_regs - the general registers of the exit (rip etc. by the caller) */
static void kvm_get_regs(struct sbx_ctx *ctx, struct sbx_regs *r)
{
	const struct kvm_regs *k = &ctx->run->s.regs.regs;

	r->rax = k->rax;
	r->rbx = k->rbx;
	r->rcx = k->rcx;
	r->rdx = k->rdx;
	r->rsi = k->rsi;
	r->rdi = k->rdi;
	r->rbp = k->rbp;
	r->r8 = k->r8;
	r->r9 = k->r9;
	r->r10 = k->r10;
	r->r11 = k->r11;
	r->r12 = k->r12;
	r->r13 = k->r13;
	r->r14 = k->r14;
	r->r15 = k->r15;
	r->rip = k->rip;
	r->rsp = k->rsp;
	r->eflags = k->rflags;
	r->orig_rax = -1;
	r->cs = KVM_USER_CS;
	r->ss = KVM_USER_DS;
	r->ds = r->es = r->fs = r->gs = 0;
	r->fs_base = ctx->run->s.regs.sregs.fs.base;
	r->gs_base = ctx->run->s.regs.sregs.gs.base;
	ctx->fs_base = r->fs_base;
	ctx->gs_base = r->gs_base;
}

static bool kvm_vcpu_user(struct sbx_ctx *ctx)
{
	return (ctx->run->s.regs.sregs.cs.selector & 3) == 3;
}

/* kvm_exception - an exception exit into @exit and @r */
static int kvm_exception(struct sbx_ctx *ctx, int vec, struct sbx_regs *r,
			 struct sbx_exit *exit)
{
	static const uint32_t with_err = (1u << 8) | (1u << 10) | (1u << 11) |
					 (1u << 12) | (1u << 13) | (1u << 14) |
					 (1u << 17) | (1u << 21) | (1u << 29) |
					 (1u << 30);
	struct sbx_as *as = ctx->as;
	uint64_t sp = ctx->run->s.regs.regs.rsp, err = 0;
	uint64_t top = KVM_VA_CPU_STACK_TOP(ctx->id);
	struct kvm_iret f;
	const struct kvm_iret *fp;

	if (with_err & (1u << vec)) {
		if (sp != top - sizeof(f) - 8)
			goto bad;
		memcpy(&err, kvm_frame(ctx, sp), 8);
		sp += 8;
	} else if (sp != top - sizeof(f)) {
		goto bad;
	}
	fp = kvm_frame(ctx, sp);
	memcpy(&f, fp, sizeof(f));
	if (f.cs != KVM_USER_CS)
		goto bad;
	kvm_get_regs(ctx, r);
	r->rip = f.rip;
	r->rsp = f.rsp;
	r->eflags = f.rflags & ~RFLAGS_RF;
	ctx->in_user = false;

	kvm_set_exit(exit, SBX_EXIT_FAULT);
	exit->trapno = vec;
	exit->addr = f.rip;
	kvm_log(as->p, SBX_LOG_DEBUG, "exception %d error %#llx at %#llx, cr2 %#llx",
		vec, (unsigned long long)err, (unsigned long long)f.rip,
		(unsigned long long)ctx->run->s.regs.sregs.cr2);
	switch (vec) {
	case 0:
		exit->signo = SIGFPE;
		exit->code = FPE_INTDIV;
		break;
	case 1:
		exit->signo = SIGTRAP;
		exit->code = TRAP_TRACE;
		break;
	case 3:
		exit->signo = SIGTRAP;
		exit->code = SI_KERNEL;
		break;
	case 6:
		exit->signo = SIGILL;
		exit->code = ILL_ILLOPN;
		break;
	case 11:
	case 12:
		exit->signo = SIGBUS;
		exit->code = SI_KERNEL;
		break;
	case 14:
		exit->signo = SIGSEGV;
		exit->code = (err & 1) ? SEGV_ACCERR : SEGV_MAPERR;
		exit->addr = ctx->run->s.regs.sregs.cr2;
		if (err & 16)
			exit->access = SBX_ACCESS_EXEC;
		else if (err & 2)
			exit->access = SBX_ACCESS_WRITE;
		else
			exit->access = SBX_ACCESS_READ;
		break;
	case 16:
	case 19:
		exit->signo = SIGFPE;
		exit->code = FPE_FLTINV;
		break;
	case 17:
		exit->signo = SIGBUS;
		exit->code = BUS_ADRALN;
		break;
	case 7:
		exit->signo = SIGILL;
		exit->code = ILL_COPROC;
		break;
	default: /* #GP, #OF, #BR, #TS ... */
		exit->signo = SIGSEGV;
		exit->code = SI_KERNEL;
		exit->addr = 0;
		break;
	}
	return 0;
bad:
	kvm_log(as->p, SBX_LOG_ERROR,
		"exception %d in the guest stub (rsp %#llx): VM stopped", vec,
		(unsigned long long)ctx->run->s.regs.regs.rsp);
	ctx->dead = true;
	return -EFAULT;
}

/* kvm_io - an I/O exit: a system call, an exception, or a forged `out` */
static int kvm_io(struct sbx_ctx *ctx, struct sbx_regs *r,
		  struct sbx_exit *exit)
{
	const struct kvm_run *run = ctx->run;
	uint64_t rip = run->s.regs.regs.rip;
	unsigned port = run->io.port;

	if (port == KVM_PORT_SYSCALL && rip == KVM_VA_USTUB + 2) {
		kvm_get_regs(ctx, r);
		r->rip = r->rcx;
		r->eflags = r->r11;
		r->orig_rax = r->rax;
		r->rax = -ENOSYS;
		ctx->in_user = kvm_vcpu_user(ctx);
		kvm_set_exit(exit, SBX_EXIT_SYSCALL);
		return 0;
	}
	if (!kvm_vcpu_user(ctx) && port >= KVM_PORT_EXC &&
	    port < KVM_PORT_EXC + 32 &&
	    rip == (uint64_t)KVM_VA_KSTUB + KVM_EXC_OFF +
			   8 * (port - KVM_PORT_EXC) + 2)
		return kvm_exception(ctx, port - KVM_PORT_EXC, r, exit);
	if (kvm_vcpu_user(ctx)) {
		/* the application's own `out`: #GP as on a real CPU */
		kvm_get_regs(ctx, r);
		ctx->in_user = true;
		kvm_set_exit(exit, SBX_EXIT_FAULT);
		exit->signo = SIGSEGV;
		exit->code = SI_KERNEL;
		exit->trapno = 13;
		return 0;
	}
	kvm_log(ctx->as->p, SBX_LOG_ERROR,
		"unexpected I/O exit (port %#x, rip %#llx): VM stopped", port,
		(unsigned long long)rip);
	ctx->dead = true;
	return -EFAULT;
}

/*
 * kvm_in_flight - the vCPU stands in a stub, before its `out`: a system
 * call or an exception is one instruction from its exit, and must not be
 * lost (nor the stub's address given to the core as the application's).
 */
static bool kvm_in_flight(struct sbx_ctx *ctx)
{
	uint64_t rip = ctx->run->s.regs.regs.rip;

	if (rip >= KVM_VA_USTUB && rip < KVM_VA_USTUB + KVM_PAGE)
		return true;
	return rip >= KVM_VA_KSTUB + KVM_EXC_OFF &&
	       rip < KVM_VA_KSTUB + KVM_EXC_OFF + 8 * 32;
}

/*
 * kvm_interrupted - KVM_RUN stopped by our signal: report the registers
 * where the vCPU stands (user mode, or still at the iret with our frame).
 */
static void kvm_interrupted(struct sbx_ctx *ctx, struct sbx_regs *r,
			    struct sbx_exit *exit)
{
	kvm_get_regs(ctx, r);
	if (kvm_vcpu_user(ctx)) {
		ctx->in_user = true;
	} else {
		const struct kvm_iret *f =
			kvm_frame(ctx, KVM_VA_CPU_STACK_TOP(ctx->id) -
					       sizeof(*f));

		r->rip = f->rip;
		r->rsp = f->rsp;
		r->eflags = f->rflags;
		ctx->in_user = false;
	}
	kvm_set_exit(exit, SBX_EXIT_INTERRUPT);
}

/*
 * kvm_file_fault - KVM_RUN failed with EFAULT: if KVM says (Linux 6.8's
 * memory-fault exit) that a guest access reached a file-window page the
 * host cannot back (past the end of the file), report SIGBUS at its guest
 * address, as Linux does to a process that touches such a page.  The vCPU
 * stays at the faulting instruction.
 */
static bool kvm_file_fault(struct sbx_ctx *ctx, struct sbx_regs *regs,
			   struct sbx_exit *exit)
{
	struct sbx_as *as = ctx->as;
	/* struct kvm_run's memory_fault: flags, gpa, size */
	const uint64_t *mf = (const uint64_t *)&ctx->run->hw;
	uint64_t gpa = mf[1], va;

	if (ctx->run->exit_reason != KVM_EXIT_MEMORY_FAULT_ || !as->win ||
	    gpa < as->p->win_gpa || gpa - as->p->win_gpa >= as->p->win_size ||
	    !kvm_vcpu_user(ctx))
		return false;
	pthread_mutex_lock(&as->fm_lock);
	va = kvm_fm_va(as, gpa - as->p->win_gpa);
	pthread_mutex_unlock(&as->fm_lock);
	if (!va)
		return false;
	kvm_get_regs(ctx, regs);
	ctx->in_user = true;
	kvm_set_exit(exit, SBX_EXIT_FAULT);
	exit->signo = SIGBUS;
	exit->code = BUS_ADRERR;
	exit->addr = va;
	return true;
}

/* kvm_run_ctx - switch_to once no interrupt is pending */
static int kvm_run_ctx(struct sbx_ctx *ctx, struct sbx_regs *regs,
		       struct sbx_exit *exit)
{
	struct sbx_as *as = ctx->as;
	struct kvm_run *run = ctx->run;
	int err;

	if (!kvm_canonical(regs->rip) || regs->rip >= KVM_USER_MAX ||
	    !kvm_canonical(regs->rsp)) {
		/* as a real iret would: #GP in the application */
		kvm_set_exit(exit, SBX_EXIT_FAULT);
		exit->signo = SIGSEGV;
		exit->code = SI_KERNEL;
		exit->trapno = 13;
		return 0;
	}
	if (regs->fs_base != ctx->fs_base || regs->gs_base != ctx->gs_base) {
		/* rare (arch_prctl): one ioctl; the stub never swapgs */
		static const uint32_t idx[] = { MSR_FS_BASE, MSR_GS_BASE };
		const uint64_t val[] = { regs->fs_base, regs->gs_base };

		if (!kvm_canonical(regs->fs_base) ||
		    !kvm_canonical(regs->gs_base))
			return -EINVAL;
		err = kvm_set_msrs(ctx, idx, val, 2);
		if (err)
			return err;
		ctx->fs_base = regs->fs_base;
		ctx->gs_base = regs->gs_base;
	}
	kvm_put_regs(ctx, regs);
	for (;;) {
		if (ioctl(ctx->fd, KVM_RUN, 0) < 0) {
			if (errno == EFAULT) {
				/* a file page the host cannot back */
				if (kvm_file_fault(ctx, regs, exit))
					return 0;
				if (kvm_file_shrunk(as))
					continue;
				errno = EFAULT;
			}
			if (errno != EINTR && errno != EAGAIN) {
				err = -errno;
				kvm_log(as->p, SBX_LOG_ERROR, "KVM_RUN: %s (exit %u, %#llx %#llx %#llx)",
					strerror(-err), run->exit_reason,
					(unsigned long long)((uint64_t *)&run->hw)[0],
					(unsigned long long)((uint64_t *)&run->hw)[1],
					(unsigned long long)((uint64_t *)&run->hw)[2]);
				ctx->dead = true;
				return err;
			}
			/*
			 * The kick stays pending (blocked) once KVM_RUN has
			 * restored our mask: take it, then decide.  A stale
			 * kick, or an exception on its way: go on.
			 */
			kvm_drain_kick();
			if (!atomic_load(&ctx->pending) || kvm_in_flight(ctx))
				continue;
			atomic_store(&ctx->pending, 0);
			kvm_interrupted(ctx, regs, exit);
			return 0;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			return kvm_io(ctx, regs, exit);
		case KVM_EXIT_INTR:
			continue;
		default:
			kvm_log(as->p, SBX_LOG_ERROR,
				"exit reason %u at rip %#llx (cs %#x): VM stopped",
				run->exit_reason,
				(unsigned long long)run->s.regs.regs.rip,
				run->s.regs.sregs.cs.selector);
			ctx->dead = true;
			return -EFAULT;
		}
	}
}

static int kvm_switch_to(struct sbx_ctx *ctx, struct sbx_regs *regs,
			 struct sbx_exit *exit)
{
	int err = 0;

	if (exit->size < sizeof(*exit))
		return -EINVAL;
	if (ctx->dead)
		return -ESRCH;
	/* running, then pending: the other half of kvm_interrupt's pair */
	atomic_store(&ctx->running, 1);
	if (atomic_exchange(&ctx->pending, 0))
		kvm_set_exit(exit, SBX_EXIT_INTERRUPT);
	else
		err = kvm_run_ctx(ctx, regs, exit);
	atomic_store(&ctx->running, 0);
	return err;
}

/* ---- FPU state ---------------------------------------------------------- */

static int kvm_ctx_get_fpstate(struct sbx_ctx *ctx, void *buf, size_t len)
{
	struct kvm_xsave x;
	int n = ctx->as->p->xsave_size;

	if (len < 512)
		return -ENOSPC;
	if (ioctl(ctx->fd, KVM_GET_XSAVE, &x))
		return -errno;
	if ((size_t)n > len)
		n = len;
	memcpy(buf, x.region, n);
	return n;
}

static int kvm_ctx_set_fpstate(struct sbx_ctx *ctx, const void *buf,
			       size_t len)
{
	struct kvm_xsave x;
	int n = ctx->as->p->xsave_size;
	uint64_t bv;

	if (len < 512)
		return -ENOSPC;
	if (ioctl(ctx->fd, KVM_GET_XSAVE, &x))
		return -errno;
	if ((size_t)n > len)
		n = len;
	memcpy(x.region, buf, n);
	if (n < 576 && ctx->as->p->xsave_size >= 576) {
		/* legacy area only: make x87 and SSE state count */
		memcpy(&bv, (uint8_t *)x.region + 512, 8);
		bv |= 3;
		memcpy((uint8_t *)x.region + 512, &bv, 8);
	}
	if (ioctl(ctx->fd, KVM_SET_XSAVE, &x))
		return -errno;
	return n;
}

/* ---- entry -------------------------------------------------------------- */

static const struct sbx_platform_ops kvm_ops = {
	.size = sizeof(struct sbx_platform_ops),
	.init = kvm_init,
	.fini = kvm_fini,
	.describe = kvm_describe,
	.seccomp_rules = kvm_seccomp_rules,
	.as_create = kvm_as_create,
	.as_map = kvm_as_map,
	.as_unmap = kvm_as_unmap,
	.as_protect = kvm_as_protect,
	.as_destroy = kvm_as_destroy,
	.ctx_create = kvm_ctx_create,
	.switch_to = kvm_switch_to,
	.interrupt = kvm_interrupt,
	.ctx_destroy = kvm_ctx_destroy,
	.ctx_get_fpstate = kvm_ctx_get_fpstate,
	.ctx_set_fpstate = kvm_ctx_set_fpstate,
	.ctl = NULL,
};

static const struct sbx_plugin_desc kvm_desc = {
	.size = sizeof(struct sbx_plugin_desc),
	.kind = SBX_PLUGIN_PLATFORM,
	.abi_major = SBX_PLATFORM_ABI_MAJOR,
	.abi_minor = SBX_PLATFORM_ABI_MINOR,
	.name = "kvm",
	.description = "application in guest user mode of a KVM virtual machine",
	.ops = &kvm_ops,
};

SBX_EXPORT const struct sbx_plugin_desc *sbx_plugin_entry(void)
{
	return &kvm_desc;
}
