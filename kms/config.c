/*
 * kmsd configuration.  The schema table below is the only description of
 * the settings: it fills the defaults, drives loading (types, ranges and
 * extra checks) and rejects every key it does not name.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "kms/config.h"

#include "sql/db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <libconfig.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "mikey/payload.h"

#define THREADS_MAX 256
#define PWBUF_LEN 16384		  /* getpwnam_r / getgrnam_r scratch */
#define AUDIT_MAX_SIZE_MIN 65536u /* a few batches of rows */

typedef enum {
	T_STR = 0,
	T_UINT = 1,
	T_BOOL = 2,
} item_type_t;

typedef int (*str_check_fn)(const char *v);

typedef struct {
	const char *path; /* "group.name" */
	item_type_t type;
	size_t offset;
	size_t size; /* string buffer size, or integer width */
	const char *def_str;
	uint64_t def_num;
	uint64_t min, max;
	str_check_fn check; /* strings: KMS_EOK or the reason is in check_why */
	const char *what;   /* what check() wants, for the error message */
	bool restart;	    /* a reload does not apply it (see kms_config_diff) */
} item_t;

static int check_listen(const char *v)
{
	uint8_t a[16];
	return inet_pton(AF_INET, v, a) == 1 || inet_pton(AF_INET6, v, a) == 1
		   ? KMS_EOK
		   : KMS_EINVAL;
}

static int check_printable(const char *v)
{
	if (*v == '\0') {
		return KMS_EINVAL;
	}
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v <= 0x20 || *v == 0x7f) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

