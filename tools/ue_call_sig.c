/*
 * kms-ue call, the signalling (see ue_call.h): the caller's ticket, the
 * INVITE with the TRANSFER_INIT, each member's resolve and 200 OK with the
 * TRANSFER_RESP, the caller's check of it, the ACK; and the intruder.
 * Each MIKEY step is its kms-ue command run in-process on files in c->dir.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "mikey/msg.h"
#include "mikey/tp.h"
#include "tools/ue_call.h"
#include "tools/ue_common.h"
#include "tools/ue_input.h"
#include "tools/ue_post.h"
#include "tools/ue_request.h"
#include "tools/ue_resolve.h"
#include "tools/ue_sdp.h"
#include "tools/ue_sip.h"
#include "tools/ue_transfer.h"
#include "tools/ue_transfer_resp.h"

#define ARGV_MAX 24
#define WAIT_MS 5000 /* for a datagram on loopback */
#define RECV_DROPS_MAX 64

static char sipbuf[UE_SIP_MAX + 1];
static char sdpbuf[UE_SDP_MAX + 1];
static uint8_t msgbuf[MIKEY_MSG_MAX];
static mikey_msg_t msg;

void ue_call_path(const ue_call_t *c, const char *name, char out[UE_CALL_PATH_MAX])
{
	size_t dl = strlen(c->dir), nl = strlen(name);
	/* The directory name is bounded by make_dir, names are ours. */
	if (dl + 1 + nl >= UE_CALL_PATH_MAX) {
		out[0] = '\0';
		return;
	}
	memcpy(out, c->dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
}

int ue_call_socket(ue_pcap_addr_t *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		fprintf(stderr, "%s: UDP socket: %s\n", ue_prog, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	addr->ip = ntohl(sa.sin_addr.s_addr);
	addr->port = ntohs(sa.sin_port);
	return fd;
}

int ue_call_send(ue_call_t *c, int fd, ue_pcap_addr_t from, ue_pcap_addr_t to,
		 const uint8_t *data, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(to.ip);
	sa.sin_port = htons(to.port);
	if (sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof(sa)) !=
	    (ssize_t)len) {
		fprintf(stderr, "%s: sendto: %s\n", ue_prog, strerror(errno));
		return KMS_EIO;
	}
	return ue_pcap_udp(c->pcap, from, to, data, len);
}

size_t ue_call_recv(int fd, ue_pcap_addr_t from, uint8_t *buf, size_t cap, int ms)
{
	/* Datagrams from anyone but the peer are dropped, a bounded number. */
	for (int tries = 0; tries < RECV_DROPS_MAX; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		if (poll(&p, 1, ms) != 1) {
			return 0;
		}
		ssize_t n =
		    recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&sa, &sl);
		if (sl == sizeof(sa) && sa.sin_family == AF_INET &&
		    ntohl(sa.sin_addr.s_addr) == from.ip &&
		    ntohs(sa.sin_port) == from.port) {
			return n > 0 && (size_t)n <= cap ? (size_t)n : 0;
		}
	}
	return 0;
}

/* Run a kms-ue step command in-process. */
static int step(int (*fn)(int, char **), char **v)
{
	int n = 0;
	while (v[n] != NULL) {
		n++;
	}
	int rc = fn(n, v);
	if (rc != UE_EXIT_OK) {
		fprintf(stderr, "%s: step %s failed (exit %d)\n", ue_prog, v[0], rc);
	}
	return rc;
}

static uint32_t ip_of(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1 ? ntohl(a.s_addr) : 0x7f000001;
}

/* POST the file in to the KMS, the answer into out; the exchange into
 * the capture.  UE_EXIT_OK when an answer came (judged by the next step). */
