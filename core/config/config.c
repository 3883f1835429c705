/*
 * The sandbox configuration loader: YAML text -> struct sbx_config.
 *
 * The text is loaded with libyaml's document API and then walked against a
 * fixed schema: one table of struct field per mapping (top level, platform,
 * filesystem, filesystem.root, a mount, network, process, limits, log,
 * plugins).  Each field names a parse function that validates one value and
 * stores it at an offset of the struct being filled.  Every error is reported
 * once, as "FILE:LINE:COL: key.path: message", and the walk stops.
 *
 * Divisions: file reading, the walker (paths, errors, node helpers), value
 * parsers (strings, booleans, sizes, integers, lists, options, mounts), the
 * schema tables, then the public entry points.
 *
 * Null values (`key:`, `key: ~`) mean "unset": the default stays.  libyaml
 * marks are 0-based; ours are 1-based.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "../util/log.h"

#define CONFIG_MAX_BYTES (1u << 20) /* a config larger than 1 MiB is a mistake */
#define MAX_FIELDS 16 /* entries in any schema table; the largest has 7 */

struct walk {
	const char *file;
	yaml_document_t *doc;
	struct sbx_error *err;
	char path[256];
	size_t path_len;
};

struct field;
typedef int (*parse_fn)(struct walk *w, yaml_node_t *n, void *base,
			const struct field *f);

/*
 * struct field - one key of a mapping: where its value goes in the struct
 * being filled (@off, and @off_n for a list's count) and how it is parsed.
 */
struct field {
	const char *key;
	parse_fn parse;
	size_t off;
	size_t off_n;
	const void *arg; /* sub-table, word list, range or list rules */
};

struct range {
	uint64_t min, max;
};

/* Rules for a list of strings; @check returns a message for a bad item. */
struct list_rules {
	bool nonempty;
	const char *(*check)(const char *s);
};

/* ---- reading a file ---------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *len,
		     struct sbx_error *err)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno;
		return sbx_error_set(err, ret, "open '%s': %s", path,
				     strerror(ret));
	}
	for (;;) {
		if (n == cap || !buf) {
			if (n == cap)
				cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				ret = sbx_error_set(err, ENOMEM, "read '%s': %s",
						    path, strerror(ENOMEM));
				goto out_free;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = errno;
			ret = sbx_error_set(err, ret, "read '%s': %s", path,
					    strerror(ret));
			goto out_free;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CONFIG_MAX_BYTES) {
			ret = sbx_error_set(err, EFBIG,
					    "read '%s': larger than %u bytes",
					    path, CONFIG_MAX_BYTES);
			goto out_free;
		}
	}
	buf[n] = '\0';
	close(fd);
	*out = buf;
	*len = n;
	return 0;

out_free:
	free(buf);
	close(fd);
	return ret;
}

/* ---- the walker -------------------------------------------------------- */

