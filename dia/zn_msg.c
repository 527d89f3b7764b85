/*
 * The BIR/BIA codec over libfdproto: build the AVPs of a message, decode
 * a parsed message into dia_zn_bir_t / dia_zn_bia_t with every length
 * checked against its cap first (over a cap is KMS_EMALFORMED, never a
 * truncation).  No connection, no core: the unit tests drive it directly.
 */
#include "dia/zn_msg.h"

#include "common/errcode.h"
#include "common/secmem.h"

#include <stdlib.h>
#include <string.h>

/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
#define NTP_UNIX_OFFSET 2208988800LL
/* Unix time of the start of NTP era 1 (2036-02-07 06:28:16 UTC). */
#define NTP_ERA1_UNIX (4294967296LL - NTP_UNIX_OFFSET)

/*
 * RFC 6733 section 4.3.1 (Time) refers to SNTP (RFC 4330 section 3) for
 * the overflow in 2036: a value with the top bit set counts from 1900
 * (1968..2036), one with the top bit clear from 2036 (2036..2104).  Times
 * outside 1968..2104 are clamped to the ends of that window.
 */
uint32_t dia_ntp_from_unix(int64_t unix_s)
{
	const int64_t lo = 0x80000000LL - NTP_UNIX_OFFSET; /* 1968-01-20 */
	const int64_t hi = NTP_ERA1_UNIX + 0x7fffffffLL;   /* 2104-02-26 */
	if (unix_s < lo)
		unix_s = lo;
	if (unix_s > hi)
		unix_s = hi;
	return (uint32_t)((uint64_t)(unix_s + NTP_UNIX_OFFSET) & 0xffffffffu);
}

int64_t dia_ntp_to_unix(uint32_t ntp)
{
	if (ntp & 0x80000000u)
		return (int64_t)ntp - NTP_UNIX_OFFSET;
	return (int64_t)ntp + NTP_ERA1_UNIX;
}

/* --- Building ----------------------------------------------------------- */

static int add_os(void *parent, struct dict_object *model, const void *data, size_t len)
{
	struct avp *a = NULL;
	union avp_value v;
	memset(&v, 0, sizeof(v));
	v.os.data = (uint8_t *)(uintptr_t)data;
	v.os.len = len;
	if (fd_msg_avp_new(model, 0, &a) != 0)
		return KMS_ENOMEM;
	if (fd_msg_avp_setvalue(a, &v) != 0 ||
	    fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0) {
		fd_msg_free(a);
		return KMS_ENOMEM;
	}
	return KMS_EOK;
}

static int add_num(void *parent, struct dict_object *model, uint32_t u, bool is_i32)
{
	struct avp *a = NULL;
	union avp_value v;
	memset(&v, 0, sizeof(v));
	if (is_i32)
		v.i32 = (int32_t)u;
	else
		v.u32 = u;
	if (fd_msg_avp_new(model, 0, &a) != 0)
		return KMS_ENOMEM;
	if (fd_msg_avp_setvalue(a, &v) != 0 ||
	    fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0) {
		fd_msg_free(a);
		return KMS_ENOMEM;
	}
	return KMS_EOK;
}

static int add_time(void *parent, struct dict_object *model, int64_t unix_s)
{
	uint32_t ntp = dia_ntp_from_unix(unix_s);
	uint8_t b[4] = { (uint8_t)(ntp >> 24), (uint8_t)(ntp >> 16), (uint8_t)(ntp >> 8),
			 (uint8_t)ntp };
	return add_os(parent, model, b, sizeof(b));
}

/* A grouped AVP with Vendor-Id 10415 and one Unsigned32 child. */
static int add_vendor_group(void *parent, const dia_zn_dict_t *d,
			    struct dict_object *group, struct dict_object *child,
			    uint32_t val)
{
	struct avp *g = NULL;
	if (fd_msg_avp_new(group, 0, &g) != 0)
		return KMS_ENOMEM;
	int rc = add_num(g, d->vendor_id, DIA_VENDOR_3GPP, false);
	if (rc == KMS_EOK)
		rc = add_num(g, child, val, false);
	if (rc == KMS_EOK && fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, g) != 0)
		rc = KMS_ENOMEM;
	if (rc != KMS_EOK)
		fd_msg_free(g);
	return rc;
}

