/*
 * kms-ue bootstrap.  The Ub exchange (RFC 3310 with TS 24.109, docs/ub.md):
 *
 *   GET /ub, Authorization: Digest username="IMPI", realm, nonce="", uri,
 *       response=""                       -> 401 WWW-Authenticate: Digest
 *       realm, nonce = base64(RAND || AUTN), algorithm=AKAv1-MD5, qop, opaque
 *   USIM: MAC-A of AUTN, SQN fresh?  no  -> the same request with
 *       auts = base64(AUTS) (resynchronisation)      -> 401, a new challenge
 *                                     yes -> response = Digest(RES)
 *                                                    -> 200 BootstrappingInfo
 *                                                       <btid>, <lifetime>
 *
 * Then Ks = CK || IK, Ks_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id).  The
 * B-TID must be base64(RAND) of the challenge we answered.  SQN_MS is
 * saved as soon as a challenge is accepted.  Nothing secret is printed.
 */
#include "tools/ue_bootstrap.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "gba/digest.h"
#include "gba/kdf.h"
#include "gba/milenage.h"
#include "tools/ue_common.h"
#include "tools/ue_gba.h"

#define ROUNDS_MAX 4	       /* requests in one bootstrapping */
#define BODY_MAX 4096	       /* of a Ub answer */
#define AUTHZ_MAX 2048	       /* our Authorization header value */
#define SQN_DELTA (1ULL << 28) /* TS 33.102 C.2.2: how far SQN may jump */
#define SQN_MASK 0xffffffffffffULL
#define TIMEOUT_DEFAULT 10
#define TIMEOUT_MAX 600

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kms-ue bootstrap --usim FILE --bsf URL --out FILE\n"
	    "                        [--naf-fqdn FQDN] [--timeout SECONDS]\n"
	    "                        [--cacert FILE]\n"
	    "\n"
	    "Run GBA bootstrapping (Ub, HTTP Digest AKAv1-MD5) with the simulated\n"
	    "USIM in --usim against the BSF at --bsf (e.g. http://127.0.0.1:8081/ub),\n"
	    "derive the NAF key Ks_NAF for the KMS --naf-fqdn, and write the B-TID,\n"
	    "Ks_NAF and the expiry to --out (mode 0600).  Then use\n"
	    "  kms-ue request|resolve|transfer-init|transfer-resp --gba FILE ...\n"
	    "which takes Ks_NAF as the PSK and sends the B-TID in IDRpsk.\n"
	    "\n"
	    "  --usim FILE       impi=, k=, opc=, amf= lines (mode 0600); the USIM's\n"
	    "                    SQN_MS is kept in FILE.sqn\n"
	    "  --bsf URL         the BSF's Ub URL (http or https)\n"
	    "  --naf-fqdn FQDN   the KMS's NAF FQDN (naf.fqdn of kmsd), default %s\n"
	    "  --out FILE        where the bootstrapping result goes\n"
	    "  --timeout SECONDS per HTTP request, default %d\n"
	    "  --cacert FILE     CA certificates (PEM) to verify an https BSF\n"
	    "                    with, instead of the system's\n"
	    "  -h, --help        this text\n"
	    "\n"
	    "Exit: 0 bootstrapped, 1 refused or failed (network authentication,\n"
	    "unknown IMPI, BSF unreachable), 2 usage or file error.\n",
	    UE_KMS_ID_DEFAULT, TIMEOUT_DEFAULT);
}

typedef struct {
	const char *usim, *bsf, *fqdn, *out, *cacert;
	uint32_t timeout;
} args_t;

