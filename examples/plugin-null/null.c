/*
 * The null platform: the smallest complete sbx platform plugin, built out
 * of tree against sbx-plugin.pc.  It initialises and describes itself, but
 * refuses to create address spaces or contexts, so sbxrun stops with a
 * clear message instead of running the program.
 *
 * Divided into: the plugin instance (init/fini/describe), the ops that
 * refuse, and the ops table plus the one exported symbol.
 */
#include <errno.h>
#include <stdlib.h>

#include <sbx/platform.h>
#include <sbx/plugin.h>

#define NULL_NAME "null"
#define NULL_REFUSAL \
	"the null platform cannot run programs; it shows how to build a plugin"

struct sbx_platform {
	const struct sbx_services *svc;
};

/* The core calls the ops below only after init() succeeded, from one
 * platform instance at a time; the services pointer is kept for them. */
static const struct sbx_services *null_svc;

static int null_init(const struct sbx_services *svc,
		     const struct sbx_options *opts, struct sbx_platform **out)
{
	struct sbx_platform *p;
	const char *key, *value;
	size_t it = 0;

	/* The null platform takes no options: refuse any, as plugins must. */
	if (svc->option_next(opts, &it, &key, &value))
		return svc->option_error(opts, key, "unknown option");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->svc = svc;
	null_svc = svc;
	*out = p;
	return 0;
}

static void null_fini(struct sbx_platform *p)
{
	null_svc = NULL;
	free(p);
}

static int null_describe(struct sbx_platform *p, struct sbx_platform_info *info)
{
	info->flags = 0;
	info->max_threads = 1;
	info->user_min = 0x10000;
	info->user_max = 0x7ffffffff000;
	return 0;
}

static int null_refuse(void)
{
	if (null_svc)
		null_svc->log(SBX_LOG_ERROR, NULL_NAME, "%s", NULL_REFUSAL);
	return -ENOSYS;
}

static int null_as_create(struct sbx_platform *p, struct sbx_as **out)
{
	p->svc->log(SBX_LOG_ERROR, NULL_NAME, "%s", NULL_REFUSAL);
	return -ENOSYS;
}

static int null_ctx_create(struct sbx_as *as, struct sbx_ctx **out)
{
	return null_refuse();
}

static int null_switch_to(struct sbx_ctx *ctx, struct sbx_regs *regs,
			  struct sbx_exit *exit)
{
	return null_refuse();
}

/* The rest exists so a core that expects every required op finds one; none
 * can be reached, since no address space or context is ever created. */
static int null_as_map(struct sbx_as *as, uint64_t addr, uint64_t len,
		       int prot, int fd, uint64_t offset, uint32_t flags)
{
	return null_refuse();
}

static int null_as_unmap(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	return null_refuse();
}

static int null_as_protect(struct sbx_as *as, uint64_t addr, uint64_t len,
			   int prot)
{
	return null_refuse();
}

static void null_as_destroy(struct sbx_as *as)
{
}

static int null_interrupt(struct sbx_ctx *ctx)
{
	return 0;
}

static void null_ctx_destroy(struct sbx_ctx *ctx)
{
}

static int null_ctx_get_fpstate(struct sbx_ctx *ctx, void *buf, size_t len)
{
	return null_refuse();
}

static int null_ctx_set_fpstate(struct sbx_ctx *ctx, const void *buf,
				size_t len)
{
	return null_refuse();
}

static int null_ctl(struct sbx_platform *p, int op, void *arg)
{
	return -ENOTTY;
}

static const struct sbx_platform_ops null_ops = {
	.size = sizeof(null_ops),
	.init = null_init,
	.fini = null_fini,
	.describe = null_describe,
	.seccomp_rules = NULL, /* needs no host calls of its own */
	.as_create = null_as_create,
	.as_map = null_as_map,
	.as_unmap = null_as_unmap,
	.as_protect = null_as_protect,
	.as_destroy = null_as_destroy,
	.ctx_create = null_ctx_create,
	.switch_to = null_switch_to,
	.interrupt = null_interrupt,
	.ctx_destroy = null_ctx_destroy,
	.ctx_get_fpstate = null_ctx_get_fpstate,
	.ctx_set_fpstate = null_ctx_set_fpstate,
	.ctl = null_ctl,
};

static const struct sbx_plugin_desc null_desc = {
	.size = sizeof(null_desc),
	.kind = SBX_PLUGIN_PLATFORM,
	.abi_major = SBX_PLATFORM_ABI_MAJOR,
	.abi_minor = SBX_PLATFORM_ABI_MINOR,
	.name = NULL_NAME,
	.description = "example out-of-tree platform; cannot run programs",
	.ops = &null_ops,
};

SBX_EXPORT const struct sbx_plugin_desc *sbx_plugin_entry(void)
{
	return &null_desc;
}
