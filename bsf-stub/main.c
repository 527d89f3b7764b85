/*
 * bsf-stubd: a BSF stand-in for tests and demos (docs/bsf-stubd.8).
 * Administration: --init [--demo], --add-subscriber, --add-naf.  Daemon:
 * log, crypto self-test, store, the Diameter peer (--zn-diameter), bind,
 * serve until SIGTERM/SIGINT (signals
 * are blocked in every thread and taken by sigwait() here).
 */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsf-stub/admin.h"
#include "bsf-stub/bsf.h"
#include "bsf-stub/http.h"
#include "bsf-stub/zn_core.h"
#include "bsf-stub/zn_dia.h"
#include "common/crypto_selftest.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "dia/peer.h"
#include "net/notify.h"

#define IMPUS_MAX 32
#define STOP_WAIT_MS 10000u

enum {
	OPT_INIT = 256,
	OPT_DEMO,
	OPT_ADD_SUB,
	OPT_ADD_NAF,
	OPT_K,
	OPT_OPC,
	OPT_AMF,
	OPT_IMPU,
	OPT_GROUP,
	OPT_DOMAIN,
	OPT_LIFETIME,
	OPT_THREADS,
	OPT_MAX_CONNS,
	OPT_CONN_TIMEOUT,
	OPT_CHAL_TTL,
	OPT_CHAL_MAX,
	OPT_LOG_LEVEL,
	OPT_TLS_PORT,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_TLS_ONLY,
	OPT_TEST_ZN_RESULT,
	OPT_ZN_DIAMETER,
};

typedef struct {
	const char *dir;
	int mode; /* 0 daemon, OPT_INIT, OPT_ADD_SUB, OPT_ADD_NAF */
	bool demo;
	const char *name; /* IMPI or FQDN */
	const char *k, *opc, *amf, *group;
	const char *impus[IMPUS_MAX];
	size_t n_impus;
	const char *log_level;
	const char *zn_diameter; /* freeDiameter configuration file */
	bsf_config_t bsf;
	bsf_http_config_t http;
} opts_t;

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: bsf-stubd -d DIR [options]              serve Ub and Zn\n"
	    "       bsf-stubd -d DIR --init [--demo]\n"
	    "       bsf-stubd --version\n"
	    "       bsf-stubd -d DIR --add-subscriber IMPI --k HEX --opc HEX [--amf "
	    "HEX]\n"
	    "                 [--impu URI]... [--naf-group G]\n"
	    "       bsf-stubd -d DIR --add-naf FQDN --naf-group G\n"
	    "Daemon options:\n"
	    "  -l, --listen ADDR        address for Ub and Zn (default 127.0.0.1)\n"
	    "  -p, --port PORT          port for Ub and Zn (default 8081)\n"
	    "  --domain NAME            BSF domain in B-TIDs and the realm "
	    "(default bsf.example.org)\n"
	    "  --lifetime S             bootstrapping session lifetime (default 3600)\n"
	    "  --threads N              HTTP threads (default 4)\n"
	    "  --max-conns N            connection limit (default 1024)\n"
	    "  --conn-timeout S         idle connection timeout (default 10)\n"
	    "  --challenge-ttl S        time to answer a Ub challenge (default 120)\n"
	    "  --max-challenges N       Ub challenges in flight (default 1024)\n"
	    "  --zn-tls-port P          also serve Zn over TLS on port P, with\n"
	    "  --tls-cert F --tls-key F --tls-ca F   (PEM; CA of the NAF client "
	    "certificates)\n"
	    "  --zn-tls-only            refuse Zn on the plain port (403)\n"
	    "  --zn-diameter FDCONF     also serve Zn over Diameter (freeDiameter "
	    "configuration)\n"
	    "  --test-zn-result CODE    test hook: every Zn answer is CODE (5001, "
	    "5401,\n"
	    "                           5402, 5403, 3004, 5012)\n"
	    "  --log-level L            err, warning, notice, info (default), debug\n"
	    "  -h, --help               this text\n");
}