static int post(ue_call_t *c, const char *type, const char *in, const char *out)
{
	static ue_post_trace_t tr;
	static uint8_t ans[MIKEY_MSG_MAX];
	size_t len = 0, alen = 0;
	long status = 0;
	if (ue_read_all(in, msgbuf, sizeof(msgbuf), &len) != KMS_EOK) {
		fprintf(stderr, "%s: cannot read %s\n", ue_prog, in);
		return UE_EXIT_USAGE;
	}
	ue_post_req_t q = { c->url, type, c->cacert, c->timeout, msgbuf, len };
	if (ue_post_send(&q, ans, sizeof(ans), &alen, &status, &tr) != KMS_EOK ||
	    alen == 0) {
		return UE_EXIT_INVALID;
	}
	if (c->pcap != NULL) {
		ue_pcap_addr_t cl = { ip_of(tr.local_ip), tr.local_port };
		ue_pcap_addr_t sv = { ip_of(tr.remote_ip), tr.remote_port };
		if (ue_pcap_tcp_exchange(c->pcap, cl, sv, tr.req, tr.req_len, tr.resp,
					 tr.resp_len) != KMS_EOK) {
			fprintf(stderr, "%s: --pcap: write error\n", ue_prog);
			return UE_EXIT_USAGE;
		}
	}
	return ue_write_file(out, ans, alen) == KMS_EOK ? UE_EXIT_OK : UE_EXIT_USAGE;
}

int ue_call_copy_state(const char *from, const char *to)
{
	ue_state_t *st = NULL;
	size_t line = 0;
	int rc = ue_state_load(from, &st, &line);
	if (rc == KMS_EOK) {
		rc = ue_state_save(st, to);
	}
	ue_state_free(st);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: %s: %s\n", ue_prog, from, kms_strerror(rc));
		return UE_EXIT_USAGE;
	}
	return UE_EXIT_OK;
}

/* The SRTP suite goes into the state: transfer-init puts it in an SP. */
static int keep_suite(ue_call_t *c, const char *path)
{
	ue_state_t *st = NULL;
	ue_suite_t su;
	size_t line = 0;
	int rc = ue_state_load(path, &st, &line);
	const mikey_bytes_t *prf = rc == KMS_EOK ? ue_state_get(st, "prf") : NULL;
	if (prf == NULL || prf->len != 1 || ue_suite_of_prf(prf->data[0], &su) != 0) {
		fprintf(stderr, "%s: %s: no usable ticket state\n", ue_prog, path);
		ue_state_free(st);
		return UE_EXIT_USAGE;
	}
	c->suite = su.key_len == 32 ? UE_SRTP_AES256_SHA1_80 : UE_SRTP_AES128_SHA1_80;
	uint8_t b = (uint8_t)c->suite;
	rc = ue_state_set(st, "srtp_suite", &b, 1);
	if (rc == KMS_EOK) {
		rc = ue_state_save(st, path);
	}
	ue_state_free(st);
	return rc == KMS_EOK ? UE_EXIT_OK : UE_EXIT_USAGE;
}

/* The caller's ticket: a ticketrequest, or the saved one (--ticket). */
static int caller_ticket(ue_call_t *c, const char *st)
{
	char ri[UE_CALL_PATH_MAX], rr[UE_CALL_PATH_MAX];
	ue_call_path(c, "request_init", ri);
	ue_call_path(c, "request_resp", rr);
	if (c->ticket != NULL) {
		c->ticketrequest = false;
		return ue_call_copy_state(c->ticket, st);
	}
	c->ticketrequest = true;
	char *v[ARGV_MAX] = { "request",
			      "--psk",
			      (char *)c->psk_hex,
			      "--id",
			      (char *)c->id,
			      "--to",
			      (char *)c->to,
			      "--out",
			      ri,
			      "--state",
			      (char *)st,
			      "--suite",
			      c->suite_bits == 256 ? "256" : "128" };
	int n = 13;
	if (c->kms_id != NULL) {
		v[n++] = "--kms-id";
		v[n++] = (char *)c->kms_id;
	}
	if (c->reuse) {
		v[n++] = "--reuse";
	}
	int rc = step(ue_request_cmd, v);
	if (rc == UE_EXIT_OK) {
		rc = post(c, "ticketrequest", ri, rr);
	}
	return rc;
}

/* What the summary says about the TRANSFER_INIT and its ticket. */
static void note_ticket(ue_call_t *c, const mikey_msg_t *ti)
{
	uint8_t h[32];
	const mikey_bytes_t *sd = &ti->hdr.map.generic[0].session_data;
	c->csb_id = ti->hdr.csb_id;
	c->caller_ssrc = sd->len == 4
			     ? (uint32_t)sd->data[0] << 24 | (uint32_t)sd->data[1] << 16 |
				   (uint32_t)sd->data[2] << 8 | sd->data[3]
			     : 0;
	mikey_tp_flags_str(ti->ticket.policy.flags, c->ticket_flags);
	c->ticket_key_id = -1;
	const mikey_bytes_t *td = &ti->ticket.ticket_data;
	if (ti->ticket.policy.ticket_type == 0xF000 && td->len >= 5) {
		c->ticket_key_id =
		    (int64_t)((uint32_t)td->data[1] << 24 | (uint32_t)td->data[2] << 16 |
			      (uint32_t)td->data[3] << 8 | td->data[4]);
	}
	if (ue_ticket_hash(ti, h) == KMS_EOK) {
		hex_encode(h, 8, c->ticket_hash, sizeof(c->ticket_hash));
	}
}

