/*
 * Credentials and scheduling knobs, compared natively and in the sandbox
 * (both run as root): groups, set*uid/gid to what we are, priorities,
 * scheduler queries, mincore of touched and unmapped memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	gid_t groups[16];
	int n = getgroups(16, groups);
	unsigned char vec[4];
	char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* the count depends on the host's account, not on sbx: only its sanity */
	printf("getgroups works %d\n", n >= 0);
	printf("getgroups(0) agrees %d\n", getgroups(0, NULL) == n);
	int su = setuid(getuid()), sg = setgid(getgid());

	printf("setuid(own) %d setgid(own) %d\n", su, sg);
	su = setresuid(-1, -1, -1);
	sg = setresgid(-1, -1, -1);
	printf("setresuid(-1,-1,-1) %d setresgid(-1,-1,-1) %d\n", su, sg);
	printf("setgroups(1) as root %d\n", setgroups(1, groups));
	int sp = setpriority(PRIO_PROCESS, 0, 5);
	long gp = syscall(SYS_getpriority, PRIO_PROCESS, 0);

	printf("setpriority 5 -> %d, raw getpriority %ld\n", sp, gp);
	printf("getpriority bad which EINVAL %d\n",
	       getpriority(7, 0) == -1 && errno == EINVAL);
	printf("scheduler %d, fifo max %d min %d, other max %d\n",
	       sched_getscheduler(0), sched_get_priority_max(SCHED_FIFO),
	       sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_OTHER));
	m[0] = 1;
	m[4096] = 1;
	int mc = mincore(m, 2 * 4096, vec);

	printf("mincore touched %d resident %d\n", mc, vec[0] & 1);
	munmap(m + 2 * 4096, 2 * 4096);
	printf("mincore unmapped ENOMEM %d\n",
	       mincore(m + 2 * 4096, 4096, vec) < 0 && errno == ENOMEM);
	return 0;
}