static int check_base_path(const char *v)
{
	if (v[0] != '/' || check_printable(v) != KMS_EOK || strpbrk(v, "?#%") != NULL ||
	    strcmp(v, "/healthz") == 0 || strcmp(v, "/readyz") == 0) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

static int check_level(const char *v)
{
	return log_level_parse(v) >= 0 ? KMS_EOK : KMS_EINVAL;
}

static int check_target(const char *v)
{
	return strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0 ? KMS_EOK
								    : KMS_EINVAL;
}

static int check_log_format(const char *v)
{
	return strcmp(v, "text") == 0 || strcmp(v, "json") == 0 ? KMS_EOK : KMS_EINVAL;
}

static int check_path(const char *v)
{
	/* Empty means "derive from state_dir" for the derived paths. */
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v < 0x20 || *v == 0x7f) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

static int check_nonempty_path(const char *v)
{
	return *v != '\0' ? check_path(v) : KMS_EINVAL;
}

/* "" or an account name or id: letters, digits, '.', '_', '-' (and a
 * trailing '$'), not starting with '-'. */
static int check_account(const char *v)
{
	if (*v == '-') {
		return KMS_EINVAL;
	}
	for (const char *p = v; *p != '\0'; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
			  (c == '$' && p[1] == '\0');
		if (!ok) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

static int check_effect(const char *v)
{
	return strcmp(v, "allow") == 0 || strcmp(v, "deny") == 0 ? KMS_EOK : KMS_EINVAL;
}

static int check_on_failure(const char *v)
{
	return strcmp(v, "refuse") == 0 || strcmp(v, "serve") == 0 ? KMS_EOK : KMS_EINVAL;
}

static int check_replay_failure(const char *v)
{
	return strcmp(v, "refuse") == 0 || strcmp(v, "local") == 0 ? KMS_EOK : KMS_EINVAL;
}

static int check_store(const char *v)
{
	return strcmp(v, "sqlite") == 0 || strcmp(v, "postgresql") == 0 ? KMS_EOK
									: KMS_EINVAL;
}

static int check_node(const char *v)
{
	/* "" (the host name) or a printable name without spaces. */
	return *v == '\0' ? KMS_EOK : check_printable(v);
}

static int check_psk_source(const char *v)
{
	return strcmp(v, "static") == 0 || strcmp(v, "gba") == 0 || strcmp(v, "both") == 0
		   ? KMS_EOK
		   : KMS_EINVAL;
}

static int check_ticket_type(const char *v)
{
	return strcmp(v, "private") == 0 || strcmp(v, "1") == 0 || strcmp(v, "2") == 0
		   ? KMS_EOK
		   : KMS_EINVAL;
}

static int check_forking(const char *v)
{
	return strcmp(v, "always") == 0 || strcmp(v, "on_request") == 0 ? KMS_EOK
									: KMS_EINVAL;
}

uint16_t kms_config_ticket_type(const kms_config_t *cfg)
{
	if (strcmp(cfg->ticket_type, "1") == 0) {
		return 1;
	}
	return strcmp(cfg->ticket_type, "2") == 0 ? 2 : 0xF000u;
}

bool kms_config_forking_always(const kms_config_t *cfg)
{
	return strcmp(cfg->forking, "on_request") != 0;
}

/* --- kms.user and kms.group ------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t len,
						      const char *fmt, ...)
{
	if (why == NULL || len == 0) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* The uid of name (a decimal id as it is) and, when the user database
 * knows the account, its primary group (*has_gid). */
static int user_ids(const char *name, uid_t *uid, gid_t *gid, bool *has_gid)
{
	char buf[PWBUF_LEN];
	struct passwd pw, *res = NULL;
	uint32_t n = 0;
	if (dec_parse_u32(name, &n) == KMS_EOK) {
		if (n == UINT32_MAX) { /* (uid_t)-1: "no change" to setresuid */
			return KMS_EINVAL;
		}
		/* An id needs no entry: only its primary group is looked up. */
		(void)getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &res);
		*uid = (uid_t)n;
	} else {
		int e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
		if (res == NULL) {
			return e == 0 || e == ENOENT || e == ESRCH ? KMS_ENOENT : -e;
		}
		*uid = pw.pw_uid;
	}
	*has_gid = res != NULL;
	if (res != NULL) {
		*gid = pw.pw_gid;
	}
	return KMS_EOK;
}

static int group_id(const char *name, gid_t *gid)
{
	char buf[PWBUF_LEN];
	struct group gr, *res = NULL;
	uint32_t n = 0;
	if (dec_parse_u32(name, &n) == KMS_EOK) {
		if (n == UINT32_MAX) {
			return KMS_EINVAL;
		}
		*gid = (gid_t)n;
		return KMS_EOK;
	}
	int e = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (res == NULL) {
		return e == 0 || e == ENOENT || e == ESRCH ? KMS_ENOENT : -e;
	}
	*gid = gr.gr_gid;
	return KMS_EOK;
}

/* kms_config_runas(); *bad names the setting at fault. */
static int runas(const kms_config_t *cfg, kms_config_runas_t *out, char *why, size_t len,
		 const char **bad)
{
	kms_config_runas_t r = { false, 0, 0 };
	bool has_gid = false;
	*bad = "kms.user";
	if (cfg->user[0] == '\0') {
		if (cfg->group[0] != '\0') {
			*bad = "kms.group";
			say(why, len, "'kms.group' needs 'kms.user'");
			return KMS_EINVAL;
		}
		*out = r;
		return KMS_EOK;
	}
	int ret = user_ids(cfg->user, &r.uid, &r.gid, &has_gid);
	if (ret != KMS_EOK) {
		say(why, len, "'kms.user' = \"%s\": no such user", cfg->user);
		return ret;
	}
	if (cfg->group[0] != '\0') {
		*bad = "kms.group";
		ret = group_id(cfg->group, &r.gid);
		if (ret != KMS_EOK) {
			say(why, len, "'kms.group' = \"%s\": no such group", cfg->group);
			return ret;
		}
	} else if (!has_gid) {
		say(why, len,
		    "'kms.user' = \"%s\" is not in the user database: set "
		    "'kms.group' too",
		    cfg->user);
		return KMS_EINVAL;
	}
	if (r.uid == 0 || r.gid == 0) {
		*bad = r.uid == 0 ? "kms.user" : "kms.group";
		say(why, len, "'%s' must not be root (id 0): name the service account",
		    *bad);
		return KMS_EINVAL;
	}
	r.set = true;
	*out = r;
	return KMS_EOK;
}

int kms_config_runas(const kms_config_t *cfg, kms_config_runas_t *out, char *why,
		     size_t why_len)
{
	const char *bad = NULL;
	if (cfg == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	return runas(cfg, out, why, why_len, &bad);
}

static int check_zn(const char *v)
{
	return strcmp(v, "http") == 0 || strcmp(v, "diameter") == 0 ? KMS_EOK
								    : KMS_EINVAL;
}

static int check_url(const char *v)
{
	if (check_printable(v) != KMS_EOK) {
		return KMS_EINVAL;
	}
	const char *host = NULL;
	if (strncmp(v, "http://", 7) == 0) {
		host = v + 7;
	} else if (strncmp(v, "https://", 8) == 0) {
		host = v + 8;
	}
	return host != NULL && *host != '\0' && *host != '/' ? KMS_EOK : KMS_EINVAL;
}

/* A DNS name: letters, digits, '-' and '.', no empty label at the ends. */
static int check_fqdn(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || v[0] == '.' || v[0] == '-' || v[n - 1] == '.') {
		return KMS_EINVAL;
	}
	for (; *v != '\0'; v++) {
		char c = *v;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.')) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

#define FIELD(f) offsetof(kms_config_t, f), sizeof(((kms_config_t *)0)->f)
/* R: the setting needs a restart (RESTART), or a reload applies it (RELOAD). */
#define RESTART true
#define RELOAD false
#define STR(p, f, d, chk, w, r)                                                          \
	{                                                                                \
		p, T_STR, FIELD(f), d, 0, 0, 0, chk, w, r                                \
	}
#define UINT(p, f, d, lo, hi, r)                                                         \
	{                                                                                \
		p, T_UINT, FIELD(f), NULL, d, lo, hi, NULL, NULL, r                      \
	}
#define BOOL(p, f, d, r)                                                                 \
	{                                                                                \
		p, T_BOOL, FIELD(f), NULL, d, 0, 1, NULL, NULL, r                        \
	}

static const item_t schema[] = {
	STR("ua.listen", listen, "127.0.0.1", check_listen, "an IPv4 or IPv6 address",
	    RESTART),
	UINT("ua.port", port, 8080, 1, 65535, RESTART),
	STR("ua.base_path", base_path, "/kms", check_base_path,
	    "a path starting with '/', no spaces, '?', '#' or '%'", RESTART),
	UINT("ua.threads", threads, 0, 0, THREADS_MAX, RESTART),
	UINT("ua.max_body", max_body, MIKEY_MSG_MAX, 256, MIKEY_MSG_MAX, RESTART),
	UINT("ua.max_conns", max_conns, 1024, 1, 65536, RESTART),
	UINT("ua.conn_timeout", conn_timeout, 10, 1, 3600, RESTART),
	UINT("ua.max_conns_per_ip", max_conns_per_ip, 256, 0, 65536, RESTART),
	UINT("ua.request_timeout", request_timeout, 10, 1, 3600, RESTART),
	UINT("ua.max_sending", max_sending, 256, 0, 65536, RESTART),
	UINT("ua.max_sending_per_ip", max_sending_per_ip, 16, 0, 65536, RESTART),
	UINT("ua.conn_memory", conn_memory, 32768, 8192, 1048576, RESTART),
	STR("ua.tls_cert", tls_cert, "", check_path, "a file name", RESTART),
	STR("ua.tls_key", tls_key, "", check_path, "a file name", RESTART),
	UINT("ua.rate_per_address", rate_per_address, 50000, 0, RATELIMIT_RATE_MAX,
	     RESTART),
	UINT("ua.burst_per_address", burst_per_address, 100000, 1, RATELIMIT_BURST_MAX,
	     RESTART),
	UINT("ua.rate_per_identity", rate_per_identity, 50000, 0, RATELIMIT_RATE_MAX,
	     RESTART),
	UINT("ua.burst_per_identity", burst_per_identity, 100000, 1, RATELIMIT_BURST_MAX,
	     RESTART),
	UINT("ua.rate_table_entries", rate_table_entries, 65536, 16, 16777216, RESTART),
	BOOL("ua.error_detail", error_detail, 0, RESTART),
	STR("kms.kms_id", kms_id, "kms.example.org", check_printable,
	    "a non-empty identity without spaces or control characters", RELOAD),
	STR("kms.state_dir", state_dir, "./var", check_nonempty_path, "a directory",
	    RELOAD),
	STR("kms.kek_file", kek_file, "", check_path, "a file name", RELOAD),
	STR("kms.keys_db", keys_db, "", check_path, "a file name", RELOAD),
	STR("kms.audit_db", audit_db, "", check_path, "a file name", RESTART),
	STR("kms.store", store, "sqlite", check_store, "sqlite or postgresql", RESTART),
	STR("kms.conninfo", conninfo, "", check_path,
	    "a libpq connection string (\"host=... dbname=...\", \"service=NAME\")",
	    RESTART),
	STR("kms.node", node, "", check_node, "a name without spaces", RESTART),
	STR("kms.psk_source", psk_source, "static", check_psk_source,
	    "static, gba or both", RELOAD),
	STR("kms.ticket_type", ticket_type, "private", check_ticket_type,
	    "private, 1 or 2", RELOAD),
	BOOL("kms.accept_mac_without_kms_id", accept_mac_without_kms_id, 0, RELOAD),
	STR("kms.user", user, "", check_account, "an account name or a decimal id",
	    RESTART),
	STR("kms.group", group, "", check_account, "a group name or a decimal id",
	    RESTART),
	STR("kms.pidfile", pidfile, "", check_path, "a file name", RESTART),
	UINT("policy.clock_skew", clock_skew, 300, 1, 86400, RESTART),
	UINT("policy.ticket_lifetime", ticket_lifetime, 3600, 1, 31536000, RELOAD),
	UINT("policy.max_ticket_lifetime", max_ticket_lifetime, 86400, 1, 31536000,
	     RELOAD),
	BOOL("policy.allow_reuse", allow_reuse, 1, RELOAD),
	STR("policy.forking", forking, "always", check_forking, "always or on_request",
	    RELOAD),
	STR("policy.default_effect", default_effect, "allow", check_effect,
	    "\"allow\" or \"deny\"", RELOAD),
	BOOL("policy.default_group_tickets", default_group_tickets, 0, RELOAD),
	BOOL("policy.default_initiator_keys", default_initiator_keys, 0, RELOAD),
	BOOL("policy.default_initiator_tickets", default_initiator_tickets, 0, RELOAD),
	UINT("policy.reload_interval", reload_interval, 2, 0, 3600, RELOAD),
	UINT("policy.replay_entries", replay_entries, 1048576, 64, 67108864, RESTART),
	BOOL("policy.replay_journal", replay_journal, 1, RESTART),
	UINT("policy.audit_queue", audit_queue, 65536, 16, 16777216, RESTART),
	STR("audit.on_failure", audit_on_failure, "refuse", check_on_failure,
	    "refuse or serve", RESTART),
	BOOL("audit.durable", audit_durable, 0, RESTART),
	UINT("audit.durable_timeout_ms", audit_durable_timeout_ms, 2000, 10, 60000,
	     RESTART),
	UINT("audit.max_size", audit_max_size, 0, 0, 1ULL << 50, RELOAD),
	UINT("audit.sample_interval", audit_sample_interval, 10, 1, 3600, RESTART),
	BOOL("replay.shared", replay_shared, 0, RESTART),
	STR("replay.on_store_failure", replay_on_store_failure, "refuse",
	    check_replay_failure, "refuse or local", RESTART),
	BOOL("resolve.once", resolve_once, 0, RESTART),
	UINT("resolve.once_max_entries", resolve_once_max_entries, 1048576, 64, 67108864,
	     RESTART),
	BOOL("naf.enabled", naf_enabled, 0, RELOAD),
	STR("naf.bsf_url", naf_bsf_url, "http://127.0.0.1:8081/zn", check_url,
	    "an http:// or https:// URL without spaces", RELOAD),
	STR("naf.fqdn", naf_fqdn, "kms.example.org", check_fqdn,
	    "a host name (letters, digits, '-', '.')", RELOAD),
	UINT("naf.timeout_ms", naf_timeout_ms, 2000, 50, 60000, RELOAD),
	UINT("naf.connect_timeout_ms", naf_connect_timeout_ms, 500, 10, 60000, RELOAD),
	UINT("naf.retries", naf_retries, 1, 0, 5, RELOAD),
	UINT("naf.cache_entries", naf_cache_entries, 65536, 16, 16777216, RELOAD),
	UINT("naf.negative_ttl", naf_negative_ttl, 30, 0, 86400, RELOAD),
	/* libfdcore cannot be initialised twice in a process: restart only. */
	STR("naf.zn", naf_zn, "http", check_zn, "\"http\" or \"diameter\"", RESTART),
	STR("naf.diameter_conf", naf_diameter_conf, "", check_path, "a file name",
	    RESTART),
	BOOL("zk.enabled", zk_enabled, 0, RESTART),
	STR("zk.listen", zk_listen, "127.0.0.1", check_listen, "an IPv4 or IPv6 address",
	    RESTART),
	UINT("zk.port", zk_port, 8443, 1, 65535, RESTART),
	STR("zk.path", zk_path, "/kms", check_base_path,
	    "a path starting with '/', no spaces, '?', '#' or '%'", RESTART),
	STR("zk.cert_file", zk_cert_file, "", check_path, "a file name", RESTART),
	STR("zk.key_file", zk_key_file, "", check_path, "a file name", RESTART),
	STR("zk.ca_file", zk_ca_file, "", check_path, "a file name", RESTART),
	UINT("zk.threads", zk_threads, 2, 1, THREADS_MAX, RESTART),
	UINT("zk.max_conns", zk_max_conns, 256, 1, 65536, RESTART),
	UINT("zk.request_timeout", zk_request_timeout, 10, 1, 3600, RESTART),
	UINT("zk.max_sending", zk_max_sending, 64, 0, 65536, RESTART),
	UINT("zk.max_sending_per_ip", zk_max_sending_per_ip, 16, 0, 65536, RESTART),
	UINT("zk.timeout_ms", zk_timeout_ms, 2000, 50, 60000, RESTART),
	UINT("zk.connect_timeout_ms", zk_connect_timeout_ms, 500, 10, 60000, RESTART),
	UINT("zk.retries", zk_retries, 1, 0, 5, RESTART),
	UINT("zk.breaker_failures", zk_breaker_failures, 3, 1, 1000, RESTART),
	UINT("zk.breaker_open_ms", zk_breaker_open_ms, 5000, 10, 600000, RESTART),
	UINT("zk.rate_per_address", zk_rate_per_address, 50000, 0, RATELIMIT_RATE_MAX,
	     RESTART),
	UINT("zk.burst_per_address", zk_burst_per_address, 100000, 1, RATELIMIT_BURST_MAX,
	     RESTART),
	STR("metrics.listen", metrics_listen, "127.0.0.1", check_listen,
	    "an IPv4 or IPv6 address", RESTART),
	UINT("metrics.port", metrics_port, 0, 0, 65535, RESTART),
	STR("log.level", log_level, "info", check_level,
	    "one of err, warning, notice, info, debug", RELOAD),
	STR("log.target", log_target, "stderr", check_target, "stderr or syslog", RELOAD),
	STR("log.format", log_format, "text", check_log_format, "text or json", RELOAD),
	BOOL("log.core_dumps", log_core_dumps, 0, RESTART),
};
#define NITEMS (sizeof(schema) / sizeof(schema[0]))

static void set_uint(kms_config_t *cfg, const item_t *it, uint64_t v)
{
	char *p = (char *)cfg + it->offset;
	switch (it->size) {
	case sizeof(uint16_t): {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, sizeof(x));
		break;
	}
	case sizeof(uint32_t): {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, sizeof(x));
		break;
	}
	default: {
		uint64_t x = v;
		memcpy(p, &x, sizeof(x));
		break;
	}
	}
}

static void set_item_default(kms_config_t *cfg, const item_t *it)
{
	char *p = (char *)cfg + it->offset;
	switch (it->type) {
	case T_STR:
		snprintf(p, it->size, "%s", it->def_str);
		break;
	case T_BOOL:
		*(bool *)(void *)p = it->def_num != 0;
		break;
	case T_UINT:
		set_uint(cfg, it, it->def_num);
		break;
	}
}

static uint64_t get_uint(const kms_config_t *cfg, const item_t *it)
{
	const char *p = (const char *)cfg + it->offset;
	switch (it->size) {
	case sizeof(uint16_t): {
		uint16_t x;
		memcpy(&x, p, sizeof(x));
		return x;
	}
	case sizeof(uint32_t): {
		uint32_t x;
		memcpy(&x, p, sizeof(x));
		return x;
	}
	default: {
		uint64_t x;
		memcpy(&x, p, sizeof(x));
		return x;
	}
	}
}

static bool item_equal(const kms_config_t *a, const kms_config_t *b, const item_t *it)
{
	const char *pa = (const char *)a + it->offset;
	const char *pb = (const char *)b + it->offset;
	switch (it->type) {
	case T_STR:
		return strncmp(pa, pb, it->size) == 0;
	case T_BOOL:
		return *(const bool *)(const void *)pa == *(const bool *)(const void *)pb;
	case T_UINT:
		return get_uint(a, it) == get_uint(b, it);
	}
	return false;
}

/* The CPUs this process may run on (its affinity mask, as nproc(1) counts:
 * under taskset or a cpuset that is fewer than the machine has). */
static unsigned cores(void)
{
	long n = 0;
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		n = CPU_COUNT(&set);
	}
	if (n < 1) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
	}
	if (n < 1) {
		return 1;
	}
	return n > THREADS_MAX ? THREADS_MAX : (unsigned)n;
}

