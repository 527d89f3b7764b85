/*
 * kms-ue call (see ue_call.h): options, the call's private directory and
 * sockets, and the JSON summary.  The summary names keys only by their
 * ids (TGK SPI, ticket key id), never by their bytes.
 */
#include "tools/ue_call.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "tools/ue_common.h"

#define PACKETS_DEFAULT 50

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kms-ue call --url URL --id ID --psk HEX --member ID:PSKHEX\n"
	    "                   [--member ID:PSKHEX ...] [--to ID] [--cacert FILE]\n"
	    "                   [--kms-id ID] [--suite 128|256] [--reuse]\n"
	    "                   [--packets N] [--seq N] [--pcap FILE]\n"
	    "                   [--save-ticket FILE] [--ticket FILE]\n"
	    "                   [--tamper [--expect-auth-fail 1]]\n"
	    "                   [--intruder ID --intruder-psk HEX]\n"
	    "\n"
	    "Run a whole call in one process against the KMS at --url: the caller\n"
	    "--id asks for a ticket (ticketrequest), sends the TRANSFER_INIT in a\n"
	    "SIP INVITE's SDP (a=key-mgmt:mikey) over UDP on 127.0.0.1; each\n"
	    "--member resolves it (ticketresolve) and answers 200 OK with the\n"
	    "TRANSFER_RESP; the caller checks it and sends an ACK.  Then SRTP and\n"
	    "SRTCP (libsrtp2) run both ways with every member, and a JSON summary\n"
	    "goes to stdout (no key bytes).\n"
	    "\n"
	    "  --url URL            the KMS's Ua URL (http or https)\n"
	    "  --cacert FILE        CA certificates to verify an https KMS with\n"
	    "  --id ID              the caller's identity\n"
	    "  --psk HEX            the caller's PSK with the KMS (never printed)\n"
	    "  --member ID:PSKHEX   a phone that answers, with its PSK; up to %d\n"
	    "  --to ID              who the ticket is for (IDRr): a user or a group\n"
	    "                       identity such as *.team@example.org; default:\n"
	    "                       the only --member\n"
	    "  --kms-id ID          the KMS identity (IDRkms), default %s\n"
	    "  --suite 128|256      128: MIKEY-1 and AES_CM_128_HMAC_SHA1_80\n"
	    "                       (default); 256: PRF-HMAC-SHA-256 and\n"
	    "                       AES_256_CM_HMAC_SHA1_80 (RFC 6188), named in the\n"
	    "                       TRANSFER_INIT's SP payload\n"
	    "  --reuse              ask for a reusable ticket (flag J)\n"
	    "  --packets N          RTP packets each way with each member (default\n"
	    "                       %d), with %s\n"
	    "  --seq N              first RTP sequence number (default random)\n"
	    "  --pcap FILE          write the call (HTTP with the KMS, SIP, SRTP and\n"
	    "                       SRTCP) as a pcap file (LINKTYPE_RAW)\n"
	    "  --save-ticket FILE   keep the caller's ticket state (mode 0600)\n"
	    "  --ticket FILE        reuse that saved ticket: no ticketrequest, a new\n"
	    "                       CSB ID and RANDs; a ticket with J = 0 is refused\n"
	    "                       before anything is sent\n"
	    "  --timeout SECONDS    for each HTTP exchange, default 10\n"
	    "  -h, --help           this text\n"
	    "\n"
	    "Test hooks (testing only):\n"
	    "  --tamper             flip one byte of one SRTP packet in flight (to\n"
	    "                       the first member); its receiver must count one\n"
	    "                       authentication failure\n"
	    "  --expect-auth-fail N with --tamper: 1 makes that failure expected\n"
	    "  --intruder ID        a phone the ticket does not name tries to resolve\n"
	    "  --intruder-psk HEX   its PSK; it must get a MIKEY Error and no keys\n"
	    "\n"
	    "Exit: 0 every packet arrived and authenticated (and every check held),\n"
	    "1 a step, a packet or a check failed, 2 usage or file error.\n",
	    UE_CALL_MEMBERS_MAX, UE_KMS_ID_DEFAULT, PACKETS_DEFAULT,
	    "4 RTCP sender reports");
}