static size_t path_push(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* path_push - append ".key" or "[i]"; returns the length to pop back to. */
static size_t path_push(struct walk *w, const char *fmt, ...)
{
	size_t old = w->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(w->path + old, sizeof(w->path) - old, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->path_len += (size_t)n;
	if (w->path_len >= sizeof(w->path))
		w->path_len = sizeof(w->path) - 1;
	return old;
}

static void path_pop(struct walk *w, size_t len)
{
	w->path_len = len;
	w->path[len] = '\0';
}

static int fail(struct walk *w, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* fail - report "FILE:LINE:COL: path: msg" at node @n; returns -EINVAL. */
static int fail(struct walk *w, yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sbx_error_set(w->err, EINVAL, "%s:%zu:%zu: %s: %s", w->file,
			     n->start_mark.line + 1, n->start_mark.column + 1,
			     w->path_len ? w->path : "(top level)", msg);
}

static struct cfg_mark mark_of(yaml_node_t *n)
{
	return (struct cfg_mark){ (int)n->start_mark.line + 1,
				  (int)n->start_mark.column + 1 };
}

static const char *kind_name(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* is_null - an unquoted empty, "~" or "null" scalar: the key is unset. */
static bool is_null(yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *scalar(yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* want - check @n has @type; @what names what was expected, for the error. */
static int want(struct walk *w, yaml_node_t *n, yaml_node_type_t type,
		const char *what)
{
	if (n->type == type)
		return 0;
	return fail(w, n, "expected %s, got %s", what, kind_name(n));
}

static void *at(void *base, size_t off)
{
	return (char *)base + off;
}

static const char *const *words_of(const struct field *f)
{
	return f->arg;
}

static int match_word(const char *const *words, const char *s)
{
	for (int i = 0; words[i]; i++)
		if (!strcmp(words[i], s))
			return i;
	return -1;
}

/* join_words - "a, b or c" into @buf, for messages. */
static const char *join_words(const char *const *words, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; words[i] && len < size; i++) {
		const char *sep = !i ? "" : words[i + 1] ? ", " : " or ";

		len += (size_t)snprintf(buf + len, size - len, "%s%s", sep,
					words[i]);
	}
	return buf;
}

static const char *join_keys(const struct field *fields, char *buf,
			     size_t size)
{
	const char *words[MAX_FIELDS + 1];
	int i;

	for (i = 0; fields[i].key && i < MAX_FIELDS; i++)
		words[i] = fields[i].key;
	words[i] = NULL;
	return join_words(words, buf, size);
}

/*
 * walk_map - parse mapping @n into @base with @fields.  Unknown and
 * duplicate keys are errors; null values are skipped.  If @keys is given it
 * receives the key node of each field present (for cross-field checks).
 */
static int walk_map(struct walk *w, yaml_node_t *n, void *base,
		    const struct field *fields, yaml_node_t **keys)
{
	yaml_node_t *seen[MAX_FIELDS] = { NULL };
	yaml_node_pair_t *pair;
	char buf[256];
	int ret;

	ret = want(w, n, YAML_MAPPING_NODE, "a mapping");
	if (ret)
		return ret;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, pair->value);
		size_t saved;
		int i;

		if (k->type != YAML_SCALAR_NODE)
			return fail(w, k, "expected a key, got %s",
				    kind_name(k));
		saved = path_push(w, "%s%s", w->path_len ? "." : "", scalar(k));
		for (i = 0; fields[i].key; i++)
			if (!strcmp(fields[i].key, scalar(k)))
				break;
		if (!fields[i].key)
			return fail(w, k, "unknown key (expected %s)",
				    join_keys(fields, buf, sizeof(buf)));
		if (seen[i])
			return fail(w, k, "duplicate key (first at line %zu)",
				    seen[i]->start_mark.line + 1);
		seen[i] = k;
		if (!is_null(v)) {
			ret = fields[i].parse(w, v, base, &fields[i]);
			if (ret)
				return ret;
		}
		path_pop(w, saved);
	}
	if (keys)
		memcpy(keys, seen, sizeof(seen));
	return 0;
}

/* ---- value parsers ------------------------------------------------------ */

static int parse_map(struct walk *w, yaml_node_t *n, void *base,
		     const struct field *f)
{
	return walk_map(w, n, at(base, f->off), f->arg, NULL);
}

static int set_string(struct walk *w, yaml_node_t *n, char **dst)
{
	char *s = strdup(scalar(n));

	if (!s)
		return sbx_error_set(w->err, ENOMEM, "%s: out of memory",
				     w->file);
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_string(struct walk *w, yaml_node_t *n, void *base,
			const struct field *f)
{
	int ret = want(w, n, YAML_SCALAR_NODE, "a string");

	return ret ? ret : set_string(w, n, at(base, f->off));
}

static int parse_abspath(struct walk *w, yaml_node_t *n, void *base,
			 const struct field *f)
{
	int ret = want(w, n, YAML_SCALAR_NODE, "an absolute path");

	if (ret)
		return ret;
	if (scalar(n)[0] != '/')
		return fail(w, n, "'%s' is not an absolute path", scalar(n));
	return set_string(w, n, at(base, f->off));
}

/* parse_word - a string that must be one of the NULL-terminated f->arg. */
static int parse_word(struct walk *w, yaml_node_t *n, void *base,
		      const struct field *f)
{
	char buf[128];
	int ret = want(w, n, YAML_SCALAR_NODE, "a string");

	if (ret)
		return ret;
	if (match_word(words_of(f), scalar(n)) < 0)
		return fail(w, n, "invalid value '%s' (use %s)", scalar(n),
			    join_words(words_of(f), buf, sizeof(buf)));
	return set_string(w, n, at(base, f->off));
}

/* parse_index - like parse_word but stores the word's index as an int. */
static int parse_index(struct walk *w, yaml_node_t *n, void *base,
		       const struct field *f)
{
	char buf[128];
	int ret = want(w, n, YAML_SCALAR_NODE, "a string");
	int i;

	if (ret)
		return ret;
	i = match_word(words_of(f), scalar(n));
	if (i < 0)
		return fail(w, n, "invalid value '%s' (use %s)", scalar(n),
			    join_words(words_of(f), buf, sizeof(buf)));
	*(int *)at(base, f->off) = i;
	return 0;
}

static int parse_bool(struct walk *w, yaml_node_t *n, void *base,
		      const struct field *f)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	int ret = want(w, n, YAML_SCALAR_NODE, "a boolean");
	bool *dst = at(base, f->off);

	if (ret)
		return ret;
	for (int i = 0; yes[i]; i++) {
		if (!strcasecmp(scalar(n), yes[i])) {
			*dst = true;
			return 0;
		}
		if (!strcasecmp(scalar(n), no[i])) {
			*dst = false;
			return 0;
		}
	}
	return fail(w, n, "invalid boolean '%s' (use true/false, yes/no or on/off)",
		    scalar(n));
}

static int parse_size(struct walk *w, yaml_node_t *n, void *base,
		      const struct field *f)
{
	int ret = want(w, n, YAML_SCALAR_NODE, "a size");

	if (ret)
		return ret;
	ret = config_parse_size(scalar(n), at(base, f->off));
	if (ret == -ERANGE)
		return fail(w, n, "size '%s' is too large", scalar(n));
	if (ret)
		return fail(w, n, "invalid size '%s' (use a number with K, M, G or T)",
			    scalar(n));
	return 0;
}

/* parse_u32 - a decimal integer within the struct range in f->arg. */
static int parse_u32(struct walk *w, yaml_node_t *n, void *base,
		     const struct field *f)
{
	const struct range *r = f->arg;
	const char *s;
	unsigned long long v;
	char *end;
	int ret = want(w, n, YAML_SCALAR_NODE, "an integer");

	if (ret)
		return ret;
	s = scalar(n);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end)
		return fail(w, n, "invalid integer '%s'", s);
	if (errno == ERANGE || v < r->min || v > r->max)
		return fail(w, n, "%s is out of range (%llu..%llu)", s,
			    (unsigned long long)r->min,
			    (unsigned long long)r->max);
	*(uint32_t *)at(base, f->off) = (uint32_t)v;
	return 0;
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/*
 * parse_strlist - a list of strings into a NULL-terminated array at f->off
 * with its count at f->off_n.  The old array is replaced only on success.
 */
static int parse_strlist(struct walk *w, yaml_node_t *n, void *base,
			 const struct field *f)
{
	const struct list_rules *rules = f->arg;
	yaml_node_item_t *it = n->data.sequence.items.start;
	size_t count, i = 0;
	char **v;
	int ret = want(w, n, YAML_SEQUENCE_NODE, "a list of strings");

	if (ret)
		return ret;
	count = (size_t)(n->data.sequence.items.top - it);
	if (rules && rules->nonempty && !count)
		return fail(w, n, "must not be empty");
	v = calloc(count + 1, sizeof(*v));
	if (!v)
		goto out_nomem;
	for (i = 0; i < count; i++) {
		yaml_node_t *item = yaml_document_get_node(w->doc, it[i]);
		size_t saved = path_push(w, "[%zu]", i);
		const char *msg;

		ret = want(w, item, YAML_SCALAR_NODE, "a string");
		if (ret)
			goto out_free;
		msg = rules && rules->check ? rules->check(scalar(item)) : NULL;
		if (msg) {
			ret = fail(w, item, "%s", msg);
			goto out_free;
		}
		path_pop(w, saved);
		v[i] = strdup(scalar(item));
		if (!v[i])
			goto out_nomem;
	}
	free_strv(*(char ***)at(base, f->off));
	*(char ***)at(base, f->off) = v;
	*(size_t *)at(base, f->off_n) = count;
	return 0;

out_nomem:
	ret = sbx_error_set(w->err, ENOMEM, "%s: out of memory", w->file);
out_free:
	free_strv(v);
	return ret;
}

static const char *check_env(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq)
		return "expected NAME=VALUE (no '=' found)";
	if (eq == s)
		return "expected NAME=VALUE (empty name)";
	return NULL;
}

static void options_clear(struct sbx_options *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->items[i].key);
		free(o->items[i].value);
	}
	free(o->items);
	o->items = NULL;
	o->n = 0;
}

