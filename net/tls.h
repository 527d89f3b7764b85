/*
 * The server certificate and key of a TLS listener, replaceable while it
 * serves (SIGHUP): libmicrohttpd 0.9.75 fixes the credentials it was given
 * at start, but asks a certificate callback (GnuTLS
 * gnutls_certificate_retrieve_function2) on every handshake when it has
 * one, and the listener answers it from here.
 *
 * A load reads the certificate (chain) and the private key through
 * common/secret_file.h (capped; the key's PEM is wiped at once), imports
 * them into GnuTLS and checks that the key is the certificate's.  The
 * loaded set is reference counted: the store holds the current one, and
 * each connection takes a reference when it is accepted (before its
 * handshake) and drops it when it is closed, so a reload swaps the current
 * set and the old one is freed when the last connection that may still
 * use it is gone.  A failed reload keeps the current set, logs the file it
 * could not use and is counted.
 *
 * Thread safe.  Depends on common/ and GnuTLS only.
 */
#ifndef KMS_NET_TLS_H
#define KMS_NET_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>
#include <stdint.h>

typedef struct net_tls net_tls_t;
typedef struct net_tls_creds net_tls_creds_t;

typedef struct {
	const char *cert; /* PEM certificate, then any intermediates */
	const char *key;  /* PEM private key of the first certificate */
	size_t file_max;  /* cap on each file (1..SECRET_FILE_MAX) */
	unsigned flags;	  /* SECRET_FILE_* for reading them */
	const char *tag;  /* names the listener in logs ("Ua") */
} net_tls_cfg_t;

typedef struct {
	uint64_t generation; /* loads that succeeded, the first included */
	uint64_t failures;   /* reloads refused (the current set kept) */
	unsigned live;	     /* sets still allocated: current + old in use */
} net_tls_stats_t;

/* Load cfg's files (errors logged, naming the file): a secret_file_read()
 * error, KMS_ECONFIG (empty, not PEM, no certificate, key mismatch). */
int net_tls_new(const net_tls_cfg_t *cfg, net_tls_t **out);

/* Re-read the files named at net_tls_new(); on success new connections get
 * the new set.  On failure the current set stays (error logged). */
int net_tls_reload(net_tls_t *t);

void net_tls_stats(net_tls_t *t, net_tls_stats_t *out);

/* The current set, referenced (one net_tls_release() each). */
net_tls_creds_t *net_tls_acquire(net_tls_t *t);
void net_tls_release(net_tls_creds_t *c);

/* What a certificate callback answers from c (valid while referenced). */
void net_tls_creds_get(net_tls_creds_t *c, gnutls_pcert_st **pcert, unsigned *n,
		       gnutls_privkey_t *key);

/* Free t and its current set.  Only once every set acquired from t was
 * released (the listener stops MHD first); NULL is a no-op. */
void net_tls_free(net_tls_t *t);

#endif