static const char *const suite_words[] = { "128", "256", NULL };
static const int suite_values[] = { 128, 256 };

static int check_hex(const char *what, const char *hex)
{
	uint8_t k[UE_PSK_MAX];
	size_t n = 0;
	int rc = hex_decode(hex, strlen(hex), k, sizeof(k), &n);
	secmem_wipe(k, sizeof(k));
	if (rc != KMS_EOK || n == 0) {
		fprintf(stderr, "%s: %s: a PSK in hex (1 to %d bytes)\n", ue_prog, what,
			UE_PSK_MAX);
		return -1;
	}
	return 0;
}

/* --member ID:PSKHEX, split at the last ':' (a SIP URI has one too). */
static int split_members(ue_call_t *c)
{
	for (size_t k = 0; k < c->nmembers_arg; k++) {
		ue_call_member_t *m = &c->m[k];
		size_t n = strlen(c->members_arg[k]);
		if (n >= sizeof(m->arg)) {
			fprintf(stderr, "%s: --member: too long\n", ue_prog);
			return -1;
		}
		memcpy(m->arg, c->members_arg[k], n + 1);
		char *colon = strrchr(m->arg, ':');
		if (colon == NULL || colon == m->arg) {
			fprintf(stderr, "%s: --member: ID:PSKHEX\n", ue_prog);
			return -1;
		}
		*colon = '\0';
		m->id = m->arg;
		m->psk_hex = colon + 1;
		if (ue_check_id("--member", m->id) != 0 ||
		    check_hex("--member", m->psk_hex) != 0) {
			return -1;
		}
	}
	c->nm = c->nmembers_arg;
	return 0;
}

static int parse_args(int argc, char **argv, ue_call_t *c)
{
	const ue_opt_t opts[] = {
		{ UE_STRING("url", 0, &c->url), .required = true },
		{ UE_STRING("cacert", 0, &c->cacert) },
		{ UE_STRING("id", 0, &c->id), .required = true, .check = ue_check_id },
		{ UE_STRING("psk", 0, &c->psk_hex), .required = true,
		  .check = check_hex },
		{ UE_STRING("to", 0, &c->to), .check = ue_check_id },
		{ UE_LIST("member", 0, c->members_arg, &c->nmembers_arg,
			  UE_CALL_MEMBERS_MAX),
		  .required = true },
		{ UE_STRING("kms-id", 0, &c->kms_id), .check = ue_check_id },
		{ UE_CHOICE("suite", 0, &c->suite_bits, suite_words, suite_values,
			    "128 or 256") },
		{ UE_FLAG("reuse", 0, &c->reuse) },
		{ UE_U32("packets", 0, &c->packets, 1, UE_CALL_PACKETS_MAX, "packets") },
		{ UE_U32("seq", 0, &c->seq, 0, 65535, NULL) },
		{ UE_STRING("pcap", 0, &c->pcap_path) },
		{ UE_STRING("save-ticket", 0, &c->save_ticket) },
		{ UE_STRING("ticket", 0, &c->ticket) },
		{ UE_U32("timeout", 0, &c->timeout, 1, 600, "seconds") },
		{ UE_FLAG("tamper", 0, &c->tamper) },
		{ UE_U32("expect-auth-fail", 0, &c->expect_auth_fail, 0, 1, NULL) },
		{ UE_STRING("intruder", 0, &c->intruder), .check = ue_check_id },
		{ UE_STRING("intruder-psk", 0, &c->intruder_psk), .check = check_hex },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	c->packets = PACKETS_DEFAULT;
	c->seq = UINT32_MAX;
	c->suite_bits = 128;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc;
	}
	if (split_members(c) != 0) {
		return -1;
	}
	if (c->to == NULL && c->nm > 1) {
		fprintf(stderr, "%s: --to: needed with several --member\n", ue_prog);
		return -1;
	}
	if ((c->intruder == NULL) != (c->intruder_psk == NULL)) {
		fprintf(stderr, "%s: --intruder and --intruder-psk go together\n",
			ue_prog);
		return -1;
	}
	if (c->to == NULL) {
		c->to = c->m[0].id;
	}
	if (c->seq == UINT32_MAX) {
		uint8_t r[2] = { 0, 0 };
		(void)crypto_random(r, sizeof(r));
		c->seq = (uint32_t)(r[0] << 8 | r[1]);
	}
	return 0;
}