/* Auth-Session-State NO_STATE_MAINTAINED and Vendor-Specific-Application-Id. */
static int add_app(void *msg, const dia_zn_dict_t *d)
{
	int rc = add_vendor_group(msg, d, d->vsai, d->auth_app_id, DIA_ZN_APP_ID);
	if (rc == KMS_EOK)
		rc = add_num(msg, d->auth_session_state, 1, true);
	return rc;
}

int dia_zn_bir_build(const dia_zn_dict_t *d, const char *btid, const uint8_t *naf_id,
		     size_t naf_id_len, bool gba_u, struct msg **out)
{
	*out = NULL;
	if (btid == NULL || naf_id == NULL || naf_id_len == 0 ||
	    naf_id_len > DIA_ZN_NAF_ID_MAX)
		return KMS_EINVAL;
	size_t blen = strnlen(btid, DIA_ZN_BTID_MAX + 1);
	const char *at = strrchr(btid, '@');
	if (blen > DIA_ZN_BTID_MAX || at == NULL || at[1] == '\0' || at == btid)
		return KMS_EINVAL;
	struct msg *m = NULL;
	if (fd_msg_new(d->cmd_bir, MSGFL_ALLOC_ETEID, &m) != 0)
		return KMS_ENOMEM;
	int rc = add_app(m, d);
	if (rc == KMS_EOK)
		rc = add_os(m, d->dest_realm, at + 1, strlen(at + 1));
	if (rc == KMS_EOK)
		rc = add_os(m, d->zn[DIA_AVP_TRANSACTION_IDENTIFIER - 400], btid, blen);
	if (rc == KMS_EOK)
		rc = add_os(m, d->zn[DIA_AVP_NAF_ID - 400], naf_id, naf_id_len);
	if (rc == KMS_EOK && gba_u)
		rc = add_num(m, d->zn[DIA_AVP_GBA_U_AWARENESS_INDICATOR - 400], 1, true);
	if (rc != KMS_EOK) {
		fd_msg_free(m);
		return rc;
	}
	*out = m;
	return KMS_EOK;
}

int dia_zn_bia_fill(const dia_zn_dict_t *d, struct msg *ans, const dia_zn_bia_t *bia)
{
	int rc;
	if (bia->result_code != 0)
		rc = add_num(ans, d->result_code, bia->result_code, false);
	else
		rc = add_vendor_group(ans, d, d->exp_result, d->exp_result_code,
				      bia->exp_result_code);
	if (rc == KMS_EOK)
		rc = add_app(ans, d);
	size_t ilen = strnlen(bia->impi, sizeof(bia->impi));
	if (rc == KMS_EOK && ilen > 0)
		rc = add_os(ans, d->user_name, bia->impi, ilen);
	if (rc == KMS_EOK && bia->me_key_len > 0)
		rc = add_os(ans, d->zn[DIA_AVP_ME_KEY_MATERIAL - 400], bia->me_key,
			    bia->me_key_len);
	if (rc == KMS_EOK && bia->uicc_key_len > 0)
		rc = add_os(ans, d->zn[DIA_AVP_UICC_KEY_MATERIAL - 400], bia->uicc_key,
			    bia->uicc_key_len);
	if (rc == KMS_EOK && bia->key_expiry >= 0)
		rc = add_time(ans, d->zn[DIA_AVP_KEY_EXPIRYTIME - 400], bia->key_expiry);
	if (rc == KMS_EOK && bia->created >= 0)
		rc = add_time(ans, d->zn[DIA_AVP_BOOTSTRAPINFOCREATIONTIME - 400],
			      bia->created);
	if (rc == KMS_EOK && bia->guss != NULL && bia->guss_len > 0)
		rc = add_os(ans, d->zn[DIA_AVP_GBA_USERSECSETTINGS - 400], bia->guss,
			    bia->guss_len);
	if (rc == KMS_EOK && bia->gba_type >= 0)
		rc = add_num(ans, d->zn[DIA_AVP_GBA_TYPE - 400], (uint32_t)bia->gba_type,
			     true);
	return rc;
}

/* --- Decoding ----------------------------------------------------------- */

/* The AVP's header; avp_value is NULL for a grouped AVP and for one the
 * dictionary does not know. */
static struct avp_hdr *hdr_of(struct avp *a)
{
	struct avp_hdr *h = NULL;
	if (fd_msg_avp_hdr(a, &h) != 0)
		return NULL;
	return h;
}

