/*
 * kmsctl policy add|list|remove|test: the ticket policy rules in kms.db
 * (kms/policy_store.h, docs/policy.md).  kmsd picks changes up by itself
 * within policy.reload_interval seconds (or on SIGHUP).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "kms/config.h"
#include "kms/policy_store.h"
#include "policy/identity.h"
#include "policy/rules.h"
#include "tools/kmsctl.h"

#define RULES_SHOWN_MAX 1000000 /* policy list stops here */

static void usage_policy(FILE *f)
{
	fprintf(
	    f,
	    "usage: kmsctl [-d STATE_DIR] policy add --from PATTERN --to PATTERN\n"
	    "                 (--allow | --deny) [--priority N] [--max-validity S]\n"
	    "                 [--reuse] [--group] [--initiator-keys]\n"
	    "                 [--initiator-tickets]\n"
	    "                 [--responder-rand] [--responder-keys]\n"
	    "       kmsctl [-d STATE_DIR] policy list [--json]\n"
	    "       kmsctl [-d STATE_DIR] policy remove ID\n"
	    "       kmsctl [-d STATE_DIR] policy test --from ID --to ID [-c KMSD_CONF]\n"
	    "\n"
	    "A rule lets (or forbids) initiators matching --from ask for tickets\n"
	    "naming responders matching --to.  Patterns are KMS user identities\n"
	    "(user@domain) where '*' stands for one or more characters; one\n"
	    "written as a sip:/sips: URI is stored as its user@domain (tel: and\n"
	    "other schemes are refused).  Among the matching rules the highest\n"
	    "priority wins, deny before allow at equal priority; no match: the\n"
	    "defaults of kmsd's [policy] section.\n"
	    "\n"
	    "  -f, --from PATTERN     initiator pattern (test: identity or sip: URI)\n"
	    "  -t, --to PATTERN       responder pattern (test: identity, group or URI)\n"
	    "  -a, --allow            allow (add)\n"
	    "  -D, --deny             deny (add)\n"
	    "  -p, --priority N       -1000000..1000000, higher first (default 0)\n"
	    "  -v, --max-validity S   ticket validity cap in seconds (default 0:\n"
	    "                         kmsd's policy.max_ticket_lifetime)\n"
	    "  -r, --reuse            tickets may be reused (flag J)\n"
	    "  -g, --group            the responder may be a group identity\n"
	    "  -k, --initiator-keys   the Initiator may supply session keys (flag L)\n"
	    "  -T, --initiator-tickets  tickets the Initiator built itself (flag D = 0)\n"
	    "                         may be resolved\n"
	    "      --responder-rand   the Responder may generate RANDRr (flag G)\n"
	    "      --responder-keys   the Responder may supply session keys (flag M)\n"
	    "  -c, --config FILE      test: take the defaults from kmsd's config\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "list --json: one JSON array of {id, priority, effect, from, to,\n"
	    "max_validity (0: the default), reuse, group, initiator_keys,\n"
	    "initiator_tickets, responder_rand, responder_keys}.\n"
	    "kmsd applies changes within policy.reload_interval seconds.\n");
}

typedef struct {
	const char *from, *to, *config;
	int allow, deny, reuse, group, init_keys, init_tickets, resp_rand, resp_keys;
	int64_t priority;
	uint32_t max_validity;
} policy_args_t;

static int parse_priority(const char *s, int64_t *out)
{
	int neg = s[0] == '-';
	int64_t v = 0;
	if (kmsctl_parse_i64(s + neg, &v) != KMS_EOK || v > POLICY_STORE_PRIORITY_MAX) {
		return KMS_EINVAL;
	}
	*out = neg ? -v : v;
	return KMS_EOK;
}

/* One option; EXIT_SUCCESS or KMSCTL_EXIT_USAGE (reported). */
static int take_opt(policy_args_t *a, int c, const char *arg)
{
	switch (c) {
	case 'f':
		a->from = arg;
		return EXIT_SUCCESS;
	case 't':
		a->to = arg;
		return EXIT_SUCCESS;
	case 'a':
		a->allow = 1;
		return EXIT_SUCCESS;
	case 'D':
		a->deny = 1;
		return EXIT_SUCCESS;
	case 'p':
		if (parse_priority(arg, &a->priority) != KMS_EOK) {
			return kmsctl_usage_error("policy: --priority must be an integer "
						  "in -1000000..1000000");
		}
		return EXIT_SUCCESS;
	case 'v':
		if (kmsctl_parse_u32(arg, &a->max_validity) != KMS_EOK) {
			return kmsctl_usage_error("policy: --max-validity needs seconds "
						  "(0..4294967295)");
		}
		return EXIT_SUCCESS;
	case 'r':
		a->reuse = 1;
		return EXIT_SUCCESS;
	case 'g':
		a->group = 1;
		return EXIT_SUCCESS;
	case 'k':
		a->init_keys = 1;
		return EXIT_SUCCESS;
	case 'T':
		a->init_tickets = 1;
		return EXIT_SUCCESS;
	case 'G':
		a->resp_rand = 1;
		return EXIT_SUCCESS;
	case 'M':
		a->resp_keys = 1;
		return EXIT_SUCCESS;
	case 'c':
		a->config = arg;
		return EXIT_SUCCESS;
	default:
		usage_policy(stderr);
		return KMSCTL_EXIT_USAGE;
	}
}

/* Returns EXIT_SUCCESS, KMSCTL_EXIT_USAGE, or -1 after --help. */
static int parse_args(int argc, char **argv, policy_args_t *a)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "allow", no_argument, NULL, 'a' },
		{ "deny", no_argument, NULL, 'D' },
		{ "priority", required_argument, NULL, 'p' },
		{ "max-validity", required_argument, NULL, 'v' },
		{ "reuse", no_argument, NULL, 'r' },
		{ "group", no_argument, NULL, 'g' },
		{ "initiator-keys", no_argument, NULL, 'k' },
		{ "initiator-tickets", no_argument, NULL, 'T' },
		{ "responder-rand", no_argument, NULL, 'G' }, /* long only */
		{ "responder-keys", no_argument, NULL, 'M' }, /* long only */
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "f:t:aDp:v:rgkTc:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_policy(stdout);
			return -1;
		}
		int rc = take_opt(a, c, optarg);
		if (rc != EXIT_SUCCESS) {
			return rc;
		}
	}
	if (optind != argc) {
		return kmsctl_usage_error("policy: unexpected argument '%s'",
					  argv[optind]);
	}
	if (a->from == NULL || a->to == NULL) {
		return kmsctl_usage_error("policy: --from and --to are needed");
	}
	return EXIT_SUCCESS;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void print_validity(uint32_t v, char *buf, size_t cap)
{
	if (v == 0) {
		snprintf(buf, cap, "default");
	} else {
		snprintf(buf, cap, "%" PRIu32 "s", v);
	}
}

