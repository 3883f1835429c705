/*
 * The syscall table, built from syscalls.def, and dispatch: decode the
 * registers, run the application's seccomp filters (when it has any),
 * call the handler, log unimplemented calls once by name, and hand the
 * call to strace when it is on.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "../util/log.h"
#include "kernel.h"
#include "seccomp.h"
#include "strace.h"

struct syscall_entry {
	const char *name;
	syscall_fn fn;
	const char *sig;
};

#define SYSCALL(nr, name, fn, sig) [nr] = { #name, fn, sig },
static const struct syscall_entry table[] = {
#include "syscalls.def"
};
#undef SYSCALL

#define N_SYSCALLS (sizeof(table) / sizeof(table[0]))
_Static_assert(N_SYSCALLS == 451, "syscalls.def covers 0..450 (Linux 6.1)");

static atomic_uchar warned[N_SYSCALLS];

const char *syscall_name(uint64_t nr)
{
	return nr < N_SYSCALLS ? table[nr].name : NULL;
}

void syscall_dispatch(struct task *t)
{
	struct sbx_syscall_args a = {
		.nr = t->regs.orig_rax,
		.a = { t->regs.rdi, t->regs.rsi, t->regs.rdx, t->regs.r10,
		       t->regs.r8, t->regs.r9 },
	};
	const struct syscall_entry *e = a.nr < N_SYSCALLS ? &table[a.nr] : NULL;
	const char *why = NULL;
	long ret;

	/* the application's own seccomp filters: one branch when it has none */
	if (kseccomp_active(t) && kseccomp_check(t, &a, &why)) {
		if (!t->proc->k->strace)
			return;
		if (why)
			strace_skip(t, &a, e && e->name ? e->name : NULL,
				    e ? e->sig : "d:xxxxxx", why);
		else
			strace_exit(t, &a, e && e->name ? e->name : NULL,
				    e ? e->sig : "d:xxxxxx", (long)t->regs.rax);
		return;
	}
	if (e && e->fn) {
		if (t->proc->k->strace)
			strace_enter(t, &a, e->name, e->sig);
		ret = e->fn(t, &a);
	} else {
		if (!e || !e->name)
			sbx_info("unimplemented syscall %llu", (unsigned long long)a.nr);
		else if (!atomic_exchange(&warned[a.nr], 1))
			sbx_info("unimplemented syscall %s", e->name);
		ret = -ENOSYS;
		if (t->proc->k->strace)
			strace_enter(t, &a, e && e->name ? e->name : NULL,
				     e ? e->sig : "d:xxxxxx");
	}
	if (t->proc->k->strace)
		strace_exit(t, &a, e && e->name ? e->name : NULL,
			    e ? e->sig : "d:xxxxxx", ret);
	t->regs.rax = (uint64_t)ret;
}
