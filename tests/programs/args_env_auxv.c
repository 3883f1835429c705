/*
 * args_env_auxv: print argc, argv and the environment, then facts from the
 * auxiliary vector that are the same natively and in the sandbox.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	const char *plat, *execfn;

	printf("argc = %d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	printf("argv[argc] is NULL: %d\n", argv[argc] == NULL);
	for (char **e = environ; *e; e++)
		printf("env: %s\n", *e);

	printf("AT_PAGESZ = %lu\n", getauxval(AT_PAGESZ));
	printf("AT_PHDR nonzero: %d\n", getauxval(AT_PHDR) != 0);
	printf("AT_ENTRY nonzero: %d\n", getauxval(AT_ENTRY) != 0);
	printf("AT_RANDOM nonzero: %d\n", getauxval(AT_RANDOM) != 0);
	printf("AT_PHENT = %lu\n", getauxval(AT_PHENT));
	printf("AT_PHNUM nonzero: %d\n", getauxval(AT_PHNUM) != 0);
	printf("AT_UID == getuid: %d\n", getauxval(AT_UID) == getuid());
	printf("AT_EUID == geteuid: %d\n", getauxval(AT_EUID) == geteuid());
	printf("AT_GID == getgid: %d\n", getauxval(AT_GID) == getgid());
	printf("AT_EGID == getegid: %d\n", getauxval(AT_EGID) == getegid());
	printf("AT_SECURE = %lu\n", getauxval(AT_SECURE));
	printf("AT_HWCAP nonzero: %d\n", getauxval(AT_HWCAP) != 0);
	printf("AT_CLKTCK = %lu\n", getauxval(AT_CLKTCK));
	plat = (const char *)getauxval(AT_PLATFORM);
	printf("AT_PLATFORM = %s\n", plat ? plat : "(none)");
	execfn = (const char *)getauxval(AT_EXECFN);
	printf("AT_EXECFN == argv[0]: %d\n",
	       execfn != NULL && strcmp(execfn, argv[0]) == 0);
	return 0;
}
