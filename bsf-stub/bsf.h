/*
 * bsf-stubd's shared state: settings, the challenge table, and one store
 * connection per thread (opened on first use, closed by bsf_free() after
 * the HTTP threads have stopped).
 */
#ifndef KMS_BSF_STUB_BSF_H
#define KMS_BSF_STUB_BSF_H

#include <stddef.h>
#include <stdint.h>

#include "bsf-stub/challenge.h"
#include "bsf-stub/store.h"

#define BSF_DOMAIN_MAX 200
#define BSF_REALM_PREFIX "3GPP-bootstrapping@"
#define BSF_PATH_MAX 4096
#define BSF_DB_NAME "bsf.db"

#define BSF_LIFETIME_DEFAULT 3600u
#define BSF_CHAL_TTL_DEFAULT 120u
#define BSF_CHAL_MAX_DEFAULT 1024u
#define BSF_SESSION_KEEP 86400 /* s an expired session is kept (Zn: "expired") */

typedef struct {
	char db_path[BSF_PATH_MAX];	 /* DIR/bsf.db */
	char domain[BSF_DOMAIN_MAX + 1]; /* BSF server domain name (B-TID, realm) */
	unsigned lifetime;		 /* s, bootstrapping session (key lifetime) */
	unsigned challenge_ttl;		 /* s a Ub challenge may be answered */
	size_t max_challenges;		 /* challenges in flight */
	uint32_t test_zn_result;	 /* test hook: every Zn answer this code; 0 off */
} bsf_config_t;

typedef struct bsf bsf_t;

/* Defaults for everything but db_path. */
void bsf_config_defaults(bsf_config_t *cfg);

/* KMS_EOK when s is a domain name we put into B-TIDs and realms (LDH labels). */
int bsf_domain_check(const char *s);
/* The same for a NAF FQDN (up to 255 octets). */
int bsf_fqdn_check(const char *s);
/* KMS_EOK when s is 1..max printable ASCII characters without spaces
 * (IMPI, IMPU, NAF group). */
int bsf_name_check(const char *s, size_t max);

/*
 * Check the store opens (it must exist and carry the bsf schema), set up
 * the challenge table.  Also makes jansson wipe what it frees (Zn answers
 * carry key material).
 */
int bsf_new(const bsf_config_t *cfg, bsf_t **out);
/* Close every store connection and wipe the challenges; NULL no-op. */
void bsf_free(bsf_t *b);

const bsf_config_t *bsf_config(const bsf_t *b);
/* "3GPP-bootstrapping@" domain */
const char *bsf_realm(const bsf_t *b);
bsf_chal_table_t *bsf_challenges(bsf_t *b);
/* The --test-zn-result hook: the code every Zn lookup answers, 0 when off
 * (bsf-stub/zn_core.h).  Set at start from the config; changeable at run
 * time (any thread). */
uint32_t bsf_test_zn_result(const bsf_t *b);
void bsf_test_zn_result_set(bsf_t *b, uint32_t code);
/* The calling thread's store connection (opened now if needed); NULL on failure. */
bsf_store_t *bsf_store(bsf_t *b);

#endif
