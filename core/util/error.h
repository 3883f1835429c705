/* struct sbx_error: an errno plus a message for a person (crun style). */
#ifndef SBX_UTIL_ERROR_H
#define SBX_UTIL_ERROR_H

struct sbx_error {
	int err;	/* positive errno, 0 when no error */
	char msg[1024]; /* "verb 'object': reason" or "file:line:col: key: msg" */
};

/* sbx_error_set - fill @e (may be NULL) and return -@err. */
int sbx_error_set(struct sbx_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