/* The TGK's SPI (its key id) for the summary. */
static void note_spi(ue_call_t *c, const char *path)
{
	ue_state_t *st = NULL;
	size_t line = 0;
	if (ue_state_load(path, &st, &line) == KMS_EOK) {
		const mikey_bytes_t *spi = ue_state_get(st, "tgk_spi");
		if (spi != NULL) {
			hex_encode(spi->data, spi->len < 64 ? spi->len : 64, c->tgk_spi,
				   sizeof(c->tgk_spi));
		}
	}
	ue_state_free(st);
}

/* Request (or reuse) and build the TRANSFER_INIT into dir/transfer_init. */
static int caller_transfer_init(ue_call_t *c)
{
	char st[UE_CALL_PATH_MAX], rr[UE_CALL_PATH_MAX], ti[UE_CALL_PATH_MAX];
	ue_call_path(c, "caller.state", st);
	ue_call_path(c, "request_resp", rr);
	ue_call_path(c, "transfer_init", ti);
	int rc = caller_ticket(c, st);
	if (rc == UE_EXIT_OK) {
		rc = keep_suite(c, st);
	}
	if (rc != UE_EXIT_OK) {
		return rc;
	}
	char *v[ARGV_MAX] = { "transfer-init", "--state", st, "--out", ti };
	char *vr[ARGV_MAX] = {
		"transfer-init", "--psk", (char *)c->psk_hex, "--state", st, "--resp", rr,
		"--out",	 ti
	};
	rc = step(ue_transfer_init_cmd, c->ticket != NULL ? v : vr);
	size_t len = 0;
	if (rc == UE_EXIT_OK) {
		rc = ue_load_msg(ti, msgbuf, sizeof(msgbuf), &len, &msg);
	}
	if (rc == UE_EXIT_OK) {
		note_ticket(c, &msg);
		note_spi(c, st);
	}
	return rc;
}

/* A SIP identity: the value without a sip: scheme. */
static const char *sip_user(const char *id)
{
	return strncmp(id, "sip:", 4) == 0 ? id + 4 : id;
}

/* The INVITE with the SDP offer, sent to every member's SIP socket. */
static int invite(ue_call_t *c, char *call_id, char *branch)
{
	size_t len = 0, slen = 0, sip_len = 0;
	uint8_t rnd[16];
	char ti[UE_CALL_PATH_MAX];
	ue_call_path(c, "transfer_init", ti);
	if (crypto_random(rnd, sizeof(rnd)) != KMS_EOK ||
	    ue_read_all(ti, msgbuf, sizeof(msgbuf), &len) != KMS_EOK) {
		return UE_EXIT_USAGE;
	}
	hex_encode(rnd, 8, call_id, 17);
	memcpy(branch, "z9hG4bK", 7);
	hex_encode(rnd + 8, 8, branch + 7, 17);
	ue_sdp_desc_t d = { "127.0.0.1",    c->caller.rtp.port,
			    c->caller_ssrc, (uint64_t)ue_unix_now(),
			    msgbuf,	    len };
	ue_sip_invite_t in = { sip_user(c->id), sip_user(c->to),
			       "127.0.0.1",	c->caller.sip.port,
			       call_id,		branch,
			       sdpbuf,		0 };
	if (ue_sdp_build(&d, sdpbuf, sizeof(sdpbuf), &slen) != KMS_EOK) {
		return UE_EXIT_USAGE;
	}
	in.body_len = slen;
	if (ue_sip_invite(&in, sipbuf, sizeof(sipbuf), &sip_len) != KMS_EOK) {
		return UE_EXIT_USAGE;
	}
	for (size_t k = 0; k < c->nm; k++) {
		if (ue_call_send(c, c->caller.sip_fd, c->caller.sip, c->m[k].ph.sip,
				 (const uint8_t *)sipbuf, sip_len) != KMS_EOK) {
			return UE_EXIT_USAGE;
		}
	}
	return UE_EXIT_OK;
}

