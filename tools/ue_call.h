/*
 * kms-ue call: one complete call between simulated phones in one process,
 * against a real KMS.  The caller (Initiator) gets a ticket (or reuses a
 * saved one), sends the TRANSFER_INIT in a SIP INVITE's SDP offer over UDP
 * on loopback; each answering phone (Responder, one or, for a group
 * identity, up to UE_CALL_MEMBERS_MAX) resolves it at the KMS and answers
 * with the TRANSFER_RESP in the 200 OK's SDP; the caller verifies it and
 * sends an ACK.  Then SRTP and SRTCP (libsrtp2) flow both ways between the
 * caller and every member, and a JSON summary goes to stdout.
 *
 * Every MIKEY step is the kms-ue command of that step run in-process on
 * files in a private directory (mode 0700, removed at the end), so the
 * call checks exactly what the step commands check.
 *
 * Crypto sessions: the TRANSFER_INIT has one crypto session (CS ID 1)
 * whose GENERIC-ID Session Data is the caller's SSRC; its TEK keys both
 * directions of a caller-member pair, and the member's SSRC (random,
 * different from the caller's) comes in the answer's a=ssrc line.  Two
 * SSRCs under one master key give two distinct key streams (RFC 3711
 * 8.1: SSRCs must differ, which the member checks).  RTP and RTCP share
 * the media port (a=rtcp-mux, RFC 5761).
 *
 * This header is the interface between ue_call.c (command, summary),
 * ue_call_sig.c (KMS, SIP/SDP) and ue_call_media.c (SRTP).
 */
#ifndef KMS_TOOLS_UE_CALL_H
#define KMS_TOOLS_UE_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/ue_keys.h"
#include "tools/ue_opts.h"
#include "tools/ue_pcap.h"
#include "tools/ue_srtp_sp.h"

#define UE_CALL_MEMBERS_MAX 4
#define UE_CALL_PATH_MAX 256
#define UE_CALL_PACKETS_MAX 100000
#define UE_CALL_MIKEY_ERRS_MAX 4

/* One direction of media between two phones. */
typedef struct {
	uint32_t ssrc;
	uint32_t sent, received, auth_failed, other_failed;
	uint32_t rtcp_sent, rtcp_received, rtcp_failed;
	uint32_t roc_tx, roc_rx; /* sender's and receiver's ROC at the end */
} ue_call_dir_t;

/* A phone with its sockets (127.0.0.1, ephemeral ports). */
typedef struct {
	int sip_fd, rtp_fd;
	ue_pcap_addr_t sip, rtp;
} ue_call_phone_t;

typedef struct {
	const char *id;
	const char *psk_hex; /* into the --member argument's copy */
	char arg[600];	     /* copy of ID:PSKHEX, split at the last ':' */
	ue_call_phone_t ph;
	uint32_t ssrc;			    /* the member's own */
	ue_srtp_keys_t keys;		    /* the member's (from its resolve) */
	ue_srtp_keys_t caller_keys;	    /* the caller's for this member's fork */
	ue_call_dir_t down, up;		    /* caller -> member, member -> caller */
	uint32_t cross_failed, cross_tried; /* another fork's keys on "down" */
	bool answered;
} ue_call_member_t;

typedef struct {
	/* options */
	const char *url, *cacert, *id, *psk_hex, *to, *kms_id, *pcap_path;
	const char *intruder, *intruder_psk, *save_ticket, *ticket;
	const char *members_arg[UE_CALL_MEMBERS_MAX];
	size_t nmembers_arg;
	uint32_t packets, seq, expect_auth_fail, timeout;
	int suite_bits;
	bool tamper, reuse;
	/* run */
	char dir[UE_CALL_PATH_MAX];
	ue_pcap_t *pcap;
	ue_call_phone_t caller;
	ue_call_member_t m[UE_CALL_MEMBERS_MAX];
	size_t nm;
	ue_srtp_suite_t suite;
	uint32_t caller_ssrc;
	bool ticketrequest;
	/* what the summary reports (no key bytes) */
	uint32_t csb_id;
	char tgk_spi[2 * 64 + 1];
	char ticket_flags[16];
	int64_t ticket_key_id; /* -1: not a private-type ticket */
	char ticket_hash[17];  /* SHA-256 prefix of the ticket */
	bool intruder_tried, intruder_refused, intruder_keys;
	uint8_t intruder_errs[UE_CALL_MIKEY_ERRS_MAX];
	size_t intruder_nerrs;
} ue_call_t;

/* argv[0] is the command name; returns the exit status. */
int ue_call_cmd(int argc, char **argv);

/* ue_call_sig.c: a UDP socket on 127.0.0.1 (port 0: any); -1 with a message. */
int ue_call_socket(ue_pcap_addr_t *addr);
/* Send a datagram and put it into the capture. */
int ue_call_send(ue_call_t *c, int fd, ue_pcap_addr_t from, ue_pcap_addr_t to,
		 const uint8_t *data, size_t len);
/* Receive one datagram from the address from within ms milliseconds (others
 * are dropped); its length, 0 on timeout or a datagram over cap. */
size_t ue_call_recv(int fd, ue_pcap_addr_t from, uint8_t *buf, size_t cap, int ms);

/* The signalling: ticket, INVITE, resolves, 200 OK, ACK.  UE_EXIT_*. */
int ue_call_signal(ue_call_t *c);
/* The media between the caller and every member.  UE_EXIT_*. */
int ue_call_media(ue_call_t *c);

/* Copy a kms-ue state file (the copy is 0600); UE_EXIT_*. */
int ue_call_copy_state(const char *from, const char *to);

/* dir/name into out. */
void ue_call_path(const ue_call_t *c, const char *name, char out[UE_CALL_PATH_MAX]);

#endif
