/*
 * Zk peers.
 *
 * A key is stored as AES-256-KW(KEK, key) with the RFC 3394 IV set to the
 * first 8 bytes of SHA-256("kms zk peer wrap" || kms_id), the construction
 * kms/psk_static.c uses for PSK users with a label of its own: a row copied
 * onto another peer (or a PSK user's wrapped key copied here) does not
 * unwrap.  The loaded table is an array sorted by kms_id bytes (searched
 * with bsearch) plus an index sorted by cert_name ignoring ASCII case; it
 * never changes after zk_peers_load().
 */
#include "zk/peer.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "policy/identity.h"
#include "sql/db.h"
#include "sql/schema.h"

#define WRAP_LABEL "kms zk peer wrap"
#define WRAPPED_MAX (ZK_KEY_MAX + CRYPTO_KW_IV)

struct zk_peers {
	size_t n;		   /* loaded peers */
	size_t cap;		   /* allocated slots (all wiped on free) */
	zk_peer_t *p;		   /* n peers sorted by kms_id (secmem: holds keys) */
	const zk_peer_t **by_cert; /* n pointers sorted by cert_name, any case */
};

/* --- field checks ----------------------------------------------------------- */

/* No byte below 0x20, no DEL; no space either when !space_ok. */
static bool clean(const char *s, size_t len, bool space_ok)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (c == ' ' && !space_ok)) {
			return false;
		}
	}
	return true;
}

int zk_peer_check_kms_id(const char *s)
{
	if (s == NULL) {
		return KMS_EINVAL;
	}
	size_t len = strnlen(s, ZK_KMS_ID_MAX + 1);
	return len > 0 && len <= ZK_KMS_ID_MAX && clean(s, len, false) ? KMS_EOK
								       : KMS_EINVAL;
}

int zk_peer_check_ca_file(const char *s)
{
	if (s == NULL) {
		return KMS_EINVAL;
	}
	size_t len = strnlen(s, ZK_CA_FILE_MAX + 1);
	return len >= 2 && len <= ZK_CA_FILE_MAX && s[0] == '/' && clean(s, len, true)
		   ? KMS_EOK
		   : KMS_EINVAL;
}

static bool ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

int zk_peer_check_cert_name(const char *s)
{
	if (s == NULL) {
		return KMS_EINVAL;
	}
	size_t len = strnlen(s, ZK_CERT_NAME_MAX + 1);
	if (len == 0 || len > ZK_CERT_NAME_MAX) {
		return KMS_EINVAL;
	}
	size_t label = 0;
	bool digits = true; /* the current label is all digits */
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!ldh(s[i])) {
				return KMS_EINVAL;
			}
			digits &= s[i] >= '0' && s[i] <= '9';
			label++;
			continue;
		}
		/* A label ends: 1..63 bytes, no '-' at either end. */
		if (label == 0 || label > 63 || s[i - label] == '-' || s[i - 1] == '-') {
			return KMS_EINVAL;
		}
		if (i == len && digits) {
			return KMS_EINVAL; /* an IPv4 address, not a DNS name */
		}
		label = 0;
		digits = true;
	}
	return KMS_EOK;
}

/* CURLUE_OK when part is absent from u (the getter says "no such part"). */
static bool url_part_absent(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(u, part, &v, 0);
	curl_free(v);
	return rc != CURLUE_OK;
}

