/*
 * zk/: the peer store and table; the Zk client against an in-test
 * libmicrohttpd HTTPS server on 127.0.0.1 (mutual TLS, GnuTLS) whose
 * handler authorises every request with zk_tls_peer(); the circuit
 * breaker.  The PKI is made at run time by tests/zk-certs.sh.
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "sql/db.h"
#include "tests/unit/store.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"
#include "zk/client.h"
#include "zk/peer.h"
#include "zk/tls_peer.h"

#ifndef ZK_CERTS_SCRIPT
#define ZK_CERTS_SCRIPT "tests/zk-certs.sh"
#endif

#define PEM_MAX 16384
#define BODY_MAX 4096
#define ANSWER_MAX 8192

static char dir[UNIT_PATH_MAX];
static uint8_t kek[ZK_KEK_LEN];

static char *path_of(const char *name)
{
	static char paths[8][UNIT_PATH_MAX];
	static unsigned next;
	char *p = paths[next++ % 8];
	unit_path(p, dir, name);
	return p;
}

/* A fresh peer store (tests/unit/store.h: SQLite or PostgreSQL). */
static char *store_of(const char *name)
{
	static char locs[4][UNIT_PATH_MAX];
	static unsigned next;
	char *p = locs[next++ % 4];
	unit_store(p, UNIT_PATH_MAX, dir, name);
	return p;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static zk_peer_t make_peer(const char *id, const char *url, const char *ca,
			   const char *name, size_t key_len, uint8_t fill)
{
	zk_peer_t p;
	memset(&p, 0, sizeof(p));
	snprintf(p.kms_id, sizeof(p.kms_id), "%s", id);
	snprintf(p.url, sizeof(p.url), "%s", url);
	snprintf(p.ca_file, sizeof(p.ca_file), "%s", ca);
	snprintf(p.cert_name, sizeof(p.cert_name), "%s", name);
	snprintf(p.responders, sizeof(p.responders), "*@*");
	memset(p.key, fill, key_len);
	p.key_len = key_len;
	return p;
}

/* --- the store -------------------------------------------------------------- */

typedef struct {
	size_t n;
	zk_peer_info_t info[4];
} listed_t;

static int on_listed(void *ctx, const zk_peer_info_t *info)
{
	listed_t *l = ctx;
	if (l->n < 4) {
		l->info[l->n] = *info;
	}
	l->n++;
	return KMS_EOK;
}

/* Does the file hold these bytes anywhere (a clear key in the store)? */
static bool file_has(const char *path, const uint8_t *needle, size_t len)
{
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 20];
	size_t n = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f != NULL) {
		fclose(f);
	}
	for (size_t i = 0; i + len <= n; i++) {
		if (memcmp(buf + i, needle, len) == 0) {
			return true;
		}
	}
	return false;
}

