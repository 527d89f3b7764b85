/*
 * kms-ue: a MIKEY-TICKET user equipment on the command line.  This file
 * only dispatches; each command lives in its own tools/ue_*.c.
 *
 * Exit status of every command: 0 success, 1 invalid input (malformed,
 * unverifiable, refused, or a MIKEY Error answer), 2 usage error or a file
 * that cannot be read or written, 3 (resolve) keys already cached.
 */
#include <stdio.h>
#include <string.h>

#include "tools/ue_bootstrap.h"
#include "tools/ue_call.h"
#include "tools/ue_common.h"
#include "tools/ue_create.h"
#include "tools/ue_gba_calc.h"
#include "tools/ue_inspect.h"
#include "tools/ue_keys.h"
#include "tools/ue_post.h"
#include "tools/ue_request.h"
#include "tools/ue_resolve.h"
#include "tools/ue_sdp.h"
#include "tools/ue_transfer.h"
#include "tools/ue_transfer_resp.h"

struct command {
	const char *name;
	const char *prog; /* prefix of its diagnostics */
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "bootstrap", "kms-ue bootstrap", ue_bootstrap_cmd,
	  "GBA: bootstrap over Ub with a simulated USIM, derive Ks_NAF" },
	{ "request", "kms-ue request", ue_request_cmd,
	  "Initiator: build a REQUEST_INIT_PSK for the KMS" },
	{ "create-ticket", "kms-ue create-ticket", ue_create_ticket_cmd,
	  "Initiator: build a ticket yourself (D = 0) under a kmsctl tpk key" },
	{ "transfer-init", "kms-ue transfer-init", ue_transfer_init_cmd,
	  "Initiator: check the REQUEST_RESP, build the TRANSFER_INIT" },
	{ "resolve", "kms-ue resolve", ue_resolve_cmd,
	  "Responder: build a RESOLVE_INIT_PSK for a TRANSFER_INIT" },
	{ "transfer-resp", "kms-ue transfer-resp", ue_transfer_resp_cmd,
	  "Responder: check the RESOLVE_RESP, build the TRANSFER_RESP" },
	{ "post", "kms-ue post", ue_post_cmd,
	  "send a REQUEST_INIT or RESOLVE_INIT to a KMS (HTTP or HTTPS)" },
	{ "call", "kms-ue call", ue_call_cmd,
	  "a whole call: tickets, SIP/SDP, SRTP both ways (loopback)" },
	{ "sdp", "kms-ue sdp", ue_sdp_cmd,
	  "MIKEY out of an SDP, or an a=key-mgmt:mikey line for one" },
	{ "keys", "kms-ue keys", ue_keys_cmd,
	  "both: print the SRTP master key and salt (testing only)" },
	{ "decode", "kms-ue decode", ue_decode_cmd,
	  "print a MIKEY message (binary, base64 or SDP) as JSON" },
	{ "prf", "kms-ue prf", ue_prf_cmd,
	  "compute the MIKEY PRF (RFC 3830 / RFC 6043)" },
	{ "verify", "kms-ue verify", ue_verify_cmd,
	  "check the V MAC of a REQUEST_INIT_PSK or RESOLVE_INIT_PSK" },
	{ "milenage", "kms-ue milenage", ue_milenage_cmd,
	  "GBA test tool: MILENAGE f1..f5* and AUTN (prints keys)" },
	{ "ks-naf", "kms-ue ks-naf", ue_ks_naf_cmd,
	  "GBA test tool: Ks_NAF, NAF_Id and B-TID (prints the key)" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage_main(FILE *f)
{
	fprintf(f, "usage: kms-ue COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
	}
	fprintf(f, "\nkms-ue COMMAND --help shows the options of a command;\n"
		   "kms-ue --version the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage_main(stderr);
		return UE_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage_main(stdout);
		return UE_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("kms-ue (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return UE_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			ue_prog = commands[i].prog;
			/* Sub-command options start at argv[1]; getopt skips argv[0]. */
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "kms-ue: unknown command '%s'\n", cmd);
	usage_main(stderr);
	return UE_EXIT_USAGE;
}