/*
 * parse_options - a mapping of scalars kept as written, with marks, for a
 * plugin to interpret through the option services.
 */
static int parse_options(struct walk *w, yaml_node_t *n, void *base,
			 const struct field *f)
{
	struct sbx_options *o = at(base, f->off);
	yaml_node_pair_t *pair;
	size_t count;
	int ret = want(w, n, YAML_MAPPING_NODE, "a mapping of scalars");

	if (ret)
		return ret;
	options_clear(o);
	count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	o->items = calloc(count ? count : 1, sizeof(*o->items));
	if (!o->items)
		goto out_nomem;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, pair->value);
		struct cfg_kv *kv = &o->items[o->n];
		size_t saved;

		if (k->type != YAML_SCALAR_NODE)
			return fail(w, k, "expected a key, got %s",
				    kind_name(k));
		saved = path_push(w, ".%s", scalar(k));
		if (options_get(o, scalar(k)))
			return fail(w, k, "duplicate key");
		if (v->type != YAML_SCALAR_NODE)
			return fail(w, v, "expected a scalar, got %s",
				    kind_name(v));
		path_pop(w, saved);
		kv->key = strdup(scalar(k));
		kv->value = strdup(scalar(v));
		kv->mark = mark_of(v);
		o->n++; /* counted now so config_free frees a half-made pair */
		if (!kv->key || !kv->value)
			goto out_nomem;
	}
	return 0;