static bool is_avp(const struct avp_hdr *h, uint32_t vendor, uint32_t code)
{
	uint32_t v = (h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0;
	return v == vendor && h->avp_code == code;
}

/* Copy an OctetString into a C string of room bytes: no NUL inside. */
static int copy_str(char *dst, size_t room, const struct avp_hdr *h)
{
	const union avp_value *v = h->avp_value;
	if (v->os.len >= room || memchr(v->os.data, '\0', v->os.len) != NULL)
		return KMS_EMALFORMED;
	memcpy(dst, v->os.data, v->os.len);
	dst[v->os.len] = '\0';
	return KMS_EOK;
}

static int bir_avp(const struct avp_hdr *h, dia_zn_bir_t *bir, unsigned *seen)
{
	const union avp_value *v = h->avp_value;
	if (is_avp(h, 0, AC_SESSION_ID))
		return copy_str(bir->session_id, sizeof(bir->session_id), h);
	if (is_avp(h, 0, AC_ORIGIN_HOST))
		return copy_str(bir->origin_host, sizeof(bir->origin_host), h);
	if (is_avp(h, DIA_VENDOR_3GPP, DIA_AVP_TRANSACTION_IDENTIFIER)) {
		*seen |= 1;
		if (v->os.len == 0)
			return KMS_EMALFORMED;
		return copy_str(bir->btid, sizeof(bir->btid), h);
	}
	if (is_avp(h, DIA_VENDOR_3GPP, DIA_AVP_NAF_ID)) {
		*seen |= 2;
		if (v->os.len == 0 || v->os.len > sizeof(bir->naf_id))
			return KMS_EMALFORMED;
		memcpy(bir->naf_id, v->os.data, v->os.len);
		bir->naf_id_len = v->os.len;
		return KMS_EOK;
	}
	if (is_avp(h, DIA_VENDOR_3GPP, DIA_AVP_GBA_U_AWARENESS_INDICATOR)) {
		if (v->i32 != 0 && v->i32 != 1)
			return KMS_EMALFORMED;
		bir->gba_u = v->i32 == 1;
	}
	return KMS_EOK;
}

int dia_zn_bir_decode(const dia_zn_dict_t *d, struct msg *msg, dia_zn_bir_t *bir,
		      uint32_t *missing, struct avp **invalid)
{
	(void)d;
	memset(bir, 0, sizeof(*bir));
	if (missing != NULL)
		*missing = 0;
	if (invalid != NULL)
		*invalid = NULL;
	unsigned seen = 0;
	struct avp *a = NULL;
	if (fd_msg_browse(msg, MSG_BRW_FIRST_CHILD, &a, NULL) != 0)
		return KMS_EMALFORMED;
	for (; a != NULL; fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL)) {
		struct avp_hdr *h = hdr_of(a);
		if (h != NULL && h->avp_value != NULL &&
		    bir_avp(h, bir, &seen) != KMS_EOK) {
			if (invalid != NULL)
				*invalid = a;
			return KMS_EMALFORMED;
		}
	}
	if ((seen & 3) != 3) {
		if (missing != NULL)
			*missing =
			    (seen & 1) ? DIA_AVP_NAF_ID : DIA_AVP_TRANSACTION_IDENTIFIER;
		return KMS_EMALFORMED;
	}
	return KMS_EOK;
}

/* Experimental-Result { Vendor-Id, Experimental-Result-Code }. */
static int exp_result(struct avp *g, dia_zn_bia_t *bia)
{
	uint32_t vendor = 0, code = 0;
	struct avp *a = NULL;
	if (fd_msg_browse(g, MSG_BRW_FIRST_CHILD, &a, NULL) != 0)
		return KMS_EMALFORMED;
	for (; a != NULL; fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL)) {
		struct avp_hdr *h = hdr_of(a);
		if (h == NULL || h->avp_value == NULL)
			continue;
		if (is_avp(h, 0, AC_VENDOR_ID))
			vendor = h->avp_value->u32;
		else if (is_avp(h, 0, 298)) /* Experimental-Result-Code */
			code = h->avp_value->u32;
	}
	/* Only 3GPP's codes mean something here (see dia/zn.h on 5001). */
	if (vendor != DIA_VENDOR_3GPP || code == 0 || bia->exp_result_code != 0)
		return KMS_EMALFORMED;
	bia->exp_result_code = code;
	return KMS_EOK;
}

