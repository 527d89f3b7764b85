#include "zk/tls_peer.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/errcode.h"

/* The reason for a non-zero verification status (most telling bit first). */
static const char *status_reason(unsigned status)
{
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
		return "client certificate is not for TLS client authentication";
	}
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		return "client certificate does not chain to a trusted CA";
	}
	if (status & GNUTLS_CERT_EXPIRED) {
		return "client certificate expired";
	}
	if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		return "client certificate not yet valid";
	}
	if (status & GNUTLS_CERT_REVOKED) {
		return "client certificate revoked";
	}
	if (status & GNUTLS_CERT_SIGNATURE_FAILURE) {
		return "client certificate signature does not verify";
	}
	return "client certificate not trusted";
}

/* Step 2: the chain against the listener's trust. */
static int verify_session(gnutls_session_t s, const char **why)
{
	gnutls_typed_vdata_st data = {
		GNUTLS_DT_KEY_PURPOSE_OID,
		(unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT, 0
	};
	unsigned status = 0;
	int rc = gnutls_certificate_verify_peers(s, &data, 1, &status);
	if (rc != GNUTLS_E_SUCCESS) {
		*why = "client certificate cannot be verified";
		return KMS_EAUTH;
	}
	if (status != 0) {
		*why = status_reason(status);
		return KMS_EAUTH;
	}
	return KMS_EOK;
}

/* Note one candidate name; a second, different peer is an ambiguity. */
static void consider(const zk_peers_t *peers, const char *name, size_t len,
		     const zk_peer_t **found, bool *ambiguous)
{
	if (len == 0 || strlen(name) != len) {
		return; /* empty, or a NUL inside: never a peer's name */
	}
	const zk_peer_t *p = zk_peers_find_cert(peers, name);
	if (p == NULL) {
		return;
	}
	if (*found != NULL && *found != p) {
		*ambiguous = true;
	}
	*found = p;
}

/* Step 3: the peer the certificate names. */
static int match_peer(gnutls_x509_crt_t crt, const zk_peers_t *peers,
		      const zk_peer_t **out, const char **why)
{
	char name[ZK_CERT_NAME_MAX + 2];
	const zk_peer_t *found = NULL;
	bool ambiguous = false, any_san = false;
	for (unsigned i = 0; i < ZK_TLS_SANS_MAX; i++) {
		size_t size = sizeof(name) - 1;
		int type =
		    gnutls_x509_crt_get_subject_alt_name(crt, i, name, &size, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
			break;
		}
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) {
			any_san = true; /* too long for a cert_name: no CN fallback */
			continue;
		}
		if (type < 0) {
			*why = "client certificate subjectAltName unreadable";
			return KMS_EAUTH;
		}
		if (type == GNUTLS_SAN_DNSNAME) {
			any_san = true;
			name[size < sizeof(name) ? size : sizeof(name) - 1] = '\0';
			consider(peers, name, size, &found, &ambiguous);
		}
	}
	if (!any_san) {
		/* No DNS name: the CN, when there is exactly one. */
		size_t size = sizeof(name) - 1, extra = 0;
		char dummy[8];
		int rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						       0, 0, name, &size);
		int rc2 = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
							1, 0, dummy, &extra);
		if (rc == GNUTLS_E_SUCCESS &&
		    rc2 == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
			name[size < sizeof(name) ? size : sizeof(name) - 1] = '\0';
			consider(peers, name, size, &found, &ambiguous);
		}
	}
	if (ambiguous) {
		*why = "certificate names more than one peer";
		return KMS_EACCES;
	}
	if (found == NULL) {
		*why = "certificate of a non-peer";
		return KMS_EACCES;
	}
	*out = found;
	return KMS_EOK;
}

/* Step 4: the chain against the peer's own CA bundle. */
static int verify_peer_ca(const gnutls_datum_t *der, unsigned n, const zk_peer_t *p,
			  const char **why)
{
	gnutls_x509_crt_t crts[ZK_TLS_CHAIN_MAX];
	gnutls_x509_trust_list_t tl = NULL;
	unsigned imported = 0, status = 0;
	int ret = KMS_EAUTH;
	*why = "client certificate chain unreadable";
	for (; imported < n; imported++) {
		if (gnutls_x509_crt_init(&crts[imported]) < 0) {
			goto cleanup;
		}
		if (gnutls_x509_crt_import(crts[imported], &der[imported],
					   GNUTLS_X509_FMT_DER) < 0) {
			imported++;
			goto cleanup;
		}
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		ret = KMS_ENOMEM;
		goto cleanup;
	}
	if (gnutls_x509_trust_list_add_trust_file(tl, p->ca_file, NULL,
						  GNUTLS_X509_FMT_PEM, 0, 0) <= 0) {
		*why = "the peer's CA file cannot be read";
		ret = KMS_ECONFIG;
		goto cleanup;
	}
	gnutls_typed_vdata_st data = {
		GNUTLS_DT_KEY_PURPOSE_OID,
		(unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT, 0
	};
	int rc =
	    gnutls_x509_trust_list_verify_crt2(tl, crts, n, &data, 1, 0, &status, NULL);
	if (rc < 0 || status != 0) {
		*why = "client certificate does not chain to its peer's CA";
		goto cleanup;
	}
	ret = KMS_EOK;
cleanup:
	if (tl != NULL) {
		gnutls_x509_trust_list_deinit(tl, 1);
	}
	for (unsigned i = 0; i < imported; i++) {
		gnutls_x509_crt_deinit(crts[i]);
	}
	return ret;
}

int zk_tls_peer(void *session, const zk_peers_t *peers, const zk_peer_t **peer,
		const char **why)
{
	gnutls_session_t s = session;
	const char *w = "no TLS session";
	unsigned n = 0;
	gnutls_x509_crt_t crt = NULL;
	const gnutls_datum_t *der = NULL;
	const zk_peer_t *p = NULL;
	int ret = KMS_EAUTH;
	if (s == NULL || peer == NULL) {
		goto done;
	}
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
	    (der = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0) {
		w = "no client certificate";
		goto done;
	}
	if (n > ZK_TLS_CHAIN_MAX) {
		w = "client certificate chain too long";
		goto done;
	}
	ret = verify_session(s, &w);
	if (ret != KMS_EOK) {
		goto done;
	}
	ret = KMS_EAUTH;
	if (gnutls_x509_crt_init(&crt) < 0) {
		w = "out of memory";
		ret = KMS_ENOMEM;
		goto done;
	}
	if (gnutls_x509_crt_import(crt, &der[0], GNUTLS_X509_FMT_DER) < 0) {
		w = "client certificate unreadable";
		goto done;
	}
	ret = match_peer(crt, peers, &p, &w);
	if (ret == KMS_EOK) {
		ret = verify_peer_ca(der, n, p, &w);
	}
	if (ret == KMS_EOK) {
		*peer = p;
	}
done:
	if (crt != NULL) {
		gnutls_x509_crt_deinit(crt);
	}
	if (ret != KMS_EOK && why != NULL) {
		*why = w;
	}
	return ret;
}
