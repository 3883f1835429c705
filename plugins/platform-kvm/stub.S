/*
 * Guest stub of the kvm platform: two page images that kvm.c copies into
 * each VM's private memory and maps above user_max (kvm_abi.h).
 *
 *  - kvm_stub_user (KVM_VA_USTUB, mapped user-executable, read-only): the
 *    LSTAR target.  One `out` to KVM_PORT_SYSCALL is the whole system call
 *    path: every register is still the application's (rcx = return rip,
 *    r11 = rflags, rsp untouched), so the host reads them from the exit's
 *    sync regs.  On VMX/SVM hosts it runs in ring 0; on PVM hosts `syscall`
 *    from a guest that does not speak the PVM ABI lands here still in user
 *    mode (measured), which is why the page is user-executable.  The
 *    application may jump here itself: that is just another system call.
 *  - kvm_stub_kernel (KVM_VA_KSTUB, supervisor only): `iretq` at offset 0,
 *    the way back to user mode from ring 0 (the host writes the frame on
 *    the kernel stack and points rip here; sysretq triple-faults on PVM);
 *    and at KVM_EXC_OFF + 8 * vector, the IDT target of each exception
 *    vector 0-31: one `out` to KVM_PORT_EXC + vector.  The CPU has pushed
 *    the application's rip/cs/rflags/rsp/ss (and the error code) on the
 *    kernel stack (TSS.RSP0), which the host reads.
 *
 * The host never lets the guest run past an `out`: it always sets rip
 * before the next KVM_RUN.  The ud2s are a safety net.
 */
#include "kvm_abi.h"

	.section .rodata, "a"
	.globl kvm_stub_user, kvm_stub_kernel, kvm_stub_end

	.balign 4096
kvm_stub_user:
	outb %al, $KVM_PORT_SYSCALL
	ud2
	.balign 4096, 0xcc

kvm_stub_kernel:
	iretq
	ud2
	.org kvm_stub_kernel + KVM_EXC_OFF, 0xcc
	.set vec, 0
	.rept 32
	.byte 0xe6, KVM_PORT_EXC + vec		/* outb %al, $(KVM_PORT_EXC+vec) */
	ud2
	.balign 8, 0xcc
	.set vec, vec + 1
	.endr
	.balign 4096, 0xcc
kvm_stub_end:

	.section .note.GNU-stack, "", @progbits
