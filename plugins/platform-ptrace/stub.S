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
 */

#define SYS_munmap	11
#define SYS_exit_group	231
#define USER_TOP	0x7ffffffff000
#define STUB_PAGE	4096
#define STUB_SIZE	8192	/* PTRACE_STUB_SIZE of ptrace.c */

	.section .rodata, "a"
	.globl ptrace_stub_code, ptrace_stub_syscall, ptrace_stub_code_end
	.hidden ptrace_stub_code, ptrace_stub_syscall, ptrace_stub_code_end

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

.Lfail:
	/* exit_group(PTRACE_START_MUNMAP of ptrace.c) */
	mov $250, %edi
	mov $SYS_exit_group, %eax
	syscall
	ud2
ptrace_stub_code_end:

	.section .note.GNU-stack, "", @progbits
