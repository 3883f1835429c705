/*
 * Stub code of the ptrace platform.
 *
 * These bytes are never run where they are linked: init copies them to one
 * page in the stub region (above user_max) of the core, so that every stub
 * process forked from the core has them at the same address.  The code is
 * position independent: it finds its own page with a rip-relative lea.
 *
 * A new stub jumps to ptrace_stub_code, unmaps all of the user half of its
 * address space except this page and the scratch page after it (recvmsg's
 * msghdr for donated files), then stops with int3 for its tracer.
 * From then on the tracer only ever points rip at ptrace_stub_syscall to
 * inject a system call: `syscall` runs it and the int3 after it traps back.
 * Application code never runs here: it runs with PTRACE_SYSEMU elsewhere.
 *
 * The leader thread, once the address space has contexts (stub threads of
 * their own), is detached and parked at ptrace_stub_park: it sleeps in
 * read() on the death pipe, whose only writers are the core's fds, so the
 * read ends (0, EOF) exactly when the core process is gone, and the stub
 * exits.  Nothing is ever written to the pipe: the buffer pointer (0) is
 * never touched.  A core thread that needs the leader (to clone a stub
 * thread, or for an address-space op of a thread without a context) seizes
 * and interrupts it, injects, then points it back here and detaches.
 */

#define SYS_read	0
#define SYS_munmap	11
#define SYS_exit_group	231
#define USER_TOP	0x7ffffffff000
#define STUB_PAGE	4096
#define STUB_SIZE	8192	/* PTRACE_STUB_SIZE of ptrace.c */
#define DEATHFD		1	/* PTRACE_STUB_DEATHFD of ptrace.c */
#define EINTR		4

	.section .rodata, "a"
	.globl ptrace_stub_code, ptrace_stub_syscall, ptrace_stub_park
	.globl ptrace_stub_code_end
	.hidden ptrace_stub_code, ptrace_stub_syscall, ptrace_stub_park
	.hidden ptrace_stub_code_end

ptrace_stub_code:
.Lbase:
	/* munmap(0, base) */
	xor %edi, %edi
	lea .Lbase(%rip), %rsi
	mov $SYS_munmap, %eax
	syscall
	test %rax, %rax
	jnz .Lfail

	/* munmap(base + STUB_SIZE, USER_TOP - (base + STUB_SIZE)): the
	 * code page and the scratch page after it stay */
	lea .Lbase(%rip), %rdi
	add $STUB_SIZE, %rdi
	movabs $USER_TOP, %rsi
	sub %rdi, %rsi
	mov $SYS_munmap, %eax
	syscall
	test %rax, %rax
	jnz .Lfail

	/* first stop: the tracer waits for this SIGTRAP */
	int3

ptrace_stub_syscall:
.Lsyscall:
	syscall
	int3
	jmp .Lsyscall

ptrace_stub_park:
.Lpark:
	/* read(DEATHFD, 0, 1): blocks until the core is gone */
	mov $SYS_read, %eax
	mov $DEATHFD, %edi
	xor %esi, %esi
	mov $1, %edx
	syscall
	cmp $-EINTR, %rax
	je .Lpark
	/* EOF (or anything unexpected): the stub has no core any more */
	xor %edi, %edi
	mov $SYS_exit_group, %eax
	syscall
	ud2

.Lfail:
	/* exit_group(PTRACE_START_MUNMAP of ptrace.c) */
	mov $250, %edi
	mov $SYS_exit_group, %eax
	syscall
	ud2
ptrace_stub_code_end:

	.section .note.GNU-stack, "", @progbits
