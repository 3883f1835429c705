/*
 * Code blobs for the systrap security tests (test_systrap.c), copied into
 * the memory file and mapped at CODE like the conformance suite's blobs.
 */
	.section .rodata, "a"
	.globl st_blobs_start, st_blobs_end
#define ENTRY(name) .globl name; name:

st_blobs_start:

/* where a trampoline `ret` comes back to: exit(rax) through the core */
ENTRY(st_blob_exit)
	mov %rax, %rdi
	mov $60, %eax
	syscall
	jmp .

/* store to the address in %rax, then exit */
ENTRY(st_blob_store)
	movq $1, (%rax)
	mov $60, %eax
	syscall
	jmp .

/* fill %rcx quadwords at %rdi with 0x41s, then getppid, then exit */
ENTRY(st_blob_scribble)
	movabs $0x4141414141414141, %rax
	cld
	rep stosq
	mov $110, %eax
	syscall
	mov $60, %eax
	syscall
	jmp .

st_blobs_end:

	.section .note.GNU-stack, "", @progbits
