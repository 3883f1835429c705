/*
 * kvm_raw: raw KVM mechanism benchmarks for the kvm platform, without sbx.
 * A minimal VMM of its own (the layout of plugins/platform-kvm, written
 * out again so that nothing of the plugin is measured):
 *
 *   kvm_run_floor            KVM_RUN with immediate_exit set: the cost of
 *                            the ioctl alone, no guest entry
 *   kvm_stub_rt_regs         ring-3 `syscall` -> stub `out` -> host ->
 *                            back, registers through sync regs (REGS only)
 *   kvm_stub_rt_regs_sregs   the same with SREGS also synced on each exit
 *                            (what the plugin needs for fs_base/CR2/CPL)
 *   kvm_getregs_rt           the same round trip with KVM_GET_REGS +
 *                            KVM_SET_REGS instead of sync regs
 *   kvm_vm_create            KVM_CREATE_VM + memory slot + vCPU + set-up
 *                            (the per-address-space start-up cost)
 *
 * The way back: where the stub ran in user mode (PVM hosts) the host sets
 * the user registers directly; otherwise it iretqs through a frame.
 * Output: `name value unit` lines, medians of RUNS runs of ITERS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define RUNS	 7
#define KB	 0x7fffc0000000ULL
#define PRIV_GPA 0x40000000ULL
#define PRIV_LEN (1 << 20)

struct vm {
	int fd, vcpu;
	struct kvm_run *run;
	uint8_t *priv;
	bool user_lstar;
};

static int kvm_fd, run_size;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t *pg(struct vm *v, int n)
{
	return (uint64_t *)(v->priv + 4096 * n);
}

/*
 * Pages: 0 user stub (out $0x10), 1 kernel stub (iretq), 2 GDT, 3 IDT
 * (unused), 4 TSS (+I/O bitmap), 5-6 stack, 7 user code; 8 PML4, 9 PDPT,
 * 10 PD, 11 PT (kernel), 12 PDPT, 13 PD, 14 PT (user code at 0x400000).
 */
static void vm_create(struct vm *v)
{
	struct kvm_userspace_memory_region r = { 0, 0, PRIV_GPA, PRIV_LEN, 0 };
	struct kvm_sregs s;
	struct kvm_segment cs = { .limit = 0xffffffff, .selector = 0x10,
				  .type = 11, .present = 1, .s = 1, .l = 1,
				  .g = 1 };
	struct kvm_segment ds = { .limit = 0xffffffff, .selector = 0x18,
				  .type = 3, .present = 1, .s = 1, .db = 1,
				  .g = 1 };
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = { .h.nmsrs = 3 };
	uint8_t *tss, *code;
	uint64_t *gdt, tssva = KB + 4 * 4096;
	int i;

	v->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (v->fd < 0)
		die("KVM_CREATE_VM");
	v->priv = mmap(NULL, PRIV_LEN, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	r.userspace_addr = (uintptr_t)v->priv;
	if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &r))
		die("KVM_SET_USER_MEMORY_REGION");
	v->priv[0] = 0xe6; /* out %al, $0x10 */
	v->priv[1] = 0x10;
	v->priv[4096] = 0x48; /* iretq */
	v->priv[4097] = 0xcf;
	gdt = pg(v, 2);
	gdt[2] = 0x00af9b000000ffffULL;
	gdt[3] = 0x00cf93000000ffffULL;
	gdt[4] = 0x00cffb000000ffffULL;
	gdt[5] = 0x00cff3000000ffffULL;
	gdt[6] = 0x00affb000000ffffULL;
	gdt[8] = 0x0000890000000000ULL | 136 | ((tssva & 0xffffff) << 16) |
		 (((tssva >> 24) & 0xff) << 56);
	gdt[9] = tssva >> 32;
	tss = (uint8_t *)pg(v, 4);
	*(uint64_t *)(tss + 4) = KB + 7 * 4096;
	tss[102] = 104;
	memset(tss + 104, 0xff, 33);
	tss[104 + 2] &= ~1; /* port 0x10 */
	code = (uint8_t *)pg(v, 7);
	/* 1: mov $110, %eax; syscall; jmp 1b */
	memcpy(code, "\xb8\x6e\x00\x00\x00\x0f\x05\xeb\xf7", 9);
	pg(v, 8)[255] = (PRIV_GPA + 9 * 4096) | 7;
	pg(v, 9)[511] = (PRIV_GPA + 10 * 4096) | 7;
	pg(v, 10)[0] = (PRIV_GPA + 11 * 4096) | 7;
	pg(v, 11)[0] = PRIV_GPA | 5;
	pg(v, 11)[1] = (PRIV_GPA + 4096) | 1;
	for (i = 2; i < 7; i++)
		pg(v, 11)[i] = (PRIV_GPA + 4096 * i) | 3;
	pg(v, 8)[0] = (PRIV_GPA + 12 * 4096) | 7;
	pg(v, 12)[0] = (PRIV_GPA + 13 * 4096) | 7;
	pg(v, 13)[2] = (PRIV_GPA + 14 * 4096) | 7;
	pg(v, 14)[0] = (PRIV_GPA + 7 * 4096) | 5;

	v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		die("KVM_CREATE_VCPU");
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	if (ioctl(v->vcpu, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS");
	s.cs = cs;
	s.ss = ds;
	memset(&s.ds, 0, sizeof(s.ds));
	s.es = s.fs = s.gs = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = tssva;
	s.tr.limit = 136;
	s.tr.selector = 0x40;
	s.tr.type = 11;
	s.tr.present = 1;
	s.gdt.base = KB + 2 * 4096;
	s.gdt.limit = 0x4f;
	s.idt.base = KB + 3 * 4096;
	s.idt.limit = 0;
	s.cr0 = 0x80050033;
	s.cr3 = PRIV_GPA + 8 * 4096;
	s.cr4 = 0x620;
	s.efer = 0xd01;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS");
	m.e[0].index = 0xc0000081;
	m.e[0].data = (0x10ULL << 32) | (0x20ULL << 48);
	m.e[1].index = 0xc0000082;
	m.e[1].data = KB;
	m.e[2].index = 0xc0000084;
	m.e[2].data = 0x47700;
	if (ioctl(v->vcpu, KVM_SET_MSRS, &m) != 3)
		die("KVM_SET_MSRS");
}

static void vm_destroy(struct vm *v)
{
	munmap(v->run, run_size);
	close(v->vcpu);
	close(v->fd);
	munmap(v->priv, PRIV_LEN);
}

/* back to the user loop: iret from ring 0 (first time, or VMX/SVM) */
static void set_iret(struct vm *v, uint64_t rip)
{
	uint64_t *f = (uint64_t *)(v->priv + 7 * 4096 - 40);
	struct kvm_regs *r = &v->run->s.regs.regs;

	f[0] = rip;
	f[1] = 0x33;
	f[2] = 0x202;
	f[3] = 0x401000;
	f[4] = 0x2b;
	r->rip = KB + 4096;
	r->rsp = KB + 7 * 4096 - 40;
	r->rflags = 2;
	v->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
}

static void run_io(struct vm *v)
{
	if (ioctl(v->vcpu, KVM_RUN, 0) || v->run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "exit %u rip %#llx\n", v->run->exit_reason,
			(unsigned long long)v->run->s.regs.regs.rip);
		exit(1);
	}
}