/* The stores' locators (sql/db.h): the SQLite files, or one PostgreSQL
 * database for both; and the node name (the host name by default). */
static int derive_stores(kms_config_t *cfg)
{
	bool pg = strcmp(cfg->store, "postgresql") == 0;
	snprintf(cfg->keys_loc, sizeof(cfg->keys_loc), "%s%s", pg ? SQLDB_PG_PREFIX : "",
		 pg ? cfg->conninfo : cfg->keys_db);
	snprintf(cfg->audit_loc, sizeof(cfg->audit_loc), "%s%s",
		 pg ? SQLDB_PG_PREFIX : "", pg ? cfg->conninfo : cfg->audit_db);
	memset(cfg->node_name, 0, sizeof(cfg->node_name));
	if (cfg->node[0] != '\0') {
		snprintf(cfg->node_name, sizeof(cfg->node_name), "%s", cfg->node);
	} else if (gethostname(cfg->node_name, sizeof(cfg->node_name) - 1) != 0 ||
		   cfg->node_name[0] == '\0') {
		snprintf(cfg->node_name, sizeof(cfg->node_name), "kmsd");
	}
	return KMS_EOK;
}

const char *kms_config_store_label(const kms_config_t *cfg, bool audit)
{
	if (kms_config_uses_pg(cfg)) {
		return "the PostgreSQL store (kms.conninfo)";
	}
	return audit ? cfg->audit_db : cfg->keys_db;
}

