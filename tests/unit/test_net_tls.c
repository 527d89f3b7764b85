/*
 * net/tls: the reloadable server credentials of a TLS listener, on a test
 * PKI made by tests/zk-certs.sh (openssl CLI): a load checks that the key
 * is the certificate's, a reload swaps the set while a connection that
 * holds the old one keeps it (freed with its last holder), and a reload
 * that fails keeps the current set and is counted.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "net/tls.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

#ifndef ZK_CERTS_SCRIPT
#define ZK_CERTS_SCRIPT "tests/zk-certs.sh"
#endif

static char dir[UNIT_PATH_MAX];
static char cert[UNIT_PATH_MAX], key[UNIT_PATH_MAX];

static void copy(const char *name, const char *to)
{
	char from[UNIT_PATH_MAX], cmd[3 * UNIT_PATH_MAX];
	unit_path(from, dir, name);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* The files named cert and key hold NAME.crt and NAME.key. */
static void use(const char *crt_name, const char *key_name)
{
	copy(crt_name, cert);
	copy(key_name, key);
}

/* The DER of the leaf certificate c serves. */
static void leaf_of(net_tls_creds_t *c, gnutls_datum_t *out)
{
	gnutls_pcert_st *pc = NULL;
	gnutls_privkey_t k = NULL;
	unsigned n = 0;
	net_tls_creds_get(c, &pc, &n, &k);
	CU_ASSERT_FATAL(n >= 1 && pc != NULL && k != NULL);
	*out = pc[0].cert;
}

static bool serves(net_tls_creds_t *c, const char *crt_name)
{
	char path[UNIT_PATH_MAX];
	gnutls_datum_t der, pem = { NULL, 0 }, want = { NULL, 0 };
	unit_path(path, dir, crt_name);
	leaf_of(c, &der);
	bool same = false;
	if (gnutls_load_file(path, &pem) == 0 &&
	    gnutls_pem_base64_decode2("CERTIFICATE", &pem, &want) == 0) {
		same =
		    want.size == der.size && memcmp(want.data, der.data, der.size) == 0;
	}
	gnutls_free(pem.data);
	gnutls_free(want.data);
	return same;
}

static net_tls_t *open_tls(int *ret)
{
	const net_tls_cfg_t cfg = { cert, key, 0, 0, "test" };
	net_tls_t *t = NULL;
	*ret = net_tls_new(&cfg, &t);
	return t;
}

static void given_cert_and_its_key_when_loaded_then_served_as_generation_1(void)
{
	int ret;
	use("kms1.crt", "kms1.key");
	net_tls_t *t = open_tls(&ret);
	CU_ASSERT_EQUAL_FATAL(ret, KMS_EOK);
	net_tls_stats_t s;
	net_tls_stats(t, &s);
	CU_ASSERT_EQUAL(s.generation, 1);
	CU_ASSERT_EQUAL(s.failures, 0);
	CU_ASSERT_EQUAL(s.live, 1);
	net_tls_creds_t *c = net_tls_acquire(t);
	CU_ASSERT(serves(c, "kms1.crt"));
	net_tls_release(c);
	net_tls_free(t);
}

static void given_bad_files_when_loaded_then_refused_with_the_reason(void)
{
	int ret;
	use("kms1.crt", "kms2.key"); /* a valid key, of another certificate */
	CU_ASSERT_PTR_NULL(open_tls(&ret));
	CU_ASSERT_EQUAL(ret, KMS_ECONFIG);
	use("kms1.key", "kms1.key"); /* no certificate in the file */
	CU_ASSERT_PTR_NULL(open_tls(&ret));
	CU_ASSERT_EQUAL(ret, KMS_ECONFIG);
	use("kms1.crt", "kms1.crt"); /* no key in the file */
	CU_ASSERT_PTR_NULL(open_tls(&ret));
	CU_ASSERT_EQUAL(ret, KMS_ECONFIG);
	CU_ASSERT_EQUAL_FATAL(remove(key), 0);
	CU_ASSERT_PTR_NULL(open_tls(&ret));
	CU_ASSERT_EQUAL(ret, KMS_ENOENT);
}

static void given_held_set_when_reloaded_then_new_served_old_kept_until_released(void)
{
	int ret;
	use("kms1.crt", "kms1.key");
	net_tls_t *t = open_tls(&ret);
	CU_ASSERT_EQUAL_FATAL(ret, KMS_EOK);
	net_tls_creds_t *held = net_tls_acquire(t); /* a connection before */
	use("kms2.crt", "kms2.key");
	CU_ASSERT_EQUAL(net_tls_reload(t), KMS_EOK);
	net_tls_creds_t *now = net_tls_acquire(t); /* a connection after */
	CU_ASSERT(serves(now, "kms2.crt"));
	CU_ASSERT(serves(held, "kms1.crt")); /* still usable: not freed */
	net_tls_stats_t s;
	net_tls_stats(t, &s);
	CU_ASSERT_EQUAL(s.generation, 2);
	CU_ASSERT_EQUAL(s.live, 2);
	net_tls_release(held); /* the last holder of the old set */
	net_tls_stats(t, &s);
	CU_ASSERT_EQUAL(s.live, 1);
	net_tls_release(now);
	net_tls_free(t);
}

static void given_broken_files_when_reloaded_then_current_kept_and_counted(void)
{
	int ret;
	use("kms1.crt", "kms1.key");
	net_tls_t *t = open_tls(&ret);
	CU_ASSERT_EQUAL_FATAL(ret, KMS_EOK);
	use("kms2.crt", "kms1.key"); /* new certificate, old key */
	CU_ASSERT_EQUAL(net_tls_reload(t), KMS_ECONFIG);
	use("rogue.key", "kms1.key"); /* not a certificate */
	CU_ASSERT_EQUAL(net_tls_reload(t), KMS_ECONFIG);
	CU_ASSERT_EQUAL_FATAL(remove(cert), 0);
	CU_ASSERT_EQUAL(net_tls_reload(t), KMS_ENOENT);
	net_tls_stats_t s;
	net_tls_stats(t, &s);
	CU_ASSERT_EQUAL(s.generation, 1);
	CU_ASSERT_EQUAL(s.failures, 3);
	CU_ASSERT_EQUAL(s.live, 1);
	net_tls_creds_t *c = net_tls_acquire(t);
	CU_ASSERT(serves(c, "kms1.crt"));
	net_tls_release(c);
	/* Fixed files load again. */
	use("kms2.crt", "kms2.key");
	CU_ASSERT_EQUAL(net_tls_reload(t), KMS_EOK);
	c = net_tls_acquire(t);
	CU_ASSERT(serves(c, "kms2.crt"));
	net_tls_release(c);
	net_tls_free(t);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_cert_and_its_key_when_loaded_then_served_as_generation_1),
		UNIT_TEST(given_bad_files_when_loaded_then_refused_with_the_reason),
		UNIT_TEST(
		    given_held_set_when_reloaded_then_new_served_old_kept_until_released),
		UNIT_TEST(given_broken_files_when_reloaded_then_current_kept_and_counted),
		UNIT_END,
	};
	char cmd[2 * UNIT_PATH_MAX];
	log_level_set(LOG_CRIT); /* the refusals are expected */
	unit_tmpdir(dir);
	unit_path(cert, dir, "served.crt");
	unit_path(key, dir, "served.key");
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", ZK_CERTS_SCRIPT, dir);
	int rc = 99;
	if (system(cmd) == 0) {
		rc = unit_run("net_tls", tests);
	} else {
		fprintf(stderr, "test_net_tls: %s failed\n", cmd);
	}
	unit_rmdir(dir);
	return rc;
}