/* The MIKEY message of a received SIP message's SDP into path. */
static int sip_mikey(const char *data, size_t len, ue_sip_msg_t *sm, ue_sdp_t *sdp,
		     const char *path)
{
	const char *why = NULL;
	size_t mlen = 0;
	int rc = ue_sip_parse(data, len, sm, &why);
	if (rc == KMS_EOK && sm->body == NULL) {
		why = "no SDP body";
		rc = KMS_EMALFORMED;
	}
	if (rc == KMS_EOK) {
		rc = ue_sdp_parse(sm->body, sm->body_len, sdp, &why);
	}
	if (rc == KMS_EOK && (!sdp->has_media || strcmp(sdp->proto, "RTP/SAVP") != 0)) {
		why = "no m=audio RTP/SAVP line";
		rc = KMS_EMALFORMED;
	}
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: SIP/SDP refused: %s\n", ue_prog, why);
		return UE_EXIT_INVALID;
	}
	if (sdp->mikey_len == 0) {
		return UE_EXIT_OK; /* no key-mgmt (an answer with F = 0) */
	}
	if (ue_sdp_mikey(sdp, msgbuf, sizeof(msgbuf), &mlen) != KMS_EOK) {
		fprintf(stderr, "%s: a=key-mgmt:mikey is not base64\n", ue_prog);
		return UE_EXIT_INVALID;
	}
	return ue_write_file(path, msgbuf, mlen) == KMS_EOK ? UE_EXIT_OK : UE_EXIT_USAGE;
}

/* The SRTP suite the TRANSFER_INIT's SP asks for (none: the 128-bit one). */
static int offered_suite(const char *ti, ue_srtp_suite_t *suite)
{
	size_t len = 0;
	int rc = ue_load_msg(ti, msgbuf, sizeof(msgbuf), &len, &msg);
	if (rc != UE_EXIT_OK) {
		return rc;
	}
	*suite = UE_SRTP_AES128_SHA1_80;
	for (size_t i = 0; i < msg.n; i++) {
		if (msg.p[i].type == MIKEY_PT_SP &&
		    ue_srtp_sp_suite(&msg.p[i].u.sp, suite) != KMS_EOK) {
			fprintf(stderr, "%s: the offer's SRTP policy is not supported\n",
				ue_prog);
			return UE_EXIT_INVALID;
		}
	}
	return UE_EXIT_OK;
}

/* The member's resolve at the KMS and its TRANSFER_RESP (into tr; not
 * written when the ticket says F = 0); its keys into m->keys. */
static int member_resolve(ue_call_t *c, ue_call_member_t *m, size_t k, const char *ti,
			  const char *tr)
{
	char st[UE_CALL_PATH_MAX], ri[UE_CALL_PATH_MAX], rr[UE_CALL_PATH_MAX];
	char name[32];
	snprintf(name, sizeof(name), "member%zu.state", k);
	ue_call_path(c, name, st);
	snprintf(name, sizeof(name), "resolve_init%zu", k);
	ue_call_path(c, name, ri);
	snprintf(name, sizeof(name), "resolve_resp%zu", k);
	ue_call_path(c, name, rr);
	char *v[ARGV_MAX] = { "resolve",
			      "--psk",
			      (char *)m->psk_hex,
			      "--id",
			      (char *)m->id,
			      "--in",
			      (char *)ti,
			      "--out",
			      ri,
			      "--state",
			      st };
	if (c->kms_id != NULL) {
		v[11] = "--kms-id";
		v[12] = (char *)c->kms_id;
	}
	int rc = step(ue_resolve_cmd, v);
	if (rc == UE_EXIT_OK) {
		rc = post(c, "ticketresolve", ri, rr);
	}
	char *vt[ARGV_MAX] = { "transfer-resp",
			       "--psk",
			       (char *)m->psk_hex,
			       "--state",
			       st,
			       "--resp",
			       rr,
			       "--out",
			       (char *)tr };
	if (rc == UE_EXIT_OK) {
		rc = step(ue_transfer_resp_cmd, vt);
	}
	if (rc == UE_EXIT_OK) {
		rc = ue_keys_derive(st, NULL, &m->keys);
	}
	return rc;
}

