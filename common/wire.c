#include "common/wire.h"

#include <string.h>

#include "common/errcode.h"

/* --- read side ------------------------------------------------------- */

void wire_rd_init(wire_rd_t *c, const uint8_t *data, size_t len)
{
	c->base = data;
	c->size = data != NULL ? len : 0;
	c->pos = 0;
	c->error = (data == NULL && len > 0) ? KMS_EINVAL : KMS_EOK;
}

/* True and advances when len more bytes can be read; sets the error otherwise. */
static int rd_take(wire_rd_t *c, size_t len, const uint8_t **out)
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

wire_rd_t wire_rd_sub(wire_rd_t *c, size_t len)
{
	wire_rd_t sub;
	const uint8_t *p = NULL;
	if (rd_take(c, len, &p)) {
		wire_rd_init(&sub, p, len);
	} else {
		wire_rd_init(&sub, NULL, 0);
		sub.error = c->error;
	}
	return sub;
}

uint8_t wire_rd_u8(wire_rd_t *c)
{
	const uint8_t *p;
	return rd_take(c, 1, &p) ? p[0] : 0;
}

uint16_t wire_rd_u16(wire_rd_t *c)
{
	const uint8_t *p;
	if (!rd_take(c, 2, &p)) {
		return 0;
	}
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t wire_rd_u32(wire_rd_t *c)
{
	const uint8_t *p;
	if (!rd_take(c, 4, &p)) {
		return 0;
	}
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

uint64_t wire_rd_u64(wire_rd_t *c)
{
	uint64_t hi = wire_rd_u32(c);
	uint64_t lo = wire_rd_u32(c);
	return c->error != KMS_EOK ? 0 : (hi << 32) | lo;
}

void wire_rd_bytes(wire_rd_t *c, uint8_t *dst, size_t len)
{
	const uint8_t *p;
	if (len > 0 && dst == NULL && c->error == KMS_EOK) {
		c->error = KMS_EINVAL;
		return;
	}
	if (rd_take(c, len, &p) && len > 0) {
		memcpy(dst, p, len);
	}
}

const uint8_t *wire_rd_ptr(wire_rd_t *c, size_t len)
{
	const uint8_t *p;
	return rd_take(c, len, &p) ? p : NULL;
}

void wire_rd_skip(wire_rd_t *c, size_t len)
{
	const uint8_t *p;
	(void)rd_take(c, len, &p);
}

uint8_t wire_rd_peek_u8(wire_rd_t *c)
{
	if (c->error != KMS_EOK) {
		return 0;
	}
	if (c->pos >= c->size) {
		c->error = KMS_EFEWDATA;
		return 0;
	}
	return c->base[c->pos];
}

size_t wire_rd_available(const wire_rd_t *c)
{
	return c->error != KMS_EOK ? 0 : c->size - c->pos;
}

size_t wire_rd_offset(const wire_rd_t *c)
{
	return c->pos;
}

int wire_rd_error(const wire_rd_t *c)
{
	return c->error;
}

int wire_rd_finish(const wire_rd_t *c)
{
	if (c->error != KMS_EOK) {
		return c->error;
	}
	return c->pos == c->size ? KMS_EOK : KMS_EMALFORMED;
}

/* --- write side ------------------------------------------------------ */

void wire_wr_init(wire_wr_t *c, uint8_t *buf, size_t cap)
{
	c->base = buf;
	c->size = buf != NULL ? cap : 0;
	c->pos = 0;
	c->error = (buf == NULL && cap > 0) ? KMS_EINVAL : KMS_EOK;
}

static uint8_t *wr_take(wire_wr_t *c, size_t len)
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

void wire_wr_u8(wire_wr_t *c, uint8_t v)
{
	uint8_t *p = wr_take(c, 1);
	if (p != NULL) {
		p[0] = v;
	}
}

void wire_wr_u16(wire_wr_t *c, uint16_t v)
{
	uint8_t *p = wr_take(c, 2);
	if (p != NULL) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

void wire_wr_u32(wire_wr_t *c, uint32_t v)
{
	uint8_t *p = wr_take(c, 4);
	if (p != NULL) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

void wire_wr_u64(wire_wr_t *c, uint64_t v)
{
	if (wire_wr_available(c) < 8) {
		(void)wr_take(c, 8); /* sets the error */
		return;
	}
	wire_wr_u32(c, (uint32_t)(v >> 32));
	wire_wr_u32(c, (uint32_t)v);
}

void wire_wr_bytes(wire_wr_t *c, const uint8_t *src, size_t len)
{
	if (len > 0 && src == NULL && c->error == KMS_EOK) {
		c->error = KMS_EINVAL;
		return;
	}
	uint8_t *p = wr_take(c, len);
	if (p != NULL && len > 0) {
		memcpy(p, src, len);
	}
}

void wire_wr_zero(wire_wr_t *c, size_t len)
{
	uint8_t *p = wr_take(c, len);
	if (p != NULL && len > 0) {
		memset(p, 0, len);
	}
}

uint8_t *wire_wr_reserve(wire_wr_t *c, size_t len)
{
	return wr_take(c, len);
}

void wire_wr_patch_u16(wire_wr_t *c, size_t off, uint16_t v)
{
	if (c->error != KMS_EOK) {
		return;
	}
	if (off > c->pos || c->pos - off < 2) {
		c->error = KMS_EINVAL;
		return;
	}
	c->base[off] = (uint8_t)(v >> 8);
	c->base[off + 1] = (uint8_t)v;
}

size_t wire_wr_available(const wire_wr_t *c)
{
	return c->error != KMS_EOK ? 0 : c->size - c->pos;
}

size_t wire_wr_offset(const wire_wr_t *c)
{
	return c->pos;
}

int wire_wr_error(const wire_wr_t *c)
{
	return c->error;
}