out_nomem:
	return sbx_error_set(w->err, ENOMEM, "%s: out of memory", w->file);
}

/* ---- mounts ------------------------------------------------------------- */

static const char *const mount_types[] = { "gofer", "tmpfs", "proc", "dev",
					   NULL };

static const struct field mount_fields[] = {
#define M(key, fn, member, arg) \
	{ key, fn, offsetof(struct cfg_mount, member), 0, arg }
	M("target", parse_abspath, target, NULL),
	M("type", parse_index, type, mount_types),
	M("source", parse_string, source, NULL),
	M("readonly", parse_bool, readonly, NULL),
	M("size", parse_size, size, NULL),
#undef M
	{ 0 }
};

enum { MF_TARGET, MF_TYPE, MF_SOURCE, MF_READONLY, MF_SIZE };

_Static_assert(sizeof(enum cfg_mount_type) == sizeof(int),
	       "parse_index stores an int");

/* check_mount - the rules that tie a mount's keys together. */
static int check_mount(struct walk *w, yaml_node_t *n, struct cfg_mount *m,
		       yaml_node_t **keys)
{
	size_t saved;
	int ret;

	if (!m->target) {
		saved = path_push(w, ".target");
		ret = fail(w, n, "missing (every mount needs an absolute target)");
		path_pop(w, saved);
		return ret;
	}
	if (m->type == CFG_MOUNT_GOFER && !m->source) {
		saved = path_push(w, ".source");
		ret = fail(w, n, "missing (a gofer mount needs a host source)");
		path_pop(w, saved);
		return ret;
	}
	if (m->type != CFG_MOUNT_GOFER && keys[MF_SOURCE]) {
		saved = path_push(w, ".source");
		ret = fail(w, keys[MF_SOURCE], "not allowed for a %s mount",
			   mount_types[m->type]);
		path_pop(w, saved);
		return ret;
	}
	if (m->type != CFG_MOUNT_TMPFS && keys[MF_SIZE]) {
		saved = path_push(w, ".size");
		ret = fail(w, keys[MF_SIZE], "only allowed for a tmpfs mount");
		path_pop(w, saved);
		return ret;
	}
	return 0;
}

