/*
 * /proc, compared natively and in the sandbox: the things that are equal
 * in both.  Our own mappings and their permissions in maps and smaps, the
 * fds we open in fd/ and fdinfo/, exe, cwd, root, stat, statm, status and
 * their agreement with the syscalls, cmdline and environ against argv and
 * environ, comm writes, auxv, task/, a zombie child's state, reopening a
 * pipe through fd/N, lseek and pread on a snapshot, and Linux's errors.
 * Prints relations and our own values, never pids or addresses.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

extern char **environ;

/* slurp - a whole /proc file (NUL-terminated; *len gets its size) */
static char *slurp(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* field - the value after "Name:\t" in a status-like file, or "" */
static const char *field(const char *text, const char *name, char *out,
			 size_t len)
{
	size_t nl = strlen(name);

	out[0] = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (!strncmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == '\t' || *v == ' ')
				v++;
			e = strchrnul(v, '\n');
			snprintf(out, len, "%.*s", (int)(e - v), v);
			break;
		}
	}
	return out;
}

/* perms_of - the perms column of the maps line starting at @addr */
static void perms_of(const char *maps, uintptr_t addr, uintptr_t end, char *out)
{
	char want[64];

	snprintf(want, sizeof(want), "%08lx-%08lx ", (unsigned long)addr,
		 (unsigned long)end);
	strcpy(out, "none");
	for (const char *p = maps; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, want, strlen(want))) {
			memcpy(out, p + strlen(want), 4);
			out[4] = 0;
		}
}

static int has_line_with(const char *text, const char *needle)
{
	return text && strstr(text, needle) != NULL;
}

static void maps_checks(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *rx = mmap(NULL, pg, PROT_READ | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char p1[8], p2[8], p3[8], *maps, *smaps, want[64];
	uintptr_t a = (uintptr_t)m, local = (uintptr_t)&a;
	int in_stack = 0;

	mprotect(m + pg, pg, PROT_READ);
	maps = slurp("/proc/self/maps", NULL);
	if (!maps) {
		printf("maps: cannot read\n");
		return;
	}
	perms_of(maps, a, a + pg, p1);
	perms_of(maps, a + pg, a + 2 * pg, p2);
	perms_of(maps, a + 2 * pg, a + 3 * pg, p3);
	printf("maps: split mapping %s %s %s\n", p1, p2, p3);
	perms_of(maps, (uintptr_t)none, (uintptr_t)none + pg, p1);
	perms_of(maps, (uintptr_t)rx, (uintptr_t)rx + pg, p2);
	printf("maps: PROT_NONE %s, r-x %s\n", p1, p2);
	printf("maps: [stack] %d [vdso] %d [vvar] %d\n",
	       has_line_with(maps, "[stack]"), has_line_with(maps, "[vdso]"),
	       has_line_with(maps, "[vvar]"));
	for (char *p = maps; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		unsigned long lo, hi;

		if (sscanf(p, "%lx-%lx", &lo, &hi) == 2 && local >= lo &&
		    local < hi && strstr(strchrnul(p, '\n') - 7, "[stack]"))
			in_stack = 1;
	}
	printf("maps: a local variable is in [stack] %d\n", in_stack);
	/* the name column starts at 73 as in Linux */
	{
		char *s = strstr(maps, "[stack]");

		while (s && s > maps && s[-1] != '\n')
			s--;
		printf("maps: [stack] at column %d\n",
		       s ? (int)(strstr(s, "[stack]") - s) : -1);
	}
	free(maps);
	smaps = slurp("/proc/self/smaps", NULL);
	snprintf(want, sizeof(want), "%08lx-%08lx ", (unsigned long)rx,
		 (unsigned long)rx + pg);
	if (smaps && strstr(smaps, want)) {
		char v[64], *at = strstr(smaps, want);

		printf("smaps: Size %s, Rss line %d, VmFlags %d\n",
		       field(strchr(at, '\n') + 1, "Size", v, sizeof(v)),
		       strstr(at, "\nRss:") != NULL, strstr(at, "\nVmFlags:") != NULL);
	} else {
		printf("smaps: mapping missing\n");
	}
	free(smaps);
	munmap(m, 3 * pg);
	munmap(none, pg);
	munmap(rx, pg);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list - the sorted names in @dir (without . and ..), space-separated */
static void list(const char *dir, char *out, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[256];
	int n = 0;

	out[0] = 0;
	if (!d) {
		snprintf(out, len, "(%s)", errname(errno));
		return;
	}
	while ((e = readdir(d)) && n < 256)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	for (int i = 0; i < n; i++) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
			 i ? " " : "", names[i]);
		free(names[i]);
	}
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void fd_checks(void)
{
	char buf[4096], link[PATH_MAX], path[64], *info;
	int p[2], f, n, lo;
	struct stat st, lst;
	ssize_t r;

	/* lowest fd numbers are equal on both sides: 0-2 are open */
	f = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	pipe(p);
	list("/proc/self/fd", buf, sizeof(buf));
	printf("fd: %s\n", buf);
	lo = f;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	n = (int)readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("fd: link of an open file: %s\n", link);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	n = (int)readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	fstat(p[0], &st);
	snprintf(buf, sizeof(buf), "pipe:[%lu]", (unsigned long)st.st_ino);
	printf("fd: pipe link is pipe:[its inode] %d\n", !strcmp(link, buf));
	stat(path, &st);
	lstat(path, &lst);
	printf("fd: stat follows to a fifo %d, lstat is a link %d\n",
	       S_ISFIFO(st.st_mode), S_ISLNK(lst.st_mode));
	printf("fd: link mode r %o w ", lst.st_mode & 0777);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]);
	lstat(path, &lst);
	printf("%o\n", lst.st_mode & 0777);
	/* reopening the read end through /proc reads the same pipe */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	n = open(path, O_RDONLY);
	write(p[1], "through", 7);
	r = n >= 0 ? read(n, buf, sizeof(buf)) : -1;
	printf("fd: reopened pipe reads %.*s\n", r > 0 ? (int)r : 0, buf);
	close(n);

	/* fdinfo: position and flags */
	lseek(f, 3, SEEK_SET);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", lo);
	info = slurp(path, NULL);
	printf("fdinfo: pos %s flags %s\n", field(info, "pos", buf, 64),
	       field(info, "flags", buf + 64, 64));
	printf("fdinfo: mnt_id line %d\n", has_line_with(info, "\nmnt_id:"));
	free(info);

	/* a regular file reopened through its link reads the file */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", lo);
	n = open(path, O_RDONLY);
	r = n >= 0 ? read(n, buf, 5) : -1;
	printf("fd: reopened file reads %.*s\n", r > 0 ? (int)r : 0, buf);
	close(n);
	close(f);
	close(p[0]);
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", lo);
	printf("fd: closed fd's link %s\n",
	       readlink(path, link, sizeof(link)) < 0 ? errname(errno) : "exists");
}

