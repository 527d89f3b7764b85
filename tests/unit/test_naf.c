/*
 * The NAF: Zn bodies (naf_zn), the key cache (naf_cache), and the source
 * (naf) against a tiny in-test HTTP server on 127.0.0.1 that answers each
 * Zn request with a canned status and body.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/config.h"
#include "kms/naf.h"
#include "kms/naf_cache.h"
#include "kms/naf_zn.h"
#include "net/outbound.h"
#include "net/wait.h"
#include "tests/unit/unit.h"

#define BTID "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example.org"
/* base64 of 32 bytes 00 01 .. 1f */
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* The fake clock of the tests that pass time (see common/clock.h). */
#define FAKE_MONO_MS 1000000
#define FAKE_WALL_S 1700000000
/* Zn timeouts are libcurl's, on the real clock: our readings of it round
 * to the ms, and a loaded host may stretch real time this many times. */
#define SLACK_MS 10
#define LOADED 20

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char answer[4096];

/* A 200 body for BTID expiring at exp, with the given "impus" array text. */
static const char *ok_body(int64_t exp, const char *impus)
{
	snprintf(answer, sizeof(answer),
		 "{\"transaction_identifier\": \"" BTID "\", \"user_name\": "
		 "\"alice@ims.example.org\", \"me_key_material\": \"" KEY_B64 "\", "
		 "\"key_expiry_time\": %lld, \"bootstrap_info_creation_time\": %lld, "
		 "\"gba_type\": \"3G\", \"guss\": {\"uss\": [{\"naf_group\": \"kms\", "
		 "\"impus\": %s}]}}",
		 (long long)exp, (long long)(exp - 3600), impus);
	return answer;
}

/* --- Zn bodies ------------------------------------------------------------------ */

static void given_answer_when_parsed_then_key_expiry_and_sip_identities(void)
{
	naf_zn_answer_t a;
	int64_t exp = now_s() + 3600;
	const char *b = ok_body(exp, "[\"sip:alice@example.org\", \"tel:+15551234\", "
				     "\"<sips:alice.dept@example.org;user=phone>\", "
				     "\"sip:alice@example.org\", \"sip:*@example.org\"]");
	CU_ASSERT_EQUAL_FATAL(naf_zn_parse(b, strlen(b), BTID, now_s(), &a), KMS_EOK);
	CU_ASSERT_EQUAL(a.psk.key_len, 32);
	CU_ASSERT_EQUAL(a.psk.key[0], 0x00);
	CU_ASSERT_EQUAL(a.psk.key[31], 0x1f);
	CU_ASSERT_EQUAL(a.psk.expires, exp);
	CU_ASSERT_STRING_EQUAL(a.impi, "alice@ims.example.org");
	CU_ASSERT_EQUAL_FATAL(a.psk.nids, 2);
	CU_ASSERT_STRING_EQUAL(a.psk.ids[0], "alice@example.org");
	CU_ASSERT_STRING_EQUAL(a.psk.ids[1], "alice.dept@example.org");
	CU_ASSERT_EQUAL(a.impus_seen, 5);
	CU_ASSERT_EQUAL(a.impus_skipped, 3); /* tel:, duplicate, wildcard */
	secmem_wipe(&a, sizeof(a));
}