/* The private directory of the call's files (mode 0700). */
static int make_dir(ue_call_t *c)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(c->dir, sizeof(c->dir), "%s/kms-ue-call.XXXXXX",
		 tmp != NULL && tmp[0] == '/' && strlen(tmp) < 128 ? tmp : "/tmp");
	if (mkdtemp(c->dir) == NULL) {
		perror("kms-ue call: mkdtemp");
		c->dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* Remove the call's files (only ours are in it) and the directory. */
static void remove_dir(const ue_call_t *c)
{
	char p[UE_CALL_PATH_MAX];
	if (c->dir[0] == '\0') {
		return;
	}
	DIR *d = opendir(c->dir);
	for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL;
	     e = readdir(d)) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			ue_call_path(c, e->d_name, p);
			unlink(p);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	rmdir(c->dir);
}

static int open_phone(ue_call_phone_t *ph)
{
	ph->sip_fd = ue_call_socket(&ph->sip);
	ph->rtp_fd = ph->sip_fd >= 0 ? ue_call_socket(&ph->rtp) : -1;
	return ph->rtp_fd >= 0 ? 0 : -1;
}

static void close_phone(ue_call_phone_t *ph)
{
	if (ph->sip_fd >= 0) {
		close(ph->sip_fd);
	}
	if (ph->rtp_fd >= 0) {
		close(ph->rtp_fd);
	}
}

static json_t *dir_json(const char *from, const char *to, const ue_call_dir_t *d)
{
	return json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "from", from,
	    "to", to, "ssrc", (json_int_t)d->ssrc, "sent", (json_int_t)d->sent,
	    "received", (json_int_t)d->received, "auth_failed",
	    (json_int_t)d->auth_failed, "other_failed", (json_int_t)d->other_failed,
	    "rtcp_sent", (json_int_t)d->rtcp_sent, "rtcp_received",
	    (json_int_t)d->rtcp_received, "rtcp_failed", (json_int_t)d->rtcp_failed,
	    "roc_sender", (json_int_t)d->roc_tx, "roc_receiver", (json_int_t)d->roc_rx);
}

/* Did member k's media all arrive and authenticate (as expected)? */
static bool member_ok(const ue_call_t *c, size_t k)
{
	const ue_call_member_t *m = &c->m[k];
	uint32_t fail = k == 0 ? c->expect_auth_fail : 0;
	const ue_call_dir_t *d[2] = { &m->down, &m->up };
	for (int i = 0; i < 2; i++) {
		uint32_t want = i == 0 ? fail : 0;
		if (d[i]->sent != c->packets || d[i]->auth_failed != want ||
		    d[i]->received + want != c->packets || d[i]->other_failed != 0 ||
		    d[i]->rtcp_received != d[i]->rtcp_sent || d[i]->rtcp_failed != 0) {
			return false;
		}
	}
	/* Group: another fork's keys fail on every packet. */
	return c->nm < 2 ||
	       (m->cross_tried == c->packets && m->cross_failed == c->packets);
}

