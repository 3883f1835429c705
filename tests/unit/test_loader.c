/*
 * Tests for core/plugin: manifest parsing, the search path, listing,
 * loading (by name and by path) with every error class, the exported symbol
 * list of a plugin, and the services table.
 *
 * Fixture plugins and their generated manifests are in
 * $SBX_BUILD_ROOT/tests/fixtures/plugins; broken and extra manifests are in
 * $SBX_SOURCE_ROOT/tests/fixtures/plugins/{bad,extra}.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sbx/fs.h>
#include <sbx/net.h>
#include <sbx/platform.h>
#include <sbx/plugin.h>

#include "config.h"
#include "core/config/config.h"
#include "core/plugin/loader.h"
#include "core/plugin/services.h"
#include "core/util/log.h"
#include "runner.h"

#define TIMEOUT 10

static char build_dir[PATH_MAX];  /* fixture .so files + manifests */
static char bad_dir[PATH_MAX];	  /* broken manifests */
static char extra_dir[PATH_MAX];  /* shadowing and odd manifests */

static void paths_setup(void)
{
	const char *b = getenv("SBX_BUILD_ROOT");
	const char *s = getenv("SBX_SOURCE_ROOT");
	char tmp[PATH_MAX];

	ck_assert_msg(b && s, "SBX_BUILD_ROOT and SBX_SOURCE_ROOT must be set");
	snprintf(tmp, sizeof(tmp), "%s/tests/fixtures/plugins", b);
	ck_assert_ptr_nonnull(realpath(tmp, build_dir));
	snprintf(tmp, sizeof(tmp), "%s/tests/fixtures/plugins/bad", s);
	ck_assert_ptr_nonnull(realpath(tmp, bad_dir));
	snprintf(tmp, sizeof(tmp), "%s/tests/fixtures/plugins/extra", s);
	ck_assert_ptr_nonnull(realpath(tmp, extra_dir));
	unsetenv("SBX_PLUGIN_PATH");
}

static char *join(const char *dir, const char *file)
{
	static char buf[4][2 * PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, file);
	return buf[i];
}

/* A search path of exactly these dirs (no env, no installed dir). */
static void sp_of(struct plugin_search_path *sp, char **dirs, size_t n)
{
	sp->dirs = dirs;
	sp->n = n;
}

/* Log capture: the core log goes to a pipe we read back. */
static int log_pipe[2] = { -1, -1 };

static void log_capture(void)
{
	ck_assert_int_eq(pipe2(log_pipe, O_NONBLOCK), 0);
	log_set_fd(log_pipe[1]);
	sbx_log_level = SBX_LOG_DEBUG;
}