static int copy_key(uint8_t *dst, size_t *dst_len, const union avp_value *v)
{
	if (*dst_len != 0 || v->os.len == 0 || v->os.len > DIA_ZN_KEY_MAX)
		return KMS_EMALFORMED;
	memcpy(dst, v->os.data, v->os.len);
	*dst_len = v->os.len;
	/* The parsed copy inside freeDiameter's message: not needed again. */
	secmem_wipe(v->os.data, v->os.len);
	return KMS_EOK;
}

static int get_time(int64_t *dst, const union avp_value *v)
{
	if (v->os.len != 4 || *dst != -1)
		return KMS_EMALFORMED;
	const uint8_t *b = v->os.data;
	uint32_t ntp =
	    (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	*dst = dia_ntp_to_unix(ntp);
	return KMS_EOK;
}

static int get_guss(dia_zn_bia_t *bia, const union avp_value *v)
{
	if (bia->guss != NULL || v->os.len > DIA_ZN_GUSS_MAX)
		return KMS_EMALFORMED;
	bia->guss = malloc(v->os.len + 1);
	if (bia->guss == NULL)
		return KMS_ENOMEM;
	memcpy(bia->guss, v->os.data, v->os.len);
	bia->guss[v->os.len] = '\0';
	bia->guss_len = v->os.len;
	return KMS_EOK;
}

static int bia_avp(struct avp *a, const struct avp_hdr *h, dia_zn_bia_t *bia)
{
	const union avp_value *v = h->avp_value;
	if (is_avp(h, 0, 297)) /* Experimental-Result (grouped) */
		return exp_result(a, bia);
	if (v == NULL)
		return KMS_EOK;
	if (is_avp(h, 0, AC_RESULT_CODE)) {
		if (bia->result_code != 0 || v->u32 == 0)
			return KMS_EMALFORMED;
		bia->result_code = v->u32;
		return KMS_EOK;
	}
	if (is_avp(h, 0, AC_ORIGIN_HOST))
		return copy_str(bia->origin_host, sizeof(bia->origin_host), h);
	if (is_avp(h, 0, AC_USER_NAME))
		return bia->impi[0] ? KMS_EMALFORMED
				    : copy_str(bia->impi, sizeof(bia->impi), h);
	if (h->avp_code < 400 || h->avp_code > 410 ||
	    !is_avp(h, DIA_VENDOR_3GPP, h->avp_code))
		return KMS_EOK;
	switch (h->avp_code) {
	case DIA_AVP_ME_KEY_MATERIAL:
		return copy_key(bia->me_key, &bia->me_key_len, v);
	case DIA_AVP_UICC_KEY_MATERIAL:
		return copy_key(bia->uicc_key, &bia->uicc_key_len, v);
	case DIA_AVP_KEY_EXPIRYTIME:
		return get_time(&bia->key_expiry, v);
	case DIA_AVP_BOOTSTRAPINFOCREATIONTIME:
		return get_time(&bia->created, v);
	case DIA_AVP_GBA_USERSECSETTINGS:
		return get_guss(bia, v);
	case DIA_AVP_GBA_TYPE:
		if (bia->gba_type != -1 || (v->i32 != 0 && v->i32 != 1))
			return KMS_EMALFORMED;
		bia->gba_type = v->i32;
		return KMS_EOK;
	default:
		return KMS_EOK;
	}
}

int dia_zn_bia_decode(const dia_zn_dict_t *d, struct msg *msg, dia_zn_bia_t *bia)
{
	(void)d;
	struct avp *a = NULL;
	int rc = KMS_EOK;
	if (fd_msg_browse(msg, MSG_BRW_FIRST_CHILD, &a, NULL) != 0)
		rc = KMS_EMALFORMED;
	for (; rc == KMS_EOK && a != NULL; fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL)) {
		struct avp_hdr *h = hdr_of(a);
		if (h != NULL)
			rc = bia_avp(a, h, bia);
	}
	/* Exactly one of Result-Code and Experimental-Result. */
	if (rc == KMS_EOK && (bia->result_code == 0) == (bia->exp_result_code == 0))
		rc = KMS_EMALFORMED;
	if (rc != KMS_EOK)
		dia_zn_bia_clear(bia);
	return rc;
}