static void free_mounts(struct cfg_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].target);
		free(m[i].source);
	}
	free(m);
}

static int parse_mounts(struct walk *w, yaml_node_t *n, void *base,
			const struct field *f)
{
	struct sbx_config *cfg = base;
	yaml_node_item_t *it = n->data.sequence.items.start;
	size_t count;
	int ret = want(w, n, YAML_SEQUENCE_NODE, "a list of mounts");

	if (ret)
		return ret;
	free_mounts(cfg->filesystem.mounts, cfg->filesystem.n_mounts);
	cfg->filesystem.n_mounts = 0;
	count = (size_t)(n->data.sequence.items.top - it);
	cfg->filesystem.mounts = calloc(count ? count : 1, sizeof(struct cfg_mount));
	if (!cfg->filesystem.mounts)
		return sbx_error_set(w->err, ENOMEM, "%s: out of memory",
				     w->file);
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item = yaml_document_get_node(w->doc, it[i]);
		struct cfg_mount *m = &cfg->filesystem.mounts[i];
		yaml_node_t *keys[MAX_FIELDS];
		size_t saved = path_push(w, "[%zu]", i);

		cfg->filesystem.n_mounts++; /* config_free sees partial mounts */
		m->mark = mark_of(item);
		ret = walk_map(w, item, m, mount_fields, keys);
		if (!ret)
			ret = check_mount(w, item, m, keys);
		if (ret)
			return ret;
		path_pop(w, saved);
	}
	return 0;
}

/* ---- the schema --------------------------------------------------------- */

#define C(key, fn, member, arg) \
	{ key, fn, offsetof(struct sbx_config, member), 0, arg }
#define L(key, member, count, rules)                                     \
	{ key, parse_strlist, offsetof(struct sbx_config, member),        \
	  offsetof(struct sbx_config, count), rules }

static const char *const overlays[] = { "none", "memory", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug",
					  NULL };
static const struct range uid_range = { 0, 4294967294u };
static const struct range pids_range = { 1, 4194304 }; /* PID_MAX_LIMIT */
static const struct range nofile_range = { 1, 1048576 }; /* nr_open */
static const struct list_rules argv_rules = { true, NULL };
static const struct list_rules env_rules = { false, check_env };

static const struct field platform_fields[] = {
	C("plugin", parse_string, platform.plugin, NULL),
	C("options", parse_options, platform.options, NULL),
	{ 0 }
};

/* filesystem.root fills the flat root_* members, so it works on the config. */
static const struct field root_fields[] = {
	C("source", parse_string, filesystem.root_source, NULL),
	C("readonly", parse_bool, filesystem.root_readonly, NULL),
	C("overlay", parse_word, filesystem.root_overlay, overlays),
	C("overlay_size", parse_size, filesystem.root_overlay_size, NULL),
	{ 0 }
};

