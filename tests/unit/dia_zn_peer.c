/*
 * A Zn over Diameter test peer (not installed): dia/ driven from a shell.
 *
 *   dia_zn_peer --conf F --serve
 *	answer every BIR: B-TID "good@<realm>" gets DIAMETER_SUCCESS with a
 *	fixed test key (and a UICC key when GBA_U-Awareness-Indicator is
 *	YES), the IMPI "good.user@<realm>", a GUSS, times on both sides of
 *	2036 (the NTP era change); "fail@<realm>" makes the handler fail
 *	(dia/ answers DIAMETER_UNABLE_TO_COMPLY); any other B-TID gets
 *	Experimental-Result 5403.  Runs until SIGTERM or SIGINT; "serving" on stdout once ready.
 *   dia_zn_peer --conf F --ask BTID --naf-id FQDN [--timeout-ms N]
 *		 [--wait-open-ms N] [--gba-u]
 *	wait (at most --wait-open-ms, default 5000) for an open Zn peer,
 *	send one BIR and print one JSON line: ret, outcome (ok, refused,
 *	unavailable, malformed), the result codes, impi, key lengths and a
 *	SHA-256 prefix of each key (never a key), expiry, created, gba_type,
 *	guss_len, origin_host.  Exit 0 whenever a line was printed.
 *	--go-file F: once a peer is open, print "open" on stderr and send
 *	only when F exists (at most 20 s): a test can act on the open
 *	connection first (stop the BSF) without sleeping.
 * Log lines go to stderr (--debug: freeDiameter's debug lines too).
 */
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "dia/peer.h"
#include "dia/zn.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TEST_CREATED 1700000000LL /* 2023: NTP era 0 */
#define TEST_EXPIRY 2100000000LL  /* 2036-07: NTP era 1 */
static const char test_guss[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
				"<guss xmlns=\"uri:3gpp-gba\"><ussList/></guss>";

static int serve_handler(const dia_zn_bir_t *bir, dia_zn_bia_t *bia, void *arg)
{
	(void)arg;
	const char *realm = strrchr(bir->btid, '@');
	if (strncmp(bir->btid, "fail@", 5) == 0)
		return KMS_EINTERNAL; /* dia/ answers 5012 */
	if (strncmp(bir->btid, "good@", 5) != 0 || realm == NULL) {
		bia->exp_result_code = DIA_EXP_TRANSACTION_IDENTIFIER_INVALID;
		log_info("BIR from %s: unknown B-TID, 5403", bir->origin_host);
		return KMS_EOK;
	}
	bia->result_code = DIA_RC_SUCCESS;
	snprintf(bia->impi, sizeof(bia->impi), "good.user%s", realm);
	for (size_t i = 0; i < 32; i++)
		bia->me_key[i] = (uint8_t)i;
	bia->me_key_len = 32;
	if (bir->gba_u) {
		for (size_t i = 0; i < 32; i++)
			bia->uicc_key[i] = (uint8_t)(0xa0 + i);
		bia->uicc_key_len = 32;
	}
	bia->key_expiry = TEST_EXPIRY;
	bia->created = TEST_CREATED;
	bia->gba_type = 0;
	bia->guss = strdup(test_guss);
	if (bia->guss == NULL)
		return KMS_ENOMEM;
	bia->guss_len = strlen(test_guss);
	log_info("BIR from %s: good B-TID, 2001 (NAF-Id %zu bytes)", bir->origin_host,
		 bir->naf_id_len);
	return KMS_EOK;
}

static int serve(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int rc = dia_zn_serve(serve_handler, NULL);
	if (rc != KMS_EOK) {
		log_error("dia_zn_serve: %s", kms_err_name(rc));
		return 1;
	}
	printf("serving\n");
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	return 0;
}

/* --- --ask -------------------------------------------------------------- */

typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, ret, calls;
	dia_zn_bia_t bia;
} ask_t;