bool kms_config_uses_pg(const kms_config_t *cfg)
{
	return strcmp(cfg->store, "postgresql") == 0;
}

bool kms_config_zn_diameter(const kms_config_t *cfg)
{
	return strcmp(cfg->naf_zn, "diameter") == 0;
}

/* Fill in what is derived: thread count and the paths under state_dir. */
static int derive(kms_config_t *cfg, const char **bad)
{
	struct {
		char *dst;
		size_t size;
		const char *name;
		const char *path;
	} d[] = {
		{ cfg->kek_file, sizeof(cfg->kek_file), "kek", "kms.kek_file" },
		{ cfg->keys_db, sizeof(cfg->keys_db), "kms.db", "kms.keys_db" },
		{ cfg->audit_db, sizeof(cfg->audit_db), "audit.db", "kms.audit_db" },
	};
	if (cfg->threads == 0) {
		cfg->threads = cores();
	}
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (d[i].dst[0] != '\0') {
			continue;
		}
		int n = snprintf(d[i].dst, d[i].size, "%s/%s", cfg->state_dir, d[i].name);
		if (n < 0 || (size_t)n >= d[i].size) {
			d[i].dst[0] = '\0';
			*bad = d[i].path;
			return KMS_ERANGE;
		}
	}
	return derive_stores(cfg);
}

