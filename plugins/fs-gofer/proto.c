/*
 * The gofer protocol codec (see proto.h): bounds-checked builders and
 * parsers with a sticky error, shared by the plugin, sbx-gofer and the
 * unit tests (tests/unit/test_gofer_proto.c feeds it malformed messages).
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

void gofer_begin(struct gofer_buf *b, unsigned char *mem, size_t cap,
		 uint16_t op, uint32_t tag, int32_t err)
{
	struct gofer_hdr h = { 0, GOFER_VERSION, op, tag, err };

	b->p = mem;
	b->cap = cap;
	b->len = 0;
	b->at = 0;
	b->err = 0;
	gofer_put_bytes(b, &h, sizeof(h));
}

void gofer_put_bytes(struct gofer_buf *b, const void *p, size_t n)
{
	if (b->err || n > b->cap - b->len) {
		b->err = -EPROTO;
		return;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void gofer_put_u32(struct gofer_buf *b, uint32_t v)
{
	gofer_put_bytes(b, &v, 4);
}

void gofer_put_u64(struct gofer_buf *b, uint64_t v)
{
	gofer_put_bytes(b, &v, 8);
}

void gofer_put_str(struct gofer_buf *b, const char *s, size_t n)
{
	uint16_t l = (uint16_t)n;

	if (n > 0xffff) {
		b->err = -EPROTO;
		return;
	}
	gofer_put_bytes(b, &l, 2);
	gofer_put_bytes(b, s, n);
}

int gofer_end(struct gofer_buf *b)
{
	uint32_t len = (uint32_t)b->len;

	if (b->err)
		return b->err;
	if (b->len > GOFER_MAX_MSG)
		return -EPROTO;
	memcpy(b->p, &len, 4);
	return (int)b->len;
}

int gofer_parse(struct gofer_buf *b, const unsigned char *mem, size_t len,
		struct gofer_hdr *h)
{
	b->p = (unsigned char *)mem;
	b->len = len;
	b->cap = len;
	b->at = 0;
	b->err = 0;
	if (len < sizeof(*h) || len > GOFER_MAX_MSG)
		return b->err = -EPROTO;
	memcpy(h, mem, sizeof(*h));
	b->at = sizeof(*h);
	if (h->len != len || h->version != GOFER_VERSION || h->op == 0 ||
	    h->op >= GOFER_OP_MAX || h->err < 0 || h->err > 4095)
		return b->err = -EPROTO;
	return 0;
}

void gofer_get_bytes(struct gofer_buf *b, void *p, size_t n)
{
	if (b->err || n > b->len - b->at) {
		b->err = -EPROTO;
		memset(p, 0, n);
		return;
	}
	memcpy(p, b->p + b->at, n);
	b->at += n;
}

uint32_t gofer_get_u32(struct gofer_buf *b)
{
	uint32_t v;

	gofer_get_bytes(b, &v, 4);
	return v;
}

uint64_t gofer_get_u64(struct gofer_buf *b)
{
	uint64_t v;

	gofer_get_bytes(b, &v, 8);
	return v;
}

static size_t get_str(struct gofer_buf *b, char *out, size_t max)
{
	uint16_t l;

	out[0] = 0;
	gofer_get_bytes(b, &l, 2);
	if (b->err)
		return 0;
	if (l == 0 || l > max || l > b->len - b->at) {
		b->err = -EPROTO;
		return 0;
	}
	memcpy(out, b->p + b->at, l);
	out[l] = 0;
	b->at += l;
	if (memchr(out, 0, l)) {
		b->err = -EPROTO;
		out[0] = 0;
		return 0;
	}
	return l;
}

void gofer_get_name(struct gofer_buf *b, char *out)
{
	get_str(b, out, GOFER_MAX_NAME);
	if (!b->err && (strchr(out, '/') || !strcmp(out, ".") ||
			!strcmp(out, ".."))) {
		b->err = -EPROTO;
		out[0] = 0;
	}
}

void gofer_get_target(struct gofer_buf *b, char *out)
{
	get_str(b, out, GOFER_MAX_TARGET);
}

int gofer_done(struct gofer_buf *b)
{
	if (!b->err && b->at != b->len)
		b->err = -EPROTO;
	return b->err;
}
