/*
 * Code blobs for the platform conformance suite.  The suite copies
 * [blobs_start, blobs_end) into the memory file and maps it at BLOB_CODE;
 * each blob_* label is an entry point.  Blobs use absolute addresses of
 * the data page BLOB_DATA (see test_platform.c), so they run anywhere.
 * SYS_exit (60) is how a blob says "done": the suite just stops there.
 */
#define BLOB_DATA 0x500000
#define BLOB_RO   0x510000
#define BLOB_NONE 0x600000

	.section .rodata, "a"
	.globl blobs_start, blobs_end
#define ENTRY(name) .globl name; name:

blobs_start:

/* a syscall with six arguments; its result goes to DATA+0; then exit(7) */
ENTRY(blob_syscall)
	mov $500, %eax
	mov $0x11, %edi
	mov $0x22, %esi
	mov $0x33, %edx
	mov $0x44, %r10d
	mov $0x55, %r8d
	mov $0x66, %r9d
	syscall
ENTRY(blob_syscall_ret)
	mov %rax, BLOB_DATA
	mov $60, %eax
	mov $7, %edi
	syscall
	jmp .

/* store every GPR, then %fs:0, to DATA+0.. DATA+128, then exit */
ENTRY(blob_regs)
	mov %rax, BLOB_DATA + 0
	mov %rbx, BLOB_DATA + 8
	mov %rcx, BLOB_DATA + 16
	mov %rdx, BLOB_DATA + 24
	mov %rsi, BLOB_DATA + 32
	mov %rdi, BLOB_DATA + 40
	mov %rbp, BLOB_DATA + 48
	mov %rsp, BLOB_DATA + 56
	mov %r8, BLOB_DATA + 64
	mov %r9, BLOB_DATA + 72
	mov %r10, BLOB_DATA + 80
	mov %r11, BLOB_DATA + 88
	mov %r12, BLOB_DATA + 96
	mov %r13, BLOB_DATA + 104
	mov %r14, BLOB_DATA + 112
	mov %r15, BLOB_DATA + 120
	mov %fs:0, %rax
	mov %rax, BLOB_DATA + 128
	mov $60, %eax
	syscall
	jmp .

ENTRY(blob_read_unmapped)
	mov BLOB_NONE, %rax
	mov $60, %eax
	syscall

ENTRY(blob_write_ro)
	movq $1, BLOB_RO
	mov $60, %eax
	syscall

ENTRY(blob_exec_data)
	mov $BLOB_DATA, %eax
	jmp *%rax

ENTRY(blob_ud2)
	ud2
ENTRY(blob_after_ud2)
	mov $60, %eax
	syscall

ENTRY(blob_int3)
	int3
ENTRY(blob_after_int3)
	mov $60, %eax
	syscall

ENTRY(blob_div0)
	xor %ecx, %ecx
	xor %edx, %edx
	mov $1, %eax
ENTRY(blob_div0_insn)
	div %ecx
	mov $60, %eax
	syscall

/* DATA+0x108 = DATA+0x100 + 1 */
ENTRY(blob_shared)
	mov BLOB_DATA + 0x100, %rax
	add $1, %rax
	mov %rax, BLOB_DATA + 0x108
	mov $60, %eax
	syscall

ENTRY(blob_store)
	movq $0x42, BLOB_DATA + 0x300
	mov $60, %eax
	syscall

/* exit(DATA+0x300) */
ENTRY(blob_load)
	mov BLOB_DATA + 0x300, %rdi
	mov $60, %eax
	syscall

ENTRY(blob_spin)
	jmp blob_spin

ENTRY(blob_xmm0)
	movdqu %xmm0, BLOB_DATA + 0x200
	mov $60, %eax
	syscall

/* count up in DATA+0x400 forever, one syscall per round */
ENTRY(blob_count)
	incq BLOB_DATA + 0x400
	mov $39, %eax
	syscall
	jmp blob_count

/* count up in (%rbx) forever, one syscall per round (several contexts) */
ENTRY(blob_count_rbx)
	incq (%rbx)
	mov $39, %eax
	syscall
	jmp blob_count_rbx

/* store a rising count to (%rbx) forever, no exits (TLB shootdown) */
ENTRY(blob_store_loop)
	inc %rax
	mov %rax, (%rbx)
	jmp blob_store_loop

/* load (%rbx), count rounds in (%rcx) forever, no exits */
ENTRY(blob_load_loop)
	mov (%rbx), %rax
	incq (%rcx)
	jmp blob_load_loop

/* store to (%rbx) once, then exit */
ENTRY(blob_store_rbx)
	mov %rax, (%rbx)
	mov $60, %eax
	syscall

/* load (%rbx): two copies, so two contexts fault at different rips */
ENTRY(blob_load_rbx)
	mov (%rbx), %rax
	mov $60, %eax
	syscall
ENTRY(blob_load_rbx2)
	mov (%rbx), %rax
	mov $60, %eax
	syscall

blobs_end:

	.section .note.GNU-stack, "", @progbits
