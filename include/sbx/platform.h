/*
 * sbx platform ABI: how the core runs application code.
 *
 * A platform plugin gives the core address spaces (the memory an
 * application sees) and contexts (application threads) that run in them.
 * The core's task loop, one host thread per application thread, calls
 * switch_to() to run a context until it makes a system call, faults, or is
 * interrupted; the core then implements the call and switches back.
 *
 * Lifecycle:
 *   init -> describe -> seccomp_rules -> { as_create -> as_map/unmap/protect
 *   -> ctx_create -> switch_to... -> ctx_destroy -> as_destroy }* -> fini
 *
 * Threads: init, describe, seccomp_rules and fini are called from the
 * core's main thread.  A context is driven by exactly one core thread: the
 * thread that called ctx_create is the only one that calls switch_to,
 * ctx_get_fpstate, ctx_set_fpstate and ctx_destroy on it; interrupt() may be
 * called from any thread at any time.  Address-space operations on one
 * address space are serialised by the core (it holds the address space's
 * lock), and are called from the thread of a context of that address space
 * or, before any context exists, from the thread that called as_create;
 * as_destroy may come from any thread.  ptrace relies on this: a stub
 * thread can be driven only by the core thread tracing it, so before the
 * first context only the as_create thread can act on the stub; the core
 * therefore creates each address space on the task thread that will run
 * it.
 *
 * Errors: every int-returning op returns 0 (or a count) on success and a
 * negative errno on failure; details go to services->log.
 *
 * Compatibility: see plugin.h.  Members are only appended.
 */
#ifndef SBX_SBX_PLATFORM_H
#define SBX_SBX_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sbx/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SBX_PLATFORM_ABI_MAJOR 1
#define SBX_PLATFORM_ABI_MINOR 1

/*
 * struct sbx_regs - application general-purpose registers.  Same layout as
 * the x86-64 `struct user_regs_struct` of <sys/user.h>, so ptrace-based
 * platforms can use it directly.  On SBX_EXIT_SYSCALL, rip points after the
 * syscall instruction, orig_rax holds the system call number and rax is
 * undefined; the core puts the result in rax before switching back.
 */
struct sbx_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
	uint64_t fs_base, gs_base, ds, es, fs, gs;
};

enum sbx_exit_kind {
	SBX_EXIT_SYSCALL = 1,	/* the application made a system call */
	SBX_EXIT_FAULT = 2,	/* a synchronous fault; see signo, addr */
	SBX_EXIT_INTERRUPT = 3, /* interrupt() was called, or a host signal */
};

/* Access kinds of a fault; 0 when the platform cannot tell. */
enum sbx_access {
	SBX_ACCESS_READ = 1,
	SBX_ACCESS_WRITE = 2,
	SBX_ACCESS_EXEC = 4,
};

/*
 * struct sbx_exit - why switch_to() returned.
 * @signo:  for SBX_EXIT_FAULT, SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGTRAP.
 * @code:   si_code as the host reported it (SEGV_MAPERR, ILL_ILLOPN, ...);
 *          the core decides the code the application finally sees.
 * @access: enum sbx_access bits for memory faults, 0 if unknown.
 * @trapno: x86 exception vector if known (14 page fault, 13 #GP, ...), or -1.
 * @addr:   faulting data address (page faults) or instruction address.
 */
struct sbx_exit {
	size_t size;
	uint32_t kind;
	int32_t signo;
	int32_t code;
	uint32_t access;
	int32_t trapno;
	uint64_t addr;
};

/* sbx_platform_info.flags */
#define SBX_PLATFORM_NEEDS_KVM	 (1u << 0) /* needs /dev/kvm */
#define SBX_PLATFORM_MULTI_AS	 (1u << 1) /* many address spaces at once */
#define SBX_PLATFORM_MULTI_CTX	 (1u << 2) /* many contexts per address space */

/*
 * struct sbx_platform_info - filled in by describe().
 * @user_min, @user_max: application mappings must lie in [user_min,
 *         user_max); the platform keeps its own stub code and shared pages
 *         outside that range, where the application cannot map, unmap,
 *         protect or write them.
 * @max_threads: most contexts at once in one address space, 0 for no
 *         limit (the core then refuses CLONE_THREAD with EAGAIN).
 */
struct sbx_platform_info {
	size_t size;
	uint32_t flags;
	uint32_t max_threads;
	uint64_t user_min;
	uint64_t user_max;
};

/* as_map() flags */
#define SBX_MAP_SHARED	(1u << 0) /* writes go to the file (always true of
				     the memory file, which the core shares) */
#define SBX_MAP_PRIVATE (1u << 1) /* copy-on-write view of the file */

struct sbx_platform; /* one loaded, initialised platform (plugin-owned) */
struct sbx_as;	     /* one application address space (plugin-owned) */
struct sbx_ctx;	     /* one application thread's CPU state (plugin-owned) */

struct sbx_platform_ops {
	size_t size;

