/*
 * Keyring: the master keys that seal stateless tickets.
 *
 * Keys live in the SQLite store (table master_keys), each wrapped with
 * AES-256-KW under a key-encryption key (KEK) read from a file that must be
 * mode 0600 or stricter.  One key is active (seals new tickets); rotated-out
 * keys stay usable for opening until retired.  kmsd loads an immutable
 * snapshot (keyring_t) and swaps a new one in on SIGHUP.
 */
#ifndef KMS_KMS_KEYRING_H
#define KMS_KMS_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KEYRING_KEY_LEN 32
#define KEYRING_KEK_LEN 32
#define KEYRING_MAX 64 /* keys kept (active + rotated, not retired) */

typedef struct keyring keyring_t;

typedef enum {
	KEYRING_ACTIVE = 0,  /* seals and opens */
	KEYRING_ROTATED = 1, /* opens only */
	KEYRING_RETIRED = 2, /* unusable; key bytes deleted from the store */
} keyring_state_t;

typedef struct {
	uint32_t id;
	keyring_state_t state;
	int64_t created;
	int64_t rotated; /* 0 if still active */
	int64_t retired; /* 0 if not retired */
} keyring_info_t;

/*
 * Read the KEK: 32 raw bytes or 64 hex characters (+ optional newline).
 * KMS_EACCES if the file is readable or writable by group/other.
 * create != 0: write a fresh random KEK (mode 0600) if the file is absent.
 */
int keyring_kek_load(const char *path, int create, uint8_t kek[KEYRING_KEK_LEN]);
/* The same, also accepting a KEK file of mode 0640 whose group is group
 * (kmsd's kms.group); (gid_t)-1 is keyring_kek_load. */
int keyring_kek_load_group(const char *path, int create, gid_t group,
			   uint8_t kek[KEYRING_KEK_LEN]);

/* Load a snapshot of the usable keys; KMS_ENOENT if there is no active key. */
int keyring_load(const char *db_path, const uint8_t kek[KEYRING_KEK_LEN],
		 keyring_t **out);
void keyring_free(keyring_t *kr);

/*
 * A snapshot of n given keys (ids non-zero and distinct, keys[active]
 * active, the others rotated), for tests, fuzzers and benchmarks that
 * need the same keys on every run; kmsd loads its keys from the store.
 * KMS_EINVAL, KMS_ENOMEM.
 */
int keyring_from_keys(const uint32_t *ids, const uint8_t (*keys)[KEYRING_KEY_LEN],
		      size_t n, size_t active, keyring_t **out);

/* The active key (for sealing); pointers stay valid until keyring_free(). */
int keyring_active(const keyring_t *kr, uint32_t *id, const uint8_t **key);
/* An active or rotated key by id (for opening); KMS_ENOENT otherwise. */
int keyring_find(const keyring_t *kr, uint32_t id, const uint8_t **key);

/* Store operations (kmsctl).  rotate creates the store if needed, makes a
 * new random key active and the previous one rotated; *new_id may be NULL. */
int keyring_rotate(const char *db_path, const uint8_t kek[KEYRING_KEK_LEN],
		   uint32_t *new_id);
/* Retire a rotated key (never the active one: KMS_EINVAL). */
int keyring_retire(const char *db_path, uint32_t id);
/* Up to max entries, newest first; *n gets the count. */
int keyring_list(const char *db_path, keyring_info_t *out, size_t max, size_t *n);

#endif
