/*
 * The NAF over Diameter: the meaning of each kind of BIA (naf_dia_answer),
 * and the lookups (asynchronous and blocking) with the BIR sent to an
 * in-test stand-in for dia_zn_send_bir (naf_dia_sender_set) whose
 * callbacks the test runs when it chooses: no freeDiameter peer needed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "dia/zn.h"
#include "kms/config.h"
#include "kms/naf.h"
#include "kms/naf_dia.h"
#include "net/wait.h"
#include "tests/unit/unit.h"

#define BTID "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example.org"
#define NOW 1700000000
#define SUBJ "btid:test"

static char guss_xml[2048];

/* A GUSS with one USS holding uids (XML text of <uid> elements). */
static const char *guss_with(const char *uids)
{
	snprintf(guss_xml, sizeof(guss_xml),
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		 "<guss xmlns=\"uri:3gpp-gba\" id=\"alice\">"
		 "<bsfInfo><uiccType>GBA</uiccType></bsfInfo>"
		 "<ussList><uss id=\"1\" type=\"1\" nafGroup=\"kms\">"
		 "<uids>%s</uids><flags><flag>1</flag></flags></uss></ussList>"
		 "</guss>",
		 uids);
	return guss_xml;
}

/* A BIA as the BSF sends it for a good B-TID: 2001, a 32-byte ME key
 * 00 01 .. 1f valid an hour, the IMPI, 3G, and a GUSS for alice. */
static void bia_ok(dia_zn_bia_t *b)
{
	memset(b, 0, sizeof(*b));
	b->result_code = DIA_RC_SUCCESS;
	snprintf(b->impi, sizeof(b->impi), "alice@ims.example.org");
	for (size_t i = 0; i < 32; i++) {
		b->me_key[i] = (uint8_t)i;
	}
	b->me_key_len = 32;
	b->key_expiry = NOW + 3600;
	b->created = NOW - 60;
	b->gba_type = 0;
	b->guss = (char *)guss_with("<uid>sip:alice@example.org</uid>"
				    "<uid>tel:+15551234</uid>"
				    "<uid>sip:alice@example.org</uid>");
	b->guss_len = strlen(b->guss);
	snprintf(b->origin_host, sizeof(b->origin_host), "bsf.example.org");
}

static const char *why;