	/*
	 * init - set the platform up.
	 * @svc:  core services, valid until fini().
	 * @opts: platform.options from the config; refuse unknown keys with
	 *        svc->option_error().
	 * Return: 0 and *@out, or -errno (-ENODEV when the host lacks what
	 * the platform needs, after logging why and what to do about it).
	 */
	int (*init)(const struct sbx_services *svc,
		    const struct sbx_options *opts, struct sbx_platform **out);

	/* fini - release everything; no address space or context remains. */
	void (*fini)(struct sbx_platform *p);

	/* describe - fill @info (the core sets info->size first). */
	int (*describe)(struct sbx_platform *p, struct sbx_platform_info *info);

	/*
	 * seccomp_rules - add the host system calls the plugin needs at run
	 * time to the core's allowlist.
	 * @scmp_ctx: a libseccomp scmp_filter_ctx (void * so this header does
	 *            not need seccomp.h); add rules with seccomp_rule_add().
	 * May be NULL when the plugin needs nothing beyond the core's set.
	 */
	int (*seccomp_rules)(struct sbx_platform *p, void *scmp_ctx);

	/* as_create - a new, empty address space. */
	int (*as_create)(struct sbx_platform *p, struct sbx_as **out);

	/*
	 * as_map - map [@addr, @addr+@len) to @fd at @offset with @prot
	 * (PROT_* bits), replacing whatever was there.  @addr, @len and
	 * @offset are page-aligned and inside [user_min, user_max).  @fd is a
	 * core fd (the memory file or a donated file); the plugin dups what
	 * it needs and never keeps @fd itself.
	 * @flags: SBX_MAP_SHARED or SBX_MAP_PRIVATE.  The core asks for a
	 * donated file only without PROT_WRITE under SBX_MAP_PRIVATE (it
	 * copies written pages into the memory file itself).  A platform
	 * that cannot let the application touch a page past the end of a
	 * donated file (kvm) may leave such pages unmapped: the core turns
	 * the page fault of an access the mapping allows into SIGBUS, or
	 * maps the pages again when the file has grown.  A platform that
	 * maps them reports the host's SIGBUS as a fault.
	 */
	int (*as_map)(struct sbx_as *as, uint64_t addr, uint64_t len, int prot,
		      int fd, uint64_t offset, uint32_t flags);

	/* as_unmap - unmap [@addr, @addr+@len); unmapped parts are fine. */
	int (*as_unmap)(struct sbx_as *as, uint64_t addr, uint64_t len);

	/* as_protect - change the protection of a mapped range. */
	int (*as_protect)(struct sbx_as *as, uint64_t addr, uint64_t len,
			  int prot);

	/* as_destroy - free @as; all its contexts are destroyed first. */
	void (*as_destroy)(struct sbx_as *as);

	/* ctx_create - a new context (application thread) in @as. */
	int (*ctx_create)(struct sbx_as *as, struct sbx_ctx **out);

	/*
	 * switch_to - run @ctx with @regs until it exits to the core.
	 * On return *@regs is the full register state at the exit and *@exit
	 * says why.  Return: 0, or -errno when the context is unusable (the
	 * core then kills the application thread).
	 */
	int (*switch_to)(struct sbx_ctx *ctx, struct sbx_regs *regs,
			 struct sbx_exit *exit);

	/*
	 * interrupt - make a running (or about to run) switch_to() of @ctx
	 * return promptly with SBX_EXIT_INTERRUPT.  Callable from any thread;
	 * if @ctx is not running, its next switch_to() returns at once.
	 */
	int (*interrupt)(struct sbx_ctx *ctx);

	/* ctx_destroy - free @ctx; it is not running. */
	void (*ctx_destroy)(struct sbx_ctx *ctx);

	/*
	 * ctx_get_fpstate / ctx_set_fpstate - the context's FPU/SSE/AVX
	 * state in XSAVE format (the first 512 bytes are the FXSAVE legacy
	 * area).  Return: the number of bytes copied, or -errno
	 * (-ENOSPC when @len is too small for the legacy area).
	 */
	int (*ctx_get_fpstate)(struct sbx_ctx *ctx, void *buf, size_t len);
	int (*ctx_set_fpstate)(struct sbx_ctx *ctx, const void *buf,
			       size_t len);

	/*
	 * ctl - generic extension op (see SBX_CTL_EXPERIMENTAL_BASE).
	 * Return: -ENOTTY for unknown opcodes.  May be NULL.
	 */
	int (*ctl)(struct sbx_platform *p, int op, void *arg);

	/* ---- 1.1 ---- */

	/*
	 * as_cpu_pid - the host process whose CPU time is the application
	 * time of @as (its stub), read by the core with clock_gettime on
	 * that process's CPU clocks for getrusage/times.  Return: the pid,
	 * or -ENOSYS when application code runs on the core's own task
	 * threads (kvm: their clocks already count it).  May be NULL.
	 */
	int (*as_cpu_pid)(struct sbx_as *as);
};

/* SBX_OPS_HAS (is optional @member present in table @ops?) is in plugin.h */

#ifdef __cplusplus
}
#endif
#endif
