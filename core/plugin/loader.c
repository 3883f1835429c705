/*
 * Plugin discovery and loading.
 *
 * The file is divided into:
 *  - kinds and ABI versions: names, and the core's own version of each ABI
 *    taken from the public headers;
 *  - the search path: config dirs, $SBX_PLUGIN_PATH, the build tree's
 *    plugin dirs (only when this executable runs from the build tree), then
 *    the installed plugin directory;
 *  - manifests: one NAME.ini per plugin, parsed with inih through a reader
 *    that counts lines, so every error names FILE:LINE;
 *  - listing: every manifest on the search path, first one per name wins;
 *  - loading: dlopen() of the manifest's library or of a path, then the
 *    descriptor checks (kind, ABI major == core, plugin minor <= core).
 *
 * Nothing here keeps global state; every error path frees what it took.
 */
#define _GNU_SOURCE /* asprintf, strndup */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include <sbx/fs.h>
#include <sbx/net.h>
#include <sbx/platform.h>
#include <sbx/plugin.h>

#include "config.h"
#include "loader.h"
#include "../util/log.h"

/* Largest descriptor we believe: a corrupt size is a broken plugin. */
#define DESC_SIZE_MAX 4096

/* ---- kinds and ABI versions ------------------------------------------ */

const char *plugin_kind_name(int kind)
{
	switch (kind) {
	case SBX_PLUGIN_PLATFORM:
		return "platform";
	case SBX_PLUGIN_FS:
		return "fs";
	case SBX_PLUGIN_NET:
		return "net";
	}
	return "unknown";
}

int plugin_kind_parse(const char *s)
{
	if (strcmp(s, "platform") == 0)
		return SBX_PLUGIN_PLATFORM;
	if (strcmp(s, "fs") == 0)
		return SBX_PLUGIN_FS;
	if (strcmp(s, "net") == 0)
		return SBX_PLUGIN_NET;
	return -EINVAL;
}

int plugin_core_abi(int kind, uint32_t *major, uint32_t *minor)
{
	switch (kind) {
	case SBX_PLUGIN_PLATFORM:
		*major = SBX_PLATFORM_ABI_MAJOR;
		*minor = SBX_PLATFORM_ABI_MINOR;
		return 0;
	case SBX_PLUGIN_FS:
		*major = SBX_FS_ABI_MAJOR;
		*minor = SBX_FS_ABI_MINOR;
		return 0;
	case SBX_PLUGIN_NET:
		*major = SBX_NET_ABI_MAJOR;
		*minor = SBX_NET_ABI_MINOR;
		return 0;
	}
	return -EINVAL;
}

/* ---- the search path -------------------------------------------------- */

static int sp_add(struct plugin_search_path *sp, const char *dir, size_t len)
{
	char **dirs;
	char *d;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < sp->n; i++)
		if (strlen(sp->dirs[i]) == len &&
		    memcmp(sp->dirs[i], dir, len) == 0)
			return 0;
	d = strndup(dir, len);
	if (!d)
		return -ENOMEM;
	dirs = realloc(sp->dirs, (sp->n + 1) * sizeof(*dirs));
	if (!dirs) {
		free(d);
		return -ENOMEM;
	}
	dirs[sp->n++] = d;
	sp->dirs = dirs;
	return 0;
}

/* sp_add_list - add each non-empty component of a colon-separated list. */
static int sp_add_list(struct plugin_search_path *sp, const char *list)
{
	const char *p = list, *colon;
	int r;

	while (p && *p) {
		colon = strchr(p, ':');
		r = sp_add(sp, p, colon ? (size_t)(colon - p) : strlen(p));
		if (r < 0)
			return r;
		p = colon ? colon + 1 : NULL;
	}
	return 0;
}

/*
 * in_build_tree - does the running executable live under SBX_BUILD_ROOT?
 * sbxrun sits in SBX_BUILD_ROOT/core and the tests in SBX_BUILD_ROOT/tests;
 * an installed sbxrun never does, so it never sees build-tree plugins.
 */
static bool in_build_tree(void)
{
	char exe[PATH_MAX], root[PATH_MAX];
	ssize_t n;
	size_t len;
	char *slash;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if (!realpath(SBX_BUILD_ROOT, root))
		return false;
	len = strlen(root);
	return strncmp(exe, root, len) == 0 &&
	       (exe[len] == '\0' || exe[len] == '/');
}