static void given_uss_with_other_schemes_when_parsed_then_sip_identities_normalised(void)
{
	naf_zn_answer_t a;
	const char *b = ok_body(now_s() + 60,
				"[\"<tel:+15551234;phone-context=ims.test>\", "
				"\"TEL:+15551234\", \"mailto:bob@example.org\", "
				"\"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6\", "
				"\"<SIP:Bob@Example.ORG:5060;transport=tcp>\", "
				"\"sips:b%6Fb@example.org?x=y\", \"carol@Example.org\", "
				"\"sip:j%C3%B6rg@example.org\", \"sip:a%00@x\"]");
	CU_ASSERT_EQUAL_FATAL(naf_zn_parse(b, strlen(b), BTID, now_s(), &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(a.psk.nids, 4);
	CU_ASSERT_STRING_EQUAL(a.psk.ids[0], "Bob@example.org");
	CU_ASSERT_STRING_EQUAL(a.psk.ids[1], "bob@example.org");
	CU_ASSERT_STRING_EQUAL(a.psk.ids[2], "carol@example.org");
	CU_ASSERT_STRING_EQUAL(a.psk.ids[3], "j\xc3\xb6rg@example.org");
	CU_ASSERT_EQUAL(a.impus_seen, 9);
	CU_ASSERT_EQUAL(a.impus_skipped, 5); /* tel: x2, mailto:, urn:, %00 */
	secmem_wipe(&a, sizeof(a));
	/* Only tel: IMPUs: a valid answer that serves no identity. */
	b = ok_body(now_s() + 60, "[\"tel:+15551234\", \"tel:+15555678\"]");
	CU_ASSERT_EQUAL_FATAL(naf_zn_parse(b, strlen(b), BTID, now_s(), &a), KMS_EOK);
	CU_ASSERT_EQUAL(a.psk.nids, 0);
	CU_ASSERT_EQUAL(a.impus_skipped, 2);
	secmem_wipe(&a, sizeof(a));
}

static void given_many_impus_when_parsed_then_capped(void)
{
	char impus[2048] = "[";
	for (int i = 0; i < 12; i++) {
		char one[64];
		snprintf(one, sizeof(one), "%s\"sip:u%d@example.org\"", i ? ", " : "", i);
		strcat(impus, one);
	}
	strcat(impus, "]");
	naf_zn_answer_t a;
	const char *b = ok_body(now_s() + 60, impus);
	CU_ASSERT_EQUAL_FATAL(naf_zn_parse(b, strlen(b), BTID, now_s(), &a), KMS_EOK);
	CU_ASSERT_EQUAL(a.psk.nids, KMS_PSK_IDS_MAX);
	CU_ASSERT_EQUAL(a.impus_skipped, 12 - KMS_PSK_IDS_MAX);
}

static void given_bad_answers_when_parsed_then_malformed(void)
{
	naf_zn_answer_t a;
	const char *bad[] = {
		"",
		"[]",
		"{\"transaction_identifier\": \"" BTID "\"}",
		/* duplicate key */
		"{\"transaction_identifier\": \"" BTID "\", \"transaction_identifier\": "
		"\"x@y\", \"user_name\": \"a@b\", \"me_key_material\": \"" KEY_B64 "\", "
		"\"key_expiry_time\": 9999999999, \"guss\": {\"uss\": []}}",
		/* key of 20 bytes */
		"{\"transaction_identifier\": \"" BTID "\", \"user_name\": \"a@b\", "
		"\"me_key_material\": \"AAECAwQFBgcICQoLDA0ODxAREhM=\", "
		"\"key_expiry_time\": 9999999999, \"guss\": {\"uss\": []}}",
		/* key not base64 */
		"{\"transaction_identifier\": \"" BTID "\", \"user_name\": \"a@b\", "
		"\"me_key_material\": \"!!!!\", "
		"\"key_expiry_time\": 9999999999, \"guss\": {\"uss\": []}}",
		/* expiry a string */
		"{\"transaction_identifier\": \"" BTID "\", \"user_name\": \"a@b\", "
		"\"me_key_material\": \"" KEY_B64 "\", "
		"\"key_expiry_time\": \"9999999999\", \"guss\": {\"uss\": []}}",
		/* no guss */
		"{\"transaction_identifier\": \"" BTID "\", \"user_name\": \"a@b\", "
		"\"me_key_material\": \"" KEY_B64 "\", \"key_expiry_time\": 9999999999}",
		/* impus not an array of strings */
		"{\"transaction_identifier\": \"" BTID "\", \"user_name\": \"a@b\", "
		"\"me_key_material\": \"" KEY_B64 "\", \"key_expiry_time\": 9999999999, "
		"\"guss\": {\"uss\": [{\"impus\": [5]}]}}",
		/* gba_type unknown */
		"{\"transaction_identifier\": \"" BTID "\", \"user_name\": \"a@b\", "
		"\"me_key_material\": \"" KEY_B64 "\", \"key_expiry_time\": 9999999999, "
		"\"gba_type\": \"5G\", \"guss\": {\"uss\": []}}",
		/* user_name empty */
		"{\"transaction_identifier\": \"" BTID "\", \"user_name\": \"\", "
		"\"me_key_material\": \"" KEY_B64 "\", \"key_expiry_time\": 9999999999, "
		"\"guss\": {\"uss\": []}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = naf_zn_parse(bad[i], strlen(bad[i]), BTID, now_s(), &a);
		if (ret != KMS_EMALFORMED) {
			printf("\n  case %zu: %s\n", i, kms_err_name(ret));
		}
		CU_ASSERT_EQUAL(ret, KMS_EMALFORMED);
	}
}

static void given_expired_or_other_btid_when_parsed_then_btid_error(void)
{
	naf_zn_answer_t a;
	const char *b = ok_body(now_s() - 1, "[\"sip:alice@example.org\"]");
	CU_ASSERT_EQUAL(naf_zn_parse(b, strlen(b), BTID, now_s(), &a), KMS_EBTID);
	b = ok_body(now_s() + 100, "[\"sip:alice@example.org\"]");
	CU_ASSERT_EQUAL(naf_zn_parse(b, strlen(b), "other@bsf.example.org", now_s(), &a),
			KMS_EBTID);
}

static void given_error_statuses_when_mapped_then_btid_policy_or_unavailable(void)
{
	char reason[32];
	const char *e404 = "{\"error\":\"USER_UNKNOWN\",\"result_code\":5401,"
			   "\"reason\":\"expired\"}";
	CU_ASSERT_EQUAL(naf_zn_status(404, e404, strlen(e404), reason, sizeof(reason)),
			KMS_EBTID);
	CU_ASSERT_STRING_EQUAL(reason, "expired");
	/* bsf-stubd's body for an unknown B-TID now (TS 29.109 result code). */
	const char *e5403 = "{\"error\":\"TRANSACTION_IDENTIFIER_INVALID\","
			    "\"result_code\":5403}";
	CU_ASSERT_EQUAL(naf_zn_status(404, e5403, strlen(e5403), reason, sizeof(reason)),
			KMS_EBTID);
	CU_ASSERT_STRING_EQUAL(reason, "TRANSACTION_IDENTIFIER_INVALID");
	const char *e403 = "{\"error\":\"NOT_AUTHORIZED\",\"result_code\":5402}";
	CU_ASSERT_EQUAL(naf_zn_status(403, e403, strlen(e403), reason, sizeof(reason)),
			KMS_EPOLICY);
	CU_ASSERT_STRING_EQUAL(reason, "NOT_AUTHORIZED");
	CU_ASSERT_EQUAL(naf_zn_status(400, "x", 1, reason, sizeof(reason)), KMS_EBTID);
	CU_ASSERT_STRING_EQUAL(reason, "");
	CU_ASSERT_EQUAL(naf_zn_status(500, NULL, 0, NULL, 0), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(naf_zn_status(302, NULL, 0, NULL, 0), KMS_EUNAVAIL);
}

static void given_btids_when_checked_then_shape_decides(void)
{
	const char *good = BTID;
	CU_ASSERT_EQUAL(naf_zn_btid_check((const uint8_t *)good, strlen(good)), KMS_EOK);
	CU_ASSERT(naf_zn_btid_shaped((const uint8_t *)good, strlen(good)));
	const char *nai = "alice@example.org";
	CU_ASSERT_EQUAL(naf_zn_btid_check((const uint8_t *)nai, strlen(nai)), KMS_EOK);
	CU_ASSERT(!naf_zn_btid_shaped((const uint8_t *)nai, strlen(nai)));
	const char *bad[] = { "@x", "x@", "no-at", "sp ace@x",
			      "I1U8vpY3qJ0hiuZNrke/NQ==" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_NOT_EQUAL(
		    naf_zn_btid_check((const uint8_t *)bad[i], strlen(bad[i])), KMS_EOK);
		CU_ASSERT(!naf_zn_btid_shaped((const uint8_t *)bad[i], strlen(bad[i])));
	}
	char *req = NULL;
	const uint8_t naf_id[] = { 'k', 0x01, 0, 0, 0, 6 };
	CU_ASSERT_EQUAL_FATAL(naf_zn_request(BTID, naf_id, sizeof(naf_id), &req),
			      KMS_EOK);
	CU_ASSERT_STRING_EQUAL(req,
			       "{\"transaction_identifier\":\"" BTID
			       "\",\"naf_id\":\"awEAAAAG\",\"gba_u_awareness\":false}");
	free(req);
}

/* --- cache ---------------------------------------------------------------------- */

static kms_psk_t psk_with(int64_t expires, uint8_t fill)
{
	kms_psk_t p;
	memset(&p, 0, sizeof(p));
	memset(p.key, fill, 16);
	p.key_len = 16;
	p.expires = expires;
	p.nids = 2;
	snprintf(p.ids[0], sizeof(p.ids[0]), "a@example.org");
	snprintf(p.ids[1], sizeof(p.ids[1]), "b@example.org");
	return p;
}

static void given_cache_when_put_and_get_then_positive_negative_and_expiry(void)
{
	naf_cache_t *c = naf_cache_new(64, 30);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	const uint8_t *k = (const uint8_t *)BTID;
	size_t kl = strlen(BTID);
	kms_psk_t in = psk_with(1000, 0xaa), out;
	char impi[64];
	CU_ASSERT_EQUAL(naf_cache_get(c, k, kl, 500, &out, NULL, 0), KMS_ENOENT);
	CU_ASSERT_EQUAL(naf_cache_put(c, k, kl, &in, "alice@ims"), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(naf_cache_get(c, k, kl, 999, &out, impi, sizeof(impi)),
			      KMS_EOK);
	CU_ASSERT_EQUAL(out.key_len, 16);
	CU_ASSERT_EQUAL(out.key[15], 0xaa);
	CU_ASSERT_EQUAL(out.expires, 1000);
	CU_ASSERT_EQUAL(out.nids, 2);
	CU_ASSERT_STRING_EQUAL(out.ids[1], "b@example.org");
	CU_ASSERT_STRING_EQUAL(impi, "alice@ims");
	/* Expired: never used again, and refused (not a miss). */
	CU_ASSERT_EQUAL(naf_cache_get(c, k, kl, 1000, &out, NULL, 0), KMS_EBTID);
	CU_ASSERT_EQUAL(naf_cache_get(c, k, kl, 1001, &out, NULL, 0), KMS_EBTID);
	/* ...for negative_ttl seconds from the moment it was found expired. */
	CU_ASSERT_EQUAL(naf_cache_get(c, k, kl, 1031, &out, NULL, 0), KMS_ENOENT);
	/* Negative entries end at their deadline. */
	CU_ASSERT_EQUAL(naf_cache_put_negative(c, k, kl, KMS_EPOLICY, 2000), KMS_EOK);
	CU_ASSERT_EQUAL(naf_cache_get(c, k, kl, 1999, &out, NULL, 0), KMS_EPOLICY);
	CU_ASSERT_EQUAL(naf_cache_get(c, k, kl, 2000, &out, NULL, 0), KMS_ENOENT);
	/* A positive answer replaces a negative one. */
	CU_ASSERT_EQUAL(naf_cache_put(c, k, kl, &in, NULL), KMS_EOK);
	CU_ASSERT_EQUAL(naf_cache_get(c, k, kl, 10, &out, NULL, 0), KMS_EOK);
	CU_ASSERT_EQUAL(naf_cache_size(c), 1);
	CU_ASSERT_EQUAL(naf_cache_put(c, k, kl, &(kms_psk_t){ .key_len = 20 }, NULL),
			KMS_EINVAL);
	naf_cache_free(c);
	naf_cache_free(NULL);
}

static void given_full_cache_when_more_put_then_least_recent_evicted(void)
{
	naf_cache_t *c = naf_cache_new(16, 30);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	size_t cap = naf_cache_capacity(c);
	CU_ASSERT(cap >= 16 && cap < 64);
	kms_psk_t in = psk_with(100000, 0x11), out;
	char id[64];
	for (size_t i = 0; i < 10 * cap; i++) {
		snprintf(id, sizeof(id), "b%zu@bsf", i);
		CU_ASSERT_EQUAL(
		    naf_cache_put(c, (const uint8_t *)id, strlen(id), &in, NULL),
		    KMS_EOK);
		/* Keep b0 recently used: it must survive every eviction. */
		CU_ASSERT_EQUAL(
		    naf_cache_get(c, (const uint8_t *)"b0@bsf", 6, 1, &out, NULL, 0),
		    KMS_EOK);
	}
	CU_ASSERT(naf_cache_size(c) <= cap);
	snprintf(id, sizeof(id), "b%zu@bsf", 10 * cap - 1);
	CU_ASSERT_EQUAL(
	    naf_cache_get(c, (const uint8_t *)id, strlen(id), 1, &out, NULL, 0), KMS_EOK);
	CU_ASSERT_EQUAL(naf_cache_get(c, (const uint8_t *)"b1@bsf", 6, 1, &out, NULL, 0),
			KMS_ENOENT);
	CU_ASSERT_PTR_NULL(naf_cache_new(15, 30));
	naf_cache_free(c);
}

/* --- the source against an in-test BSF ----------------------------------------- */

typedef struct {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_int requests;
	atomic_int stop;
	int status;	  /* answer status; 0: never answer */
	const char *body; /* answer body */
} bsf_t;

static bsf_t bsf;

/* Read one request (headers + Content-Length body); 0 when the peer closed. */
static int read_request(int c)
{
	char buf[8192];
	size_t len = 0;
	for (;;) {
		ssize_t n = recv(c, buf + len, sizeof(buf) - 1 - len, 0);
		if (n < 0 && len == 0 && !atomic_load(&bsf.stop)) {
			continue; /* idle keep-alive connection: wait on */
		}
		if (n <= 0) {
			return 0;
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end == NULL) {
			continue;
		}
		const char *cl = strcasestr(buf, "Content-Length:");
		size_t want = cl != NULL ? (size_t)atoi(cl + 15) : 0;
		if (len >= (size_t)(end + 4 - buf) + want) {
			return 1;
		}
	}
}

static void *bsf_run(void *arg)
{
	(void)arg;
	while (!atomic_load(&bsf.stop)) {
		int c = accept(bsf.fd, NULL, NULL);
		if (c < 0) {
			continue;
		}
		struct timeval tv = { 0, 100000 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (!atomic_load(&bsf.stop) && read_request(c)) {
			atomic_fetch_add(&bsf.requests, 1);
			if (bsf.status == 0) {
				continue; /* a BSF that never answers */
			}
			char hdr[256];
			int n =
			    snprintf(hdr, sizeof(hdr),
				     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
				     "Content-Length: %zu\r\n\r\n",
				     bsf.status, strlen(bsf.body));
			if (send(c, hdr, (size_t)n, MSG_NOSIGNAL) < 0 ||
			    send(c, bsf.body, strlen(bsf.body), MSG_NOSIGNAL) < 0) {
				break;
			}
		}
		close(c);
	}
	return NULL;
}

static void bsf_start(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bsf.fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(bsf.fd >= 0);
	struct timeval tv = { 0, 100000 };
	setsockopt(bsf.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CU_ASSERT_FATAL(bind(bsf.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(listen(bsf.fd, 8) == 0);
	getsockname(bsf.fd, (struct sockaddr *)&a, &alen);
	bsf.port = ntohs(a.sin_port);
	atomic_store(&bsf.stop, 0);
	atomic_store(&bsf.requests, 0);
	pthread_create(&bsf.thread, NULL, bsf_run, NULL);
}

static void bsf_stop(void)
{
	atomic_store(&bsf.stop, 1);
	pthread_join(bsf.thread, NULL);
	close(bsf.fd);
}

static void config_for(kms_config_t *cfg, uint16_t port)
{
	kms_config_defaults(cfg);
	cfg->naf_enabled = true;
	snprintf(cfg->naf_bsf_url, sizeof(cfg->naf_bsf_url), "http://127.0.0.1:%u/zn",
		 (unsigned)port);
	cfg->naf_timeout_ms = 5000; /* ample on a loaded host */
	cfg->naf_connect_timeout_ms = 5000;
	cfg->naf_retries = 1;
	cfg->threads = 4;
}

static int lookup(kms_psk_source_t *s, const char *id, kms_psk_t *out)
{
	return s->lookup(s, (const uint8_t *)id, strlen(id), out);
}

static void given_bsf_when_looked_up_twice_then_one_zn_request(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	kms_psk_t out;
	naf_stats_t st;
	bsf_start();
	bsf.status = 200;
	bsf.body = ok_body(now_s() + 3600, "[\"sip:alice@example.org\"]");
	config_for(&cfg, bsf.port);
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EOK);
	}
	CU_ASSERT_EQUAL(out.key_len, 32);
	CU_ASSERT(kms_psk_has_identity(&out, (const uint8_t *)"alice@example.org", 17));
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.misses, 1);
	CU_ASSERT_EQUAL(st.hits, 4);
	CU_ASSERT_EQUAL(st.zn_requests, 1);
	CU_ASSERT_EQUAL(st.zn_errors, 0);
	CU_ASSERT_EQUAL(st.entries, 1);
	/* A reload keeps the cache: still no new Zn request. */
	kms_psk_source_t *s2 = NULL;
	CU_ASSERT_EQUAL_FATAL(naf_reopen(&cfg, s, &s2), KMS_EOK);
	s->free(s);
	CU_ASSERT_EQUAL(lookup(s2, BTID, &out), KMS_EOK);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	/* A different NAF FQDN means different keys: a fresh cache. */
	snprintf(cfg.naf_fqdn, sizeof(cfg.naf_fqdn), "kms2.example.org");
	CU_ASSERT_EQUAL_FATAL(naf_reopen(&cfg, s2, &s), KMS_EOK);
	s2->free(s2);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EOK);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 2);
	s->free(s);
	bsf_stop();
	kms_psk_wipe(&out);
}

static void given_unknown_btid_when_looked_up_then_negative_cached_for_ttl(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	kms_psk_t out;
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	bsf_start();
	bsf.status = 404;
	bsf.body = "{\"error\":\"USER_UNKNOWN\",\"result_code\":5401,"
		   "\"reason\":\"unknown_btid\"}";
	config_for(&cfg, bsf.port);
	cfg.naf_negative_ttl = 30;
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EBTID);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EBTID);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	/* Remembered for negative_ttl seconds, then asked again. */
	kms_clock_fake_advance(30 * 1000 - 1);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EBTID);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EBTID);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 2);
	/* Not a B-TID at all: refused without asking. */
	CU_ASSERT_EQUAL(lookup(s, "no at sign", &out), KMS_EBTID);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 2);
	bsf.status = 403;
	bsf.body = "{\"error\":\"NOT_AUTHORIZED\",\"result_code\":5402}";
	CU_ASSERT_EQUAL(lookup(s, "other@bsf.example.org", &out), KMS_EPOLICY);
	CU_ASSERT_EQUAL(lookup(s, "other@bsf.example.org", &out), KMS_EPOLICY);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 3);
	s->free(s);
	bsf_stop();
	kms_clock_fake_stop();
}

