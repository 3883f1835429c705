/* One call that records an error for a person and returns -errno. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

int sbx_error_set(struct sbx_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->err = err;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -err;
}
