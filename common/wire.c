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

wire_rd_t wire_rd_sub(wire_rd_t *c, size_t len)
{
	wire_rd_t sub;
	const uint8_t *p = NULL;
	if (wire_rd_take_(c, len, &p)) {
		wire_rd_init(&sub, p, len);
	} else {
		wire_rd_init(&sub, NULL, 0);
		sub.error = c->error;
	}
	return sub;
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
	if (wire_rd_take_(c, len, &p) && len > 0) {
		memcpy(dst, p, len);
	}
}

void wire_rd_skip(wire_rd_t *c, size_t len)
{
	const uint8_t *p;
	(void)wire_rd_take_(c, len, &p);
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

void wire_wr_u64(wire_wr_t *c, uint64_t v)
{
	if (wire_wr_available(c) < 8) {
		(void)wire_wr_take_(c, 8); /* sets the error */
		return;
	}
	wire_wr_u32(c, (uint32_t)(v >> 32));
	wire_wr_u32(c, (uint32_t)v);
}

void wire_wr_zero(wire_wr_t *c, size_t len)
{
	uint8_t *p = wire_wr_take_(c, len);
	if (p != NULL && len > 0) {
		memset(p, 0, len);
	}
}

uint8_t *wire_wr_reserve(wire_wr_t *c, size_t len)
{
	return wire_wr_take_(c, len);
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
