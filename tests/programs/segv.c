/*
 * segv MODE: die of a fault: "null" writes to NULL (SIGSEGV), "rodata"
 * writes to a PROT_READ page (SIGSEGV), "unmapped" reads an unmapped page
 * (SIGSEGV), "ud2" (SIGILL), "int3" (SIGTRAP), "div0" (SIGFPE).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "null";
	volatile int zero = 0;

	printf("segv %s\n", m);
	fflush(stdout);
	if (strcmp(m, "null") == 0) {
		*(volatile int *)0 = 1;
	} else if (strcmp(m, "rodata") == 0) {
		char *p = mmap(NULL, 4096, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 3;
		*(volatile char *)p = 1;
	} else if (strcmp(m, "unmapped") == 0) {
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || munmap(p, 4096))
			return 3;
		printf("%d\n", *(volatile char *)p);
	} else if (strcmp(m, "ud2") == 0) {
		__asm__ volatile("ud2");
	} else if (strcmp(m, "int3") == 0) {
		__asm__ volatile("int3");
	} else if (strcmp(m, "div0") == 0) {
		unsigned int q = 1, d = zero;

		/* in asm: the compiler may rewrite 1 / x without a divide */
		__asm__ volatile("xorl %%edx, %%edx; divl %1"
				 : "+a"(q) : "r"(d) : "edx");
		printf("%u\n", q);
	} else {
		return 2;
	}
	printf("still alive\n");
	return 1;
}
