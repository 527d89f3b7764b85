/*
 * Pre-shared-key source: how the KMS finds the key that protects a
 * REQUEST_INIT or RESOLVE_INIT, and whose KMS user identities it belongs to.
 *
 * Backends: static (SQLite table managed by kmsctl psk, kms/psk_static.c)
 * and GBA (the NAF key Ks_(ext)_NAF from the BSF over Zn, kms/naf.c),
 * chosen by kms.psk_source.  The key is looked up by the IDRpsk ID Data when
 * the message has IDRpsk, else by the requester's KMS user identity
 * (docs/mikey-profile.md row 4).
 */
#ifndef KMS_KMS_PSK_H
#define KMS_KMS_PSK_H

#include <stddef.h>
#include <stdint.h>

#include "net/wait.h"

#define KMS_PSK_MAX 32	     /* key bytes (16 or 32) */
#define KMS_PSK_IDS_MAX 8    /* KMS user identities per PSK owner */
#define KMS_IDENTITY_MAX 256 /* bytes of one KMS user identity (NAI) */

typedef struct {
	uint8_t key[KMS_PSK_MAX];
	size_t key_len;
	size_t nids;
	char ids[KMS_PSK_IDS_MAX][KMS_IDENTITY_MAX + 1]; /* NUL-terminated NAIs */
	int64_t expires;				 /* Unix seconds; 0 = no expiry */
} kms_psk_t;

typedef struct kms_psk_source kms_psk_source_t;
struct kms_psk_source {
	/*
	 * Find the PSK named by psk_id (len bytes, not NUL-terminated) and write
	 * it to *out.  KMS_EAUTH when unknown, KMS_EBTID for an unknown or
	 * expired GBA B-TID, KMS_EUNAVAIL when the backend cannot answer.
	 * Must be safe to call from many threads at once.
	 */
	int (*lookup)(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
		      kms_psk_t *out);
	void (*free)(kms_psk_source_t *src);
	/*
	 * Optional (NULL: lookup is never slow): the same for a caller that can
	 * park its request.  When the key needs a call to another server, the
	 * call is started (or joined), w is armed (net/wait.h) and the answer
	 * is KMS_EINPROGRESS: the caller parks the request and, once w is
	 * woken, calls again with the same w, which then answers from what the
	 * call left (the cache, or its failure).  A request waits at most
	 * twice; then it gets a definite answer.
	 */
	int (*lookup_async)(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
			    kms_psk_t *out, net_wait_t *w);
};

/* Wipe a looked-up key (every path that got one calls this). */
void kms_psk_wipe(kms_psk_t *psk); /* the key bytes; identities stay */

/* True when identity (len bytes) is one of psk's KMS user identities. */
int kms_psk_has_identity(const kms_psk_t *psk, const uint8_t *id, size_t len);

#endif
