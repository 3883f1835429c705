/*
 * The services table (sbx/plugin.h) the core hands to every plugin:
 * logging through the core's log, prefixed with the plugin's name, and the
 * option_* accessors over a plugin's `options:` map from the config.
 * Option errors are logged here, since a plugin has no struct sbx_error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "services.h"
#include "../config/config.h"
#include "../util/log.h"

static void svc_log(int level, const char *plugin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void svc_log(int level, const char *plugin, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbx_vlog(level, plugin, fmt, ap);
	va_end(ap);
}

static const char *svc_option_get(const struct sbx_options *opts,
				  const char *key)
{
	return options_get(opts, key);
}

static int svc_option_u64(const struct sbx_options *opts, const char *key,
			  uint64_t *out)
{
	struct sbx_error err;
	int r;

	r = options_u64(opts, key, out, &err);
	if (r == -EINVAL)
		sbx_err("%s", err.msg);
	return r;
}

static int svc_option_next(const struct sbx_options *opts, size_t *iter,
			   const char **key, const char **value)
{
	return options_next(opts, iter, key, value);
}

static int svc_option_error(const struct sbx_options *opts, const char *key,
			    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int svc_option_error(const struct sbx_options *opts, const char *key,
			    const char *fmt, ...)
{
	struct sbx_error err;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	options_error(opts, key, &err, "%s", msg);
	sbx_err("%s", err.msg);
	return -EINVAL;
}

void services_init(struct sbx_services *svc, int memfd)
{
	*svc = (struct sbx_services){
		.size = sizeof(*svc),
		.log = svc_log,
		.option_get = svc_option_get,
		.option_u64 = svc_option_u64,
		.option_next = svc_option_next,
		.option_error = svc_option_error,
		.memfd = memfd,
	};
}