static void given_cached_key_when_it_expires_then_refused_then_fetched_again(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	kms_psk_t out;
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	bsf_start();
	bsf.status = 200;
	bsf.body = ok_body(FAKE_WALL_S + 60, "[\"sip:alice@example.org\"]");
	config_for(&cfg, bsf.port);
	cfg.naf_negative_ttl = 30;
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	/* That expiry is long past on the real clock: only the fake one counts. */
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.expires, FAKE_WALL_S + 60);
	/* Used from the cache up to its key_expiry_time... */
	kms_clock_fake_advance(60 * 1000 - 1);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EOK);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	/* ...never at or after it: refused without asking the BSF... */
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EBTID);
	kms_clock_fake_advance(30 * 1000 - 1);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EBTID);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	/* ...for negative_ttl seconds; then the BSF is asked again. */
	bsf.body = ok_body(FAKE_WALL_S + 3600, "[\"sip:alice@example.org\"]");
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.expires, FAKE_WALL_S + 3600);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 2);
	naf_stats_t st;
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.zn_requests, 2);
	CU_ASSERT_EQUAL(st.hits, 3);
	s->free(s);
	bsf_stop();
	kms_clock_fake_stop();
	kms_psk_wipe(&out);
}

static void given_bsf_failing_when_looked_up_then_unavailable_and_retried(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	kms_psk_t out;
	naf_stats_t st;
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	bsf_start();
	bsf.status = 503;
	bsf.body = "{}";
	config_for(&cfg, bsf.port);
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 2); /* one retry... */
	CU_ASSERT_EQUAL(kms_clock_now_ms(),
			FAKE_MONO_MS + NAF_BACKOFF_MS); /* backed off */
	/* Garbage with 200: unavailable, not retried. */
	bsf.status = 200;
	bsf.body = "{\"nonsense\": true}";
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 3);
	CU_ASSERT_EQUAL(kms_clock_now_ms(), FAKE_MONO_MS + NAF_BACKOFF_MS);
	/* Back to normal: it recovers by itself (unavailability is not cached). */
	bsf.body = ok_body(FAKE_WALL_S + 3600, "[\"sip:alice@example.org\"]");
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EOK);
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.zn_errors, 3);
	s->free(s);
	bsf_stop();
	/* Nothing listening: connection refused, retried after the backoff,
	 * unavailable. */
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	int64_t t0 = kms_clock_now_ms();
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(kms_clock_now_ms() - t0, NAF_BACKOFF_MS);
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.zn_requests, 2);
	CU_ASSERT_EQUAL(st.zn_errors, 2);
	s->free(s);
	kms_clock_fake_stop();
	kms_psk_wipe(&out);
}