static void defaults_raw(kms_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NITEMS; i++) {
		set_item_default(cfg, &schema[i]);
	}
}

void kms_config_defaults(kms_config_t *cfg)
{
	const char *bad = NULL;
	defaults_raw(cfg);
	(void)derive(cfg, &bad); /* the defaults always fit */
}

/* --- loading ------------------------------------------------------------- */

typedef struct {
	const char *path; /* file being loaded */
	char *err;
	size_t err_len;
} loader_t;

__attribute__((format(printf, 3, 4))) static int fail(loader_t *l,
						      const config_setting_t *s,
						      const char *fmt, ...)
{
	char what[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const char *file = s != NULL ? config_setting_source_file(s) : NULL;
	if (file == NULL) {
		file = l->path;
	}
	if (l->err != NULL && l->err_len > 0) {
		if (s != NULL) {
			snprintf(l->err, l->err_len, "%s:%u: %s", file,
				 (unsigned)config_setting_source_line(s), what);
		} else {
			snprintf(l->err, l->err_len, "%s: %s", file, what);
		}
	}
	return KMS_ECONFIG;
}

static const item_t *find_item(const char *group, const char *name)
{
	size_t glen = strlen(group);
	for (size_t i = 0; i < NITEMS; i++) {
		const char *p = schema[i].path;
		if (strncmp(p, group, glen) == 0 && p[glen] == '.' &&
		    strcmp(p + glen + 1, name) == 0) {
			return &schema[i];
		}
	}
	return NULL;
}

static bool known_group(const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < NITEMS; i++) {
		if (strncmp(schema[i].path, name, len) == 0 &&
		    schema[i].path[len] == '.') {
			return true;
		}
	}
	return false;
}

