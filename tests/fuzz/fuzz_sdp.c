/*
 * libFuzzer harness for kms-ue call's network parsers: the SDP of an
 * offer or answer (tools/ue_sdp.c) and the SIP message around it
 * (tools/ue_sip.c), both read from a UDP socket.
 *
 * Input: byte 0 even: the rest is an SDP; odd: a SIP message.  Checked:
 *  - SDP: a key-mgmt value lies inside the input and within its bound,
 *    strings are NUL-terminated in their fields, and decoding the base64
 *    never writes past the output;
 *  - SIP: the body lies inside the input and is the input's tail, every
 *    kept header value is NUL-terminated in its field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "tools/ue_sdp.h"
#include "tools/ue_sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL) {
		abort();
	}
}

static void sdp(const char *in, size_t n)
{
	static uint8_t out[MIKEY_MSG_MAX];
	ue_sdp_t s;
	const char *why = NULL;
	size_t len = 0;
	if (ue_sdp_parse(in, n, &s, &why) != KMS_EOK) {
		if (why == NULL) {
			abort();
		}
		return;
	}
	terminated(s.addr, sizeof(s.addr));
	terminated(s.proto, sizeof(s.proto));
	if (s.mikey_len > 0 && (s.mikey < in || s.mikey + s.mikey_len > in + n ||
				s.mikey_len > UE_SDP_B64_MAX)) {
		abort();
	}
	if (ue_sdp_mikey(&s, out, sizeof(out), &len) == KMS_EOK && len > sizeof(out)) {
		abort();
	}
}

static void sip(const char *in, size_t n)
{
	ue_sip_msg_t m;
	const char *why = NULL;
	if (ue_sip_parse(in, n, &m, &why) != KMS_EOK) {
		if (why == NULL) {
			abort();
		}
		return;
	}
	if (m.body != NULL && (m.body < in || m.body + m.body_len != in + n)) {
		abort();
	}
	terminated(m.via, sizeof(m.via));
	terminated(m.from, sizeof(m.from));
	terminated(m.to, sizeof(m.to));
	terminated(m.call_id, sizeof(m.call_id));
	terminated(m.cseq, sizeof(m.cseq));
	terminated(m.ctype, sizeof(m.ctype));
	terminated(m.method, sizeof(m.method));
	terminated(m.uri, sizeof(m.uri));
	if (m.body != NULL) {
		sdp(m.body, m.body_len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0) {
		return 0;
	}
	/* A private copy: the parsers get exactly size - 1 readable bytes. */
	char *in = malloc(size - 1 > 0 ? size - 1 : 1);
	if (in == NULL) {
		return 0;
	}
	memcpy(in, data + 1, size - 1);
	if (data[0] % 2 == 0) {
		sdp(in, size - 1);
	} else {
		sip(in, size - 1);
	}
	free(in);
	return 0;
}