static void given_silent_bsf_when_looked_up_then_times_out_without_retry(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	kms_psk_t out;
	naf_stats_t st;
	bsf_start();
	bsf.status = 0; /* reads the request, never answers */
	config_for(&cfg, bsf.port);
	const int timeout = 500; /* nothing must fit in it: it always expires */
	cfg.naf_timeout_ms = timeout;
	cfg.naf_connect_timeout_ms = timeout;
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	int64_t t0 = real_ms();
	CU_ASSERT_EQUAL(lookup(s, BTID, &out), KMS_EUNAVAIL);
	int64_t ms = real_ms() - t0;
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.zn_requests, 1); /* a timeout is not retried */
	CU_ASSERT_EQUAL(st.zn_errors, 1);
	/* It waited for the timeout, and the timeout ended it. */
	CU_ASSERT(ms >= timeout - SLACK_MS);
	CU_ASSERT(ms < LOADED * timeout);
	s->free(s);
	bsf_stop();
}

/* A static source stand-in for "both". */
static int stat_lookup(kms_psk_source_t *src, const uint8_t *id, size_t len,
		       kms_psk_t *out)
{
	(void)src;
	(void)id;
	(void)len;
	memset(out, 0, sizeof(*out));
	out->key_len = 16;
	return KMS_EOK;
}

