/*
 * kmsctl status [--json]: what the store holds (master keys with their
 * state and age, PSK users and identities, policy rules, Zk peers) and,
 * with -c and metrics.port set, what kmsd's metrics listener says (up or
 * down, version, circuit breakers, last reload).  Never any key bytes.
 * Exit 1 when the store cannot be read or kmsd does not answer.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errcode.h"
#include "kms/keyring.h"
#include "kms/policy_store.h"
#include "kms/psk_static.h"
#include "tools/kmsctl.h"
#include "tools/kmsctl_metrics.h"
#include "zk/peer.h"

#define STATUS_KEYS_MAX 1024
#define METRICS_TIMEOUT_MS 2000L
#define METRICS_CONNECT_MS 1000L

typedef struct {
	keyring_info_t keys[STATUS_KEYS_MAX];
	size_t nkeys;
	size_t psk_users, psk_ids, rules, peers;
	int64_t now;
	/* kmsd: checked when -c gave a metrics port */
	bool checked, up;
	char url[160];
	char why[CURL_ERROR_SIZE];
	kmsctl_metrics_t m;
} status_t;

typedef struct {
	char *buf;
	size_t len;
} body_t;

static void usage_status(FILE *f)
{
	fprintf(f, "usage: kmsctl [-d STATE_DIR | -c KMSD_CONF] status [--json]\n"
		   "\n"
		   "The store: master keys (id, state, age), PSK users and their\n"
		   "identities, policy rules, Zk peers.  With -c and metrics.port set:\n"
		   "kmsd up or down, its version, the Zn and Zk circuit breakers and\n"
		   "its last reload, read from GET /metrics on metrics.listen.\n"
		   "Exit 1 when the store cannot be read or kmsd does not answer.\n"
		   "\n"
		   "  --json      one JSON object instead of text\n"
		   "  -h, --help  this text\n");
}

static int count_psk(void *ctx, const psk_static_info_t *u)
{
	status_t *s = ctx;
	s->psk_users++;
	s->psk_ids += u->nids;
	return KMS_EOK;
}

static int count_rule(void *ctx, const policy_rule_t *r)
{
	(void)r;
	((status_t *)ctx)->rules++;
	return KMS_EOK;
}

static int count_peer(void *ctx, const zk_peer_info_t *pe)
{
	(void)pe;
	((status_t *)ctx)->peers++;
	return KMS_EOK;
}

static int read_store(const kmsctl_paths_t *p, status_t *s)
{
	int ret = keyring_list(p->db, s->keys, STATUS_KEYS_MAX, &s->nkeys);
	if (ret == KMS_EOK) {
		ret = psk_static_list(p->db, count_psk, s);
	}
	if (ret == KMS_EOK) {
		ret = policy_store_list(p->db, count_rule, s);
	}
	if (ret == KMS_EOK) {
		ret = zk_peer_list(p->db, count_peer, s);
	}
	return kmsctl_list_result(ret, p, "store's contents");
}

/* libcurl's body callback: at most KMSCTL_METRICS_BODY_MAX bytes kept;
 * past that the transfer is aborted. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	body_t *b = ctx;
	size_t n = size * nmemb;
	if (n > KMSCTL_METRICS_BODY_MAX - b->len) {
		return 0;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return n;
}

/* The URL of metrics.listen:metrics.port (a wildcard address: loopback). */
static void metrics_url(const kmsctl_paths_t *p, char *url, size_t cap)
{
	const char *host = p->metrics_listen;
	if (strcmp(host, "0.0.0.0") == 0) {
		host = "127.0.0.1";
	} else if (strcmp(host, "::") == 0) {
		host = "::1";
	}
	bool v6 = strchr(host, ':') != NULL;
	snprintf(url, cap, "http://%s%s%s:%u/metrics", v6 ? "[" : "", host, v6 ? "]" : "",
		 (unsigned)p->metrics_port);
}

/* GET /metrics: s->up and s->m, or s->why. */
static void read_metrics(status_t *s)
{
	body_t b = { malloc(KMSCTL_METRICS_BODY_MAX), 0 };
	CURL *c = curl_easy_init();
	long code = 0;
	if (b.buf == NULL || c == NULL) {
		snprintf(s->why, sizeof(s->why), "out of memory");
		goto cleanup;
	}
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, METRICS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, METRICS_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->why);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	}
	if (rc == CURLE_WRITE_ERROR) {
		snprintf(s->why, sizeof(s->why), "over %d bytes of metrics",
			 KMSCTL_METRICS_BODY_MAX);
	} else if (rc != CURLE_OK && s->why[0] == '\0') {
		snprintf(s->why, sizeof(s->why), "%s", curl_easy_strerror(rc));
	} else if (rc == CURLE_OK && code != 200) {
		snprintf(s->why, sizeof(s->why), "HTTP status %ld", code);
	} else if (rc == CURLE_OK) {
		s->up = kmsctl_metrics_parse(b.buf, b.len, &s->m) == KMS_EOK;
	}
cleanup:
	curl_easy_cleanup(c);
	free(b.buf);
}

static const char *state_name(keyring_state_t st)
{
	return st == KEYRING_ACTIVE    ? "active"
	       : st == KEYRING_ROTATED ? "rotated"
				       : "retired";
}