static int load_item(loader_t *l, const config_setting_t *s, const item_t *it,
		     kms_config_t *cfg)
{
	int type = config_setting_type(s);
	switch (it->type) {
	case T_STR: {
		if (type != CONFIG_TYPE_STRING) {
			return fail(l, s, "'%s' must be a string", it->path);
		}
		const char *v = config_setting_get_string(s);
		if (strlen(v) >= it->size) {
			return fail(l, s, "'%s' is too long (at most %zu bytes)",
				    it->path, it->size - 1);
		}
		if (it->check != NULL && it->check(v) != KMS_EOK) {
			return fail(l, s, "'%s' = \"%.64s\" is invalid: expected %s",
				    it->path, v, it->what);
		}
		snprintf((char *)cfg + it->offset, it->size, "%s", v);
		return KMS_EOK;
	}
	case T_BOOL:
		if (type != CONFIG_TYPE_BOOL) {
			return fail(l, s, "'%s' must be true or false", it->path);
		}
		*(bool *)(void *)((char *)cfg + it->offset) =
		    config_setting_get_bool(s) != 0;
		return KMS_EOK;
	case T_UINT: {
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
			return fail(l, s, "'%s' must be an integer", it->path);
		}
		long long v = config_setting_get_int64(s);
		if (v < 0 || (uint64_t)v < it->min || (uint64_t)v > it->max) {
			return fail(l, s,
				    "'%s' = %lld is out of range (%" PRIu64 "..%" PRIu64
				    ")",
				    it->path, v, it->min, it->max);
		}
		set_uint(cfg, it, (uint64_t)v);
		return KMS_EOK;
	}
	}
	return fail(l, s, "'%s': internal schema error", it->path);
}

/* Walk one top-level group; every member must be in the schema. */
static int load_group(loader_t *l, const config_setting_t *g, kms_config_t *cfg,
		      const config_setting_t **seen)
{
	const char *gname = config_setting_name(g);
	if (!known_group(gname)) {
		return fail(l, g, "unknown setting '%s'", gname);
	}
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		return fail(l, g, "'%s' must be a group: %s = { ... };", gname, gname);
	}
	int n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		const item_t *it = find_item(gname, name);
		if (it == NULL) {
			return fail(l, s, "unknown setting '%s.%s'", gname, name);
		}
		int ret = load_item(l, s, it, cfg);
		if (ret != KMS_EOK) {
			return ret;
		}
		seen[it - schema] = s;
	}
	return KMS_EOK;
}

/* libconfig's reason for not reading path, as path:line: text (or the
 * I/O error). */
static int read_failed(loader_t *l, config_t *lc)
{
	if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		return fail(l, NULL, "cannot read the file: %s", strerror(errno));
	}
	const char *f = config_error_file(lc);
	if (l->err != NULL && l->err_len > 0) {
		snprintf(l->err, l->err_len, "%s:%d: %s", f != NULL ? f : l->path,
			 config_error_line(lc), config_error_text(lc));
	}
	return KMS_ECONFIG;
}

/* The rules of the audit log and the shared replay check. */
static int check_stores(loader_t *l, const kms_config_t *tmp,
			const config_setting_t *const *seen)
{
	if (tmp->audit_max_size > 0 && tmp->audit_max_size < AUDIT_MAX_SIZE_MIN) {
		const item_t *it = find_item("audit", "max_size");
		return fail(l, seen[it - schema],
			    "'audit.max_size' must be 0 (no cap) or at least %u bytes",
			    AUDIT_MAX_SIZE_MIN);
	}
	/* SQLite serves one node: there is nothing to share the check with. */
	if (tmp->replay_shared && strcmp(tmp->store, "postgresql") != 0) {
		const item_t *it = find_item("replay", "shared");
		return fail(l, seen[it - schema],
			    "'replay.shared = true' needs 'kms.store = \"postgresql\"' "
			    "(the nodes share the check through that database)");
	}
	return KMS_EOK;
}

/* naf.zn = "diameter": a build with freeDiameter (HAVE_FREEDIAMETER, what
 * dia_available() reports; tested here so that kmsctl, which reads this
 * file too, need not link libfdcore) and its configuration file. */
static int check_zn_diameter(loader_t *l, const kms_config_t *tmp,
			     const config_setting_t *const *seen)
{
	if (strcmp(tmp->naf_zn, "diameter") != 0) {
		return KMS_EOK;
	}
#ifndef HAVE_FREEDIAMETER
	const item_t *zn = find_item("naf", "zn");
	return fail(l, seen[zn - schema],
		    "'naf.zn = \"diameter\"': this kmsd was built without "
		    "freeDiameter (configure --with-freediameter)");
#else
	if (tmp->naf_diameter_conf[0] == '\0') {
		const item_t *it = find_item("naf", "zn");
		return fail(l, seen[it - schema],
			    "'naf.zn = \"diameter\"' needs 'naf.diameter_conf' (the "
			    "freeDiameter configuration file)");
	}
	return KMS_EOK;
#endif
}

