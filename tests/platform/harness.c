/*
 * Platform test harness (see harness.h): a services table good enough to
 * drive a platform plugin without the core, then plugin loading.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "harness.h"

static void harness_log(int level, const char *plugin, const char *fmt, ...)
{
	va_list ap;

	if (level > SBX_LOG_WARN && !getenv("SBX_TEST_DEBUG"))
		return;
	fprintf(stderr, "# [%s] ", plugin);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *harness_option_get(const struct sbx_options *o,
				      const char *key)
{
	const char *const *kv;

	for (kv = o->kv; kv && kv[0]; kv += 2)
		if (!strcmp(kv[0], key))
			return kv[1];
	return NULL;
}

static int harness_option_u64(const struct sbx_options *o, const char *key,
			      uint64_t *out)
{
	const char *v = harness_option_get(o, key);
	char *end;

	if (!v)
		return -ENOENT;
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (errno || *end || end == v) {
		fprintf(stderr, "# options:1:1: %s: not an unsigned integer\n",
			key);
		return -EINVAL;
	}
	return 0;
}

static int harness_option_next(const struct sbx_options *o, size_t *iter,
			       const char **key, const char **value)
{
	const char *const *kv = o->kv;
	size_t i;

	for (i = 0; kv && kv[0] && i < *iter; i++)
		kv += 2;
	if (!kv || !kv[0])
		return 0;
	*key = kv[0];
	*value = kv[1];
	(*iter)++;
	return 1;
}

static int harness_option_error(const struct sbx_options *o, const char *key,
				const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "# options:1:1: %s: ", key);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

int harness_open(struct harness *h, const char *path, const char *const *kv)
{
	sbx_plugin_entry_fn entry;
	int err;

	memset(h, 0, sizeof(*h));
	h->memfd = -1;
	h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h->dl) {
		fprintf(stderr, "# dlopen %s: %s\n", path, dlerror());
		return -ELIBBAD;
	}
	entry = (sbx_plugin_entry_fn)dlsym(h->dl, SBX_PLUGIN_ENTRY_SYMBOL);
	if (!entry || !(h->desc = entry())) {
		fprintf(stderr, "# %s: no %s\n", path, SBX_PLUGIN_ENTRY_SYMBOL);
		err = -ELIBBAD;
		goto out_close;
	}
	if (h->desc->kind != SBX_PLUGIN_PLATFORM ||
	    h->desc->abi_major != SBX_PLATFORM_ABI_MAJOR ||
	    h->desc->abi_minor > SBX_PLATFORM_ABI_MINOR) {
		fprintf(stderr, "# %s: kind %u ABI %u.%u, want platform %u.%u\n",
			path, h->desc->kind, h->desc->abi_major,
			h->desc->abi_minor, SBX_PLATFORM_ABI_MAJOR,
			SBX_PLATFORM_ABI_MINOR);
		err = -ELIBBAD;
		goto out_close;
	}
	h->ops = h->desc->ops;

	h->memfd = memfd_create("sbx-test-mem", MFD_CLOEXEC);
	if (h->memfd < 0 || ftruncate(h->memfd, HARNESS_MEM_SIZE)) {
		err = -errno;
		goto out_close;
	}
	h->mem = mmap(NULL, HARNESS_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, h->memfd, 0);
	if (h->mem == MAP_FAILED) {
		err = -errno;
		goto out_close_memfd;
	}

	h->svc.size = sizeof(h->svc);
	h->svc.log = harness_log;
	h->svc.option_get = harness_option_get;
	h->svc.option_u64 = harness_option_u64;
	h->svc.option_next = harness_option_next;
	h->svc.option_error = harness_option_error;
	h->svc.memfd = h->memfd;
	h->opts.kv = kv;
	err = h->ops->init(&h->svc, &h->opts, &h->p);
	if (err)
		goto out_unmap;
	return 0;

out_unmap:
	munmap(h->mem, HARNESS_MEM_SIZE);
out_close_memfd:
	close(h->memfd);
out_close:
	dlclose(h->dl);
	memset(h, 0, sizeof(*h));
	return err;
}

void harness_close(struct harness *h)
{
	if (!h->dl)
		return;
	h->ops->fini(h->p);
	munmap(h->mem, HARNESS_MEM_SIZE);
	close(h->memfd);
	dlclose(h->dl);
	memset(h, 0, sizeof(*h));
}

void harness_regs(struct sbx_regs *r, uint64_t rip, uint64_t rsp)
{
	memset(r, 0, sizeof(*r));
	r->rip = rip;
	r->rsp = rsp;
	r->cs = 0x33;
	r->ss = 0x2b;
	r->eflags = 0x202;
}
