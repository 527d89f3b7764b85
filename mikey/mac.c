/*
 * V payload MAC (RFC 6043 5.5): the covered byte ranges of the message are
 * handed to the HMAC as a scatter list, so nothing is copied.
 */
#include "mikey/mac.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"

/* Appended pieces one MAC may carry (two identities, or one INIT message). */
#define MAC_EXTRA_MAX 4
/* Message ranges: the whole prefix, or the two sides of the Initiator Data. */
#define MAC_RANGES_MAX 2
/* HDR's fixed part: version .. CS ID map type (RFC 3830 6.1). */
#define HDR_FIXED 10

size_t mikey_v_key_len(uint8_t alg)
{
	switch (alg) {
	case MIKEY_MAC_HMAC_SHA1_160:
		return CRYPTO_SHA1_LEN;
	case MIKEY_MAC_HMAC_SHA256_256:
		return CRYPTO_SHA256_LEN;
	default:
		return 0;
	}
}

/* The digest of a V Auth alg; KMS_EHA for NULL and unknown algorithms. */
static int mac_md(uint8_t alg, crypto_md_t *md)
{
	switch (alg) {
	case MIKEY_MAC_HMAC_SHA1_160:
		*md = CRYPTO_MD_SHA1;
		return KMS_EOK;
	case MIKEY_MAC_HMAC_SHA256_256:
		*md = CRYPTO_MD_SHA256;
		return KMS_EOK;
	default:
		return KMS_EHA;
	}
}