static void given_peers_when_added_then_list_has_no_key_and_load_unwraps(void)
{
	const char *db = store_of("s1.db");
	zk_peer_t a = make_peer("kms1.example.org", "https://127.0.0.1:9443/zk",
				path_of("ca1.crt"), "kms1.test", 32, 0xa1);
	zk_peer_t b = make_peer("kms2.example.org", "https://[::1]/zk",
				path_of("ca2.crt"), "KMS2.Test", 16, 0xb2);
	snprintf(b.responders, sizeof(b.responders), "*.dept@b.example");
	CU_ASSERT_EQUAL_FATAL(zk_peer_add(db, kek, &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(zk_peer_add(db, kek, &b), KMS_EOK);
	if (!unit_store_pg()) { /* the store's files hold no clear key */
		char wal[UNIT_PATH_MAX];
		snprintf(wal, sizeof(wal), "%s-wal", db);
		CU_ASSERT(file_has(db, (const uint8_t *)"kms1.test", 9));
		CU_ASSERT_FALSE(file_has(db, a.key, a.key_len));
		CU_ASSERT_FALSE(file_has(db, b.key, b.key_len));
		CU_ASSERT_FALSE(file_has(wal, a.key, a.key_len));
	}

	listed_t l;
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL_FATAL(zk_peer_list(db, on_listed, &l), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.info[0].kms_id, "kms1.example.org");
	CU_ASSERT_STRING_EQUAL(l.info[0].url, a.url);
	CU_ASSERT_STRING_EQUAL(l.info[0].ca_file, a.ca_file);
	CU_ASSERT_STRING_EQUAL(l.info[0].cert_name, "kms1.test");
	CU_ASSERT_EQUAL(l.info[0].key_len, 32);
	CU_ASSERT(l.info[0].created > 0);
	CU_ASSERT_STRING_EQUAL(l.info[1].cert_name, "KMS2.Test");
	CU_ASSERT_EQUAL(l.info[1].key_len, 16);
	CU_ASSERT_STRING_EQUAL(l.info[0].responders, "*@*");
	CU_ASSERT_STRING_EQUAL(l.info[1].responders, "*.dept@b.example");

	zk_peers_t *t = NULL;
	CU_ASSERT_EQUAL_FATAL(zk_peers_load(db, kek, &t), KMS_EOK);
	CU_ASSERT_EQUAL(zk_peers_count(t), 2);
	const zk_peer_t *p =
	    zk_peers_find_kms(t, (const uint8_t *)"kms1.example.org", 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->key_len, 32);
	CU_ASSERT(memcmp(p->key, a.key, 32) == 0);
	CU_ASSERT_STRING_EQUAL(p->url, a.url);
	CU_ASSERT_PTR_EQUAL(zk_peers_find_cert(t, "KMS1.TEST"), p);
	CU_ASSERT_PTR_EQUAL(zk_peers_at(t, 0), p);
	p = zk_peers_find_cert(t, "kms2.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p->kms_id, "kms2.example.org");
	CU_ASSERT_EQUAL(p->key_len, 16);
	CU_ASSERT(memcmp(p->key, b.key, 16) == 0);
	CU_ASSERT_STRING_EQUAL(p->responders, "*.dept@b.example");
	/* Prefixes, longer ids and other names miss; other forms of the same
	 * KMS identity (host name in another case, as a SIP URI) match. */
	CU_ASSERT_PTR_NULL(zk_peers_find_kms(t, (const uint8_t *)"kms1.example.org", 15));
	CU_ASSERT_PTR_NULL(
	    zk_peers_find_kms(t, (const uint8_t *)"kms1.example.orgx", 17));
	CU_ASSERT_PTR_NULL(
	    zk_peers_find_kms(t, (const uint8_t *)"x@kms1.example.org", 18));
	static const char *const forms[] = {
		"KMS1.example.org", "sip:kms1.example.org",
		"<sips:Kms1.Example.org:5061;transport=tls>"
	};
	for (size_t i = 0; i < 3; i++) {
		const zk_peer_t *f =
		    zk_peers_find_kms(t, (const uint8_t *)forms[i], strlen(forms[i]));
		CU_ASSERT_PTR_NOT_NULL(f);
		CU_ASSERT(f != NULL && strcmp(f->kms_id, "kms1.example.org") == 0);
	}
	CU_ASSERT_PTR_NULL(zk_peers_find_cert(t, "kms3.test"));
	CU_ASSERT_PTR_NULL(zk_peers_find_cert(t, "kms1.test."));
	CU_ASSERT_PTR_NULL(zk_peers_at(t, 2));
	zk_peers_free(t);
	zk_peers_free(NULL);
	unlink(db);
}

static void given_taken_id_or_cert_name_when_added_then_eexist(void)
{
	const char *db = store_of("s2.db");
	zk_peer_t a = make_peer("kms1", "https://kms1.test/zk", path_of("ca1.crt"),
				"kms1.test", 32, 1);
	CU_ASSERT_EQUAL_FATAL(zk_peer_add(db, kek, &a), KMS_EOK);
	zk_peer_t same_id = make_peer("kms1", "https://kms9.test/zk", path_of("ca1.crt"),
				      "kms9.test", 32, 2);
	CU_ASSERT_EQUAL(zk_peer_add(db, kek, &same_id), KMS_EEXIST);
	zk_peer_t same_name = make_peer("kms9", "https://kms9.test/zk",
					path_of("ca1.crt"), "KMS1.test", 32, 3);
	CU_ASSERT_EQUAL(zk_peer_add(db, kek, &same_name), KMS_EEXIST);
	unlink(db);
}

static void given_bad_fields_when_added_then_einval(void)
{
	const char *db = store_of("s3.db");
	const char *ca = path_of("ca1.crt");
	char long_id[300], long_url[600];
	memset(long_id, 'k', sizeof(long_id));
	long_id[ZK_KMS_ID_MAX + 1] = '\0';
	snprintf(long_url, sizeof(long_url), "https://kms.test/%0*d", 500, 0);
	zk_peer_t edge = make_peer("kms1", long_url, ca, "kms.test", 16, 1);
	CU_ASSERT_EQUAL(strlen(edge.url), ZK_URL_MAX); /* truncated: the longest */
	CU_ASSERT_EQUAL(zk_peer_check_url(edge.url), KMS_EOK);
	const struct {
		const char *id, *url, *ca, *name;
		size_t key_len;
	} bad[] = {
		{ "", "https://kms.test/zk", ca, "kms.test", 32 },
		{ "kms 1", "https://kms.test/zk", ca, "kms.test", 32 },
		{ "kms\t1", "https://kms.test/zk", ca, "kms.test", 32 },
		{ long_id, "https://kms.test/zk", ca, "kms.test", 32 },
		{ "kms1", "http://kms.test/zk", ca, "kms.test", 32 },
		{ "kms1", "HTTPS://kms.test/zk", ca, "kms.test", 32 },
		{ "kms1", "https://", ca, "kms.test", 32 },
		{ "kms1", "https://kms.test/zk?a=b", ca, "kms.test", 32 },
		{ "kms1", "https://kms.test/zk#f", ca, "kms.test", 32 },
		{ "kms1", "https://user:pw@kms.test/zk", ca, "kms.test", 32 },
		{ "kms1", "https://kms.test/z k", ca, "kms.test", 32 },
		{ "kms1", "https://kms.test:99999/zk", ca, "kms.test", 32 },
		{ "kms1", long_url, ca, "kms.test", 32 },
		{ "kms1", "https://kms.test/zk", "ca1.crt", "kms.test", 32 },
		{ "kms1", "https://kms.test/zk", "", "kms.test", 32 },
		{ "kms1", "https://kms.test/zk", ca, "*.test", 32 },
		{ "kms1", "https://kms.test/zk", ca, "kms..test", 32 },
		{ "kms1", "https://kms.test/zk", ca, "-kms.test", 32 },
		{ "kms1", "https://kms.test/zk", ca, "kms-.test", 32 },
		{ "kms1", "https://kms.test/zk", ca, "kms.test.", 32 },
		{ "kms1", "https://kms.test/zk", ca, "kms_1.test", 32 },
		{ "kms1", "https://kms.test/zk", ca, "", 32 },
		{ "kms1", "https://kms.test/zk", ca, "10.0.0.1", 32 },
		{ "kms1", "https://kms.test/zk", ca, "kms.test", 24 },
		{ "kms1", "https://kms.test/zk", ca, "kms.test", 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zk_peer_t p = make_peer(bad[i].id, bad[i].url, bad[i].ca, bad[i].name,
					bad[i].key_len, 7);
		if (bad[i].id == long_id) {
			memset(p.kms_id, 'k', sizeof(p.kms_id)); /* no NUL at all */
		}
		if (bad[i].url == long_url) {
			memset(p.url + 17, 'u', sizeof(p.url) - 17); /* no NUL at all */
		}
		if (zk_peer_add(db, kek, &p) != KMS_EINVAL) {
			CU_FAIL("a bad peer was accepted");
			printf("\n  accepted: case %zu\n", i);
		}
	}
	CU_ASSERT_EQUAL(zk_peer_add(db, kek, NULL), KMS_EINVAL);
	/* Responders: a user or group identity pattern, NUL-terminated. */
	static const char *const bad_resp[] = { "",   "nobody",	 "@b.example",
						"a@", "a b@c.d", "a@b\tc" };
	for (size_t i = 0; i < sizeof(bad_resp) / sizeof(bad_resp[0]); i++) {
		zk_peer_t p =
		    make_peer("kms1", "https://kms.test/zk", ca, "kms.test", 16, 7);
		snprintf(p.responders, sizeof(p.responders), "%s", bad_resp[i]);
		CU_ASSERT_EQUAL(zk_peer_add(db, kek, &p), KMS_EINVAL);
	}
	zk_peer_t unterminated =
	    make_peer("kms1", "https://kms.test/zk", ca, "kms.test", 16, 7);
	memset(unterminated.responders, 'a', sizeof(unterminated.responders));
	unterminated.responders[1] = '@';
	CU_ASSERT_EQUAL(zk_peer_add(db, kek, &unterminated), KMS_EINVAL);
	/* The edges that are fine. */
	zk_peer_t ok = make_peer("k", "https://a:1/", ca, "a", 16, 1);
	CU_ASSERT_EQUAL(zk_peer_add(db, kek, &ok), KMS_EOK);
	zk_peer_t ok2 =
	    make_peer(long_id, "https://[::1]:8443/zk/x", ca, "a-1.b2.test", 16, 1);
	ok2.kms_id[ZK_KMS_ID_MAX] = '\0'; /* 255 bytes */
	CU_ASSERT_EQUAL(zk_peer_add(db, kek, &ok2), KMS_EOK);
	unlink(db);
}

static void given_peer_when_removed_then_gone_and_second_remove_enoent(void)
{
	const char *db = store_of("s4.db");
	zk_peer_t a = make_peer("kms1", "https://kms1.test/zk", path_of("ca1.crt"),
				"kms1.test", 32, 1);
	CU_ASSERT_EQUAL(zk_peer_remove(db, "kms1"), KMS_ENOENT); /* no store */
	CU_ASSERT_EQUAL_FATAL(zk_peer_add(db, kek, &a), KMS_EOK);
	CU_ASSERT_EQUAL(zk_peer_remove(db, "kms2"), KMS_ENOENT);
	CU_ASSERT_EQUAL(zk_peer_remove(db, "kms1"), KMS_EOK);
	CU_ASSERT_EQUAL(zk_peer_remove(db, "kms1"), KMS_ENOENT);
	CU_ASSERT_EQUAL(zk_peer_remove(db, "bad id"), KMS_EINVAL);
	zk_peers_t *t = NULL;
	CU_ASSERT_EQUAL_FATAL(zk_peers_load(db, kek, &t), KMS_EOK);
	CU_ASSERT_EQUAL(zk_peers_count(t), 0);
	CU_ASSERT_PTR_NULL(zk_peers_find_kms(t, (const uint8_t *)"kms1", 4));
	CU_ASSERT_PTR_NULL(zk_peers_find_cert(t, "kms1.test"));
	zk_peers_free(t);
	/* The name is free again. */
	CU_ASSERT_EQUAL(zk_peer_add(db, kek, &a), KMS_EOK);
	unlink(db);
}

static void given_wrong_kek_or_no_store_when_loaded_then_refused(void)
{
	const char *db = store_of("s5.db");
	uint8_t other[ZK_KEK_LEN];
	memcpy(other, kek, sizeof(other));
	other[0] ^= 1;
	zk_peers_t *t = NULL;
	if (!unit_store_pg()) { /* no store file yet */
		CU_ASSERT_EQUAL(zk_peers_load(db, kek, &t), KMS_ENOENT);
	}
	zk_peer_t a = make_peer("kms1", "https://kms1.test/zk", path_of("ca1.crt"),
				"kms1.test", 32, 1);
	CU_ASSERT_EQUAL_FATAL(zk_peer_add(db, kek, &a), KMS_EOK);
	CU_ASSERT_EQUAL(zk_peers_load(db, other, &t), KMS_EAUTH);
	CU_ASSERT_PTR_NULL(t);
	/* Nor may a second KEK slip into the store. */
	zk_peer_t b = make_peer("kms2", "https://kms2.test/zk", path_of("ca1.crt"),
				"kms2.test", 32, 2);
	CU_ASSERT_EQUAL(zk_peer_add(db, other, &b), KMS_EAUTH);
	CU_ASSERT_EQUAL(zk_peers_load(db, kek, &t), KMS_EOK);
	CU_ASSERT_EQUAL(zk_peers_count(t), 1);
	zk_peers_free(t);
	unlink(db);
}

static void given_wrapped_keys_swapped_when_loaded_then_eauth(void)
{
	const char *db = store_of("s6.db");
	zk_peer_t a = make_peer("kms1", "https://kms1.test/zk", path_of("ca1.crt"),
				"kms1.test", 32, 1);
	zk_peer_t b = make_peer("kms2", "https://kms2.test/zk", path_of("ca1.crt"),
				"kms2.test", 32, 2);
	CU_ASSERT_EQUAL_FATAL(zk_peer_add(db, kek, &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(zk_peer_add(db, kek, &b), KMS_EOK);
	/* Someone with write access to the store swaps them. */
	sqldb_t *raw = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db, 0, &raw), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(raw, "UPDATE zk_peers SET wrapped = (SELECT wrapped "
					"FROM zk_peers WHERE kms_id = 'kms2') "
					"WHERE kms_id = 'kms1'"),
			KMS_EOK);
	sqldb_close(raw);
	zk_peers_t *t = NULL;
	CU_ASSERT_EQUAL(zk_peers_load(db, kek, &t), KMS_EAUTH);
	zk_peers_free(t);
	unlink(db);
}

/* --- the in-test Zk server ---------------------------------------------------- */

typedef struct {
	struct MHD_Daemon *mhd;
	uint16_t port;
	char *cert, *key, *trust; /* PEM */
	zk_peers_t *peers;	  /* whom the listener accepts */
	atomic_int conns;	  /* connections started */
	atomic_int requests;	  /* requests answered */
	atomic_int resumed;	  /* of which on a resumed TLS session */
	atomic_int status;	  /* answer this status (0: normal) */
	atomic_int delay_ms;	  /* wait this long before answering */
	atomic_int stopping;	  /* srv_stop() cuts delays short */
	atomic_int answer_len;	  /* > 0: answer that many bytes */
	pthread_mutex_t lock;	  /* the last_* fields */
	int last_ret;
	const char *last_why;
	char last_peer[ZK_KMS_ID_MAX + 1];
	char last_type[64], last_reqtype[64], last_url[64], last_rid[64];
} srv_t;

typedef struct {
	uint8_t buf[BODY_MAX];
	size_t len;
} upload_t;

static srv_t srv;

static char *read_pem(const char *name)
{
	char *buf = calloc(1, PEM_MAX);
	FILE *f = fopen(path_of(name), "r");
	if (buf == NULL || f == NULL) {
		abort();
	}
	size_t n = fread(buf, 1, PEM_MAX - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
			     const void *body, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ZK_MEDIA_TYPE);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **ctx)
{
	(void)method;
	(void)version;
	srv_t *s = cls;
	upload_t *u = *ctx;
	if (u == NULL) {
		u = calloc(1, sizeof(*u));
		*ctx = u;
		return u != NULL ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		if (n > sizeof(u->buf) - u->len) {
			return MHD_NO;
		}
		memcpy(u->buf + u->len, upload_data, n);
		u->len += n;
		*upload_data_size = 0;
		return MHD_YES;
	}
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const zk_peer_t *p = NULL;
	const char *why = NULL;
	int ret = zk_tls_peer(ci != NULL ? ci->tls_session : NULL, s->peers, &p, &why);
	pthread_mutex_lock(&s->lock);
	s->last_ret = ret;
	s->last_why = ret == KMS_EOK ? NULL : why;
	copy_text(s->last_peer, sizeof(s->last_peer), p != NULL ? p->kms_id : NULL);
	copy_text(s->last_type, sizeof(s->last_type),
		  MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
	copy_text(
	    s->last_reqtype, sizeof(s->last_reqtype),
	    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "requesttype"));
	copy_text(s->last_url, sizeof(s->last_url), url);
	copy_text(s->last_rid, sizeof(s->last_rid),
		  MHD_lookup_connection_value(conn, MHD_HEADER_KIND, ZK_RID_HEADER));
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->requests, 1);
	if (ci != NULL && ci->tls_session != NULL &&
	    gnutls_session_is_resumed(ci->tls_session)) {
		atomic_fetch_add(&s->resumed, 1);
	}
	/* Read again each time: a test lowers it to let held requests go. */
	for (int waited = 0;
	     waited < atomic_load(&s->delay_ms) && !atomic_load(&s->stopping);
	     waited += 10) {
		sleep_ms(10);
	}
	int status = atomic_load(&s->status);
	if (status != 0) {
		return queue(conn, (unsigned)status, "busy", 4);
	}
	if (ret != KMS_EOK) {
		return queue(conn, MHD_HTTP_FORBIDDEN, why, strlen(why));
	}
	static char big[ANSWER_MAX];
	int n = atomic_load(&s->answer_len);
	if (n > 0) {
		memset(big, 'a', sizeof(big));
		return queue(conn, MHD_HTTP_OK, big, (size_t)n);
	}
	/* Echo: "peer=<kms_id>;" + the request body. */
	char out[BODY_MAX + ZK_KMS_ID_MAX + 8];
	int h = snprintf(out, sizeof(out), "peer=%s;", p->kms_id);
	memcpy(out + h, u->buf, u->len);
	return queue(conn, MHD_HTTP_OK, out, (size_t)h + u->len);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*ctx);
	*ctx = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)conn;
	(void)socket_ctx;
	srv_t *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add(&s->conns, 1);
	}
}