/* @mode 0: sync REGS, 1: REGS + SREGS, 2: KVM_GET/SET_REGS */
static double stub_rt(int mode, int iters)
{
	struct kvm_regs kr, *r;
	struct kvm_sregs s;
	struct vm v;
	double t0 = 0;
	int i;

	vm_create(&v);
	r = &v.run->s.regs.regs;
	v.run->kvm_valid_regs = KVM_SYNC_X86_REGS |
				(mode == 1 ? KVM_SYNC_X86_SREGS : 0);
	set_iret(&v, 0x400000);
	run_io(&v);
	if (ioctl(v.vcpu, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS");
	v.user_lstar = (s.cs.selector & 3) == 3;
	for (i = -iters / 10; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		if (mode == 2) {
			if (ioctl(v.vcpu, KVM_GET_REGS, &kr))
				die("KVM_GET_REGS");
			kr.rax = 1;
			kr.rip = kr.rcx;
			kr.rflags = kr.r11;
			if (!v.user_lstar) /* not measured on VMX/SVM */
				die("mode 2 needs a user-mode LSTAR");
			if (ioctl(v.vcpu, KVM_SET_REGS, &kr))
				die("KVM_SET_REGS");
			v.run->kvm_dirty_regs = 0;
		} else if (v.user_lstar) {
			r->rax = 1;
			r->rip = r->rcx;
			r->rflags = r->r11;
			v.run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
		} else {
			r->rax = 1;
			set_iret(&v, r->rcx);
		}
		run_io(&v);
	}
	t0 = (now_ns() - t0) / iters;
	vm_destroy(&v);
	return t0;
}

static double run_floor(int iters)
{
	struct vm v;
	double t0;
	int i;

	vm_create(&v);
	v.run->immediate_exit = 1;
	t0 = now_ns();
	for (i = 0; i < iters; i++)
		if (ioctl(v.vcpu, KVM_RUN, 0) == 0 || errno != EINTR)
			die("KVM_RUN (immediate_exit)");
	t0 = (now_ns() - t0) / iters;
	vm_destroy(&v);
	return t0;
}

static double create_cost(int iters)
{
	struct vm v;
	double t0 = now_ns();
	int i;

	for (i = 0; i < iters; i++) {
		vm_create(&v);
		set_iret(&v, 0x400000);
		v.run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		run_io(&v);
		vm_destroy(&v);
	}
	return (now_ns() - t0) / iters;
}

static void report(const char *name, double (*fn)(int), int iters,
		   const char *unit, double scale)
{
	double v[RUNS];
	int i;

	for (i = 0; i < RUNS; i++)
		v[i] = fn(iters);
	qsort(v, RUNS, sizeof(v[0]), cmp);
	printf("%s %.0f %s (min %.0f, max %.0f)\n", name, v[RUNS / 2] / scale,
	       unit, v[0] / scale, v[RUNS - 1] / scale);
	fflush(stdout);
}

static int g_mode;

static double stub_rt_mode(int iters)
{
	return stub_rt(g_mode, iters);
}

/* usage: kvm_raw [ITERS] */
int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 5000;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		perror("/dev/kvm");
		return 77;
	}
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	report("kvm_run_floor", run_floor, iters, "ns", 1);
	g_mode = 0;
	report("kvm_stub_rt_regs", stub_rt_mode, iters, "ns", 1);
	g_mode = 1;
	report("kvm_stub_rt_regs_sregs", stub_rt_mode, iters, "ns", 1);
	g_mode = 2;
	report("kvm_getregs_rt", stub_rt_mode, iters / 5, "ns", 1);
	report("kvm_vm_create", create_cost, 20, "us", 1000);
	return 0;
}
