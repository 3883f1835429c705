/*
 * Plugin options maps: lookup, integer parsing and error messages with the
 * file, line and column where the option was written.  These back the
 * option_* services of sbx/plugin.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const struct cfg_kv *find(const struct sbx_options *o, const char *key)
{
	if (!o)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->items[i].key, key) == 0)
			return &o->items[i];
	return NULL;
}

const char *options_get(const struct sbx_options *o, const char *key)
{
	const struct cfg_kv *kv = find(o, key);

	return kv ? kv->value : NULL;
}

int options_error(const struct sbx_options *o, const char *key,
		  struct sbx_error *err, const char *fmt, ...)
{
	const struct cfg_kv *kv = find(o, key);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sbx_error_set(err, EINVAL, "%s:%d:%d: %s.%s: %s",
			     o && o->file ? o->file : "<config>",
			     kv ? kv->mark.line : 0, kv ? kv->mark.col : 0,
			     o && o->path ? o->path : "options", key, msg);
}

int options_u64(const struct sbx_options *o, const char *key, uint64_t *out,
		struct sbx_error *err)
{
	const char *s = options_get(o, key);
	unsigned long long v;
	char *end;

	if (!s)
		return -ENOENT;
	/* strtoull alone would accept " 5", "+5" and wrap "-5". */
	if (*s < '0' || *s > '9')
		return options_error(o, key, err, "not an unsigned integer: '%s'", s);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return options_error(o, key, err, "not an unsigned integer: '%s'", s);
	*out = v;
	return 0;
}

int options_next(const struct sbx_options *o, size_t *iter, const char **key,
		 const char **value)
{
	if (!o || *iter >= o->n)
		return 0;
	*key = o->items[*iter].key;
	*value = o->items[*iter].value;
	(*iter)++;
	return 1;
}