/* Serve on listen_fd (a listening socket; MHD closes it when stopped), or
 * when it is -1 on 127.0.0.1:port (0: any free port), with cert/key,
 * trusting the CAs in trust for client certificates, accepting the peers
 * of peers_db. */
static void srv_start_with(uint16_t port, int listen_fd)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_OptionItem where[] = {
		listen_fd >= 0
		    ? (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL }
		    : (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &sa },
		{ MHD_OPTION_END, 0, NULL },
	};
	atomic_store(&srv.stopping, 0);
	srv.mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS,
	    port, NULL, NULL, on_request, &srv, MHD_OPTION_ARRAY, where,
	    MHD_OPTION_HTTPS_MEM_CERT, srv.cert, MHD_OPTION_HTTPS_MEM_KEY, srv.key,
	    MHD_OPTION_HTTPS_MEM_TRUST, srv.trust, MHD_OPTION_NOTIFY_CONNECTION,
	    on_connection, &srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_CONNECTION_TIMEOUT, 10,
	    MHD_OPTION_END);
	if (srv.mhd == NULL) {
		fprintf(stderr, "cannot start the test server on port %u\n", port);
		abort();
	}
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(srv.mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv.port = di != NULL && di->port != 0 ? di->port : port;
}

static void srv_start(uint16_t port)
{
	srv_start_with(port, -1);
}

/*
 * A TCP port on 127.0.0.1 held by a bound socket that does not listen:
 * connections to it are refused, and no other process can take the port.
 * srv_start_on() later serves on that very socket.
 */