int zk_peer_check_url(const char *s)
{
	static const char scheme[] = "https://";
	if (s == NULL) {
		return KMS_EINVAL;
	}
	size_t len = strnlen(s, ZK_URL_MAX + 1);
	if (len <= sizeof(scheme) - 1 || len > ZK_URL_MAX ||
	    strncmp(s, scheme, sizeof(scheme) - 1) != 0 || !clean(s, len, false)) {
		return KMS_EINVAL;
	}
	/* The client parses the URL with libcurl: check it the same way. */
	CURLU *u = curl_url();
	if (u == NULL) {
		return KMS_ENOMEM;
	}
	char *host = NULL;
	int ret = KMS_EINVAL;
	if (curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL &&
	    host[0] != '\0' && url_part_absent(u, CURLUPART_USER) &&
	    url_part_absent(u, CURLUPART_PASSWORD) &&
	    url_part_absent(u, CURLUPART_OPTIONS) &&
	    url_part_absent(u, CURLUPART_QUERY) &&
	    url_part_absent(u, CURLUPART_FRAGMENT)) {
		ret = KMS_EOK;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static int check_peer(const zk_peer_t *p)
{
	if (p == NULL || zk_peer_check_kms_id(p->kms_id) != KMS_EOK ||
	    zk_peer_check_url(p->url) != KMS_EOK ||
	    zk_peer_check_ca_file(p->ca_file) != KMS_EOK ||
	    zk_peer_check_cert_name(p->cert_name) != KMS_EOK ||
	    memchr(p->responders, '\0', sizeof(p->responders)) == NULL ||
	    identity_pattern_check(p->responders) != KMS_EOK ||
	    (p->key_len != 16 && p->key_len != 32)) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

/* --- key wrapping ----------------------------------------------------------- */

static int wrap_iv(const char *kms_id, size_t len, uint8_t iv[CRYPTO_KW_IV])
{
	return crypto_aes_kw_iv(WRAP_LABEL, (const uint8_t *)kms_id, len, iv);
}

/* Copy a TEXT column of at most max bytes into out (max + 1 bytes). */
static int column_text(sqldb_stmt_t *st, int col, size_t max, char *out)
{
	const char *s = (const char *)sqldb_column_text(st, col);
	size_t len = (size_t)sqldb_column_bytes(st, col);
	if (s == NULL || len == 0 || len > max || strlen(s) != len) {
		return KMS_EIO;
	}
	memcpy(out, s, len + 1);
	return KMS_EOK;
}

/* Columns kms_id, url, ca_file, cert_name, responders, key_len, created
 * into info. */
static int row_info(sqldb_stmt_t *st, zk_peer_info_t *info)
{
	memset(info, 0, sizeof(*info));
	int ret = column_text(st, 0, ZK_KMS_ID_MAX, info->kms_id);
	if (ret == KMS_EOK) {
		ret = column_text(st, 1, ZK_URL_MAX, info->url);
	}
	if (ret == KMS_EOK) {
		ret = column_text(st, 2, ZK_CA_FILE_MAX, info->ca_file);
	}
	if (ret == KMS_EOK) {
		ret = column_text(st, 3, ZK_CERT_NAME_MAX, info->cert_name);
	}
	if (ret == KMS_EOK) {
		ret = column_text(st, 4, ZK_RESPONDERS_MAX, info->responders);
	}
	int64_t key_len = sqldb_column_int64(st, 5);
	if (ret == KMS_EOK && key_len != 16 && key_len != 32) {
		ret = KMS_EIO;
	}
	if (ret != KMS_EOK) {
		log_error("zk: a zk_peers row is malformed");
		return KMS_EIO;
	}
	info->key_len = (size_t)key_len;
	info->created = sqldb_column_int64(st, 6);
	return KMS_EOK;
}

#define SELECT_PEER                                                                      \
	"SELECT kms_id, url, ca_file, cert_name, responders, key_len, created, "         \
	"wrapped "                                                                       \
	"FROM zk_peers "

/*
 * The responders pattern of a stored peer as kmsd uses it: its stored form
 * (identity_pattern_canon: "sip:*@Other.example" -> "*@other.example"),
 * or as it is, with a warning, when it has none (left by an older kmsctl).
 */
static void stored_responders(const zk_peer_info_t *info, char out[ZK_RESPONDERS_MAX + 1])
{
	const char *why = NULL;
	if (identity_pattern_canon(info->responders, out, ZK_RESPONDERS_MAX + 1, &why) !=
	    KMS_EOK) {
		log_warning("zk: peer %s: responders '%s' used as stored: %s",
			    info->kms_id, info->responders, why);
		memcpy(out, info->responders, ZK_RESPONDERS_MAX + 1);
	}
}

/* One row of SELECT_PEER into p, key unwrapped under kek. */
static int row_peer(sqldb_stmt_t *st, const uint8_t kek[ZK_KEK_LEN], zk_peer_t *p)
{
	zk_peer_info_t info;
	int ret = row_info(st, &info);
	if (ret != KMS_EOK) {
		return ret;
	}
	const uint8_t *wrapped = sqldb_column_blob(st, 7);
	size_t wlen = (size_t)sqldb_column_bytes(st, 7);
	if (wrapped == NULL || wlen != info.key_len + CRYPTO_KW_IV) {
		log_error("zk: a zk_peers row is malformed");
		return KMS_EIO;
	}
	uint8_t iv[CRYPTO_KW_IV];
	ret = wrap_iv(info.kms_id, strlen(info.kms_id), iv);
	if (ret == KMS_EOK) {
		ret = crypto_aes_kw_unwrap(kek, ZK_KEK_LEN, iv, wrapped, wlen, p->key);
	}
	if (ret != KMS_EOK) {
		log_error("zk: the key of peer %s does not unwrap (wrong KEK or "
			  "tampered row)",
			  info.kms_id);
		return ret;
	}
	memcpy(p->kms_id, info.kms_id, sizeof(p->kms_id));
	memcpy(p->url, info.url, sizeof(p->url));
	memcpy(p->ca_file, info.ca_file, sizeof(p->ca_file));
	memcpy(p->cert_name, info.cert_name, sizeof(p->cert_name));
	stored_responders(&info, p->responders);
	p->key_len = info.key_len;
	return KMS_EOK;
}

/* --- store operations ------------------------------------------------------- */

/* An existing peer's key must unwrap under kek: never mix KEKs in a store. */
static int check_kek_locked(sqldb_t *db, const uint8_t kek[ZK_KEK_LEN])
{
	sqldb_stmt_t *st = NULL;
	zk_peer_t *p = secmem_alloc(sizeof(*p));
	if (p == NULL) {
		return KMS_ENOMEM;
	}
	int ret = sqldb_prepare(db, SELECT_PEER "LIMIT 1", &st);
	if (ret == KMS_EOK) {
		int rc = sqldb_step(st);
		if (rc == SQLDB_ROW) {
			ret = row_peer(st, kek, p);
		} else if (rc != SQLDB_DONE) {
			ret = sqldb_rc(rc);
		}
	}
	sqldb_finalize(st);
	secmem_free(p, sizeof(*p));
	return ret;
}

static int add_locked(sqldb_t *db, const uint8_t kek[ZK_KEK_LEN], const zk_peer_t *p,
		      const char *responders, const uint8_t *wrapped, size_t wlen)
{
	int64_t count = 0;
	int ret = sqldb_query_int64(db, "SELECT count(*) FROM zk_peers", &count);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (count >= ZK_PEERS_MAX) {
		return KMS_ELIMIT;
	}
	ret = check_kek_locked(db, kek);
	if (ret != KMS_EOK) {
		return ret;
	}
	sqldb_stmt_t *st = NULL;
	ret = sqldb_prepare(db,
			    "INSERT INTO zk_peers (kms_id, url, ca_file, cert_name, "
			    "wrapped, key_len, created, responders) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			    &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	sqldb_bind_text(st, 1, p->kms_id, -1);
	sqldb_bind_text(st, 2, p->url, -1);
	sqldb_bind_text(st, 3, p->ca_file, -1);
	sqldb_bind_text(st, 4, p->cert_name, -1);
	sqldb_bind_blob(st, 5, wrapped, (int)wlen);
	sqldb_bind_int64(st, 6, (int64_t)p->key_len);
	sqldb_bind_int64(st, 7, (int64_t)time(NULL));
	sqldb_bind_text(st, 8, responders, -1);
	ret = sqldb_step_done(st); /* KMS_EEXIST: kms_id or cert_name taken */
	sqldb_finalize(st);
	return ret;
}

typedef struct {
	const uint8_t *kek;
	const zk_peer_t *p;
	const char *responders; /* p's, in its stored form */
	const uint8_t *wrapped;
	size_t wlen;
} add_tx_t;

static int add_tx(sqldb_t *db, void *ctx)
{
	const add_tx_t *t = ctx;
	return add_locked(db, t->kek, t->p, t->responders, t->wrapped, t->wlen);
}

int zk_peer_add(const char *db_path, const uint8_t kek[ZK_KEK_LEN], const zk_peer_t *p)
{
	char responders[ZK_RESPONDERS_MAX + 1];
	if (db_path == NULL || kek == NULL || check_peer(p) != KMS_EOK ||
	    identity_pattern_canon(p->responders, responders, sizeof(responders), NULL) !=
		KMS_EOK) {
		return KMS_EINVAL;
	}
	uint8_t wrapped[WRAPPED_MAX];
	uint8_t iv[CRYPTO_KW_IV];
	size_t wlen = p->key_len + CRYPTO_KW_IV;
	int ret = wrap_iv(p->kms_id, strlen(p->kms_id), iv);
	if (ret == KMS_EOK) {
		ret =
		    crypto_aes_kw_wrap(kek, ZK_KEK_LEN, iv, p->key, p->key_len, wrapped);
	}
	if (ret == KMS_EOK) {
		add_tx_t t = { kek, p, responders, wrapped, wlen };
		ret = schema_transact(db_path, SCHEMA_KMS, 1, add_tx, &t);
	}
	if (ret == KMS_EOK) {
		log_notice("zk: peer %s added (%s, %zu-byte key)", p->kms_id, p->url,
			   p->key_len);
	}
	secmem_wipe(wrapped, sizeof(wrapped));
	return ret;
}

int zk_peer_remove(const char *db_path, const char *kms_id)
{
	if (db_path == NULL || zk_peer_check_kms_id(kms_id) != KMS_EOK) {
		return KMS_EINVAL;
	}
	return schema_delete(db_path, SCHEMA_KMS,
			     "DELETE FROM zk_peers WHERE kms_id = ?1", kms_id, 0);
}

int zk_peer_list(const char *db_path, zk_peer_list_fn fn, void *ctx)
{
	if (db_path == NULL || fn == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	zk_peer_info_t info;
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		/* No wrapped column: the walk never touches key bytes. */
		ret = sqldb_prepare(db,
				    "SELECT kms_id, url, ca_file, cert_name, responders, "
				    "key_len, created FROM zk_peers ORDER BY kms_id "
				    "LIMIT ?1",
				    &st);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	sqldb_bind_int(st, 1, ZK_PEERS_MAX);
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && (rc = sqldb_step(st)) == SQLDB_ROW) {
		ret = row_info(st, &info);
		if (ret == KMS_EOK) {
			ret = fn(ctx, &info);
		}
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
cleanup:
	sqldb_finalize(st);
	sqldb_close(db);
	return ret;
}

/* --- the loaded table ------------------------------------------------------- */

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0) {
		return c;
	}
	return alen < blen ? -1 : alen > blen;
}

static int cmp_kms(const void *a, const void *b)
{
	const zk_peer_t *x = a, *y = b;
	return cmp_bytes(x->kms_id, strlen(x->kms_id), y->kms_id, strlen(y->kms_id));
}

/* strcasecmp() in the C locale whatever the process locale: DNS names are ASCII. */
static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;
		x += x >= 'A' && x <= 'Z' ? 'a' - 'A' : 0;
		y += y >= 'A' && y <= 'Z' ? 'a' - 'A' : 0;
		if (x != y || x == 0) {
			return x - y;
		}
	}
}

static int cmp_cert(const void *a, const void *b)
{
	const zk_peer_t *const *x = a, *const *y = b;
	return ascii_casecmp((*x)->cert_name, (*y)->cert_name);
}

typedef struct {
	const char *s;
	size_t len;
} ref_t;

static int cmp_kms_key(const void *k, const void *e)
{
	const ref_t *r = k;
	const zk_peer_t *y = e;
	return cmp_bytes(r->s, r->len, y->kms_id, strlen(y->kms_id));
}

static int cmp_cert_key(const void *k, const void *e)
{
	const zk_peer_t *const *y = e;
	return ascii_casecmp(k, (*y)->cert_name);
}

void zk_peers_free(zk_peers_t *t)
{
	if (t == NULL) {
		return;
	}
	secmem_table_free(t->p, t->cap * sizeof(zk_peer_t));
	free(t->by_cert);
	free(t);
}

static int load_all(sqldb_t *db, const uint8_t kek[ZK_KEK_LEN], zk_peers_t *t)
{
	int64_t count = 0;
	int ret = sqldb_query_int64(db, "SELECT count(*) FROM zk_peers", &count);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (count < 0 || count > ZK_PEERS_MAX) {
		log_error("zk: %lld peers in the store (max %d)", (long long)count,
			  ZK_PEERS_MAX);
		return KMS_ELIMIT;
	}
	size_t cap = (size_t)count;
	/* Keep one slot for an empty table. */
	t->p = secmem_table_alloc((cap > 0 ? cap : 1) * sizeof(zk_peer_t));
	t->by_cert = calloc(cap > 0 ? cap : 1, sizeof(*t->by_cert));
	if (t->p == NULL || t->by_cert == NULL) {
		return KMS_ENOMEM;
	}
	t->cap = cap > 0 ? cap : 1;
	sqldb_stmt_t *st = NULL;
	ret = sqldb_prepare(db, SELECT_PEER "ORDER BY kms_id LIMIT ?1", &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	sqldb_bind_int64(st, 1, (int64_t)cap);
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && t->n < cap && (rc = sqldb_step(st)) == SQLDB_ROW) {
		ret = row_peer(st, kek, &t->p[t->n]);
		if (ret == KMS_EOK) {
			t->n++;
		}
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE && rc != SQLDB_ROW) {
		ret = sqldb_rc(rc);
	}
	sqldb_finalize(st);
	return ret;
}

int zk_peers_load(const char *db_path, const uint8_t kek[ZK_KEK_LEN], zk_peers_t **out)
{
	if (db_path == NULL || kek == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	zk_peers_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return KMS_ENOMEM;
	}
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_begin_read(db); /* one snapshot for count and rows */
	}
	if (ret == KMS_EOK) {
		ret = load_all(db, kek, t);
		sqldb_rollback(db);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	/* The table must hold what the store's constraints promise. */
	for (size_t i = 0; i < t->n; i++) {
		if (check_peer(&t->p[i]) != KMS_EOK) {
			log_error("zk: peer %s has an invalid field", t->p[i].kms_id);
			ret = KMS_EIO;
			goto cleanup;
		}
	}
	qsort(t->p, t->n, sizeof(zk_peer_t), cmp_kms);
	for (size_t i = 0; i < t->n; i++) {
		t->by_cert[i] = &t->p[i];
	}
	qsort(t->by_cert, t->n, sizeof(*t->by_cert), cmp_cert);
	log_info("zk: %zu peers loaded", t->n);
	*out = t;
	t = NULL;
cleanup:
	sqldb_close(db);
	zk_peers_free(t);
	return ret;
}

const zk_peer_t *zk_peers_find_kms(const zk_peers_t *t, const uint8_t *id, size_t len)
{
	if (t == NULL || id == NULL || len == 0 || len > ZK_KMS_ID_MAX) {
		return NULL;
	}
	ref_t k = { (const char *)id, len };
	const zk_peer_t *p = bsearch(&k, t->p, t->n, sizeof(zk_peer_t), cmp_kms_key);
	/* Another form of a peer's identity (docs/identities.md, IDRkms). */
	for (size_t i = 0; p == NULL && i < t->n; i++) {
		if (identity_kms_match(t->p[i].kms_id, id, len)) {
			p = &t->p[i];
		}
	}
	return p;
}

const zk_peer_t *zk_peers_find_cert(const zk_peers_t *t, const char *name)
{
	if (t == NULL || name == NULL ||
	    strnlen(name, ZK_CERT_NAME_MAX + 1) > ZK_CERT_NAME_MAX) {
		return NULL;
	}
	const zk_peer_t *const *e =
	    bsearch(name, t->by_cert, t->n, sizeof(*t->by_cert), cmp_cert_key);
	return e != NULL ? *e : NULL;
}

size_t zk_peers_count(const zk_peers_t *t)
{
	return t != NULL ? t->n : 0;
}

const zk_peer_t *zk_peers_at(const zk_peers_t *t, size_t i)
{
	return t != NULL && i < t->n ? &t->p[i] : NULL;
}