static int stat_freed;
static void stat_free(kms_psk_source_t *src)
{
	(void)src;
	stat_freed++;
}

static void given_both_when_looked_up_then_btid_shape_routes(void)
{
	kms_config_t cfg;
	kms_psk_source_t *g = NULL, *b = NULL;
	kms_psk_source_t stat = { stat_lookup, stat_free, NULL };
	kms_psk_t out;
	bsf_start();
	bsf.status = 404;
	bsf.body = "{}";
	config_for(&cfg, bsf.port);
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &g), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(naf_both(&stat, g, &b), KMS_EOK);
	CU_ASSERT_EQUAL(lookup(b, "alice@example.org", &out), KMS_EOK);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 0);
	CU_ASSERT_EQUAL(lookup(b, BTID, &out), KMS_EBTID);
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	naf_stats_t st;
	CU_ASSERT_EQUAL(naf_stats(b, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.misses, 1);
	CU_ASSERT_PTR_EQUAL(naf_static_part(b), &stat);
	CU_ASSERT_PTR_NULL(naf_static_part(g));
	CU_ASSERT_EQUAL(naf_stats(&stat, &st), KMS_ENOENT);
	b->free(b);
	CU_ASSERT_EQUAL(stat_freed, 1);
	bsf_stop();
}

/* --- the asynchronous lookup ----------------------------------------------------- */

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static atomic_int resumed;

