/* hello: print a greeting and each argument; the smallest end-to-end test. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("hello\n");
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	return 0;
}