static int answer(const dia_zn_bia_t *b, naf_zn_answer_t *a)
{
	why = NULL;
	int ret = naf_dia_answer(b, NOW, SUBJ, a, &why);
	/* A reason exactly for the answers that cannot be used. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_EQUAL(why[0] != '\0', ret == KMS_EMALFORMED);
	return ret;
}

/* --- the meaning of a BIA ---------------------------------------------------------- */

static void given_success_bia_when_mapped_then_key_impi_expiry_and_uid_identities(void)
{
	dia_zn_bia_t b;
	naf_zn_answer_t a;
	bia_ok(&b);
	CU_ASSERT_EQUAL_FATAL(answer(&b, &a), KMS_EOK);
	CU_ASSERT_EQUAL(a.psk.key_len, 32);
	CU_ASSERT_EQUAL(a.psk.key[0], 0x00);
	CU_ASSERT_EQUAL(a.psk.key[31], 0x1f);
	CU_ASSERT_EQUAL(a.psk.expires, NOW + 3600);
	CU_ASSERT_EQUAL(a.created, NOW - 60);
	CU_ASSERT_STRING_EQUAL(a.impi, "alice@ims.example.org");
	CU_ASSERT_EQUAL_FATAL(a.psk.nids, 1);
	CU_ASSERT_STRING_EQUAL(a.psk.ids[0], "alice@example.org");
	CU_ASSERT_EQUAL(a.impus_seen, 3);
	CU_ASSERT_EQUAL(a.impus_skipped, 2); /* tel:, duplicate */
	/* A 16-byte key, as the JSON answer allows, and GBA-Type absent. */
	b.me_key_len = 16;
	b.gba_type = -1;
	b.created = -1;
	CU_ASSERT_EQUAL_FATAL(answer(&b, &a), KMS_EOK);
	CU_ASSERT_EQUAL(a.psk.key_len, 16);
	CU_ASSERT_EQUAL(a.created, 0);
	secmem_wipe(&a, sizeof(a));
}

static void given_uids_of_several_uss_when_mapped_then_normalised_as_json_impus(void)
{
	dia_zn_bia_t b;
	naf_zn_answer_t a;
	bia_ok(&b);
	snprintf(guss_xml, sizeof(guss_xml),
		 "<guss xmlns=\"uri:3gpp-gba\" id=\"x\"><ussList>"
		 "<uss id=\"1\" type=\"1\"><uids><uid>&lt;SIP:Bob@Example.ORG:5060;"
		 "transport=tcp&gt;</uid><uid>sip:*@example.org</uid></uids></uss>"
		 "<uss id=\"2\" type=\"1\" nafGroup=\"g\"><uids>"
		 "<uid>carol@Example.org</uid><uid>mailto:x@example.org</uid>"
		 "</uids></uss></ussList></guss>");
	b.guss_len = strlen(guss_xml);
	CU_ASSERT_EQUAL_FATAL(answer(&b, &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(a.psk.nids, 2);
	CU_ASSERT_STRING_EQUAL(a.psk.ids[0], "Bob@example.org"); /* as from JSON */
	CU_ASSERT_STRING_EQUAL(a.psk.ids[1], "carol@example.org");
	CU_ASSERT_EQUAL(a.impus_seen, 4);
	CU_ASSERT_EQUAL(a.impus_skipped, 2); /* wildcard, mailto: */
	secmem_wipe(&a, sizeof(a));
}

static void given_unknown_btid_codes_when_mapped_then_bootstrap_again(void)
{
	const uint32_t codes[] = { DIA_EXP_IMPI_UNKNOWN,
				   DIA_EXP_TRANSACTION_IDENTIFIER_INVALID,
				   DIA_EXP_USER_UNKNOWN };
	dia_zn_bia_t b;
	naf_zn_answer_t a;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		memset(&b, 0, sizeof(b));
		b.exp_result_code = codes[i];
		b.key_expiry = b.created = -1;
		b.gba_type = -1;
		CU_ASSERT_EQUAL(answer(&b, &a), KMS_EBTID);
	}
	/* 5001 as a base Result-Code is DIAMETER_AVP_UNSUPPORTED, not a user. */
	memset(&b, 0, sizeof(b));
	b.result_code = 5001;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EUNAVAIL);
}

static void given_not_authorized_when_mapped_then_policy(void)
{
	dia_zn_bia_t b;
	naf_zn_answer_t a;
	memset(&b, 0, sizeof(b));
	b.exp_result_code = DIA_EXP_NOT_AUTHORIZED;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EPOLICY);
	/* 2G GBA: a good answer this NAF refuses. */
	bia_ok(&b);
	b.gba_type = 1;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EPOLICY);
}

static void given_transient_and_other_codes_when_mapped_then_unavailable(void)
{
	const uint32_t rc[] = { DIA_RC_UNABLE_TO_DELIVER,
				DIA_RC_TOO_BUSY,
				3001,
				4001,
				4010,
				DIA_RC_UNABLE_TO_COMPLY,
				5004,
				5005,
				2002 };
	dia_zn_bia_t b;
	naf_zn_answer_t a;
	for (size_t i = 0; i < sizeof(rc) / sizeof(rc[0]); i++) {
		bia_ok(&b); /* even with a key: the code decides */
		b.result_code = rc[i];
		CU_ASSERT_EQUAL(answer(&b, &a), KMS_EUNAVAIL);
	}
	memset(&b, 0, sizeof(b));
	b.exp_result_code = 5420; /* another vendor code */
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EUNAVAIL);
}

static void given_expired_key_when_mapped_then_bootstrap_again(void)
{
	dia_zn_bia_t b;
	naf_zn_answer_t a;
	bia_ok(&b);
	b.key_expiry = NOW;
	b.created = NOW - 10;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EBTID);
	b.key_expiry = NOW + 1;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EOK);
	secmem_wipe(&a, sizeof(a));
}

