/* Core logging.  Lines are written with one write() so threads don't mix. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int sbx_log_level = SBX_LOG_WARN;
static int out_fd = 2;

static const char *const names[] = { "error", "warn", "info", "debug" };

void log_set_fd(int fd)
{
	out_fd = fd;
}

int log_fd(void)
{
	return out_fd;
}

void sbx_vlog(int level, const char *who, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	if (level > sbx_log_level)
		return;
	if (level < 0)
		level = 0;
	if (level > SBX_LOG_DEBUG)
		level = SBX_LOG_DEBUG;
	n = snprintf(line, sizeof(line), "sbx: %s%s%s: ", who ? who : "",
		     who ? ": " : "", names[level]);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(out_fd, line, (size_t)n);
}

void sbx_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbx_vlog(level, NULL, fmt, ap);
	va_end(ap);
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -EINVAL;
}