static const char *log_read(void)
{
	static char buf[65536];
	ssize_t n = read(log_pipe[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void load_ok(const char *what, int kind, struct plugin *p)
{
	struct plugin_search_path sp;
	struct sbx_error err = { 0 };
	char *dirs[] = { build_dir };
	uint32_t major, minor;

	sp_of(&sp, dirs, 1);
	ck_assert_int_eq(plugin_core_abi(kind, &major, &minor), 0);
	ck_assert_msg(plugin_load(&sp, what, kind, major, minor, p, &err) == 0,
		      "load %s: %s", what, err.msg);
}

/* load_err - load must fail with -@want; returns the message. */
static const char *load_err(char **dirs, size_t n, const char *what,
			    int kind, int want)
{
	static struct sbx_error err;
	struct plugin_search_path sp;
	struct plugin p;
	uint32_t major, minor;
	int r;

	sp_of(&sp, dirs, n);
	ck_assert_int_eq(plugin_core_abi(kind, &major, &minor), 0);
	memset(&err, 0, sizeof(err));
	r = plugin_load(&sp, what, kind, major, minor, &p, &err);
	ck_assert_msg(r == -want, "load %s: got %d (%s), want %d", what, r,
		      err.msg, -want);
	ck_assert_int_eq(err.err, want);
	ck_assert_ptr_null(p.handle);
	ck_assert_ptr_null(p.path);
	return err.msg;
}

#define ck_assert_contains(hay, needle)                                     \
	ck_assert_msg(strstr((hay), (needle)) != NULL,                      \
		      "'%s' does not contain '%s'", (hay), (needle))

/* ---- manifests -------------------------------------------------------- */

START_TEST(test_loader_manifest_good)
{
	struct plugin_manifest m;
	struct sbx_error err = { 0 };

	ck_assert_int_eq(plugin_manifest_parse(join(build_dir, "good.ini"), &m,
					       &err), 0);
	ck_assert_str_eq(m.name, "good");
	ck_assert_int_eq(m.kind, SBX_PLUGIN_PLATFORM);
	ck_assert_uint_eq(m.abi_major, SBX_PLATFORM_ABI_MAJOR);
	ck_assert_uint_eq(m.abi_minor, SBX_PLATFORM_ABI_MINOR);
	ck_assert_str_eq(m.library, join(build_dir, "good.so"));
	ck_assert_str_eq(m.description, "loader test fixture: good");
	ck_assert_str_eq(m.path, join(build_dir, "good.ini"));
	plugin_manifest_free(&m);
	ck_assert_ptr_null(m.name);
}
END_TEST

START_TEST(test_loader_manifest_relative_path_resolves_library)
{
	struct plugin_manifest m;
	struct sbx_error err = { 0 };

	ck_assert_int_eq(chdir(build_dir), 0);
	ck_assert_int_eq(plugin_manifest_parse("good.ini", &m, &err), 0);
	ck_assert_str_eq(m.library, join(build_dir, "good.so"));
	plugin_manifest_free(&m);
	ck_assert_int_eq(chdir(".."), 0);
	ck_assert_int_eq(plugin_manifest_parse("plugins/good.ini", &m, &err),
			 0);
	ck_assert_str_eq(m.library, join(build_dir, "good.so"));
	plugin_manifest_free(&m);
}
END_TEST

static const struct {
	const char *file;
	int line;
	const char *msg;
} bad_manifests[] = {
	{ "missing-key.ini", 2, "missing required key 'library'" },
	{ "bad-kind.ini", 3, "kind: 'gpu' is not platform, fs or net" },
	{ "bad-abi.ini", 4, "abi: '1.x' is not MAJOR.MINOR" },
	{ "unknown-key.ini", 6, "unknown key 'colour' in [plugin]" },
	{ "unknown-section.ini", 7, "unknown section [extra]" },
	{ "duplicate-key.ini", 4, "duplicate key 'name'" },
	{ "syntax.ini", 1, "syntax error" },
};

START_TEST(test_loader_manifest_bad_names_file_and_line)
{
	struct plugin_manifest m;
	struct sbx_error err = { 0 };
	char want[PATH_MAX + 64];
	const char *path = join(bad_dir, bad_manifests[_i].file);

	ck_assert_int_eq(plugin_manifest_parse(path, &m, &err), -EINVAL);
	ck_assert_int_eq(err.err, EINVAL);
	snprintf(want, sizeof(want), "%s:%d: ", path, bad_manifests[_i].line);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0,
		      "'%s' does not start with '%s'", err.msg, want);
	ck_assert_contains(err.msg, bad_manifests[_i].msg);
	ck_assert_ptr_null(m.name);
	ck_assert_ptr_null(m.library);
}
END_TEST

START_TEST(test_loader_manifest_missing_file)
{
	struct plugin_manifest m;
	struct sbx_error err = { 0 };

	ck_assert_int_eq(plugin_manifest_parse(join(bad_dir, "nope.ini"), &m,
					       &err), -ENOENT);
	ck_assert_contains(err.msg, "nope.ini");
}
END_TEST

/* ---- search path ------------------------------------------------------ */

START_TEST(test_loader_search_path_order)
{
	struct plugin_search_path sp;
	char *cfg[] = { "/cfg/a", "/cfg/b" };
	size_t i = 0;

	setenv("SBX_PLUGIN_PATH", "/env/a::/env/b:/cfg/a:", 1);
	ck_assert_int_eq(plugin_search_path_build(&sp, cfg, 2), 0);
	ck_assert_uint_ge(sp.n, 5);
	ck_assert_str_eq(sp.dirs[i++], "/cfg/a");
	ck_assert_str_eq(sp.dirs[i++], "/cfg/b");
	ck_assert_str_eq(sp.dirs[i++], "/env/a");
	ck_assert_str_eq(sp.dirs[i++], "/env/b");
	/* The test runs from the build tree, so its plugin dirs come next. */
	ck_assert_str_eq(sp.dirs[i], SBX_BUILD_ROOT "/plugins/platform-ptrace");
	ck_assert_str_eq(sp.dirs[sp.n - 1], SBX_PLUGINDIR);
	plugin_search_path_free(&sp);
	ck_assert_ptr_null(sp.dirs);
	ck_assert_uint_eq(sp.n, 0);
}
END_TEST

START_TEST(test_loader_search_path_no_config_no_env)
{
	struct plugin_search_path sp;

	ck_assert_int_eq(plugin_search_path_build(&sp, NULL, 0), 0);
	ck_assert_uint_ge(sp.n, 1);
	ck_assert_str_eq(sp.dirs[sp.n - 1], SBX_PLUGINDIR);
	plugin_search_path_free(&sp);
}
END_TEST

START_TEST(test_loader_search_path_config_before_env)
{
	struct plugin_search_path sp;
	struct plugin p;
	struct sbx_error err = { 0 };
	char *cfg[] = { extra_dir };

	/* "good" is in both; the config dir's copy (not an ELF) must win. */
	setenv("SBX_PLUGIN_PATH", build_dir, 1);
	ck_assert_int_eq(plugin_search_path_build(&sp, cfg, 1), 0);
	ck_assert_int_eq(plugin_load(&sp, "good", SBX_PLUGIN_PLATFORM,
				     SBX_PLATFORM_ABI_MAJOR,
				     SBX_PLATFORM_ABI_MINOR, &p, &err),
			 -ENOEXEC);
	ck_assert_contains(err.msg, join(extra_dir, "notelf.so"));
	plugin_search_path_free(&sp);

	ck_assert_int_eq(plugin_search_path_build(&sp, NULL, 0), 0);
	ck_assert_int_eq(plugin_load(&sp, "good", SBX_PLUGIN_PLATFORM,
				     SBX_PLATFORM_ABI_MAJOR,
				     SBX_PLATFORM_ABI_MINOR, &p, &err), 0);
	ck_assert_str_eq(p.path, join(build_dir, "good.so"));
	plugin_unload(&p);
	plugin_search_path_free(&sp);
}
END_TEST

/* ---- listing ---------------------------------------------------------- */

static const char *const list_names[] = {
	"abi99", "alpha", "good", "newminor", "noentry", "noops", "notelf",
	"nulldesc", "smallops", "wrongkind",
};
#define N_LIST (sizeof(list_names) / sizeof(list_names[0]))

START_TEST(test_loader_list_sorted_first_wins_bad_skipped)
{
	struct plugin_search_path sp;
	struct plugin_manifest *v;
	char *dirs[] = { build_dir, bad_dir, extra_dir, "/nonexistent" };
	const char *log;
	size_t n;

	log_capture();
	sp_of(&sp, dirs, 4);
	ck_assert_int_eq(plugin_list(&sp, &v, &n), 0);
	ck_assert_uint_eq(n, N_LIST);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(v[i].name, list_names[i]);
	/* good: the build dir came first, so its manifest wins. */
	ck_assert_str_eq(v[2].library, join(build_dir, "good.so"));
	ck_assert_int_eq(v[1].kind, SBX_PLUGIN_NET);
	plugin_list_free(v, n);

	/* Each bad manifest was reported with its file and line. */
	log = log_read();
	for (size_t i = 0; i < sizeof(bad_manifests) / sizeof(bad_manifests[0]);
	     i++) {
		char want[PATH_MAX + 16];

		snprintf(want, sizeof(want), "%s:%d: ",
			 join(bad_dir, bad_manifests[i].file),
			 bad_manifests[i].line);
		ck_assert_contains(log, want);
	}
}
END_TEST

START_TEST(test_loader_list_other_order_other_winner)
{
	struct plugin_search_path sp;
	struct plugin_manifest *v;
	char *dirs[] = { extra_dir, build_dir };
	size_t n;

	sp_of(&sp, dirs, 2);
	ck_assert_int_eq(plugin_list(&sp, &v, &n), 0);
	ck_assert_uint_eq(n, N_LIST);
	ck_assert_str_eq(v[2].name, "good");
	ck_assert_str_eq(v[2].library, join(extra_dir, "notelf.so"));
	plugin_list_free(v, n);
}
END_TEST

START_TEST(test_loader_list_empty)
{
	struct plugin_search_path sp;
	struct plugin_manifest *v = (void *)1;
	char *dirs[] = { "/nonexistent" };
	size_t n = 1;

	sp_of(&sp, dirs, 1);
	ck_assert_int_eq(plugin_list(&sp, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	plugin_list_free(v, n);
}
END_TEST

/* ---- loading ---------------------------------------------------------- */

START_TEST(test_loader_load_by_name)
{
	struct plugin p;
	const struct sbx_platform_ops *ops;

	load_ok("good", SBX_PLUGIN_PLATFORM, &p);
	ck_assert_ptr_nonnull(p.handle);
	ck_assert_str_eq(p.name, "good");
	ck_assert_str_eq(p.path, join(build_dir, "good.so"));
	ck_assert_uint_eq(p.desc->kind, SBX_PLUGIN_PLATFORM);
	ck_assert_str_eq(p.desc->name, "good");
	ops = p.desc->ops;
	ck_assert_uint_eq(ops->size, sizeof(*ops));
	ck_assert(SBX_OPS_HAS(ops, init));
	ck_assert(!SBX_OPS_HAS(ops, as_create));
	plugin_unload(&p);
	ck_assert_ptr_null(p.handle);
	ck_assert_ptr_null(p.name);
	plugin_unload(&p); /* unloading a zeroed plugin is harmless */
}
END_TEST

START_TEST(test_loader_load_by_path)
{
	struct plugin p;
	char rel[PATH_MAX];

	load_ok(join(build_dir, "good.so"), SBX_PLUGIN_PLATFORM, &p);
	ck_assert_str_eq(p.name, "good");
	ck_assert_str_eq(p.path, join(build_dir, "good.so"));
	plugin_unload(&p);

	/* A bare "x.so" is a path relative to the cwd, not a dlopen search. */
	ck_assert_int_eq(chdir(build_dir), 0);
	load_ok("good.so", SBX_PLUGIN_PLATFORM, &p);
	ck_assert_str_eq(p.path, join(build_dir, "good.so"));
	plugin_unload(&p);
	snprintf(rel, sizeof(rel), "../plugins/good.so");
	load_ok(rel, SBX_PLUGIN_PLATFORM, &p);
	plugin_unload(&p);
}
END_TEST

START_TEST(test_loader_load_not_found_lists_search_path)
{
	char *dirs[] = { build_dir, "/nonexistent/x" };
	const char *msg;
	char want[2 * PATH_MAX];

	msg = load_err(dirs, 2, "foo", SBX_PLUGIN_PLATFORM, ENOENT);
	snprintf(want, sizeof(want),
		 "plugin 'foo' not found (kind platform); searched: %s, %s",
		 build_dir, "/nonexistent/x");
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_loader_load_manifest_wrong_kind)
{
	char *dirs[] = { extra_dir };
	const char *msg;
	char want[2 * PATH_MAX];

	msg = load_err(dirs, 1, "alpha", SBX_PLUGIN_PLATFORM, EINVAL);
	snprintf(want, sizeof(want),
		 "plugin 'alpha' (%s) is a net plugin, expected platform",
		 join(extra_dir, "alpha.ini"));
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_loader_load_descriptor_wrong_kind)
{
	char *dirs[] = { build_dir };
	const char *msg;
	char want[2 * PATH_MAX];

	snprintf(want, sizeof(want),
		 "plugin 'wrongkind' (%s) is a fs plugin, expected platform",
		 join(build_dir, "wrongkind.so"));
	msg = load_err(dirs, 1, "wrongkind", SBX_PLUGIN_PLATFORM, EINVAL);
	ck_assert_str_eq(msg, want);
	msg = load_err(dirs, 1, join(build_dir, "wrongkind.so"),
		       SBX_PLUGIN_PLATFORM, EINVAL);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_loader_load_abi_major_mismatch)
{
	char *dirs[] = { build_dir };
	const char *msg;
	char want[2 * PATH_MAX];

	snprintf(want, sizeof(want),
		 "plugin 'abi99' (%s): platform ABI 99.0 is not supported by this sbx (platform ABI %d.%d)",
		 join(build_dir, "abi99.so"), SBX_PLATFORM_ABI_MAJOR,
		 SBX_PLATFORM_ABI_MINOR);
	msg = load_err(dirs, 1, "abi99", SBX_PLUGIN_PLATFORM, EPROTONOSUPPORT);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_loader_load_abi_newer_minor)
{
	char *dirs[] = { build_dir };
	const char *msg;
	char want[2 * PATH_MAX];

	snprintf(want, sizeof(want),
		 "plugin 'newminor' (%s): needs platform ABI %d.%d, but this sbx has platform ABI %d.%d",
		 join(build_dir, "newminor.so"), SBX_PLATFORM_ABI_MAJOR,
		 SBX_PLATFORM_ABI_MINOR + 3, SBX_PLATFORM_ABI_MAJOR,
		 SBX_PLATFORM_ABI_MINOR);
	msg = load_err(dirs, 1, "newminor", SBX_PLUGIN_PLATFORM,
		       EPROTONOSUPPORT);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_loader_load_older_minor_accepted)
{
	struct plugin_search_path sp;
	struct plugin p;
	struct sbx_error err = { 0 };
	char *dirs[] = { build_dir };

	/* A core with a newer minor still takes the plugin. */
	sp_of(&sp, dirs, 1);
	ck_assert_int_eq(plugin_load(&sp, "good", SBX_PLUGIN_PLATFORM,
				     SBX_PLATFORM_ABI_MAJOR,
				     SBX_PLATFORM_ABI_MINOR + 5, &p, &err), 0);
	plugin_unload(&p);
}
END_TEST

START_TEST(test_loader_load_no_entry_symbol)
{
	char *dirs[] = { build_dir };
	const char *msg;
	char want[2 * PATH_MAX];

	snprintf(want, sizeof(want),
		 "plugin 'noentry' (%s): no sbx_plugin_entry symbol: ",
		 join(build_dir, "noentry.so"));
	msg = load_err(dirs, 1, "noentry", SBX_PLUGIN_PLATFORM, ENOEXEC);
	ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "got '%s'", msg);
	ck_assert_contains(msg, "undefined symbol");
}
END_TEST

static const struct {
	const char *name;
	const char *msg;
} bad_descs[] = {
	{ "nulldesc", "sbx_plugin_entry() returned NULL" },
	{ "noops", "descriptor has no ops table" },
	{ "smallops", "ops table size 8 is too small" },
};

START_TEST(test_loader_load_bad_descriptor)
{
	char *dirs[] = { build_dir };
	char so[PATH_MAX], want[2 * PATH_MAX];
	const char *msg;

	snprintf(so, sizeof(so), "%s.so", bad_descs[_i].name);
	snprintf(want, sizeof(want), "plugin '%s' (%s): %s", bad_descs[_i].name,
		 join(build_dir, so), bad_descs[_i].msg);
	msg = load_err(dirs, 1, bad_descs[_i].name, SBX_PLUGIN_PLATFORM, EINVAL);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_loader_load_dlopen_failure)
{
	char *dirs[] = { extra_dir };
	const char *msg;
	char want[2 * PATH_MAX];

	snprintf(want, sizeof(want), "cannot load plugin 'notelf' (%s): ",
		 join(extra_dir, "notelf.so"));
	msg = load_err(dirs, 1, "notelf", SBX_PLUGIN_PLATFORM, ENOEXEC);
	ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "got '%s'", msg);
	/* The dlerror() text follows. */
	ck_assert_uint_gt(strlen(msg), strlen(want));
	ck_assert_contains(msg, "notelf.so");
}
END_TEST

START_TEST(test_loader_load_missing_path)
{
	const char *msg;

	msg = load_err(NULL, 0, "/nonexistent/dir/x.so", SBX_PLUGIN_PLATFORM,
		       ENOENT);
	ck_assert_str_eq(msg,
			 "cannot load plugin 'x' (/nonexistent/dir/x.so): No such file or directory");
}
END_TEST

START_TEST(test_loader_load_manifest_library_missing)
{
	char *dirs[] = { extra_dir };
	struct plugin_search_path sp;
	struct plugin p;
	struct sbx_error err = { 0 };

	sp_of(&sp, dirs, 1);
	ck_assert_int_eq(plugin_load(&sp, "alpha", SBX_PLUGIN_NET,
				     SBX_NET_ABI_MAJOR, SBX_NET_ABI_MINOR, &p,
				     &err), -ENOEXEC);
	ck_assert_contains(err.msg,
			   "cannot load plugin 'alpha' (/nonexistent/alpha.so): ");
}
END_TEST

START_TEST(test_loader_core_abi_from_headers)
{
	uint32_t major, minor;

	ck_assert_int_eq(plugin_core_abi(SBX_PLUGIN_PLATFORM, &major, &minor), 0);
	ck_assert_uint_eq(major, SBX_PLATFORM_ABI_MAJOR);
	ck_assert_uint_eq(minor, SBX_PLATFORM_ABI_MINOR);
	ck_assert_int_eq(plugin_core_abi(SBX_PLUGIN_FS, &major, &minor), 0);
	ck_assert_uint_eq(major, SBX_FS_ABI_MAJOR);
	ck_assert_uint_eq(minor, SBX_FS_ABI_MINOR);
	ck_assert_int_eq(plugin_core_abi(SBX_PLUGIN_NET, &major, &minor), 0);
	ck_assert_uint_eq(major, SBX_NET_ABI_MAJOR);
	ck_assert_uint_eq(minor, SBX_NET_ABI_MINOR);
	ck_assert_int_eq(plugin_core_abi(7, &major, &minor), -EINVAL);
	ck_assert_str_eq(plugin_kind_name(SBX_PLUGIN_FS), "fs");
	ck_assert_int_eq(plugin_kind_parse("net"), SBX_PLUGIN_NET);
	ck_assert_int_eq(plugin_kind_parse("gpu"), -EINVAL);
}
END_TEST

/* ---- exported symbols ------------------------------------------------- */

/*
 * dynsym_defined - the names of the defined symbols in @path's .dynsym,
 * comma separated in @out.  Reads the ELF section headers directly.
 */
static int dynsym_defined(const char *path, char *out, size_t size)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const unsigned char *base;
	struct stat st;
	size_t used = 0;
	int fd, found = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	close(fd);
	eh = (const void *)base;
	ck_assert_int_eq(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
	ck_assert_int_eq(eh->e_ident[EI_CLASS], ELFCLASS64);
	sh = (const void *)(base + eh->e_shoff);
	out[0] = '\0';
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *str;
		size_t nsym;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		found = 1;
		sym = (const void *)(base + sh[i].sh_offset);
		nsym = sh[i].sh_size / sizeof(*sym);
		str = (const char *)(base + sh[sh[i].sh_link].sh_offset);
		for (size_t j = 0; j < nsym; j++) {
			if (sym[j].st_shndx == SHN_UNDEF ||
			    ELF64_ST_TYPE(sym[j].st_info) == STT_SECTION)
				continue;
			used += (size_t)snprintf(out + used, size - used,
						 "%s%s", used ? "," : "",
						 str + sym[j].st_name);
			ck_assert_uint_lt(used, size);
		}
	}
	munmap((void *)base, (size_t)st.st_size);
	return found;
}

START_TEST(test_loader_fixture_exports_only_entry)
{
	char syms[4096];

	ck_assert(dynsym_defined(join(build_dir, "good.so"), syms,
				 sizeof(syms)));
	ck_assert_str_eq(syms, "sbx_plugin_entry");
}
END_TEST

START_TEST(test_loader_fixture_exports_match_nm)
{
	char cmd[PATH_MAX + 64], line[512], names[4096] = "";
	size_t used = 0;
	FILE *f;

	/* Cross-check the ELF reader with binutils when nm is installed. */
	if (system("nm --version >/dev/null 2>&1") != 0)
		return;
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'",
		 join(build_dir, "good.so"));
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char *sym = strrchr(line, ' ');

		ck_assert_ptr_nonnull(sym);
		sym[strcspn(sym, "\n")] = '\0';
		used += (size_t)snprintf(names + used, sizeof(names) - used,
					 "%s%s", used ? "," : "", sym + 1);
	}
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_str_eq(names, "sbx_plugin_entry");
}
END_TEST

