/*
 * The sandbox's mount table from the config (vfs_init): the root (an
 * overlay over the gofer with `overlay: memory`, see overlay.c) and
 * every gofer mount through the fs plugin named by filesystem.plugin
 * (loaded here, before the core confines itself: mounting starts the
 * sbx-gofer processes), tmpfs and dev built in, plus the defaults a Linux
 * program expects: /dev (dev) and /dev/shm (tmpfs) unless configured, and
 * /proc (procfs, made from the core's own state) and an empty read-only
 * /sys (host /proc and /sys are never served: the gofer refuses them too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../plugin/loader.h"
#include "../util/log.h"
#include "procfs.h"
#include "vfs.h"

static struct plugin fs_plugin;
static struct sbx_fs *fs_inst;
static const struct sbx_fs_ops *fs_ops;

static bool configured(const struct sbx_config *cfg, const char *target)
{
	for (size_t i = 0; i < cfg->filesystem.n_mounts; i++)
		if (!strcmp(cfg->filesystem.mounts[i].target, target))
			return true;
	return false;
}

static int load_fs_plugin(const struct sbx_config *cfg,
			  const struct plugin_search_path *sp,
			  const struct sbx_services *svc, struct sbx_error *err)
{
	uint32_t major, minor;
	int r;

	if (fs_ops)
		return 0;
	plugin_core_abi(SBX_PLUGIN_FS, &major, &minor);
	r = plugin_load(sp, cfg->filesystem.plugin, SBX_PLUGIN_FS, major, minor,
			&fs_plugin, err);
	if (r)
		return r;
	fs_ops = fs_plugin.desc->ops;
	if (!SBX_OPS_HAS(fs_ops, init) || !SBX_OPS_HAS(fs_ops, mount) ||
	    !SBX_OPS_HAS(fs_ops, lookup) || !SBX_OPS_HAS(fs_ops, getattr) ||
	    !SBX_OPS_HAS(fs_ops, release)) {
		fs_ops = NULL;
		return sbx_error_set(err, EINVAL, "plugin '%s' (%s): fs ops table "
				     "lacks required operations", fs_plugin.name,
				     fs_plugin.path);
	}
	r = fs_ops->init(svc, NULL, &fs_inst);
	if (r) {
		fs_ops = NULL;
		return sbx_error_set(err, -r, "fs plugin '%s' failed to start: %s",
				     fs_plugin.name, strerror(-r));
	}
	return 0;
}

static int mount_builtin(const char *target, const char *type, bool ro,
			 uint64_t size, struct sbx_error *err)
{
	struct sbx_fs_mount_args args = { sizeof(args), "none", ro, size };
	int r;

	if (!strcmp(type, "proc")) {
		/* read-only by file modes, as Linux's (comm is writable) */
		r = vfs_mount(target, &procfs_ops, NULL, &args, type);
		if (r)
			return sbx_error_set(err, -r, "mount proc on %s: %s",
					     target, strerror(-r));
		return 0;
	}

	/* dev is a tmpfs filled before it goes read-only */
	args.readonly = strcmp(type, "dev") ? ro : false;
	r = vfs_mount(target, &tmpfs_ops, NULL, &args, type);
	if (!r && strcmp(type, "tmpfs")) {
		/* as Linux shows them: dev 0755, proc and sysfs 0555 */
		struct sbx_fs_attr a = { .size = sizeof(a),
			.mode = strcmp(type, "dev") ? 0555 : 0755 };
		struct vfs_path p;
		struct fs_context *fs = fs_context_new();

		r = fs ? vfs_walk(fs, NULL, target, WALK_FOLLOW, &p) : -ENOMEM;
		if (!r) {
			r = tmpfs_ops.setattr(p.d->node, &a, SBX_FS_ATTR_MODE);
			vfs_path_put(&p);
		}
		fs_context_put(fs);
	}
	if (!r && !strcmp(type, "dev")) {
		struct vfs_path p;
		struct fs_context *fs = fs_context_new();

		r = fs ? vfs_walk(fs, NULL, target, WALK_FOLLOW, &p) : -ENOMEM;
		if (!r) {
			r = dev_populate(p.d->node);
			p.mnt->readonly = ro;
			vfs_path_put(&p);
		}
		fs_context_put(fs);
	}
	if (r)
		return sbx_error_set(err, -r, "mount %s on %s: %s", type, target,
				     strerror(-r));
	return 0;
}