int plugin_search_path_build(struct plugin_search_path *sp,
			     char *const *config_dirs, size_t n_config)
{
	int r;

	sp->dirs = NULL;
	sp->n = 0;
	for (size_t i = 0; i < n_config; i++) {
		r = sp_add(sp, config_dirs[i], strlen(config_dirs[i]));
		if (r < 0)
			goto out_free;
	}
	r = sp_add_list(sp, getenv("SBX_PLUGIN_PATH"));
	if (r < 0)
		goto out_free;
	if (in_build_tree()) {
		r = sp_add_list(sp, SBX_BUILD_PLUGIN_PATH);
		if (r < 0)
			goto out_free;
	}
	r = sp_add(sp, SBX_PLUGINDIR, strlen(SBX_PLUGINDIR));
	if (r < 0)
		goto out_free;
	return 0;

out_free:
	plugin_search_path_free(sp);
	return r;
}

void plugin_search_path_free(struct plugin_search_path *sp)
{
	for (size_t i = 0; i < sp->n; i++)
		free(sp->dirs[i]);
	free(sp->dirs);
	sp->dirs = NULL;
	sp->n = 0;
}

/* sp_describe - "a, b, c" for "not found" messages. */
static void sp_describe(const struct plugin_search_path *sp, char *buf,
			size_t size)
{
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (size_t i = 0; i < sp->n && used < size; i++) {
		n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
			     sp->dirs[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (sp->n == 0)
		snprintf(buf, size, "(no directories)");
}

/* ---- manifests -------------------------------------------------------- */

/* The state of one parse.  inih's handler gets no line number, so our
 * reader counts lines: the handler runs on the line read last. */
struct mparse {
	FILE *f;
	const char *file;
	int line;
	int section_line;	/* line of the last "[...]" header */
	struct plugin_manifest *m;
	bool have_kind, have_abi;
	struct sbx_error *err;
	int r;			/* first error, as -errno */
	int err_line;		/* its line */
};

static char *mreader(char *str, int num, void *stream)
{
	struct mparse *mp = stream;
	char *s = fgets(str, num, mp->f);
	const char *p;

	if (!s)
		return NULL;
	mp->line++;
	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '[')
		mp->section_line = mp->line;
	return s;
}

/*
 * merror - keep the first error of a parse.  Returns 1 ("handled") to
 * inih: errors found by the handler are ours to report, with our line.
 */
static int merror(struct mparse *mp, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int merror(struct mparse *mp, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (mp->r)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mp->r = sbx_error_set(mp->err, EINVAL, "%s:%d: %s", mp->file, line,
			      msg);
	mp->err_line = line;
	return 1;
}

/* parse_abi - "MAJOR.MINOR", decimal digits only. */
static int parse_abi(const char *s, uint32_t *major, uint32_t *minor)
{
	unsigned long v[2];
	char *end;

	for (int i = 0; i < 2; i++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v[i] = strtoul(s, &end, 10);
		if (errno || v[i] > UINT32_MAX)
			return -EINVAL;
		if (i == 0 && *end != '.')
			return -EINVAL;
		s = end + (i == 0);
	}
	if (*end)
		return -EINVAL;
	*major = (uint32_t)v[0];
	*minor = (uint32_t)v[1];
	return 0;
}

static int set_string(struct mparse *mp, char **slot, const char *key,
		      const char *value)
{
	if (*slot)
		return merror(mp, mp->line, "duplicate key '%s'", key);
	if (!*value)
		return merror(mp, mp->line, "%s: empty value", key);
	*slot = strdup(value);
	if (!*slot) {
		mp->r = sbx_error_set(mp->err, ENOMEM, "%s:%d: out of memory",
				      mp->file, mp->line);
		mp->err_line = mp->line;
	}
	return 1;
}

static int mhandler(void *user, const char *section, const char *key,
		    const char *value)
{
	struct mparse *mp = user;
	struct plugin_manifest *m = mp->m;
	int kind;

	if (mp->r)
		return 1;
	if (strcmp(section, "plugin") != 0) {
		if (!*section)
			return merror(mp, mp->line,
				      "key '%s' outside the [plugin] section",
				      key);
		return merror(mp, mp->section_line, "unknown section [%s]",
			      section);
	}
	if (strcmp(key, "name") == 0)
		return set_string(mp, &m->name, key, value);
	if (strcmp(key, "description") == 0)
		return set_string(mp, &m->description, key, value);
	if (strcmp(key, "library") == 0)
		return set_string(mp, &m->library, key, value);
	if (strcmp(key, "kind") == 0) {
		if (mp->have_kind)
			return merror(mp, mp->line, "duplicate key '%s'", key);
		kind = plugin_kind_parse(value);
		if (kind < 0)
			return merror(mp, mp->line,
				      "kind: '%s' is not platform, fs or net",
				      value);
		m->kind = kind;
		mp->have_kind = true;
		return 1;
	}
	if (strcmp(key, "abi") == 0) {
		if (mp->have_abi)
			return merror(mp, mp->line, "duplicate key '%s'", key);
		if (parse_abi(value, &m->abi_major, &m->abi_minor) < 0)
			return merror(mp, mp->line,
				      "abi: '%s' is not MAJOR.MINOR", value);
		mp->have_abi = true;
		return 1;
	}
	return merror(mp, mp->line, "unknown key '%s' in [%s]", key, section);
}

/* resolve_library - make @lib absolute, relative to the manifest's dir. */
static int resolve_library(const char *ini_path, char **lib)
{
	char dir[PATH_MAX], *copy, *slash, *abs;
	int r;

	if ((*lib)[0] == '/')
		return 0;
	copy = strdup(ini_path);
	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (!realpath(slash ? copy : ".", dir)) {
		r = -errno;
		goto out_free_copy;
	}
	if (asprintf(&abs, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
		     *lib) < 0) {
		r = -ENOMEM;
		goto out_free_copy;
	}
	free(*lib);
	*lib = abs;
	r = 0;
out_free_copy:
	free(copy);
	return r;
}

int plugin_manifest_parse(const char *ini_path, struct plugin_manifest *m,
			  struct sbx_error *err)
{
	struct mparse mp = { .file = ini_path, .m = m, .err = err };
	const char *missing = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	mp.f = fopen(ini_path, "re");
	if (!mp.f) {
		r = errno;
		return sbx_error_set(err, r, "read manifest '%s': %s", ini_path,
				     strerror(r));
	}
	r = ini_parse_stream(mreader, &mp, mhandler, &mp);
	fclose(mp.f);
	/* Report whichever came first: inih's syntax error (r is its line)
	 * or ours. */
	if (mp.r && (r <= 0 || mp.err_line <= r)) {
		r = mp.r;
		goto out_free;
	}
	if (r != 0) {
		/* A syntax error inih found itself (r is its line), or -1/-2. */
		r = sbx_error_set(err, EINVAL, "%s:%d: syntax error", ini_path,
				  r > 0 ? r : mp.line);
		goto out_free;
	}
	if (!m->name)
		missing = "name";
	else if (!mp.have_kind)
		missing = "kind";
	else if (!mp.have_abi)
		missing = "abi";
	else if (!m->library)
		missing = "library";
	if (missing) {
		r = sbx_error_set(err, EINVAL,
				  "%s:%d: [plugin]: missing required key '%s'",
				  ini_path, mp.section_line ? mp.section_line : 1,
				  missing);
		goto out_free;
	}
	r = resolve_library(ini_path, &m->library);
	if (r < 0) {
		r = sbx_error_set(err, -r, "%s: resolve library '%s': %s",
				  ini_path, m->library, strerror(-r));
		goto out_free;
	}
	m->path = strdup(ini_path);
	if (!m->path) {
		r = sbx_error_set(err, ENOMEM, "%s: out of memory", ini_path);
		goto out_free;
	}
	return 0;

out_free:
	plugin_manifest_free(m);
	return r;
}

void plugin_manifest_free(struct plugin_manifest *m)
{
	free(m->name);
	free(m->library);
	free(m->description);
	free(m->path);
	memset(m, 0, sizeof(*m));
}

/* ---- listing ---------------------------------------------------------- */

struct mlist {
	struct plugin_manifest *v;
	size_t n, cap;
};

static bool mlist_has(const struct mlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return true;
	return false;
}

static int mlist_push(struct mlist *l, struct plugin_manifest *m)
{
	struct plugin_manifest *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *m;
	return 0;
}

static int is_manifest(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 4 &&
	       strcmp(d->d_name + len - 4, ".ini") == 0;
}

/*
 * scan_dir - add the manifests of @dir whose names are not taken yet.
 * Entries are read in name order so that "first wins" is reproducible.
 * A missing or unreadable directory is not an error: the search path
 * lists places where plugins may be.
 */
static int scan_dir(const char *dir, struct mlist *l)
{
	struct dirent **ents;
	struct plugin_manifest m;
	struct sbx_error err;
	char *path;
	int n, r = 0;

	n = scandir(dir, &ents, is_manifest, alphasort);
	if (n < 0) {
		r = errno;
		if (r == ENOMEM)
			return -ENOMEM;
		if (r != ENOENT && r != ENOTDIR)
			sbx_debug("read plugin directory '%s': %s", dir,
				  strerror(r));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (r < 0)
			goto next;
		if (asprintf(&path, "%s/%s", dir, ents[i]->d_name) < 0) {
			r = -ENOMEM;
			goto next;
		}
		if (plugin_manifest_parse(path, &m, &err) < 0) {
			sbx_warn("skipping plugin manifest: %s", err.msg);
		} else if (mlist_has(l, m.name)) {
			sbx_debug("plugin manifest '%s' is shadowed", path);
			plugin_manifest_free(&m);
		} else {
			r = mlist_push(l, &m);
			if (r < 0)
				plugin_manifest_free(&m);
		}
		free(path);
next:
		free(ents[i]);
	}
	free(ents);
	return r;
}

static int manifest_cmp(const void *a, const void *b)
{
	const struct plugin_manifest *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int plugin_list(const struct plugin_search_path *sp,
		struct plugin_manifest **out, size_t *n)
{
	struct mlist l = { 0 };
	int r;

	for (size_t i = 0; i < sp->n; i++) {
		r = scan_dir(sp->dirs[i], &l);
		if (r < 0)
			goto out_free_list;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), manifest_cmp);
	*out = l.v;
	*n = l.n;
	return 0;

out_free_list:
	plugin_list_free(l.v, l.n);
	return r;
}

void plugin_list_free(struct plugin_manifest *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		plugin_manifest_free(&v[i]);
	free(v);
}

/* ---- loading ---------------------------------------------------------- */

static bool is_path(const char *s)
{
	size_t len = strlen(s);

	return strchr(s, '/') || (len > 3 && strcmp(s + len - 3, ".so") == 0);
}

/* name_from_path - "/a/b/null.so" -> "null", for messages. */
static char *name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 3 && strcmp(base + len - 3, ".so") == 0)
		len -= 3;
	return strndup(base, len);
}

