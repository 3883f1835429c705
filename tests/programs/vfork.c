/*
 * vfork shares memory with the waiting parent (Linux semantics, which
 * sbx gives by handing the child's stores back at exec or exit): a store
 * made by a vfork child is seen by the parent; posix_spawn reports an
 * exec failure (its child writes the error into the parent's memory);
 * clone(CLONE_VM|CLONE_VFORK) on a separate stack likewise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile int shared_global;
static char big[3 * 4096];

static int child_fn(void *arg)
{
	strcpy(arg, "written by the clone child");
	shared_global = 99;
	return 0;
}

int main(void)
{
	char *spawn_argv[] = { "nope", NULL };
	posix_spawn_file_actions_t fa;
	int st, r;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	pid = vfork();
	if (pid == 0) {
		shared_global = 42;
		big[5000] = 'x';
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("vfork child's stores seen: %d %c\n", shared_global, big[5000]);

	r = posix_spawn(&pid, "/nonexistent/nope", NULL, NULL, spawn_argv, environ);
	printf("posix_spawn of a missing program: %s\n", r ? strerror(r) : "0");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	char *echo_argv[] = { "echo", "hidden", NULL };

	r = posix_spawnp(&pid, "echo", &fa, NULL, echo_argv, environ);
	printf("posix_spawnp echo: %d\n", r);
	if (!r) {
		waitpid(pid, &st, 0);
		printf("its status: %d\n", WEXITSTATUS(st));
	}
	posix_spawn_file_actions_destroy(&fa);

	char *stack = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = calloc(1, 64);

	pid = clone(child_fn, stack + 65536, CLONE_VM | CLONE_VFORK | SIGCHLD, buf);
	waitpid(pid, &st, 0);
	printf("clone(CLONE_VM|CLONE_VFORK): \"%s\" %d\n", buf, shared_global);
	return 0;
}