static void given_unusable_success_when_mapped_then_bad_answer(void)
{
	dia_zn_bia_t b;
	naf_zn_answer_t a;
	bia_ok(&b);
	b.result_code = 0; /* no code at all */
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.exp_result_code = DIA_EXP_NOT_AUTHORIZED; /* both */
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.me_key_len = 0; /* only a UICC key: GBA_U, never asked for */
	b.uicc_key_len = 32;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "UICC"));
	bia_ok(&b);
	b.me_key_len = 24;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.impi[0] = '\0';
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.impi[3] = ' ';
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.key_expiry = -1; /* Key-ExpiryTime absent */
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.created = b.key_expiry + 1;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.gba_type = 2;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.guss = NULL; /* no identity in the NAF's group: a key naming nobody */
	b.guss_len = 0;
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EOK);
	CU_ASSERT_EQUAL(a.psk.nids, 0);
	CU_ASSERT_EQUAL(a.impus_seen, 0);
	secmem_wipe(&a, sizeof(a));
	bia_ok(&b);
	b.guss = (char *)"<guss xmlns=\"uri:3gpp-gba\"><ussList>";
	b.guss_len = strlen(b.guss);
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
	bia_ok(&b);
	b.guss = (char *)"<guss xmlns=\"urn:other\" id=\"a\"/>";
	b.guss_len = strlen(b.guss);
	CU_ASSERT_EQUAL(answer(&b, &a), KMS_EMALFORMED);
}

/* --- the lookups, with a stand-in for the Diameter peer ------------------------------- */

/* The BIRs "sent": each callback is run by the test, or at once. */
#define SENT_MAX 8
static struct {
	pthread_mutex_t lock;
	int n;
	bool answer_now; /* run the callback inside the send */
	int refuse;	 /* KMS_EOK, or what the send returns */
	dia_zn_bia_t now_bia;
	dia_zn_done_cb cb[SENT_MAX];
	void *arg[SENT_MAX];
	char btid[SENT_MAX][DIA_ZN_BTID_MAX + 1];
	unsigned timeout_ms;
} sent = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int fake_send(const char *btid, const uint8_t *naf_id, size_t naf_id_len,
		     bool gba_u, unsigned timeout_ms, dia_zn_done_cb cb, void *arg)
{
	(void)naf_id;
	if (naf_id_len == 0 || gba_u || sent.refuse != KMS_EOK) {
		return sent.refuse != KMS_EOK ? sent.refuse : KMS_EINVAL;
	}
	pthread_mutex_lock(&sent.lock);
	int i = sent.n < SENT_MAX ? sent.n++ : -1;
	if (i >= 0) {
		sent.cb[i] = cb;
		sent.arg[i] = arg;
		snprintf(sent.btid[i], sizeof(sent.btid[i]), "%s", btid);
		sent.timeout_ms = timeout_ms;
	}
	pthread_mutex_unlock(&sent.lock);
	if (i < 0) {
		return KMS_ENOMEM;
	}
	if (sent.answer_now) {
		cb(KMS_EOK, &sent.now_bia, arg);
	}
	return KMS_EOK;
}

static void sent_reset(void)
{
	pthread_mutex_lock(&sent.lock);
	sent.n = 0;
	sent.answer_now = false;
	sent.refuse = KMS_EOK;
	pthread_mutex_unlock(&sent.lock);
	naf_dia_sender_set(fake_send);
}

static void config_dia(kms_config_t *cfg)
{
	kms_config_defaults(cfg);
	cfg->naf_enabled = true;
	snprintf(cfg->naf_zn, sizeof(cfg->naf_zn), "diameter");
	snprintf(cfg->naf_diameter_conf, sizeof(cfg->naf_diameter_conf), "/nonexistent");
	cfg->naf_timeout_ms = 700;
	cfg->threads = 4;
}

static int resumed;

static void on_resume(net_wait_t *w, void *arg)
{
	(void)w;
	(void)arg;
	resumed++; /* the callbacks run on this thread */
}

static int lookup_w(kms_psk_source_t *s, kms_psk_t *out, net_wait_t *w)
{
	return s->lookup_async(s, (const uint8_t *)BTID, strlen(BTID), out, w);
}