static const struct field filesystem_fields[] = {
	C("plugin", parse_string, filesystem.plugin, NULL),
	{ "root", parse_map, 0, 0, root_fields },
	{ "mounts", parse_mounts, 0, 0, NULL },
	{ 0 }
};

static const struct field network_fields[] = {
	C("plugin", parse_string, network.plugin, NULL),
	C("options", parse_options, network.options, NULL),
	{ 0 }
};

static const struct field process_fields[] = {
	L("argv", process.argv, process.argc, &argv_rules),
	L("env", process.env, process.envc, &env_rules),
	C("cwd", parse_abspath, process.cwd, NULL),
	C("uid", parse_u32, process.uid, &uid_range),
	C("gid", parse_u32, process.gid, &uid_range),
	{ 0 }
};

static const struct field limits_fields[] = {
	C("memory", parse_size, limits.memory, NULL),
	C("pids", parse_u32, limits.pids, &pids_range),
	C("nofile", parse_u32, limits.nofile, &nofile_range),
	{ 0 }
};

static const struct field log_fields[] = {
	C("level", parse_index, log.level, log_levels),
	C("strace", parse_bool, log.strace, NULL),
	C("file", parse_string, log.file, NULL),
	{ 0 }
};

static const struct field plugins_fields[] = {
	L("search_path", plugins.search_path, plugins.n, NULL),
	{ 0 }
};

/* Sections work on the whole config (offset 0) with their own table. */
static const struct field top_fields[] = {
	{ "platform", parse_map, 0, 0, platform_fields },
	{ "filesystem", parse_map, 0, 0, filesystem_fields },
	{ "network", parse_map, 0, 0, network_fields },
	{ "process", parse_map, 0, 0, process_fields },
	{ "limits", parse_map, 0, 0, limits_fields },
	{ "log", parse_map, 0, 0, log_fields },
	{ "plugins", parse_map, 0, 0, plugins_fields },
	{ 0 }
};

#undef C
#undef L

_Static_assert(SBX_LOG_ERROR == 0 && SBX_LOG_DEBUG == 3,
	       "log_levels[] is indexed by enum sbx_log_level");

/* ---- entry points ------------------------------------------------------- */