static int parse_args(int argc, char **argv, args_t *a)
{
	const ue_opt_t opts[] = {
		{ UE_STRING("usim", 0, &a->usim), .required = true },
		{ UE_STRING("bsf", 0, &a->bsf), .required = true },
		{ UE_STRING("naf-fqdn", 0, &a->fqdn) },
		{ UE_STRING("out", 0, &a->out), .required = true },
		{ UE_U32("timeout", 0, &a->timeout, 1, TIMEOUT_MAX, "seconds") },
		{ UE_STRING("cacert", 0, &a->cacert) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	a->fqdn = UE_KMS_ID_DEFAULT;
	a->timeout = TIMEOUT_DEFAULT;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc;
	}
	if (strncmp(a->bsf, "http://", 7) != 0 && strncmp(a->bsf, "https://", 8) != 0) {
		fprintf(stderr, "%s: --bsf: an http:// or https:// URL\n", ue_prog);
		return -1;
	}
	if (strlen(a->fqdn) > UE_FQDN_MAX ||
	    gba_string_check(a->fqdn, strlen(a->fqdn)) != KMS_EOK) {
		fprintf(stderr, "%s: --naf-fqdn: printable ASCII, at most %d bytes\n",
			ue_prog, UE_FQDN_MAX);
		return -1;
	}
	return 0;
}

/* --- HTTP ------------------------------------------------------------------------ */

typedef struct {
	long status;
	char www_auth[DIGEST_HEADER_MAX + 1];
	char body[BODY_MAX + 1];
	size_t len;
	bool over;
} resp_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	resp_t *r = ctx;
	size_t n = size * nmemb;
	if (n > BODY_MAX - r->len) {
		r->over = true;
		return 0;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Keep the WWW-Authenticate value (the Digest one when there are several). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	resp_t *r = ctx;
	size_t n = size * nmemb;
	static const char name[] = "WWW-Authenticate:";
	size_t nl = sizeof(name) - 1;
	if (n <= nl || strncasecmp(data, name, nl) != 0) {
		return n;
	}
	const char *v = data + nl;
	size_t vl = n - nl;
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) {
		vl--;
	}
	bool digest = vl >= 6 && strncasecmp(v, "Digest", 6) == 0;
	if (vl <= DIGEST_HEADER_MAX && (r->www_auth[0] == '\0' || digest)) {
		memcpy(r->www_auth, v, vl);
		r->www_auth[vl] = '\0';
	}
	return n;
}