static void given_misses_when_bia_comes_then_one_bir_all_woken_and_cached(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	kms_psk_t out;
	naf_stats_t st;
	net_wait_t w[3];
	dia_zn_bia_t b;
	memset(w, 0, sizeof(w));
	resumed = 0;
	sent_reset();
	kms_clock_fake_start(1000000, NOW);
	config_dia(&cfg);
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	/* No outbound thread: the BIR needs none. */
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(lookup_w(s, &out, &w[i]), KMS_EINPROGRESS);
		CU_ASSERT(net_wait_park(&w[i], on_resume, NULL));
	}
	CU_ASSERT_EQUAL_FATAL(sent.n, 1);
	CU_ASSERT_STRING_EQUAL(sent.btid[0], BTID);
	CU_ASSERT_EQUAL(sent.timeout_ms, 700);
	kms_clock_fake_advance(25);
	bia_ok(&b);
	sent.cb[0](KMS_EOK, &b, sent.arg[0]);
	CU_ASSERT_EQUAL(resumed, 3);
	for (int i = 0; i < 3; i++) {
		memset(&out, 0, sizeof(out));
		CU_ASSERT_EQUAL(lookup_w(s, &out, &w[i]), KMS_EOK);
		CU_ASSERT_EQUAL(out.key_len, 32);
		CU_ASSERT_EQUAL(out.expires, NOW + 3600);
	}
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.misses, 3);
	CU_ASSERT_EQUAL(st.zn_joined, 2);
	CU_ASSERT_EQUAL(st.zn_requests, 1);
	CU_ASSERT_EQUAL(st.zn_errors, 0);
	CU_ASSERT_EQUAL(st.zn_duration.cum[st.zn_duration.n], 1); /* one observed */
	CU_ASSERT_DOUBLE_EQUAL(st.zn_duration.sum, 0.025, 1e-9);  /* the fake clock */
	CU_ASSERT_EQUAL(sent.n, 1);
	s->free(s);
	kms_clock_fake_stop();
	kms_psk_wipe(&out);
}

/* One parked lookup ended by cb(ret, bia): what the woken request gets. */
static int ended_with(kms_psk_source_t *s, int ret, dia_zn_bia_t *bia)
{
	kms_psk_t out;
	net_wait_t w;
	memset(&w, 0, sizeof(w));
	int n = sent.n;
	if (lookup_w(s, &out, &w) != KMS_EINPROGRESS || sent.n != n + 1) {
		return -1000;
	}
	(void)net_wait_park(&w, on_resume, NULL);
	sent.cb[n](ret, bia, sent.arg[n]);
	int r = lookup_w(s, &out, &w);
	kms_psk_wipe(&out);
	return r;
}

static void given_failed_birs_when_ended_then_unavailable_counted_not_cached(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	naf_stats_t st;
	dia_zn_bia_t b;
	sent_reset();
	kms_clock_fake_start(1000000, NOW);
	config_dia(&cfg);
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	CU_ASSERT_EQUAL(ended_with(s, KMS_EUNAVAIL, NULL), KMS_EUNAVAIL); /* time-out */
	CU_ASSERT_EQUAL(ended_with(s, KMS_EMALFORMED, NULL), KMS_EUNAVAIL);
	bia_ok(&b);
	b.result_code = DIA_RC_TOO_BUSY;
	CU_ASSERT_EQUAL(ended_with(s, KMS_EOK, &b), KMS_EUNAVAIL);
	bia_ok(&b);
	b.guss_len = 5; /* cut: does not parse */
	CU_ASSERT_EQUAL(ended_with(s, KMS_EOK, &b), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.zn_requests, 4);
	CU_ASSERT_EQUAL(st.zn_unavailable, 2); /* time-out, TOO_BUSY */
	CU_ASSERT_EQUAL(st.zn_bad_answers, 2); /* malformed, bad GUSS */
	CU_ASSERT_EQUAL(st.zn_errors, 4);
	CU_ASSERT_EQUAL(st.zn_fail_run, 4);
	CU_ASSERT_EQUAL(st.entries, 0); /* nothing remembered */
	/* An unknown B-TID: remembered, and the run of failures ends. */
	memset(&b, 0, sizeof(b));
	b.exp_result_code = DIA_EXP_TRANSACTION_IDENTIFIER_INVALID;
	CU_ASSERT_EQUAL(ended_with(s, KMS_EOK, &b), KMS_EBTID);
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.zn_fail_run, 0);
	CU_ASSERT_EQUAL(st.entries, 1);
	kms_psk_t out;
	net_wait_t w;
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(lookup_w(s, &out, &w), KMS_EBTID); /* from the cache */
	CU_ASSERT_EQUAL(sent.n, 5);
	/* The peer refuses to send (sent outside the table lock): the wait is
	 * woken before it is parked, so the request runs again at once. */
	s->free(s);
	sent_reset();
	sent.refuse = KMS_EUNAVAIL;
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(lookup_w(s, &out, &w), KMS_EINPROGRESS);
	CU_ASSERT_FALSE(net_wait_park(&w, on_resume, NULL)); /* woken already */
	CU_ASSERT_EQUAL(lookup_w(s, &out, &w), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.zn_requests, 1);
	CU_ASSERT_EQUAL(st.zn_unavailable, 1);
	s->free(s);
	kms_clock_fake_stop();
}