static int refusing_socket(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void srv_start_on(int fd, uint16_t port)
{
	if (listen(fd, 16) != 0) {
		abort();
	}
	srv_start_with(port, fd);
}

static void srv_stop(void)
{
	if (srv.mhd != NULL) {
		atomic_store(&srv.stopping, 1);
		MHD_stop_daemon(srv.mhd);
		srv.mhd = NULL;
	}
}

/* Server identity kms2.test; trust = trust_pem; the listener's peers;
 * not started. */
static void srv_load(const char *cert, const char *trust_pem)
{
	srv_stop();
	free(srv.cert);
	free(srv.key);
	free(srv.trust);
	char name[64];
	snprintf(name, sizeof(name), "%s.crt", cert);
	srv.cert = read_pem(name);
	snprintf(name, sizeof(name), "%s.key", cert);
	srv.key = read_pem(name);
	srv.trust = read_pem(trust_pem);
	atomic_store(&srv.conns, 0);
	atomic_store(&srv.requests, 0);
	atomic_store(&srv.resumed, 0);
	atomic_store(&srv.status, 0);
	atomic_store(&srv.delay_ms, 0);
	atomic_store(&srv.answer_len, 0);
	srv.last_ret = 1;
	srv.last_why = NULL;
	srv.last_peer[0] = '\0';
}

/* The same, started on any free port. */
static void srv_setup(const char *cert, const char *trust_pem)
{
	srv_load(cert, trust_pem);
	srv_start(0);
}

static int last_ret(const char **why, char *peer, size_t cap)
{
	pthread_mutex_lock(&srv.lock);
	int r = srv.last_ret;
	if (why != NULL) {
		*why = srv.last_why;
	}
	if (peer != NULL) {
		snprintf(peer, cap, "%s", srv.last_peer);
	}
	pthread_mutex_unlock(&srv.lock);
	return r;
}

/* The server as the client sees it (kms2.test at 127.0.0.1:port). */
static zk_peer_t server_peer(const char *ca, const char *name)
{
	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/zk", srv.port);
	return make_peer("kms2.example.org", url, path_of(ca), name, 32, 0x22);
}

/* The timeout of clients whose calls must be answered: far beyond what a
 * TLS handshake and an answer take on a loaded host, and never reached when
 * a call fails fast (refused, a certificate rejected). */
#define ANSWER_MS 30000

static zk_client_t *client_with(const char *cert, uint32_t timeout_ms, uint32_t retries,
				uint32_t breaker_failures, uint32_t breaker_open_ms,
				unsigned handles)
{
	char cf[2 * UNIT_PATH_MAX], kf[2 * UNIT_PATH_MAX];
	zk_client_cfg_t cfg;
	memset(&cfg, 0, sizeof(cfg));
	if (cert != NULL) {
		snprintf(cf, sizeof(cf), "%s/%s.crt", dir, cert);
		snprintf(kf, sizeof(kf), "%s/%s.key", dir, cert);
		cfg.cert_file = cf;
		cfg.key_file = kf;
	}
	cfg.timeout_ms = timeout_ms;
	cfg.connect_timeout_ms = timeout_ms;
	cfg.retries = retries;
	cfg.breaker_failures = breaker_failures;
	cfg.breaker_open_ms = breaker_open_ms;
	cfg.max_handles = handles;
	zk_client_t *c = NULL;
	if (zk_client_new(&cfg, &c) != KMS_EOK) {
		abort();
	}
	return c;
}

static zk_client_t *client(const char *cert)
{
	return client_with(cert, ANSWER_MS, 1, 0, 0, 4);
}

typedef struct {
	int ret;
	long status;
	size_t len;
	char body[ANSWER_MAX + 1];
	const char *why;
} answer_t;

static answer_t *post_cap(zk_client_t *c, const zk_peer_t *p, const char *msg, size_t cap)
{
	static _Thread_local answer_t a;
	memset(&a, 0, sizeof(a));
	a.status = -1;
	a.ret = zk_client_post(c, p, (const uint8_t *)msg, strlen(msg), (uint8_t *)a.body,
			       cap, &a.len, &a.status, &a.why);
	a.body[a.ret == KMS_EOK && a.len <= ANSWER_MAX ? a.len : 0] = '\0';
	return &a;
}

static answer_t *post(zk_client_t *c, const zk_peer_t *p, const char *msg)
{
	return post_cap(c, p, msg, ANSWER_MAX);
}

/* --- the client and the listener check ------------------------------------ */

static void given_peer_when_200_posts_then_one_or_two_connections(void)
{
	srv_setup("kms2", "ca1.crt");
	zk_client_t *c = client("kms1");
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	char msg[64], want[128];
	int ok = 0;
	int64_t t0 = now_ms();
	for (int i = 0; i < 200; i++) {
		snprintf(msg, sizeof(msg), "resolve #%d", i);
		snprintf(want, sizeof(want), "peer=kms1.example.org;%s", msg);
		answer_t *a = post(c, &p, msg);
		ok += a->ret == KMS_EOK && a->status == 200 && strcmp(a->body, want) == 0;
	}
	int64_t ms = now_ms() - t0;
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	int conns = atomic_load(&srv.conns);
	printf("\n  200 POSTs in %lld ms; client: %llu new connections, %llu attempts; "
	       "server: %d connections\n",
	       (long long)ms, (unsigned long long)st.connects,
	       (unsigned long long)st.attempts, conns);
	CU_ASSERT_EQUAL(ok, 200);
	CU_ASSERT_EQUAL(st.requests, 200);
	CU_ASSERT_EQUAL(st.attempts, 200);
	CU_ASSERT(st.connects >= 1 && st.connects <= 2);
	CU_ASSERT(conns >= 1 && conns <= 2);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 200);
	CU_ASSERT_EQUAL(st.failures, 0);
	char peer[ZK_KMS_ID_MAX + 1];
	CU_ASSERT_EQUAL(last_ret(NULL, peer, sizeof(peer)), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(peer, "kms1.example.org");
	CU_ASSERT_STRING_EQUAL(srv.last_type, ZK_MEDIA_TYPE);
	CU_ASSERT_STRING_EQUAL(srv.last_reqtype, "ticketresolve");
	CU_ASSERT_STRING_EQUAL(srv.last_url, "/zk");
	zk_client_free(c);
	srv_stop();
}

typedef struct {
	zk_client_t *c;
	const zk_peer_t *p;
	int ok;
} worker_t;

static void *worker(void *arg)
{
	worker_t *w = arg;
	for (int i = 0; i < 25; i++) {
		answer_t *a = post(w->c, w->p, "concurrent");
		w->ok += a->ret == KMS_EOK && a->status == 200 &&
			 strcmp(a->body, "peer=kms1.example.org;concurrent") == 0;
	}
	return NULL;
}

/* Connections this host has open to the test server, seen from the client
 * side (remote port srv.port, ESTABLISHED), from /proc/net/tcp; -1 when
 * that cannot be read. */
static int client_conns_open(void)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	if (f == NULL) {
		return -1;
	}
	char line[512];
	int n = -1;
	if (fgets(line, sizeof(line), f) != NULL) { /* the header */
		n = 0;
		unsigned rport, state;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, " %*u: %*x:%*x %*x:%x %x", &rport, &state) ==
				2 &&
			    rport == srv.port && state == 1) {
				n++;
			}
		}
	}
	fclose(f);
	return n;
}

/*
 * A pool of 2 handles under 8 threads x 25 POSTs: every call is answered
 * once (no failure, no retry); a call that finds both pooled handles busy
 * uses a temporary handle, which makes exactly one connection and closes
 * it after its request; all other calls share the pool's one or two
 * connections.  Afterwards only the pooled connections are open, and
 * sequential calls reuse them without a new connection.
 */
