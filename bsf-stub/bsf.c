#include "bsf-stub/bsf.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"

struct bsf {
	bsf_config_t cfg;
	char realm[sizeof(BSF_REALM_PREFIX) + BSF_DOMAIN_MAX];
	bsf_chal_table_t *chal;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards stores */
	bsf_store_t **stores;
	size_t nstores;
	_Atomic uint32_t test_zn_result;
};

void bsf_config_defaults(bsf_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->domain, sizeof(cfg->domain), "%s", "bsf.example.org");
	cfg->lifetime = BSF_LIFETIME_DEFAULT;
	cfg->challenge_ttl = BSF_CHAL_TTL_DEFAULT;
	cfg->max_challenges = BSF_CHAL_MAX_DEFAULT;
}

/* Letters, digits, '-' and '.', no empty label, no '-' or '.' at either end. */
static int ldh_check(const char *s, size_t max)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;
	if (n == 0 || n > max || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' ||
	    s[n - 1] == '-') {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '.';
		if (!ok || (c == '.' && s[i + 1] == '.')) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

int bsf_domain_check(const char *s)
{
	return ldh_check(s, BSF_DOMAIN_MAX);
}

int bsf_fqdn_check(const char *s)
{
	return ldh_check(s, BSF_FQDN_MAX);
}

int bsf_name_check(const char *s, size_t max)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;
	if (n == 0 || n > max) {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

/* jansson's allocations (Zn answers hold Ks_ext_NAF in base64) are wiped. */
static void *json_alloc(size_t n)
{
	return malloc(n);
}

static void json_wipe_free(void *p)
{
	if (p != NULL) {
		secmem_wipe(p, malloc_usable_size(p));
		free(p);
	}
}

int bsf_new(const bsf_config_t *cfg, bsf_t **out)
{
	if (cfg == NULL || out == NULL || bsf_domain_check(cfg->domain) != KMS_EOK ||
	    cfg->lifetime == 0 || cfg->challenge_ttl == 0 || cfg->max_challenges == 0) {
		return KMS_EINVAL;
	}
	json_set_alloc_funcs(json_alloc, json_wipe_free);
	bsf_store_t *probe = NULL;
	int ret = bsf_store_open(cfg->db_path, 0, &probe);
	if (ret != KMS_EOK) {
		return ret;
	}
	bsf_t *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		bsf_store_close(probe);
		return KMS_ENOMEM;
	}
	b->cfg = *cfg;
	atomic_init(&b->test_zn_result, cfg->test_zn_result);
	snprintf(b->realm, sizeof(b->realm), "%s%s", BSF_REALM_PREFIX, cfg->domain);
	b->chal = bsf_chal_new(cfg->max_challenges);
	if (b->chal == NULL || pthread_key_create(&b->key, NULL) != 0) {
		bsf_chal_free(b->chal);
		bsf_store_close(probe);
		free(b);
		return KMS_ENOMEM;
	}
	pthread_mutex_init(&b->lock, NULL);
	/* The probe becomes the calling thread's connection. */
	b->stores = malloc(sizeof(*b->stores));
	if (b->stores != NULL) {
		b->stores[0] = probe;
		b->nstores = 1;
		pthread_setspecific(b->key, probe);
	} else {
		bsf_store_close(probe);
	}
	*out = b;
	return KMS_EOK;
}

void bsf_free(bsf_t *b)
{
	if (b == NULL) {
		return;
	}
	for (size_t i = 0; i < b->nstores; i++) {
		bsf_store_close(b->stores[i]);
	}
	free(b->stores);
	pthread_setspecific(b->key, NULL);
	pthread_key_delete(b->key);
	pthread_mutex_destroy(&b->lock);
	bsf_chal_free(b->chal);
	free(b);
}

const bsf_config_t *bsf_config(const bsf_t *b)
{
	return &b->cfg;
}

const char *bsf_realm(const bsf_t *b)
{
	return b->realm;
}

uint32_t bsf_test_zn_result(const bsf_t *b)
{
	return atomic_load(&b->test_zn_result);
}

void bsf_test_zn_result_set(bsf_t *b, uint32_t code)
{
	atomic_store(&b->test_zn_result, code);
}

bsf_chal_table_t *bsf_challenges(bsf_t *b)
{
	return b->chal;
}

bsf_store_t *bsf_store(bsf_t *b)
{
	bsf_store_t *st = pthread_getspecific(b->key);
	if (st != NULL) {
		return st;
	}
	int ret = bsf_store_open(b->cfg.db_path, 0, &st);
	if (ret != KMS_EOK) {
		log_error("cannot open %s: %s", b->cfg.db_path, kms_strerror(ret));
		return NULL;
	}
	pthread_mutex_lock(&b->lock);
	bsf_store_t **n = realloc(b->stores, (b->nstores + 1) * sizeof(*n));
	if (n != NULL) {
		b->stores = n;
		b->stores[b->nstores++] = st;
	}
	pthread_mutex_unlock(&b->lock);
	if (n == NULL) {
		bsf_store_close(st);
		return NULL;
	}
	pthread_setspecific(b->key, st);
	return st;
}
