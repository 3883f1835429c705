/*
 * Layout shared by the systrap stub code (stub.S) and the plugin
 * (systrap.c): the stub region's addresses, the offsets of the shared
 * page's fields, the hand-off states and the stub's exit codes.  Plain
 * #defines only, so that the assembler can include it too.
 *
 * Stub region of one platform instance, identical in the core and in every
 * stub process (stubs are forked from a zygote forked from the core):
 *
 *   base + 0                  stub code (one page, read + exec)
 *   base + SYSTRAP_SH_OFF     this stub process's SYSTRAP_MAX_CTX shared
 *                             slots (SYSTRAP_SLOT bytes each, one group of
 *                             the plugin's shared memfd, read + write),
 *                             one per stub thread (context): control
 *                             words, then that thread's alternate signal
 *                             stack that holds its signal frame.  Slot 0
 *                             belongs to the first thread (the leader).
 *
 * Slots are SYSTRAP_SLOT-aligned, so the handler finds its own slot from
 * the address of its signal frame (the per-thread alternate stack).
 *
 * In the core the shared slot range is a PROT_NONE reservation; the core
 * sees every slot through one ordinary mapping of the shared memfd.
 */
#ifndef SBX_PLUGINS_SYSTRAP_ABI_H
#define SBX_PLUGINS_SYSTRAP_ABI_H

/*
 * The application range ends 4 GiB below the stub region, so that the
 * seccomp filter can bound trampoline mmap/munmap/mprotect by checking
 * only the high 32 bits of the address (< SYSTRAP_USER_MAX_HI) and of the
 * length (== 0): no such range reaches the stub region.
 */
#define SYSTRAP_USER_MIN	0x10000
#define SYSTRAP_USER_MAX	0x7ffe00000000
#define SYSTRAP_USER_MAX_HI	0x7ffe
#define SYSTRAP_REGION		0x7fff00000000
#define SYSTRAP_USER_TOP	0x7ffffffff000
#define SYSTRAP_MAX_CTX		64	/* stub threads per address space */
#define SYSTRAP_SH_OFF		0x10000
#define SYSTRAP_SLOT		0x10000
/* code page + the slots, aligned */
#define SYSTRAP_STUB_SIZE	(SYSTRAP_SH_OFF + SYSTRAP_MAX_CTX * SYSTRAP_SLOT)
/*
 * A new stub thread starts on this offset of its slot: clone's new stack
 * holds the address of systrap_stub_thread_entry, then the rt_sigreturn
 * frame (struct rt_sigframe minus pretcode) the core prepared.
 */
#define SYSTRAP_BOOT_OFF	(SYSTRAP_SLOT - 1024)

/* Shared slot fields (byte offsets). */
#define SH_STATE	0	/* u32 futex word: SYSTRAP_ST_* */
#define SH_STUB_WAIT	4	/* u32 the stub sleeps (or is about to) */
#define SH_CORE_WAIT	8	/* u32 the core sleeps (or is about to) */
#define SH_FLAGS	12	/* u32 SYSTRAP_F_* */
#define SH_SPIN		16	/* u64 stub spin budget, pause iterations */
#define SH_SIGNO	24	/* u64 signal of the last event */
#define SH_SIGINFO	32	/* u64 its siginfo (stub address) */
#define SH_UCTX		40	/* u64 its ucontext (stub address) */
#define SH_FS_CUR	48	/* u64 fs base at the event (FSGSBASE only) */
#define SH_FS_WANT	56	/* u64 fs base to set before resuming */
#define SH_NR		64	/* u64 address-space op: system call number */
#define SH_ARGS		72	/* u64[6] its arguments */
#define SH_RET		120	/* u64 its result */
#define SH_PROG		128	/* struct sock_fprog for the start code */
#define SH_FILTER	256	/* struct sock_filter[], up to SH_FILTER_MAX */
#define SH_FILTER_MAX	160
/*
 * Receiving a donated file (as_map of an fd other than the memory file):
 * a struct msghdr, its iovec, the 8-byte payload (a sequence number) and
 * the control buffer for one SCM_RIGHTS fd, for the stub's recvmsg.
 */
#define SH_MSG		2048	/* struct msghdr (56 bytes) */
#define SH_MSG_IOV	2112	/* struct iovec */
#define SH_MSG_DATA	2128	/* u64 sequence number */
#define SH_MSG_CTL	2136	/* CMSG_SPACE(sizeof(int)) == 24 bytes */
#define SH_MSG_CTL_LEN	24
#define SH_ALT		0x1000	/* alternate signal stack: to the slot end */

/* SH_FLAGS bits */
#define SYSTRAP_F_FSGSBASE	1 /* rdfsbase/wrfsbase usable */
#define SYSTRAP_F_SET_FS	2 /* set fs base to SH_FS_WANT, then clear */

/* Hand-off states (SH_STATE). */
#define SYSTRAP_ST_STUB		0 /* the stub runs (application or handler) */
#define SYSTRAP_ST_EVENT	1 /* stub parked: event or op result posted */
#define SYSTRAP_ST_RESUME	2 /* core: return to the application */
#define SYSTRAP_ST_OP		3 /* core: run SH_NR with SH_ARGS */
#define SYSTRAP_ST_EXIT		4 /* core: this thread exits (exit, not _group) */

/* Exit codes of a stub that gave up (stub.S and the child code). */
#define SYSTRAP_EXIT_PARENT	200
#define SYSTRAP_EXIT_FDS	201
#define SYSTRAP_EXIT_MAP	202
#define SYSTRAP_EXIT_SIG	203
#define SYSTRAP_EXIT_RSEQ	204
#define SYSTRAP_EXIT_MUNMAP	205
#define SYSTRAP_EXIT_SECCOMP	206
#define SYSTRAP_EXIT_TAMPER	207 /* signal frame outside the alt stack */
#define SYSTRAP_EXIT_STATE	208 /* unknown command */

/*
 * The stub's fds: the memory file, its end of a socket over which the
 * core sends donated files (SCM_RIGHTS), and the number at which a
 * received file sits between its recvmsg, mmap and close (the lowest free
 * one, since nothing else is open).
 */
#define SYSTRAP_STUB_MEMFD	0
#define SYSTRAP_STUB_SOCK	1
#define SYSTRAP_STUB_FILEFD	2

#endif