static void stat_checks(void)
{
	char *s = slurp("/proc/self/stat", NULL), *st = slurp("/proc/self/status", NULL);
	char v[256], comm[32], state;
	int pid, ppid, fields = 0;
	char *close_paren = s ? strrchr(s, ')') : NULL;

	if (!s || !st || !close_paren) {
		printf("stat: cannot read\n");
		return;
	}
	sscanf(s, "%d (%31[^)]", &pid, comm);
	sscanf(close_paren + 2, "%c %d", &state, &ppid);
	for (char *t = close_paren + 1; *t; t++)
		fields += *t == ' ';
	printf("stat: pid is getpid %d, comm %s, state %c, ppid is getppid %d, "
	       "fields %d\n", pid == getpid(), comm, state, ppid == getppid(),
	       fields + 2);
	printf("status: Name %s\n", field(st, "Name", v, sizeof(v)));
	printf("status: Pid %d Tgid %d PPid %d\n",
	       atoi(field(st, "Pid", v, sizeof(v))) == getpid(),
	       atoi(field(st, "Tgid", v, sizeof(v))) == getpid(),
	       atoi(field(st, "PPid", v, sizeof(v))) == getppid());
	printf("status: Uid %d Gid %d\n",
	       (unsigned)atoi(field(st, "Uid", v, sizeof(v))) == getuid(),
	       (unsigned)atoi(field(st, "Gid", v, sizeof(v))) == getgid());
	printf("status: State %s, Umask %s, Threads %s\n",
	       field(st, "State", v, sizeof(v)), field(st, "Umask", v + 64, 64),
	       field(st, "Threads", v + 128, 64));
	printf("status: VmSize %d VmRSS %d SigBlk %d CapEff %d NoNewPrivs %s "
	       "Cpus_allowed_list %d\n", has_line_with(st, "\nVmSize:"),
	       has_line_with(st, "\nVmRSS:"), has_line_with(st, "\nSigBlk:"),
	       has_line_with(st, "\nCapEff:"), field(st, "NoNewPrivs", v, sizeof(v)),
	       has_line_with(st, "\nCpus_allowed_list:"));
	free(s);
	free(st);
	s = slurp("/proc/self/statm", NULL);
	{
		unsigned long sz = 0, res = 0;

		printf("statm: %d numbers, size >= resident %d\n",
		       s ? sscanf(s, "%lu %lu %*u %*u %*u %*u %*u", &sz, &res) : 0,
		       sz >= res);
	}
	free(s);
}