/* ---- services --------------------------------------------------------- */

static struct cfg_kv svc_items[] = {
	{ .key = "spin_us", .value = "20", .mark = { 3, 14 } },
	{ .key = "hex", .value = "0x10", .mark = { 4, 10 } },
	{ .key = "bad", .value = "twelve", .mark = { 5, 10 } },
	{ .key = "neg", .value = "-1", .mark = { 6, 10 } },
};

static const struct sbx_options svc_opts = {
	.file = "sandbox.yaml",
	.path = "platform.options",
	.items = svc_items,
	.n = sizeof(svc_items) / sizeof(svc_items[0]),
};

START_TEST(test_loader_services_table)
{
	struct sbx_services svc;

	memset(&svc, 0xaa, sizeof(svc));
	services_init(&svc, 42);
	ck_assert_uint_eq(svc.size, sizeof(svc));
	ck_assert_int_eq(svc.memfd, 42);
	ck_assert_ptr_nonnull(svc.log);
	ck_assert_ptr_nonnull(svc.option_get);
	ck_assert_ptr_nonnull(svc.option_u64);
	ck_assert_ptr_nonnull(svc.option_next);
	ck_assert_ptr_nonnull(svc.option_error);
}
END_TEST

START_TEST(test_loader_services_option_get_next)
{
	struct sbx_services svc;
	const char *k, *v;
	size_t it = 0, n = 0;

	services_init(&svc, -1);
	ck_assert_str_eq(svc.option_get(&svc_opts, "spin_us"), "20");
	ck_assert_ptr_null(svc.option_get(&svc_opts, "nope"));
	ck_assert_ptr_null(svc.option_get(NULL, "spin_us"));
	while (svc.option_next(&svc_opts, &it, &k, &v)) {
		ck_assert_str_eq(k, svc_items[n].key);
		ck_assert_str_eq(v, svc_items[n].value);
		n++;
	}
	ck_assert_uint_eq(n, svc_opts.n);
	it = 0;
	ck_assert_int_eq(svc.option_next(NULL, &it, &k, &v), 0);
}
END_TEST

