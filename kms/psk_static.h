/*
 * Static PSK users: the pre-shared keys kmsctl provisions, stored in kms.db
 * (tables psk_users, psk_identities), each key wrapped with AES-256-KW
 * under the KEK.  kmsd loads them once into an immutable in-memory table
 * (kms_psk_source_t), so lookups from many threads need no lock.
 */
#ifndef KMS_KMS_PSK_STATIC_H
#define KMS_KMS_PSK_STATIC_H

#include <stddef.h>
#include <stdint.h>

#include "kms/psk.h"

#define PSK_STATIC_USERS_MAX 100000 /* users in one store */
#define PSK_STATIC_ID_MAX 256	    /* bytes of a psk_id */
#define PSK_STATIC_KEK_LEN 32

/* One user as psk_static_list() reports it: never any key bytes. */
typedef struct {
	char psk_id[PSK_STATIC_ID_MAX + 1];
	size_t key_len;
	int64_t expires; /* Unix seconds; 0 = never */
	int64_t created;
	size_t nids;
	char ids[KMS_PSK_IDS_MAX][KMS_IDENTITY_MAX + 1];
} psk_static_info_t;

/* Called once per user in psk_id order; a non-zero return stops the walk
 * and becomes psk_static_list()'s result. */
typedef int (*psk_static_list_fn)(void *ctx, const psk_static_info_t *info);

/*
 * Load every user of db_path into a lookup table; all keys are unwrapped
 * here (KMS_EAUTH when one does not unwrap: wrong KEK or a tampered row).
 * The source's lookup matches psk_id bytes exactly and answers KMS_EAUTH
 * for an unknown or expired user.  KMS_ENOENT when the store is missing.
 */
int psk_static_open(const char *db_path, const uint8_t kek[PSK_STATIC_KEK_LEN],
		    kms_psk_source_t **out);

/* Number of users in a source from psk_static_open(). */
size_t psk_static_size(const kms_psk_source_t *src);

/*
 * Store a new user (creating the store if needed).  key_len 16 or 32;
 * 1..KMS_PSK_IDS_MAX distinct identities; expires 0 (never) or Unix
 * seconds.  KMS_EEXIST when psk_id is taken, KMS_EINVAL for a bad
 * argument, KMS_ELIMIT when the store is full.
 */
int psk_static_add(const char *db_path, const uint8_t kek[PSK_STATIC_KEK_LEN],
		   const char *psk_id, const uint8_t *key, size_t key_len,
		   const char *const *ids, size_t nids, int64_t expires);

/* Delete a user and its identities; KMS_ENOENT when there is none. */
int psk_static_remove(const char *db_path, const char *psk_id);

/* Walk the users (see psk_static_list_fn). */
int psk_static_list(const char *db_path, psk_static_list_fn fn, void *ctx);

/* KMS_EOK when s is acceptable as a psk_id: 1..PSK_STATIC_ID_MAX bytes,
 * no control characters. */
int psk_static_check_id(const char *s);

/* KMS_EOK when s is acceptable as a KMS user identity of a PSK owner:
 * user@domain, 1..KMS_IDENTITY_MAX bytes, no spaces, controls or '*'. */
int psk_static_check_identity(const char *s);

#endif