/* seconds as "3d 4h", "4h 5m", "5m 6s" or "6s". */
static void format_age(int64_t s, char *buf, size_t cap)
{
	if (s < 0) {
		s = 0;
	}
	if (s >= 86400) {
		snprintf(buf, cap, "%" PRId64 "d %" PRId64 "h", s / 86400,
			 s % 86400 / 3600);
	} else if (s >= 3600) {
		snprintf(buf, cap, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
	} else if (s >= 60) {
		snprintf(buf, cap, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	} else {
		snprintf(buf, cap, "%" PRId64 "s", s);
	}
}

static void print_kmsd(const status_t *s)
{
	if (!s->checked) {
		printf("kmsd: not checked (give -c with metrics.port set)\n");
		return;
	}
	if (!s->up) {
		printf("kmsd: down (%s: %s)\n", s->url, s->why);
		return;
	}
	printf("kmsd: up, version %s (%s)\n", s->m.version[0] ? s->m.version : "?",
	       s->url);
	if (s->m.zn_breaker_open >= 0) {
		printf("  zn breaker: %s\n", s->m.zn_breaker_open ? "open" : "closed");
	}
	for (size_t i = 0; i < s->m.npeers; i++) {
		printf("  zk breaker %s: %s\n", s->m.zk[i].peer,
		       s->m.zk[i].open ? "open" : "closed");
	}
	if (s->m.last_reload >= 0) {
		char t[32];
		kmsctl_format_time((int64_t)s->m.last_reload, t, sizeof(t));
		printf("  last reload: %s (%s)\n", t,
		       s->m.last_reload_success == 1   ? "succeeded"
		       : s->m.last_reload_success == 0 ? "failed"
						       : "?");
	}
}

static void print_text(const kmsctl_paths_t *p, const status_t *s)
{
	printf("store: %s\n", p->db_label);
	printf("master keys: %zu\n", s->nkeys);
	for (size_t i = 0; i < s->nkeys; i++) {
		const keyring_info_t *k = &s->keys[i];
		char cr[32], age[32];
		kmsctl_format_time(k->created, cr, sizeof(cr));
		format_age(s->now - k->created, age, sizeof(age));
		printf("  key %-6" PRIu32 " %-8s created %s (age %s)\n", k->id,
		       state_name(k->state), cr, age);
	}
	printf("psk users: %zu (%zu identities)\n", s->psk_users, s->psk_ids);
	printf("policy rules: %zu\n", s->rules);
	printf("zk peers: %zu\n", s->peers);
	print_kmsd(s);
}

static json_t *keys_json(const status_t *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < s->nkeys; i++) {
		const keyring_info_t *k = &s->keys[i];
		json_t *o =
		    json_pack("{s:I, s:s, s:I, s:I}", "id", (json_int_t)k->id, "state",
			      state_name(k->state), "created", (json_int_t)k->created,
			      "age_seconds", (json_int_t)(s->now - k->created));
		if (json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* The metrics' part, or null when kmsd was not checked. */
static json_t *kmsd_json(const status_t *s)
{
	if (!s->checked) {
		return json_null();
	}
	if (!s->up) {
		return json_pack("{s:b, s:s, s:s}", "up", 0, "url", s->url, "error",
				 s->why);
	}
	json_t *zk = json_object();
	for (size_t i = 0; zk != NULL && i < s->m.npeers; i++) {
		if (json_object_set_new(zk, s->m.zk[i].peer,
					json_boolean(s->m.zk[i].open)) != 0) {
			json_decref(zk);
			zk = NULL;
		}
	}
	const kmsctl_metrics_t *m = &s->m;
	return json_pack(
	    "{s:b, s:s, s:o, s:o, s:o, s:o, s:o}", "up", 1, "url", s->url, "version",
	    m->version[0] ? json_string(m->version) : json_null(), "zn_breaker_open",
	    m->zn_breaker_open < 0 ? json_null() : json_boolean(m->zn_breaker_open),
	    "zk_breaker_open", zk, "last_reload",
	    m->last_reload < 0 ? json_null() : json_integer((json_int_t)m->last_reload),
	    "last_reload_success",
	    m->last_reload_success < 0 ? json_null()
				       : json_boolean(m->last_reload_success));
}

static int print_json(const kmsctl_paths_t *p, const status_t *s)
{
	return kmsctl_json_print(
	    json_pack("{s:{s:s, s:o, s:I, s:I, s:I, s:I}, s:o}", "store", "path",
		      p->db_label, "master_keys", keys_json(s), "psk_users",
		      (json_int_t)s->psk_users, "psk_identities", (json_int_t)s->psk_ids,
		      "policy_rules", (json_int_t)s->rules, "zk_peers",
		      (json_int_t)s->peers, "kmsd", kmsd_json(s)));
}

int kmsctl_status_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	bool json = false;
	if (argc == 2 && kmsctl_is_help(argv[1])) {
		usage_status(stdout);
		return EXIT_SUCCESS;
	}
	int rc = kmsctl_list_args(argc, argv, "status", &json);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	status_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return kmsctl_fail(KMS_ENOMEM, "status");
	}
	s->now = (int64_t)time(NULL);
	rc = read_store(p, s);
	if (rc == EXIT_SUCCESS && p->metrics_port != 0) {
		s->checked = true;
		metrics_url(p, s->url, sizeof(s->url));
		read_metrics(s);
	}
	if (rc == EXIT_SUCCESS) {
		rc = json ? print_json(p, s) : (print_text(p, s), EXIT_SUCCESS);
	}
	if (rc == EXIT_SUCCESS && s->checked && !s->up) {
		rc = KMSCTL_EXIT_FAIL; /* printed: "kmsd: down (...)" */
	}
	free(s);
	return rc;
}