/* A pattern of add in its stored form (a sip: URI pattern as its NAI). */
static int add_pattern(const char *opt, const char *arg, char *out, size_t cap)
{
	const char *why = NULL;
	if (identity_pattern_canon(arg, out, cap, &why) != KMS_EOK) {
		return kmsctl_usage_error(
		    "policy add: %s '%s': %s (patterns are user@domain "
		    "or sip:/sips: URIs, 3 to %d bytes, '*' allowed)",
		    opt, arg, why != NULL ? why : "invalid", IDENTITY_MAX);
	}
	return EXIT_SUCCESS;
}

static int policy_add(const kmsctl_paths_t *p, int argc, char **argv)
{
	policy_args_t a = { 0 };
	int rc = parse_args(argc, argv, &a);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc;
	}
	if (a.allow + a.deny != 1) {
		return kmsctl_usage_error(
		    "policy add: give exactly one of --allow, --deny");
	}
	if (a.config != NULL) {
		return kmsctl_usage_error("policy add: --config goes with test");
	}
	policy_rule_t r;
	memset(&r, 0, sizeof(r));
	rc = add_pattern("--from", a.from, r.initiator, sizeof(r.initiator));
	if (rc == EXIT_SUCCESS) {
		rc = add_pattern("--to", a.to, r.responder, sizeof(r.responder));
	}
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	r.priority = (int)a.priority;
	r.effect = a.deny ? POLICY_DENY : POLICY_ALLOW;
	r.max_validity = a.max_validity;
	r.reuse = a.reuse;
	r.group_ok = a.group;
	r.init_keys = a.init_keys;
	r.initiator_tickets = a.init_tickets;
	r.responder_rand = a.resp_rand;
	r.responder_keys = a.resp_keys;
	int64_t id = 0;
	int ret = policy_store_add(p->db, &r, &id);
	if (ret == KMS_ENOENT) {
		return kmsctl_fail(ret, "no store %s (run kmsctl init first)",
				   p->db_label);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot add the rule to %s", p->db_label);
	}
	printf("added policy rule %" PRId64 "\n", id);
	return EXIT_SUCCESS;
}

