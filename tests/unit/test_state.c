/* kmsd's running state: construction and transactional reload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "kms/keyring.h"
#include "kms/state.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];
static char conf[UNIT_PATH_MAX];

/* A state directory as kmsctl init leaves it: a KEK and one master key. */
static void fixture_up(void)
{
	char kek_path[UNIT_PATH_MAX], db[UNIT_PATH_MAX];
	uint8_t kek[KEYRING_KEK_LEN];
	unit_tmpdir(dir);
	unit_path(kek_path, dir, "kek");
	unit_path(db, dir, "kms.db");
	unit_path(conf, dir, "kmsd.conf");
	CU_ASSERT_EQUAL_FATAL(keyring_kek_load(kek_path, 1, kek), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db, kek, NULL), KMS_EOK);
}

static void fixture_down(void)
{
	unit_rmdir(dir);
}

/* kmsd.conf: a kms group with state_dir = dir and kms, then text. */
static void write_conf2(const char *kms, const char *text)
{
	FILE *f = fopen(conf, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "kms = { state_dir = \"%s\"; %s };\n%s", dir, kms, text);
	fclose(f);
}

static void write_conf(const char *text)
{
	write_conf2("", text);
}

/* The state kmsd would start with from text. */
static kms_state_t *start(const char *text, replay_t *rp)
{
	kms_config_t cfg;
	char err[512];
	kms_state_t *st = NULL;
	write_conf(text);
	CU_ASSERT_EQUAL_FATAL(kms_state_load_config(conf, &cfg, err, sizeof(err)),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(kms_state_new(&cfg, NULL, rp, NULL, NULL, &st), KMS_EOK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	return st;
}

static void given_no_file_when_config_loaded_then_embedded_defaults(void)
{
	kms_config_t a, b;
	kms_config_defaults(&a);
	memset(&b, 0xa5, sizeof(b));
	CU_ASSERT_EQUAL(kms_state_load_config(NULL, &b, NULL, 0), KMS_EOK);
	CU_ASSERT_EQUAL(kms_config_diff(&a, &b, NULL, 0, false), 0);
}

static void given_state_dir_when_state_built_then_service_is_wired(void)
{
	fixture_up();
	replay_t *rp = replay_new(64, 300, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rp);
	kms_state_t *st = start("", rp);
	CU_ASSERT_PTR_EQUAL(st->svc.cfg, &st->cfg);
	CU_ASSERT_PTR_EQUAL(st->svc.keyring, st->kr);
	CU_ASSERT_PTR_EQUAL(st->svc.psk, st->psk);
	CU_ASSERT_PTR_EQUAL(st->svc.policy, st->policy);
	CU_ASSERT_PTR_EQUAL(st->svc.replay, rp);
	CU_ASSERT_PTR_NOT_NULL(st->kr);
	CU_ASSERT_PTR_NOT_NULL(st->psk);
	CU_ASSERT_PTR_NULL(st->peers); /* zk.enabled is false */
	kms_state_free(st);
	kms_state_free(NULL);
	replay_free(rp);
	fixture_down();
}

static void given_unchanged_file_when_reloaded_then_nothing_needs_a_restart(void)
{
	fixture_up();
	replay_t *rp = replay_new(64, 300, 0);
	kms_state_t *cur = start("ua = { port = 18080; };\n", rp);
	kms_state_t *st = NULL;
	const char *names[8] = { NULL };
	size_t n = 99;
	CU_ASSERT_EQUAL_FATAL(kms_state_reload(cur, conf, &st, names, 8, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(names[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_EQUAL(st, cur);
	CU_ASSERT_EQUAL(kms_config_diff(&cur->cfg, &st->cfg, NULL, 0, false), 0);
	/* The new state shares what lives for the whole process. */
	CU_ASSERT_PTR_EQUAL(st->svc.replay, rp);
	CU_ASSERT_PTR_EQUAL(st->svc.cfg, &st->cfg);
	kms_state_free(st);
	kms_state_free(cur);
	replay_free(rp);
	fixture_down();
}

static void given_reloadable_settings_changed_when_reloaded_then_applied(void)
{
	fixture_up();
	kms_state_t *cur = start("", NULL);
	kms_state_t *st = NULL;
	const char *names[8];
	size_t n = 99;
	write_conf2("kms_id = \"kms.b.example\";",
		    "policy = { ticket_lifetime = 600; default_effect = \"deny\";\n"
		    "  reload_interval = 0; };\n"
		    "log = { level = \"debug\"; };\n");
	CU_ASSERT_EQUAL_FATAL(kms_state_reload(cur, conf, &st, names, 8, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(st->cfg.kms_id, "kms.b.example");
	CU_ASSERT_EQUAL(st->cfg.ticket_lifetime, 600);
	CU_ASSERT_STRING_EQUAL(st->cfg.default_effect, "deny");
	CU_ASSERT_EQUAL(st->cfg.reload_interval, 0);
	CU_ASSERT_STRING_EQUAL(st->cfg.log_level, "debug");
	const char *all[8];
	CU_ASSERT_EQUAL(kms_config_diff(&cur->cfg, &st->cfg, all, 8, false), 5);
	CU_ASSERT_STRING_EQUAL(all[0], "kms.kms_id");
	CU_ASSERT_STRING_EQUAL(all[4], "log.level");
	/* The running state is left alone until the caller swaps. */
	CU_ASSERT_STRING_EQUAL(cur->cfg.kms_id, "kms.example.org");
	CU_ASSERT_EQUAL(cur->cfg.ticket_lifetime, 3600);
	kms_state_free(st);
	kms_state_free(cur);
	fixture_down();
}

static void given_restart_settings_changed_when_reloaded_then_named_not_applied(void)
{
	fixture_up();
	kms_state_t *cur = start("ua = { port = 18080; };\n", NULL);
	kms_state_t *st = NULL, *again = NULL;
	const char *names[8] = { NULL };
	size_t n = 0;
	write_conf("ua = { port = 18081; };\n"
		   "policy = { clock_skew = 60; ticket_lifetime = 600; };\n"
		   "zk = { threads = 4; };\n");
	CU_ASSERT_EQUAL_FATAL(kms_state_reload(cur, conf, &st, names, 8, &n), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(names[0], "ua.port");
	CU_ASSERT_STRING_EQUAL(names[1], "policy.clock_skew");
	CU_ASSERT_STRING_EQUAL(names[2], "zk.threads");
	CU_ASSERT_PTR_NULL(names[3]);
	/* Not applied: the running values stay; the rest of the file applies. */
	CU_ASSERT_EQUAL(st->cfg.port, 18080);
	CU_ASSERT_EQUAL(st->cfg.clock_skew, 300);
	CU_ASSERT_EQUAL(st->cfg.zk_threads, 2);
	CU_ASSERT_EQUAL(st->cfg.ticket_lifetime, 600);
	/* Still pending on the next reload; a short list still counts them all. */
	names[0] = NULL;
	CU_ASSERT_EQUAL_FATAL(kms_state_reload(st, conf, &again, names, 1, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(names[0], "ua.port");
	CU_ASSERT_STRING_EQUAL(names[1], "policy.clock_skew"); /* not overwritten */
	kms_state_free(again);
	kms_state_free(st);
	kms_state_free(cur);
	fixture_down();
}

/* kmsd -p / -l / -u: the command line is over the file on every reload,
 * so an unchanged file asks for no restart. */
static void given_command_line_override_when_reloaded_then_kept_and_not_named(void)
{
	fixture_up();
	kms_state_t *cur = start("ua = { port = 18080; };\n", NULL);
	kms_state_t *st = NULL;
	const char *names[8] = { NULL };
	size_t n = 99;
	char err[256];
	cur->ov.port = 19001;
	snprintf(cur->ov.listen, sizeof(cur->ov.listen), "127.0.0.2");
	CU_ASSERT_EQUAL_FATAL(kms_config_override(&cur->cfg, &cur->ov, err, sizeof(err)),
			      KMS_EOK);
	CU_ASSERT_EQUAL(cur->cfg.port, 19001);
	CU_ASSERT_EQUAL_FATAL(kms_state_reload(cur, conf, &st, names, 8, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(names[0]);
	CU_ASSERT_EQUAL(st->cfg.port, 19001);
	CU_ASSERT_STRING_EQUAL(st->cfg.listen, "127.0.0.2");
	CU_ASSERT_EQUAL(st->ov.port, 19001);
	/* A bad override is refused with the option named. */
	kms_config_override_t bad = { .listen = "not-an-address" };
	CU_ASSERT_EQUAL(kms_config_override(&cur->cfg, &bad, err, sizeof(err)),
			KMS_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "-l not-an-address"));
	kms_state_free(st);
	kms_state_free(cur);
	fixture_down();
}

static void given_bad_new_config_when_reloaded_then_old_state_kept(void)
{
	fixture_up();
	kms_state_t *cur = start("policy = { ticket_lifetime = 600; };\n", NULL);
	kms_config_t before = cur->cfg;
	kms_state_t *st = cur; /* untouched on failure */
	size_t n = 99;
	const char *bad[] = {
		"ua = { port = 99999; };\n",	 /* out of range */
		"ua = { prot = 8080; };\n",	 /* unknown setting */
		"policy = { ticket_lifetime = ", /* syntax */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_conf(bad[i]);
		CU_ASSERT_EQUAL(kms_state_reload(cur, conf, &st, NULL, 0, &n),
				KMS_ECONFIG);
		CU_ASSERT_PTR_EQUAL(st, cur);
		CU_ASSERT_EQUAL(n, 99);
	}
	/* A valid file whose stores do not load (no KEK there). */
	char kms[UNIT_PATH_MAX + 32];
	snprintf(kms, sizeof(kms), "kek_file = \"%s/no-such-kek\";", dir);
	write_conf2(kms, "");
	CU_ASSERT_NOT_EQUAL(kms_state_reload(cur, conf, &st, NULL, 0, &n), KMS_EOK);
	CU_ASSERT_PTR_EQUAL(st, cur);
	CU_ASSERT_EQUAL(n, 99);
	/* A missing file. */
	CU_ASSERT_EQUAL(kms_state_reload(cur, "/nonexistent/kmsd.conf", &st, NULL, 0, &n),
			KMS_ECONFIG);
	CU_ASSERT_PTR_EQUAL(st, cur);
	/* The running state is as it was, and still serves. */
	CU_ASSERT_EQUAL(kms_config_diff(&before, &cur->cfg, NULL, 0, false), 0);
	CU_ASSERT_PTR_EQUAL(cur->svc.cfg, &cur->cfg);
	CU_ASSERT_PTR_EQUAL(cur->svc.keyring, cur->kr);
	kms_state_free(cur);
	fixture_down();
}

/* The config of kmsd.conf with kms_extra in its kms group. */
static void load_conf(const char *kms_extra, kms_config_t *cfg)
{
	char err[512];
	write_conf2(kms_extra, "");
	CU_ASSERT_EQUAL_FATAL(kms_state_load_config(conf, cfg, err, sizeof(err)),
			      KMS_EOK);
}

static void given_no_kek_or_keyring_when_state_built_then_error_and_no_state(void)
{
	fixture_up();
	kms_config_t cfg;
	kms_state_t *st = NULL;
	load_conf("kek_file = \"/nonexistent/kek\";", &cfg);
	CU_ASSERT_EQUAL(kms_state_new(&cfg, NULL, NULL, NULL, NULL, &st), KMS_ENOENT);
	CU_ASSERT_PTR_NULL(st);
	/* A KEK, but a store without a master key. */
	load_conf("keys_db = \"/tmp/kms-unit-no-such-dir/empty.db\";", &cfg);
	CU_ASSERT_NOT_EQUAL(kms_state_new(&cfg, NULL, NULL, NULL, NULL, &st), KMS_EOK);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(kms_state_new(NULL, NULL, NULL, NULL, NULL, &st), KMS_EINVAL);
	fixture_down();
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_no_file_when_config_loaded_then_embedded_defaults),
		UNIT_TEST(given_state_dir_when_state_built_then_service_is_wired),
		UNIT_TEST(
		    given_unchanged_file_when_reloaded_then_nothing_needs_a_restart),
		UNIT_TEST(given_reloadable_settings_changed_when_reloaded_then_applied),
		UNIT_TEST(
		    given_restart_settings_changed_when_reloaded_then_named_not_applied),
		UNIT_TEST(
		    given_command_line_override_when_reloaded_then_kept_and_not_named),
		UNIT_TEST(given_bad_new_config_when_reloaded_then_old_state_kept),
		UNIT_TEST(
		    given_no_kek_or_keyring_when_state_built_then_error_and_no_state),
		UNIT_END,
	};
	return unit_run("state", tests);
}
