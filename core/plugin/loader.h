/*
 * Plugin discovery and loading.  Manifests (NAME.ini, parsed with inih) are
 * found on a search path; --list-plugins reads manifests only; a plugin is
 * dlopen()ed only when selected, by name or by a path to its .so.
 */
#ifndef SBX_PLUGIN_LOADER_H
#define SBX_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <sbx/plugin.h>

#include "../util/error.h"

/* struct plugin_manifest - one NAME.ini:
 *   [plugin]
 *   name = ptrace
 *   kind = platform          ; platform | fs | net
 *   abi = 1.0                ; major.minor of the kind's ABI
 *   library = platform-ptrace.so   ; relative to the manifest's directory
 *   description = ...
 */
struct plugin_manifest {
	char *name;
	int kind;	/* enum sbx_plugin_kind */
	uint32_t abi_major, abi_minor;
	char *library;	/* absolute or relative-to-manifest, resolved */
	char *description;
	char *path;	/* path of the .ini */
};

struct plugin_search_path {
	char **dirs;
	size_t n;
};

/*
 * plugin_search_path_build - @config_dirs (may be NULL/0) first, then the
 * colon-separated SBX_PLUGIN_PATH environment variable, then the build
 * directory's plugin dirs when sbxrun runs from its build tree, then the
 * installed plugin directory.
 */
int plugin_search_path_build(struct plugin_search_path *sp,
			     char *const *config_dirs, size_t n_config);
void plugin_search_path_free(struct plugin_search_path *sp);

/* plugin_manifest_parse - read one .ini.  Errors name the file and line. */
int plugin_manifest_parse(const char *ini_path, struct plugin_manifest *m,
			  struct sbx_error *err);
void plugin_manifest_free(struct plugin_manifest *m);

/* plugin_list - all manifests on @sp (first one wins per name).  Bad
 * manifests are reported through the log and skipped. */
int plugin_list(const struct plugin_search_path *sp,
		struct plugin_manifest **out, size_t *n);
/* plugin_list_free - free the @n manifests of plugin_list() and the array. */
void plugin_list_free(struct plugin_manifest *v, size_t n);

struct plugin {
	void *handle; /* dlopen handle */
	const struct sbx_plugin_desc *desc;
	char *path;   /* the .so loaded */
	char *name;
};

/*
 * plugin_load - load a plugin of @kind named @name_or_path (a name looked
 * up in manifests, or a path containing '/' or ending in ".so"), and check
 * its kind and ABI against @abi_major/@abi_minor (the core's).  Errors:
 * not found (lists the search path), wrong kind, ABI major mismatch or
 * newer minor (both versions), missing entry symbol, dlopen failure
 * (dlerror text); each names the plugin and path.  On success *@out
 * owns the dlopen handle until plugin_unload(); on failure *@out is zeroed
 * and nothing stays loaded.  Return: 0 or -errno (-ENOENT not found,
 * -EINVAL wrong kind or bad descriptor, -EPROTONOSUPPORT ABI mismatch,
 * -ENOEXEC dlopen or dlsym failure).
 */
int plugin_load(const struct plugin_search_path *sp, const char *name_or_path,
		int kind, uint32_t abi_major, uint32_t abi_minor,
		struct plugin *out, struct sbx_error *err);
/* plugin_unload - dlclose and free; @p may be zeroed (never loaded). */
void plugin_unload(struct plugin *p);

const char *plugin_kind_name(int kind);
/* plugin_kind_parse - "platform"|"fs"|"net" to enum sbx_plugin_kind, or
 * -EINVAL. */
int plugin_kind_parse(const char *s);
/* plugin_core_abi - this core's ABI of @kind, from the include/sbx headers (what
 * to pass to plugin_load()).  Return: 0, or -EINVAL for an unknown kind. */
int plugin_core_abi(int kind, uint32_t *major, uint32_t *minor);

#endif
