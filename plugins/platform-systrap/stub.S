/*
 * Stub code of the systrap platform.
 *
 * These bytes are never run where they are linked: init copies them to the
 * first page of the instance's stub region (systrap_abi.h), in the core,
 * so every stub (forked from the zygote, itself forked from the core) has
 * them at the same address.  The code is position independent: it finds
 * its page and its shared slot with rip-relative leas.
 *
 * Divided into:
 *  - systrap_stub_start: entered once from the stub's C start code; unmaps
 *    everything but the stub region, installs the seccomp filter the core
 *    wrote into the shared slot, and traps (ud2) into the handler, so that
 *    from then on the stub is always either running the application or
 *    parked in the handler with a signal frame the core can edit.
 *  - systrap_stub_handler: the handler of SIGSYS, the fault signals and
 *    the interrupt signal; runs on the alternate stack in the shared slot
 *    with every signal blocked.  It posts the event, waits (spin, then
 *    futex), runs address-space ops the core asks for, and returns to the
 *    application with rt_sigreturn.  It never touches %fs or the stack of
 *    the application.
 *  - systrap_stub_trampoline: the one `syscall` instruction the seccomp
 *    filter lets through (by instruction pointer and arguments); every
 *    system call after the filter is installed is made here.
 */
#include "systrap_abi.h"

#define SYS_rt_sigreturn	15
#define SYS_munmap		11
#define SYS_futex		202
#define SYS_arch_prctl		158
#define SYS_seccomp		317
#define SYS_exit_group		231
#define SYS_exit		60
#define FUTEX_WAIT		0
#define FUTEX_WAKE		1
#define ARCH_SET_FS		0x1002
#define SECCOMP_SET_MODE_FILTER	1

	.section .rodata, "a"
	.globl systrap_stub_code, systrap_stub_start, systrap_stub_handler
	.globl systrap_stub_trampoline, systrap_stub_restorer
	.globl systrap_stub_first_trap, systrap_stub_code_end
	.globl systrap_stub_thread_entry
	.hidden systrap_stub_code, systrap_stub_start, systrap_stub_handler
	.hidden systrap_stub_trampoline, systrap_stub_restorer
	.hidden systrap_stub_first_trap, systrap_stub_code_end
	.hidden systrap_stub_thread_entry

systrap_stub_code:
.Lbase:

systrap_stub_start:
	/* munmap(0, base): the base is far above anything mapped at 0 */
	xor %edi, %edi
	lea .Lbase(%rip), %rsi
	mov $SYS_munmap, %eax
	syscall
	test %rax, %rax
	jnz .Lstart_fail

	/* munmap(base + STUB_SIZE, USER_TOP - (base + STUB_SIZE)) */
	lea .Lbase(%rip), %rdi
	add $SYSTRAP_STUB_SIZE, %rdi
	movabs $SYSTRAP_USER_TOP, %rsi
	sub %rdi, %rsi
	mov $SYS_munmap, %eax
	syscall
	test %rax, %rax
	jnz .Lstart_fail

	/*
	 * seccomp(SECCOMP_SET_MODE_FILTER, 0, &shared->prog): the last call
	 * not made from the trampoline.  NO_NEW_PRIVS is already set.
	 */
	mov $SECCOMP_SET_MODE_FILTER, %edi
	xor %esi, %esi
	lea .Lbase + SYSTRAP_SH_OFF + SH_PROG(%rip), %rdx
	mov $SYS_seccomp, %eax
	syscall
	test %rax, %rax
	jnz .Lseccomp_fail

	/* enter the handler once: SIGILL here is the "stub ready" event */
systrap_stub_first_trap:
	ud2

.Lstart_fail:
	mov $SYSTRAP_EXIT_MUNMAP, %edi
	mov $SYS_exit_group, %eax
	syscall
	ud2
.Lseccomp_fail:
	mov $SYSTRAP_EXIT_SECCOMP, %edi
	mov $SYS_exit_group, %eax
	syscall
	ud2

/*
 * A stub thread made by the clone op starts here (clone's child returns
 * from the trampoline's `syscall` and its `ret` pops this address off the
 * new stack).  Signals are all blocked (inherited from the handler) and
 * clone cleared the alternate stack, so the thread loads both, and the
 * first-trap rip, from the frame the core prepared above the stack
 * pointer: the same rt_sigreturn the handler uses to resume.
 */
systrap_stub_thread_entry:
	mov $SYS_rt_sigreturn, %eax
	jmp systrap_stub_trampoline

/*
 * void handler(int signo, siginfo_t *si, ucontext_t *uc), on the alt stack.
 * %r12 = shared slot, %r13 = the stack pointer at entry (the frame's
 * pretcode: rt_sigreturn finds the frame at rsp - 8 after a `ret`).
 */