static void on_resume(net_wait_t *w, void *arg)
{
	(void)w;
	(void)arg;
	pthread_mutex_lock(&wmu);
	atomic_fetch_add(&resumed, 1);
	pthread_cond_broadcast(&wcv);
	pthread_mutex_unlock(&wmu);
}

/* Wait (bounded: 30 s) until n waits were resumed. */
static bool wait_resumed(int n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&wmu);
	while (atomic_load(&resumed) < n &&
	       pthread_cond_timedwait(&wcv, &wmu, &until) == 0) {
	}
	pthread_mutex_unlock(&wmu);
	return atomic_load(&resumed) >= n;
}

static int lookup_w(kms_psk_source_t *s, const char *id, kms_psk_t *out, net_wait_t *w)
{
	return s->lookup_async(s, (const uint8_t *)id, strlen(id), out, w);
}

static void given_outbound_when_misses_wait_then_one_zn_call_and_all_resumed(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	net_outbound_t *ob = NULL;
	kms_psk_t out;
	naf_stats_t st;
	net_wait_t w[3];
	memset(w, 0, sizeof(w));
	atomic_store(&resumed, 0);
	bsf_start();
	bsf.status = 200;
	bsf.body = ok_body(now_s() + 3600, "[\"sip:alice@example.org\"]");
	config_for(&cfg, bsf.port);
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 16, &ob), KMS_EOK);
	naf_use_outbound(s, ob);
	/* Three requests miss at once: one Zn call, all three parked. */
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(lookup_w(s, BTID, &out, &w[i]), KMS_EINPROGRESS);
		if (!net_wait_park(&w[i], on_resume, NULL)) {
			on_resume(&w[i], NULL); /* the call ended first */
		}
	}
	CU_ASSERT_FATAL(wait_resumed(3));
	/* Run again: the key is in the cache now. */
	for (int i = 0; i < 3; i++) {
		memset(&out, 0, sizeof(out));
		CU_ASSERT_EQUAL(lookup_w(s, BTID, &out, &w[i]), KMS_EOK);
		CU_ASSERT_EQUAL(out.key_len, 32);
	}
	CU_ASSERT_EQUAL(atomic_load(&bsf.requests), 1);
	CU_ASSERT_EQUAL(naf_stats(s, &st), KMS_EOK);
	CU_ASSERT_EQUAL(st.misses, 3);
	CU_ASSERT_EQUAL(st.zn_joined, 2);
	/* The source is freed (a reload) while a call is under way: the call
	 * keeps what it uses and still wakes its waiter. */
	bsf.status = 404;
	bsf.body = "{}";
	net_wait_t w2;
	memset(&w2, 0, sizeof(w2));
	CU_ASSERT_EQUAL(lookup_w(s, "other@bsf.example.org", &out, &w2), KMS_EINPROGRESS);
	s->free(s);
	if (!net_wait_park(&w2, on_resume, NULL)) {
		on_resume(&w2, NULL);
	}
	CU_ASSERT_FATAL(wait_resumed(4));
	int res = 0;
	CU_ASSERT(net_wait_take(&w2, &res));
	CU_ASSERT_EQUAL(res, KMS_EBTID);
	net_outbound_free(ob);
	bsf_stop();
	kms_psk_wipe(&out);
}