/*
 * check_desc - the descriptor checks, in the order a person fixes them:
 * is it a descriptor at all, the right kind, a compatible ABI, with ops.
 */
static int check_desc(const struct sbx_plugin_desc *d, const char *name,
		      const char *path, int kind, uint32_t major,
		      uint32_t minor, struct sbx_error *err)
{
	const char *want = plugin_kind_name(kind);
	size_t need = offsetof(struct sbx_plugin_desc, ops) + sizeof(d->ops);
	size_t ops_size;

	if (!d)
		return sbx_error_set(err, EINVAL,
				     "plugin '%s' (%s): %s() returned NULL",
				     name, path, SBX_PLUGIN_ENTRY_SYMBOL);
	if (d->size < need || d->size > DESC_SIZE_MAX)
		return sbx_error_set(err, EINVAL,
				     "plugin '%s' (%s): bad descriptor size %zu (expected %zu to %d bytes)",
				     name, path, d->size, need, DESC_SIZE_MAX);
	if ((int)d->kind != kind) {
		if (plugin_kind_parse(plugin_kind_name((int)d->kind)) < 0)
			return sbx_error_set(err, EINVAL,
					     "plugin '%s' (%s) has unknown kind %u, expected %s",
					     name, path, d->kind, want);
		return sbx_error_set(err, EINVAL,
				     "plugin '%s' (%s) is a %s plugin, expected %s",
				     name, path, plugin_kind_name((int)d->kind),
				     want);
	}
	if (d->abi_major != major)
		return sbx_error_set(err, EPROTONOSUPPORT,
				     "plugin '%s' (%s): %s ABI %u.%u is not supported by this sbx (%s ABI %u.%u)",
				     name, path, want, d->abi_major,
				     d->abi_minor, want, major, minor);
	if (d->abi_minor > minor)
		return sbx_error_set(err, EPROTONOSUPPORT,
				     "plugin '%s' (%s): needs %s ABI %u.%u, but this sbx has %s ABI %u.%u",
				     name, path, want, d->abi_major,
				     d->abi_minor, want, major, minor);
	if (!d->ops)
		return sbx_error_set(err, EINVAL,
				     "plugin '%s' (%s): descriptor has no ops table",
				     name, path);
	/* Every ops table starts with size_t size, then at least one op. */
	ops_size = *(const size_t *)d->ops;
	if (ops_size < sizeof(size_t) + sizeof(void (*)(void)))
		return sbx_error_set(err, EINVAL,
				     "plugin '%s' (%s): ops table size %zu is too small",
				     name, path, ops_size);
	return 0;
}

