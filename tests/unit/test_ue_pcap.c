/* kms-ue call --pcap writer (tools/ue_pcap.h): file and record headers,
 * checksums, and TCP sequence numbers a reassembler can follow. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/errcode.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"
#include "tools/ue_pcap.h"

#define CAP (256 * 1024)

static uint8_t file[CAP];
static size_t file_len;
static uint64_t fake_us;

static uint64_t fake_clock(void)
{
	return fake_us += 1000;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ones' complement sum over n bytes; 0xffff when a checksum is right. */
static uint16_t csum(const uint8_t *d, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		s += (uint32_t)d[i] << 8 | d[i + 1];
	}
	if (n % 2) {
		s += (uint32_t)d[n - 1] << 8;
	}
	while (s >> 16) {
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)s;
}

static uint16_t l4_sum(const uint8_t *ip, size_t total)
{
	uint8_t ph[12];
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = ip[9];
	ph[10] = (uint8_t)((total - 20) >> 8);
	ph[11] = (uint8_t)(total - 20);
	return csum(ip + 20, total - 20, csum(ph, 12, 0));
}

typedef void (*writer_t)(ue_pcap_t *p);

/* Given a writer, when it runs on a fresh file, then the file is read back. */
static void run_writer(writer_t w)
{
	char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
	ue_pcap_t *p = NULL;
	unit_tmpdir(dir);
	unit_path(path, dir, "c.pcap");
	fake_us = 1700000000ull * 1000000u;
	CU_ASSERT_EQUAL_FATAL(ue_pcap_open(path, fake_clock, &p), KMS_EOK);
	w(p);
	CU_ASSERT_EQUAL(ue_pcap_close(p), KMS_EOK);
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	file_len = fread(file, 1, sizeof(file), f);
	fclose(f);
	remove(path);
	rmdir(dir);
}

static const ue_pcap_addr_t A = { 0x7f000001, 5060 }, B = { 0x7f000002, 5062 };

static void write_udp(ue_pcap_t *p)
{
	static const uint8_t sip[] = "INVITE sip:bob@example.org SIP/2.0\r\n\r\n";
	CU_ASSERT_EQUAL(ue_pcap_udp(p, A, B, sip, sizeof(sip) - 1), KMS_EOK);
	CU_ASSERT_EQUAL(ue_pcap_udp(p, B, A, sip, 3), KMS_EOK);
}

static void test_given_udp_when_written_then_raw_ipv4_records_check(void)
{
	run_writer(write_udp);
	CU_ASSERT_EQUAL_FATAL(file_len > 24, 1);
	CU_ASSERT_EQUAL(le32(file), 0xa1b2c3d4);
	CU_ASSERT_EQUAL(le32(file + 20), UE_PCAP_LINKTYPE_RAW);
	CU_ASSERT_EQUAL(le32(file + 16), UE_PCAP_SNAPLEN);
	size_t off = 24, n = 0;
	while (off + 16 <= file_len) {
		uint32_t incl = le32(file + off + 8);
		const uint8_t *ip = file + off + 16;
		CU_ASSERT_EQUAL(incl, le32(file + off + 12));
		CU_ASSERT_EQUAL_FATAL(off + 16 + incl <= file_len, 1);
		CU_ASSERT_EQUAL(ip[0], 0x45);
		CU_ASSERT_EQUAL(ip[9], 17);
		CU_ASSERT_EQUAL(be16(ip + 2), incl);
		CU_ASSERT_EQUAL(csum(ip, 20, 0), 0xffff);
		CU_ASSERT_EQUAL(l4_sum(ip, incl), 0xffff);
		CU_ASSERT_EQUAL(be16(ip + 24), incl - 20);
		off += 16 + incl;
		n++;
	}
	CU_ASSERT_EQUAL(off, file_len);
	CU_ASSERT_EQUAL(n, 2);
	/* The first datagram goes A -> B with A's port. */
	CU_ASSERT_EQUAL(be32(file + 24 + 16 + 12), A.ip);
	CU_ASSERT_EQUAL(be16(file + 24 + 16 + 20), A.port);
	CU_ASSERT_EQUAL(be16(file + 24 + 16 + 22), B.port);
}