/* A member: the INVITE, its checks, the resolve, the 200 OK (or 488). */
static int member_answer(ue_call_t *c, size_t k)
{
	ue_call_member_t *m = &c->m[k];
	static ue_sip_msg_t inv;
	ue_sdp_t sdp;
	char ti[UE_CALL_PATH_MAX], tr[UE_CALL_PATH_MAX], name[32];
	ue_srtp_suite_t suite = UE_SRTP_AES128_SHA1_80;
	size_t n = ue_call_recv(m->ph.sip_fd, c->caller.sip, (uint8_t *)sipbuf,
				UE_SIP_MAX, WAIT_MS);
	snprintf(name, sizeof(name), "transfer_init%zu", k);
	ue_call_path(c, name, ti);
	snprintf(name, sizeof(name), "transfer_resp%zu", k);
	ue_call_path(c, name, tr);
	int rc = n > 0 ? sip_mikey(sipbuf, n, &inv, &sdp, ti) : UE_EXIT_INVALID;
	if (rc == UE_EXIT_OK &&
	    (strcmp(inv.method, "INVITE") != 0 || sdp.mikey_len == 0)) {
		fprintf(stderr, "%s: %s: not an INVITE with MIKEY\n", ue_prog, m->id);
		rc = UE_EXIT_INVALID;
	}
	if (rc == UE_EXIT_OK) {
		rc = offered_suite(ti, &suite);
	}
	if (rc == UE_EXIT_OK) {
		rc = member_resolve(c, m, k, ti, tr);
	}
	if (rc == UE_EXIT_OK &&
	    (suite != c->suite || m->keys.key_len != ue_srtp_key_len(suite))) {
		fprintf(stderr, "%s: the SP does not fit the ticket's keys\n", ue_prog);
		rc = UE_EXIT_INVALID;
	}
	do {
		if (crypto_random((uint8_t *)&m->ssrc, sizeof(m->ssrc)) != KMS_EOK) {
			return UE_EXIT_USAGE;
		}
	} while (m->ssrc == c->caller_ssrc); /* RFC 3711 8.1: never the same */
	size_t tlen = 0, slen = 0, len = 0;
	bool with_tr =
	    rc == UE_EXIT_OK && ue_read_all(tr, msgbuf, sizeof(msgbuf), &tlen) == KMS_EOK;
	ue_sdp_desc_t d = { "127.0.0.1",
			    m->ph.rtp.port,
			    m->ssrc,
			    (uint64_t)ue_unix_now(),
			    with_tr ? msgbuf : NULL,
			    tlen };
	if (n == 0 || inv.call_id[0] == '\0' ||
	    ue_sdp_build(&d, sdpbuf, sizeof(sdpbuf), &slen) != KMS_EOK ||
	    ue_sip_response(&inv, rc == UE_EXIT_OK ? 200 : 488,
			    rc == UE_EXIT_OK ? "OK" : "Not Acceptable Here", name,
			    rc == UE_EXIT_OK ? sdpbuf : NULL, slen, sipbuf,
			    sizeof(sipbuf), &len) != KMS_EOK) {
		return rc != UE_EXIT_OK ? rc : UE_EXIT_USAGE;
	}
	int src = ue_call_send(c, m->ph.sip_fd, m->ph.sip, c->caller.sip,
			       (const uint8_t *)sipbuf, len);
	return rc != UE_EXIT_OK ? rc : src == KMS_EOK ? UE_EXIT_OK : UE_EXIT_USAGE;
}