/* The key has exactly the length of the algorithm (RFC 3830 4.1.4). */
static int mac_key_check(uint8_t alg, const uint8_t *key, size_t key_len)
{
	if (key == NULL || key_len != mikey_v_key_len(alg)) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

/*
 * The covered ranges of m's own bytes: [0, mac_off), minus the TICKET's
 * Initiator Data length field and Initiator Data in a TRANSFER_INIT.
 * Returns the number of ranges (1 or 2) or a negative KMS_E* code.
 */
static int mac_ranges(const mikey_msg_t *m, size_t mac_off, crypto_iov_t *iov)
{
	if (m->hdr.data_type == MIKEY_DT_TRANSFER_INIT && m->has_ticket &&
	    m->ticket_index < m->n && m->p[m->ticket_index].type == MIKEY_PT_TICKET) {
		const mikey_payload_t *tk = &m->p[m->ticket_index];
		size_t skip = 2 + m->ticket.init_data.len;
		size_t from = tk->off + m->ticket.init_len_off;
		/* The excluded field lies inside the TICKET, before the MAC. */
		if (m->ticket.init_len_off > tk->len ||
		    skip > tk->len - m->ticket.init_len_off || tk->off > mac_off ||
		    tk->len > mac_off - tk->off) {
			return KMS_EINTERNAL;
		}
		iov[0].data = m->buf;
		iov[0].len = from;
		iov[1].data = m->buf + from + skip;
		iov[1].len = mac_off - (from + skip);
		return 2;
	}
	iov[0].data = m->buf;
	iov[0].len = mac_off;
	return 1;
}

int mikey_mac_compute(const mikey_msg_t *m, const uint8_t *key, size_t key_len,
		      const mikey_bytes_t *extra, size_t nextra, uint8_t *mac)
{
	crypto_iov_t iov[MAC_RANGES_MAX + MAC_EXTRA_MAX];
	uint8_t out[CRYPTO_MD_MAX];
	crypto_md_t md;
	int rc;

	if (m == NULL || mac == NULL || (nextra > 0 && extra == NULL) ||
	    nextra > MAC_EXTRA_MAX) {
		return KMS_EINVAL;
	}
	const mikey_v_t *v = mikey_msg_v(m);
	if (v == NULL) {
		return KMS_EPAYLOAD;
	}
	rc = mac_md(v->alg, &md);
	if (rc != KMS_EOK) {
		return rc;
	}
	rc = mac_key_check(v->alg, key, key_len);
	if (rc != KMS_EOK) {
		return rc;
	}
	size_t mac_off = mikey_msg_v_mac_off(m);
	size_t mac_len = (size_t)mikey_mac_len(v->alg);
	if (mac_off == 0 || mac_off > m->len || mac_len > m->len - mac_off) {
		return KMS_EINTERNAL;
	}
	rc = mac_ranges(m, mac_off, iov);
	if (rc < 0) {
		return rc;
	}
	size_t n = (size_t)rc;
	for (size_t i = 0; i < nextra; i++) {
		if (extra[i].data == NULL && extra[i].len > 0) {
			return KMS_EINVAL;
		}
		iov[n].data = extra[i].data;
		iov[n].len = extra[i].len;
		n++;
	}
	rc = crypto_hmac(md, key, key_len, iov, n, out);
	if (rc == KMS_EOK) {
		memcpy(mac, out, mac_len);
	}
	secmem_wipe(out, sizeof(out));
	return rc;
}

int mikey_mac_verify(const mikey_msg_t *m, const uint8_t *key, size_t key_len,
		     const mikey_bytes_t *extra, size_t nextra)
{
	uint8_t mac[MIKEY_MAC_MAX];

	if (m == NULL) {
		return KMS_EINVAL;
	}
	const mikey_v_t *v = mikey_msg_v(m);
	if (v == NULL) {
		return KMS_EPAYLOAD;
	}
	int rc = mikey_mac_compute(m, key, key_len, extra, nextra, mac);
	if (rc == KMS_EOK) {
		size_t mac_len = (size_t)mikey_mac_len(v->alg);
		if (v->mac.data == NULL || v->mac.len != mac_len ||
		    !secmem_eq(mac, v->mac.data, mac_len)) {
			rc = KMS_EMAC;
		}
	}
	secmem_wipe(mac, sizeof(mac));
	return rc;
}

int mikey_mac_sign(uint8_t *buf, size_t len, const uint8_t *key, size_t key_len,
		   const mikey_bytes_t *extra, size_t nextra)
{
	uint8_t mac[MIKEY_MAC_MAX];
	int rc;

	if (buf == NULL) {
		return KMS_EINVAL;
	}
	/* A decoded message is large; keep it off small thread stacks. */
	mikey_msg_t *m = malloc(sizeof(*m));
	if (m == NULL) {
		return KMS_ENOMEM;
	}
	rc = mikey_msg_decode(buf, len, m);
	if (rc != KMS_EOK) {
		goto cleanup;
	}
	rc = mikey_mac_compute(m, key, key_len, extra, nextra, mac);
	if (rc != KMS_EOK) {
		goto cleanup;
	}
	const mikey_v_t *v = mikey_msg_v(m);
	memcpy(buf + mikey_msg_v_mac_off(m), mac, (size_t)mikey_mac_len(v->alg));
cleanup:
	secmem_wipe(mac, sizeof(mac));
	free(m);
	return rc;
}

int mikey_mac_sign_last(uint8_t *buf, size_t len, uint8_t alg, const uint8_t *key,
			size_t key_len, const mikey_bytes_t *extra, size_t nextra)
{
	crypto_iov_t iov[1 + MAC_EXTRA_MAX];
	uint8_t out[CRYPTO_MD_MAX];
	crypto_md_t md;

	if (buf == NULL || (nextra > 0 && extra == NULL) || nextra > MAC_EXTRA_MAX) {
		return KMS_EINVAL;
	}
	int rc = mac_md(alg, &md);
	if (rc == KMS_EOK) {
		rc = mac_key_check(alg, key, key_len);
	}
	if (rc != KMS_EOK) {
		return rc;
	}
	/* HDR (version, data type, ...) first; V = next payload 0, alg, MAC last. */
	size_t mac_len = (size_t)mikey_mac_len(alg);
	if (len < HDR_FIXED + 2 + mac_len || buf[1] == MIKEY_DT_TRANSFER_INIT ||
	    buf[len - mac_len - 2] != MIKEY_PT_LAST || buf[len - mac_len - 1] != alg) {
		return KMS_EINVAL;
	}
	size_t mac_off = len - mac_len;
	iov[0].data = buf;
	iov[0].len = mac_off;
	for (size_t i = 0; i < nextra; i++) {
		if (extra[i].data == NULL && extra[i].len > 0) {
			return KMS_EINVAL;
		}
		iov[1 + i].data = extra[i].data;
		iov[1 + i].len = extra[i].len;
	}
	rc = crypto_hmac(md, key, key_len, iov, 1 + nextra, out);
	if (rc == KMS_EOK) {
		memcpy(buf + mac_off, out, mac_len);
	}
	secmem_wipe(out, sizeof(out));
	return rc;
}

int mikey_init_data_mac(const uint8_t *init_data, size_t len, size_t vr_mac_off,
			uint8_t alg, const uint8_t *key, size_t key_len, uint8_t *mac)
{
	uint8_t out[CRYPTO_MD_MAX];
	crypto_md_t md;

	if (init_data == NULL || mac == NULL) {
		return KMS_EINVAL;
	}
	int rc = mac_md(alg, &md);
	if (rc != KMS_EOK) {
		return rc;
	}
	rc = mac_key_check(alg, key, key_len);
	if (rc != KMS_EOK) {
		return rc;
	}
	size_t mac_len = (size_t)mikey_mac_len(alg);
	/* Vr's MAC follows its Auth alg byte and fits in the Initiator Data. */
	if (vr_mac_off == 0 || vr_mac_off > len || mac_len > len - vr_mac_off) {
		return KMS_EINVAL;
	}
	crypto_iov_t iov = { init_data, vr_mac_off };
	rc = crypto_hmac(md, key, key_len, &iov, 1, out);
	if (rc == KMS_EOK) {
		memcpy(mac, out, mac_len);
	}
	secmem_wipe(out, sizeof(out));
	return rc;
}