static uint8_t big[4000];

static void write_tcp(ue_pcap_t *p)
{
	memset(big, 'x', sizeof(big));
	memcpy(big, "POST /kms HTTP/1.1\r\n", 20);
	CU_ASSERT_EQUAL(ue_pcap_tcp_exchange(p, A, B, big, sizeof(big),
					     (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n",
					     19),
			KMS_EOK);
}

/* Each side's next sequence number must be what the other acknowledges. */
static void test_given_http_when_synthesised_then_tcp_seq_ack_follow(void)
{
	run_writer(write_tcp);
	uint32_t next[2] = { 0, 0 }; /* 0: client, 1: server */
	bool seen[2] = { false, false };
	size_t off = 24, n = 0, cli_bytes = 0, srv_bytes = 0;
	int fins = 0;
	while (off + 16 <= file_len) {
		uint32_t incl = le32(file + off + 8);
		const uint8_t *ip = file + off + 16, *t = ip + 20;
		CU_ASSERT_EQUAL(ip[9], 6);
		CU_ASSERT_EQUAL(csum(ip, 20, 0), 0xffff);
		CU_ASSERT_EQUAL(l4_sum(ip, incl), 0xffff);
		int from = be16(t) == A.port ? 0 : 1;
		uint8_t fl = t[13];
		size_t len = incl - 40;
		CU_ASSERT(len <= UE_PCAP_MSS);
		if (seen[from]) {
			CU_ASSERT_EQUAL(be32(t + 4), next[from]);
		}
		seen[from] = true;
		if (fl & 0x10) {
			CU_ASSERT_EQUAL(be32(t + 8), next[1 - from]);
		}
		next[from] = be32(t + 4) + (uint32_t)len + ((fl & 0x03) ? 1 : 0);
		if (n == 1) {
			CU_ASSERT_EQUAL(fl, 0x12); /* SYN-ACK */
		}
		*(from ? &srv_bytes : &cli_bytes) += len;
		fins += (fl & 0x01) != 0;
		off += 16 + incl;
		n++;
	}
	CU_ASSERT_EQUAL(off, file_len);
	CU_ASSERT_EQUAL(cli_bytes, sizeof(big));
	CU_ASSERT_EQUAL(srv_bytes, 19);
	CU_ASSERT_EQUAL(fins, 2);
	/* SYN, SYN-ACK, ACK, 3 request segments, ACK, 1 answer, ACK, 2 FIN, ACK */
	CU_ASSERT_EQUAL(n, 12);
}

static void test_given_oversized_udp_when_written_then_refused(void)
{
	char dir[UNIT_PATH_MAX], path[UNIT_PATH_MAX];
	ue_pcap_t *p = NULL;
	unit_tmpdir(dir);
	unit_path(path, dir, "c.pcap");
	CU_ASSERT_EQUAL_FATAL(ue_pcap_open(path, fake_clock, &p), KMS_EOK);
	CU_ASSERT_EQUAL(ue_pcap_udp(p, A, B, big, UE_PCAP_UDP_MAX + 1), KMS_ELIMIT);
	CU_ASSERT_EQUAL(ue_pcap_udp(NULL, A, B, big, 1), KMS_EOK);
	CU_ASSERT_EQUAL(ue_pcap_close(p), KMS_EOK);
	CU_ASSERT_EQUAL(ue_pcap_close(NULL), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(ue_pcap_open("/nonexistent/dir/x.pcap", NULL, &p), KMS_EOK);
	remove(path);
	rmdir(dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(test_given_udp_when_written_then_raw_ipv4_records_check),
		UNIT_TEST(test_given_http_when_synthesised_then_tcp_seq_ack_follow),
		UNIT_TEST(test_given_oversized_udp_when_written_then_refused),
		UNIT_END,
	};
	return unit_run("ue_pcap", tests);
}
