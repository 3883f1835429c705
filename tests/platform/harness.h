/*
 * Platform test harness: load a platform plugin by path and give it a
 * minimal services table (log to stderr, a small options map, a memory
 * file the caller can read and write through its own mapping).  Shared by
 * the conformance suite and bench/platform_roundtrip.
 */
#ifndef SBX_TESTS_PLATFORM_HARNESS_H
#define SBX_TESTS_PLATFORM_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sbx/platform.h>

#define HARNESS_MEM_SIZE (16u << 20)

struct sbx_options {
	const char *const *kv; /* key, value, ..., NULL */
};

struct harness {
	void *dl;
	const struct sbx_plugin_desc *desc;
	const struct sbx_platform_ops *ops;
	struct sbx_services svc;
	struct sbx_options opts;
	struct sbx_platform *p;
	int memfd;
	uint8_t *mem; /* the memory file, mapped here, HARNESS_MEM_SIZE */
};

/*
 * harness_open - dlopen @path, check it is a platform of our ABI, create
 * the memory file, and init the platform with @kv options (may be NULL).
 * Return: 0, or the init error (-ENODEV: host lacks support), or -ELIBBAD
 * for a bad plugin (after a message on stderr).
 */
int harness_open(struct harness *h, const char *path, const char *const *kv);
void harness_close(struct harness *h);

/* harness_regs - initial registers: rip, rsp, user selectors. */
void harness_regs(struct sbx_regs *r, uint64_t rip, uint64_t rsp);

#endif