/*
 * load_so - dlopen @path and check what its entry returns.  @name is for
 * messages and becomes out->name (taken over on success).
 */
static int load_so(char *name, const char *path, int kind, uint32_t major,
		   uint32_t minor, struct plugin *out, struct sbx_error *err)
{
	sbx_plugin_entry_fn entry;
	const struct sbx_plugin_desc *d;
	void *h;
	int r;

	dlerror();
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return sbx_error_set(err, ENOEXEC,
				     "cannot load plugin '%s' (%s): %s", name,
				     path, dlerror());
	dlerror();
	*(void **)&entry = dlsym(h, SBX_PLUGIN_ENTRY_SYMBOL);
	if (!entry) {
		const char *e = dlerror();

		r = sbx_error_set(err, ENOEXEC,
				  "plugin '%s' (%s): no %s symbol: %s", name,
				  path, SBX_PLUGIN_ENTRY_SYMBOL,
				  e ? e : "symbol is NULL");
		goto out_close;
	}
	d = entry();
	r = check_desc(d, name, path, kind, major, minor, err);
	if (r < 0)
		goto out_close;
	out->path = strdup(path);
	if (!out->path) {
		r = sbx_error_set(err, ENOMEM, "load plugin '%s': %s", name,
				  strerror(ENOMEM));
		goto out_close;
	}
	out->handle = h;
	out->desc = d;
	out->name = name;
	return 0;

out_close:
	dlclose(h);
	return r;
}

