/*
 * kms-ue call, the media (see ue_call.h): with each member in turn, RTP
 * packets both ways through SRTP, and RTCP sender reports through SRTCP.
 * Flow control: a window of WINDOW packets each way is sent, then
 * received (each wait bounded), so the receivers always keep up.
 */
#include <stdio.h>
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"
#include "tools/ue_call.h"
#include "tools/ue_common.h"
#include "tools/ue_srtp.h"

#define WINDOW 32
#define PAYLOAD 160 /* 20 ms of PCMU */
#define RTP_HDR 12
#define SR_LEN 28
#define SR_COUNT 4   /* sender reports each way */
#define WAIT_MS 2000 /* for one datagram on loopback */
#define PKT_MAX (RTP_HDR + PAYLOAD + UE_SRTP_TRAILER_MAX)

/* One direction: the sender's and receiver's contexts and sockets. */
typedef struct {
	ue_srtp_t *tx, *rx, *cross; /* cross: another fork's keys (may be NULL) */
	int tx_fd, rx_fd;
	ue_pcap_addr_t from, to;
	ue_call_dir_t *st;
	uint32_t *cross_failed, *cross_tried;
	bool tamper; /* flip a byte of one packet in flight */
} way_t;

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint8_t pattern(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 7 + i);
}

/* RTP packet i (or an SR) protected and sent. */
static int send_one(ue_call_t *c, way_t *w, uint32_t i, bool sr)
{
	uint8_t pkt[PKT_MAX];
	size_t len = sr ? SR_LEN : RTP_HDR + PAYLOAD;
	uint32_t seq = (c->seq + i) & 0xffff;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80;
	if (sr) {
		pkt[1] = 200;
		put16(pkt + 2, SR_LEN / 4 - 1);
		put32(pkt + 4, w->st->ssrc);
		put32(pkt + 8, (uint32_t)(ue_ntp_now() >> 32));
		put32(pkt + 16, i * PAYLOAD);
		put32(pkt + 20, w->st->sent);
		put32(pkt + 24, w->st->sent * PAYLOAD);
	} else {
		put16(pkt + 2, seq);
		put32(pkt + 4, i * PAYLOAD);
		put32(pkt + 8, w->st->ssrc);
		for (size_t k = 0; k < PAYLOAD; k++) {
			pkt[RTP_HDR + k] = pattern(seq, k);
		}
	}
	if (ue_srtp_protect(w->tx, pkt, &len, sr) != KMS_EOK) {
		fprintf(stderr, "%s: SRTP protect failed\n", ue_prog);
		return KMS_EINTERNAL;
	}
	if (!sr && w->tamper && i == c->packets / 2) {
		pkt[RTP_HDR + 5] ^= 0x01; /* --tamper: in flight, after the tag */
	}
	*(sr ? &w->st->rtcp_sent : &w->st->sent) += 1;
	return ue_call_send(c, w->tx_fd, w->from, w->to, pkt, len);
}

/* A received datagram: SRTCP or SRTP, counted. */
static void take(way_t *w, uint8_t *pkt, size_t len)
{
	bool rtcp = len >= 2 && pkt[1] >= 200 && pkt[1] <= 204;
	if (!rtcp && w->cross != NULL) {
		uint8_t copy[PKT_MAX];
		size_t cl = len;
		memcpy(copy, pkt, len);
		(*w->cross_tried)++;
		if (ue_srtp_unprotect(w->cross, copy, &cl, false) == KMS_EAUTH) {
			(*w->cross_failed)++;
		}
	}
	int rc = ue_srtp_unprotect(w->rx, pkt, &len, rtcp);
	if (rtcp) {
		*(rc == KMS_EOK ? &w->st->rtcp_received : &w->st->rtcp_failed) += 1;
		return;
	}
	if (rc == KMS_EAUTH) {
		w->st->auth_failed++;
		return;
	}
	uint32_t seq = (uint32_t)pkt[2] << 8 | pkt[3];
	bool same = rc == KMS_EOK && len == RTP_HDR + PAYLOAD;
	for (size_t k = 0; same && k < PAYLOAD; k++) {
		same = pkt[RTP_HDR + k] == pattern(seq, k);
	}
	*(same ? &w->st->received : &w->st->other_failed) += 1;
}

/* Receive n datagrams (fewer when one does not come in time). */
static void drain(way_t *w, uint32_t n)
{
	uint8_t pkt[PKT_MAX];
	for (uint32_t k = 0; k < n; k++) {
		size_t len = ue_call_recv(w->rx_fd, w->from, pkt, sizeof(pkt), WAIT_MS);
		if (len == 0) {
			return;
		}
		take(w, pkt, len);
	}
}

