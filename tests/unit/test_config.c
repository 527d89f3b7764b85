/* kmsd configuration: schema defaults, loading, and every kind of error. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
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

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_no_file_when_defaults_then_documented_values),
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
		UNIT_TEST(given_gba_source_when_naf_settings_bad_then_error),
		UNIT_END,
	};
	return unit_run("config", tests);
}