/* The caller: a member's 200 OK, its TRANSFER_RESP checked, the ACK. */
static int caller_accept(ue_call_t *c, size_t k, const char *branch)
{
	ue_call_member_t *m = &c->m[k];
	static ue_sip_msg_t ok;
	ue_sdp_t sdp;
	char st[UE_CALL_PATH_MAX], tr[UE_CALL_PATH_MAX], name[32], uri[UE_SIP_VALUE_MAX];
	ue_call_path(c, "caller.state", st);
	snprintf(name, sizeof(name), "answer%zu", k);
	ue_call_path(c, name, tr);
	size_t n = ue_call_recv(c->caller.sip_fd, m->ph.sip, (uint8_t *)sipbuf,
				UE_SIP_MAX, WAIT_MS);
	int rc = n > 0 ? sip_mikey(sipbuf, n, &ok, &sdp, tr) : UE_EXIT_INVALID;
	if (rc == UE_EXIT_OK &&
	    (ok.request || ok.status != 200 || !sdp.has_ssrc ||
	     sdp.ssrc == c->caller_ssrc || sdp.port != m->ph.rtp.port)) {
		fprintf(stderr, "%s: %s did not accept the call (SIP %u)\n", ue_prog,
			m->id, ok.status);
		rc = UE_EXIT_INVALID;
	}
	if (rc == UE_EXIT_OK) {
		m->ssrc = sdp.ssrc;
		rc = ue_keys_derive(st, sdp.mikey_len > 0 ? tr : NULL, &m->caller_keys);
	}
	size_t len = 0;
	snprintf(uri, sizeof(uri), "sip:%s", sip_user(m->id));
	if (rc == UE_EXIT_OK &&
	    ue_sip_ack(&ok, uri, "127.0.0.1", c->caller.sip.port, branch, sipbuf,
		       sizeof(sipbuf), &len) == KMS_EOK &&
	    ue_call_send(c, c->caller.sip_fd, c->caller.sip, m->ph.sip,
			 (const uint8_t *)sipbuf, len) == KMS_EOK) {
		m->answered = true;
	}
	return m->answered ? UE_EXIT_OK : rc != UE_EXIT_OK ? rc : UE_EXIT_USAGE;
}

/* A phone the ticket does not name asks the KMS for its keys: the answer
 * must be a MIKEY Error (kept for the summary), never keys. */
static int intruder(ue_call_t *c)
{
	char st[UE_CALL_PATH_MAX], ri[UE_CALL_PATH_MAX], rr[UE_CALL_PATH_MAX];
	char ti[UE_CALL_PATH_MAX];
	size_t len = 0;
	ue_call_path(c, "intruder.state", st);
	ue_call_path(c, "intruder_init", ri);
	ue_call_path(c, "intruder_resp", rr);
	ue_call_path(c, "transfer_init", ti);
	char *v[ARGV_MAX] = { "resolve",
			      "--psk",
			      (char *)c->intruder_psk,
			      "--id",
			      (char *)c->intruder,
			      "--in",
			      ti,
			      "--out",
			      ri,
			      "--state",
			      st };
	if (c->kms_id != NULL) {
		v[11] = "--kms-id";
		v[12] = (char *)c->kms_id;
	}
	c->intruder_tried = true;
	int rc = step(ue_resolve_cmd, v);
	if (rc == UE_EXIT_OK) {
		rc = post(c, "ticketresolve", ri, rr);
	}
	if (rc != UE_EXIT_OK ||
	    ue_read_all(rr, msgbuf, sizeof(msgbuf), &len) != KMS_EOK ||
	    mikey_msg_decode(msgbuf, len, &msg) != KMS_EOK) {
		return UE_EXIT_INVALID;
	}
	if (msg.hdr.data_type != MIKEY_DT_ERROR) {
		c->intruder_keys = msg.hdr.data_type == MIKEY_DT_RESOLVE_RESP;
		return UE_EXIT_INVALID;
	}
	c->intruder_refused = true;
	for (size_t i = 0; i < msg.n && c->intruder_nerrs < UE_CALL_MIKEY_ERRS_MAX; i++) {
		if (msg.p[i].type == MIKEY_PT_ERR) {
			c->intruder_errs[c->intruder_nerrs++] = msg.p[i].u.err.errno_;
		}
	}
	return UE_EXIT_OK;
}

int ue_call_signal(ue_call_t *c)
{
	char call_id[17], branch[7 + 17];
	int rc = caller_transfer_init(c);
	if (rc == UE_EXIT_OK) {
		rc = invite(c, call_id, branch);
	}
	/* The intruder's outcome is judged in the summary; the call goes on. */
	if (rc == UE_EXIT_OK && c->intruder != NULL && intruder(c) != UE_EXIT_OK) {
		fprintf(stderr, "%s: the intruder was not refused\n", ue_prog);
	}
	for (size_t k = 0; rc == UE_EXIT_OK && k < c->nm; k++) {
		rc = member_answer(c, k);
		if (rc == UE_EXIT_OK) {
			rc = caller_accept(c, k, branch);
		}
	}
	return rc;
}
