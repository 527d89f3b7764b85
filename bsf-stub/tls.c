#include "bsf-stub/tls.h"

#include <stdint.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/errcode.h"

int bsf_tls_peer_check(void *session, const char *fqdn, const char **why)
{
	gnutls_session_t s = session;
	const char *w = NULL;
	unsigned status = 0, n = 0;

	if (s == NULL || (fqdn != NULL && fqdn[0] == '\0')) {
		w = "no TLS session";
	} else if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
		   gnutls_certificate_get_peers(s, &n) == NULL || n == 0) {
		w = "no client certificate";
	} else {
		gnutls_typed_vdata_st data[2] = {
			{ GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)(uintptr_t)fqdn, 0 },
			{ GNUTLS_DT_KEY_PURPOSE_OID,
			  (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT, 0 },
		};
		/* Without fqdn: chain and purpose only (data[0] skipped). */
		gnutls_typed_vdata_st *d = fqdn != NULL ? data : data + 1;
		int rc =
		    gnutls_certificate_verify_peers(s, d, fqdn != NULL ? 2 : 1, &status);
		if (rc != GNUTLS_E_SUCCESS) {
			w = "client certificate cannot be verified";
		} else if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
			w = "client certificate is not for the NAF_Id's FQDN";
		} else if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
			w = "client certificate is not for TLS client authentication";
		} else if (status != 0) {
			w = "client certificate does not chain to the trusted CA (or "
			    "expired)";
		}
	}
	if (w != NULL) {
		if (why != NULL) {
			*why = w;
		}
		return KMS_EAUTH;
	}
	return KMS_EOK;
}