static json_t *members_json(const ue_call_t *c)
{
	json_t *a = json_array();
	for (size_t k = 0; a != NULL && k < c->nm; k++) {
		const ue_call_member_t *m = &c->m[k];
		json_t *o = json_pack(
		    "{s:s, s:b, s:b, s:[o, o]}", "id", m->id, "answered", m->answered,
		    "ok", m->answered && member_ok(c, k), "media",
		    dir_json(c->id, m->id, &m->down), dir_json(m->id, c->id, &m->up));
		if (o != NULL && c->nm > 1) {
			json_object_set_new(o, "cross_fork",
					    json_pack("{s:s, s:I, s:I}", "keys_of",
						      c->m[(k + 1) % c->nm].id, "tried",
						      (json_int_t)m->cross_tried,
						      "auth_failed",
						      (json_int_t)m->cross_failed));
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *intruder_json(const ue_call_t *c)
{
	if (!c->intruder_tried) {
		return json_null();
	}
	json_t *errs = json_array();
	for (size_t i = 0; errs != NULL && i < c->intruder_nerrs; i++) {
		json_array_append_new(errs, json_integer(c->intruder_errs[i]));
	}
	return json_pack("{s:s, s:b, s:o, s:b}", "id", c->intruder, "refused",
			 c->intruder_refused, "mikey_errors", errs, "keys",
			 c->intruder_keys);
}

/* The summary on stdout; returns whether the whole call succeeded. */
static bool summary(const ue_call_t *c, int rc)
{
	bool ok = rc == UE_EXIT_OK;
	for (size_t k = 0; k < c->nm; k++) {
		ok = ok && c->m[k].answered && member_ok(c, k);
	}
	if (c->intruder_tried) {
		ok = ok && c->intruder_refused && !c->intruder_keys;
	}
	json_t *j = json_pack(
	    "{s:b, s:s, s:i, s:b, s:s, s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:b, s:o, s:o}",
	    "ok", ok, "suite", ue_srtp_suite_name(c->suite), "mikey_suite",
	    c->suite == UE_SRTP_AES256_SHA1_80 ? 256 : 128, "ticketrequest",
	    c->ticketrequest, "to", c->to, "csb_id", (json_int_t)c->csb_id, "tgk_spi",
	    c->tgk_spi, "ticket_flags", c->ticket_flags, "ticket_sha256_prefix",
	    c->ticket_hash, "ticket_key_id",
	    c->ticket_key_id >= 0 ? json_integer(c->ticket_key_id) : json_null(),
	    "packets", (json_int_t)c->packets, "first_seq", (json_int_t)c->seq, "tamper",
	    c->tamper, "members", members_json(c), "intruder", intruder_json(c));
	if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0 || printf("\n") < 0 ||
	    fflush(stdout) != 0) {
		ok = false;
	}
	json_decref(j);
	return ok;
}

/* The phones' sockets, the capture, the signalling, the media. */
static int run(ue_call_t *c)
{
	int rc = UE_EXIT_USAGE;
	if (make_dir(c) != 0 || open_phone(&c->caller) != 0) {
		return rc;
	}
	for (size_t k = 0; k < c->nm; k++) {
		if (open_phone(&c->m[k].ph) != 0) {
			return rc;
		}
	}
	if (c->pcap_path != NULL) {
		int prc = ue_pcap_open(c->pcap_path, NULL, &c->pcap);
		if (prc != KMS_EOK) {
			ue_fail(c->pcap_path, prc);
			return rc;
		}
	}
	rc = ue_call_signal(c);
	if (rc == UE_EXIT_OK) {
		rc = ue_call_media(c);
	}
	if (c->save_ticket != NULL && c->csb_id != 0) {
		char st[UE_CALL_PATH_MAX];
		ue_call_path(c, "caller.state", st);
		int src = ue_call_copy_state(st, c->save_ticket);
		rc = rc != UE_EXIT_OK ? rc : src;
	}
	if (ue_pcap_close(c->pcap) != KMS_EOK) {
		fprintf(stderr, "%s: --pcap: write error\n", ue_prog);
		rc = rc != UE_EXIT_OK ? rc : UE_EXIT_USAGE;
	}
	c->pcap = NULL;
	return rc;
}

int ue_call_cmd(int argc, char **argv)
{
	ue_call_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	c->caller.sip_fd = c->caller.rtp_fd = -1;
	for (size_t k = 0; k < UE_CALL_MEMBERS_MAX; k++) {
		c->m[k].ph.sip_fd = c->m[k].ph.rtp_fd = -1;
	}
	int ret = parse_args(argc, argv, c);
	if (ret != 0) {
		ret = ret > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
		goto cleanup;
	}
	ret = run(c);
	/* A usage or file error before the call began has no summary. */
	if (c->csb_id != 0 || ret == UE_EXIT_INVALID) {
		bool ok = summary(c, ret);
		ret = ret != UE_EXIT_OK ? ret : ok ? UE_EXIT_OK : UE_EXIT_INVALID;
	}
cleanup:
	ue_pcap_close(c->pcap);
	close_phone(&c->caller);
	for (size_t k = 0; k < UE_CALL_MEMBERS_MAX; k++) {
		close_phone(&c->m[k].ph);
	}
	remove_dir(c);
	secmem_wipe(c, sizeof(*c));
	free(c);
	return ret;
}
