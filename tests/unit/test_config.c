/* kmsd configuration: schema defaults, loading, and every kind of error. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errcode.h"
#include "kms/config.h"
#include "tests/unit/unit.h"

static char path[64];
static char err[512];

/* Write text to a fresh temporary file (path). */
static void write_conf(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/kms-test-conf-XXXXXX");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text, kms_config_t *cfg)
{
	write_conf(text);
	int ret = kms_config_load(path, cfg, err, sizeof(err));
	unlink(path);
	return ret;
}

/* err names "FILE:LINE:" and contains what. */
static void assert_err(int line, const char *what)
{
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, what) == NULL) {
		printf("\n  got error: %s\n", err);
	}
}

/* replay.shared: off by default, PostgreSQL only, on_store_failure checked. */
static void given_replay_shared_when_loaded_then_postgresql_only(void)
{
	kms_config_t c;
	kms_config_defaults(&c);
	CU_ASSERT(!c.replay_shared);
	CU_ASSERT_STRING_EQUAL(c.replay_on_store_failure, "refuse");
	CU_ASSERT_EQUAL(
	    load("kms = { store = \"postgresql\"; conninfo = \"dbname=k\"; };\n"
		 "replay = {\n shared = true;\n on_store_failure = \"local\"; };\n",
		 &c),
	    KMS_EOK);
	CU_ASSERT(c.replay_shared);
	CU_ASSERT_STRING_EQUAL(c.replay_on_store_failure, "local");
	CU_ASSERT_EQUAL(load("replay = {\n\n shared = true; };\n", &c), KMS_ECONFIG);
	assert_err(3, "'replay.shared = true' needs 'kms.store = \"postgresql\"'");
	CU_ASSERT_EQUAL(load("replay = { on_store_failure = \"serve\"; };\n", &c),
			KMS_ECONFIG);
	assert_err(1, "refuse or local");
}

static void given_no_file_when_defaults_then_documented_values(void)
{
	kms_config_t c;
	kms_config_defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.1");
	CU_ASSERT_EQUAL(c.port, 8080);
	CU_ASSERT_STRING_EQUAL(c.base_path, "/kms");
	CU_ASSERT(c.threads >= 1);
	CU_ASSERT_EQUAL(c.max_body, 16384);
	CU_ASSERT_EQUAL(c.max_conns, 1024);
	CU_ASSERT_EQUAL(c.conn_timeout, 10);
	CU_ASSERT_EQUAL(c.max_conns_per_ip, 256);
	CU_ASSERT_EQUAL(c.conn_memory, 32768);
	CU_ASSERT_STRING_EQUAL(c.kms_id, "kms.example.org");
	CU_ASSERT_STRING_EQUAL(c.state_dir, "./var");
	CU_ASSERT_STRING_EQUAL(c.kek_file, "./var/kek");
	CU_ASSERT_STRING_EQUAL(c.keys_db, "./var/kms.db");
	CU_ASSERT_STRING_EQUAL(c.audit_db, "./var/audit.db");
	CU_ASSERT_EQUAL(c.clock_skew, 300);
	CU_ASSERT_EQUAL(c.ticket_lifetime, 3600);
	CU_ASSERT_EQUAL(c.max_ticket_lifetime, 86400);
	CU_ASSERT(c.allow_reuse);
	CU_ASSERT_EQUAL(c.replay_entries, 1048576);
	CU_ASSERT_EQUAL(c.audit_queue, 65536);
	CU_ASSERT_STRING_EQUAL(c.log_level, "info");
	CU_ASSERT_STRING_EQUAL(c.log_target, "stderr");
	CU_ASSERT_STRING_EQUAL(c.psk_source, "static");
	CU_ASSERT(!c.naf_enabled);
	CU_ASSERT_STRING_EQUAL(c.naf_bsf_url, "http://127.0.0.1:8081/zn");
	CU_ASSERT_STRING_EQUAL(c.naf_fqdn, "kms.example.org");
	CU_ASSERT_EQUAL(c.naf_timeout_ms, 2000);
	CU_ASSERT_EQUAL(c.naf_connect_timeout_ms, 500);
	CU_ASSERT_EQUAL(c.naf_retries, 1);
	CU_ASSERT_EQUAL(c.naf_cache_entries, 65536);
	CU_ASSERT_EQUAL(c.naf_negative_ttl, 30);
}