systrap_stub_handler:
	/*
	 * Each thread's alt stack is its own slot, slots are SYSTRAP_SLOT
	 * aligned: the frame's address names the slot (thread) we are.
	 */
	mov %rdx, %r12
	and $-SYSTRAP_SLOT, %r12
	mov %rsp, %r13
	/*
	 * The frame must lie in the alt stack of one of our slots: a forged
	 * rt_sigreturn frame could have moved the thread's sigaltstack
	 * (uc_stack) elsewhere, and then the core would edit the wrong frame.
	 * Give up instead.  (Moving it into another thread's slot only
	 * confuses that thread of the same application: the core checks
	 * everything it reads from a slot.)
	 */
	lea .Lbase + SYSTRAP_SH_OFF(%rip), %rax
	cmp %rax, %r12
	jb .Ltamper
	lea .Lbase + SYSTRAP_STUB_SIZE(%rip), %rax
	cmp %rax, %r12
	jae .Ltamper
	lea SH_ALT(%r12), %rax
	cmp %rax, %rdx
	jb .Ltamper
	lea SYSTRAP_SLOT - 1024(%r12), %rax
	cmp %rax, %rdx
	jae .Ltamper
	mov %rdi, SH_SIGNO(%r12)
	mov %rsi, SH_SIGINFO(%r12)
	mov %rdx, SH_UCTX(%r12)
	testl $SYSTRAP_F_FSGSBASE, SH_FLAGS(%r12)
	jz .Lpost
	rdfsbase %rax
	mov %rax, SH_FS_CUR(%r12)

.Lpost:
	/*
	 * Publish the event with a locked xchg (a full barrier), then read
	 * SH_CORE_WAIT: the core sets that before its last look at SH_STATE,
	 * so either it sees the event or we see it waiting (and wake it).
	 */
	mov $SYSTRAP_ST_EVENT, %eax
	xchg %eax, SH_STATE(%r12)
	cmpl $0, SH_CORE_WAIT(%r12)
	je .Lwait
	lea SH_STATE(%r12), %rdi
	mov $FUTEX_WAKE, %esi
	mov $1, %edx
	mov $SYS_futex, %eax
	call systrap_stub_trampoline

.Lwait:
	/* a bounded spin first: the core usually answers in microseconds */
	mov SH_SPIN(%r12), %rcx
1:	cmpl $SYSTRAP_ST_EVENT, SH_STATE(%r12)
	jne .Lcommand
	pause
	sub $1, %rcx
	jg 1b
.Lsleep:
	/* then sleep: announce it, look once more, futex_wait */
	mov $1, %eax
	xchg %eax, SH_STUB_WAIT(%r12)
	cmpl $SYSTRAP_ST_EVENT, SH_STATE(%r12)
	jne 2f
	lea SH_STATE(%r12), %rdi
	mov $FUTEX_WAIT, %esi
	mov $SYSTRAP_ST_EVENT, %edx
	xor %r10d, %r10d
	mov $SYS_futex, %eax
	call systrap_stub_trampoline
2:	movl $0, SH_STUB_WAIT(%r12)
	cmpl $SYSTRAP_ST_EVENT, SH_STATE(%r12)
	je .Lsleep

.Lcommand:
	mov SH_STATE(%r12), %eax
	cmp $SYSTRAP_ST_OP, %eax
	je .Lop
	cmp $SYSTRAP_ST_EXIT, %eax
	je .Lthread_exit
	cmp $SYSTRAP_ST_RESUME, %eax
	jne .Lbad_state
	/* the core wants another fs base (it never changes under us) */
	testl $SYSTRAP_F_SET_FS, SH_FLAGS(%r12)
	jz 4f
	andl $~SYSTRAP_F_SET_FS, SH_FLAGS(%r12)
	mov SH_FS_WANT(%r12), %rdi
	testl $SYSTRAP_F_FSGSBASE, SH_FLAGS(%r12)
	jz 3f
	wrfsbase %rdi
	jmp 4f
3:	mov %rdi, %rsi
	mov $ARCH_SET_FS, %edi
	mov $SYS_arch_prctl, %eax
	call systrap_stub_trampoline
4:	movl $SYSTRAP_ST_STUB, SH_STATE(%r12)
	/* rt_sigreturn finds the frame at rsp - 8, as after the handler's ret */
	lea 8(%r13), %rsp
	mov $SYS_rt_sigreturn, %eax
	jmp systrap_stub_trampoline

.Lop:
	/* an address-space op with the core's arguments; the filter checks them */
	mov SH_ARGS + 0(%r12), %rdi
	mov SH_ARGS + 8(%r12), %rsi
	mov SH_ARGS + 16(%r12), %rdx
	mov SH_ARGS + 24(%r12), %r10
	mov SH_ARGS + 32(%r12), %r8
	mov SH_ARGS + 40(%r12), %r9
	mov SH_NR(%r12), %rax
	call systrap_stub_trampoline
	mov %rax, SH_RET(%r12)
	jmp .Lpost

.Lthread_exit:
	/*
	 * This thread only (ctx_destroy); jmp, not call: nothing more is
	 * written to the slot, which the core frees once we are gone.
	 */
	xor %edi, %edi
	mov $SYS_exit, %eax
	jmp systrap_stub_trampoline

.Ltamper:
	mov $SYSTRAP_EXIT_TAMPER, %edi
	jmp .Lexit
.Lbad_state:
	mov $SYSTRAP_EXIT_STATE, %edi
.Lexit:
	mov $SYS_exit_group, %eax
	call systrap_stub_trampoline
	ud2

/* sa_restorer of the handlers: never reached (the handler never returns) */
systrap_stub_restorer:
	ud2

/*
 * The trampoline: the only instruction the filter lets make host calls,
 * and only those listed in systrap_build_filter().  Jumping here from the
 * application gains nothing the filter does not allow to anyone.
 */
systrap_stub_trampoline:
	syscall
	ret
systrap_stub_code_end:

	.section .note.GNU-stack, "", @progbits