static bool parse_uint(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	uint32_t v = 0;
	if (dec_parse_u32(s, &v) != KMS_EOK || v < min || v > max) {
		return false;
	}
	*out = v;
	return true;
}

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, opts_t *o)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "demo", no_argument, NULL, OPT_DEMO },
		{ "add-subscriber", required_argument, NULL, OPT_ADD_SUB },
		{ "add-naf", required_argument, NULL, OPT_ADD_NAF },
		{ "k", required_argument, NULL, OPT_K },
		{ "opc", required_argument, NULL, OPT_OPC },
		{ "amf", required_argument, NULL, OPT_AMF },
		{ "impu", required_argument, NULL, OPT_IMPU },
		{ "naf-group", required_argument, NULL, OPT_GROUP },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "lifetime", required_argument, NULL, OPT_LIFETIME },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "conn-timeout", required_argument, NULL, OPT_CONN_TIMEOUT },
		{ "challenge-ttl", required_argument, NULL, OPT_CHAL_TTL },
		{ "max-challenges", required_argument, NULL, OPT_CHAL_MAX },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "zn-tls-port", required_argument, NULL, OPT_TLS_PORT },
		{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "zn-tls-only", no_argument, NULL, OPT_TLS_ONLY },
		{ "test-zn-result", required_argument, NULL, OPT_TEST_ZN_RESULT },
		{ "zn-diameter", required_argument, NULL, OPT_ZN_DIAMETER },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v = 0;
	int c;
	const char *bad = NULL;

	while (bad == NULL &&
	       (c = getopt_long(argc, argv, "d:l:p:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->dir = optarg;
			break;
		case 'l':
			if (strlen(optarg) >= sizeof(o->http.listen)) {
				bad = "--listen";
			} else {
				snprintf(o->http.listen, sizeof(o->http.listen), "%s",
					 optarg);
			}
			break;
		case 'p':
			if (!parse_uint(optarg, 1, 65535, &v)) {
				bad = "--port (1..65535)";
			}
			o->http.port = (uint16_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("bsf-stubd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		case OPT_INIT:
		case OPT_ADD_SUB:
		case OPT_ADD_NAF:
			if (o->mode != 0) {
				bad = "one of --init, --add-subscriber, --add-naf";
			}
			o->mode = c;
			o->name = optarg;
			break;
		case OPT_DEMO:
			o->demo = true;
			break;
		case OPT_K:
			o->k = optarg;
			break;
		case OPT_OPC:
			o->opc = optarg;
			break;
		case OPT_AMF:
			o->amf = optarg;
			break;
		case OPT_IMPU:
			if (o->n_impus >= IMPUS_MAX) {
				bad = "--impu (at most 32)";
			} else {
				o->impus[o->n_impus++] = optarg;
			}
			break;
		case OPT_GROUP:
			o->group = optarg;
			break;
		case OPT_DOMAIN:
			if (bsf_domain_check(optarg) != KMS_EOK) {
				bad = "--domain (a domain name)";
			} else {
				snprintf(o->bsf.domain, sizeof(o->bsf.domain), "%s",
					 optarg);
			}
			break;
		case OPT_LIFETIME:
			if (!parse_uint(optarg, 1, 30 * 86400, &v)) {
				bad = "--lifetime (1..2592000)";
			}
			o->bsf.lifetime = (unsigned)v;
			break;
		case OPT_THREADS:
			if (!parse_uint(optarg, 1, 256, &v)) {
				bad = "--threads (1..256)";
			}
			o->http.threads = (unsigned)v;
			break;
		case OPT_MAX_CONNS:
			if (!parse_uint(optarg, 1, 65536, &v)) {
				bad = "--max-conns (1..65536)";
			}
			o->http.max_conns = (unsigned)v;
			break;
		case OPT_CONN_TIMEOUT:
			if (!parse_uint(optarg, 1, 3600, &v)) {
				bad = "--conn-timeout (1..3600)";
			}
			o->http.conn_timeout = (unsigned)v;
			break;
		case OPT_CHAL_TTL:
			if (!parse_uint(optarg, 1, 3600, &v)) {
				bad = "--challenge-ttl (1..3600)";
			}
			o->bsf.challenge_ttl = (unsigned)v;
			break;
		case OPT_CHAL_MAX:
			if (!parse_uint(optarg, 1, 1000000, &v)) {
				bad = "--max-challenges (1..1000000)";
			}
			o->bsf.max_challenges = (size_t)v;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg) < 0) {
				bad = "--log-level";
			}
			o->log_level = optarg;
			break;
		case OPT_TLS_PORT:
			if (!parse_uint(optarg, 1, 65535, &v)) {
				bad = "--zn-tls-port (1..65535)";
			}
			o->http.zn_tls_port = (uint16_t)v;
			break;
		case OPT_TLS_CERT:
			o->http.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o->http.tls_key = optarg;
			break;
		case OPT_TLS_CA:
			o->http.tls_ca = optarg;
			break;
		case OPT_TLS_ONLY:
			o->http.zn_tls_only = true;
			break;
		case OPT_TEST_ZN_RESULT:
			if (!parse_uint(optarg, 1, 9999, &v) ||
			    !bsf_zn_test_code_ok((uint32_t)v)) {
				bad = "--test-zn-result (5001, 5401, 5402, 5403, 3004, "
				      "5012)";
			}
			o->bsf.test_zn_result = (uint32_t)v;
			break;
		case OPT_ZN_DIAMETER:
			if (!dia_available()) {
				bad = "--zn-diameter: this build has no Diameter "
				      "(configure found no libfreediameter)";
			}
			o->zn_diameter = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (bad == NULL && optind != argc) {
		bad = "unexpected argument";
	}
	if (bad == NULL && (o->dir == NULL || o->dir[0] == '\0')) {
		bad = "-d DIR is required";
	}
	if (bad == NULL && o->demo && o->mode != OPT_INIT) {
		bad = "--demo goes with --init";
	}
	if (bad == NULL && o->mode == OPT_ADD_NAF && o->group == NULL) {
		bad = "--add-naf needs --naf-group";
	}
	if (bad == NULL && o->mode == OPT_ADD_SUB && (o->k == NULL || o->opc == NULL)) {
		bad = "--add-subscriber needs --k and --opc";
	}
	if (bad == NULL && o->http.zn_tls_port != 0 &&
	    (o->http.tls_cert == NULL || o->http.tls_key == NULL ||
	     o->http.tls_ca == NULL)) {
		bad = "--zn-tls-port needs --tls-cert, --tls-key and --tls-ca";
	}
	if (bad == NULL && o->http.zn_tls_only && o->http.zn_tls_port == 0) {
		bad = "--zn-tls-only needs --zn-tls-port";
	}
	if (bad != NULL) {
		fprintf(stderr, "bsf-stubd: bad or missing option: %s\n", bad);
		usage(stderr);
		return 2;
	}
	return -1;
}

static int serve(opts_t *o)
{
	sigset_t set;
	bsf_t *b = NULL;
	bsf_http_t *http = NULL;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Before any thread exists, so that they all inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int ret = crypto_selftest();
	if (ret != KMS_EOK) {
		log_error("crypto self-test failed: refusing to start");
		goto cleanup;
	}
	ret = bsf_admin_db_path(o->dir, o->bsf.db_path, sizeof(o->bsf.db_path));
	if (ret == KMS_EOK) {
		ret = bsf_new(&o->bsf, &b);
	}
	if (ret == KMS_ENOENT) {
		log_error("no store %s: run bsf-stubd -d %s --init", o->bsf.db_path,
			  o->dir);
		goto cleanup;
	}
	if (ret != KMS_EOK) {
		log_error("cannot open the store %s: %s", o->bsf.db_path,
			  kms_strerror(ret));
		goto cleanup;
	}
	/* After the store, before serving; its threads inherit the blocked
	 * signals. */
	if (o->zn_diameter != NULL) {
		ret = bsf_zn_dia_start(b, o->zn_diameter);
		if (ret != KMS_EOK) {
			goto cleanup;
		}
	}
	ret = bsf_http_start(&o->http, b, &http);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	log_notice("bsf-stubd ready (realm %s, session lifetime %u s)", bsf_realm(b),
		   o->bsf.lifetime);
	net_notify_ready("serving Ub and Zn");
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0) {
			log_error("sigwait failed: stopping");
			break;
		}
		if (sig == SIGHUP) {
			/* The protocol all the same: a manager waits for READY. */
			net_notify_reloading();
			log_notice(
			    "SIGHUP: nothing to reload (the store is read per request)");
			net_notify_ready("serving Ub and Zn");
			continue;
		}
		log_notice("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		net_notify_stopping();
		break;
	}
	bsf_http_stop(http, STOP_WAIT_MS);
	http = NULL;
cleanup:
	bsf_http_stop(http, 0);
	/* Before bsf_free(): its threads use the store connections. */
	bsf_zn_dia_stop();
	bsf_free(b);
	if (ret == KMS_EOK) {
		log_notice("bsf-stubd stopped");
	}
	return ret;
}

int main(int argc, char **argv)
{
	opts_t o;
	memset(&o, 0, sizeof(o));
	bsf_config_defaults(&o.bsf);
	bsf_http_config_defaults(&o.http);
	o.log_level = "info";

	int rc = parse(argc, argv, &o);
	if (rc >= 0) {
		return rc;
	}
	int ret;
	switch (o.mode) {
	case OPT_INIT:
		ret = bsf_admin_init(o.dir, o.demo, stdout, stderr);
		break;
	case OPT_ADD_SUB:
		ret = bsf_admin_add_subscriber(
		    o.dir, o.name, o.k, o.opc, o.amf, o.impus, o.n_impus,
		    o.group != NULL ? o.group : BSF_DEMO_GROUP, stdout, stderr);
		break;
	case OPT_ADD_NAF:
		ret = bsf_admin_add_naf(o.dir, o.name, o.group, stdout, stderr);
		break;
	default:
		log_open("bsf-stubd", LOG_TARGET_STDERR);
		log_level_set(log_level_parse(o.log_level));
		ret = serve(&o);
		log_close();
		break;
	}
	return ret == KMS_EOK ? 0 : 1;
}
