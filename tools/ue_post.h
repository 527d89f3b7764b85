/*
 * kms-ue post: send a MIKEY message to a KMS over Ua (docs/http-binding.md)
 * with libcurl, so that a walkthrough needs no curl: POST --in as
 * application/mikey to --url?requesttype=TYPE, over https with --cacert,
 * and write the answer (at most MIKEY_MSG_MAX bytes) to --out.
 */
#ifndef KMS_TOOLS_UE_POST_H
#define KMS_TOOLS_UE_POST_H

/* argv[0] is the command name; returns the exit status. */
int ue_post_cmd(int argc, char **argv);

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one POST sends (kms-ue call). */
typedef struct {
	const char *url;    /* the Ua URL, without a query */
	const char *type;   /* "ticketrequest" or "ticketresolve" */
	const char *cacert; /* may be NULL */
	unsigned timeout;   /* seconds; 0: the default */
	const uint8_t *msg;
	size_t len;
} ue_post_req_t;

#define UE_POST_TRACE_MAX (64 * 1024)

/* The HTTP bytes of an exchange as libcurl sent and received them (inside
 * TLS over https) and the connection's addresses, for a capture. */
typedef struct {
	uint8_t req[UE_POST_TRACE_MAX];
	uint8_t resp[UE_POST_TRACE_MAX];
	size_t req_len, resp_len;
	bool over; /* more than UE_POST_TRACE_MAX bytes: truncated */
	char local_ip[64], remote_ip[64];
	uint16_t local_port, remote_port;
} ue_post_trace_t;

/*
 * POST q->msg; the body of the answer (any status) into ans, *status the
 * HTTP status.  The status line goes to stderr as kms-ue post prints it.
 * trace may be NULL.  KMS_EOK, KMS_EIO (no answer, said why) or
 * KMS_ELIMIT (an answer over cap).
 */
int ue_post_send(const ue_post_req_t *q, uint8_t *ans, size_t cap, size_t *ans_len,
		 long *status, ue_post_trace_t *trace);

#endif