static void given_silent_bsf_when_waiting_then_unavailable_and_never_waits_twice(void)
{
	kms_config_t cfg;
	kms_psk_source_t *s = NULL;
	net_outbound_t *ob = NULL;
	kms_psk_t out;
	net_wait_t w;
	memset(&w, 0, sizeof(w));
	atomic_store(&resumed, 0);
	bsf_start();
	bsf.status = 0; /* never answers */
	config_for(&cfg, bsf.port);
	cfg.naf_timeout_ms = 300;
	CU_ASSERT_EQUAL_FATAL(naf_open(&cfg, &s), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 16, &ob), KMS_EOK);
	naf_use_outbound(s, ob);
	CU_ASSERT_EQUAL(lookup_w(s, BTID, &out, &w), KMS_EINPROGRESS);
	if (!net_wait_park(&w, on_resume, NULL)) {
		on_resume(&w, NULL);
	}
	CU_ASSERT_FATAL(wait_resumed(1));
	/* Resumed with the failure: answered, not parked again. */
	CU_ASSERT_EQUAL(lookup_w(s, BTID, &out, &w), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(w.rounds, 1);
	/* Without an outbound thread the lookup blocks as before. */
	naf_use_outbound(s, NULL);
	CU_ASSERT_EQUAL(lookup_w(s, BTID, &out, &w), KMS_EUNAVAIL);
	s->free(s);
	net_outbound_free(ob);
	bsf_stop();
}