/* The rules between settings, each reported at the setting that breaks
 * it (seen: where each item was set, or NULL), then the derived paths. */
static int check_and_derive(loader_t *l, kms_config_t *tmp,
			    const config_setting_t *const *seen)
{
	if (tmp->ticket_lifetime > tmp->max_ticket_lifetime) {
		const item_t *it = find_item("policy", "ticket_lifetime");
		return fail(l, seen[it - schema],
			    "'policy.ticket_lifetime' (%" PRIu32
			    ") exceeds 'policy.max_ticket_lifetime' (%" PRIu32 ")",
			    tmp->ticket_lifetime, tmp->max_ticket_lifetime);
	}
	if (strcmp(tmp->psk_source, "static") != 0 && !tmp->naf_enabled) {
		const item_t *it = find_item("kms", "psk_source");
		return fail(l, seen[it - schema],
			    "'kms.psk_source' = \"%s\" needs 'naf.enabled = true'",
			    tmp->psk_source);
	}
	int ret = check_zn_diameter(l, tmp, seen);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (tmp->zk_enabled &&
	    (tmp->zk_cert_file[0] == '\0' || tmp->zk_key_file[0] == '\0' ||
	     tmp->zk_ca_file[0] == '\0')) {
		const item_t *it = find_item("zk", "enabled");
		return fail(l, seen[it - schema],
			    "'zk.enabled = true' needs 'zk.cert_file', 'zk.key_file' and "
			    "'zk.ca_file'");
	}
	if ((tmp->tls_cert[0] == '\0') != (tmp->tls_key[0] == '\0')) {
		const item_t *it =
		    find_item("ua", tmp->tls_cert[0] == '\0' ? "tls_key" : "tls_cert");
		return fail(
		    l, seen[it - schema],
		    "'ua.tls_cert' and 'ua.tls_key' go together (both or neither)");
	}
	ret = check_stores(l, tmp, seen);
	if (ret != KMS_EOK) {
		return ret;
	}
	char why[256];
	kms_config_runas_t ra;
	const char *bad = NULL;
	if (runas(tmp, &ra, why, sizeof(why), &bad) != KMS_EOK) {
		const item_t *it = find_item("kms", bad + strlen("kms."));
		return fail(l, seen[it - schema], "%s", why);
	}
	if (derive(tmp, &bad) != KMS_EOK) {
		const item_t *it = find_item("kms", "state_dir");
		return fail(l, seen[it - schema],
			    "'kms.state_dir' is too long to derive '%s'", bad);
	}
	return KMS_EOK;
}

/* The settings of a parsed file over the defaults, checked; *cfg is
 * written only on success. */
static int load_parsed(loader_t *l, config_t *lc, kms_config_t *cfg)
{
	const config_setting_t *seen[NITEMS] = { NULL };
	kms_config_t tmp;
	int ret = KMS_EOK;
	defaults_raw(&tmp);
	const config_setting_t *root = config_root_setting(lc);
	int n = config_setting_length(root);
	for (int i = 0; i < n && ret == KMS_EOK; i++) {
		ret =
		    load_group(l, config_setting_get_elem(root, (unsigned)i), &tmp, seen);
	}
	if (ret == KMS_EOK) {
		ret = check_and_derive(l, &tmp, seen);
	}
	if (ret == KMS_EOK) {
		*cfg = tmp;
	}
	return ret;
}

int kms_config_load(const char *path, kms_config_t *cfg, char *err, size_t err_len)
{
	loader_t l = { path, err, err_len };
	config_t lc;
	int ret = KMS_EOK;

	if (err != NULL && err_len > 0) {
		err[0] = '\0';
	}
	if (path == NULL || cfg == NULL) {
		return KMS_EINVAL;
	}
	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		ret = read_failed(&l, &lc);
	} else {
		ret = load_parsed(&l, &lc, cfg);
	}
	config_destroy(&lc);
	return ret;
}

