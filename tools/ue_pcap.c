/*
 * kms-ue call --pcap (see ue_pcap.h).  Records are built in one buffer:
 * IPv4 header, UDP or TCP header, payload; checksums over the real bytes.
 */
#include "tools/ue_pcap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/errcode.h"

#define IP_HDR 20
#define UDP_HDR 8
#define TCP_HDR 20
#define PROTO_TCP 6
#define PROTO_UDP 17

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

struct ue_pcap {
	FILE *f;
	ue_pcap_clock_t now;
	uint16_t ip_id;
	int err; /* the first write error sticks */
	uint8_t pkt[UE_PCAP_SNAPLEN];
};

static uint64_t real_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* pcap headers are in the writer's byte order; the magic tells readers. */
static void write_u32le(ue_pcap_t *p, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	if (p->err == KMS_EOK && fwrite(b, 1, 4, p->f) != 4) {
		p->err = KMS_EIO;
	}
}

static uint32_t sum16(const uint8_t *d, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		s += (uint32_t)d[i] << 8 | d[i + 1];
	}
	if (n % 2 != 0) {
		s += (uint32_t)d[n - 1] << 8;
	}
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16) {
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)~s;
}

int ue_pcap_open(const char *path, ue_pcap_clock_t now, ue_pcap_t **out)
{
	ue_pcap_t *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		return KMS_ENOMEM;
	}
	p->f = fopen(path, "wb");
	if (p->f == NULL) {
		int e = errno;
		free(p);
		errno = e;
		return KMS_EIO;
	}
	p->now = now != NULL ? now : real_now;
	write_u32le(p, 0xa1b2c3d4);
	write_u32le(p, 2 | 4u << 16); /* version 2.4 */
	write_u32le(p, 0);	      /* thiszone */
	write_u32le(p, 0);	      /* sigfigs */
	write_u32le(p, UE_PCAP_SNAPLEN);
	write_u32le(p, UE_PCAP_LINKTYPE_RAW);
	if (p->err != KMS_EOK) {
		ue_pcap_close(p);
		return KMS_EIO;
	}
	*out = p;
	return KMS_EOK;
}

int ue_pcap_close(ue_pcap_t *p)
{
	if (p == NULL) {
		return KMS_EOK;
	}
	int rc = p->err;
	if (fclose(p->f) != 0 && rc == KMS_EOK) {
		rc = KMS_EIO;
	}
	free(p);
	return rc;
}

/* The IPv4 header of a packet of total bytes into p->pkt, then the record. */
static int emit(ue_pcap_t *p, uint8_t proto, ue_pcap_addr_t src, ue_pcap_addr_t dst,
		size_t total)
{
	uint8_t *h = p->pkt;
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)total);
	put16(h + 4, p->ip_id++);
	put16(h + 6, 0x4000); /* DF */
	h[8] = 64;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, src.ip);
	put32(h + 16, dst.ip);
	put16(h + 10, fold(sum16(h, IP_HDR, 0)));
	/* Transport checksum over the pseudo header and the segment. */
	uint8_t ph[12];
	put32(ph, src.ip);
	put32(ph + 4, dst.ip);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)(total - IP_HDR));
	uint8_t *ck = h + IP_HDR + (proto == PROTO_UDP ? 6 : 16);
	uint16_t c = fold(sum16(h + IP_HDR, total - IP_HDR, sum16(ph, sizeof(ph), 0)));
	put16(ck, proto == PROTO_UDP && c == 0 ? 0xffff : c);
	uint64_t t = p->now();
	write_u32le(p, (uint32_t)(t / 1000000u));
	write_u32le(p, (uint32_t)(t % 1000000u));
	write_u32le(p, (uint32_t)total);
	write_u32le(p, (uint32_t)total);
	if (p->err == KMS_EOK && fwrite(p->pkt, 1, total, p->f) != total) {
		p->err = KMS_EIO;
	}
	return p->err;
}

