/*
 * dia/zn_msg.c and dia/zn_dict.c over libfdproto only (no core, no
 * connection): BIRs and BIAs built, bufferized into wire bytes, parsed
 * back against the dictionary and decoded; the header, AVP codes, flags,
 * vendors and values on the wire; the NTP time conversion across 2036;
 * every cap of dia/zn.h (over it: KMS_EMALFORMED, never a truncation);
 * missing required AVPs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "dia/zn_msg.h"
#include "tests/unit/unit.h"

static struct dictionary *dict;
static dia_zn_dict_t zd;

static const uint8_t naf_id[] = { 'n', 'a', 'f', '.', 't', 'e', 's', 't', 1, 0, 0, 0, 6 };

/* --- helpers ------------------------------------------------------------ */

static struct avp *add_os(void *parent, struct dict_object *model, const void *p,
			  size_t len)
{
	struct avp *a = NULL;
	union avp_value v;
	memset(&v, 0, sizeof(v));
	v.os.data = (uint8_t *)(uintptr_t)p;
	v.os.len = len;
	CU_ASSERT_FATAL(fd_msg_avp_new(model, 0, &a) == 0);
	CU_ASSERT_FATAL(fd_msg_avp_setvalue(a, &v) == 0);
	CU_ASSERT_FATAL(fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) == 0);
	return a;
}

static void add_u32(void *parent, struct dict_object *model, uint32_t u)
{
	struct avp *a = NULL;
	union avp_value v;
	memset(&v, 0, sizeof(v));
	v.u32 = u;
	CU_ASSERT_FATAL(fd_msg_avp_new(model, 0, &a) == 0);
	CU_ASSERT_FATAL(fd_msg_avp_setvalue(a, &v) == 0);
	CU_ASSERT_FATAL(fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) == 0);
}

/* Session-Id first, Origin-Host and Origin-Realm: what the core adds. */
static void add_session_origin(struct msg *m, const char *host)
{
	struct avp *a = NULL;
	union avp_value v;
	const char *sid = "naf.test;1;2";
	memset(&v, 0, sizeof(v));
	v.os.data = (uint8_t *)(uintptr_t)sid;
	v.os.len = strlen(sid);
	CU_ASSERT_FATAL(fd_msg_avp_new(zd.session_id, 0, &a) == 0);
	CU_ASSERT_FATAL(fd_msg_avp_setvalue(a, &v) == 0);
	CU_ASSERT_FATAL(fd_msg_avp_add(m, MSG_BRW_FIRST_CHILD, a) == 0);
	add_os(m, zd.origin_host, host, strlen(host));
	add_os(m, zd.origin_realm, "test", 4);
}

/* To wire bytes and back: bufferize, parse, resolve with the dictionary. */
static struct msg *roundtrip(struct msg *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct msg *out = NULL;
	struct fd_pei pei;
	CU_ASSERT_FATAL(fd_msg_update_length(m) == 0);
	CU_ASSERT_FATAL(fd_msg_bufferize(m, &buf, &len) == 0);
	fd_msg_free(m);
	CU_ASSERT_FATAL(fd_msg_parse_buffer(&buf, len, &out) == 0);
	memset(&pei, 0, sizeof(pei));
	CU_ASSERT_FATAL(fd_msg_parse_dict(out, dict, &pei) == 0);
	return out;
}

static int rules_ok(struct msg *m)
{
	struct fd_pei pei;
	memset(&pei, 0, sizeof(pei));
	int rc = fd_msg_parse_rules(m, dict, &pei);
	if (pei.pei_avp_free)
		fd_msg_free(pei.pei_avp);
	return rc == 0;
}

/* The first top-level AVP with this vendor and code, or NULL. */
static struct avp_hdr *find(struct msg *m, uint32_t vendor, uint32_t code)
{
	struct avp *a = NULL;
	fd_msg_browse(m, MSG_BRW_FIRST_CHILD, &a, NULL);
	for (; a != NULL; fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL)) {
		struct avp_hdr *h = NULL;
		fd_msg_avp_hdr(a, &h);
		uint32_t v = (h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0;
		if (v == vendor && h->avp_code == code)
			return h;
	}
	return NULL;
}