typedef struct {
	size_t n;
	json_t *json; /* policy list --json: the array the rules go to */
} list_ctx_t;

static json_t *rule_json(const policy_rule_t *r)
{
	return json_pack(
	    "{s:I, s:i, s:s, s:s, s:s, s:I, s:b, s:b, s:b, s:b, s:b, s:b}", "id",
	    (json_int_t)r->id, "priority", r->priority, "effect",
	    r->effect == POLICY_DENY ? "deny" : "allow", "from", r->initiator, "to",
	    r->responder, "max_validity", (json_int_t)r->max_validity, "reuse",
	    (int)r->reuse, "group", (int)r->group_ok, "initiator_keys", (int)r->init_keys,
	    "initiator_tickets", (int)r->initiator_tickets, "responder_rand",
	    (int)r->responder_rand, "responder_keys", (int)r->responder_keys);
}

static int print_rule(void *ctx, const policy_rule_t *r)
{
	list_ctx_t *lc = ctx;
	char v[24];
	if (lc->n++ >= RULES_SHOWN_MAX) {
		return KMS_ELIMIT;
	}
	if (lc->json != NULL) {
		return json_array_append_new(lc->json, rule_json(r)) == 0 ? KMS_EOK
									  : KMS_ENOMEM;
	}
	print_validity(r->max_validity, v, sizeof(v));
	printf("%-6" PRId64 " %8d %-5s %-30s %-30s %-8s %-5s %-5s %-9s %-12s %-9s %s\n",
	       r->id, r->priority, r->effect == POLICY_DENY ? "deny" : "allow",
	       r->initiator, r->responder, v, yes_no(r->reuse), yes_no(r->group_ok),
	       yes_no(r->init_keys), yes_no(r->initiator_tickets),
	       yes_no(r->responder_rand), yes_no(r->responder_keys));
	return KMS_EOK;
}

static int policy_list(const kmsctl_paths_t *p, bool json)
{
	list_ctx_t lc = { 0 };
	if (json) {
		lc.json = json_array();
		int ret = lc.json != NULL ? policy_store_list(p->db, print_rule, &lc)
					  : KMS_ENOMEM;
		if (ret != KMS_EOK) {
			json_decref(lc.json);
			return kmsctl_list_result(ret, p, "rules");
		}
		return kmsctl_json_print(lc.json);
	}
	printf("%-6s %8s %-5s %-30s %-30s %-8s %-5s %-5s %-9s %-12s %-9s %s\n", "ID",
	       "PRIORITY", "EFFECT", "FROM", "TO", "VALIDITY", "REUSE", "GROUP",
	       "INIT-KEYS", "INIT-TICKETS", "RESP-RAND", "RESP-KEYS");
	return kmsctl_list_result(policy_store_list(p->db, print_rule, &lc), p, "rules");
}

static int policy_remove(const kmsctl_paths_t *p, const char *arg)
{
	int64_t id = 0;
	if (kmsctl_parse_i64(arg, &id) != KMS_EOK) {
		return kmsctl_usage_error("policy remove: ID must be a rule number");
	}
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, id);
	return kmsctl_remove_result(policy_store_remove(p->db, id), p, "policy rule",
				    num);
}

/*
 * An identity argument of test, read as a UE's ID Data would be: a user
 * identity or sip:/sips: URI; with group_ok a group pattern too.
 */
static int test_identity(const char *arg, bool group_ok, char *out, size_t cap)
{
	size_t n = strlen(arg);
	const char *why = NULL;
	int ret = group_ok
		      ? identity_pattern_normalise(IDENTITY_ID_URI, (const uint8_t *)arg,
						   n, out, cap, NULL, &why)
		      : identity_normalise(IDENTITY_ID_URI, (const uint8_t *)arg, n, out,
					   cap, NULL, &why);
	if (ret != KMS_EOK) {
		return kmsctl_usage_error("policy test: '%s': %s", arg,
					  why != NULL ? why : "invalid");
	}
	return EXIT_SUCCESS;
}