/* Both ways, window by window, with SR_COUNT sender reports each. */
static int flow(ue_call_t *c, way_t w[2])
{
	uint32_t every = c->packets / SR_COUNT > 0 ? c->packets / SR_COUNT : 1;
	for (uint32_t i = 0; i < c->packets; i += WINDOW) {
		uint32_t n = c->packets - i < WINDOW ? c->packets - i : WINDOW;
		for (int d = 0; d < 2; d++) {
			uint32_t sent = 0;
			for (uint32_t j = i; j < i + n; j++) {
				int rc = send_one(c, &w[d], j, false);
				if (rc == KMS_EOK && (j + 1) % every == 0) {
					rc = send_one(c, &w[d], j, true);
					sent++;
				}
				if (rc != KMS_EOK) {
					return UE_EXIT_USAGE;
				}
				sent++;
			}
			drain(&w[d], sent);
		}
	}
	return UE_EXIT_OK;
}

/* The four contexts of a caller-member pair (and the cross-check one). */
typedef struct {
	ue_srtp_t *ctx[5];
} pair_t;

static void pair_free(pair_t *p)
{
	for (size_t i = 0; i < 5; i++) {
		ue_srtp_free(p->ctx[i]);
	}
}

static int pair_new(ue_call_t *c, size_t k, pair_t *p)
{
	ue_call_member_t *m = &c->m[k];
	const ue_srtp_keys_t *ck = &m->caller_keys, *mk = &m->keys;
	int rc = ue_srtp_new(c->suite, ck->key, ck->salt, c->caller_ssrc, &p->ctx[0]);
	if (rc == KMS_EOK) {
		rc = ue_srtp_new(c->suite, mk->key, mk->salt, c->caller_ssrc, &p->ctx[1]);
	}
	if (rc == KMS_EOK) {
		rc = ue_srtp_new(c->suite, mk->key, mk->salt, m->ssrc, &p->ctx[2]);
	}
	if (rc == KMS_EOK) {
		rc = ue_srtp_new(c->suite, ck->key, ck->salt, m->ssrc, &p->ctx[3]);
	}
	/* A phone holding another member's fork listens in on this one. */
	if (rc == KMS_EOK && c->nm > 1) {
		const ue_srtp_keys_t *o = &c->m[(k + 1) % c->nm].keys;
		rc = ue_srtp_new(c->suite, o->key, o->salt, c->caller_ssrc, &p->ctx[4]);
	}
	return rc;
}

/* Media with member k: down (caller -> member) and up. */
static int with_member(ue_call_t *c, size_t k)
{
	ue_call_member_t *m = &c->m[k];
	pair_t p = { { NULL } };
	int ret = UE_EXIT_USAGE;
	if (pair_new(c, k, &p) != KMS_EOK) {
		fprintf(stderr, "%s: SRTP context failed\n", ue_prog);
		goto cleanup;
	}
	m->down.ssrc = c->caller_ssrc;
	m->up.ssrc = m->ssrc;
	way_t w[2] = {
		{ p.ctx[0], p.ctx[1], p.ctx[4], c->caller.rtp_fd, m->ph.rtp_fd,
		  c->caller.rtp, m->ph.rtp, &m->down, &m->cross_failed, &m->cross_tried,
		  c->tamper && k == 0 },
		{ p.ctx[2], p.ctx[3], NULL, m->ph.rtp_fd, c->caller.rtp_fd, m->ph.rtp,
		  c->caller.rtp, &m->up, NULL, NULL, false },
	};
	ret = flow(c, w);
	m->down.roc_tx = ue_srtp_roc(p.ctx[0]);
	m->down.roc_rx = ue_srtp_roc(p.ctx[1]);
	m->up.roc_tx = ue_srtp_roc(p.ctx[2]);
	m->up.roc_rx = ue_srtp_roc(p.ctx[3]);
cleanup:
	pair_free(&p);
	return ret;
}

int ue_call_media(ue_call_t *c)
{
	if (ue_srtp_init() != KMS_EOK) {
		fprintf(stderr, "%s: libsrtp2 initialisation failed\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	for (size_t k = 0; k < c->nm; k++) {
		int rc = with_member(c, k);
		if (rc != UE_EXIT_OK) {
			return rc;
		}
	}
	return UE_EXIT_OK;
}
