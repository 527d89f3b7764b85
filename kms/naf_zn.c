/*
 * Zn JSON bodies.  Every field of an answer is type checked; unknown fields
 * are ignored (a BSF may add some); duplicates are refused by the decoder.
 */
#include "kms/naf_zn.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/psk_static.h"
#include "policy/identity.h"

#define RAND_LEN 16
#define RAND_B64_LEN 24 /* base64 of 16 bytes, with "==" */
#define SUBJECT_LEN 24	/* "btid:" + a prefix of the B-TID, as kms/naf.c logs */

static bool printable(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			return false;
		}
	}
	return true;
}

int naf_zn_btid_check(const uint8_t *s, size_t len)
{
	if (s == NULL || len == 0 || len > NAF_ZN_BTID_MAX || !printable(s, len)) {
		return KMS_EINVAL;
	}
	const uint8_t *at = memchr(s, '@', len);
	if (at == NULL || at == s || at == s + len - 1) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

int naf_zn_btid_shaped(const uint8_t *s, size_t len)
{
	if (naf_zn_btid_check(s, len) != KMS_EOK) {
		return 0;
	}
	const uint8_t *at = memchr(s, '@', len);
	uint8_t rand[RAND_LEN + 3];
	size_t n = 0;
	if ((size_t)(at - s) != RAND_B64_LEN ||
	    base64_decode((const char *)s, RAND_B64_LEN, rand, sizeof(rand), &n) !=
		KMS_EOK) {
		return 0;
	}
	return n == RAND_LEN;
}

int naf_zn_request(const char *btid, const uint8_t *naf_id, size_t naf_id_len, char **out)
{
	if (btid == NULL || naf_id == NULL || naf_id_len == 0 || out == NULL ||
	    naf_zn_btid_check((const uint8_t *)btid, strlen(btid)) != KMS_EOK) {
		return KMS_EINVAL;
	}
	size_t cap = base64_encoded_len(naf_id_len) + 1;
	char *b64 = malloc(cap);
	if (b64 == NULL) {
		return KMS_ENOMEM;
	}
	int ret = base64_encode(naf_id, naf_id_len, b64, cap);
	json_t *o = NULL;
	if (ret == KMS_EOK) {
		o = json_pack("{s:s, s:s, s:b}", "transaction_identifier", btid, "naf_id",
			      b64, "gba_u_awareness", 0);
		ret = o != NULL ? KMS_EOK : KMS_ENOMEM;
	}
	if (ret == KMS_EOK) {
		char *s = json_dumps(o, JSON_COMPACT);
		if (s == NULL) {
			ret = KMS_ENOMEM;
		} else {
			*out = s;
		}
	}
	json_decref(o);
	free(b64);
	return ret;
}

/* --- answers ---------------------------------------------------------------- */

/* A string member: NULL when absent; *bad when present but no string. */
static const char *get_str(const json_t *o, const char *name, size_t max, bool *bad)
{
	const json_t *v = json_object_get(o, name);
	if (v == NULL) {
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* A non-negative integer member; *present tells whether it was there. */
static int get_time(const json_t *o, const char *name, int64_t *out, bool *present)
{
	const json_t *v = json_object_get(o, name);
	*present = v != NULL;
	if (v == NULL) {
		return KMS_EOK;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		return KMS_EMALFORMED;
	}
	*out = (int64_t)json_integer_value(v);
	return KMS_EOK;
}

int naf_zn_add_impu(const char *uri, const char *subj, naf_zn_answer_t *a)
{
	size_t len = uri != NULL ? strnlen(uri, NAF_ZN_IMPU_MAX + 1) : 0;
	if (len == 0 || len > NAF_ZN_IMPU_MAX || a == NULL) {
		return KMS_EMALFORMED;
	}
	a->impus_seen++;
	char id[KMS_IDENTITY_MAX + 1];
	size_t n = 0;
	const char *why = NULL;
	char shown[LOG_ESCAPED_SIZE(64)]; /* the BSF's bytes, escaped */
	log_escape(shown, sizeof(shown), uri, len < 64 ? len : 64);
	if (identity_normalise(IDENTITY_ID_URI, (const uint8_t *)uri, len, id, sizeof(id),
			       &n, &why) != KMS_EOK) {
		log_req_debug(subj, "Zn: IMPU '%s' skipped: %s", shown, why);
		a->impus_skipped++;
		return KMS_EOK;
	}
	if (psk_static_check_identity(id) != KMS_EOK) {
		log_req_debug(subj, "Zn: IMPU '%s' skipped: not a PSK identity", shown);
		a->impus_skipped++;
		return KMS_EOK;
	}
	for (size_t i = 0; i < a->psk.nids; i++) {
		if (strcmp(a->psk.ids[i], id) == 0) {
			a->impus_skipped++;
			return KMS_EOK;
		}
	}
	if (a->psk.nids == KMS_PSK_IDS_MAX) {
		a->impus_skipped++;
		return KMS_EOK;
	}
	memcpy(a->psk.ids[a->psk.nids++], id, n + 1);
	return KMS_EOK;
}

/* A JSON IMPU: a string without a NUL inside, then as any other. */
static int add_impu(const json_t *v, const char *subj, naf_zn_answer_t *a)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		return KMS_EMALFORMED;
	}
	return naf_zn_add_impu(json_string_value(v), subj, a);
}

static int parse_guss(const json_t *guss, const char *btid, naf_zn_answer_t *a)
{
	char subj[SUBJECT_LEN];
	snprintf(subj, sizeof(subj), "btid:%.10s...", btid);
	if (!json_is_object(guss)) {
		return KMS_EMALFORMED;
	}
	const json_t *uss = json_object_get(guss, "uss");
	if (!json_is_array(uss) || json_array_size(uss) > NAF_ZN_USS_MAX) {
		return KMS_EMALFORMED;
	}
	for (size_t i = 0; i < json_array_size(uss); i++) {
		const json_t *u = json_array_get(uss, i);
		bool bad = false;
		if (!json_is_object(u)) {
			return KMS_EMALFORMED;
		}
		(void)get_str(u, "naf_group", NAF_ZN_IMPU_MAX, &bad);
		const json_t *impus = json_object_get(u, "impus");
		if (bad || !json_is_array(impus) ||
		    json_array_size(impus) > NAF_ZN_IMPUS_MAX) {
			return KMS_EMALFORMED;
		}
		for (size_t k = 0; k < json_array_size(impus); k++) {
			int ret = add_impu(json_array_get(impus, k), subj, a);
			if (ret != KMS_EOK) {
				return ret;
			}
		}
	}
	return KMS_EOK;
}

static int parse_key(const json_t *o, naf_zn_answer_t *a)
{
	bool bad = false;
	const char *b64 = get_str(o, "me_key_material", 64, &bad);
	uint8_t key[48];
	size_t n = 0;
	if (b64 == NULL) {
		return KMS_EMALFORMED;
	}
	int ret = base64_decode(b64, strlen(b64), key, sizeof(key), &n);
	if (ret == KMS_EOK && (n == 16 || n == 32)) {
		memcpy(a->psk.key, key, n);
		a->psk.key_len = n;
	} else {
		ret = KMS_EMALFORMED;
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

static int parse_answer(const json_t *o, const char *btid, int64_t now,
			naf_zn_answer_t *a)
{
	bool bad = false;
	if (!json_is_object(o)) {
		return KMS_EMALFORMED;
	}
	const char *tid = get_str(o, "transaction_identifier", NAF_ZN_BTID_MAX, &bad);
	const char *impi = get_str(o, "user_name", NAF_ZN_IMPI_MAX, &bad);
	const char *type = get_str(o, "gba_type", 8, &bad);
	if (bad || tid == NULL || impi == NULL ||
	    !printable((const uint8_t *)impi, strlen(impi))) {
		return KMS_EMALFORMED;
	}
	if (type != NULL && strcmp(type, "3G") != 0 && strcmp(type, "2G") != 0) {
		return KMS_EMALFORMED;
	}
	bool has_exp = false, has_created = false;
	int64_t exp = 0;
	int ret = get_time(o, "key_expiry_time", &exp, &has_exp);
	if (ret == KMS_EOK) {
		ret = get_time(o, "bootstrap_info_creation_time", &a->created,
			       &has_created);
	}
	if (ret != KMS_EOK || !has_exp || exp == 0 || (has_created && a->created > exp)) {
		return KMS_EMALFORMED;
	}
	const json_t *ua = json_object_get(o, "gba_u_awareness");
	if (ua != NULL && !json_is_boolean(ua)) {
		return KMS_EMALFORMED;
	}
	const json_t *guss = json_object_get(o, "guss");
	if (guss == NULL) {
		return KMS_EMALFORMED; /* without IMPUs nobody could be served */
	}
	ret = parse_key(o, a);
	if (ret == KMS_EOK) {
		ret = parse_guss(guss, btid, a);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	snprintf(a->impi, sizeof(a->impi), "%s", impi);
	a->psk.expires = exp;
	/* Checked last: a well-formed answer about another or a dead B-TID. */
	if (strcmp(tid, btid) != 0 || exp <= now) {
		return KMS_EBTID;
	}
	return KMS_EOK;
}

int naf_zn_parse(const char *body, size_t len, const char *btid, int64_t now,
		 naf_zn_answer_t *out)
{
	if (body == NULL || btid == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	if (len == 0 || len > NAF_ZN_BODY_MAX) {
		return KMS_EMALFORMED;
	}
	json_error_t jerr;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		return KMS_EMALFORMED;
	}
	naf_zn_answer_t *a = secmem_alloc(sizeof(*a));
	int ret = a != NULL ? parse_answer(o, btid, now, a) : KMS_ENOMEM;
	if (ret == KMS_EOK) {
		memcpy(out, a, sizeof(*a));
	}
	secmem_free(a, sizeof(*a));
	json_decref(o);
	return ret;
}

static void copy_reason(const json_t *o, char *reason, size_t cap)
{
	const char *names[] = { "reason", "error" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const json_t *v = json_object_get(o, names[i]);
		if (!json_is_string(v)) {
			continue;
		}
		const char *s = json_string_value(v);
		size_t n = 0;
		while (s[n] != '\0' && n + 1 < cap && s[n] > 0x20 && s[n] < 0x7f) {
			reason[n] = s[n];
			n++;
		}
		reason[n] = '\0';
		return;
	}
}

int naf_zn_status(long status, const char *body, size_t len, char *reason, size_t cap)
{
	if (reason != NULL && cap > 0) {
		reason[0] = '\0';
		if (body != NULL && len > 0 && len <= NAF_ZN_BODY_MAX) {
			json_error_t jerr;
			json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
			if (json_is_object(o)) {
				copy_reason(o, reason, cap);
			}
			json_decref(o);
		}
	}
	switch (status) {
	case 400:
	case 404:
		return KMS_EBTID;
	case 403:
		return KMS_EPOLICY;
	default:
		return KMS_EUNAVAIL;
	}
}
