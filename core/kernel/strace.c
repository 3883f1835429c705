/*
 * --strace output.  Each syscall's signature in syscalls.def is "R:ARGS":
 *
 *   result R:  d decimal, x hex, o octal, n does not return ("= ?")
 *   args:      d int        l long       u unsigned long  x hex
 *              p pointer    f fd (AT_FDCWD named)         s string in
 *              b buffer in, length in the next argument
 *              B buffer out, length is the result
 *              v iovec array in, count in the next argument
 *              o open flags m octal mode P PROT_*  M MAP_*
 *              S signal     c clock id   t struct timespec in
 *              A arch_prctl code         R RLIMIT_*   G GRND_* flags
 *              E AT_* flags O prctl option           K SIG_BLOCK...
 *              C seccomp operation   F SECCOMP_FILTER_FLAG_*
 *              Q seccomp's argument (a sock_fprog, an action, ...)
 *
 * Application memory is read through the checked mm copies, so a bad
 * pointer prints as its address, as strace does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "strace.h"

#define STR_MAX 32 /* bytes of strings and buffers shown, as strace -s 32 */

struct line {
	char buf[4096];
	size_t n;
};

static void put(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (l->n >= sizeof(l->buf) - 1)
		return;
	va_start(ap, fmt);
	r = vsnprintf(l->buf + l->n, sizeof(l->buf) - l->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		l->n += (size_t)r < sizeof(l->buf) - l->n ? (size_t)r
							  : sizeof(l->buf) - l->n - 1;
}

static void put_quoted(struct line *l, const unsigned char *p, size_t n,
		       bool more)
{
	put(l, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '\n')
			put(l, "\\n");
		else if (c == '\t')
			put(l, "\\t");
		else if (c == '\r')
			put(l, "\\r");
		else if (c == '"' || c == '\\')
			put(l, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			put(l, "%c", c);
		else
			put(l, "\\%o", c);
	}
	put(l, "\"%s", more ? "..." : "");
}

static void put_mem(struct line *l, struct task *t, uint64_t addr, size_t len)
{
	unsigned char tmp[STR_MAX];
	size_t n = len < STR_MAX ? len : STR_MAX;

	if (mm_copy_in(&t->proc->mm, tmp, addr, n) < 0) {
		put(l, "%#llx", (unsigned long long)addr);
		return;
	}
	put_quoted(l, tmp, n, len > n);
}

static void put_str(struct line *l, struct task *t, uint64_t addr)
{
	char tmp[STR_MAX + 1];
	int r;

	if (!addr) {
		put(l, "NULL");
		return;
	}
	r = mm_copy_str(&t->proc->mm, tmp, addr, sizeof(tmp));
	if (r == -EFAULT) {
		put(l, "%#llx", (unsigned long long)addr);
		return;
	}
	put_quoted(l, (unsigned char *)tmp, r < 0 ? STR_MAX : (size_t)r, r < 0);
}

struct flag {
	unsigned long bit;
	const char *name;
};

static void put_flags(struct line *l, unsigned long v, const struct flag *f,
		      const char *zero)
{
	bool first = true;

	for (; f->name; f++) {
		if ((v & f->bit) == f->bit && f->bit) {
			put(l, "%s%s", first ? "" : "|", f->name);
			v &= ~f->bit;
			first = false;
		}
	}
	if (v)
		put(l, "%s%#lx", first ? "" : "|", v);
	else if (first)
		put(l, "%s", zero);
}

static const struct flag prot_flags[] = {
	{ PROT_READ, "PROT_READ" }, { PROT_WRITE, "PROT_WRITE" },
	{ PROT_EXEC, "PROT_EXEC" }, { 0, NULL },
};

static const struct flag map_flags[] = {
	{ MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE" },
	{ MAP_SHARED, "MAP_SHARED" }, { MAP_PRIVATE, "MAP_PRIVATE" },
	{ MAP_FIXED, "MAP_FIXED" }, { MAP_ANONYMOUS, "MAP_ANONYMOUS" },
	{ MAP_GROWSDOWN, "MAP_GROWSDOWN" }, { MAP_NORESERVE, "MAP_NORESERVE" },
	{ MAP_STACK, "MAP_STACK" }, { MAP_POPULATE, "MAP_POPULATE" },
	{ MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE" }, { 0, NULL },
};

static const struct flag open_flags[] = {
	{ O_WRONLY, "O_WRONLY" }, { O_RDWR, "O_RDWR" }, { O_CREAT, "O_CREAT" },
	{ O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" }, { O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" },
	{ O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" },
	{ O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" }, { 0, NULL },
};

static const struct flag at_flags[] = {
	{ AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW" },
	{ AT_REMOVEDIR, "AT_REMOVEDIR" }, { AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW" },
	{ AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT" }, { AT_EMPTY_PATH, "AT_EMPTY_PATH" },
	{ 0, NULL },
};

static const struct flag grnd_flags[] = {
	{ 1, "GRND_NONBLOCK" }, { 2, "GRND_RANDOM" }, { 4, "GRND_INSECURE" },
	{ 0, NULL },
};

/* put_name - @v's name in @names (indexed by value), or the number. */
static void put_name(struct line *l, uint64_t v, const char *const *names,
		     size_t n)
{
	if (v < n && names[v])
		put(l, "%s", names[v]);
	else
		put(l, "%lld", (long long)v);
}

static const char *const rlimits[] = {
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
	"RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
	"RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

static const char *const prctls[] = {
	[1] = "PR_SET_PDEATHSIG", [2] = "PR_GET_PDEATHSIG",
	[3] = "PR_GET_DUMPABLE", [4] = "PR_SET_DUMPABLE",
	[15] = "PR_SET_NAME", [16] = "PR_GET_NAME", [21] = "PR_GET_SECCOMP",
	[22] = "PR_SET_SECCOMP", [36] = "PR_SET_CHILD_SUBREAPER",
	[37] = "PR_GET_CHILD_SUBREAPER", [38] = "PR_SET_NO_NEW_PRIVS",
	[39] = "PR_GET_NO_NEW_PRIVS",
};

static const char *const seccomp_ops[] = {
	"SECCOMP_SET_MODE_STRICT", "SECCOMP_SET_MODE_FILTER",
	"SECCOMP_GET_ACTION_AVAIL", "SECCOMP_GET_NOTIF_SIZES",
};

static const struct flag seccomp_flags[] = {
	{ 1, "SECCOMP_FILTER_FLAG_TSYNC" }, { 2, "SECCOMP_FILTER_FLAG_LOG" },
	{ 4, "SECCOMP_FILTER_FLAG_SPEC_ALLOW" },
	{ 8, "SECCOMP_FILTER_FLAG_NEW_LISTENER" },
	{ 16, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH" },
	{ 32, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" }, { 0, NULL },
};

/* put_seccomp_arg - seccomp's third argument, by operation (strace's
 * {len=N, filter=ADDR} for a program, [ACTION] for GET_ACTION_AVAIL). */
static void put_seccomp_arg(struct line *l, struct task *t, uint32_t op,
			    uint64_t v)
{
	struct {
		uint16_t len;
		uint64_t filter;
	} prog;
	uint32_t action;

	if (op == 1 && v && mm_copy_in(&t->proc->mm, &prog, v, sizeof(prog)) == 0)
		put(l, "{len=%u, filter=%#llx}", prog.len,
		    (unsigned long long)prog.filter);
	else if (op == 2 && v && mm_copy_in(&t->proc->mm, &action, v, 4) == 0)
		put(l, "[%#x]", action);
	else
		put(l, v ? "%#llx" : "NULL", (unsigned long long)v);
}

static const char *const sighows[] = { "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK" };

static void put_arch_prctl(struct line *l, uint64_t v)
{
	static const char *const codes[] = {
		"ARCH_SET_GS", "ARCH_SET_FS", "ARCH_GET_FS", "ARCH_GET_GS",
	};

	if (v >= 0x1001 && v <= 0x1004)
		put(l, "%s", codes[v - 0x1001]);
	else if (v == 0x1011)
		put(l, "ARCH_GET_CPUID");
	else if (v == 0x1012)
		put(l, "ARCH_SET_CPUID");
	else
		put(l, "%#llx", (unsigned long long)v);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void put_open_flags(struct line *l, unsigned long v)
{
	if ((v & O_ACCMODE) == O_RDONLY) {
		put(l, "O_RDONLY");
		if (v)
			put(l, "|");
		else
			return;
	}
	put_flags(l, v, open_flags, "");
}

static void put_arg(struct line *l, struct task *t,
		    const struct sbx_syscall_args *a, int i, char kind,
		    long ret, bool done)
{
	uint64_t v = a->a[i];
	uint64_t next = i < 5 ? a->a[i + 1] : 0;
	const char *s;

	switch (kind) {
	case 'd':
	case 'f':
		if (kind == 'f' && (int)v == AT_FDCWD)
			put(l, "AT_FDCWD");
		else
			put(l, "%d", (int)v);
		break;
	case 'l':
		put(l, "%lld", (long long)v);
		break;
	case 'u':
		put(l, "%llu", (unsigned long long)v);
		break;
	case 'p':
		put(l, v ? "%#llx" : "NULL", (unsigned long long)v);
		break;
	case 's':
		put_str(l, t, v);
		break;
	case 'b':
		put_mem(l, t, v, next);
		break;
	case 'B':
		if (done && ret >= 0)
			put_mem(l, t, v, (size_t)ret);
		else
			put(l, v ? "%#llx" : "NULL", (unsigned long long)v);
		break;
	case 'v': {
		struct iovec iov[8];
		size_t n = next < 8 ? next : 8;

		if (mm_copy_in(&t->proc->mm, iov, v, n * sizeof(iov[0])) < 0) {
			put(l, "%#llx", (unsigned long long)v);
			break;
		}
		put(l, "[");
		for (size_t k = 0; k < n; k++) {
			put(l, "%s{iov_base=", k ? ", " : "");
			put_mem(l, t, (uint64_t)iov[k].iov_base, iov[k].iov_len);
			put(l, ", iov_len=%zu}", iov[k].iov_len);
		}
		put(l, "%s]", next > n ? ", ..." : "");
		break;
	}
	case 'o':
		put_open_flags(l, v);
		break;
	case 'm':
		put(l, "%#llo", (unsigned long long)v);
		break;
	case 'P':
		put_flags(l, v, prot_flags, "PROT_NONE");
		break;
	case 'M':
		put_flags(l, v, map_flags, "0");
		break;
	case 'S':
		s = (int)v > 0 && (int)v < 65 ? sigabbrev_np((int)v) : NULL;
		if (s)
			put(l, "SIG%s", s);
		else
			put(l, "%d", (int)v);
		break;
	case 'c': {
		static const char *const clocks[] = {
			"CLOCK_REALTIME", "CLOCK_MONOTONIC",
			"CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
			"CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE",
			"CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME",
		};
		if (v < sizeof(clocks) / sizeof(clocks[0]))
			put(l, "%s", clocks[v]);
		else
			put(l, "%d", (int)v);
		break;
	}
	case 't': {
		struct k_timespec ts;

		if (v && mm_copy_in(&t->proc->mm, &ts, v, sizeof(ts)) == 0)
			put(l, "{tv_sec=%lld, tv_nsec=%lld}",
			    (long long)ts.tv_sec, (long long)ts.tv_nsec);
		else
			put(l, v ? "%#llx" : "NULL", (unsigned long long)v);
		break;
	}
	case 'A':
		put_arch_prctl(l, v);
		break;
	case 'R':
		put_name(l, v, rlimits, N(rlimits));
		break;
	case 'O':
		put_name(l, v, prctls, N(prctls));
		break;
	case 'K':
		put_name(l, v, sighows, N(sighows));
		break;
	case 'E':
		put_flags(l, v, at_flags, "0");
		break;
	case 'G':
		put_flags(l, v, grnd_flags, "0");
		break;
	case 'C':
		put_name(l, (uint32_t)v, seccomp_ops, N(seccomp_ops));
		break;
	case 'F':
		put_flags(l, (uint32_t)v, seccomp_flags, "0");
		break;
	case 'Q':
		put_seccomp_arg(l, t, (uint32_t)a->a[0], v);
		break;
	default:
		put(l, "%#llx", (unsigned long long)v);
	}
}

static void put_call(struct line *l, struct task *t,
		     const struct sbx_syscall_args *a, const char *name,
		     const char *sig, long ret, bool done)
{
	const char *args = strchr(sig, ':');

	if (t->proc->k->init != t->proc)
		put(l, "[pid %d] ", t->tid);
	if (name)
		put(l, "%s(", name);
	else
		put(l, "syscall_%llu(", (unsigned long long)a->nr);
	args = args ? args + 1 : "";
	for (int i = 0; args[i] && i < 6; i++) {
		if (i)
			put(l, ", ");
		put_arg(l, t, a, i, args[i], ret, done);
	}
	put(l, ")");
}

static void emit(struct task *t, struct line *l)
{
	put(l, "\n");
	(void)!write(t->proc->k->strace_fd, l->buf, l->n);
}

void strace_enter(struct task *t, const struct sbx_syscall_args *a,
		  const char *name, const char *sig)
{
	struct line l = { .n = 0 };

	if (sig[0] != 'n')
		return;
	put_call(&l, t, a, name, sig, 0, false);
	put(&l, " = ?");
	emit(t, &l);
}

void strace_exit(struct task *t, const struct sbx_syscall_args *a,
		 const char *name, const char *sig, long ret)
{
	struct line l = { .n = 0 };

	if (sig[0] == 'n')
		return;
	put_call(&l, t, a, name, sig, ret, true);
	if (ret < 0 && ret >= -4095) {
		const char *en = strerrorname_np((int)-ret);

		put(&l, " = -1 %s (%s)", en ? en : "E?", strerror((int)-ret));
	} else if (sig[0] == 'x') {
		put(&l, " = %#lx", (unsigned long)ret);
	} else if (sig[0] == 'o') {
		put(&l, " = %#lo", (unsigned long)ret);
	} else {
		put(&l, " = %ld", ret);
	}
	emit(t, &l);
}

void strace_skip(struct task *t, const struct sbx_syscall_args *a,
		 const char *name, const char *sig, const char *why)
{
	struct line l = { .n = 0 };

	put_call(&l, t, a, name, sig, 0, false);
	put(&l, " = ? <%s>", why);
	emit(t, &l);
}