static void given_empty_file_when_loaded_then_defaults(void)
{
	kms_config_t a, b;
	kms_config_defaults(&a);
	CU_ASSERT_EQUAL(load("# nothing here\n", &b), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
}

static void given_good_file_when_loaded_then_every_value_set(void)
{
	kms_config_t c;
	int ret = load(
	    "ua = {\n"
	    "  listen = \"::1\";\n"
	    "  port = 18080;\n"
	    "  base_path = \"/mikey/ua\";\n"
	    "  threads = 3;\n"
	    "  max_body = 4096;\n"
	    "  max_conns = 10;\n"
	    "  conn_timeout = 2;\n"
	    "  max_conns_per_ip = 0;\n"
	    "  conn_memory = 65536;\n"
	    "};\n"
	    "kms = { kms_id = \"kms.b.example\"; state_dir = \"/srv/kms\";\n"
	    "        audit_db = \"/var/log/kms-audit.db\"; psk_source = \"both\"; };\n"
	    "policy = { clock_skew = 60; ticket_lifetime = 600;\n"
	    "  max_ticket_lifetime = 7200; allow_reuse = false;\n"
	    "  replay_entries = 5000000; audit_queue = 100; };\n"
	    "log = { level = \"debug\"; target = \"syslog\"; };\n"
	    "naf = { enabled = true; bsf_url = \"https://bsf.example:8443/zn\";\n"
	    "  fqdn = \"kms-1.example.org\"; timeout_ms = 750;\n"
	    "  connect_timeout_ms = 100; retries = 0; cache_entries = 1000;\n"
	    "  negative_ttl = 5; };\n",
	    &c);
	CU_ASSERT_EQUAL_FATAL(ret, KMS_EOK);
	CU_ASSERT_STRING_EQUAL(c.listen, "::1");
	CU_ASSERT_EQUAL(c.port, 18080);
	CU_ASSERT_STRING_EQUAL(c.base_path, "/mikey/ua");
	CU_ASSERT_EQUAL(c.threads, 3);
	CU_ASSERT_EQUAL(c.max_body, 4096);
	CU_ASSERT_EQUAL(c.max_conns, 10);
	CU_ASSERT_EQUAL(c.conn_timeout, 2);
	CU_ASSERT_EQUAL(c.max_conns_per_ip, 0);
	CU_ASSERT_EQUAL(c.conn_memory, 65536);
	CU_ASSERT_STRING_EQUAL(c.kms_id, "kms.b.example");
	/* Paths not set are derived from state_dir; set ones are kept. */
	CU_ASSERT_STRING_EQUAL(c.kek_file, "/srv/kms/kek");
	CU_ASSERT_STRING_EQUAL(c.keys_db, "/srv/kms/kms.db");
	CU_ASSERT_STRING_EQUAL(c.audit_db, "/var/log/kms-audit.db");
	CU_ASSERT_EQUAL(c.clock_skew, 60);
	CU_ASSERT_EQUAL(c.ticket_lifetime, 600);
	CU_ASSERT_EQUAL(c.max_ticket_lifetime, 7200);
	CU_ASSERT(!c.allow_reuse);
	CU_ASSERT_EQUAL(c.replay_entries, 5000000);
	CU_ASSERT_EQUAL(c.audit_queue, 100);
	CU_ASSERT_STRING_EQUAL(c.log_level, "debug");
	CU_ASSERT_STRING_EQUAL(c.log_target, "syslog");
	CU_ASSERT_STRING_EQUAL(c.psk_source, "both");
	CU_ASSERT(c.naf_enabled);
	CU_ASSERT_STRING_EQUAL(c.naf_bsf_url, "https://bsf.example:8443/zn");
	CU_ASSERT_STRING_EQUAL(c.naf_fqdn, "kms-1.example.org");
	CU_ASSERT_EQUAL(c.naf_timeout_ms, 750);
	CU_ASSERT_EQUAL(c.naf_connect_timeout_ms, 100);
	CU_ASSERT_EQUAL(c.naf_retries, 0);
	CU_ASSERT_EQUAL(c.naf_cache_entries, 1000);
	CU_ASSERT_EQUAL(c.naf_negative_ttl, 5);
}

static void given_gba_source_when_naf_settings_bad_then_error(void)
{
	kms_config_t c;
	CU_ASSERT_EQUAL(load("kms = {\n psk_source = \"gba\"; };\n", &c), KMS_ECONFIG);
	assert_err(2, "needs 'naf.enabled = true'");
	CU_ASSERT_EQUAL(load("kms = { psk_source = \"ldap\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "static, gba or both");
	CU_ASSERT_EQUAL(load("naf = { bsf_url = \"ftp://bsf/zn\"; };\n", &c),
			KMS_ECONFIG);
	assert_err(1, "'naf.bsf_url'");
	CU_ASSERT_EQUAL(load("naf = { fqdn = \"kms example\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'naf.fqdn'");
	CU_ASSERT_EQUAL(load("naf = { retries = 6; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'naf.retries' = 6 is out of range (0..5)");
	CU_ASSERT_EQUAL(load("naf = { cache_entries = 15; };\n", &c), KMS_ECONFIG);
	assert_err(1, "out of range");
	CU_ASSERT_EQUAL(load("naf = { enabled = true; };\n"
			     "kms = { psk_source = \"gba\"; };\n",
			     &c),
			KMS_EOK);
}

/* 0 = the CPUs the process may run on: its affinity mask, not the machine. */
static void given_threads_zero_when_loaded_then_number_of_cores(void)
{
	kms_config_t c;
	cpu_set_t all, one;
	CU_ASSERT_EQUAL_FATAL(sched_getaffinity(0, sizeof(all), &all), 0);
	CU_ASSERT_EQUAL(load("ua = { threads = 0; };\n", &c), KMS_EOK);
	CU_ASSERT_EQUAL(c.threads, (unsigned)CPU_COUNT(&all));
	/* Pinned to one of its CPUs: one thread. */
	int cpu = 0;
	while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &all)) {
		cpu++;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	CU_ASSERT_EQUAL_FATAL(sched_setaffinity(0, sizeof(one), &one), 0);
	CU_ASSERT_EQUAL(load("ua = { threads = 0; };\n", &c), KMS_EOK);
	CU_ASSERT_EQUAL(c.threads, 1);
	CU_ASSERT_EQUAL(sched_setaffinity(0, sizeof(all), &all), 0);
}

static void given_unknown_key_when_loaded_then_error_names_line_and_key(void)
{
	kms_config_t c;
	kms_config_defaults(&c);
	c.port = 1234; /* untouched on error */
	CU_ASSERT_EQUAL(load("ua = {\n  port = 9000;\n  prot = 9001;\n};\n", &c),
			KMS_ECONFIG);
	assert_err(3, "unknown setting 'ua.prot'");
	CU_ASSERT_EQUAL(c.port, 1234);

	CU_ASSERT_EQUAL(load("\n\nfrobnicate = true;\n", &c), KMS_ECONFIG);
	assert_err(3, "unknown setting 'frobnicate'");

	CU_ASSERT_EQUAL(load("zq = { port = 1; };\n", &c), KMS_ECONFIG);
	assert_err(1, "unknown setting 'zq'");

	/* Zk on without its certificate files. */
	CU_ASSERT_EQUAL(load("zk = { enabled = true; cert_file = \"a.pem\"; };\n", &c),
			KMS_ECONFIG);
	assert_err(1, "needs 'zk.cert_file', 'zk.key_file' and 'zk.ca_file'");

	/* Ua TLS: a certificate without its key, or a key without its
	 * certificate, named at the line of the one given. */
	CU_ASSERT_EQUAL(load("ua = {\n tls_cert = \"a.pem\";\n};\n", &c), KMS_ECONFIG);
	assert_err(2, "'ua.tls_cert' and 'ua.tls_key' go together");
	CU_ASSERT_EQUAL(load("ua = { tls_key = \"k.pem\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'ua.tls_cert' and 'ua.tls_key' go together");
	CU_ASSERT_EQUAL(
	    load("ua = { tls_cert = \"a.pem\"; tls_key = \"k.pem\"; };\n", &c), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(c.tls_key, "k.pem");

	/* A setting at the top level instead of in its group. */
	CU_ASSERT_EQUAL(load("port = 9000;\n", &c), KMS_ECONFIG);
	assert_err(1, "unknown setting 'port'");
}

static void given_out_of_range_value_when_loaded_then_error_with_range(void)
{
	kms_config_t c;
	CU_ASSERT_EQUAL(load("ua = { port = 70000; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'ua.port' = 70000 is out of range (1..65535)");
	CU_ASSERT_EQUAL(load("ua = { port = 0; };\n", &c), KMS_ECONFIG);
	assert_err(1, "out of range");
	CU_ASSERT_EQUAL(load("\nua = {\n max_body = 16385; };\n", &c), KMS_ECONFIG);
	assert_err(3, "'ua.max_body' = 16385 is out of range");
	CU_ASSERT_EQUAL(load("policy = { clock_skew = -5; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'policy.clock_skew' = -5 is out of range");
	CU_ASSERT_EQUAL(load("policy = { replay_entries = 9999999999999; };\n", &c),
			KMS_ECONFIG);
	assert_err(1, "out of range");
	CU_ASSERT_EQUAL(load("policy = {\n ticket_lifetime = 90000; };\n", &c),
			KMS_ECONFIG);
	assert_err(2, "exceeds 'policy.max_ticket_lifetime'");
}

static void given_wrong_type_when_loaded_then_error_names_type(void)
{
	kms_config_t c;
	CU_ASSERT_EQUAL(load("ua = { port = \"8080\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'ua.port' must be an integer");
	CU_ASSERT_EQUAL(load("ua = { port = 80.5; };\n", &c), KMS_ECONFIG);
	assert_err(1, "must be an integer");
	CU_ASSERT_EQUAL(load("kms = {\n kms_id = 5; };\n", &c), KMS_ECONFIG);
	assert_err(2, "'kms.kms_id' must be a string");
	CU_ASSERT_EQUAL(load("policy = { allow_reuse = 1; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'policy.allow_reuse' must be true or false");
	CU_ASSERT_EQUAL(load("ua = 5;\n", &c), KMS_ECONFIG);
	assert_err(1, "'ua' must be a group");
	CU_ASSERT_EQUAL(load("ua = { listen = [\"127.0.0.1\"]; };\n", &c), KMS_ECONFIG);
	assert_err(1, "must be a string");
}

static void given_invalid_string_when_loaded_then_error_says_what_is_expected(void)
{
	kms_config_t c;
	CU_ASSERT_EQUAL(load("ua = { listen = \"localhost\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "IPv4 or IPv6 address");
	CU_ASSERT_EQUAL(load("ua = { base_path = \"kms\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'ua.base_path'");
	CU_ASSERT_EQUAL(load("ua = { base_path = \"/healthz\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'ua.base_path'");
	CU_ASSERT_EQUAL(load("log = { level = \"loud\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'log.level' = \"loud\" is invalid");
	CU_ASSERT_EQUAL(load("log = { target = \"file\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "stderr or syslog");
	CU_ASSERT_EQUAL(load("kms = { kms_id = \"\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'kms.kms_id'");
	char big[400];
	memset(big, 'a', 300);
	snprintf(big + 300, sizeof(big) - 300, "\"; };\n");
	char text[512];
	snprintf(text, sizeof(text), "kms = { state_dir = \"%s", big);
	CU_ASSERT_EQUAL(load(text, &c), KMS_ECONFIG);
	assert_err(1, "too long");
	/* Fits itself, but the derived paths do not. */
	memset(big, 'a', 250);
	snprintf(big + 250, sizeof(big) - 250, "\"; };\n");
	snprintf(text, sizeof(text), "kms = { state_dir = \"%s", big);
	CU_ASSERT_EQUAL(load(text, &c), KMS_ECONFIG);
	assert_err(1, "too long to derive");
}

/* --- kms.user and kms.group ------------------------------------------------- */

static void given_no_user_when_resolved_then_not_set(void)
{
	kms_config_t c;
	kms_config_runas_t ra = { true, 1, 1 };
	kms_config_defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.user, "");
	CU_ASSERT_STRING_EQUAL(c.group, "");
	CU_ASSERT_EQUAL(kms_config_runas(&c, &ra, err, sizeof(err)), KMS_EOK);
	CU_ASSERT_FALSE(ra.set);
}

static void given_names_when_loaded_then_resolved_to_ids(void)
{
	kms_config_t c;
	kms_config_runas_t ra;
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");
	if (pw == NULL || gr == NULL) {
		printf("\n  no nobody/nogroup: skipped\n");
		return;
	}
	uid_t uid = pw->pw_uid;
	gid_t pgid = pw->pw_gid, gid = gr->gr_gid;
	CU_ASSERT_EQUAL_FATAL(
	    load("kms = { user = \"nobody\"; group = \"nogroup\"; };\n", &c), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(c.user, "nobody");
	CU_ASSERT_EQUAL_FATAL(kms_config_runas(&c, &ra, err, sizeof(err)), KMS_EOK);
	CU_ASSERT_TRUE(ra.set);
	CU_ASSERT_EQUAL(ra.uid, uid);
	CU_ASSERT_EQUAL(ra.gid, gid);
	/* Without kms.group: the user's primary group. */
	CU_ASSERT_EQUAL_FATAL(load("kms = { user = \"nobody\"; };\n", &c), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(kms_config_runas(&c, &ra, err, sizeof(err)), KMS_EOK);
	CU_ASSERT_EQUAL(ra.uid, uid);
	CU_ASSERT_EQUAL(ra.gid, pgid);
}

static void given_decimal_ids_when_loaded_then_taken_without_an_entry(void)
{
	kms_config_t c;
	kms_config_runas_t ra;
	CU_ASSERT_EQUAL_FATAL(
	    load("kms = { user = \"3999999001\"; group = \"3999999002\"; };\n", &c),
	    KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(kms_config_runas(&c, &ra, err, sizeof(err)), KMS_EOK);
	CU_ASSERT_TRUE(ra.set);
	CU_ASSERT_EQUAL(ra.uid, (uid_t)3999999001u);
	CU_ASSERT_EQUAL(ra.gid, (gid_t)3999999002u);
	/* No entry, so no primary group: kms.group is needed. */
	CU_ASSERT_EQUAL(load("kms = {\n user = \"3999999001\"; };\n", &c), KMS_ECONFIG);
	assert_err(2, "set 'kms.group' too");
	/* (uid_t)-1 means "no change" to setresuid: never an account. */
	CU_ASSERT_EQUAL(load("kms = { user = \"4294967295\"; group = \"5\"; };\n", &c),
			KMS_ECONFIG);
	assert_err(1, "'kms.user' = \"4294967295\"");
}

static void given_bad_user_or_group_when_loaded_then_error_names_the_setting(void)
{
	kms_config_t c;
	kms_config_defaults(&c);
	c.port = 1234; /* untouched on error */
	CU_ASSERT_EQUAL(load("kms = {\n user = \"no-such-kmsd-user\"; };\n", &c),
			KMS_ECONFIG);
	assert_err(2, "'kms.user' = \"no-such-kmsd-user\": no such user");
	CU_ASSERT_EQUAL(c.port, 1234);
	CU_ASSERT_EQUAL(load("kms = { user = \"12345\";\n group = \"no-such-kmsd-grp\"; "
			     "};\n",
			     &c),
			KMS_ECONFIG);
	assert_err(2, "'kms.group' = \"no-such-kmsd-grp\": no such group");
	CU_ASSERT_EQUAL(load("kms = { group = \"12345\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'kms.group' needs 'kms.user'");
	/* Root is not a service account, by name or by id. */
	CU_ASSERT_EQUAL(load("kms = { user = \"root\"; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'kms.user' must not be root");
	CU_ASSERT_EQUAL(load("kms = { user = \"0\"; group = \"5\"; };\n", &c),
			KMS_ECONFIG);
	assert_err(1, "'kms.user' must not be root");
	CU_ASSERT_EQUAL(load("kms = { user = \"12345\";\n group = \"0\"; };\n", &c),
			KMS_ECONFIG);
	assert_err(2, "'kms.group' must not be root");
	/* Not a name at all. */
	const char *bad[] = { "a b", "-x", "a/b", "a$b", "\\x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "kms = { user = \"%s\"; };\n", bad[i]);
		CU_ASSERT_EQUAL(load(text, &c), KMS_ECONFIG);
		assert_err(1, "expected an account name or a decimal id");
	}
	CU_ASSERT_EQUAL(load("kms = { user = 65534; };\n", &c), KMS_ECONFIG);
	assert_err(1, "'kms.user' must be a string");
}

static void given_user_or_group_when_changed_then_restart_needed(void)
{
	kms_config_t a, b;
	const char *names[4] = { NULL };
	kms_config_defaults(&a);
	CU_ASSERT_EQUAL_FATAL(
	    load("kms = { user = \"12345\"; group = \"12346\"; };\n", &b), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(kms_config_diff(&a, &b, names, 4, true), 2);
	CU_ASSERT_STRING_EQUAL(names[0], "kms.user");
	CU_ASSERT_STRING_EQUAL(names[1], "kms.group");
}

static void given_syntax_error_or_missing_file_when_loaded_then_clear_error(void)
{
	kms_config_t c;
	CU_ASSERT_EQUAL(load("ua = {\n port = 1\n", &c), KMS_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_EQUAL(load("ua = { port = 1; };\nua = { port = 2; };\n", &c),
			KMS_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
	CU_ASSERT_EQUAL(kms_config_load("/nonexistent/kmsd.conf", &c, err, sizeof(err)),
			KMS_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/kmsd.conf: cannot read"));
}

/* kms_config_load_buffer() (the fuzzer's entry) answers as the file reader
 * does: same result, same settings, same message with the same name. */
static void given_texts_when_loaded_from_buffer_then_as_from_file(void)
{
	static const char *const texts[] = {
		"ua = { port = 9000; threads = 2; };\nkms = { kms_id = \"k.example\"; "
		"};\n",
		"ua = {\n  port = 9000;\n  prot = 9001;\n};\n",
		"ua = { port = 70000; };\n",
		"ua = { port = \"x\" };\n",
		"policy = { ticket_lifetime = 7200; max_ticket_lifetime = 3600; };\n",
		"kms = { psk_source = \"gba\"; };\n",
		"",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		kms_config_t a, b;
		char err_file[512];
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		write_conf(texts[i]);
		int ra = kms_config_load(path, &a, err_file, sizeof(err_file));
		int rb = kms_config_load_buffer(texts[i], strlen(texts[i]), path, &b, err,
						sizeof(err));
		unlink(path);
		CU_ASSERT_EQUAL(ra, rb);
		CU_ASSERT_STRING_EQUAL(err_file, err);
		CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
	}
	kms_config_t c;
	CU_ASSERT_EQUAL(
	    kms_config_load_buffer("ua = {};\0", 9, "x.conf", &c, err, sizeof(err)),
	    KMS_ECONFIG);
	CU_ASSERT_EQUAL(strncmp(err, "x.conf: ", 8), 0);
}

/* The shipped example (etc/kmsd.conf) lists every default. */
static void given_example_config_when_loaded_then_equals_defaults(void)
{
	const char *top = getenv("top_srcdir");
	char p[512];
	snprintf(p, sizeof(p), "%s/etc/kmsd.conf", top != NULL ? top : ".");
	kms_config_t a, b;
	kms_config_defaults(&a);
	int ret = kms_config_load(p, &b, err, sizeof(err));
	if (ret != KMS_EOK) {
		printf("\n  %s\n", err);
	}
	CU_ASSERT_EQUAL_FATAL(ret, KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
}

/* --- reloads: kms_config_diff() and the restart flags ------------------------ */

static void given_same_config_when_diffed_then_nothing_differs(void)
{
	kms_config_t a, b;
	const char *names[4] = { NULL };
	kms_config_defaults(&a);
	kms_config_defaults(&b);
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, names, 4, false), 0);
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, names, 4, true), 0);
	CU_ASSERT_PTR_NULL(names[0]);
}

static void given_changed_settings_when_diffed_then_named_in_schema_order(void)
{
	kms_config_t a, b;
	const char *names[8] = { NULL };
	kms_config_defaults(&a);
	CU_ASSERT_EQUAL_FATAL(
	    load("log = { level = \"debug\"; };\n"
		 "policy = { ticket_lifetime = 60; clock_skew = 30; };\n"
		 "ua = { port = 9000; max_body = 1024; };\n"
		 "kms = { state_dir = \"/srv/kms\"; };\n",
		 &b),
	    KMS_EOK);
	/* state_dir moves the three derived paths too: named once, as state_dir. */
	CU_ASSERT_EQUAL_FATAL(kms_config_diff(&a, &b, names, 8, false), 6);
	const char *all[] = { "ua.port",
			      "ua.max_body",
			      "kms.state_dir",
			      "policy.clock_skew",
			      "policy.ticket_lifetime",
			      "log.level" };
	for (size_t i = 0; i < 6; i++) {
		CU_ASSERT_STRING_EQUAL(names[i], all[i]);
	}
	/* Only those a reload cannot apply. */
	memset(names, 0, sizeof(names));
	CU_ASSERT_EQUAL_FATAL(kms_config_diff(&a, &b, names, 8, true), 4);
	CU_ASSERT_STRING_EQUAL(names[0], "ua.port");
	CU_ASSERT_STRING_EQUAL(names[1], "ua.max_body");
	CU_ASSERT_STRING_EQUAL(names[2], "kms.state_dir"); /* moves audit.db */
	CU_ASSERT_STRING_EQUAL(names[3], "policy.clock_skew");
	CU_ASSERT_PTR_NULL(names[4]);
	/* A short list: the count is still all of them. */
	memset(names, 0, sizeof(names));
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, names, 1, true), 4);
	CU_ASSERT_PTR_NULL(names[1]);
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, NULL, 0, true), 4);
	/* Each kind of value: string, boolean, 16-, 32- and 64-bit integers. */
	kms_config_defaults(&b);
	b.allow_reuse = !a.allow_reuse;
	b.zk_port = 1;
	b.naf_retries = 5;
	b.replay_entries = 64;
	snprintf(b.zk_cert_file, sizeof(b.zk_cert_file), "c.pem");
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, NULL, 0, false), 5);
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, NULL, 0, true), 3);
}

/* A reload that moves only kms.state_dir: the derived paths follow it, and
 * the restart warning names the setting the file changed, not kms.audit_db
 * (which the file never set). */
static void given_state_dir_moved_when_diffed_then_derived_paths_not_named(void)
{
	kms_config_t a, b;
	const char *names[4] = { NULL };
	CU_ASSERT_EQUAL_FATAL(load("kms = { state_dir = \"/srv/a\"; };\n", &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(load("kms = { state_dir = \"/srv/b\"; };\n", &b), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(kms_config_diff(&a, &b, names, 4, true), 1);
	CU_ASSERT_STRING_EQUAL(names[0], "kms.state_dir");
	CU_ASSERT_EQUAL_FATAL(kms_config_diff(&a, &b, names, 4, false), 1);
	CU_ASSERT_STRING_EQUAL(names[0], "kms.state_dir");
	/* Set in the file, audit_db is named as itself. */
	CU_ASSERT_EQUAL_FATAL(load("kms = { state_dir = \"/srv/b\";\n"
				   "  audit_db = \"/srv/b/x.db\"; };\n",
				   &b),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(kms_config_diff(&a, &b, names, 4, true), 1);
	CU_ASSERT_STRING_EQUAL(names[0], "kms.audit_db");
	/* The same directory on both sides: nothing to name. */
	CU_ASSERT_EQUAL_FATAL(load("kms = { state_dir = \"/srv/a\"; };\n", &b), KMS_EOK);
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, names, 4, false), 0);
}

static void given_restart_settings_when_kept_then_only_they_return(void)
{
	kms_config_t run, cfg;
	kms_config_defaults(&run);
	CU_ASSERT_EQUAL_FATAL(
	    load("ua = { port = 9000; };\n"
		 "policy = { ticket_lifetime = 60; replay_entries = 64; };\n"
		 "zk = { retries = 3; };\n",
		 &cfg),
	    KMS_EOK);
	kms_config_keep_restart(&cfg, &run);
	CU_ASSERT_EQUAL(kms_config_diff(&run, &cfg, NULL, 0, true), 0);
	CU_ASSERT_EQUAL(cfg.port, 8080);
	CU_ASSERT_EQUAL(cfg.replay_entries, 1048576);
	CU_ASSERT_EQUAL(cfg.zk_retries, 1);
	CU_ASSERT_EQUAL(cfg.ticket_lifetime, 60);
}

static void given_schema_when_iterated_then_every_item_described(void)
{
	kms_config_item_t it;
	size_t n = kms_config_item_count();
	CU_ASSERT(n > 40);
	CU_ASSERT_FALSE(kms_config_item(n, &it));
	CU_ASSERT_FALSE(kms_config_item(0, NULL));
	CU_ASSERT_TRUE_FATAL(kms_config_item(0, &it));
	CU_ASSERT_STRING_EQUAL(it.name, "ua.listen");
	CU_ASSERT_EQUAL(it.type, KMS_CONFIG_STR);
	CU_ASSERT_STRING_EQUAL(it.def, "127.0.0.1");
	CU_ASSERT_TRUE(it.restart);
	bool port = false, reuse = false;
	for (size_t i = 0; kms_config_item(i, &it); i++) {
		if (strcmp(it.name, "ua.port") == 0) {
			port = it.type == KMS_CONFIG_UINT &&
			       strcmp(it.def, "8080") == 0 && it.min == 1 &&
			       it.max == 65535 && it.restart;
		}
		if (strcmp(it.name, "policy.allow_reuse") == 0) {
			reuse = it.type == KMS_CONFIG_BOOL &&
				strcmp(it.def, "true") == 0 && !it.restart;
		}
	}
	CU_ASSERT_TRUE(port);
	CU_ASSERT_TRUE(reuse);
}

/* --- the example file and the man page agree with the schema ----------------- */

#define DOC_ITEMS_MAX 128

/* One setting as a document shows it. */
typedef struct {
	char name[64];	/* "group.name" */
	char def[256];	/* the default, unquoted */
	char spec[256]; /* man page: what the parentheses say */
	bool has_range;
	unsigned long long min, max;
	bool restart; /* marked [restart] */
	unsigned line;
} doc_item_t;

typedef struct {
	const char *file;
	doc_item_t items[DOC_ITEMS_MAX];
	size_t n;
	unsigned errors;
} doc_t;

__attribute__((format(printf, 3, 4))) static void doc_fail(doc_t *d, unsigned line,
							   const char *fmt, ...)
{
	va_list ap;
	if (line > 0) {
		printf("\n  %s:%u: ", d->file, line);
	} else {
		printf("\n  %s: ", d->file);
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	d->errors++;
}

static FILE *doc_open(doc_t *d, const char *rel, char *p, size_t len)
{
	const char *top = getenv("top_srcdir");
	snprintf(p, len, "%s/%s", top != NULL ? top : ".", rel);
	memset(d, 0, sizeof(*d));
	d->file = p;
	FILE *f = fopen(p, "r");
	if (f == NULL) {
		printf("\n  cannot open %s\n", p);
	}
	return f;
}

static doc_item_t *doc_add(doc_t *d, const char *group, const char *name, unsigned line)
{
	if (d->n == DOC_ITEMS_MAX) {
		doc_fail(d, line, "too many settings");
		return NULL;
	}
	doc_item_t *it = &d->items[d->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s.%s", group, name);
	it->line = line;
	return it;
}

/* The first "lo..hi" in s. */
static bool find_range(const char *s, unsigned long long *lo, unsigned long long *hi)
{
	for (const char *p = s; *p != '\0'; p++) {
		bool starts =
		    *p >= '0' && *p <= '9' && (p == s || p[-1] < '0' || p[-1] > '9');
		if (starts && sscanf(p, "%llu..%llu", lo, hi) == 2) {
			return true;
		}
	}
	return false;
}

static size_t ident_len(const char *s)
{
	size_t n = 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_') {
		n++;
	}
	return n;
}

/* etc/kmsd.conf: "group = {", "name = value; # comment", "};". */
static bool doc_read_example(doc_t *d, char *p, size_t len)
{
	FILE *f = doc_open(d, "etc/kmsd.conf", p, len);
	if (f == NULL) {
		return false;
	}
	char line[512], group[32] = "";
	for (unsigned no = 1; fgets(line, sizeof(line), f) != NULL; no++) {
		const char *s = line + strspn(line, " \t");
		size_t n = ident_len(s);
		if (*s == '#' || *s == '\n' || *s == '\0') {
			continue;
		}
		if (strncmp(s, "};", 2) == 0) {
			group[0] = '\0';
			continue;
		}
		if (n == 0 || n >= 32 || strncmp(s + n, " = ", 3) != 0) {
			doc_fail(d, no, "not a setting: %s", s);
			continue;
		}
		const char *v = s + n + 3;
		if (group[0] == '\0') {
			if (strncmp(v, "{", 1) != 0) {
				doc_fail(d, no, "a setting outside a group");
			}
			snprintf(group, sizeof(group), "%.*s", (int)n, s);
			continue;
		}
		char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)n, s);
		doc_item_t *it = doc_add(d, group, name, no);
		if (it == NULL) {
			break;
		}
		const char *end = *v == '"' ? strchr(v + 1, '"') : strchr(v, ';');
		if (end == NULL) {
			doc_fail(d, no, "'%s': cannot read the value", it->name);
			continue;
		}
		if (*v == '"') {
			v++;
		}
		snprintf(it->def, sizeof(it->def), "%.*s", (int)(end - v), v);
		const char *comment = strchr(end, '#');
		if (comment != NULL) {
			it->restart = strstr(comment, "[restart]") != NULL;
			it->has_range = find_range(comment, &it->min, &it->max);
		}
	}
	fclose(f);
	return true;
}

/* Replace each from with to in s (to no longer than from). */
static void replace_all(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	for (char *p = strstr(s, from); p != NULL; p = strstr(p + tl, from)) {
		memmove(p + tl, p + fl, strlen(p + fl) + 1);
		memcpy(p, to, tl);
	}
}

/* One ".BR name \" (spec)[ [restart]]\"" line after a .TP of a group section. */
static void doc_man_item(doc_t *d, const char *group, char *s, unsigned no)
{
	size_t n = ident_len(s);
	char name[32];
	snprintf(name, sizeof(name), "%.*s", (int)n, s);
	doc_item_t *it = doc_add(d, group, name, no);
	if (it == NULL) {
		return;
	}
	char *open = strstr(s + n, " (");
	char *close = strrchr(s, ')');
	if (n == 0 || strncmp(s + n, " \" (", 4) != 0 || open == NULL || close == NULL ||
	    close < open) {
		doc_fail(d, no, "'%s': no \" (range or type, default)\"", it->name);
		return;
	}
	it->restart = strstr(close, "[restart]") != NULL;
	snprintf(it->spec, sizeof(it->spec), "%.*s", (int)(close - open - 2), open + 2);
	replace_all(it->spec, "\\(dq", "\"");
	replace_all(it->spec, "\\-", "-");
	const char *comma = strrchr(it->spec, ',');
	const char *def = comma != NULL ? comma + 1 : "";
	def += strspn(def, " ");
	size_t dl = strlen(def);
	if (dl >= 2 && def[0] == '"' && def[dl - 1] == '"') {
		def++;
		dl -= 2;
	}
	snprintf(it->def, sizeof(it->def), "%.*s", (int)dl, def);
	unsigned long long lo, hi;
	char c;
	if (sscanf(it->spec, "%llu..%llu%c", &lo, &hi, &c) == 3 && c == ',') {
		it->has_range = true;
		it->min = lo;
		it->max = hi;
	}
}

/* docs/kmsd.conf.5: ".SH UA GROUP" sections, one ".TP" + ".BR" per setting. */
static bool doc_read_man(doc_t *d, char *p, size_t len)
{
	FILE *f = doc_open(d, "docs/kmsd.conf.5", p, len);
	if (f == NULL) {
		return false;
	}
	char line[512], group[32] = "";
	bool after_tp = false;
	for (unsigned no = 1; fgets(line, sizeof(line), f) != NULL; no++) {
		line[strcspn(line, "\n")] = '\0';
		char sect[32];
		if (strncmp(line, ".SH ", 4) == 0) {
			group[0] = '\0';
			if (sscanf(line, ".SH %31s GROUP", sect) == 1 &&
			    strstr(line, " GROUP") != NULL) {
				for (char *c = sect; *c != '\0'; c++) {
					*c = (char)(*c - 'A' + 'a');
				}
				snprintf(group, sizeof(group), "%s", sect);
			}
		} else if (after_tp && group[0] != '\0' &&
			   strncmp(line, ".BR ", 4) == 0) {
			doc_man_item(d, group, line + 4, no);
		} else if (after_tp && group[0] != '\0') {
			doc_fail(d, no, "a .TP in the %s group that is not a setting",
				 group);
		}
		after_tp = strcmp(line, ".TP") == 0;
	}
	fclose(f);
	return true;
}

static const doc_item_t *doc_find(doc_t *d, const char *name)
{
	const doc_item_t *found = NULL;
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->items[i].name, name) == 0) {
			if (found != NULL) {
				doc_fail(d, d->items[i].line, "'%s' twice", name);
			}
			found = &d->items[i];
		}
	}
	return found;
}

/* Every schema item once in d, same default, range and [restart]; nothing else. */
static void doc_check(doc_t *d, bool man)
{
	kms_config_item_t it;
	for (size_t i = 0; kms_config_item(i, &it); i++) {
		const doc_item_t *x = doc_find(d, it.name);
		if (x == NULL) {
			doc_fail(d, 0, "'%s' is missing", it.name);
			continue;
		}
		if (strcmp(x->def, it.def) != 0) {
			doc_fail(d, x->line,
				 "'%s': default \"%s\", the schema says \"%s\"", it.name,
				 x->def, it.def);
		}
		if (x->restart != it.restart) {
			doc_fail(d, x->line, "'%s': %s [restart], the schema %s", it.name,
				 x->restart ? "marked" : "not marked",
				 it.restart ? "needs a restart" : "reloads it");
		}
		if (x->has_range && (x->min != it.min || x->max != it.max)) {
			doc_fail(d, x->line,
				 "'%s': range %llu..%llu, the schema says %llu..%llu",
				 it.name, x->min, x->max, (unsigned long long)it.min,
				 (unsigned long long)it.max);
		}
		if (!man) {
			continue;
		}
		/* The man page says what kind of value it is. */
		bool kind =
		    it.type == KMS_CONFIG_UINT ? x->has_range
		    : it.type == KMS_CONFIG_BOOL
			? strncmp(x->spec, "boolean,", 8) == 0
			: x->spec[0] == '"' || strncmp(x->spec, "string,", 7) == 0;
		if (!kind) {
			doc_fail(d, x->line, "'%s': \"(%s)\" does not give its %s",
				 it.name, x->spec,
				 it.type == KMS_CONFIG_UINT ? "range"
				 : it.type == KMS_CONFIG_BOOL
				     ? "type (boolean)"
				     : "type (string or choices)");
		}
	}
	for (size_t i = 0; i < d->n; i++) {
		bool known = false;
		for (size_t j = 0; !known && kms_config_item(j, &it); j++) {
			known = strcmp(it.name, d->items[i].name) == 0;
		}
		if (!known) {
			doc_fail(d, d->items[i].line,
				 "'%s' is not a setting of the schema", d->items[i].name);
		}
	}
}

static void given_example_file_when_read_then_agrees_with_schema(void)
{
	static doc_t d;
	char p[512];
	CU_ASSERT_TRUE_FATAL(doc_read_example(&d, p, sizeof(p)));
	CU_ASSERT_EQUAL(d.n, kms_config_item_count());
	doc_check(&d, false);
	CU_ASSERT_EQUAL(d.errors, 0);
}

static void given_man_page_when_read_then_agrees_with_schema(void)
{
	static doc_t d;
	char p[512];
	CU_ASSERT_TRUE_FATAL(doc_read_man(&d, p, sizeof(p)));
	CU_ASSERT_EQUAL(d.n, kms_config_item_count());
	doc_check(&d, true);
	CU_ASSERT_EQUAL(d.errors, 0);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_no_file_when_defaults_then_documented_values),
		UNIT_TEST(given_replay_shared_when_loaded_then_postgresql_only),
		UNIT_TEST(given_empty_file_when_loaded_then_defaults),
		UNIT_TEST(given_good_file_when_loaded_then_every_value_set),
		UNIT_TEST(given_threads_zero_when_loaded_then_number_of_cores),
		UNIT_TEST(given_unknown_key_when_loaded_then_error_names_line_and_key),
		UNIT_TEST(given_out_of_range_value_when_loaded_then_error_with_range),
		UNIT_TEST(given_wrong_type_when_loaded_then_error_names_type),
		UNIT_TEST(
		    given_invalid_string_when_loaded_then_error_says_what_is_expected),
		UNIT_TEST(
		    given_syntax_error_or_missing_file_when_loaded_then_clear_error),
		UNIT_TEST(given_example_config_when_loaded_then_equals_defaults),
		UNIT_TEST(given_no_user_when_resolved_then_not_set),
		UNIT_TEST(given_names_when_loaded_then_resolved_to_ids),
		UNIT_TEST(given_decimal_ids_when_loaded_then_taken_without_an_entry),
		UNIT_TEST(
		    given_bad_user_or_group_when_loaded_then_error_names_the_setting),
		UNIT_TEST(given_user_or_group_when_changed_then_restart_needed),
		UNIT_TEST(given_texts_when_loaded_from_buffer_then_as_from_file),
		UNIT_TEST(given_gba_source_when_naf_settings_bad_then_error),
		UNIT_TEST(given_same_config_when_diffed_then_nothing_differs),
		UNIT_TEST(given_changed_settings_when_diffed_then_named_in_schema_order),
		UNIT_TEST(given_restart_settings_when_kept_then_only_they_return),
		UNIT_TEST(given_state_dir_moved_when_diffed_then_derived_paths_not_named),
		UNIT_TEST(given_schema_when_iterated_then_every_item_described),
		UNIT_TEST(given_example_file_when_read_then_agrees_with_schema),
		UNIT_TEST(given_man_page_when_read_then_agrees_with_schema),
		UNIT_END,
	};
	return unit_run("config", tests);
}
