/*
 * The core <-> sbx-gofer protocol, version 2 (2 added GOFER_MKNOD; the
 * plugin and its sbx-gofer are built together, so versions only guard
 * against a stale helper on the search path).
 *
 * Transport: a SOCK_SEQPACKET socketpair, one message per packet, host fds
 * travel with SCM_RIGHTS (only gofer -> core).  Every message starts with
 * struct gofer_hdr; all integers are little-endian (host order: both ends
 * run on the same machine); strings are a u16 length and that many bytes
 * without a NUL.  A request gets exactly one reply with the same tag and
 * op; err is 0 or a positive errno.  The receiver validates every field:
 * a short, long, unknown or inconsistent message is answered with EPROTO
 * (gofer) or treated as a dead gofer (core), never trusted.
 *
 * Handles name nodes the gofer holds (an O_PATH fd each); handle 0 is the
 * root of mount 0, handle N (N < n_roots) the root of mount N.  Names are
 * single components: 1..255 bytes, no '/' or NUL, never "." or "..".
 */
#ifndef SBX_FS_GOFER_PROTO_H
#define SBX_FS_GOFER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define GOFER_VERSION 2
#define GOFER_MAX_MSG 65536
#define GOFER_MAX_NAME 255
#define GOFER_MAX_TARGET 4095

enum gofer_op {
	GOFER_WALK = 1,	    /* u32 dir, str name -> u32 handle, attr */
	GOFER_STAT,	    /* u32 h -> attr */
	GOFER_OPEN,	    /* u32 h, u32 flags -> fd */
	GOFER_CREATE,	    /* u32 dir, u32 mode, u32 flags, str -> u32 h, attr, fd */
	GOFER_MKDIR,	    /* u32 dir, u32 mode, str */
	GOFER_UNLINK,	    /* u32 dir, u32 flags, str */
	GOFER_RENAME,	    /* u32 odir, u32 ndir, u32 flags, str, str */
	GOFER_LINK,	    /* u32 h, u32 dir, str */
	GOFER_SYMLINK,	    /* u32 dir, str name, str target */
	GOFER_READLINK,	    /* u32 h -> str target */
	GOFER_GETDENTS,	    /* u32 h, u64 cookie -> u64 next, u32 n, n x dent */
	GOFER_CLUNK,	    /* u32 h (no reply) */
	GOFER_SETATTR,	    /* u32 h, u32 mask, attr */
	GOFER_STATFS,	    /* u32 h -> statfs */
	GOFER_MKNOD,	    /* u32 dir, u32 mode (S_IFIFO/S_IFSOCK/S_IFREG), str */
	GOFER_OP_MAX,
};

struct gofer_hdr {
	uint32_t len;	  /* whole message, header included */
	uint16_t version; /* GOFER_VERSION */
	uint16_t op;
	uint32_t tag;
	int32_t err;	  /* replies: 0 or errno */
};

/* wire attr: 80 bytes */
struct gofer_attr {
	uint64_t ino, nlink, size, blocks, dev;
	uint32_t mode, uid, gid, rdev;
	int64_t atime_ns, mtime_ns, ctime_ns;
};

struct gofer_statfs {
	uint64_t type, bsize, blocks, bfree, bavail, files, ffree, namelen,
		frsize, flags;
};

/* A message being built or parsed. */
struct gofer_buf {
	unsigned char *p;
	size_t len, cap, at;
	int err; /* sticky: -EPROTO on overrun */
};

void gofer_begin(struct gofer_buf *b, unsigned char *mem, size_t cap,
		 uint16_t op, uint32_t tag, int32_t err);
void gofer_put_u32(struct gofer_buf *b, uint32_t v);
void gofer_put_u64(struct gofer_buf *b, uint64_t v);
void gofer_put_str(struct gofer_buf *b, const char *s, size_t n);
void gofer_put_bytes(struct gofer_buf *b, const void *p, size_t n);
/* gofer_end - set the length; Return: message size or -EPROTO. */
int gofer_end(struct gofer_buf *b);

/* gofer_parse - check a received header.  Return: 0 or -EPROTO. */
int gofer_parse(struct gofer_buf *b, const unsigned char *mem, size_t len,
		struct gofer_hdr *h);
uint32_t gofer_get_u32(struct gofer_buf *b);
uint64_t gofer_get_u64(struct gofer_buf *b);
void gofer_get_bytes(struct gofer_buf *b, void *p, size_t n);
/* gofer_get_name - a component into @out (GOFER_MAX_NAME + 1 bytes),
 * rejecting "", ".", "..", '/' and NUL (sticky -EPROTO). */
void gofer_get_name(struct gofer_buf *b, char *out);
/* gofer_get_target - a symlink target (1..GOFER_MAX_TARGET, no NUL). */
void gofer_get_target(struct gofer_buf *b, char *out);
/* gofer_done - 0 if everything parsed and nothing is left over. */
int gofer_done(struct gofer_buf *b);

#endif
