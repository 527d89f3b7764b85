/*
 * Bounds-checked wire cursors with a sticky error.
 *
 * Every byte that comes from the network is read through a wire_rd_t and
 * every byte we send is written through a wire_wr_t.  The first error
 * (KMS_EFEWDATA on reads, KMS_ESPACE on writes, KMS_EINVAL on misuse)
 * sticks: later calls do nothing, reads return 0 or NULL, and the caller
 * checks wire_*_error() once at the end of a parse or build step.
 * Integers are big-endian (network byte order).
 */
#ifndef KMS_COMMON_WIRE_H
#define KMS_COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/errcode.h"

typedef struct {
	const uint8_t *base;
	size_t size;
	size_t pos;
	int error;
} wire_rd_t;

typedef struct {
	uint8_t *base;
	size_t size;
	size_t pos;
	int error;
} wire_wr_t;

/* --- read side ------------------------------------------------------- */

void wire_rd_init(wire_rd_t *c, const uint8_t *data, size_t len);
/* A sub-cursor over the next len bytes of c; c advances past them. */
wire_rd_t wire_rd_sub(wire_rd_t *c, size_t len);

uint64_t wire_rd_u64(wire_rd_t *c);
/* Copy len bytes into dst (dst may be NULL only when len is 0). */
void wire_rd_bytes(wire_rd_t *c, uint8_t *dst, size_t len);
void wire_rd_skip(wire_rd_t *c, size_t len);
/* Peek at the next byte without consuming it (0 and error if none). */
uint8_t wire_rd_peek_u8(wire_rd_t *c);

/* Bytes left; 0 once an error is set. */
size_t wire_rd_available(const wire_rd_t *c);
size_t wire_rd_offset(const wire_rd_t *c);
int wire_rd_error(const wire_rd_t *c);
/* KMS_EMALFORMED when bytes remain (trailing data), else the sticky error. */
int wire_rd_finish(const wire_rd_t *c);

/* --- write side ------------------------------------------------------ */

void wire_wr_init(wire_wr_t *c, uint8_t *buf, size_t cap);

void wire_wr_u64(wire_wr_t *c, uint64_t v);
void wire_wr_zero(wire_wr_t *c, size_t len);
/* Reserve len bytes for the caller to fill; NULL on error. */
uint8_t *wire_wr_reserve(wire_wr_t *c, size_t len);
/* Overwrite a 16-bit value already written at off (length back-patching). */
void wire_wr_patch_u16(wire_wr_t *c, size_t off, uint16_t v);

size_t wire_wr_available(const wire_wr_t *c);
size_t wire_wr_offset(const wire_wr_t *c);
int wire_wr_error(const wire_wr_t *c);

/*
 * The per-field calls, inline (parsing and building call them for every
 * field; the rest is in wire.c).  wire_rd_u8/u16/u32 read big-endian
 * integers (0 on error), wire_rd_ptr points at the next len bytes without
 * copying (NULL on error), wire_wr_u8/u16/u32/bytes write.  The
 * wire_*_take_() helpers are not API.
 */

/* True and advances when len more bytes can be read; sets the error otherwise. */
static inline int wire_rd_take_(wire_rd_t *c, size_t len, const uint8_t **out)
{
	if (c->error != KMS_EOK) {
		return 0;
	}
	if (len > c->size - c->pos) {
		c->error = KMS_EFEWDATA;
		return 0;
	}
	*out = c->base != NULL ? c->base + c->pos : c->base;
	c->pos += len;
	return 1;
}

static inline uint8_t wire_rd_u8(wire_rd_t *c)
{
	const uint8_t *p;
	return wire_rd_take_(c, 1, &p) ? p[0] : 0;
}

static inline uint16_t wire_rd_u16(wire_rd_t *c)
{
	const uint8_t *p;
	if (!wire_rd_take_(c, 2, &p)) {
		return 0;
	}
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t wire_rd_u32(wire_rd_t *c)
{
	const uint8_t *p;
	if (!wire_rd_take_(c, 4, &p)) {
		return 0;
	}
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

static inline const uint8_t *wire_rd_ptr(wire_rd_t *c, size_t len)
{
	const uint8_t *p;
	return wire_rd_take_(c, len, &p) ? p : NULL;
}

/* The next len bytes to write and advance, or NULL with the error set. */
static inline uint8_t *wire_wr_take_(wire_wr_t *c, size_t len)
{
	if (c->error != KMS_EOK) {
		return NULL;
	}
	if (len > c->size - c->pos) {
		c->error = KMS_ESPACE;
		return NULL;
	}
	uint8_t *p = c->base != NULL ? c->base + c->pos : c->base;
	c->pos += len;
	return p;
}

static inline void wire_wr_u8(wire_wr_t *c, uint8_t v)
{
	uint8_t *p = wire_wr_take_(c, 1);
	if (p != NULL) {
		p[0] = v;
	}
}

static inline void wire_wr_u16(wire_wr_t *c, uint16_t v)
{
	uint8_t *p = wire_wr_take_(c, 2);
	if (p != NULL) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void wire_wr_u32(wire_wr_t *c, uint32_t v)
{
	uint8_t *p = wire_wr_take_(c, 4);
	if (p != NULL) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

static inline void wire_wr_bytes(wire_wr_t *c, const uint8_t *src, size_t len)
{
	if (len > 0 && src == NULL && c->error == KMS_EOK) {
		c->error = KMS_EINVAL;
		return;
	}
	uint8_t *p = wire_wr_take_(c, len);
	if (p != NULL && len > 0) {
		memcpy(p, src, len);
	}
}

#endif