int config_parse_size(const char *s, uint64_t *out)
{
	static const char upper[] = "KMGT", lower[] = "kmgt";
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (int i = 0; i < 4; i++) {
		if (*p == upper[i] || *p == lower[i]) {
			mul = 1ull << (10 * (i + 1));
			p++;
			if (*p == 'i')
				p++;
			break;
		}
	}
	if (*p == 'B')
		p++;
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

int config_defaults(struct sbx_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->platform.plugin = strdup("systrap");
	cfg->platform.options.path = strdup("platform.options");
	cfg->filesystem.plugin = strdup("gofer");
	cfg->filesystem.root_source = strdup("/");
	cfg->filesystem.root_readonly = true;
	cfg->filesystem.root_overlay = strdup("memory");
	cfg->network.plugin = strdup("none");
	cfg->network.options.path = strdup("network.options");
	cfg->process.argv = calloc(1, sizeof(char *));
	cfg->process.env = calloc(1, sizeof(char *));
	cfg->process.cwd = strdup("/");
	cfg->limits.nofile = 1024;
	cfg->log.level = SBX_LOG_WARN;
	if (!cfg->platform.plugin || !cfg->platform.options.path ||
	    !cfg->filesystem.plugin || !cfg->filesystem.root_source ||
	    !cfg->filesystem.root_overlay || !cfg->network.plugin ||
	    !cfg->network.options.path || !cfg->process.argv ||
	    !cfg->process.env || !cfg->process.cwd) {
		config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

void config_free(struct sbx_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->file);
	free(cfg->platform.plugin);
	options_clear(&cfg->platform.options);
	free(cfg->platform.options.path);
	free(cfg->filesystem.plugin);
	free(cfg->filesystem.root_source);
	free(cfg->filesystem.root_overlay);
	free_mounts(cfg->filesystem.mounts, cfg->filesystem.n_mounts);
	free(cfg->network.plugin);
	options_clear(&cfg->network.options);
	free(cfg->network.options.path);
	free_strv(cfg->process.argv);
	free_strv(cfg->process.env);
	free(cfg->process.cwd);
	free(cfg->log.file);
	free_strv(cfg->plugins.search_path);
	memset(cfg, 0, sizeof(*cfg));
}

/* reader errors carry a byte offset, not a mark: count lines ourselves. */
static void offset_to_mark(const char *text, size_t len, size_t off,
			   size_t *line, size_t *col)
{
	*line = 0;
	*col = 0;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 0;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int syntax_error(yaml_parser_t *parser, const char *file,
			const char *text, size_t len, struct sbx_error *err)
{
	size_t line = parser->problem_mark.line;
	size_t col = parser->problem_mark.column;

	if (parser->error == YAML_MEMORY_ERROR)
		return sbx_error_set(err, ENOMEM, "%s: out of memory", file);
	if (parser->error == YAML_READER_ERROR)
		offset_to_mark(text, len, parser->problem_offset, &line, &col);
	return sbx_error_set(err, EINVAL, "%s:%zu:%zu: (syntax): %s", file,
			     line + 1, col + 1,
			     parser->problem ? parser->problem : "invalid YAML");
}

/* load_document - parse exactly one YAML document (or none) from @text. */
static int load_document(const char *file, const char *text, size_t len,
			 yaml_document_t *doc, struct sbx_error *err)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int ret = 0;

	if (!yaml_parser_initialize(&parser))
		return sbx_error_set(err, ENOMEM, "%s: out of memory", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, doc)) {
		ret = syntax_error(&parser, file, text, len, err);
		goto out_parser;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		ret = syntax_error(&parser, file, text, len, err);
		goto out_doc;
	}
	root = yaml_document_get_root_node(&extra);
	if (root)
		ret = sbx_error_set(err, EINVAL,
				    "%s:%zu:%zu: (document): only one YAML document is allowed",
				    file, root->start_mark.line + 1,
				    root->start_mark.column + 1);
	yaml_document_delete(&extra);
	if (!ret)
		goto out_parser;
out_doc:
	yaml_document_delete(doc);
out_parser:
	yaml_parser_delete(&parser);
	return ret;
}

int config_load_string(const char *name, const char *text, size_t len,
		       struct sbx_config *cfg, struct sbx_error *err)
{
	struct walk w = { .err = err };
	yaml_document_t doc;
	yaml_node_t *root;
	int ret;

	ret = config_defaults(cfg);
	if (ret)
		return sbx_error_set(err, -ret, "%s: out of memory",
				     name ? name : "<string>");
	cfg->file = strdup(name ? name : "<string>");
	if (!cfg->file) {
		ret = sbx_error_set(err, ENOMEM, "%s: out of memory",
				    name ? name : "<string>");
		goto out_free;
	}
	cfg->platform.options.file = cfg->file;
	cfg->network.options.file = cfg->file;
	w.file = cfg->file;
	w.doc = &doc;

	ret = load_document(cfg->file, text, len, &doc, err);
	if (ret)
		goto out_free;
	root = yaml_document_get_root_node(&doc);
	if (root && !is_null(root))
		ret = walk_map(&w, root, cfg, top_fields, NULL);
	yaml_document_delete(&doc);
	if (!ret)
		return 0;
out_free:
	config_free(cfg);
	return ret;
}

int config_load_file(const char *path, struct sbx_config *cfg,
		     struct sbx_error *err)
{
	size_t len = 0;
	char *text = NULL;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	ret = read_file(path, &text, &len, err);
	if (ret)
		return ret;
	ret = config_load_string(path, text, len, cfg, err);
	free(text);
	return ret;
}