START_TEST(test_loader_services_option_u64)
{
	struct sbx_services svc;
	uint64_t x = 7;
	const char *log;

	log_capture();
	services_init(&svc, -1);
	ck_assert_int_eq(svc.option_u64(&svc_opts, "spin_us", &x), 0);
	ck_assert_uint_eq(x, 20);
	ck_assert_int_eq(svc.option_u64(&svc_opts, "hex", &x), 0);
	ck_assert_uint_eq(x, 16);
	x = 7;
	ck_assert_int_eq(svc.option_u64(&svc_opts, "unset", &x), -ENOENT);
	ck_assert_uint_eq(x, 7);
	ck_assert_str_eq(log_read(), "");
	ck_assert_int_eq(svc.option_u64(&svc_opts, "bad", &x), -EINVAL);
	ck_assert_uint_eq(x, 7);
	log = log_read();
	ck_assert_contains(log, "error: sandbox.yaml:5:10: platform.options.bad: ");
	ck_assert_contains(log, "not an unsigned integer");
	ck_assert_int_eq(svc.option_u64(&svc_opts, "neg", &x), -EINVAL);
	ck_assert_contains(log_read(), "sandbox.yaml:6:10: platform.options.neg");
}
END_TEST

START_TEST(test_loader_services_option_error)
{
	struct sbx_services svc;

	log_capture();
	services_init(&svc, -1);
	ck_assert_int_eq(svc.option_error(&svc_opts, "spin_us",
					  "must be below %d", 10), -EINVAL);
	ck_assert_contains(log_read(),
			   "error: sandbox.yaml:3:14: platform.options.spin_us: must be below 10\n");
}
END_TEST

