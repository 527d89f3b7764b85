/*
 * kms-ue call --pcap: a capture of the call written by the program itself
 * (no capture privilege needed), for Wireshark/tshark.
 *
 * Format: classic pcap (magic 0xa1b2c3d4, version 2.4, microsecond
 * timestamps, snaplen 65535), link type LINKTYPE_RAW (101): every record
 * is one IPv4 packet without a link header.  UDP datagrams (SIP, SRTP,
 * SRTCP) go in as they were sent, with their real addresses and ports.
 * An HTTP exchange with the KMS is synthesised as one TCP connection with
 * its real ports: SYN, SYN-ACK, ACK, the request in segments of at most
 * UE_PCAP_MSS bytes, an ACK, the response likewise, an ACK, then FIN-ACK
 * both ways and the last ACK, with consistent sequence and acknowledgement
 * numbers, so that tshark reassembles the HTTP messages.  IPv4, UDP and
 * TCP checksums are correct.  Over HTTPS the capture shows the plain HTTP
 * that went inside TLS (the bytes libcurl handed to TLS).
 */
#ifndef KMS_TOOLS_UE_PCAP_H
#define KMS_TOOLS_UE_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define UE_PCAP_LINKTYPE_RAW 101
#define UE_PCAP_SNAPLEN 65535
#define UE_PCAP_MSS 1460
/* The largest UDP payload a record can hold (IPv4 + UDP headers: 28). */
#define UE_PCAP_UDP_MAX (UE_PCAP_SNAPLEN - 28)

typedef struct ue_pcap ue_pcap_t;

/* Microseconds since the Unix epoch; the writer's clock (tests fix it). */
typedef uint64_t (*ue_pcap_clock_t)(void);

/*
 * Create path (truncated, mode 0644 before umask) and write the file
 * header.  now may be NULL (the real-time clock).  KMS_EOK, KMS_EIO
 * (errno kept) or KMS_ENOMEM.
 */
int ue_pcap_open(const char *path, ue_pcap_clock_t now, ue_pcap_t **out);

/* Flush and close; the first write error, if any, is returned. */
int ue_pcap_close(ue_pcap_t *p);

/* Addresses are IPv4 in host order (127.0.0.1 = 0x7f000001). */
typedef struct {
	uint32_t ip;
	uint16_t port;
} ue_pcap_addr_t;

/* One UDP datagram; KMS_ELIMIT over UE_PCAP_UDP_MAX bytes.  p NULL: no-op. */
int ue_pcap_udp(ue_pcap_t *p, ue_pcap_addr_t src, ue_pcap_addr_t dst, const uint8_t *data,
		size_t len);

/* One HTTP exchange as a whole TCP connection (see above).  p NULL: no-op. */
int ue_pcap_tcp_exchange(ue_pcap_t *p, ue_pcap_addr_t cli, ue_pcap_addr_t srv,
			 const uint8_t *req, size_t req_len, const uint8_t *resp,
			 size_t resp_len);

#endif
