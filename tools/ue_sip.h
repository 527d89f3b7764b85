/*
 * kms-ue call: the few SIP messages of a call over UDP (RFC 3261, no
 * proxy, no retransmission on loopback): INVITE with the SDP offer,
 * 200 OK with the answer (or 488 when the offer's keys are refused), ACK.
 *
 * The parser reads from the network and is bounded: a message is at most
 * UE_SIP_MAX bytes, the start line and each header line at most
 * UE_SIP_LINE_MAX, at most UE_SIP_HEADERS_MAX header lines; the body must
 * be exactly Content-Length bytes.  The header values kept (Via, From,
 * To, Call-ID, CSeq, Content-Type) are copied, truncated lines refused.
 */
#ifndef KMS_TOOLS_UE_SIP_H
#define KMS_TOOLS_UE_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/ue_sdp.h"

#define UE_SIP_LINE_MAX 512
#define UE_SIP_HEADERS_MAX 32
#define UE_SIP_MAX (UE_SDP_MAX + UE_SIP_HEADERS_MAX * UE_SIP_LINE_MAX)
#define UE_SIP_VALUE_MAX 255

typedef struct {
	bool request;
	char method[16];		/* request */
	char uri[UE_SIP_VALUE_MAX + 1]; /* request */
	unsigned status;		/* response: 100..699 */
	char via[UE_SIP_VALUE_MAX + 1];
	char from[UE_SIP_VALUE_MAX + 1];
	char to[UE_SIP_VALUE_MAX + 1];
	char call_id[UE_SIP_VALUE_MAX + 1];
	char cseq[UE_SIP_VALUE_MAX + 1];
	char ctype[UE_SIP_VALUE_MAX + 1];
	const char *body; /* into the input; NULL without */
	size_t body_len;
} ue_sip_msg_t;

/* Parse msg[0..len) into *out; KMS_ELIMIT / KMS_EMALFORMED (why set). */
int ue_sip_parse(const char *msg, size_t len, ue_sip_msg_t *out, const char **why);

/* What an INVITE says. */
typedef struct {
	const char *from, *to; /* identities, e.g. alice@example.org */
	const char *addr;      /* our dotted IPv4 */
	uint16_t port;	       /* our SIP port */
	const char *call_id;
	const char *branch; /* "z9hG4bK" + random; the rest is the From tag */
	const char *body;   /* SDP offer */
	size_t body_len;
} ue_sip_invite_t;

/* An INVITE into out (NUL-terminated); KMS_ESPACE when it does not fit. */
int ue_sip_invite(const ue_sip_invite_t *in, char *out, size_t cap, size_t *len);

/*
 * A response to the request req: status and reason, req's Via, From,
 * Call-ID and CSeq, its To with ";tag=TAG" added, and an SDP body (may be
 * NULL).
 */
int ue_sip_response(const ue_sip_msg_t *req, unsigned status, const char *reason,
		    const char *tag, const char *body, size_t body_len, char *out,
		    size_t cap, size_t *len);

/* The ACK for the 2xx resp of INVITE inv (sent to uri). */
int ue_sip_ack(const ue_sip_msg_t *resp, const char *uri, const char *addr, uint16_t port,
	       const char *branch, char *out, size_t cap, size_t *len);

#endif
