/*
 * true: exits 0 at once.  The start-up workload when /bin/busybox is not
 * installed (sbxbench times the whole process from the outside).
 */
int main(void)
{
	return 0;
}
