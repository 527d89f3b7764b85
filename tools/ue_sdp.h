/*
 * kms-ue: the minimal SDP of a kms-ue call (RFC 4566) with the MIKEY
 * message in a key-mgmt attribute (RFC 4567):
 *
 *   v=0
 *   o=- SESSION 1 IN IP4 ADDR
 *   s=kms-ue call
 *   c=IN IP4 ADDR
 *   t=0 0
 *   m=audio PORT RTP/SAVP 0
 *   a=rtpmap:0 PCMU/8000
 *   a=ssrc:SSRC cname:kms-ue
 *   a=key-mgmt:mikey BASE64
 *
 * The parser reads SDP from the network: the whole text is at most
 * UE_SDP_MAX bytes, each line at most UE_SDP_LINE_MAX, the base64 at most
 * UE_SDP_B64_MAX; lines end in CRLF or LF; "a=key-mgmt:mikey" may be at
 * session or media level (one of them, once); other protocols' key-mgmt
 * lines and unknown lines are skipped.  Only the first m= line counts.
 */
#ifndef KMS_TOOLS_UE_SDP_H
#define KMS_TOOLS_UE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"

#define UE_SDP_B64_MAX (4 * ((MIKEY_MSG_MAX + 2) / 3))
#define UE_SDP_LINE_MAX (UE_SDP_B64_MAX + 32)
#define UE_SDP_MAX (UE_SDP_LINE_MAX + 2048)
#define UE_SDP_ADDR_MAX 15 /* dotted IPv4 */
#define UE_SDP_PROTO_MAX 15

typedef struct {
	char addr[UE_SDP_ADDR_MAX + 1]; /* c= (media level wins), "" if none */
	uint16_t port;			/* of the first m=audio line */
	char proto[UE_SDP_PROTO_MAX + 1];
	bool has_media;
	bool has_ssrc;
	uint32_t ssrc;	    /* a=ssrc of the media */
	const char *mikey;  /* base64 of a=key-mgmt:mikey, into the input */
	size_t mikey_len;   /* 0: none */
	bool mikey_session; /* found at session level */
} ue_sdp_t;

/*
 * Parse sdp[0..len).  KMS_EOK with *out; KMS_ELIMIT (a size over its
 * bound) or KMS_EMALFORMED (why says what) otherwise.
 */
int ue_sdp_parse(const char *sdp, size_t len, ue_sdp_t *out, const char **why);

/* The MIKEY bytes of a parsed SDP (base64-decoded); KMS_ENOENT without. */
int ue_sdp_mikey(const ue_sdp_t *s, uint8_t *out, size_t cap, size_t *out_len);

/* "a=key-mgmt:mikey BASE64" (no line end) for msg; NUL-terminated. */
int ue_sdp_keymgmt_line(const uint8_t *msg, size_t len, char *out, size_t cap);

/* What ue_sdp_build writes. */
typedef struct {
	const char *addr; /* dotted IPv4 */
	uint16_t port;
	uint32_t ssrc;
	uint64_t session_id;
	const uint8_t *mikey; /* may be NULL: no key-mgmt line */
	size_t mikey_len;
} ue_sdp_desc_t;

/* The SDP above into out (NUL-terminated, CRLF lines), *len its length. */
int ue_sdp_build(const ue_sdp_desc_t *d, char *out, size_t cap, size_t *len);

/* kms-ue sdp: argv[0] is the command name; returns the exit status. */
int ue_sdp_cmd(int argc, char **argv);

#endif
