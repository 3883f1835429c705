/*
 * Guest payloads for the kvm platform tests (test_kvm.c): tiny ring-3
 * programs, each ending in SYS_exit (60) or a fault.  The suite copies
 * [kb_start, kb_end) to the memory file, maps it at CODE, and data at
 * DATA (see test_kvm.c).  Addresses of the plugin's region come from
 * plugins/platform-kvm/kvm_abi.h.
 */
#include "kvm_abi.h"

#define DATA 0x500000
#define HUGE 0x40000000

	.section .rodata, "a"
	.globl kb_start, kb_end
#define ENTRY(name) .globl name; name:

kb_start:

/* exceptions, one per blob */
ENTRY(kb_hlt)				/* privileged: #GP */
	hlt
ENTRY(kb_cli)
	cli
ENTRY(kb_int3)
	int3
ENTRY(kb_after_int3)
	mov $60, %eax
	syscall
ENTRY(kb_into_ud)			/* into is invalid in 64-bit mode: #UD */
	.byte 0xce
ENTRY(kb_int80)				/* int $0x80: gate absent/DPL 0: #GP */
	int $0x80
ENTRY(kb_single_step)			/* TF on: #DB after one instruction */
	pushf
	orq $0x100, (%rsp)
	popf
	nop
ENTRY(kb_after_step)
	nop
	mov $60, %eax
	syscall

/* the plugin's region, from ring 3 */
ENTRY(kb_read_gdt)
	movabs $(KVM_VA_BASE + 0x1000 * KVM_PG_GDT), %rax
	mov (%rax), %rax
	mov $60, %eax
	syscall
ENTRY(kb_write_ustub)
	movabs $KVM_VA_USTUB, %rax
	movb $0xcc, (%rax)
	mov $60, %eax
	syscall
ENTRY(kb_jump_kstub)
	movabs $KVM_VA_KSTUB, %rax
	jmp *%rax
ENTRY(kb_call_ustub)			/* the stub itself: just a syscall */
	mov $39, %eax
	lea kb_after_ustub(%rip), %rcx
	movabs $KVM_VA_USTUB, %rdx
	jmp *%rdx
ENTRY(kb_after_ustub)
	mov $60, %eax
	syscall
ENTRY(kb_out_exc)			/* a forged exception exit */
	outb %al, $(KVM_PORT_EXC + 14)
	mov $60, %eax
	syscall
ENTRY(kb_out_syscall)			/* the syscall port, not from the stub */
	outb %al, $KVM_PORT_SYSCALL
	mov $60, %eax
	syscall

/* machine state */
ENTRY(kb_rdtsc)				/* two rdtscs, no exit between */
	rdtsc
	mov %eax, %r8d
	mov %edx, %r9d
	rdtsc
	shl $32, %rdx
	or %rax, %rdx
	shl $32, %r9
	or %r8, %r9
	mov %r9, DATA
	mov %rdx, DATA + 8
	mov $60, %eax
	syscall
ENTRY(kb_cpuid)
	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
	mov %ebx, DATA
	mov %edx, DATA + 4
	mov %ecx, DATA + 8
	mov $60, %eax
	syscall
ENTRY(kb_fs)
	mov %fs:8, %rax
	mov %rax, DATA + 0x10
	mov %gs:16, %rax
	mov %rax, DATA + 0x18
	mov $60, %eax
	syscall

/* DATA+0x20 = sum of one quadword per 4 KiB page of [HUGE, HUGE+4M) */
ENTRY(kb_sum_huge)
	mov $HUGE, %rsi
	xor %eax, %eax
1:	add (%rsi), %rax
	add $4096, %rsi
	cmp $(HUGE + 0x400000), %rsi
	jb 1b
	mov %rax, DATA + 0x20
	mov $60, %eax
	syscall
/* store 7 at %rdi */
ENTRY(kb_store_rdi)
	movq $7, (%rdi)
	mov $60, %eax
	syscall

/* a syscall that keeps every register: the stub alone */
ENTRY(kb_syscall_only)
	syscall
	mov $60, %eax
	syscall

kb_end:

	.section .note.GNU-stack, "", @progbits