static void given_threads_when_posting_then_all_answered_on_bounded_pool(void)
{
	srv_setup("kms2", "ca1.crt");
	zk_client_t *c = client_with("kms1", 5000, 1, 0, 0, 2);
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	pthread_t th[8];
	worker_t w[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (worker_t){ c, &p, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
	}
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	int conns = atomic_load(&srv.conns);
	int open = client_conns_open();
	printf("\n  8 threads x 25 POSTs, 2 pooled handles: %llu temporary handles, "
	       "%llu new connections, server %d connections (%d requests on resumed "
	       "TLS sessions), %d open after\n",
	       (unsigned long long)st.temp_handles, (unsigned long long)st.connects,
	       conns, atomic_load(&srv.resumed), open);
	CU_ASSERT_EQUAL(ok, 200);
	CU_ASSERT_EQUAL(st.requests, 200);
	/* Two pooled connections at most, plus one per temporary handle. */
	CU_ASSERT(st.connects <= 2 + st.temp_handles);
	CU_ASSERT((uint64_t)conns <= 2 + st.temp_handles);
	/* Each call answered by one exchange: waiters are served, not refused. */
	CU_ASSERT_EQUAL(st.attempts, 200);
	CU_ASSERT_EQUAL(st.retries, 0);
	CU_ASSERT_EQUAL(st.failures, 0);
	CU_ASSERT_EQUAL(st.fast_fails, 0);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 200);
	/* One connection per temporary handle, one or two for the pool; the
	 * server saw exactly those. */
	CU_ASSERT(st.connects >= st.temp_handles + 1);
	uint64_t pooled = st.connects - st.temp_handles;
	CU_ASSERT(pooled >= 1 && pooled <= 2);
	CU_ASSERT_EQUAL((uint64_t)conns, st.connects);
	/* The temporary connections are closed: only the pooled ones are open. */
	CU_ASSERT_EQUAL(open, (int)pooled);
	/* Sequential calls reuse a pooled connection. */
	int seq = 0;
	for (int i = 0; i < 20; i++) {
		answer_t *a = post(c, &p, "sequential");
		seq += a->ret == KMS_EOK && a->status == 200 &&
		       strcmp(a->body, "peer=kms1.example.org;sequential") == 0;
	}
	zk_client_stats_t st2;
	zk_client_stats(c, &st2);
	CU_ASSERT_EQUAL(seq, 20);
	CU_ASSERT_EQUAL(st2.requests, 220);
	CU_ASSERT_EQUAL(st2.connects, st.connects);
	CU_ASSERT_EQUAL(st2.temp_handles, st.temp_handles);
	CU_ASSERT_EQUAL(atomic_load(&srv.conns), conns);
	CU_ASSERT_EQUAL(client_conns_open(), (int)pooled);
	zk_client_free(c);
	srv_stop();
}

/* One POST with client certificate cert; the listener's verdict. */
static int refused_with(const char *cert, const char *trust, const char **why,
			long *status)
{
	srv_setup("kms2", trust);
	zk_client_t *c = client(cert);
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	answer_t *a = post(c, &p, "who am I");
	*status = a->ret == KMS_EOK ? a->status : -1;
	int r = last_ret(why, NULL, 0);
	zk_client_free(c);
	srv_stop();
	return r;
}

static void given_client_cert_of_other_ca_when_posting_then_eauth(void)
{
	const char *why = NULL;
	long status = 0;
	CU_ASSERT_EQUAL(refused_with("kms1-ca2", "ca1.crt", &why, &status), KMS_EAUTH);
	CU_ASSERT_EQUAL(status, 403);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why, "client certificate does not chain to a trusted CA");
}

static void given_rogue_cert_when_posting_then_eacces_non_peer(void)
{
	const char *why = NULL;
	long status = 0;
	CU_ASSERT_EQUAL(refused_with("rogue", "ca1.crt", &why, &status), KMS_EACCES);
	CU_ASSERT_EQUAL(status, 403);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why, "certificate of a non-peer");
}

static void given_no_client_cert_when_posting_then_eauth(void)
{
	const char *why = NULL;
	long status = 0;
	CU_ASSERT_EQUAL(refused_with(NULL, "ca1.crt", &why, &status), KMS_EAUTH);
	CU_ASSERT_EQUAL(status, 403);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why, "no client certificate");
}

static void given_ca_trusted_for_another_peer_when_posting_then_eauth(void)
{
	/* The listener trusts ca1 and ca2, but kms1's CA is ca1 only. */
	const char *why = NULL;
	long status = 0;
	CU_ASSERT_EQUAL(refused_with("kms1-ca2", "ca12.crt", &why, &status), KMS_EAUTH);
	CU_ASSERT_EQUAL(status, 403);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why, "client certificate does not chain to its peer's CA");
	/* The right certificate still passes with that trust. */
	CU_ASSERT_EQUAL(refused_with("kms1", "ca12.crt", &why, &status), KMS_EOK);
	CU_ASSERT_EQUAL(status, 200);
}

static void given_cn_only_or_server_only_cert_when_posting_then_checked(void)
{
	const char *why = NULL;
	long status = 0;
	char peer[ZK_KMS_ID_MAX + 1];
	/* No subjectAltName: the CN names the peer. */
	CU_ASSERT_EQUAL(refused_with("kms2-cn", "ca1.crt", &why, &status), KMS_EOK);
	CU_ASSERT_EQUAL(status, 200);
	last_ret(NULL, peer, sizeof(peer));
	CU_ASSERT_STRING_EQUAL(peer, "kms2.example.org");
	/* Not for client authentication. */
	CU_ASSERT_EQUAL(refused_with("kms2-server", "ca1.crt", &why, &status), KMS_EAUTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why,
			       "client certificate is not for TLS client authentication");
}

static void given_wrong_server_name_or_ca_when_posting_then_eunavail(void)
{
	srv_setup("kms2", "ca1.crt");
	zk_client_t *c = client_with("kms1", ANSWER_MS, 2, 0, 0, 2);
	zk_peer_t p = server_peer("ca1.crt", "kms3.test");
	answer_t *a = post(c, &p, "x");
	CU_ASSERT_EQUAL(a->ret, KMS_EUNAVAIL);
	CU_ASSERT_PTR_NOT_NULL(a->why);
	zk_peer_t q = server_peer("ca2.crt", "kms2.test");
	q.kms_id[0] = 'K'; /* another slot */
	a = post(c, &q, "x");
	CU_ASSERT_EQUAL(a->ret, KMS_EUNAVAIL);
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.failures, 2);
	CU_ASSERT_EQUAL(st.attempts, 2); /* certificate failures are not retried */
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 0);
	/* The IP address in the URL is never what is verified. */
	zk_peer_t r = server_peer("ca1.crt", "127.0.0.1");
	r.kms_id[1] = 'M';
	CU_ASSERT_EQUAL(post(c, &r, "x")->ret, KMS_EINVAL);
	zk_client_free(c);
	srv_stop();
}

/*
 * Time in these tests: the client's backoff and breaker run on the fake
 * clock of common/clock.h, so their waits are exact and cost nothing; the
 * connect and transfer timeouts are libcurl's own, on the real clock, so
 * only their outcome is asserted, against bounds a loaded host meets.
 */
#define FAKE_MONO_MS 1000000
#define FAKE_WALL_S 1700000000
#define SLACK_MS 10 /* our ms readings against libcurl's: rounding */
#define LOADED 10   /* real time may stretch this many times */

static void given_stopped_server_when_posting_then_refused_retried_with_backoff(void)
{
	srv_setup("kms2", "ca1.crt");
	zk_client_t *c = client_with("kms1", ANSWER_MS, 2, 0, 0, 2);
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	CU_ASSERT_EQUAL(post(c, &p, "x")->ret, KMS_EOK);
	srv_stop();
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	answer_t *a = post(c, &p, "x");
	int64_t backoff = kms_clock_now_ms() - FAKE_MONO_MS;
	kms_clock_fake_stop();
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	printf("\n  stopped server: %s after %llu attempts, %lld ms of backoff\n",
	       a->why != NULL ? a->why : "-", (unsigned long long)st.attempts - 1,
	       (long long)backoff);
	CU_ASSERT_EQUAL(a->ret, KMS_EUNAVAIL);
	/* Refused, not timed out: the answer came without waiting. */
	CU_ASSERT_STRING_EQUAL(a->why, "cannot connect to the peer");
	CU_ASSERT_EQUAL(st.attempts, 1 + 3); /* refused connections are retried */
	CU_ASSERT_EQUAL(st.retries, 2);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(backoff, 20 + 40); /* attempt number x 20 ms */
	zk_client_free(c);
}