/*
 * mount_overlay_root - the root as an overlay: the gofer serves the host
 * root read-only (the gofer itself refuses every write, whatever the
 * config's readonly says), and a private tmpfs above it takes the
 * application's changes, capped by filesystem.root.overlay_size, else
 * limits.memory, else the tmpfs default.
 */
static int mount_overlay_root(const struct sbx_config *cfg,
			      const struct sbx_fs_mount_args *root)
{
	struct sbx_fs_mount_args lower = *root, upper = *root;
	struct sbx_fs_mnt *lmnt;
	struct sbx_fs_node *lroot;
	struct sbx_fs *ofs;
	int r;

	lower.readonly = true;
	r = fs_ops->mount(fs_inst, &lower, &lmnt, &lroot);
	if (r)
		return r;
	r = overlay_fs_new(fs_ops, lmnt, lroot, &ofs);
	if (r)
		goto out_umount;
	upper.readonly = false;
	upper.size_limit = cfg->filesystem.root_overlay_size
			   ? cfg->filesystem.root_overlay_size
			   : cfg->limits.memory;
	r = vfs_init_root(&overlay_ops, ofs, &upper, "overlay");
	if (r)
		goto out_umount;
	return 0;
out_umount:
	/* lroot is left alone: a failed mount may or may not have taken it,
	 * and sbxrun exits on this error anyway */
	if (SBX_OPS_HAS(fs_ops, umount))
		fs_ops->umount(lmnt);
	return r;
}

int vfs_init(const struct sbx_config *cfg, const struct plugin_search_path *sp,
	     const struct sbx_services *svc, struct sbx_error *err)
{
	struct sbx_fs_mount_args args = { sizeof(args), cfg->filesystem.root_source,
					  cfg->filesystem.root_readonly, 0 };
	int r;

	r = load_fs_plugin(cfg, sp, svc, err);
	if (r)
		return r;
	if (!strcmp(cfg->filesystem.root_overlay, "memory"))
		r = mount_overlay_root(cfg, &args);
	else
		r = vfs_init_root(fs_ops, fs_inst, &args, "gofer");
	if (r)
		return sbx_error_set(err, -r, "cannot mount the root '%s': %s",
				     args.source, strerror(-r));
	for (size_t i = 0; i < cfg->filesystem.n_mounts; i++) {
		const struct cfg_mount *m = &cfg->filesystem.mounts[i];
		static const char *const types[] = { "gofer", "tmpfs", "proc",
						     "dev" };

		if (m->type == CFG_MOUNT_GOFER) {
			args.source = m->source;
			args.readonly = m->readonly;
			args.size_limit = 0;
			r = vfs_mount(m->target, fs_ops, fs_inst, &args, "gofer");
			if (r)
				return sbx_error_set(err, -r, "%s:%d:%d: mount %s on "
					"%s: %s", cfg->file, m->mark.line,
					m->mark.col, m->source, m->target,
					strerror(-r));
			continue;
		}
		r = mount_builtin(m->target, types[m->type], m->readonly,
				  m->size, err);
		if (r)
			return r;
	}
	if (!configured(cfg, "/dev") &&
	    (r = mount_builtin("/dev", "dev", false, 0, err)))
		return r;
	if (!configured(cfg, "/dev/shm") &&
	    (r = mount_builtin("/dev/shm", "tmpfs", false, 64ULL << 20, err)))
		return r;
	if (!configured(cfg, "/proc") &&
	    (r = mount_builtin("/proc", "proc", false, 0, err)))
		return r;
	if (!configured(cfg, "/sys") &&
	    (r = mount_builtin("/sys", "sysfs", true, 0, err)))
		return r;
	return 0;
}