static void self_checks(int argc, char **argv)
{
	char link[PATH_MAX], want[64], *s;
	size_t len, at = 0;
	int ok = 1, n;
	unsigned long *aux;

	n = (int)readlink("/proc/self/exe", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("exe: absolute %d, ends in the program's name %d\n", link[0] == '/',
	       !strcmp(strrchr(link, '/') + 1, strrchr(argv[0], '/') ?
		       strrchr(argv[0], '/') + 1 : argv[0]));
	s = slurp("/proc/self/cmdline", &len);
	for (int i = 0; i < argc && s; i++) {
		if (at >= len || strcmp(s + at, argv[i]))
			ok = 0;
		at += strlen(argv[i]) + 1;
	}
	printf("cmdline equals argv %d (%zu bytes)\n", ok && at == len, len);
	free(s);
	s = slurp("/proc/self/environ", &len);
	ok = s != NULL;
	at = 0;
	for (char **e = environ; *e && s; e++) {
		if (at >= len || strcmp(s + at, *e))
			ok = 0;
		at += strlen(*e) + 1;
	}
	printf("environ equals environ %d\n", ok && at == len);
	free(s);
	aux = (unsigned long *)slurp("/proc/self/auxv", &len);
	ok = 0;
	for (size_t i = 0; aux && i + 1 < len / sizeof(*aux); i += 2)
		if (aux[i] == AT_ENTRY)
			ok = aux[i + 1] == getauxval(AT_ENTRY);
	printf("auxv: AT_ENTRY matches getauxval %d, ends with AT_NULL %d\n", ok,
	       aux && len >= 16 && aux[len / sizeof(*aux) - 2] == AT_NULL);
	free(aux);

	chdir("/usr");
	n = (int)readlink("/proc/self/cwd", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("cwd after chdir: %s\n", link);
	n = (int)readlink("/proc/self/root", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("root: %s\n", link);
	{
		struct stat a, b;

		stat("/proc/self/cwd/.", &a);
		stat("/usr", &b);
		printf("cwd link leads to the directory %d\n",
		       a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		stat("/proc/self/root/usr", &a);
		printf("root link leads to / %d\n",
		       a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	}
	chdir("/");
	n = (int)readlink("/proc/self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("self is getpid %d\n", atoi(link) == getpid());
	n = (int)readlink("/proc/thread-self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	snprintf(want, sizeof(want), "%d/task/%ld", getpid(), (long)syscall(SYS_gettid));
	printf("thread-self is pid/task/tid %d\n", !strcmp(link, want));

	/* comm: prctl and /proc agree, writes by the process itself */
	prctl(PR_SET_NAME, "renamed");
	s = slurp("/proc/self/comm", NULL);
	printf("comm after PR_SET_NAME: %s", s ? s : "?\n");
	free(s);
	n = open("/proc/self/comm", O_WRONLY);
	printf("comm write %zd\n", n >= 0 ? write(n, "written-by-proc-abcdef", 22) : -1);
	close(n);
	prctl(PR_GET_NAME, link);
	printf("PR_GET_NAME after the write: %s\n", link);
	snprintf(want, sizeof(want), "/proc/self/task/%ld/comm",
		 (long)syscall(SYS_gettid));
	s = slurp(want, NULL);
	printf("task comm: %s", s ? s : "?\n");
	free(s);
	n = open("/proc/self/oom_score_adj", O_WRONLY);
	printf("oom_score_adj write %zd", n >= 0 ? write(n, "100\n", 4) : -1);
	close(n);
	s = slurp("/proc/self/oom_score_adj", NULL);
	printf(", reads %s", s ? s : "?\n");
	free(s);
	n = open("/proc/self/oom_score_adj", O_WRONLY);
	errno = 0;
	printf("oom_score_adj of 5000: %s\n",
	       n >= 0 && write(n, "5000", 4) < 0 ? errname(errno) : "accepted");
	close(n);
}

static void dir_checks(void)
{
	char buf[4096], want[32];
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0, tasks;

	snprintf(want, sizeof(want), "%d", getpid());
	while (d && (e = readdir(d)))
		found |= !strcmp(e->d_name, want) && e->d_type == DT_DIR;
	if (d)
		closedir(d);
	printf("/proc lists our pid as a directory %d\n", found);
	list("/proc/self", buf, sizeof(buf));
	printf("self has stat %d status %d maps %d fd %d task %d cmdline %d\n",
	       strstr(buf, " stat ") != NULL, strstr(buf, " status ") != NULL,
	       strstr(buf, " maps ") != NULL, strstr(buf, " fd ") != NULL,
	       strstr(buf, " task") != NULL, strstr(buf, " cmdline ") != NULL);
	tasks = count_entries("/proc/self/task");
	{
		char *st = slurp("/proc/self/status", NULL), v[32];

		printf("task/ entries equal Threads: %d\n",
		       tasks == atoi(field(st, "Threads", v, sizeof(v))));
		free(st);
	}
	snprintf(buf, sizeof(buf), "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
	printf("task/TID/stat readable %d\n", access(buf, R_OK) == 0);
}

static void global_checks(void)
{
	char *s, v[128];
	double up = -1, idle = -1;
	int n;

	s = slurp("/proc/uptime", NULL);
	printf("uptime: two numbers %d\n", s && sscanf(s, "%lf %lf", &up, &idle) == 2 && up >= 0);
	free(s);
	s = slurp("/proc/meminfo", NULL);
	printf("meminfo: MemTotal kB %d MemAvailable %d\n",
	       strstr(field(s, "MemTotal", v, sizeof(v)), " kB") != NULL,
	       has_line_with(s, "\nMemAvailable:"));
	free(s);
	s = slurp("/proc/cpuinfo", NULL);
	printf("cpuinfo: processor %d model name %d flags %d\n",
	       s && !strncmp(s, "processor", 9), has_line_with(s, "\nmodel name"),
	       has_line_with(s, "\nflags"));
	free(s);
	s = slurp("/proc/stat", NULL);
	printf("stat: cpu line %d btime %d processes %d\n", s && !strncmp(s, "cpu ", 4),
	       has_line_with(s, "\nbtime "), has_line_with(s, "\nprocesses "));
	free(s);
	s = slurp("/proc/loadavg", NULL);
	{
		double a, b, c;
		int run, tot, last;

		printf("loadavg: %d fields\n",
		       s ? sscanf(s, "%lf %lf %lf %d/%d %d", &a, &b, &c, &run, &tot, &last) : 0);
	}
	free(s);
	s = slurp("/proc/version", NULL);
	printf("version starts with Linux version %d\n", s && !strncmp(s, "Linux version ", 14));
	free(s);
	s = slurp("/proc/filesystems", NULL);
	printf("filesystems has proc %d\n", has_line_with(s, "\tproc\n"));
	free(s);
	s = slurp("/proc/self/mounts", NULL);
	printf("mounts has /proc %d\n", has_line_with(s, " /proc proc "));
	free(s);
	s = slurp("/proc/mounts", NULL);
	printf("/proc/mounts has / %d\n", s && (strstr(s, " / ") != NULL));
	free(s);
	s = slurp("/proc/self/mountinfo", NULL);
	printf("mountinfo has /proc %d\n", has_line_with(s, " /proc "));
	free(s);
	s = slurp("/proc/self/limits", NULL);
	printf("limits: header %d, open files %d\n", s && !strncmp(s, "Limit  ", 7),
	       has_line_with(s, "\nMax open files  "));
	free(s);
	s = slurp("/proc/sys/kernel/random/boot_id", NULL);
	printf("boot_id: %zu bytes\n", s ? strlen(s) : 0);
	free(s);
	s = slurp("/proc/sys/kernel/random/uuid", NULL);
	printf("uuid: %zu bytes\n", s ? strlen(s) : 0);
	free(s);
	for (const char *const *f = (const char *const[]){
		     "/proc/sys/kernel/pid_max", "/proc/sys/kernel/ngroups_max",
		     "/proc/sys/kernel/cap_last_cap", "/proc/sys/vm/overcommit_memory",
		     "/proc/sys/fs/nr_open", NULL }; *f; f++) {
		s = slurp(*f, NULL);
		n = s ? atoi(s) : -1;
		printf("%s: a number %d\n", *f, n >= 0);
		free(s);
	}
	s = slurp("/proc/sys/kernel/ostype", NULL);
	printf("ostype: %s", s ? s : "?\n");
	free(s);
}

static void child_checks(void)
{
	int p[2], st;
	char path[64], *s, c;
	pid_t pid;

	pipe(p);
	pid = fork();
	if (pid == 0) {
		char v[32];

		close(p[0]);
		s = slurp("/proc/self/status", NULL);
		c = atoi(field(s, "PPid", v, sizeof(v))) == getppid() ? 'y' : 'n';
		write(p[1], &c, 1);
		_exit(3);
	}
	close(p[1]);
	read(p[0], &c, 1);
	close(p[0]);
	printf("child: its PPid is us %c\n", c);
	/* wait for the exit without reaping: a zombie */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 500; i++) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid)
			break;
		usleep(10000);
	}
	s = slurp(path, NULL);
	printf("child: zombie state %c\n", s && strrchr(s, ')') ? strrchr(s, ')')[2] : '?');
	free(s);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	s = slurp(path, NULL);
	printf("child: zombie cmdline empty %d\n", s && !*s);
	free(s);
	waitpid(pid, &st, 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	printf("child: reaped, stat %s\n", open(path, O_RDONLY) < 0 ? errname(errno) : "open");
	snprintf(path, sizeof(path), "/proc/%d", pid);
	printf("child: reaped, dir %s\n", access(path, F_OK) < 0 ? errname(errno) : "exists");
}

static void error_checks(void)
{
	char buf[64];
	int fd;
	off_t o;

	fd = open("/proc/self/stat", O_RDONLY);
	read(fd, buf, 10);
	o = lseek(fd, 0, SEEK_END);
	printf("lseek SEEK_END: %s\n", o < 0 ? errname(errno) : "ok");
	printf("lseek SEEK_SET 2: %lld\n", (long long)lseek(fd, 2, SEEK_SET));
	{
		char a[8] = { 0 }, b[8] = { 0 };

		pread(fd, a, 5, 0);
		pread(fd, b, 3, 2);
		printf("pread consistent %d\n", !memcmp(a + 2, b, 3));
	}
	close(fd);
	fd = open("/proc/self/stat", O_WRONLY);
	if (fd >= 0) {
		printf("write to stat: %s\n",
		       write(fd, "x", 1) < 0 ? errname(errno) : "accepted");
		close(fd);
	} else {
		printf("write to stat: open %s\n", errname(errno));
	}
	printf("open missing: %s\n",
	       open("/proc/self/nosuchfile", O_RDONLY) < 0 ? errname(errno) : "ok");
	printf("open no such pid: %s\n",
	       open("/proc/2147483/stat", O_RDONLY) < 0 ? errname(errno) : "ok");
	printf("mkdir in /proc: %s\n", mkdir("/proc/newdir", 0755) < 0 ? errname(errno) : "ok");
	printf("create in /proc: %s\n",
	       open("/proc/newfile", O_CREAT | O_WRONLY, 0644) < 0 ? errname(errno) : "ok");
	printf("unlink /proc/self/stat: %s\n",
	       unlink("/proc/self/stat") < 0 ? errname(errno) : "ok");
	printf("readlink of a file: %s\n",
	       readlink("/proc/self/stat", buf, sizeof(buf)) < 0 ? errname(errno) : "ok");
	printf("open O_NOFOLLOW of self: %s\n",
	       open("/proc/self", O_RDONLY | O_NOFOLLOW) < 0 ? errname(errno) : "ok");
	printf("opendir /proc/self/fd/0: %s\n",
	       open("/proc/self/fd/0", O_RDONLY | O_DIRECTORY) < 0 ? errname(errno) : "ok");
	{
		struct stat st;

		printf("stat size of status 0 %d\n",
		       stat("/proc/self/status", &st) == 0 && st.st_size == 0);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	/* fds the native run inherited from its runner would show in fd/ */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	maps_checks();
	fd_checks();
	stat_checks();
	self_checks(argc, argv);
	dir_checks();
	global_checks();
	child_checks();
	error_checks();
	return 0;
}