static void given_silent_listener_when_posting_then_times_out_and_retried_once(void)
{
	/* Accepts TCP (the kernel does) but never speaks TLS. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			listen(fd, 8) == 0 &&
			getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	srv.port = ntohs(sa.sin_port);
	const int timeout = 300; /* nothing must fit in it: it always expires */
	zk_client_t *c = client_with("kms1", timeout, 1, 0, 0, 2);
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	int64_t t0 = now_ms();
	answer_t *a = post(c, &p, "x");
	int64_t ms = now_ms() - t0;
	int64_t backoff = kms_clock_now_ms() - FAKE_MONO_MS;
	kms_clock_fake_stop();
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	printf("\n  silent peer: %s in %lld ms, %llu attempts\n",
	       a->why != NULL ? a->why : "-", (long long)ms,
	       (unsigned long long)st.attempts);
	CU_ASSERT_EQUAL(a->ret, KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(a->why, "timed out");
	CU_ASSERT_EQUAL(st.attempts, 2); /* nothing was sent: retried once */
	CU_ASSERT_EQUAL(backoff, 20);
	/* Each attempt waited for its whole timeout, and the timeout ended it. */
	CU_ASSERT(ms >= 2 * timeout - SLACK_MS);
	CU_ASSERT(ms < LOADED * 2 * timeout);
	zk_client_free(c);
	close(fd);
}

static void given_slow_answer_when_posting_then_times_out_without_retry(void)
{
	srv_setup("kms2", "ca1.crt");
	/* A timeout a TLS handshake on a loaded host fits in easily. */
	const int timeout = 3000;
	zk_client_t *c = client_with("kms1", timeout, 2, 0, 0, 2);
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	/* Connected first, so the slow request reuses the connection. */
	CU_ASSERT_EQUAL_FATAL(post(c, &p, "x")->ret, KMS_EOK);
	atomic_store(&srv.delay_ms, 60 * 1000); /* until srv_stop() */
	int64_t t0 = now_ms();
	answer_t *a = post(c, &p, "x");
	int64_t ms = now_ms() - t0;
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(a->ret, KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(a->why, "timed out");
	CU_ASSERT_EQUAL(st.attempts, 2); /* the peer may have processed it */
	CU_ASSERT_EQUAL(st.retries, 0);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 2);
	CU_ASSERT(ms >= timeout - SLACK_MS);
	CU_ASSERT(ms < LOADED * timeout);
	zk_client_free(c);
	srv_stop();
}

static void given_503_when_posting_then_retried_and_status_returned(void)
{
	srv_setup("kms2", "ca1.crt");
	zk_client_t *c = client_with("kms1", ANSWER_MS, 2, 2, 1000, 2);
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	atomic_store(&srv.status, 503);
	answer_t *a = post(c, &p, "x");
	CU_ASSERT_EQUAL(a->ret, KMS_EOK);
	CU_ASSERT_EQUAL(a->status, 503);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 3);
	/* Other statuses are answers: not retried, and the breaker stays shut. */
	atomic_store(&srv.status, 500);
	for (int i = 0; i < 3; i++) {
		a = post(c, &p, "x");
		CU_ASSERT_EQUAL(a->ret, KMS_EOK);
		CU_ASSERT_EQUAL(a->status, 500);
	}
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 6);
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.fast_fails, 0);
	CU_ASSERT_EQUAL(st.connects, 1);
	zk_client_free(c);
	srv_stop();
}

static void given_answer_over_cap_when_posting_then_elimit(void)
{
	srv_setup("kms2", "ca1.crt");
	zk_client_t *c = client("kms1");
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	atomic_store(&srv.answer_len, 100);
	answer_t *a = post_cap(c, &p, "x", 100);
	CU_ASSERT_EQUAL(a->ret, KMS_EOK);
	CU_ASSERT_EQUAL(a->len, 100);
	a = post_cap(c, &p, "x", 99);
	CU_ASSERT_EQUAL(a->ret, KMS_ELIMIT);
	atomic_store(&srv.answer_len, ANSWER_MAX);
	a = post_cap(c, &p, "x", 1000);
	CU_ASSERT_EQUAL(a->ret, KMS_ELIMIT);
	CU_ASSERT_STRING_EQUAL(a->why, "answer too large");
	atomic_store(&srv.answer_len, 0);
	CU_ASSERT_EQUAL(post(c, &p, "y")->ret, KMS_EOK);
	zk_client_free(c);
	srv_stop();
}

static void given_failures_when_breaker_opens_then_fast_fails_and_probes_after_window(
    void)
{
	/* The peer refuses connections until it serves on the held port. */
	uint16_t port = 0;
	int fd = refusing_socket(&port);
	CU_ASSERT_FATAL(fd >= 0);
	srv_load("kms2", "ca1.crt");
	srv.port = port;
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	zk_client_t *c = client_with("kms1", ANSWER_MS, 0, 3, 400, 2);
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	zk_client_stats_t st;
	/* Three failures in a row open the circuit. */
	for (int i = 0; i < 3; i++) {
		answer_t *a = post(c, &p, "x");
		CU_ASSERT_EQUAL(a->ret, KMS_EUNAVAIL);
		CU_ASSERT_STRING_EQUAL(a->why, "cannot connect to the peer");
	}
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.attempts, 3);
	CU_ASSERT_EQUAL(st.failures, 3);
	CU_ASSERT_EQUAL(st.fast_fails, 0);
	/* Open: refused at once, without a connection or any time passing. */
	answer_t *a = post(c, &p, "x");
	CU_ASSERT_EQUAL(a->ret, KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(a->why, "circuit open");
	CU_ASSERT_EQUAL(kms_clock_now_ms(), FAKE_MONO_MS);
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.attempts, 3);
	CU_ASSERT_EQUAL(st.fast_fails, 1);
	CU_ASSERT_EQUAL(st.failures, 3);
	/* Another peer is not affected. */
	zk_peer_t other = p;
	other.kms_id[0] = 'X';
	CU_ASSERT_STRING_EQUAL(post(c, &other, "x")->why, "cannot connect to the peer");
	/* Still open 1 ms before the window ends. */
	kms_clock_fake_advance(399);
	CU_ASSERT_STRING_EQUAL(post(c, &p, "x")->why, "circuit open");
	/* At its end one probe goes through; it fails: open again at once,
	 * without 3 more failures. */
	kms_clock_fake_advance(1);
	CU_ASSERT_STRING_EQUAL(post(c, &p, "x")->why, "cannot connect to the peer");
	CU_ASSERT_STRING_EQUAL(post(c, &p, "x")->why, "circuit open");
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.attempts, 5);
	CU_ASSERT_EQUAL(st.fast_fails, 3);
	/* The peer is back, but the circuit stays open for a new window. */
	srv_start_on(fd, port);
	kms_clock_fake_advance(399);
	CU_ASSERT_STRING_EQUAL(post(c, &p, "x")->why, "circuit open");
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 0);
	/* After it, the probe succeeds and closes the circuit. */
	kms_clock_fake_advance(1);
	a = post(c, &p, "back");
	CU_ASSERT_EQUAL(a->ret, KMS_EOK);
	CU_ASSERT_STRING_EQUAL(a->body, "peer=kms1.example.org;back");
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(post(c, &p, "x")->ret, KMS_EOK);
	}
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.fast_fails, 4);
	CU_ASSERT_EQUAL(st.attempts, 5 + 6);
	CU_ASSERT_EQUAL(st.failures, 5);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 6);
	/* Nothing in all this slept: the fake clock moved only when told. */
	CU_ASSERT_EQUAL(kms_clock_now_ms(), FAKE_MONO_MS + 400 + 400);
	zk_client_free(c);
	srv_stop();
	kms_clock_fake_stop();
}

static void given_peer_moved_when_posting_then_new_target_used(void)
{
	srv_setup("kms2", "ca1.crt");
	zk_client_t *c = client("kms1");
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	CU_ASSERT_EQUAL(post(c, &p, "x")->ret, KMS_EOK);
	uint16_t old = srv.port;
	srv_stop();
	srv_start(0); /* another port */
	CU_ASSERT_NOT_EQUAL(srv.port, old);
	zk_peer_t moved = server_peer("ca1.crt", "kms2.test");
	CU_ASSERT_EQUAL(post(c, &moved, "x")->ret, KMS_EOK);
	/* Kept alive; once pruned, the next request needs a new connection. */
	zk_client_stats_t st, st2;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(post(c, &moved, "x")->ret, KMS_EOK);
	zk_client_stats(c, &st2);
	CU_ASSERT_EQUAL(st2.connects, st.connects);
	zk_client_prune(c, NULL);
	CU_ASSERT_EQUAL(post(c, &moved, "x")->ret, KMS_EOK);
	zk_client_stats(c, &st2);
	CU_ASSERT_EQUAL(st2.connects, st.connects + 1);
	zk_client_free(c);
	srv_stop();
}