/* --- what a registrar leaves with a waiting request ---------------------------- */

static int freed;

static void count_free(void *hold)
{
	freed += hold != NULL;
}

static void given_hold_when_kept_then_one_at_a_time_and_freed_once(void)
{
	net_wait_t w;
	int a = 1, b = 2;
	memset(&w, 0, sizeof(w));
	freed = 0;
	CU_ASSERT_TRUE(net_wait_hold(&w, &a, count_free));
	CU_ASSERT_FALSE(net_wait_hold(&w, &b, count_free)); /* one at a time */
	CU_ASSERT_PTR_EQUAL(w.hold, &a);
	net_wait_arm(&w, NULL, NULL);
	CU_ASSERT_TRUE(net_wait_wake(&w, KMS_EOK));
	int result = -1;
	CU_ASSERT_TRUE(net_wait_take(&w, &result));
	CU_ASSERT_EQUAL(result, KMS_EOK);
	CU_ASSERT_PTR_EQUAL(w.hold, &a); /* a wake leaves it with the request */
	CU_ASSERT_EQUAL(freed, 0);
	net_wait_release(&w);
	net_wait_release(&w); /* nothing left */
	CU_ASSERT_EQUAL(freed, 1);
	CU_ASSERT_PTR_NULL(w.hold);
	CU_ASSERT_TRUE(net_wait_hold(&w, &b, count_free));
	net_wait_release(&w);
	CU_ASSERT_EQUAL(freed, 2);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_answer_when_parsed_then_key_expiry_and_sip_identities),
		UNIT_TEST(
		    given_uss_with_other_schemes_when_parsed_then_sip_identities_normalised),
		UNIT_TEST(given_many_impus_when_parsed_then_capped),
		UNIT_TEST(given_bad_answers_when_parsed_then_malformed),
		UNIT_TEST(given_expired_or_other_btid_when_parsed_then_btid_error),
		UNIT_TEST(
		    given_error_statuses_when_mapped_then_btid_policy_or_unavailable),
		UNIT_TEST(given_btids_when_checked_then_shape_decides),
		UNIT_TEST(given_cache_when_put_and_get_then_positive_negative_and_expiry),
		UNIT_TEST(given_full_cache_when_more_put_then_least_recent_evicted),
		UNIT_TEST(given_bsf_when_looked_up_twice_then_one_zn_request),
		UNIT_TEST(given_unknown_btid_when_looked_up_then_negative_cached_for_ttl),
		UNIT_TEST(
		    given_cached_key_when_it_expires_then_refused_then_fetched_again),
		UNIT_TEST(given_bsf_failing_when_looked_up_then_unavailable_and_retried),
		UNIT_TEST(given_silent_bsf_when_looked_up_then_times_out_without_retry),
		UNIT_TEST(given_both_when_looked_up_then_btid_shape_routes),
		UNIT_TEST(
		    given_outbound_when_misses_wait_then_one_zn_call_and_all_resumed),
		UNIT_TEST(
		    given_silent_bsf_when_waiting_then_unavailable_and_never_waits_twice),
		UNIT_TEST(given_hold_when_kept_then_one_at_a_time_and_freed_once),
		UNIT_END,
	};
	return unit_run("naf", tests);
}
