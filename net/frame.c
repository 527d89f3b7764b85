/* HTTP framing rules on name/value lists (see frame.h). */
#include "net/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "common/errcode.h"

const net_kv_t *net_kv_find(const net_kv_t *kv, size_t n, const char *key)
{
	size_t len = 0;
	while (key[len] != '\0') {
		len++;
	}
	for (size_t i = 0; i < n; i++) {
		if (kv[i].key != NULL && kv[i].key_len == len &&
		    strncasecmp(kv[i].key, key, len) == 0) {
			return &kv[i];
		}
	}
	return NULL;
}

int net_length_parse(const char *v, uint64_t *len)
{
	if (v[0] < '0' || v[0] > '9') { /* no sign, no blank, not empty */
		return KMS_EMALFORMED;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end != '\0' || errno != 0 || n > NET_LENGTH_MAX) {
		return KMS_EMALFORMED;
	}
	*len = (uint64_t)n;
	return KMS_EOK;
}

int net_framing_check_list(const net_kv_t *headers, size_t n, const char **why)
{
	unsigned clen = 0, te = 0;
	for (size_t i = 0; i < n; i++) {
		const char *key = headers[i].key;
		if (key == NULL) {
			continue;
		}
		if (strcasecmp(key, "Content-Length") == 0) {
			clen++;
		} else if (strcasecmp(key, "Transfer-Encoding") == 0) {
			te++;
		}
	}
	if (clen > 1) {
		*why = "more than one Content-Length";
		return KMS_EHTTP_FRAME;
	}
	if (clen == 1 && te > 0) {
		*why = "Content-Length with Transfer-Encoding";
		return KMS_EHTTP_FRAME;
	}
	return KMS_EOK;
}