static int load_by_path(const char *arg, int kind, uint32_t major,
			uint32_t minor, struct plugin *out,
			struct sbx_error *err)
{
	char abs[PATH_MAX];
	char *name;
	int r;

	name = name_from_path(arg);
	if (!name)
		return sbx_error_set(err, ENOMEM, "load plugin '%s': %s", arg,
				     strerror(ENOMEM));
	/* realpath: dlopen must never search for a bare "x.so". */
	if (!realpath(arg, abs)) {
		r = errno;
		r = sbx_error_set(err, r, "cannot load plugin '%s' (%s): %s",
				  name, arg, strerror(r));
		goto out_free_name;
	}
	r = load_so(name, abs, kind, major, minor, out, err);
	if (r < 0)
		goto out_free_name;
	return 0;

out_free_name:
	free(name);
	return r;
}

static int load_by_name(const struct plugin_search_path *sp, const char *arg,
			int kind, uint32_t major, uint32_t minor,
			struct plugin *out, struct sbx_error *err)
{
	struct plugin_manifest *v;
	const struct plugin_manifest *m = NULL;
	char where[768];
	char *name;
	size_t n;
	int r;

	r = plugin_list(sp, &v, &n);
	if (r < 0)
		return sbx_error_set(err, -r, "list plugins: %s", strerror(-r));
	for (size_t i = 0; i < n && !m; i++)
		if (strcmp(v[i].name, arg) == 0)
			m = &v[i];
	if (!m) {
		sp_describe(sp, where, sizeof(where));
		r = sbx_error_set(err, ENOENT,
				  "plugin '%s' not found (kind %s); searched: %s",
				  arg, plugin_kind_name(kind), where);
		goto out_free_list;
	}
	if (m->kind != kind) {
		r = sbx_error_set(err, EINVAL,
				  "plugin '%s' (%s) is a %s plugin, expected %s",
				  arg, m->path, plugin_kind_name(m->kind),
				  plugin_kind_name(kind));
		goto out_free_list;
	}
	name = strdup(m->name);
	if (!name) {
		r = sbx_error_set(err, ENOMEM, "load plugin '%s': %s", arg,
				  strerror(ENOMEM));
		goto out_free_list;
	}
	r = load_so(name, m->library, kind, major, minor, out, err);
	if (r < 0)
		free(name);
out_free_list:
	plugin_list_free(v, n);
	return r;
}

int plugin_load(const struct plugin_search_path *sp, const char *name_or_path,
		int kind, uint32_t abi_major, uint32_t abi_minor,
		struct plugin *out, struct sbx_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!name_or_path || !*name_or_path)
		return sbx_error_set(err, EINVAL, "load %s plugin: empty name",
				     plugin_kind_name(kind));
	if (is_path(name_or_path))
		return load_by_path(name_or_path, kind, abi_major, abi_minor,
				    out, err);
	return load_by_name(sp, name_or_path, kind, abi_major, abi_minor, out,
			    err);
}

void plugin_unload(struct plugin *p)
{
	if (p->handle)
		dlclose(p->handle);
	free(p->path);
	free(p->name);
	memset(p, 0, sizeof(*p));
}
