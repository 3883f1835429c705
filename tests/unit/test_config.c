/*
 * Unit tests for core/config: defaults, a full config, every class of error
 * with its exact FILE:LINE:COL and key path, size parsing, plugin options,
 * and the shipped YAML (embedded default, config/sandbox.yaml, examples).
 * Files are read relative to $SBX_SOURCE_ROOT, which meson sets.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sbx/plugin.h>

#include "core/config/config.h"
#include "runner.h"

#define TIMEOUT 10

static const char *source_path(const char *rel)
{
	static char buf[PATH_MAX];
	const char *root = getenv("SBX_SOURCE_ROOT");

	snprintf(buf, sizeof(buf), "%s/%s", root ? root : ".", rel);
	return buf;
}

static const char *fixture(const char *name)
{
	static char rel[256];

	snprintf(rel, sizeof(rel), "tests/fixtures/config/%s", name);
	return source_path(rel);
}

static bool is_zeroed(const struct sbx_config *cfg)
{
	static const struct sbx_config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

/* The fixture @name must fail with "PATH" @rest, leaving the config freed. */
static void expect_file_error(const char *name, const char *rest)
{
	struct sbx_config cfg;
	struct sbx_error err = { 0 };
	char want[PATH_MAX + sizeof(err.msg)];
	const char *path = fixture(name);

	snprintf(want, sizeof(want), "%s%s", path, rest);
	ck_assert_int_eq(config_load_file(path, &cfg, &err), -EINVAL);
	ck_assert_int_eq(err.err, EINVAL);
	ck_assert_str_eq(err.msg, want);
	ck_assert(is_zeroed(&cfg));
	config_free(&cfg); /* harmless on a freed config */
}

static int load(const char *text, struct sbx_config *cfg, struct sbx_error *err)
{
	return config_load_string("t.yaml", text, strlen(text), cfg, err);
}

static void expect_error(const char *text, const char *msg)
{
	struct sbx_config cfg;
	struct sbx_error err = { 0 };

	ck_assert_int_eq(load(text, &cfg, &err), -EINVAL);
	ck_assert_str_eq(err.msg, msg);
	ck_assert(is_zeroed(&cfg));
}

static void load_ok(const char *text, struct sbx_config *cfg)
{
	struct sbx_error err = { 0 };
	int ret = load(text, cfg, &err);

	ck_assert_msg(ret == 0, "load failed (%d): %s", ret, err.msg);
}

static void load_file_ok(const char *path, struct sbx_config *cfg)
{
	struct sbx_error err = { 0 };
	int ret = config_load_file(path, cfg, &err);

	ck_assert_msg(ret == 0, "%s failed (%d): %s", path, ret, err.msg);
}

/* Checks every default, as documented in config/sandbox.yaml. */
static void check_defaults(const struct sbx_config *cfg)
{
	ck_assert_str_eq(cfg->platform.plugin, "systrap");
	ck_assert_uint_eq(cfg->platform.options.n, 0);
	ck_assert_str_eq(cfg->platform.options.path, "platform.options");
	ck_assert_str_eq(cfg->filesystem.plugin, "gofer");
	ck_assert_str_eq(cfg->filesystem.root_source, "/");
	ck_assert(cfg->filesystem.root_readonly);
	ck_assert_str_eq(cfg->filesystem.root_overlay, "memory");
	ck_assert_uint_eq(cfg->filesystem.root_overlay_size, 0);
	ck_assert_uint_eq(cfg->filesystem.n_mounts, 0);
	ck_assert_str_eq(cfg->network.plugin, "none");
	ck_assert_uint_eq(cfg->network.options.n, 0);
	ck_assert_str_eq(cfg->network.options.path, "network.options");
	ck_assert_uint_eq(cfg->process.argc, 0);
	ck_assert_ptr_nonnull(cfg->process.argv);
	ck_assert_ptr_null(cfg->process.argv[0]);
	ck_assert_uint_eq(cfg->process.envc, 0);
	ck_assert_ptr_nonnull(cfg->process.env);
	ck_assert_ptr_null(cfg->process.env[0]);
	ck_assert_str_eq(cfg->process.cwd, "/");
	ck_assert_uint_eq(cfg->process.uid, 0);
	ck_assert_uint_eq(cfg->process.gid, 0);
	ck_assert_uint_eq(cfg->limits.memory, 0);
	ck_assert_uint_eq(cfg->limits.pids, 0);
	ck_assert_uint_eq(cfg->limits.nofile, 1024);
	ck_assert_int_eq(cfg->log.level, SBX_LOG_WARN);
	ck_assert(!cfg->log.strace);
	ck_assert_ptr_null(cfg->log.file);
	ck_assert_uint_eq(cfg->plugins.n, 0);
}

