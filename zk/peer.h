/*
 * Zk peers: the other KMSs this one forwards ticket resolves to and accepts
 * them from (docs/federation.md).  Stored in kms.db (table zk_peers, sql/kms_003.sql),
 * each per-peer key wrapped with AES-256-KW under the KEK like the static
 * PSK users.  kmsd loads them once into an immutable table (zk_peers_t):
 * lookups from many threads need no lock; its keys are wiped on free.
 */
#ifndef KMS_ZK_PEER_H
#define KMS_ZK_PEER_H

#include <stddef.h>
#include <stdint.h>

#define ZK_PEERS_MAX 1000     /* peers in one store */
#define ZK_KMS_ID_MAX 255     /* bytes of a kms_id (IDRkms ID Data) */
#define ZK_URL_MAX 511	      /* bytes of a Zk base URL */
#define ZK_CA_FILE_MAX 255    /* bytes of a CA bundle path */
#define ZK_CERT_NAME_MAX 253  /* bytes of a DNS name */
#define ZK_RESPONDERS_MAX 256 /* bytes of the responders pattern */
#define ZK_KEY_MAX 32	      /* per-peer key: 16 or 32 bytes */
#define ZK_KEK_LEN 32	      /* AES-256-KW key-encryption key */

/* One peer.  Strings are NUL-terminated; key holds key_len bytes. */
typedef struct {
	char kms_id[ZK_KMS_ID_MAX + 1];	  /* identity in IDRkms */
	char url[ZK_URL_MAX + 1];	  /* https://HOST[:PORT]/path */
	char ca_file[ZK_CA_FILE_MAX + 1]; /* absolute path of a PEM bundle */
	char cert_name[256];		  /* DNS name in its certificates */
	/* The responder identities it may vouch for: a user or group
	 * identity pattern ("*@other.example"; "*@*": any). */
	char responders[ZK_RESPONDERS_MAX + 1];
	uint8_t key[ZK_KEY_MAX];
	size_t key_len;
} zk_peer_t;

/* One peer as zk_peer_list() reports it: never any key bytes. */
typedef struct {
	char kms_id[ZK_KMS_ID_MAX + 1];
	char url[ZK_URL_MAX + 1];
	char ca_file[ZK_CA_FILE_MAX + 1];
	char cert_name[256];
	char responders[ZK_RESPONDERS_MAX + 1];
	size_t key_len;
	int64_t created; /* Unix seconds */
} zk_peer_info_t;

/* Called once per peer in kms_id order; a non-zero return stops the walk
 * and becomes zk_peer_list()'s result. */
typedef int (*zk_peer_list_fn)(void *ctx, const zk_peer_info_t *info);

/* The loaded, immutable table. */
typedef struct zk_peers zk_peers_t;

/* --- field checks (KMS_EOK or KMS_EINVAL) ---------------------------------- */

/* 1..ZK_KMS_ID_MAX bytes, no spaces or control characters. */
int zk_peer_check_kms_id(const char *s);
/* https://HOST[:PORT][/path]: no user info, query or fragment, no spaces or
 * control characters, at most ZK_URL_MAX bytes. */
int zk_peer_check_url(const char *s);
/* A DNS name: labels of letters, digits and '-' (not first or last), 1..63
 * bytes each, the last not all digits, at most ZK_CERT_NAME_MAX bytes; no
 * wildcard, no final dot, no IP address. */
int zk_peer_check_cert_name(const char *s);
/* An absolute path, 2..ZK_CA_FILE_MAX bytes, no control characters. */
int zk_peer_check_ca_file(const char *s);

/* --- store operations (kmsctl) --------------------------------------------- */

/*
 * Store a new peer (creating the store if needed).  KMS_EEXIST when its
 * kms_id or cert_name (case-insensitive) is taken, KMS_EINVAL for a bad
 * field or key length, KMS_ELIMIT when the store is full, KMS_EAUTH when
 * kek does not open the peers already stored.
 */
int zk_peer_add(const char *db_path, const uint8_t kek[ZK_KEK_LEN], const zk_peer_t *p);

/* Delete a peer; KMS_ENOENT when there is none. */
int zk_peer_remove(const char *db_path, const char *kms_id);

/* Walk the peers (see zk_peer_list_fn); KMS_ENOENT when the store is missing. */
int zk_peer_list(const char *db_path, zk_peer_list_fn fn, void *ctx);

/* --- the loaded table (kmsd) ----------------------------------------------- */

/*
 * Load every peer of db_path; all keys are unwrapped here (KMS_EAUTH when
 * one does not unwrap: wrong KEK or a tampered row).  KMS_ENOENT when the
 * store is missing; an empty table is not an error.
 */
int zk_peers_load(const char *db_path, const uint8_t kek[ZK_KEK_LEN], zk_peers_t **out);

/* The peer whose kms_id is the len bytes at id, exactly or in another form
 * of the same KMS identity (identity_kms_match); NULL if none. */
const zk_peer_t *zk_peers_find_kms(const zk_peers_t *t, const uint8_t *id, size_t len);

/* The peer whose cert_name equals name (ASCII case-insensitive); NULL if none. */
const zk_peer_t *zk_peers_find_cert(const zk_peers_t *t, const char *name);

/* Number of peers, and the i-th in kms_id order (NULL when out of range). */
size_t zk_peers_count(const zk_peers_t *t);
const zk_peer_t *zk_peers_at(const zk_peers_t *t, size_t i);

/* Wipe the keys and free; NULL is a no-op. */
void zk_peers_free(zk_peers_t *t);

#endif
