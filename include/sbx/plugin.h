/*
 * sbx plugin ABI: the entry point every plugin exports, the version rules,
 * and the services the core offers to plugins.
 *
 * Lifecycle: the core dlopen()s the library named by a manifest (NAME.ini)
 * or by path, looks up exactly one symbol, sbx_plugin_entry, and calls it
 * once.  The returned descriptor names the plugin kind, its ABI version and
 * its ops table (struct sbx_platform_ops, struct sbx_fs_ops or
 * struct sbx_net_ops).  The descriptor and ops table must stay valid until
 * the library is unloaded; they are usually static const data.
 *
 * Compatibility rules (shared by every sbx ABI header):
 *  - Each kind has SBX_<KIND>_ABI_MAJOR and _MINOR.  The loader requires
 *    plugin major == core major, and core minor >= plugin minor: a plugin
 *    built against an older minor still loads (the core checks the size of
 *    each table before it uses a member appended later), while a plugin
 *    built against a newer minor than the core knows is refused, since it
 *    may rely on services this core lacks.
 *  - Every ops table and every struct that crosses the boundary starts with
 *    `size_t size`, set to sizeof() by whoever fills it in.  Members are only
 *    ever appended (with a comment "added in MAJOR.MINOR"); reordering,
 *    retyping or removing one requires a major bump.
 *  - Plugins see only opaque handles and the services table below; they
 *    never see or link core symbols.  Plugins log only through
 *    services->log and never write to stdio.
 *  - Only sbx_plugin_entry is exported (build with hidden visibility and
 *    mark it SBX_EXPORT); a test checks the dynamic symbol table.
 */
#ifndef SBX_SBX_PLUGIN_H
#define SBX_SBX_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SBX_EXPORT __attribute__((visibility("default")))

/* Name of the one symbol a plugin exports. */
#define SBX_PLUGIN_ENTRY_SYMBOL "sbx_plugin_entry"

/* Version of the descriptor/services ABI itself (this header). */
#define SBX_PLUGIN_ABI_MAJOR 1
#define SBX_PLUGIN_ABI_MINOR 0

enum sbx_plugin_kind {
	SBX_PLUGIN_PLATFORM = 1,
	SBX_PLUGIN_FS = 2,
	SBX_PLUGIN_NET = 3,
};

enum sbx_log_level {
	SBX_LOG_ERROR = 0,
	SBX_LOG_WARN = 1,
	SBX_LOG_INFO = 2,
	SBX_LOG_DEBUG = 3,
};

/*
 * struct sbx_options - a plugin's `options:` map from the config (opaque).
 * Values are kept as the strings written in the YAML file; the services
 * below parse them and report errors with the file, line and column.
 */
struct sbx_options;

/*
 * struct sbx_services - what the core offers to every plugin.
 * Valid from init() until fini() returns; callable from any thread.
 */
struct sbx_services {
	size_t size;

	/*
	 * log - write one log line, prefixed with the plugin's name.
	 * @level: enum sbx_log_level; lines above the configured level are
	 *         dropped before formatting.
	 */
	void (*log)(int level, const char *plugin, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/*
	 * option_get - the string value of option @key, or NULL if unset.
	 * The string belongs to the core and lives until fini().
	 */
	const char *(*option_get)(const struct sbx_options *opts,
				  const char *key);

	/*
	 * option_u64 - parse option @key as an unsigned integer (decimal, or
	 * hex with 0x).  Return: 0 and *@out set; -ENOENT when unset (*@out
	 * untouched, so preset a default); -EINVAL after logging
	 * "FILE:LINE:COL: KEY: not an unsigned integer".
	 */
	int (*option_u64)(const struct sbx_options *opts, const char *key,
			  uint64_t *out);

	/*
	 * option_next - iterate over all options, to refuse unknown keys.
	 * @iter: start at 0.  Return: 1 with *@key and *@value set, 0 at end.
	 */
	int (*option_next)(const struct sbx_options *opts, size_t *iter,
			   const char **key, const char **value);

	/*
	 * option_error - report a bad option as "FILE:LINE:COL: KEY: MESSAGE".
	 * Return: -EINVAL, so a plugin can `return svc->option_error(...)`.
	 */
	int (*option_error)(const struct sbx_options *opts, const char *key,
			    const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/*
	 * memfd - the memory file: a host memfd owned by the core that holds
	 * all anonymous application memory.  Plugins may map it and pass it
	 * to stubs; they must never close it or change its size.
	 */
	int memfd;
};

/*
 * struct sbx_plugin_desc - what sbx_plugin_entry() returns.
 * @kind:      enum sbx_plugin_kind.
 * @abi_major, @abi_minor: the ABI of @kind the plugin was built against
 *             (SBX_PLATFORM_ABI_MAJOR, ...).
 * @name:      short name, as in the manifest ("ptrace").
 * @ops:       the kind's ops table, e.g. const struct sbx_platform_ops *.
 */
struct sbx_plugin_desc {
	size_t size;
	uint32_t kind;
	uint32_t abi_major;
	uint32_t abi_minor;
	const char *name;
	const char *description;
	const void *ops;
};

typedef const struct sbx_plugin_desc *(*sbx_plugin_entry_fn)(void);

/* Every plugin defines this, marked SBX_EXPORT. */
const struct sbx_plugin_desc *sbx_plugin_entry(void);

/*
 * Reserved opcode ranges of the generic ctl() op every ops table ends with:
 * 0x0000-0x7fff for sbx itself, 0x8000-0xffff for experiments that must not
 * need an ABI bump.  Unknown opcodes return -ENOTTY.
 */
#define SBX_CTL_EXPERIMENTAL_BASE 0x8000

/* Helper for the core: is optional @member present in table @ops? */
#ifndef SBX_OPS_HAS
#define SBX_OPS_HAS(ops, member)                                            \
	((ops)->size >= offsetof(__typeof__(*(ops)), member) +              \
				sizeof((ops)->member) &&                    \
	 (ops)->member != NULL)
#endif

#ifdef __cplusplus
}
#endif
#endif