/* ---- defaults ----------------------------------------------------------- */

START_TEST(test_config_defaults)
{
	struct sbx_config cfg;

	ck_assert_int_eq(config_defaults(&cfg), 0);
	check_defaults(&cfg);
	config_free(&cfg);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

START_TEST(test_config_empty_file_is_defaults)
{
	struct sbx_config cfg;

	load_file_ok(fixture("empty.yaml"), &cfg);
	check_defaults(&cfg);
	ck_assert_str_eq(cfg.file, fixture("empty.yaml"));
	ck_assert_ptr_eq(cfg.platform.options.file, cfg.file);
	config_free(&cfg);
}
END_TEST

START_TEST(test_config_empty_string_is_defaults)
{
	struct sbx_config cfg;

	load_ok("", &cfg);
	check_defaults(&cfg);
	ck_assert_str_eq(cfg.file, "t.yaml");
	config_free(&cfg);
	load_ok("~\n", &cfg);
	check_defaults(&cfg);
	config_free(&cfg);
	ck_assert_int_eq(config_load_string(NULL, "", 0, &cfg, NULL), 0);
	ck_assert_str_eq(cfg.file, "<string>");
	config_free(&cfg);
}
END_TEST

START_TEST(test_config_null_values_are_unset)
{
	struct sbx_config cfg;

	load_ok("platform:\n"
		"process: ~\n"
		"limits: { memory: ~, nofile: null }\n"
		"log:\n  level:\n  file: ~\n"
		"filesystem: { root: ~, mounts: ~ }\n",
		&cfg);
	check_defaults(&cfg);
	config_free(&cfg);
	/* A quoted "~" is a string, not null. */
	expect_error("log: { level: \"~\" }\n",
		     "t.yaml:1:15: log.level: invalid value '~' (use error, warn, info or debug)");
}
END_TEST

/* ---- a full config ------------------------------------------------------ */

START_TEST(test_config_full_file)
{
	struct sbx_config cfg;
	const struct cfg_mount *m;

	load_file_ok(fixture("full.yaml"), &cfg);
	ck_assert_str_eq(cfg.platform.plugin, "systrap");
	ck_assert_uint_eq(cfg.platform.options.n, 2);
	ck_assert_str_eq(options_get(&cfg.platform.options, "spin_us"), "20");
	ck_assert_str_eq(options_get(&cfg.platform.options, "mode"), "fast");
	ck_assert_str_eq(cfg.filesystem.plugin, "gofer");
	ck_assert_str_eq(cfg.filesystem.root_source, "/srv/rootfs");
	ck_assert(!cfg.filesystem.root_readonly);
	ck_assert_str_eq(cfg.filesystem.root_overlay, "none");
	ck_assert_uint_eq(cfg.filesystem.root_overlay_size, 64ull << 20);
	ck_assert_uint_eq(cfg.filesystem.n_mounts, 4);
	m = cfg.filesystem.mounts;
	ck_assert_str_eq(m[0].target, "/tmp");
	ck_assert_int_eq(m[0].type, CFG_MOUNT_TMPFS);
	ck_assert_ptr_null(m[0].source);
	ck_assert_uint_eq(m[0].size, 256ull << 20);
	ck_assert_int_eq(m[0].mark.line, 15);
	ck_assert_int_eq(m[0].mark.col, 7);
	ck_assert_str_eq(m[1].target, "/data");
	ck_assert_int_eq(m[1].type, CFG_MOUNT_GOFER);
	ck_assert_str_eq(m[1].source, "./data");
	ck_assert(!m[1].readonly);
	ck_assert_int_eq(m[1].mark.line, 16);
	ck_assert_int_eq(m[1].mark.col, 7);
	ck_assert_int_eq(m[2].type, CFG_MOUNT_PROC);
	ck_assert_int_eq(m[3].type, CFG_MOUNT_DEV);
	ck_assert(m[3].readonly);
	ck_assert_str_eq(cfg.network.plugin, "host");
	ck_assert_str_eq(options_get(&cfg.network.options, "isolated"), "true");
	ck_assert_uint_eq(cfg.process.argc, 3);
	ck_assert_str_eq(cfg.process.argv[0], "/bin/sh");
	ck_assert_str_eq(cfg.process.argv[2], "echo hi");
	ck_assert_ptr_null(cfg.process.argv[3]);
	ck_assert_uint_eq(cfg.process.envc, 2);
	ck_assert_str_eq(cfg.process.env[0], "PATH=/usr/bin:/bin");
	ck_assert_str_eq(cfg.process.env[1], "EMPTY=");
	ck_assert_ptr_null(cfg.process.env[2]);
	ck_assert_str_eq(cfg.process.cwd, "/home/user");
	ck_assert_uint_eq(cfg.process.uid, 1000);
	ck_assert_uint_eq(cfg.process.gid, 4294967294u);
	ck_assert_uint_eq(cfg.limits.memory, 512ull << 20);
	ck_assert_uint_eq(cfg.limits.pids, 64);
	ck_assert_uint_eq(cfg.limits.nofile, 4096);
	ck_assert_int_eq(cfg.log.level, SBX_LOG_DEBUG);
	ck_assert(cfg.log.strace);
	ck_assert_str_eq(cfg.log.file, "/var/log/sbx.log");
	ck_assert_uint_eq(cfg.plugins.n, 2);
	ck_assert_str_eq(cfg.plugins.search_path[0], "/opt/sbx/plugins");
	ck_assert_str_eq(cfg.plugins.search_path[1], "./plugins");
	ck_assert_ptr_null(cfg.plugins.search_path[2]);
	config_free(&cfg);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

/* ---- shipped YAML --------------------------------------------------------- */

START_TEST(test_config_embedded_default_parses)
{
	struct sbx_config cfg;
	struct sbx_error err = { 0 };
	int ret;

	ret = config_load_string("<embedded>", config_default_yaml,
				 strlen(config_default_yaml), &cfg, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	ck_assert_str_eq(cfg.platform.plugin, "systrap");
	ck_assert_str_eq(cfg.network.plugin, "host");
	ck_assert_str_eq(options_get(&cfg.network.options, "isolated"), "true");
	ck_assert_uint_eq(cfg.process.argc, 3);
	ck_assert_str_eq(cfg.process.argv[0], "/bin/busybox");
	ck_assert_str_eq(cfg.process.argv[1], "echo");
	ck_assert_str_eq(cfg.process.argv[2], "Hello from inside an sbx sandbox");
	ck_assert_uint_eq(cfg.process.envc, 2);
	ck_assert_str_eq(cfg.process.env[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	ck_assert_str_eq(cfg.process.env[1], "HOME=/");
	ck_assert_str_eq(cfg.process.cwd, "/");
	ck_assert_str_eq(cfg.filesystem.root_source, "/");
	ck_assert_str_eq(cfg.filesystem.root_overlay, "memory");
	ck_assert_uint_eq(cfg.limits.memory, 1ull << 30);
	ck_assert_uint_eq(cfg.limits.pids, 512);
	ck_assert_uint_eq(cfg.limits.nofile, 1024);
	ck_assert_int_eq(cfg.log.level, SBX_LOG_WARN);
	config_free(&cfg);
}
END_TEST

START_TEST(test_config_reference_parses)
{
	struct sbx_config cfg;

	load_file_ok(source_path("config/sandbox.yaml"), &cfg);
	/* The reference sets every key to its default, except env. */
	ck_assert_str_eq(cfg.platform.plugin, "systrap");
	ck_assert_str_eq(cfg.network.plugin, "none");
	ck_assert_uint_eq(cfg.process.envc, 2);
	ck_assert_uint_eq(cfg.limits.nofile, 1024);
	config_free(&cfg);
}
END_TEST

static const char *const examples[] = {
	"config/examples/ptrace.yaml",
	"config/examples/writable-workdir.yaml",
	"config/examples/isolated-network.yaml",
	"config/examples/host-network.yaml",
};

START_TEST(test_config_examples_parse)
{
	struct sbx_config cfg;

	load_file_ok(source_path(examples[_i]), &cfg);
	ck_assert_uint_gt(cfg.process.argc, 0);
	config_free(&cfg);
}
END_TEST

/* ---- syntax ---------------------------------------------------------------- */

START_TEST(test_config_syntax_error)
{
	expect_file_error("syntax.yaml",
			  ":3:6: (syntax): did not find expected ',' or ']'");
}
END_TEST

START_TEST(test_config_syntax_error_inline)
{
	expect_error("log: { level: warn\n",
		     "t.yaml:2:1: (syntax): did not find expected ',' or '}'");
	expect_error("a: *nope\n", "t.yaml:1:4: (syntax): found undefined alias");
}
END_TEST

START_TEST(test_config_invalid_utf8)
{
	expect_error("log:\n  file: \"ab\xff\"\n",
		     "t.yaml:2:12: (syntax): invalid leading UTF-8 octet");
}
END_TEST

START_TEST(test_config_multiple_documents)
{
	expect_error("log: { level: info }\n---\nlog: { level: debug }\n",
		     "t.yaml:3:1: (document): only one YAML document is allowed");
}
END_TEST

/* ---- keys ---------------------------------------------------------------- */

START_TEST(test_config_unknown_key_top)
{
	expect_file_error("unknown-top.yaml",
			  ":3:1: sandbox: unknown key (expected platform, "
			  "filesystem, network, process, limits, log or plugins)");
}
END_TEST

START_TEST(test_config_unknown_key_nested)
{
	expect_file_error("unknown-nested.yaml",
			  ":3:3: limits.cpus: unknown key (expected memory, pids or nofile)");
	expect_error("filesystem:\n  root: { source: /, ro: true }\n",
		     "t.yaml:2:22: filesystem.root.ro: unknown key (expected source, readonly, overlay or overlay_size)");
	expect_error("filesystem:\n  mounts:\n    - { target: /a, source: /b, mode: 1 }\n",
		     "t.yaml:3:33: filesystem.mounts[0].mode: unknown key "
		     "(expected target, type, source, readonly or size)");
}
END_TEST

START_TEST(test_config_duplicate_key)
{
	expect_file_error("duplicate-key.yaml",
			  ":4:3: log.level: duplicate key (first at line 2)");
	expect_error("log: {}\nlog: {}\n",
		     "t.yaml:2:1: log: duplicate key (first at line 1)");
}
END_TEST

START_TEST(test_config_top_level_not_a_map)
{
	expect_file_error("not-a-map.yaml",
			  ":1:1: (top level): expected a mapping, got a list");
	expect_error("hello\n",
		     "t.yaml:1:1: (top level): expected a mapping, got a scalar");
}
END_TEST

START_TEST(test_config_key_not_a_scalar)
{
	expect_error("? [a, b]\n: 1\n",
		     "t.yaml:1:3: (top level): expected a key, got a list");
}
END_TEST

/* ---- types --------------------------------------------------------------- */

START_TEST(test_config_wrong_type_scalar)
{
	expect_file_error("wrong-type-scalar.yaml",
			  ":2:9: limits.pids: expected an integer, got a list");
	expect_error("log: { file: { a: b } }\n",
		     "t.yaml:1:14: log.file: expected a string, got a mapping");
}
END_TEST

START_TEST(test_config_wrong_type_list)
{
	expect_file_error("wrong-type-list.yaml",
			  ":3:5: process.argv: expected a list of strings, got a mapping");
	expect_error("process: { argv: [/bin/sh, [x]] }\n",
		     "t.yaml:1:28: process.argv[1]: expected a string, got a list");
	expect_error("filesystem: { mounts: /tmp }\n",
		     "t.yaml:1:23: filesystem.mounts: expected a list of mounts, got a scalar");
}
END_TEST

START_TEST(test_config_wrong_type_map)
{
	expect_file_error("wrong-type-map.yaml",
			  ":1:11: platform: expected a mapping, got a scalar");
	expect_error("filesystem: { mounts: [/tmp] }\n",
		     "t.yaml:1:24: filesystem.mounts[0]: expected a mapping, got a scalar");
}
END_TEST

/* ---- values -------------------------------------------------------------- */

START_TEST(test_config_bad_size)
{
	expect_file_error("bad-size.yaml",
			  ":2:11: limits.memory: invalid size '1Q' (use a number with K, M, G or T)");
	expect_error("limits: { memory: 99999999999T }\n",
		     "t.yaml:1:19: limits.memory: size '99999999999T' is too large");
}
END_TEST

START_TEST(test_config_bad_bool)
{
	expect_file_error("bad-bool.yaml",
			  ":2:21: filesystem.root.readonly: invalid boolean 'maybe' "
			  "(use true/false, yes/no or on/off)");
}
END_TEST

static const struct {
	const char *text;
	bool value;
} bools[] = {
	{ "true", true },  { "yes", true },  { "on", true },  { "True", true },
	{ "YES", true },   { "false", false }, { "no", false }, { "off", false },
	{ "Off", false },  { "FALSE", false },
};

START_TEST(test_config_bool_spellings)
{
	struct sbx_config cfg;
	char text[64];

	snprintf(text, sizeof(text), "log: { strace: %s }\n", bools[_i].text);
	load_ok(text, &cfg);
	ck_assert_int_eq(cfg.log.strace, bools[_i].value);
	config_free(&cfg);
}
END_TEST

START_TEST(test_config_bad_log_level)
{
	expect_file_error("bad-level.yaml",
			  ":2:10: log.level: invalid value 'verbose' (use error, warn, info or debug)");
}
END_TEST

START_TEST(test_config_log_levels)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	struct sbx_config cfg;
	char text[64];

	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "log: { level: %s }\n", names[i]);
		load_ok(text, &cfg);
		ck_assert_int_eq(cfg.log.level, i);
		config_free(&cfg);
	}
}
END_TEST

START_TEST(test_config_relative_cwd)
{
	expect_file_error("relative-cwd.yaml",
			  ":3:8: process.cwd: 'home/user' is not an absolute path");
}
END_TEST

START_TEST(test_config_env_without_equals)
{
	expect_file_error("env-no-equals.yaml",
			  ":4:7: process.env[1]: expected NAME=VALUE (no '=' found)");
	expect_error("process: { env: [=x] }\n",
		     "t.yaml:1:18: process.env[0]: expected NAME=VALUE (empty name)");
}
END_TEST

START_TEST(test_config_empty_argv)
{
	expect_file_error("empty-argv.yaml", ":2:9: process.argv: must not be empty");
}
END_TEST

START_TEST(test_config_integer_ranges)
{
	struct sbx_config cfg;

	expect_error("process: { uid: 4294967295 }\n",
		     "t.yaml:1:17: process.uid: 4294967295 is out of range (0..4294967294)");
	expect_error("process: { gid: -1 }\n",
		     "t.yaml:1:17: process.gid: invalid integer '-1'");
	expect_error("limits: { pids: 0 }\n",
		     "t.yaml:1:17: limits.pids: 0 is out of range (1..4194304)");
	expect_error("limits: { nofile: 1048577 }\n",
		     "t.yaml:1:19: limits.nofile: 1048577 is out of range (1..1048576)");
	expect_error("limits: { nofile: 12abc }\n",
		     "t.yaml:1:19: limits.nofile: invalid integer '12abc'");
	expect_error("limits: { nofile: 99999999999999999999999 }\n",
		     "t.yaml:1:19: limits.nofile: 99999999999999999999999 is out "
		     "of range (1..1048576)");
	load_ok("limits: { nofile: 1048576, pids: 1 }\n", &cfg);
	ck_assert_uint_eq(cfg.limits.nofile, 1048576);
	ck_assert_uint_eq(cfg.limits.pids, 1);
	config_free(&cfg);
}
END_TEST

START_TEST(test_config_bad_overlay)
{
	expect_error("filesystem: { root: { overlay: disk } }\n",
		     "t.yaml:1:32: filesystem.root.overlay: invalid value 'disk' (use none or memory)");
}
END_TEST

/* ---- mounts -------------------------------------------------------------- */

START_TEST(test_config_mount_missing_target)
{
	expect_file_error("mount-no-target.yaml",
			  ":4:7: filesystem.mounts[1].target: missing (every mount "
			  "needs an absolute target)");
	expect_error("filesystem: { mounts: [{ target: tmp, type: tmpfs }] }\n",
		     "t.yaml:1:34: filesystem.mounts[0].target: 'tmp' is not an absolute path");
}
END_TEST

START_TEST(test_config_mount_unknown_type)
{
	expect_file_error("mount-bad-type.yaml",
			  ":3:29: filesystem.mounts[0].type: invalid value 'sysfs' "
			  "(use gofer, tmpfs, proc or dev)");
}
END_TEST

START_TEST(test_config_mount_source_on_tmpfs)
{
	expect_file_error("tmpfs-source.yaml",
			  ":5:7: filesystem.mounts[0].source: not allowed for a tmpfs mount");
	expect_error("filesystem: { mounts: [{ target: /proc, type: proc, source: x }] }\n",
		     "t.yaml:1:53: filesystem.mounts[0].source: not allowed for a proc mount");
}
END_TEST

START_TEST(test_config_mount_gofer_rules)
{
	expect_error("filesystem: { mounts: [{ target: /data }] }\n",
		     "t.yaml:1:24: filesystem.mounts[0].source: missing (a gofer "
		     "mount needs a host source)");
	expect_error("filesystem: { mounts: [{ target: /d, source: /d, size: 1M }] }\n",
		     "t.yaml:1:50: filesystem.mounts[0].size: only allowed for a tmpfs mount");
}
END_TEST

/* ---- sizes --------------------------------------------------------------- */

static const struct {
	const char *text;
	int ret;
	uint64_t bytes;
} sizes[] = {
	{ "0", 0, 0 },
	{ "512", 0, 512 },
	{ "64K", 0, 64ull << 10 },
	{ "256M", 0, 256ull << 20 },
	{ "1G", 0, 1ull << 30 },
	{ "2T", 0, 2ull << 40 },
	{ "1Gi", 0, 1ull << 30 },
	{ "1GiB", 0, 1ull << 30 },
	{ "1GB", 0, 1ull << 30 },
	{ "4k", 0, 4096 },
	{ "100B", 0, 100 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "16777216T", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "M", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "1Q", -EINVAL, 0 },
	{ "1.5G", -EINVAL, 0 },
	{ " 1G", -EINVAL, 0 },
	{ "1G ", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ "1iB", -EINVAL, 0 },
	{ "1GG", -EINVAL, 0 },
};

START_TEST(test_config_parse_size_table)
{
	uint64_t v = 12345;
	int ret = config_parse_size(sizes[_i].text, &v);

	ck_assert_msg(ret == sizes[_i].ret, "'%s': got %d, want %d",
		      sizes[_i].text, ret, sizes[_i].ret);
	if (!ret)
		ck_assert_uint_eq(v, sizes[_i].bytes);
	else
		ck_assert_uint_eq(v, 12345); /* untouched on error */
}
END_TEST

/* ---- options ------------------------------------------------------------- */

START_TEST(test_config_options_values_and_marks)
{
	struct sbx_config cfg;
	struct sbx_error err = { 0 };
	const char *k, *v;
	size_t iter = 0;
	uint64_t u;

	load_ok("platform:\n"
		"  plugin: systrap\n"
		"  options:\n"
		"    spin_us: 20\n"
		"    name: \"a b\"\n"
		"    empty:\n",
		&cfg);
	ck_assert_str_eq(cfg.platform.options.file, "t.yaml");
	ck_assert_str_eq(cfg.platform.options.path, "platform.options");
	ck_assert_uint_eq(cfg.platform.options.n, 3);
	ck_assert_int_eq(cfg.platform.options.items[0].mark.line, 4);
	ck_assert_int_eq(cfg.platform.options.items[0].mark.col, 14);
	ck_assert_int_eq(cfg.platform.options.items[1].mark.line, 5);
	ck_assert_int_eq(cfg.platform.options.items[1].mark.col, 11);
	ck_assert_str_eq(options_get(&cfg.platform.options, "name"), "a b");
	ck_assert_str_eq(options_get(&cfg.platform.options, "empty"), "");
	ck_assert_ptr_null(options_get(&cfg.platform.options, "nope"));
	ck_assert_int_eq(options_u64(&cfg.platform.options, "spin_us", &u, &err), 0);
	ck_assert_uint_eq(u, 20);
	ck_assert_int_eq(options_u64(&cfg.platform.options, "nope", &u, &err), -ENOENT);
	ck_assert_int_eq(options_u64(&cfg.platform.options, "name", &u, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:5:11: platform.options.name: not an unsigned integer: 'a b'");
	ck_assert_int_eq(options_next(&cfg.platform.options, &iter, &k, &v), 1);
	ck_assert_str_eq(k, "spin_us");
	ck_assert_str_eq(v, "20");
	ck_assert_int_eq(options_next(&cfg.platform.options, &iter, &k, &v), 1);
	ck_assert_int_eq(options_next(&cfg.platform.options, &iter, &k, &v), 1);
	ck_assert_int_eq(options_next(&cfg.platform.options, &iter, &k, &v), 0);
	config_free(&cfg);

	load_ok("network: { plugin: host, options: { isolated: true } }\n", &cfg);
	ck_assert_str_eq(options_get(&cfg.network.options, "isolated"), "true");
	ck_assert_int_eq(options_error(&cfg.network.options, "isolated", &err,
				       "bad %s", "value"), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:1:47: network.options.isolated: bad value");
	config_free(&cfg);
}
END_TEST

START_TEST(test_config_options_non_scalar)
{
	expect_error("platform:\n  options:\n    cpus: [0, 1]\n",
		     "t.yaml:3:11: platform.options.cpus: expected a scalar, got a list");
	expect_error("network: { options: [a] }\n",
		     "t.yaml:1:21: network.options: expected a mapping of scalars, got a list");
	expect_error("network: { options: { a: 1, a: 2 } }\n",
		     "t.yaml:1:29: network.options.a: duplicate key");
}
END_TEST

START_TEST(test_config_options_u64_strict)
{
	struct sbx_config cfg;
	struct sbx_error err = { 0 };
	uint64_t u = 7;

	load_ok("platform: { options: { a: -5, b: \" 5\", c: +5, d: 0x10, e: \"\" } }\n",
		&cfg);
	ck_assert_int_eq(options_u64(&cfg.platform.options, "a", &u, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:1:27: platform.options.a: not an unsigned integer: '-5'");
	ck_assert_int_eq(options_u64(&cfg.platform.options, "b", &u, &err), -EINVAL);
	ck_assert_int_eq(options_u64(&cfg.platform.options, "c", &u, &err), -EINVAL);
	ck_assert_int_eq(options_u64(&cfg.platform.options, "e", &u, &err), -EINVAL);
	ck_assert_uint_eq(u, 7);
	ck_assert_int_eq(options_u64(&cfg.platform.options, "d", &u, &err), 0);
	ck_assert_uint_eq(u, 16);
	config_free(&cfg);
}
END_TEST

/* ---- freeing ------------------------------------------------------------- */

/*
 * Errors late in the walk, after strings, lists, options and mounts were
 * filled: the config comes back zeroed (valgrind run with CK_FORK=no shows
 * no leaks).
 */
START_TEST(test_config_free_after_late_errors)
{
	static const char *const texts[] = {
		"platform: { plugin: a, options: { x: 1, y: [2] } }\n",
		"platform: { plugin: a, options: { x: 1 } }\n"
		"process: { argv: [a, b], env: [A=1, B] }\n",
		"filesystem: { mounts: [ { target: /t, type: tmpfs, size: 1M },"
		" { target: /u, source: /s }, { target: /v, type: bogus } ] }\n",
		"filesystem: { mounts: [ { target: /t, source: /s }, 3 ] }\n",
		"process: { argv: [a], argv: [b] }\n",
		"plugins: { search_path: [/a, /b] }\nlimits: { memory: x }\n",
		"log: { file: /x, level: info }\nlog: {}\n",
	};
	struct sbx_config cfg;
	struct sbx_error err;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(load(texts[i], &cfg, &err), -EINVAL);
		ck_assert_msg(err.msg[0], "no message for case %zu", i);
		ck_assert(is_zeroed(&cfg));
		config_free(&cfg);
	}
}
END_TEST

START_TEST(test_config_null_error_is_allowed)
{
	struct sbx_config cfg;

	ck_assert_int_eq(config_load_string("x", "log: 1\n", 7, &cfg, NULL), -EINVAL);
	ck_assert_int_eq(config_load_file("/nonexistent/sbx.yaml", &cfg, NULL), -ENOENT);
	config_free(NULL);
}
END_TEST

/* ---- files --------------------------------------------------------------- */

START_TEST(test_config_file_not_found)
{
	struct sbx_config cfg;
	struct sbx_error err = { 0 };
	const char *path = fixture("no-such-file.yaml");
	char want[PATH_MAX + sizeof(err.msg)];

	snprintf(want, sizeof(want), "open '%s': No such file or directory", path);
	ck_assert_int_eq(config_load_file(path, &cfg, &err), -ENOENT);
	ck_assert_int_eq(err.err, ENOENT);
	ck_assert_str_eq(err.msg, want);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

START_TEST(test_config_file_is_directory)
{
	struct sbx_config cfg;
	struct sbx_error err = { 0 };

	ck_assert_int_eq(config_load_file(source_path("tests/fixtures/config"),
					  &cfg, &err), -EISDIR);
	ck_assert(strstr(err.msg, "read '") == err.msg);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

/* ---- the suite ----------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, TIMEOUT);
	suite_add_tcase(s, tc);
	return tc;
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase(s, "defaults");
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_config_empty_file_is_defaults);
	tcase_add_test(tc, test_config_empty_string_is_defaults);
	tcase_add_test(tc, test_config_null_values_are_unset);

	tc = tcase(s, "full");
	tcase_add_test(tc, test_config_full_file);

	tc = tcase(s, "shipped");
	tcase_add_test(tc, test_config_embedded_default_parses);
	tcase_add_test(tc, test_config_reference_parses);
	tcase_add_loop_test(tc, test_config_examples_parse, 0, N(examples));

	tc = tcase(s, "syntax");
	tcase_add_test(tc, test_config_syntax_error);
	tcase_add_test(tc, test_config_syntax_error_inline);
	tcase_add_test(tc, test_config_invalid_utf8);
	tcase_add_test(tc, test_config_multiple_documents);

	tc = tcase(s, "keys");
	tcase_add_test(tc, test_config_unknown_key_top);
	tcase_add_test(tc, test_config_unknown_key_nested);
	tcase_add_test(tc, test_config_duplicate_key);
	tcase_add_test(tc, test_config_top_level_not_a_map);
	tcase_add_test(tc, test_config_key_not_a_scalar);

	tc = tcase(s, "types");
	tcase_add_test(tc, test_config_wrong_type_scalar);
	tcase_add_test(tc, test_config_wrong_type_list);
	tcase_add_test(tc, test_config_wrong_type_map);

	tc = tcase(s, "values");
	tcase_add_test(tc, test_config_bad_size);
	tcase_add_test(tc, test_config_bad_bool);
	tcase_add_loop_test(tc, test_config_bool_spellings, 0, N(bools));
	tcase_add_test(tc, test_config_bad_log_level);
	tcase_add_test(tc, test_config_log_levels);
	tcase_add_test(tc, test_config_relative_cwd);
	tcase_add_test(tc, test_config_env_without_equals);
	tcase_add_test(tc, test_config_empty_argv);
	tcase_add_test(tc, test_config_integer_ranges);
	tcase_add_test(tc, test_config_bad_overlay);

	tc = tcase(s, "mounts");
	tcase_add_test(tc, test_config_mount_missing_target);
	tcase_add_test(tc, test_config_mount_unknown_type);
	tcase_add_test(tc, test_config_mount_source_on_tmpfs);
	tcase_add_test(tc, test_config_mount_gofer_rules);

	tc = tcase(s, "sizes");
	tcase_add_loop_test(tc, test_config_parse_size_table, 0, N(sizes));

	tc = tcase(s, "options");
	tcase_add_test(tc, test_config_options_values_and_marks);
	tcase_add_test(tc, test_config_options_non_scalar);
	tcase_add_test(tc, test_config_options_u64_strict);

	tc = tcase(s, "free");
	tcase_add_test(tc, test_config_free_after_late_errors);
	tcase_add_test(tc, test_config_null_error_is_allowed);

	tc = tcase(s, "files");
	tcase_add_test(tc, test_config_file_not_found);
	tcase_add_test(tc, test_config_file_is_directory);

	return s;
}