/* Decide from -> to with set, print the rule, decision and terms. */
static bool print_decision(const policy_set_t *set, const char *default_effect,
			   const char *from, const char *to)
{
	policy_decision_t d;
	policy_decide(set, from, strlen(from), to, strlen(to), &d);
	bool allowed = policy_allows(&d, to, strlen(to));
	if (d.matched) {
		const policy_rule_t *r = NULL;
		for (size_t i = 0; i < policy_set_count(set); i++) {
			if (policy_set_rule(set, i)->id == d.rule_id) {
				r = policy_set_rule(set, i);
			}
		}
		printf("rule %" PRId64 " (priority %d): %s %s -> %s\n", d.rule_id,
		       r != NULL ? r->priority : 0,
		       d.effect == POLICY_DENY ? "deny" : "allow",
		       r != NULL ? r->initiator : "?", r != NULL ? r->responder : "?");
	} else {
		printf("no rule matches (%zu rules): the defaults (policy.default_effect "
		       "= %s)\n",
		       policy_set_count(set), default_effect);
	}
	char v[24];
	print_validity(d.max_validity, v, sizeof(v));
	printf("decision: %s %s -> %s", allowed ? "allow" : "deny", from, to);
	if (d.effect == POLICY_ALLOW && !allowed) {
		printf(" (group responders not allowed)");
	}
	printf("\n");
	if (allowed) {
		printf("terms: max validity %s, reuse %s, initiator keys %s, "
		       "initiator tickets %s, responder rand %s, responder keys %s\n",
		       v, yes_no(d.reuse), yes_no(d.init_keys),
		       yes_no(d.initiator_tickets), yes_no(d.responder_rand),
		       yes_no(d.responder_keys));
	}
	return allowed;
}

static int policy_test(const kmsctl_paths_t *p, int argc, char **argv)
{
	policy_args_t a = { 0 };
	int rc = parse_args(argc, argv, &a);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc;
	}
	if (a.allow || a.deny || a.reuse || a.group || a.init_keys || a.init_tickets ||
	    a.resp_rand || a.resp_keys || a.priority != 0 || a.max_validity != 0) {
		return kmsctl_usage_error(
		    "policy test: only --from, --to and --config apply");
	}
	char from[IDENTITY_MAX + 1], to[IDENTITY_MAX + 1];
	rc = test_identity(a.from, false, from, sizeof(from));
	if (rc == EXIT_SUCCESS) {
		rc = test_identity(a.to, true, to, sizeof(to));
	}
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	kms_config_t cfg;
	char err[512];
	if (a.config == NULL) {
		kms_config_defaults(&cfg);
	} else if (kms_config_load(a.config, &cfg, err, sizeof(err)) != KMS_EOK) {
		return kmsctl_fail(KMS_ECONFIG, "%s", err);
	}
	policy_defaults_t def = {
		.effect =
		    strcmp(cfg.default_effect, "deny") == 0 ? POLICY_DENY : POLICY_ALLOW,
		.reuse = cfg.allow_reuse,
		.group_ok = cfg.default_group_tickets,
		.init_keys = cfg.default_initiator_keys,
		.initiator_tickets = cfg.default_initiator_tickets,
	};
	policy_set_t *set = NULL;
	int ret = policy_store_load(p->db, &def, &set);
	if (ret == KMS_ENOENT) {
		return kmsctl_fail(ret, "no store %s (run kmsctl init first)",
				   p->db_label);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot load the rules of %s", p->db_label);
	}
	bool allowed = print_decision(set, cfg.default_effect, from, to);
	policy_set_free(set);
	return allowed ? EXIT_SUCCESS : KMSCTL_EXIT_FAIL;
}

int kmsctl_policy_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	if (argc < 2) {
		usage_policy(stderr);
		return KMSCTL_EXIT_USAGE;
	}
	const char *sub = argv[1];
	/* policy list --help and policy remove --help too (add and test
	 * take it as an option). */
	if (kmsctl_is_help(sub) || (argc == 3 && kmsctl_is_help(argv[2]))) {
		usage_policy(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(sub, "add") == 0) {
		return policy_add(p, argc - 1, argv + 1);
	}
	if (strcmp(sub, "test") == 0) {
		return policy_test(p, argc - 1, argv + 1);
	}
	if (strcmp(sub, "list") == 0) {
		bool json = false;
		int rc = kmsctl_list_args(argc - 1, argv + 1, "policy list", &json);
		return rc != EXIT_SUCCESS ? rc : policy_list(p, json);
	}
	if (strcmp(sub, "remove") == 0 && argc == 3) {
		return policy_remove(p, argv[2]);
	}
	return kmsctl_usage_error(
	    "policy: expected 'add ...', 'list', 'remove ID' or 'test ...'");
}
