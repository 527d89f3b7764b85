/*
 * The subscriber store of bsf-stubd (sql/bsf_001.sql): subscribers with
 * their MILENAGE secrets and SQN, public identities by NAF group, the NAFs
 * allowed on Zn, and the bootstrapping sessions.
 *
 * One bsf_store_t is one SQLite connection with its statements prepared
 * once; it belongs to one thread at a time.  K, OPc and Ks are kept in the
 * clear in a 0600 file (a test stub, not a production BSF).
 */
#ifndef KMS_BSF_STUB_STORE_H
#define KMS_BSF_STUB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gba/kdf.h"

#define BSF_SQN_MAX 0xFFFFFFFFFFFFULL /* 48 bits */
#define BSF_GROUP_MAX 64	      /* bytes of a NAF group name */
#define BSF_FQDN_MAX 255
#define BSF_IMPU_MAX 512
#define BSF_IMPUS_MAX 32 /* IMPUs returned in one USS */

typedef struct bsf_store bsf_store_t;

typedef struct {
	uint8_t k[16];
	uint8_t opc[16];
	uint8_t amf[2];
	uint64_t sqn; /* the last SQN used */
} bsf_sub_t;

typedef struct {
	char impi[GBA_IMPI_MAX + 1];
	uint8_t rand[GBA_RAND_LEN];
	uint8_t ks[GBA_KEY_LEN]; /* CK || IK */
	int64_t created;	 /* unix s */
	int64_t expires;	 /* unix s */
} bsf_session_t;

/* Called for each IMPU; a non-zero return stops the walk (and is returned). */
typedef int (*bsf_impu_cb)(const char *impu, void *arg);

/* Open path (create: a new 0600 file if absent) and migrate the schema. */
int bsf_store_open(const char *path, int create, bsf_store_t **out);
/* NULL is a no-op. */
void bsf_store_close(bsf_store_t *st);

/* A new subscriber: KMS_EEXIST when impi is known. */
int bsf_store_sub_add(bsf_store_t *st, const char *impi, const uint8_t k[16],
		      const uint8_t opc[16], const uint8_t amf[2], uint64_t sqn);
/* IMPU of impi in group (KMS_ENOENT: no such subscriber; re-adding is fine). */
int bsf_store_impu_add(bsf_store_t *st, const char *impi, const char *impu,
		       const char *group);
/* Allow the NAF fqdn on Zn with the USS of group (replaces its group). */
int bsf_store_naf_add(bsf_store_t *st, const char *fqdn, const char *group);

/* The subscriber's secrets and SQN; KMS_ENOENT when unknown.  Wipe *out. */
int bsf_store_sub_get(bsf_store_t *st, const char *impi, bsf_sub_t *out);
/*
 * In one write transaction: read the subscriber, SQN + 1, store it.  *out
 * gets the subscriber with the new SQN (wipe it).  KMS_ENOENT: unknown;
 * KMS_ERANGE: SQN exhausted.
 */
int bsf_store_sqn_next(bsf_store_t *st, const char *impi, bsf_sub_t *out);
/* Set the last used SQN (resynchronisation). */
int bsf_store_sqn_set(bsf_store_t *st, const char *impi, uint64_t sqn);

/* The NAF group of fqdn; KMS_ENOENT when the NAF is not allowed. */
int bsf_store_naf_group(bsf_store_t *st, const char *fqdn, char *group, size_t cap);

/*
 * Store a bootstrapping session under btid (KMS_EEXIST if taken), and
 * delete the sessions that expired before purge_before.
 */
int bsf_store_session_put(bsf_store_t *st, const char *btid, const bsf_session_t *s,
			  int64_t purge_before);
/* The session of btid (expired or not); KMS_ENOENT if none.  Wipe *out. */
int bsf_store_session_get(bsf_store_t *st, const char *btid, bsf_session_t *out);

/* The IMPUs of impi in group, in order, at most BSF_IMPUS_MAX. */
int bsf_store_impus(bsf_store_t *st, const char *impi, const char *group, bsf_impu_cb cb,
		    void *arg);

#endif