int ue_pcap_udp(ue_pcap_t *p, ue_pcap_addr_t src, ue_pcap_addr_t dst, const uint8_t *data,
		size_t len)
{
	if (p == NULL) {
		return KMS_EOK;
	}
	if (len > UE_PCAP_UDP_MAX) {
		return KMS_ELIMIT;
	}
	uint8_t *u = p->pkt + IP_HDR;
	put16(u, src.port);
	put16(u + 2, dst.port);
	put16(u + 4, (uint16_t)(UDP_HDR + len));
	put16(u + 6, 0);
	if (len > 0) {
		memcpy(u + UDP_HDR, data, len);
	}
	return emit(p, PROTO_UDP, src, dst, IP_HDR + UDP_HDR + len);
}

/* One direction of a TCP connection: its addresses and next sequence. */
typedef struct {
	ue_pcap_addr_t from, to;
	uint32_t seq;
} side_t;

static int segment(ue_pcap_t *p, side_t *s, const side_t *peer, uint8_t flags,
		   const uint8_t *data, size_t len)
{
	uint8_t *t = p->pkt + IP_HDR;
	put16(t, s->from.port);
	put16(t + 2, s->to.port);
	put32(t + 4, s->seq);
	put32(t + 8, (flags & TCP_ACK) != 0 ? peer->seq : 0);
	t[12] = (TCP_HDR / 4) << 4;
	t[13] = flags;
	put16(t + 14, 65535); /* window */
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (len > 0) {
		memcpy(t + TCP_HDR, data, len);
	}
	s->seq += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) != 0 ? 1 : 0);
	return emit(p, PROTO_TCP, s->from, s->to, IP_HDR + TCP_HDR + len);
}

/* data in segments of at most UE_PCAP_MSS bytes, PSH on the last one. */
static int stream(ue_pcap_t *p, side_t *s, const side_t *peer, const uint8_t *data,
		  size_t len)
{
	size_t off = 0;
	int rc = KMS_EOK;
	while (rc == KMS_EOK && off < len) {
		size_t n = len - off > UE_PCAP_MSS ? UE_PCAP_MSS : len - off;
		uint8_t fl = TCP_ACK | (off + n == len ? TCP_PSH : 0);
		rc = segment(p, s, peer, fl, data + off, n);
		off += n;
	}
	return rc;
}

int ue_pcap_tcp_exchange(ue_pcap_t *p, ue_pcap_addr_t cli, ue_pcap_addr_t srv,
			 const uint8_t *req, size_t req_len, const uint8_t *resp,
			 size_t resp_len)
{
	if (p == NULL) {
		return KMS_EOK;
	}
	/* Initial sequence numbers: any value will do; these are readable. */
	side_t c = { cli, srv, 0x10000000u + cli.port };
	side_t s = { srv, cli, 0x20000000u + srv.port };
	int rc = segment(p, &c, &s, TCP_SYN, NULL, 0);
	if (rc == KMS_EOK) {
		rc = segment(p, &s, &c, TCP_SYN | TCP_ACK, NULL, 0);
	}
	if (rc == KMS_EOK) {
		rc = segment(p, &c, &s, TCP_ACK, NULL, 0);
	}
	if (rc == KMS_EOK) {
		rc = stream(p, &c, &s, req, req_len);
	}
	if (rc == KMS_EOK) {
		rc = segment(p, &s, &c, TCP_ACK, NULL, 0);
	}
	if (rc == KMS_EOK) {
		rc = stream(p, &s, &c, resp, resp_len);
	}
	if (rc == KMS_EOK) {
		rc = segment(p, &c, &s, TCP_ACK, NULL, 0);
	}
	if (rc == KMS_EOK) {
		rc = segment(p, &c, &s, TCP_FIN | TCP_ACK, NULL, 0);
	}
	if (rc == KMS_EOK) {
		rc = segment(p, &s, &c, TCP_FIN | TCP_ACK, NULL, 0);
	}
	if (rc == KMS_EOK) {
		rc = segment(p, &c, &s, TCP_ACK, NULL, 0);
	}
	return rc;
}
