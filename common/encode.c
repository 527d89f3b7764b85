#include "common/encode.h"

#include <string.h>

#include "common/errcode.h"

static const char hexdig[] = "0123456789abcdef";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
	if (len > (SIZE_MAX - 1) / 2 || out_cap < 2 * len + 1) {
		return KMS_ESPACE;
	}
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return KMS_EOK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
	       size_t *out_len)
{
	if (in_len % 2 != 0) {
		return KMS_EMALFORMED;
	}
	if (in_len / 2 > out_cap) {
		return KMS_ESPACE;
	}
	for (size_t i = 0; i < in_len / 2; i++) {
		int hi = hexval(in[2 * i]);
		int lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return KMS_EMALFORMED;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = in_len / 2;
	return KMS_EOK;
}

size_t base64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

int base64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
	if (len > SIZE_MAX / 2 || out_cap < base64_encoded_len(len) + 1) {
		return KMS_ESPACE;
	}
	size_t o = 0;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return KMS_EOK;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

int base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
		  size_t *out_len)
{
	if (in_len % 4 != 0) {
		return KMS_EMALFORMED;
	}
	size_t pad = 0;
	if (in_len > 0 && in[in_len - 1] == '=') {
		pad = (in_len > 1 && in[in_len - 2] == '=') ? 2 : 1;
	}
	size_t need = in_len / 4 * 3 - pad;
	if (need > out_cap) {
		return KMS_ESPACE;
	}
	size_t o = 0;
	for (size_t i = 0; i < in_len; i += 4) {
		int v[4];
		int last = (i + 4 == in_len);
		for (int k = 0; k < 4; k++) {
			char ch = in[i + (size_t)k];
			if (last && ch == '=' && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64val(ch);
			if (v[k] < 0) {
				return KMS_EMALFORMED;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		uint8_t bytes[3] = { (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w };
		size_t take = last ? 3 - pad : 3;
		/* Non-canonical encodings (bits set under the padding) are refused. */
		if (last && pad > 0 && bytes[3 - pad] != 0) {
			return KMS_EMALFORMED;
		}
		for (size_t k = 0; k < take; k++) {
			out[o++] = bytes[k];
		}
	}
	*out_len = o;
	return KMS_EOK;
}

size_t str_copy(char *dst, size_t cap, const char *src)
{
	if (dst == NULL || cap == 0) {
		return 0;
	}
	size_t n = src != NULL ? strnlen(src, cap - 1) : 0;
	if (n > 0) {
		memcpy(dst, src, n);
	}
	dst[n] = '\0';
	return n;
}

int dec_parse_u32(const char *s, uint32_t *out)
{
	if (s == NULL || out == NULL || *s == '\0') {
		return KMS_EINVAL;
	}
	uint64_t v = 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return KMS_EINVAL;
		}
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX) {
			return KMS_EINVAL;
		}
	}
	*out = (uint32_t)v;
	return KMS_EOK;
}