static void given_blocking_lookup_when_bia_comes_then_key_and_cached(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	kms_psk_t out;
	naf_stats_t st;
	sent_reset();
	sent.answer_now = true;
	bia_ok(&sent.now_bia);
	sent.now_bia.key_expiry = kms_clock_wall_s() + 3600;
	config_dia(&cfg);
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	CU_ASSERT_EQUAL(s->lookup(s, (const uint8_t *)BTID, strlen(BTID), &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.key_len, 32);
	CU_ASSERT_EQUAL(s->lookup(s, (const uint8_t *)BTID, strlen(BTID), &out), KMS_EOK);
	CU_ASSERT_EQUAL(sent.n, 1); /* the second from the cache */
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.hits, 1);
	/* 5402: refused, remembered. */
	memset(&sent.now_bia, 0, sizeof(sent.now_bia));
	sent.now_bia.exp_result_code = DIA_EXP_NOT_AUTHORIZED;
	const char *other = "other@bsf.example.org";
	CU_ASSERT_EQUAL(s->lookup(s, (const uint8_t *)other, strlen(other), &out),
			KMS_EPOLICY);
	CU_ASSERT_EQUAL(s->lookup(s, (const uint8_t *)other, strlen(other), &out),
			KMS_EPOLICY);
	CU_ASSERT_EQUAL(sent.n, 2);
	s->free(s);
	kms_psk_wipe(&out);
}

/* --- the settings ------------------------------------------------------------------ */

/* Load text as a configuration file; the error in err. */
static int load_text(const char *text, kms_config_t *cfg, char *err, size_t len)
{
	char path[] = "/tmp/test_naf_dia.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	int ret = kms_config_load(path, cfg, err, len);
	unlink(path);
	return ret;
}

static void given_zn_settings_when_loaded_then_checked(void)
{
	kms_config_t cfg;
	char err[512];
	kms_config_defaults(&cfg);
	CU_ASSERT_STRING_EQUAL(cfg.naf_zn, "http");
	CU_ASSERT(!kms_config_zn_diameter(&cfg));
	CU_ASSERT_EQUAL(load_text("naf = { zn = \"smtp\"; };\n", &cfg, err, sizeof(err)),
			KMS_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "naf.zn"));
	CU_ASSERT_EQUAL(
	    load_text("naf = { zn = \"diameter\"; };\n", &cfg, err, sizeof(err)),
	    KMS_ECONFIG);
#ifdef HAVE_FREEDIAMETER
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "naf.diameter_conf"));
	CU_ASSERT_EQUAL(load_text("naf = { zn = \"diameter\";\n"
				  "  diameter_conf = \"/etc/fd.conf\"; };\n",
				  &cfg, err, sizeof(err)),
			KMS_EOK);
	CU_ASSERT(kms_config_zn_diameter(&cfg));
	CU_ASSERT_STRING_EQUAL(cfg.naf_diameter_conf, "/etc/fd.conf");
#else
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "without freeDiameter"));
#endif
	/* Restart only: a reload keeps the running transport. */
	kms_config_t run;
	kms_config_defaults(&run);
	snprintf(run.naf_zn, sizeof(run.naf_zn), "diameter");
	kms_config_defaults(&cfg);
	kms_config_keep_restart(&cfg, &run);
	CU_ASSERT(kms_config_zn_diameter(&cfg));
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_success_bia_when_mapped_then_key_impi_expiry_and_uid_identities),
		UNIT_TEST(
		    given_uids_of_several_uss_when_mapped_then_normalised_as_json_impus),
		UNIT_TEST(given_unknown_btid_codes_when_mapped_then_bootstrap_again),
		UNIT_TEST(given_not_authorized_when_mapped_then_policy),
		UNIT_TEST(given_transient_and_other_codes_when_mapped_then_unavailable),
		UNIT_TEST(given_expired_key_when_mapped_then_bootstrap_again),
		UNIT_TEST(given_unusable_success_when_mapped_then_bad_answer),
		UNIT_TEST(given_misses_when_bia_comes_then_one_bir_all_woken_and_cached),
		UNIT_TEST(
		    given_failed_birs_when_ended_then_unavailable_counted_not_cached),
		UNIT_TEST(given_blocking_lookup_when_bia_comes_then_key_and_cached),
		UNIT_TEST(given_zn_settings_when_loaded_then_checked),
		UNIT_END,
	};
	return unit_run("naf_dia", tests);
}
