/*
 * Zn over TLS: libmicrohttpd (GnuTLS) only *requests* a client
 * certificate when given a trust CA, so each Zn request on the TLS listener
 * checks its connection's GnuTLS session here: a certificate was sent, it
 * chains to the trusted CA, it may be used for TLS client authentication,
 * and its subjectAltName dNSName (or CN when there is none) is the FQDN of
 * the NAF_Id in the request.
 */
#ifndef KMS_BSF_STUB_TLS_H
#define KMS_BSF_STUB_TLS_H

#include <stddef.h>

/*
 * session: a gnutls_session_t (as libmicrohttpd hands it out).  KMS_EOK
 * when the peer is the NAF fqdn (fqdn NULL: any name, chain and purpose
 * only); KMS_EAUTH otherwise, with a constant reason in *why.
 */
int bsf_tls_peer_check(void *session, const char *fqdn, const char **why);

#endif
