/*
 * Reloadable server credentials of a TLS listener (see tls.h).
 *
 * Why a reference per connection rather than per handshake: GnuTLS keeps
 * the certificate and key the callback returned in the session (they are
 * "not released or modified by gnutls"), and a session lives as long as
 * its connection; the listener sees the start and the end of a connection
 * but not the end of a handshake.
 */
#include "net/tls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "common/secret_file.h"

#define TAG_MAX 16
#define PATH_MAX_LEN 256
#define CHAIN_MAX 8 /* certificates in a chain file */

struct net_tls_creds {
	atomic_uint refs;
	net_tls_t *owner;
	gnutls_pcert_st pcert[CHAIN_MAX];
	unsigned n;
	gnutls_privkey_t key;
};

struct net_tls {
	pthread_mutex_t mu; /* guards cur (its pointer, not its contents) */
	net_tls_creds_t *cur;
	atomic_uint live;
	atomic_uint_fast64_t generation, failures;
	char cert[PATH_MAX_LEN], key[PATH_MAX_LEN];
	size_t file_max;
	unsigned flags;
	char tag[TAG_MAX];
};

static void creds_free(net_tls_creds_t *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		gnutls_pcert_deinit(&c->pcert[i]);
	}
	if (c->key != NULL) {
		gnutls_privkey_deinit(c->key); /* GnuTLS wipes the key material */
	}
	if (c->owner != NULL) {
		atomic_fetch_sub(&c->owner->live, 1);
	}
	free(c);
}

/* A file read whole (secure memory, NUL-terminated), or NULL (logged). */
static char *read_file(net_tls_t *t, const char *path, const char *what, size_t *len,
		       int *err)
{
	char *buf = NULL;
	*err = secret_file_read(path, t->flags, t->file_max, &buf, len);
	if (*err != KMS_EOK) {
		log_msg(LOG_ERR, t->tag, "cannot read the TLS %s %s: %s%s", what, path,
			kms_strerror(*err), *err == KMS_ELIMIT ? " (over the cap)" : "");
		return NULL;
	}
	if (*len == 0) {
		log_msg(LOG_ERR, t->tag, "the TLS %s %s is empty", what, path);
		secret_file_free(buf, t->file_max);
		*err = KMS_ECONFIG;
		return NULL;
	}
	return buf;
}

/* Same public key in the certificate and the private key: else every
 * handshake would fail only once clients arrive. */
static bool key_matches(gnutls_pubkey_t pub, gnutls_privkey_t key)
{
	gnutls_pubkey_t kp = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	bool ok = false;
	if (gnutls_pubkey_init(&kp) == 0 &&
	    gnutls_pubkey_import_privkey(kp, key, 0, 0) == 0 &&
	    gnutls_pubkey_export2(kp, GNUTLS_X509_FMT_DER, &a) == 0 &&
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &b) == 0) {
		ok = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
	}
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (kp != NULL) {
		gnutls_pubkey_deinit(kp);
	}
	return ok;
}

static int import_cert(net_tls_t *t, net_tls_creds_t *c, const char *pem, size_t len)
{
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned)len };
	unsigned n = CHAIN_MAX;
	int r =
	    gnutls_pcert_list_import_x509_raw(c->pcert, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (r < 0 || n == 0) {
		log_msg(LOG_ERR, t->tag, "the TLS certificate %s is not usable: %s",
			t->cert, r < 0 ? gnutls_strerror(r) : "no certificate");
		return KMS_ECONFIG;
	}
	c->n = n;
	return KMS_EOK;
}

static int import_key(net_tls_t *t, net_tls_creds_t *c, const char *pem, size_t len)
{
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned)len };
	int r = gnutls_privkey_init(&c->key);
	if (r == 0) {
		r = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL,
						   0);
	}
	if (r < 0) {
		log_msg(LOG_ERR, t->tag, "the TLS private key %s is not usable: %s",
			t->key, gnutls_strerror(r));
		return KMS_ECONFIG;
	}
	if (!key_matches(c->pcert[0].pubkey, c->key)) {
		log_msg(LOG_ERR, t->tag,
			"the TLS private key %s is not the key of the certificate %s",
			t->key, t->cert);
		return KMS_ECONFIG;
	}
	return KMS_EOK;
}

