/*
 * exit_codes MODE CODE: leave with CODE by MODE: "exit" (exit(3)),
 * "_exit" (_exit(2)), "group" (raw exit_group), "thread" (raw exit, the
 * only thread) or "return" (return from main).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int code;

	if (argc != 3) {
		fprintf(stderr, "usage: exit_codes MODE CODE\n");
		return 2;
	}
	code = atoi(argv[2]);
	printf("leaving by %s with %d\n", argv[1], code);
	fflush(stdout);
	if (strcmp(argv[1], "exit") == 0)
		exit(code);
	if (strcmp(argv[1], "_exit") == 0)
		_exit(code);
	if (strcmp(argv[1], "group") == 0)
		syscall(SYS_exit_group, code);
	if (strcmp(argv[1], "thread") == 0)
		syscall(SYS_exit, code);
	if (strcmp(argv[1], "return") == 0)
		return code;
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