/* --- async calls on the outbound-call thread ------------------------------ */

/* What the done callbacks of a test saw; waited on, never slept for. */
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls; /* done callbacks run */
	int ret;   /* the last one's outcome */
	long status;
	size_t len;
	const char *why;
} seen_t;

static seen_t seen = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, NULL
};

static void seen_reset(void)
{
	pthread_mutex_lock(&seen.lock);
	seen.calls = 0;
	seen.ret = 1;
	seen.status = -1;
	seen.len = 0;
	seen.why = NULL;
	pthread_mutex_unlock(&seen.lock);
}

static void on_done(int ret, long status, size_t out_len, const char *why, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&seen.lock);
	seen.calls++;
	seen.ret = ret;
	seen.status = status;
	seen.len = out_len;
	seen.why = why;
	pthread_cond_broadcast(&seen.cond);
	pthread_mutex_unlock(&seen.lock);
}

/* Until n callbacks ran (at most ANSWER_MS); the number that did. */
static int seen_wait(int n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ANSWER_MS / 1000;
	pthread_mutex_lock(&seen.lock);
	while (seen.calls < n &&
	       pthread_cond_timedwait(&seen.cond, &seen.lock, &until) == 0) {
	}
	int calls = seen.calls;
	pthread_mutex_unlock(&seen.lock);
	return calls;
}

/* Until the test server holds n requests (at most ANSWER_MS). */
static bool srv_wait_requests(int n)
{
	for (int i = 0; i < ANSWER_MS / 10 && atomic_load(&srv.requests) < n; i++) {
		sleep_ms(10);
	}
	return atomic_load(&srv.requests) >= n;
}

static zk_client_t *client_pending(unsigned max_pending, uint32_t breaker_failures)
{
	char cf[2 * UNIT_PATH_MAX], kf[2 * UNIT_PATH_MAX];
	snprintf(cf, sizeof(cf), "%s/kms1.crt", dir);
	snprintf(kf, sizeof(kf), "%s/kms1.key", dir);
	zk_client_cfg_t cfg = {
		cf, kf,		ANSWER_MS, ANSWER_MS, 0, breaker_failures, ANSWER_MS * 2,
		4,  max_pending
	};
	zk_client_t *c = NULL;
	if (zk_client_new(&cfg, &c) != KMS_EOK) {
		abort();
	}
	return c;
}

static void given_outbound_when_posting_async_then_answered_once_with_request_id(void)
{
	static uint8_t out[ANSWER_MAX];
	static zk_async_t a;
	const char *why = NULL;
	const char *msg = "async #1";
	srv_setup("kms2", "ca1.crt");
	seen_reset();
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	zk_client_t *c = client_pending(4, 0);
	/* No thread yet: the caller posts on its own. */
	CU_ASSERT_EQUAL(zk_client_post_async(c, &p, "r-ab12-7", (const uint8_t *)msg,
					     strlen(msg), out, sizeof(out), &a, on_done,
					     NULL, &why),
			KMS_ENOTSUP);
	net_outbound_t *ob = NULL;
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 16, &ob), KMS_EOK);
	zk_client_use_outbound(c, ob);
	CU_ASSERT_EQUAL(zk_client_post_async(c, &p, "r-ab12-7", (const uint8_t *)msg,
					     strlen(msg), out, sizeof(out), &a, on_done,
					     NULL, &why),
			KMS_EOK);
	CU_ASSERT_EQUAL(seen_wait(1), 1);
	CU_ASSERT_EQUAL(seen.ret, KMS_EOK);
	CU_ASSERT_EQUAL(seen.status, 200);
	const char *want = "peer=kms1.example.org;async #1";
	CU_ASSERT(seen.len == strlen(want) && memcmp(out, want, seen.len) == 0);
	pthread_mutex_lock(&srv.lock);
	CU_ASSERT_STRING_EQUAL(srv.last_rid, "r-ab12-7");
	pthread_mutex_unlock(&srv.lock);
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.requests, 1);
	CU_ASSERT_EQUAL(st.pending, 0);
	zk_peer_stats_t ps;
	CU_ASSERT_EQUAL_FATAL(zk_client_peer_stats(c, &ps, 1), 1);
	CU_ASSERT_EQUAL(ps.duration.cum[ps.duration.n],
			1); /* the metrics see it as a call */
	net_outbound_free(ob);
	CU_ASSERT_EQUAL(seen_wait(2), 1); /* once: nothing more after the end */
	zk_client_free(c);
	srv_stop();
}

static void given_pending_bound_when_full_then_eagain_until_a_call_ends(void)
{
	static uint8_t out[3][ANSWER_MAX];
	static zk_async_t a[3];
	const char *why = NULL;
	srv_setup("kms2", "ca1.crt");
	seen_reset();
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	zk_client_t *c = client_pending(2, 0);
	net_outbound_t *ob = NULL;
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 16, &ob), KMS_EOK);
	zk_client_use_outbound(c, ob);
	atomic_store(&srv.delay_ms, 60 * 1000); /* held until lowered */
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(zk_client_post_async(c, &p, NULL, (const uint8_t *)"x", 1,
						     out[i], ANSWER_MAX, &a[i], on_done,
						     NULL, &why),
				KMS_EOK);
	}
	CU_ASSERT_FATAL(srv_wait_requests(2));
	CU_ASSERT_EQUAL(zk_client_post_async(c, &p, NULL, (const uint8_t *)"x", 1, out[2],
					     ANSWER_MAX, &a[2], on_done, NULL, &why),
			KMS_EAGAIN);
	CU_ASSERT_STRING_EQUAL(why, "too many forwarded resolves under way");
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.pending, 2);
	CU_ASSERT_EQUAL(st.pending_full, 1);
	CU_ASSERT_EQUAL(seen.calls, 0); /* both still held by the server */
	atomic_store(&srv.delay_ms, 0);
	CU_ASSERT_EQUAL(seen_wait(2), 2);
	CU_ASSERT_EQUAL(seen.ret, KMS_EOK);
	CU_ASSERT_EQUAL(zk_client_post_async(c, &p, NULL, (const uint8_t *)"x", 1, out[2],
					     ANSWER_MAX, &a[2], on_done, NULL, &why),
			KMS_EOK);
	CU_ASSERT_EQUAL(seen_wait(3), 3);
	net_outbound_free(ob);
	zk_client_free(c);
	srv_stop();
}

static void given_thread_stopping_when_call_pending_then_cancelled_once(void)
{
	static uint8_t out[ANSWER_MAX];
	static zk_async_t a;
	const char *why = NULL;
	srv_setup("kms2", "ca1.crt");
	seen_reset();
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	zk_client_t *c = client_pending(2, 0);
	net_outbound_t *ob = NULL;
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 16, &ob), KMS_EOK);
	zk_client_use_outbound(c, ob);
	atomic_store(&srv.delay_ms, 60 * 1000);
	CU_ASSERT_EQUAL(zk_client_post_async(c, &p, NULL, (const uint8_t *)"x", 1, out,
					     ANSWER_MAX, &a, on_done, NULL, &why),
			KMS_EOK);
	CU_ASSERT_FATAL(srv_wait_requests(1));
	net_outbound_free(ob); /* the call is cancelled before this returns */
	CU_ASSERT_EQUAL(seen.calls, 1);
	CU_ASSERT_EQUAL(seen.ret, KMS_ECANCELED);
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.pending, 0);
	CU_ASSERT_EQUAL(st.failures, 0); /* the peer did not fail */
	zk_client_free(c);
	srv_stop();
}