/* A new set from the files, with one reference (the caller's). */
static int creds_load(net_tls_t *t, net_tls_creds_t **out)
{
	size_t clen = 0, klen = 0;
	int ret = KMS_ENOMEM;
	char *cpem = NULL, *kpem = NULL;
	net_tls_creds_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		goto cleanup;
	}
	atomic_init(&c->refs, 1);
	cpem = read_file(t, t->cert, "certificate", &clen, &ret);
	if (cpem != NULL) {
		kpem = read_file(t, t->key, "private key", &klen, &ret);
	}
	if (kpem != NULL) {
		ret = import_cert(t, c, cpem, clen);
	}
	if (kpem != NULL && ret == KMS_EOK) {
		ret = import_key(t, c, kpem, klen);
	}
cleanup:
	secret_file_free(kpem, t->file_max); /* wiped */
	secret_file_free(cpem, t->file_max);
	if (ret != KMS_EOK) {
		if (c != NULL) {
			creds_free(c);
		}
		return ret;
	}
	c->owner = t;
	atomic_fetch_add(&t->live, 1);
	*out = c;
	return KMS_EOK;
}

int net_tls_new(const net_tls_cfg_t *cfg, net_tls_t **out)
{
	if (cfg == NULL || cfg->cert == NULL || cfg->key == NULL || out == NULL ||
	    strlen(cfg->cert) >= PATH_MAX_LEN || strlen(cfg->key) >= PATH_MAX_LEN) {
		return KMS_EINVAL;
	}
	net_tls_t *t = calloc(1, sizeof(*t));
	if (t == NULL || pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return KMS_ENOMEM;
	}
	snprintf(t->cert, sizeof(t->cert), "%s", cfg->cert);
	snprintf(t->key, sizeof(t->key), "%s", cfg->key);
	snprintf(t->tag, sizeof(t->tag), "%s", cfg->tag != NULL ? cfg->tag : "tls");
	t->file_max = cfg->file_max != 0 ? cfg->file_max : SECRET_FILE_MAX;
	t->flags = cfg->flags;
	atomic_init(&t->live, 0);
	atomic_init(&t->generation, 0);
	atomic_init(&t->failures, 0);
	int ret = creds_load(t, &t->cur);
	if (ret != KMS_EOK) {
		pthread_mutex_destroy(&t->mu);
		free(t);
		return ret;
	}
	atomic_store(&t->generation, 1);
	*out = t;
	return KMS_EOK;
}

int net_tls_reload(net_tls_t *t)
{
	net_tls_creds_t *c = NULL;
	int ret = creds_load(t, &c);
	if (ret != KMS_EOK) {
		uint64_t n = atomic_fetch_add(&t->failures, 1) + 1;
		log_msg(LOG_ERR, t->tag,
			"TLS reload failed (%s): keeping the current certificate "
			"(reload failures: %llu)",
			kms_strerror(ret), (unsigned long long)n);
		return ret;
	}
	pthread_mutex_lock(&t->mu);
	net_tls_creds_t *old = t->cur;
	t->cur = c;
	pthread_mutex_unlock(&t->mu);
	net_tls_release(old); /* freed now, or by its last connection */
	uint64_t g = atomic_fetch_add(&t->generation, 1) + 1;
	log_msg(LOG_NOTICE, t->tag,
		"TLS certificate reloaded from %s and %s (generation %llu, %u set(s) "
		"in use)",
		t->cert, t->key, (unsigned long long)g, atomic_load(&t->live));
	return KMS_EOK;
}

void net_tls_stats(net_tls_t *t, net_tls_stats_t *out)
{
	out->generation = atomic_load(&t->generation);
	out->failures = atomic_load(&t->failures);
	out->live = atomic_load(&t->live);
}

net_tls_creds_t *net_tls_acquire(net_tls_t *t)
{
	pthread_mutex_lock(&t->mu);
	net_tls_creds_t *c = t->cur;
	atomic_fetch_add(&c->refs, 1); /* cur's own reference keeps it > 0 */
	pthread_mutex_unlock(&t->mu);
	return c;
}

void net_tls_release(net_tls_creds_t *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1) {
		creds_free(c);
	}
}

void net_tls_creds_get(net_tls_creds_t *c, gnutls_pcert_st **pcert, unsigned *n,
		       gnutls_privkey_t *key)
{
	*pcert = c->pcert;
	*n = c->n;
	*key = c->key;
}

void net_tls_free(net_tls_t *t)
{
	if (t == NULL) {
		return;
	}
	/* The listener stops MHD first: every connection has released its
	 * set, so this drops the last reference to the current one. */
	net_tls_release(t->cur);
	t->cur = NULL;
	pthread_mutex_destroy(&t->mu);
	free(t);
}