static void check_zn_flags(struct avp_hdr *h)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->avp_flags & (AVP_FLAG_VENDOR | AVP_FLAG_MANDATORY),
			AVP_FLAG_VENDOR | AVP_FLAG_MANDATORY);
	CU_ASSERT_EQUAL(h->avp_vendor, DIA_VENDOR_3GPP);
}

static struct msg *new_bia(void)
{
	struct msg *m = NULL;
	CU_ASSERT_FATAL(fd_msg_new(zd.cmd_bia, 0, &m) == 0);
	add_session_origin(m, "bsf.test");
	return m;
}

/* A BIA with a good result and *bia's AVPs, through the wire, decoded. */
static int bia_wire(const dia_zn_bia_t *in, dia_zn_bia_t *out, struct msg **keep)
{
	struct msg *m = new_bia();
	CU_ASSERT_FATAL(dia_zn_bia_fill(&zd, m, in) == KMS_EOK);
	m = roundtrip(m);
	dia_zn_bia_init(out);
	int rc = dia_zn_bia_decode(&zd, m, out);
	if (keep != NULL)
		*keep = m;
	else
		fd_msg_free(m);
	return rc;
}

/* --- tests -------------------------------------------------------------- */

static void test_dict_twice(void)
{
	dia_zn_dict_t again;
	CU_ASSERT_EQUAL(dia_zn_dict_load(dict, &again), 0);
	CU_ASSERT_PTR_EQUAL(again.app, zd.app);
	CU_ASSERT_PTR_EQUAL(again.cmd_bir, zd.cmd_bir);
	CU_ASSERT_PTR_EQUAL(again.zn[5], zd.zn[5]);
	struct dict_application_data ad;
	CU_ASSERT_FATAL(fd_dict_getval(zd.app, &ad) == 0);
	CU_ASSERT_EQUAL(ad.application_id, DIA_ZN_APP_ID);
}

static void test_bir_wire(void)
{
	struct msg *m = NULL;
	const char *btid = "AbCd012345@bsf.realm.test";
	CU_ASSERT_FATAL(dia_zn_bir_build(&zd, btid, naf_id, sizeof(naf_id), true, &m) ==
			KMS_EOK);
	add_session_origin(m, "naf.test");
	m = roundtrip(m);
	CU_ASSERT(rules_ok(m));
	struct msg_hdr *mh = NULL;
	CU_ASSERT_FATAL(fd_msg_hdr(m, &mh) == 0);
	CU_ASSERT_EQUAL(mh->msg_code, DIA_ZN_CMD_BI);
	CU_ASSERT_EQUAL(mh->msg_appl, DIA_ZN_APP_ID);
	CU_ASSERT_EQUAL(mh->msg_flags &
			    (CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | CMD_FLAG_ERROR),
			CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE);
	struct avp_hdr *h = find(m, DIA_VENDOR_3GPP, DIA_AVP_TRANSACTION_IDENTIFIER);
	check_zn_flags(h);
	CU_ASSERT_EQUAL(h->avp_value->os.len, strlen(btid));
	CU_ASSERT(memcmp(h->avp_value->os.data, btid, strlen(btid)) == 0);
	h = find(m, DIA_VENDOR_3GPP, DIA_AVP_NAF_ID);
	check_zn_flags(h);
	CU_ASSERT(h->avp_value->os.len == sizeof(naf_id) &&
		  memcmp(h->avp_value->os.data, naf_id, sizeof(naf_id)) == 0);
	h = find(m, DIA_VENDOR_3GPP, DIA_AVP_GBA_U_AWARENESS_INDICATOR);
	check_zn_flags(h);
	CU_ASSERT_EQUAL(h->avp_value->i32, 1);
	h = find(m, 0, AC_DESTINATION_REALM);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT(h->avp_value->os.len == 14 &&
		  memcmp(h->avp_value->os.data, "bsf.realm.test", 14) == 0);
	CU_ASSERT_PTR_NULL(find(m, 0, AC_DESTINATION_HOST));
	CU_ASSERT_PTR_NOT_NULL(find(m, 0, AC_VENDOR_SPECIFIC_APPLICATION_ID));
	h = find(m, 0, 277); /* Auth-Session-State */
	CU_ASSERT(h != NULL && h->avp_value->i32 == 1);

	dia_zn_bir_t bir;
	uint32_t missing = 1;
	CU_ASSERT_EQUAL(dia_zn_bir_decode(&zd, m, &bir, &missing, NULL), KMS_EOK);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_STRING_EQUAL(bir.btid, btid);
	CU_ASSERT(bir.naf_id_len == sizeof(naf_id) &&
		  memcmp(bir.naf_id, naf_id, sizeof(naf_id)) == 0);
	CU_ASSERT(bir.gba_u);
	CU_ASSERT_STRING_EQUAL(bir.origin_host, "naf.test");
	CU_ASSERT_STRING_EQUAL(bir.session_id, "naf.test;1;2");
	fd_msg_free(m);
}

