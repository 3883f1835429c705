/*
 * The sandbox configuration: parsed from YAML (libyaml) into one struct.
 * Every error names FILE:LINE:COL: key.path: message, and nothing starts.
 */
#ifndef SBX_CONFIG_CONFIG_H
#define SBX_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct cfg_mark {
	int line; /* 1-based */
	int col;  /* 1-based */
};

struct cfg_kv {
	char *key;
	char *value; /* scalar as written */
	struct cfg_mark mark;
};

/*
 * struct sbx_options - a plugin options map (opaque to plugins, who use the
 * services in sbx/plugin.h).  Only scalar values are allowed in options.
 */
struct sbx_options {
	const char *file;	/* config file name for messages */
	char *path;		/* "platform.options" */
	struct cfg_kv *items;
	size_t n;
};

enum cfg_mount_type {
	CFG_MOUNT_GOFER = 0, /* the default when `type` is omitted */
	CFG_MOUNT_TMPFS,
	CFG_MOUNT_PROC,
	CFG_MOUNT_DEV,
};

struct cfg_mount {
	char *target;	/* absolute path inside the sandbox */
	char *source;	/* host path (gofer), NULL for tmpfs/proc/dev */
	enum cfg_mount_type type;
	bool readonly;
	uint64_t size;	/* tmpfs bytes, 0 = default */
	struct cfg_mark mark;
};

struct sbx_config {
	char *file; /* name used in messages ("<embedded>" for the default) */

	struct {
		char *plugin; /* name or path to a .so; default "ptrace" */
		struct sbx_options options;
	} platform;

	struct {
		char *plugin;	     /* default "gofer" */
		char *root_source;   /* default "/" */
		bool root_readonly;  /* default true */
		char *root_overlay;  /* "none" or "memory"; default "memory" */
		uint64_t root_overlay_size; /* bytes; 0 = limits.memory, or
					     * the tmpfs default without it */
		struct cfg_mount *mounts;
		size_t n_mounts;
	} filesystem;

	struct {
		char *plugin; /* "none" (default, built in) or a plugin name */
		struct sbx_options options;
	} network;

	struct {
		char **argv; /* NULL-terminated, argc entries */
		size_t argc;
		char **env;  /* NULL-terminated */
		size_t envc;
		char *cwd;   /* default "/" */
		uint32_t uid, gid; /* default 0 */
	} process;

	struct {
		uint64_t memory; /* bytes, 0 = unlimited */
		uint32_t pids;	 /* 0 = unlimited */
		uint32_t nofile; /* default 1024 */
	} limits;

	struct {
		int level;   /* enum sbx_log_level, default SBX_LOG_WARN */
		bool strace; /* default false */
		char *file;  /* NULL = stderr */
	} log;

	struct {
		char **search_path; /* directories, searched first */
		size_t n;
	} plugins;
};

/*
 * config_load_file / config_load_string - parse a config.  Unset keys get
 * their defaults.  On error *@cfg is left freed and @err holds
 * "FILE:LINE:COL: key.path: message".  Return: 0 or -errno.
 */
int config_load_file(const char *path, struct sbx_config *cfg,
		     struct sbx_error *err);
int config_load_string(const char *name, const char *text, size_t len,
		       struct sbx_config *cfg, struct sbx_error *err);

/* config_defaults - fill @cfg with the defaults (as for an empty file). */
int config_defaults(struct sbx_config *cfg);

void config_free(struct sbx_config *cfg);

/*
 * config_parse_size - "512", "64K", "256M", "1G", "2T" (powers of 1024,
 * optional trailing "i"/"iB"/"B") into bytes.  Return: 0 or -EINVAL/-ERANGE.
 */
int config_parse_size(const char *s, uint64_t *out);

/* Option access behind the services table of sbx/plugin.h. */
const char *options_get(const struct sbx_options *o, const char *key);
int options_u64(const struct sbx_options *o, const char *key, uint64_t *out,
		struct sbx_error *err);
int options_next(const struct sbx_options *o, size_t *iter, const char **key,
		 const char **value);
/* options_error_v - format "FILE:LINE:COL: PATH.KEY: msg" into @err. */
int options_error(const struct sbx_options *o, const char *key,
		  struct sbx_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The embedded default config used when sbxrun gets no --config. */
extern const char config_default_yaml[];

#endif
