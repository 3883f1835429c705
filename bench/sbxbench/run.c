/*
 * One measured run (see run.h).
 *
 * Divided into: capture files, the child side, waiting (pidfd + poll for
 * the timeout, then waitid(WNOWAIT) so the zombie's /proc/PID/stat can be
 * read before wait4() reaps it), and reading the results back.
 *
 * Why the zombie trick: wait4() gives the child's rusage summed with every
 * descendant the child reaped.  Under sbx the application runs in stub
 * processes that sbxrun reaps (the ptrace plugin waits for them with
 * __WALL), so wait4 alone cannot tell the core from the stubs.  A zombie's
 * /proc/PID/stat still holds utime/stime of the process itself (in clock
 * ticks), and /proc/PID/schedstat its main thread's run time in ns; the
 * rest of the wait4 figure is what it reaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define TAIL_BYTES 600
#define TAIL_LINES 4

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- capture files ------------------------------------------------------ */

static int capture_open(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* read_all - the whole of @fd from offset 0, NUL-terminated. */
static char *read_all(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf;
	ssize_t n;
	size_t got = 0;

	if (size < 0)
		return NULL;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	while (got < (size_t)size) {
		n = pread(fd, buf + got, (size_t)size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return buf;
}

/* tail - the last TAIL_LINES lines (at most TAIL_BYTES) of @s, or NULL. */
static char *tail(const char *s)
{
	size_t len = strlen(s);
	const char *p;
	int lines = 0;

	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	if (!len)
		return NULL;
	p = s + len;
	while (p > s && s + len - p < TAIL_BYTES) {
		if (p[-1] == '\n' && ++lines == TAIL_LINES)
			break;
		p--;
	}
	return strndup(p, s + len - p);
}

/* ---- child ------------------------------------------------------------- */

static void child(char *const argv[], int out, int err)
{
	int in = open("/dev/null", O_RDONLY);

	if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	execvp(argv[0], argv);
	dprintf(2, "sbxbench: cannot execute '%s': %s\n", argv[0],
		strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* ---- waiting ----------------------------------------------------------- */

/* wait_exit - until @pid has exited (left as a zombie) or @timeout_s
 * passed (then it is killed).  Return: 0, or -errno. */
static int wait_exit(pid_t pid, double timeout_s, bool *timed_out)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	siginfo_t si;

	*timed_out = false;
	if (pfd >= 0 && timeout_s > 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int r;

		do
			r = poll(&p, 1, (int)(timeout_s * 1000));
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			*timed_out = true;
			kill(pid, SIGKILL);
		}
	}
	if (pfd >= 0)
		close(pfd);
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* read_small - the start of a /proc file of @pid into @buf. */
static bool read_small(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/*
 * self_times - the CPU time of the zombie @pid itself.  /proc/PID/stat
 * gives utime and stime (fields 14, 15) of all its threads in clock ticks;
 * /proc/PID/schedstat gives the main thread's run time in ns.  When the
 * main thread accounts for the ticks (within one tick: no other thread
 * ran for long), its ns figure is used, else the ticks.
 */
static bool self_times(pid_t pid, struct run_result *res)
{
	char buf[1024], *p;
	unsigned long long ut, st, ns;
	long hz = sysconf(_SC_CLK_TCK);
	double ticks_s;

	if (hz <= 0 || !read_small(pid, "stat", buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (!p)
		return false;
	/* after ") " come fields 3 (state) .. 13, then utime and stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return false;
	res->self_user_s = (double)ut / hz;
	res->self_sys_s = (double)st / hz;
	ticks_s = (double)(ut + st) / hz;
	res->self_cpu_s = ticks_s;
	if (read_small(pid, "schedstat", buf, sizeof(buf)) &&
	    sscanf(buf, "%llu", &ns) == 1 && ns / 1e9 >= ticks_s - 1.0 / hz)
		res->self_cpu_s = ns / 1e9;
	return true;
}

/* ---- the run ----------------------------------------------------------- */

int run_measure(char *const argv[], bool capture_out, double timeout_s,
		struct run_result *res)
{
	struct rusage ru;
	int out = -1, err_fd, err = 0;
	double t0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	err_fd = capture_open("sbxbench-stderr");
	if (err_fd < 0) {
		err = err_fd;
		goto out;
	}
	out = capture_out ? capture_open("sbxbench-stdout") :
			    open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (out < 0) {
		err = capture_out ? out : -errno;
		goto out_close_err;
	}
	fflush(NULL);
	t0 = now_s();
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out_close_out;
	}
	if (pid == 0)
		child(argv, out, err_fd);
	err = wait_exit(pid, timeout_s, &res->timed_out);
	res->wall_s = now_s() - t0;
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out_close_out;
	}
	res->self_valid = self_times(pid, res);
	while (wait4(pid, &res->status, 0, &ru) < 0)
		if (errno != EINTR) {
			err = -errno;
			goto out_close_out;
		}
	res->user_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	res->sys_s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	res->maxrss_kb = ru.ru_maxrss;
	if (capture_out)
		res->out = read_all(out);
	{
		char *e = read_all(err_fd);

		if (e) {
			res->err_tail = tail(e);
			free(e);
		}
	}
out_close_out:
	close(out);
out_close_err:
	close(err_fd);
out:
	res->spawn_err = err;
	return err;
}

void run_result_free(struct run_result *res)
{
	free(res->out);
	free(res->err_tail);
	res->out = res->err_tail = NULL;
}

void run_describe(const struct run_result *res, double timeout_s,
		  char *buf, size_t len)
{
	if (res->spawn_err)
		snprintf(buf, len, "cannot run: %s", strerror(-res->spawn_err));
	else if (res->timed_out)
		snprintf(buf, len, "timed out after %g s", timeout_s);
	else if (WIFEXITED(res->status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(res->status));
	else if (WIFSIGNALED(res->status))
		snprintf(buf, len, "killed by signal %d (%s)",
			 WTERMSIG(res->status), strsignal(WTERMSIG(res->status)));
	else
		snprintf(buf, len, "wait status 0x%x", res->status);
}