static void test_bir_build_refuses(void)
{
	struct msg *m = NULL;
	char big[DIA_ZN_BTID_MAX + 10];
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 7, "@realm", 7);
	CU_ASSERT_EQUAL(dia_zn_bir_build(&zd, big, naf_id, sizeof(naf_id), false, &m),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    dia_zn_bir_build(&zd, "nodomain", naf_id, sizeof(naf_id), false, &m),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(dia_zn_bir_build(&zd, "x@", naf_id, sizeof(naf_id), false, &m),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(dia_zn_bir_build(&zd, "x@r", naf_id, 0, false, &m), KMS_EINVAL);
	CU_ASSERT_PTR_NULL(m);
}

/* A BIR by hand: Transaction-Identifier of btid_len bytes, NAF-Id if naf. */
static struct msg *bir_by_hand(size_t btid_len, bool naf)
{
	struct msg *m = NULL;
	CU_ASSERT_FATAL(fd_msg_new(zd.cmd_bir, MSGFL_ALLOC_ETEID, &m) == 0);
	add_session_origin(m, "naf.test");
	char *b = malloc(btid_len + 1);
	CU_ASSERT_FATAL(b != NULL);
	memset(b, 'b', btid_len);
	add_os(m, zd.zn[DIA_AVP_TRANSACTION_IDENTIFIER - 400], b, btid_len);
	free(b);
	if (naf)
		add_os(m, zd.zn[DIA_AVP_NAF_ID - 400], naf_id, sizeof(naf_id));
	return roundtrip(m);
}

static void test_bir_caps_missing(void)
{
	dia_zn_bir_t bir;
	uint32_t missing = 0;
	struct avp *bad = NULL;
	struct msg *m = bir_by_hand(DIA_ZN_BTID_MAX, true);
	CU_ASSERT_EQUAL(dia_zn_bir_decode(&zd, m, &bir, &missing, &bad), KMS_EOK);
	CU_ASSERT_EQUAL(strlen(bir.btid), DIA_ZN_BTID_MAX);
	fd_msg_free(m);
	m = bir_by_hand(DIA_ZN_BTID_MAX + 1, true);
	CU_ASSERT_EQUAL(dia_zn_bir_decode(&zd, m, &bir, &missing, &bad), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_PTR_NOT_NULL(bad);
	fd_msg_free(m);
	m = bir_by_hand(10, false);
	CU_ASSERT_FALSE(rules_ok(m)); /* NAF-Id is required by the rules too */
	CU_ASSERT_EQUAL(dia_zn_bir_decode(&zd, m, &bir, &missing, &bad), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(missing, DIA_AVP_NAF_ID);
	fd_msg_free(m);
}

static void test_ntp(void)
{
	CU_ASSERT_EQUAL(dia_ntp_from_unix(0), 2208988800u);
	CU_ASSERT_EQUAL(dia_ntp_to_unix(2208988800u), 0);
	CU_ASSERT_EQUAL(dia_ntp_from_unix(1700000000), 3908988800u);
	/* 2036-02-07 06:28:16 UTC: NTP era 1 starts at 0. */
	CU_ASSERT_EQUAL(dia_ntp_from_unix(2085978496LL), 0u);
	CU_ASSERT_EQUAL(dia_ntp_to_unix(0), 2085978496LL);
	CU_ASSERT_EQUAL(dia_ntp_from_unix(2100000000LL), 14021504u);
	CU_ASSERT_EQUAL(dia_ntp_to_unix(14021504u), 2100000000LL);
	CU_ASSERT_EQUAL(dia_ntp_to_unix(0xffffffffu), 2085978495LL);
	CU_ASSERT_EQUAL(dia_ntp_to_unix(0x80000000u), 2147483648LL - 2208988800LL);
	/* Outside 1968..2104: clamped, never wrapped into the other era. */
	CU_ASSERT_EQUAL(dia_ntp_from_unix(-100000000LL), 0x80000000u);
	CU_ASSERT_EQUAL(dia_ntp_from_unix(5000000000LL), 0x7fffffffu);
}

static void fill_good(dia_zn_bia_t *b)
{
	dia_zn_bia_init(b);
	b->result_code = DIA_RC_SUCCESS;
	snprintf(b->impi, sizeof(b->impi), "user@ims.test");
	for (int i = 0; i < 32; i++) {
		b->me_key[i] = (uint8_t)i;
		b->uicc_key[i] = (uint8_t)(0x80 + i);
	}
	b->me_key_len = 32;
	b->uicc_key_len = 16;
	b->key_expiry = 2100000000LL;
	b->created = 1700000000LL;
	b->gba_type = 1;
	b->guss = strdup("<guss/>");
	b->guss_len = 7;
}

static void test_bia_wire(void)
{
	dia_zn_bia_t in, out;
	struct msg *m = NULL;
	fill_good(&in);
	CU_ASSERT_EQUAL_FATAL(bia_wire(&in, &out, &m), KMS_EOK);
	CU_ASSERT(rules_ok(m));
	struct msg_hdr *mh = NULL;
	CU_ASSERT_FATAL(fd_msg_hdr(m, &mh) == 0);
	CU_ASSERT_EQUAL(mh->msg_code, DIA_ZN_CMD_BI);
	CU_ASSERT_EQUAL(mh->msg_appl, DIA_ZN_APP_ID);
	CU_ASSERT_EQUAL(mh->msg_flags & CMD_FLAG_REQUEST, 0);
	for (unsigned c = 404; c <= 410; c++) {
		if (c == 407 || c == 409)
			continue;
		check_zn_flags(find(m, DIA_VENDOR_3GPP, c));
	}
	check_zn_flags(find(m, DIA_VENDOR_3GPP, DIA_AVP_GBA_USERSECSETTINGS));
	/* Key-ExpiryTime on the wire: 4 bytes of NTP time, era 1. */
	struct avp_hdr *h = find(m, DIA_VENDOR_3GPP, DIA_AVP_KEY_EXPIRYTIME);
	static const uint8_t exp_ntp[4] = { 0x00, 0xd5, 0xf3, 0x80 }; /* 14021504 */
	CU_ASSERT(h->avp_value->os.len == 4 &&
		  memcmp(h->avp_value->os.data, exp_ntp, 4) == 0);
	CU_ASSERT_PTR_NULL(find(m, 0, 297));
	CU_ASSERT_EQUAL(out.result_code, 2001);
	CU_ASSERT_EQUAL(out.exp_result_code, 0);
	CU_ASSERT_STRING_EQUAL(out.impi, "user@ims.test");
	CU_ASSERT(out.me_key_len == 32 && memcmp(out.me_key, in.me_key, 32) == 0);
	CU_ASSERT(out.uicc_key_len == 16 && memcmp(out.uicc_key, in.uicc_key, 16) == 0);
	CU_ASSERT_EQUAL(out.key_expiry, 2100000000LL);
	CU_ASSERT_EQUAL(out.created, 1700000000LL);
	CU_ASSERT_EQUAL(out.gba_type, 1);
	CU_ASSERT(out.guss_len == 7 && out.guss != NULL &&
		  strcmp(out.guss, "<guss/>") == 0);
	CU_ASSERT_STRING_EQUAL(out.origin_host, "bsf.test");
	dia_zn_bia_clear(&out);
	CU_ASSERT_EQUAL(out.me_key_len, 0);
	CU_ASSERT_EQUAL(out.me_key[0], 0);
	CU_ASSERT_EQUAL(out.me_key[31], 0);
	CU_ASSERT_PTR_NULL(out.guss);
	CU_ASSERT_EQUAL(out.key_expiry, -1);
	dia_zn_bia_clear(&in);
	fd_msg_free(m);
}

static void test_bia_exp_result(void)
{
	dia_zn_bia_t in, out;
	struct msg *m = NULL;
	dia_zn_bia_init(&in);
	in.exp_result_code = DIA_EXP_TRANSACTION_IDENTIFIER_INVALID;
	CU_ASSERT_EQUAL_FATAL(bia_wire(&in, &out, &m), KMS_EOK);
	CU_ASSERT(rules_ok(m));
	CU_ASSERT_PTR_NULL(find(m, 0, AC_RESULT_CODE));
	struct avp *er = NULL;
	CU_ASSERT_FATAL(fd_msg_search_avp(m, zd.exp_result, &er) == 0 && er != NULL);
	struct avp *c = NULL;
	uint32_t vendor = 0, code = 0;
	fd_msg_browse(er, MSG_BRW_FIRST_CHILD, &c, NULL);
	for (; c != NULL; fd_msg_browse(c, MSG_BRW_NEXT, &c, NULL)) {
		struct avp_hdr *h = NULL;
		fd_msg_avp_hdr(c, &h);
		if (h->avp_code == AC_VENDOR_ID)
			vendor = h->avp_value->u32;
		if (h->avp_code == 298)
			code = h->avp_value->u32;
	}
	CU_ASSERT_EQUAL(vendor, DIA_VENDOR_3GPP);
	CU_ASSERT_EQUAL(code, 5403);
	CU_ASSERT_EQUAL(out.exp_result_code, 5403);
	CU_ASSERT_EQUAL(out.result_code, 0);
	CU_ASSERT_EQUAL(out.me_key_len, 0);
	CU_ASSERT_EQUAL(out.key_expiry, -1);
	CU_ASSERT_EQUAL(out.gba_type, -1);
	dia_zn_bia_clear(&out);
	fd_msg_free(m);
}

/* A good BIA plus one AVP of len bytes (model), through the wire. */
static int bia_plus(struct dict_object *model, size_t len)
{
	dia_zn_bia_t in, out;
	fill_good(&in);
	in.me_key_len = 0;
	in.impi[0] = '\0';
	free(in.guss);
	in.guss = NULL;
	struct msg *m = new_bia();
	CU_ASSERT_FATAL(dia_zn_bia_fill(&zd, m, &in) == KMS_EOK);
	uint8_t *p = malloc(len + 1);
	CU_ASSERT_FATAL(p != NULL);
	memset(p, 'x', len);
	add_os(m, model, p, len);
	free(p);
	m = roundtrip(m);
	dia_zn_bia_init(&out);
	int rc = dia_zn_bia_decode(&zd, m, &out);
	if (rc != KMS_EOK) {
		/* Cleared on failure: nothing half-decoded is left. */
		CU_ASSERT_EQUAL(out.result_code, 0);
		CU_ASSERT_PTR_NULL(out.guss);
		CU_ASSERT_EQUAL(out.uicc_key_len, 0);
	}
	dia_zn_bia_clear(&out);
	dia_zn_bia_clear(&in);
	fd_msg_free(m);
	return rc;
}

static void test_bia_caps(void)
{
	CU_ASSERT_EQUAL(bia_plus(zd.user_name, DIA_ZN_IMPI_MAX), KMS_EOK);
	CU_ASSERT_EQUAL(bia_plus(zd.user_name, DIA_ZN_IMPI_MAX + 1), KMS_EMALFORMED);
	struct dict_object *me = zd.zn[DIA_AVP_ME_KEY_MATERIAL - 400];
	CU_ASSERT_EQUAL(bia_plus(me, DIA_ZN_KEY_MAX), KMS_EOK);
	CU_ASSERT_EQUAL(bia_plus(me, DIA_ZN_KEY_MAX + 1), KMS_EMALFORMED);
	struct dict_object *guss = zd.zn[DIA_AVP_GBA_USERSECSETTINGS - 400];
	CU_ASSERT_EQUAL(bia_plus(guss, DIA_ZN_GUSS_MAX), KMS_EOK);
	CU_ASSERT_EQUAL(bia_plus(guss, DIA_ZN_GUSS_MAX + 1), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(bia_plus(zd.origin_host, DIA_ZN_HOST_MAX + 1), KMS_EMALFORMED);
	/* A time that is not 4 bytes; a second UICC key (already in fill_good). */
	CU_ASSERT_EQUAL(bia_plus(zd.zn[DIA_AVP_BOOTSTRAPINFOCREATIONTIME - 400], 8),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(bia_plus(zd.zn[DIA_AVP_UICC_KEY_MATERIAL - 400], 16),
			KMS_EMALFORMED);
}

static void test_bia_result_codes(void)
{
	dia_zn_bia_t out;
	/* No result at all. */
	struct msg *m = new_bia();
	m = roundtrip(m);
	dia_zn_bia_init(&out);
	CU_ASSERT_EQUAL(dia_zn_bia_decode(&zd, m, &out), KMS_EMALFORMED);
	fd_msg_free(m);
	/* Both a Result-Code and an Experimental-Result. */
	dia_zn_bia_t in;
	dia_zn_bia_init(&in);
	in.exp_result_code = 5401;
	m = new_bia();
	CU_ASSERT_FATAL(dia_zn_bia_fill(&zd, m, &in) == KMS_EOK);
	add_u32(m, zd.result_code, 2001);
	m = roundtrip(m);
	CU_ASSERT_EQUAL(dia_zn_bia_decode(&zd, m, &out), KMS_EMALFORMED);
	fd_msg_free(m);
	/* An Experimental-Result of another vendor means nothing to us. */
	m = new_bia();
	struct avp *g = NULL;
	CU_ASSERT_FATAL(fd_msg_avp_new(zd.exp_result, 0, &g) == 0);
	add_u32(g, zd.vendor_id, 9999);
	add_u32(g, zd.exp_result_code, 5001);
	CU_ASSERT_FATAL(fd_msg_avp_add(m, MSG_BRW_LAST_CHILD, g) == 0);
	m = roundtrip(m);
	CU_ASSERT_EQUAL(dia_zn_bia_decode(&zd, m, &out), KMS_EMALFORMED);
	fd_msg_free(m);
	/* A protocol error (3002) is an answer like another. */
	dia_zn_bia_init(&in);
	in.result_code = DIA_RC_UNABLE_TO_DELIVER;
	CU_ASSERT_EQUAL(bia_wire(&in, &out, NULL), KMS_EOK);
	CU_ASSERT_EQUAL(out.result_code, 3002);
	dia_zn_bia_clear(&out);
}

int main(void)
{
	if (fd_libproto_init() != 0 || fd_dict_init(&dict) != 0 ||
	    fd_dict_base_protocol(dict) != 0 || dia_zn_dict_load(dict, &zd) != 0) {
		fprintf(stderr,
			"test_dia_codec: freeDiameter dictionary set-up failed\n");
		return 99;
	}
	static const unit_test_t tests[] = {
		UNIT_TEST(test_dict_twice),
		UNIT_TEST(test_bir_wire),
		UNIT_TEST(test_bir_build_refuses),
		UNIT_TEST(test_bir_caps_missing),
		UNIT_TEST(test_ntp),
		UNIT_TEST(test_bia_wire),
		UNIT_TEST(test_bia_exp_result),
		UNIT_TEST(test_bia_caps),
		UNIT_TEST(test_bia_result_codes),
		UNIT_END,
	};
	int rc = unit_run("dia_codec", tests);
	fd_dict_fini(&dict);
	fd_libproto_fini();
	return rc;
}