static int send_ub(CURL *h, const args_t *a, const char *authz, resp_t *r)
{
	char hdr[AUTHZ_MAX + 32];
	snprintf(hdr, sizeof(hdr), "Authorization: %s", authz);
	struct curl_slist *list = curl_slist_append(NULL, hdr);
	memset(r, 0, sizeof(*r));
	if (list == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(list);
	secmem_wipe(hdr, sizeof(hdr));
	if (rc != CURLE_OK) {
		fprintf(stderr, "%s: %s: %s\n", ue_prog, a->bsf,
			r->over ? "answer too large" : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

static CURL *handle_new(const args_t *a, resp_t *r)
{
	CURL *h = curl_easy_init();
	if (h == NULL) {
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, a->bsf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)a->timeout);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kms-ue/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (a->cacert != NULL) {
		curl_easy_setopt(h, CURLOPT_CAINFO, a->cacert);
	}
	return h;
}

/* --- Digest ------------------------------------------------------------------------ */

/* Append "name=\"value\"" (quoted-string escapes) or name=token to a
 * value that starts "Digest ", with ", " between parameters. */
static void put(char *out, size_t cap, const char *name, const char *value, bool quote)
{
	size_t o = strlen(out);
	int n = snprintf(out + o, cap - o, "%s%s=%s", o > 7 ? ", " : "", name,
			 quote ? "\"" : "");
	o += n > 0 ? (size_t)n : 0;
	for (const char *v = value; *v != '\0' && o + 3 < cap; v++) {
		if (quote && (*v == '"' || *v == '\\')) {
			out[o++] = '\\';
		}
		out[o++] = *v;
	}
	if (quote && o + 1 < cap) {
		out[o++] = '"';
	}
	out[o < cap ? o : cap - 1] = '\0';
}

/* The request-target of url (path and query), "/" when it has none. */
static void uri_of(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	p = p != NULL ? strchr(p + 3, '/') : NULL;
	snprintf(out, cap, "%s", p != NULL ? p : "/");
}

/* The host of url, for the realm of the first request. */
static void host_of(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	size_t n = strcspn(p, ":/?#");
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* What one bootstrapping keeps between its requests. */
typedef struct {
	args_t a;
	ue_usim_t usim;
	uint64_t sqn_ms;
	digest_params_t p; /* the credentials we send */
	char authz[AUTHZ_MAX];
	bool answered; /* the last request carried a RES */
	uint8_t rand[16], autn[16], res[8], ck[16], ik[16];
	resp_t r;
	ue_gba_t g;
} run_t;

static void authz_first(run_t *x)
{
	char realm[DIGEST_FIELD_MAX];
	host_of(x->a.bsf, realm, sizeof(realm));
	snprintf(x->authz, sizeof(x->authz), "Digest ");
	put(x->authz, sizeof(x->authz), "username", x->usim.impi, true);
	put(x->authz, sizeof(x->authz), "realm", realm, true);
	put(x->authz, sizeof(x->authz), "nonce", "", true);
	put(x->authz, sizeof(x->authz), "uri", x->p.uri, true);
	put(x->authz, sizeof(x->authz), "response", "", true);
	x->answered = false;
}

/* Credentials for challenge ch: a response with RES, or auts (resync). */
static int authz_answer(run_t *x, const digest_params_t *ch, const char *auts)
{
	digest_params_t *p = &x->p;
	uint8_t cn[16];
	snprintf(p->username, sizeof(p->username), "%s", x->usim.impi);
	snprintf(p->realm, sizeof(p->realm), "%s", ch->realm);
	snprintf(p->nonce, sizeof(p->nonce), "%s", ch->nonce);
	snprintf(p->opaque, sizeof(p->opaque), "%s", ch->opaque);
	snprintf(p->algorithm, sizeof(p->algorithm), "AKAv1-MD5");
	/* qop: auth-int when offered (covers the body), else auth, else none. */
	const char *qop = strstr(ch->qop, "auth-int") != NULL ? "auth-int"
			  : strstr(ch->qop, "auth") != NULL   ? "auth"
							      : "";
	snprintf(p->qop, sizeof(p->qop), "%s", qop);
	snprintf(p->nc, sizeof(p->nc), "00000001");
	int ret = crypto_random(cn, sizeof(cn));
	if (ret == KMS_EOK) {
		ret = hex_encode(cn, sizeof(cn), p->cnonce, sizeof(p->cnonce));
	}
	p->response[0] = '\0';
	if (ret == KMS_EOK && auts == NULL) {
		ret = digest_response(p, "GET", x->res, sizeof(x->res),
				      (const uint8_t *)"", 0, p->response);
	}
	if (ret != KMS_EOK) {
		ue_fail("digest response", ret);
		return -1;
	}
	snprintf(x->authz, sizeof(x->authz), "Digest ");
	put(x->authz, sizeof(x->authz), "username", p->username, true);
	put(x->authz, sizeof(x->authz), "realm", p->realm, true);
	put(x->authz, sizeof(x->authz), "nonce", p->nonce, true);
	put(x->authz, sizeof(x->authz), "uri", p->uri, true);
	if (p->qop[0] != '\0') {
		put(x->authz, sizeof(x->authz), "qop", p->qop, false);
		put(x->authz, sizeof(x->authz), "nc", p->nc, false);
		put(x->authz, sizeof(x->authz), "cnonce", p->cnonce, true);
	}
	/* RFC 3310 3.4 computes a resync's response with an empty password;
	 * the BSF stub does not check it, so it is left empty here. */
	put(x->authz, sizeof(x->authz), "response", p->response, true);
	if (p->opaque[0] != '\0') {
		put(x->authz, sizeof(x->authz), "opaque", p->opaque, true);
	}
	put(x->authz, sizeof(x->authz), "algorithm", p->algorithm, false);
	if (auts != NULL) {
		put(x->authz, sizeof(x->authz), "auts", auts, true);
	}
	x->answered = auts == NULL;
	return 0;
}

static uint64_t u48(const uint8_t b[MILENAGE_SQN_LEN])
{
	uint64_t v = 0;
	for (size_t i = 0; i < MILENAGE_SQN_LEN; i++) {
		v = v << 8 | b[i];
	}
	return v;
}

static void u48_put(uint64_t v, uint8_t b[MILENAGE_SQN_LEN])
{
	for (int i = MILENAGE_SQN_LEN - 1; i >= 0; i--) {
		b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

/* A 401: check the network (MAC-A, SQN) and prepare the next request. */
static int on_challenge(run_t *x)
{
	digest_params_t ch;
	uint8_t sqn[MILENAGE_SQN_LEN], auts[MILENAGE_AUTS_LEN], sqn_ms[MILENAGE_SQN_LEN];
	char auts_b64[32];
	int ret = -1;
	if (x->r.www_auth[0] == '\0' ||
	    digest_parse(x->r.www_auth, strlen(x->r.www_auth), &ch) != KMS_EOK ||
	    strcasecmp(ch.algorithm, "AKAv1-MD5") != 0 || ch.realm[0] == '\0') {
		fprintf(stderr, "%s: 401 without a Digest AKAv1-MD5 challenge\n",
			ue_prog);
		goto cleanup;
	}
	int rc = digest_nonce_split(ch.nonce, x->rand, x->autn);
	if (rc == KMS_EOK) {
		rc = milenage_check_autn(x->usim.k, x->usim.opc, x->rand, x->autn, sqn,
					 x->res, x->ck, x->ik);
	}
	if (rc == KMS_EMAC) {
		fprintf(stderr,
			"%s: the network does not authenticate (MAC-A of AUTN "
			"is wrong: another K/OPc, or not our BSF)\n",
			ue_prog);
		goto cleanup;
	}
	if (rc != KMS_EOK) {
		ue_fail("challenge nonce", rc);
		goto cleanup;
	}
	uint64_t s = u48(sqn);
	if (s <= x->sqn_ms || s - x->sqn_ms > SQN_DELTA) {
		/* Not fresh: AUTS = (SQN_MS xor AK*) || MAC-S, the BSF resyncs. */
		fprintf(stderr, "%s: note: SQN not fresh, resynchronising\n", ue_prog);
		u48_put(x->sqn_ms, sqn_ms);
		rc = milenage_auts(x->usim.k, x->usim.opc, x->rand, sqn_ms, auts);
		if (rc == KMS_EOK) {
			rc =
			    base64_encode(auts, sizeof(auts), auts_b64, sizeof(auts_b64));
		}
		if (rc != KMS_EOK) {
			ue_fail("AUTS", rc);
			goto cleanup;
		}
		ret = authz_answer(x, &ch, auts_b64);
		goto cleanup;
	}
	/* Accepted: the USIM moves SQN_MS on before it answers. */
	x->sqn_ms = s;
	if (ue_sqn_save(x->a.usim, x->sqn_ms) != 0) {
		goto cleanup;
	}
	ret = authz_answer(x, &ch, NULL);
cleanup:
	secmem_wipe(&ch, sizeof(ch));
	secmem_wipe(auts, sizeof(auts));
	return ret;
}

/* The text of <tag>...</tag> in body (no nested markup), or -1. */
static int xml_text(const char *body, const char *tag, char *out, size_t cap)
{
	char open[32], close[32];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *s = strstr(body, open);
	const char *e = s != NULL ? strstr(s, close) : NULL;
	if (s == NULL || e == NULL) {
		return -1;
	}
	s += strlen(open);
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= cap || memchr(s, '<', n) != NULL) {
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" to Unix seconds. */
static int iso8601(const char *s, int64_t *out)
{
	struct tm tm;
	char z = 0, extra = 0;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &extra) != 7 ||
	    z != 'Z') {
		return -1;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1) {
		return -1;
	}
	*out = (int64_t)t;
	return 0;
}

/* The 200: B-TID (bound to our RAND), lifetime, Ks_NAF. */
static int on_success(run_t *x)
{
	char life[64], rand_b64[32];
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	uint8_t naf_id[GBA_NAF_ID_MAX];
	size_t naf_id_len = 0;
	ue_gba_t *g = &x->g;
	if (!x->answered) {
		fprintf(stderr, "%s: 200 without an answered challenge\n", ue_prog);
		return -1;
	}
	if (xml_text(x->r.body, "btid", g->btid, sizeof(g->btid)) != 0 ||
	    xml_text(x->r.body, "lifetime", life, sizeof(life)) != 0 ||
	    iso8601(life, &g->expires) != 0) {
		fprintf(stderr,
			"%s: the BSF's 200 is not a BootstrappingInfo with btid "
			"and lifetime\n",
			ue_prog);
		return -1;
	}
	const char *at = strchr(g->btid, '@');
	if (base64_encode(x->rand, sizeof(x->rand), rand_b64, sizeof(rand_b64)) !=
		KMS_EOK ||
	    at == NULL || (size_t)(at - g->btid) != strlen(rand_b64) ||
	    strncmp(g->btid, rand_b64, strlen(rand_b64)) != 0 || at[1] == '\0') {
		fprintf(stderr,
			"%s: the B-TID is not base64(RAND)@BSF of our challenge\n",
			ue_prog);
		return -1;
	}
	snprintf(g->impi, sizeof(g->impi), "%s", x->usim.impi);
	snprintf(g->naf_fqdn, sizeof(g->naf_fqdn), "%s", x->a.fqdn);
	int rc = gba_naf_id(x->a.fqdn, ua, naf_id, sizeof(naf_id), &naf_id_len);
	if (rc == KMS_EOK) {
		rc = gba_ks_naf(x->ck, x->ik, x->rand, x->usim.impi, naf_id, naf_id_len,
				false, g->ks_naf);
	}
	if (rc != KMS_EOK) {
		ue_fail("Ks_NAF", rc);
		return -1;
	}
	if (ue_gba_save(x->a.out, g) != 0) {
		return -2;
	}
	printf("bootstrapped: B-TID %s, valid until %s (%lld s); Ks_NAF for %s in %s\n",
	       g->btid, life, (long long)(g->expires - ue_unix_now()), x->a.fqdn,
	       x->a.out);
	return fflush(stdout) == 0 ? 0 : -2;
}

static int run(run_t *x)
{
	CURL *h = handle_new(&x->a, &x->r);
	if (h == NULL) {
		fprintf(stderr, "%s: libcurl does not initialise\n", ue_prog);
		return UE_EXIT_INVALID;
	}
	int ret = UE_EXIT_INVALID;
	uri_of(x->a.bsf, x->p.uri, sizeof(x->p.uri));
	authz_first(x);
	for (int round = 0; round < ROUNDS_MAX; round++) {
		if (send_ub(h, &x->a, x->authz, &x->r) != 0) {
			break;
		}
		if (x->r.status == 401) {
			if (x->answered) {
				fprintf(stderr,
					"%s: note: the BSF refused our answer, "
					"new challenge\n",
					ue_prog);
			}
			if (on_challenge(x) != 0) {
				break;
			}
			continue;
		}
		if (x->r.status == 200) {
			int rc = on_success(x);
			ret = rc == 0	 ? UE_EXIT_OK
			      : rc == -2 ? UE_EXIT_USAGE
					 : UE_EXIT_INVALID;
			break;
		}
		fprintf(stderr, "%s: the BSF answered %ld%s%.200s\n", ue_prog,
			x->r.status, x->r.status == 403 ? " (unknown IMPI): " : ": ",
			x->r.body);
		break;
	}
	curl_easy_cleanup(h);
	return ret;
}

int ue_bootstrap_cmd(int argc, char **argv)
{
	run_t *x = secmem_alloc(sizeof(*x));
	int ret = UE_EXIT_USAGE;
	if (x == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	int pa = parse_args(argc, argv, &x->a);
	if (pa != 0) {
		ret = pa > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
		goto cleanup;
	}
	if (ue_usim_load(x->a.usim, &x->usim) != 0 ||
	    ue_sqn_load(x->a.usim, &x->sqn_ms) != 0) {
		goto cleanup;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "%s: libcurl does not initialise\n", ue_prog);
		ret = UE_EXIT_INVALID;
		goto cleanup;
	}
	ret = run(x);
	curl_global_cleanup();
cleanup:
	secmem_free(x, sizeof(*x));
	return ret;
}