static void ask_done(int ret, dia_zn_bia_t *bia, void *arg)
{
	ask_t *a = arg;
	pthread_mutex_lock(&a->lock);
	a->calls++;
	a->ret = ret;
	if (bia != NULL) {
		/* The callback owns nothing: copy what we print. */
		a->bia = *bia;
		a->bia.guss = NULL;
	}
	a->done = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void key_print(const char *name, const uint8_t *k, size_t len)
{
	uint8_t h[CRYPTO_SHA256_LEN];
	crypto_iov_t iov = { k, len };
	printf(",\"%s_len\":%zu", name, len);
	if (len == 0 || crypto_hash(CRYPTO_MD_SHA256, &iov, 1, h) != KMS_EOK)
		return;
	printf(",\"%s_sha256\":\"%02x%02x%02x%02x%02x%02x%02x%02x\"", name, h[0], h[1],
	       h[2], h[3], h[4], h[5], h[6], h[7]);
}

static const char *outcome(int ret, const dia_zn_bia_t *b)
{
	if (ret == KMS_EMALFORMED)
		return "malformed";
	if (ret != KMS_EOK)
		return "unavailable";
	uint32_t c = b->result_code ? b->result_code : b->exp_result_code;
	if (c >= 3000 && c < 5000)
		return "unavailable";
	return c >= 2000 && c < 3000 ? "ok" : "refused";
}

static void ask_print(const ask_t *a)
{
	const dia_zn_bia_t *b = &a->bia;
	char impi[LOG_ESCAPED_SIZE(DIA_ZN_IMPI_MAX)];
	char host[LOG_ESCAPED_SIZE(DIA_ZN_HOST_MAX)];
	log_json_escape(impi, sizeof(impi), b->impi, strlen(b->impi));
	log_json_escape(host, sizeof(host), b->origin_host, strlen(b->origin_host));
	printf("{\"ret\":\"%s\",\"outcome\":\"%s\",\"calls\":%d,\"result_code\":%u,"
	       "\"exp_result_code\":%u,\"impi\":\"%s\"",
	       kms_err_name(a->ret), outcome(a->ret, b), a->calls, b->result_code,
	       b->exp_result_code, impi);
	key_print("key", b->me_key, b->me_key_len);
	key_print("uicc_key", b->uicc_key, b->uicc_key_len);
	printf(",\"expiry\":%lld,\"created\":%lld,\"gba_type\":%d,\"guss_len\":%zu,"
	       "\"origin_host\":\"%s\"}\n",
	       (long long)b->key_expiry, (long long)b->created, b->gba_type, b->guss_len,
	       host);
	fflush(stdout);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static const char *go_file;

/* --go-file: "open" once a peer is, then wait (bounded) for the file. */
static void wait_go(void)
{
	if (go_file == NULL)
		return;
	log_notice("open (%zu peers)", dia_peer_open_count());
	for (unsigned w = 0; w < 20000 && access(go_file, F_OK) != 0; w += 10)
		sleep_ms(10);
}

static int ask(const char *btid, const char *fqdn, unsigned timeout_ms,
	       unsigned wait_open_ms, bool gba_u)
{
	uint8_t naf_id[DIA_ZN_NAF_ID_MAX];
	static const uint8_t ua[5] = { 0x01, 0x00, 0x00, 0x00, 0x06 };
	size_t flen = strlen(fqdn);
	if (flen + sizeof(ua) > sizeof(naf_id))
		return 2;
	memcpy(naf_id, fqdn, flen);
	memcpy(naf_id + flen, ua, sizeof(ua));
	/* Bounded: one check every 10 ms. */
	for (unsigned w = 0; w < wait_open_ms && dia_peer_open_count() == 0; w += 10)
		sleep_ms(10);
	wait_go();
	ask_t a = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	dia_zn_bia_init(&a.bia);
	int rc = dia_zn_send_bir(btid, naf_id, flen + sizeof(ua), gba_u, timeout_ms,
				 ask_done, &a);
	if (rc != KMS_EOK) {
		a.ret = rc;
		ask_print(&a);
		return 0;
	}
	/* dia/ bounds the wait by timeout_ms; this bound only catches a
	 * callback that never comes (calls 0 in the output). */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000 + 10;
	pthread_mutex_lock(&a.lock);
	while (!a.done && pthread_cond_timedwait(&a.cond, &a.lock, &until) == 0)
		;
	if (!a.done)
		a.ret = KMS_EINTERNAL;
	pthread_mutex_unlock(&a.lock);
	/* A second call would show as calls 2: give it a moment to happen. */
	sleep_ms(50);
	pthread_mutex_lock(&a.lock);
	ask_print(&a);
	pthread_mutex_unlock(&a.lock);
	dia_zn_bia_clear(&a.bia);
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *btid = NULL, *fqdn = "naf.test";
	unsigned timeout_ms = 2000, wait_open_ms = 5000;
	bool do_serve = false, gba_u = false, debug = false;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--serve") == 0)
			do_serve = true;
		else if (strcmp(o, "--gba-u") == 0)
			gba_u = true;
		else if (strcmp(o, "--debug") == 0)
			debug = true;
		else if (v != NULL && strcmp(o, "--conf") == 0)
			conf = argv[++i];
		else if (v != NULL && strcmp(o, "--ask") == 0)
			btid = argv[++i];
		else if (v != NULL && strcmp(o, "--naf-id") == 0)
			fqdn = argv[++i];
		else if (v != NULL && strcmp(o, "--timeout-ms") == 0)
			timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (v != NULL && strcmp(o, "--go-file") == 0)
			go_file = argv[++i];
		else if (v != NULL && strcmp(o, "--wait-open-ms") == 0)
			wait_open_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(
			    stderr,
			    "usage: %s --conf F (--serve | --ask BTID --naf-id FQDN "
			    "[--timeout-ms N] [--wait-open-ms N] [--gba-u]) [--debug]\n",
			    argv[0]);
			return 2;
		}
	}
	if (conf == NULL || do_serve == (btid != NULL)) {
		fprintf(stderr, "%s: --conf and one of --serve, --ask are needed\n",
			argv[0]);
		return 2;
	}
	if (!dia_available()) {
		fprintf(stderr, "%s: built without freeDiameter\n", argv[0]);
		return 77;
	}
	log_open("dia_zn_peer", LOG_TARGET_STDERR);
	log_level_set(debug ? LOG_DEBUG : LOG_INFO);
	if (crypto_init() != KMS_EOK)
		return 1;
	/* SIGTERM and SIGINT for sigwait() in --serve, blocked in every thread. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	int rc = dia_peer_start(conf);
	if (rc != KMS_EOK) {
		log_error("dia_peer_start: %s", kms_err_name(rc));
		return 1;
	}
	rc = do_serve ? serve() : ask(btid, fqdn, timeout_ms, wait_open_ms, gba_u);
	dia_peer_stop();
	return rc;
}
