/*
 * Ticket protection keys of Initiators that build their own tickets
 * (RFC 6043 mode 3, flag D = 0; TS 33.328 4.1.2.2 "if allowed by the local
 * policy").  kmsctl tpk provisions a fresh random key for one KMS user
 * identity (its owner) and hands it to the Initiator once; the KMS keeps
 * it in kms.db (table ticket_keys), wrapped with AES-256-KW under the KEK.
 * A ticket's IDRpsk names the key by its 4-byte id; the ticket's IDRi must
 * be the owner.  Retiring a key refuses its tickets from the next reload
 * on (the store's change counter triggers one).
 *
 * kmsd loads every key once into an immutable table (tpk_set_t), so
 * lookups from many threads take no lock; the keys are wiped on free.
 */
#ifndef KMS_KMS_TPK_H
#define KMS_KMS_TPK_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/ticket_base.h"

#define TPK_KEYS_MAX 100000 /* keys in one store */
#define TPK_KEK_LEN 32
#define TPK_OWNER_MAX 256 /* bytes of an owner identity */

typedef struct tpk_set tpk_set_t;

/* One key as tpk_list() reports it: never any key bytes. */
typedef struct {
	uint32_t id;
	char owner[TPK_OWNER_MAX + 1];
	int retired; /* 0 active, 1 retired */
	int64_t created, retired_at;
} tpk_info_t;

/* Called once per key in id order; non-zero stops the walk and is returned. */
typedef int (*tpk_list_fn)(void *ctx, const tpk_info_t *info);

/* Load every key of db_path (KMS_EAUTH when one does not unwrap). */
int tpk_load(const char *db_path, const uint8_t kek[TPK_KEK_LEN], tpk_set_t **out);
void tpk_set_free(tpk_set_t *set); /* wipes the keys; NULL is a no-op */
size_t tpk_set_count(const tpk_set_t *set);

/*
 * The key named id: KMS_EOK with key and *owner (NUL-terminated, valid as
 * long as set), KMS_ENOENT when unknown, KMS_EEXPIRED when retired.
 */
int tpk_find(const tpk_set_t *set, uint32_t id, uint8_t key[MIKEY_TPK_LEN],
	     const char **owner);

/* An empty set, for tests and a daemon without a store. */
tpk_set_t *tpk_set_new_empty(void);

/*
 * Provision a fresh random key for owner (a KMS user identity, no '*'):
 * the next free id, the key wrapped under kek; key and *id get the clear
 * key and its id (the caller hands it out once and wipes it).
 * KMS_EINVAL for a bad owner, KMS_ELIMIT when the store is full.
 */
int tpk_add(const char *db_path, const uint8_t kek[TPK_KEK_LEN], const char *owner,
	    uint8_t key[MIKEY_TPK_LEN], uint32_t *id);

/* Retire (KMS_ENOENT when unknown or already retired) or delete a key. */
int tpk_retire(const char *db_path, uint32_t id);
int tpk_delete(const char *db_path, uint32_t id);

int tpk_list(const char *db_path, tpk_list_fn fn, void *ctx);

#endif