START_TEST(test_loader_services_log_names_plugin)
{
	struct sbx_services svc;

	log_capture();
	services_init(&svc, -1);
	svc.log(SBX_LOG_WARN, "null", "cannot %s", "run");
	ck_assert_str_eq(log_read(), "sbx: null: warn: cannot run\n");
	sbx_log_level = SBX_LOG_ERROR;
	svc.log(SBX_LOG_INFO, "null", "dropped");
	ck_assert_str_eq(log_read(), "");
}
END_TEST

static TCase *tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, paths_setup, NULL);
	tcase_set_timeout(tc, TIMEOUT);
	return tc;
}

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc;

	tc = tcase("manifest");
	tcase_add_test(tc, test_loader_manifest_good);
	tcase_add_test(tc, test_loader_manifest_relative_path_resolves_library);
	tcase_add_loop_test(tc, test_loader_manifest_bad_names_file_and_line, 0,
			    sizeof(bad_manifests) / sizeof(bad_manifests[0]));
	tcase_add_test(tc, test_loader_manifest_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase("search_path");
	tcase_add_test(tc, test_loader_search_path_order);
	tcase_add_test(tc, test_loader_search_path_no_config_no_env);
	tcase_add_test(tc, test_loader_search_path_config_before_env);
	suite_add_tcase(s, tc);

	tc = tcase("list");
	tcase_add_test(tc, test_loader_list_sorted_first_wins_bad_skipped);
	tcase_add_test(tc, test_loader_list_other_order_other_winner);
	tcase_add_test(tc, test_loader_list_empty);
	suite_add_tcase(s, tc);

	tc = tcase("load");
	tcase_add_test(tc, test_loader_load_by_name);
	tcase_add_test(tc, test_loader_load_by_path);
	tcase_add_test(tc, test_loader_load_not_found_lists_search_path);
	tcase_add_test(tc, test_loader_load_manifest_wrong_kind);
	tcase_add_test(tc, test_loader_load_descriptor_wrong_kind);
	tcase_add_test(tc, test_loader_load_abi_major_mismatch);
	tcase_add_test(tc, test_loader_load_abi_newer_minor);
	tcase_add_test(tc, test_loader_load_older_minor_accepted);
	tcase_add_test(tc, test_loader_load_no_entry_symbol);
	tcase_add_loop_test(tc, test_loader_load_bad_descriptor, 0,
			    sizeof(bad_descs) / sizeof(bad_descs[0]));
	tcase_add_test(tc, test_loader_load_dlopen_failure);
	tcase_add_test(tc, test_loader_load_missing_path);
	tcase_add_test(tc, test_loader_load_manifest_library_missing);
	tcase_add_test(tc, test_loader_core_abi_from_headers);
	suite_add_tcase(s, tc);

	tc = tcase("exports");
	tcase_add_test(tc, test_loader_fixture_exports_only_entry);
	tcase_add_test(tc, test_loader_fixture_exports_match_nm);
	suite_add_tcase(s, tc);

	tc = tcase("services");
	tcase_add_test(tc, test_loader_services_table);
	tcase_add_test(tc, test_loader_services_option_get_next);
	tcase_add_test(tc, test_loader_services_option_u64);
	tcase_add_test(tc, test_loader_services_option_error);
	tcase_add_test(tc, test_loader_services_log_names_plugin);
	suite_add_tcase(s, tc);

	return s;
}
