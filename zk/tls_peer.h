/*
 * The Zk listener's authorisation of a peer KMS by its TLS client
 * certificate.  libmicrohttpd (GnuTLS) only *requests* a client certificate
 * when given trust CAs (MHD_OPTION_HTTPS_MEM_TRUST), so every Zk request
 * checks its connection's session here:
 *
 *   1. a certificate was sent;
 *   2. its chain verifies against the trust the listener was given, for TLS
 *      client authentication (GNUTLS_KP_TLS_WWW_CLIENT), and is in date;
 *   3. its DNS subjectAltNames (the CN only when there is no DNS SAN) name
 *      exactly one peer's cert_name (ASCII case-insensitive);
 *   4. the chain also verifies against that peer's own ca_file, so a CA
 *      trusted for one peer cannot vouch for another.
 */
#ifndef KMS_ZK_TLS_PEER_H
#define KMS_ZK_TLS_PEER_H

#include "zk/peer.h"

#define ZK_TLS_CHAIN_MAX 16 /* certificates in a client chain */
#define ZK_TLS_SANS_MAX 64  /* subjectAltNames looked at */

/*
 * session: a gnutls_session_t (MHD_CONNECTION_INFO_GNUTLS_SESSION).
 * KMS_EOK with *peer (an entry of peers) on success.  KMS_EAUTH for steps
 * 1, 2 and 4 (no, untrusted, expired or wrong-purpose certificate);
 * KMS_EACCES when the certificate is valid but names no peer or more than
 * one; KMS_ECONFIG when the peer's ca_file cannot be read.  On failure
 * *why (if why is not NULL) gets a constant reason.  Reads the peer's
 * ca_file on every call (a few tens of microseconds for a small bundle).
 */
int zk_tls_peer(void *session, const zk_peers_t *peers, const zk_peer_t **peer,
		const char **why);

#endif