static void given_open_breaker_when_posting_async_then_fast_fail(void)
{
	static uint8_t out[ANSWER_MAX];
	static zk_async_t a;
	const char *why = NULL;
	srv_setup("kms2", "ca1.crt");
	zk_peer_t p = server_peer("ca1.crt", "kms2.test");
	srv_stop(); /* refused: the one failure that opens the circuit */
	seen_reset();
	zk_client_t *c = client_pending(2, 1);
	net_outbound_t *ob = NULL;
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 16, &ob), KMS_EOK);
	zk_client_use_outbound(c, ob);
	CU_ASSERT_EQUAL(zk_client_post_async(c, &p, NULL, (const uint8_t *)"x", 1, out,
					     ANSWER_MAX, &a, on_done, NULL, &why),
			KMS_EOK);
	CU_ASSERT_EQUAL(seen_wait(1), 1);
	CU_ASSERT_EQUAL(seen.ret, KMS_EUNAVAIL);
	CU_ASSERT_PTR_NOT_NULL(seen.why);
	CU_ASSERT_EQUAL(zk_client_post_async(c, &p, NULL, (const uint8_t *)"x", 1, out,
					     ANSWER_MAX, &a, on_done, NULL, &why),
			KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(why, "circuit open");
	zk_client_stats_t st;
	zk_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.fast_fails, 1);
	CU_ASSERT_EQUAL(st.pending, 0);
	zk_peer_stats_t ps;
	CU_ASSERT_EQUAL_FATAL(zk_client_peer_stats(c, &ps, 1), 1);
	CU_ASSERT(ps.breaker_open);
	CU_ASSERT_EQUAL(ps.unavailable, 1);
	CU_ASSERT_EQUAL(ps.fast_fails, 1);
	net_outbound_free(ob);
	CU_ASSERT_EQUAL(seen.calls, 1);
	zk_client_free(c);
}

static void given_bad_config_when_client_new_then_refused(void)
{
	zk_client_t *c = NULL;
	zk_client_cfg_t cfg = { NULL, NULL, 1000, 0, 1, 0, 0, 4, 0 };
	CU_ASSERT_EQUAL(zk_client_new(&cfg, &c), KMS_EOK);
	zk_client_free(c);
	zk_client_free(NULL);
	zk_client_cfg_t bad = cfg;
	bad.timeout_ms = 0;
	CU_ASSERT_EQUAL(zk_client_new(&bad, &c), KMS_EINVAL);
	bad = cfg;
	bad.max_handles = 0;
	CU_ASSERT_EQUAL(zk_client_new(&bad, &c), KMS_EINVAL);
	bad = cfg;
	bad.max_pending = ZK_CLIENT_PENDING_MAX + 1;
	CU_ASSERT_EQUAL(zk_client_new(&bad, &c), KMS_EINVAL);
	bad = cfg;
	bad.retries = ZK_CLIENT_RETRIES_MAX + 1;
	CU_ASSERT_EQUAL(zk_client_new(&bad, &c), KMS_EINVAL);
	bad = cfg;
	bad.breaker_failures = 3; /* without breaker_open_ms */
	CU_ASSERT_EQUAL(zk_client_new(&bad, &c), KMS_EINVAL);
	bad = cfg;
	bad.cert_file = path_of("kms1.crt"); /* without a key */
	CU_ASSERT_EQUAL(zk_client_new(&bad, &c), KMS_EINVAL);
	bad.key_file = path_of("missing.key");
	CU_ASSERT_EQUAL(zk_client_new(&bad, &c), KMS_ECONFIG);
	CU_ASSERT_EQUAL(zk_client_new(NULL, &c), KMS_EINVAL);
}

static void given_no_session_when_checked_then_eauth(void)
{
	const zk_peer_t *p = NULL;
	const char *why = NULL;
	CU_ASSERT_EQUAL(zk_tls_peer(NULL, NULL, &p, &why), KMS_EAUTH);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(why);
}

/* --- setup ---------------------------------------------------------------- */

static int make_pki(void)
{
	char cmd[4 * UNIT_PATH_MAX];
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", ZK_CERTS_SCRIPT, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_zk: %s failed\n", cmd);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "cat '%s/ca1.crt' '%s/ca2.crt' >'%s/ca12.crt'", dir,
		 dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The listener's peers: kms1 (ca1, kms1.test) and kms2 (ca1, kms2.test). */
static int make_listener_peers(void)
{
	const char *db = store_of("listener.db");
	zk_peer_t a = make_peer("kms1.example.org", "https://kms1.test/zk",
				path_of("ca1.crt"), "kms1.test", 32, 0x11);
	zk_peer_t b = make_peer("kms2.example.org", "https://kms2.test/zk",
				path_of("ca1.crt"), "kms2.test", 32, 0x22);
	if (zk_peer_add(db, kek, &a) != KMS_EOK || zk_peer_add(db, kek, &b) != KMS_EOK ||
	    zk_peers_load(db, kek, &srv.peers) != KMS_EOK) {
		return -1;
	}
	return 0;
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_peers_when_added_then_list_has_no_key_and_load_unwraps),
		UNIT_TEST(given_taken_id_or_cert_name_when_added_then_eexist),
		UNIT_TEST(given_bad_fields_when_added_then_einval),
		UNIT_TEST(given_peer_when_removed_then_gone_and_second_remove_enoent),
		UNIT_TEST(given_wrong_kek_or_no_store_when_loaded_then_refused),
		UNIT_TEST(given_wrapped_keys_swapped_when_loaded_then_eauth),
		UNIT_TEST(given_peer_when_200_posts_then_one_or_two_connections),
		UNIT_TEST(given_threads_when_posting_then_all_answered_on_bounded_pool),
		UNIT_TEST(given_client_cert_of_other_ca_when_posting_then_eauth),
		UNIT_TEST(given_rogue_cert_when_posting_then_eacces_non_peer),
		UNIT_TEST(given_no_client_cert_when_posting_then_eauth),
		UNIT_TEST(given_ca_trusted_for_another_peer_when_posting_then_eauth),
		UNIT_TEST(given_cn_only_or_server_only_cert_when_posting_then_checked),
		UNIT_TEST(given_wrong_server_name_or_ca_when_posting_then_eunavail),
		UNIT_TEST(
		    given_stopped_server_when_posting_then_refused_retried_with_backoff),
		UNIT_TEST(
		    given_silent_listener_when_posting_then_times_out_and_retried_once),
		UNIT_TEST(given_slow_answer_when_posting_then_times_out_without_retry),
		UNIT_TEST(given_503_when_posting_then_retried_and_status_returned),
		UNIT_TEST(given_answer_over_cap_when_posting_then_elimit),
		UNIT_TEST(
		    given_failures_when_breaker_opens_then_fast_fails_and_probes_after_window),
		UNIT_TEST(given_peer_moved_when_posting_then_new_target_used),
		UNIT_TEST(
		    given_outbound_when_posting_async_then_answered_once_with_request_id),
		UNIT_TEST(given_pending_bound_when_full_then_eagain_until_a_call_ends),
		UNIT_TEST(given_thread_stopping_when_call_pending_then_cancelled_once),
		UNIT_TEST(given_open_breaker_when_posting_async_then_fast_fail),
		UNIT_TEST(given_bad_config_when_client_new_then_refused),
		UNIT_TEST(given_no_session_when_checked_then_eauth),
		UNIT_END,
	};
	log_level_set(LOG_ERR);
	if (crypto_init() != KMS_EOK || crypto_random(kek, sizeof(kek)) != KMS_EOK) {
		return 99;
	}
	pthread_mutex_init(&srv.lock, NULL);
	unit_tmpdir(dir);
	int rc = 99;
	if (make_pki() == 0 && make_listener_peers() == 0) {
		rc = unit_run("zk", tests);
	}
	srv_stop();
	zk_peers_free(srv.peers);
	free(srv.cert);
	free(srv.key);
	free(srv.trust);
	unit_rmdir(dir);
	return rc;
}
