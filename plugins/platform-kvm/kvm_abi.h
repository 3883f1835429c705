/*
 * kvm platform: the guest layout shared by kvm.c and stub.S.
 *
 * Guest-physical: the memory file at GPA 0 (one memory slot per
 * KVM_CHUNK of it, added as mappings first reach it), then each VM's
 * private memory (stub pages, GDT, IDT, TSS, kernel stack, page tables)
 * at a GPA above the memory file.  Guest-virtual: the application in
 * [KVM_USER_MIN, KVM_USER_MAX); the private pages from KVM_VA_BASE, all
 * supervisor-only except the read-only user stub page; the per-vCPU areas
 * from KVM_VA_CPU.
 */
#ifndef SBX_PLATFORM_KVM_KVM_ABI_H
#define SBX_PLATFORM_KVM_KVM_ABI_H

#define KVM_USER_MIN	  0x10000
#define KVM_USER_MAX	  0x7fff00000000
#define KVM_VA_BASE	  0x7fffc0000000 /* PML4[255], PDPT[511] */

/* private pages (index into the private memory, and VA_BASE + 4K * index) */
#define KVM_PG_USTUB	  0
#define KVM_PG_KSTUB	  1
#define KVM_PG_GDT	  2
#define KVM_PG_IDT	  3
#define KVM_PG_PROBE	  7 /* the start-up self-test's user code */
#define KVM_PG_MAPPED	  8 /* pages below are mapped at VA_BASE */
#define KVM_PG_PML4	  8
#define KVM_PG_KPDPT	  9
#define KVM_PG_KPD	  10
#define KVM_PG_KPT	  11

/*
 * Per-vCPU areas (one per vCPU id, up to KVM_MAX_VCPUS per VM): a TSS page
 * (RSP0 and the I/O bitmap), an unmapped guard page and a two-page kernel
 * stack on which the CPU pushes exception frames.  Each vCPU needs its own:
 * two vCPUs taking exceptions at once would otherwise share one frame.
 * Mapped at KVM_VA_CPU (PD entries 1.. of the private region) by the
 * page tables KVM_PG_CPU_PT.., built with the VM.
 */
#define KVM_MAX_VCPUS	  1024
#define KVM_CPU_PAGES	  4 /* TSS, guard, stack, stack */
#define KVM_CPU_PTS	  (KVM_MAX_VCPUS * KVM_CPU_PAGES / 512)
#define KVM_PG_CPU_PT	  12
#define KVM_PG_CPU	  (KVM_PG_CPU_PT + KVM_CPU_PTS)
#define KVM_PG_FIRST_FREE (KVM_PG_CPU + KVM_MAX_VCPUS * KVM_CPU_PAGES)

#define KVM_VA_USTUB	  (KVM_VA_BASE + 0x1000 * KVM_PG_USTUB)
#define KVM_VA_KSTUB	  (KVM_VA_BASE + 0x1000 * KVM_PG_KSTUB)
#define KVM_VA_CPU	  (KVM_VA_BASE + 0x200000)
#define KVM_VA_CPU_TSS(id) (KVM_VA_CPU + 0x1000 * KVM_CPU_PAGES * (id))
#define KVM_VA_CPU_STACK_TOP(id) (KVM_VA_CPU_TSS((id) + 1))

#define KVM_EXC_OFF	  0x100 /* exception stubs in the kernel stub page */
#define KVM_PORT_SYSCALL  0x10
#define KVM_PORT_EXC	  0x80 /* + vector */

/* GDT selectors */
#define KVM_KERNEL_CS	  0x10
#define KVM_KERNEL_DS	  0x18
#define KVM_USER_DS	  0x2b
#define KVM_USER_CS	  0x33
#define KVM_TSS_SEL	  0x40

#endif