int kms_config_load_buffer(const char *text, size_t len, const char *name,
			   kms_config_t *cfg, char *err, size_t err_len)
{
	loader_t l = { name, err, err_len };
	config_t lc;
	int ret = KMS_EOK;

	if (err != NULL && err_len > 0) {
		err[0] = '\0';
	}
	if (text == NULL || name == NULL || cfg == NULL) {
		return KMS_EINVAL;
	}
	if (len > KMS_CONFIG_TEXT_MAX || memchr(text, '\0', len) != NULL) {
		return fail(&l, NULL,
			    "not a configuration text (NUL byte, or over %u bytes)",
			    (unsigned)KMS_CONFIG_TEXT_MAX);
	}
	char *copy = malloc(len + 1); /* libconfig reads a C string */
	if (copy == NULL) {
		return KMS_ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	config_init(&lc);
	if (config_read_string(&lc, copy) != CONFIG_TRUE) {
		ret = read_failed(&l, &lc);
	} else {
		ret = load_parsed(&l, &lc, cfg);
	}
	config_destroy(&lc);
	free(copy);
	return ret;
}

/* --- the schema for reloads, tests and documentation -------------------------- */

size_t kms_config_item_count(void)
{
	return NITEMS;
}

bool kms_config_item(size_t i, kms_config_item_t *out)
{
	if (i >= NITEMS || out == NULL) {
		return false;
	}
	const item_t *it = &schema[i];
	kms_config_item_t x = {
		.name = it->path,
		.type = it->type == T_STR    ? KMS_CONFIG_STR
			: it->type == T_BOOL ? KMS_CONFIG_BOOL
					     : KMS_CONFIG_UINT,
		.min = it->min,
		.max = it->max,
		.restart = it->restart,
	};
	switch (it->type) {
	case T_STR:
		snprintf(x.def, sizeof(x.def), "%s", it->def_str);
		break;
	case T_BOOL:
		snprintf(x.def, sizeof(x.def), "%s", it->def_num != 0 ? "true" : "false");
		break;
	case T_UINT:
		snprintf(x.def, sizeof(x.def), "%" PRIu64, it->def_num);
		break;
	}
	*out = x;
	return true;
}

/* A path the file left empty, so that it is "<state_dir>/<name>" (derive()). */
static bool follows_state_dir(const kms_config_t *cfg, const item_t *it)
{
	static const struct {
		size_t offset;
		const char *name;
	} d[] = {
		{ offsetof(kms_config_t, kek_file), "kek" },
		{ offsetof(kms_config_t, keys_db), "kms.db" },
		{ offsetof(kms_config_t, audit_db), "audit.db" },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (d[i].offset != it->offset) {
			continue;
		}
		const char *v = (const char *)cfg + it->offset;
		size_t len = strlen(cfg->state_dir);
		return strncmp(v, cfg->state_dir, len) == 0 && v[len] == '/' &&
		       strcmp(v + len + 1, d[i].name) == 0;
	}
	return false;
}

/*
 * The name a difference in it is reported under: a derived path that
 * follows state_dir on both sides changed because state_dir did, and the
 * operator did not touch the derived setting, so it is named
 * "kms.state_dir" (a restart moves audit.db there).
 */
static const char *diff_name(const kms_config_t *a, const kms_config_t *b,
			     const item_t *it)
{
	if (follows_state_dir(a, it) && follows_state_dir(b, it)) {
		return "kms.state_dir";
	}
	return it->path;
}

static bool listed(const char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

size_t kms_config_diff(const kms_config_t *a, const kms_config_t *b, const char **names,
		       size_t max, bool restart_only)
{
	const char *seen[NITEMS];
	size_t n = 0;
	for (size_t i = 0; i < NITEMS; i++) {
		const item_t *it = &schema[i];
		if ((restart_only && !it->restart) || item_equal(a, b, it)) {
			continue;
		}
		const char *name = diff_name(a, b, it);
		if (listed(seen, n, name)) {
			continue; /* kms.state_dir once */
		}
		seen[n] = name;
		if (names != NULL && n < max) {
			names[n] = name;
		}
		n++;
	}
	return n;
}

void kms_config_keep_restart(kms_config_t *cfg, const kms_config_t *running)
{
	for (size_t i = 0; i < NITEMS; i++) {
		const item_t *it = &schema[i];
		if (it->restart) {
			memcpy((char *)cfg + it->offset,
			       (const char *)running + it->offset, it->size);
		}
	}
}

int kms_config_override(kms_config_t *cfg, const kms_config_override_t *ov, char *err,
			size_t err_len)
{
	kms_config_t tmp = *cfg;
	char why[256];
	kms_config_runas_t ra;
	const char *bad = NULL;
	if (ov->listen[0] != '\0') {
		if (check_listen(ov->listen) != KMS_EOK) {
			say(err, err_len, "-l %s: not an IPv4 or IPv6 address",
			    ov->listen);
			return KMS_ECONFIG;
		}
		snprintf(tmp.listen, sizeof(tmp.listen), "%s", ov->listen);
	}
	if (ov->port != 0) {
		tmp.port = ov->port;
	}
	if (ov->user[0] != '\0') {
		if (check_account(ov->user) != KMS_EOK) {
			say(err, err_len, "-u %s: not an account name or a decimal id",
			    ov->user);
			return KMS_ECONFIG;
		}
		snprintf(tmp.user, sizeof(tmp.user), "%s", ov->user);
		if (runas(&tmp, &ra, why, sizeof(why), &bad) != KMS_EOK) {
			say(err, err_len, "-u %s: %s", ov->user, why);
			return KMS_ECONFIG;
		}
	}
	*cfg = tmp;
	return KMS_EOK;
}

unsigned kms_config_line(const char *path, const char *name, char *file, size_t file_len)
{
	config_t lc;
	unsigned line = 0;
	say(file, file_len, "%s", path != NULL ? path : "(embedded defaults)");
	if (path == NULL) {
		return 0;
	}
	config_init(&lc);
	if (config_read_file(&lc, path) == CONFIG_TRUE) {
		const config_setting_t *st = config_lookup(&lc, name);
		if (st != NULL) {
			line = (unsigned)config_setting_source_line(st);
			const char *f = config_setting_source_file(st);
			if (f != NULL) {
				say(file, file_len, "%s", f);
			}
		}
	}
	config_destroy(&lc);
	return line;
}
