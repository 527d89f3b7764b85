/*
 * kms-ue SIP (see ue_sip.h): a bounded line parser and three builders.
 */
#include "tools/ue_sip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errcode.h"

/* The value of a header line after "Name:" and blanks, copied to dst. */
static int keep(char *dst, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n > UE_SIP_VALUE_MAX) {
		return KMS_ELIMIT;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return KMS_EOK;
}

static bool hname(const char *s, size_t n, const char *name, const char *compact,
		  size_t *vo)
{
	size_t l = strlen(name);
	if (n > l && s[l] == ':' && strncasecmp(s, name, l) == 0) {
		*vo = l + 1;
		return true;
	}
	if (compact != NULL && n > 1 && s[1] == ':' && (s[0] | 0x20) == compact[0]) {
		*vo = 2;
		return true;
	}
	return false;
}

static int header(const char *s, size_t n, ue_sip_msg_t *o, long *clen)
{
	size_t vo = 0;
	if (hname(s, n, "Via", "v", &vo)) {
		return o->via[0] ? KMS_EOK : keep(o->via, s + vo, n - vo);
	}
	if (hname(s, n, "From", "f", &vo)) {
		return keep(o->from, s + vo, n - vo);
	}
	if (hname(s, n, "To", "t", &vo)) {
		return keep(o->to, s + vo, n - vo);
	}
	if (hname(s, n, "Call-ID", "i", &vo)) {
		return keep(o->call_id, s + vo, n - vo);
	}
	if (hname(s, n, "CSeq", NULL, &vo)) {
		return keep(o->cseq, s + vo, n - vo);
	}
	if (hname(s, n, "Content-Type", "c", &vo)) {
		return keep(o->ctype, s + vo, n - vo);
	}
	if (hname(s, n, "Content-Length", "l", &vo)) {
		char v[UE_SIP_VALUE_MAX + 1];
		if (keep(v, s + vo, n - vo) != KMS_EOK || v[0] == '\0' ||
		    strspn(v, "0123456789") != strlen(v) || strlen(v) > 6) {
			return KMS_EMALFORMED;
		}
		*clen = atol(v); /* 1 to 6 digits, checked */
	}
	return KMS_EOK;
}

/* "SIP/2.0 NNN reason" or "METHOD uri SIP/2.0". */
static int start_line(const char *s, size_t n, ue_sip_msg_t *o)
{
	if (n > 12 && memcmp(s, "SIP/2.0 ", 8) == 0) {
		if (s[8] < '1' || s[8] > '6' || s[9] < '0' || s[9] > '9' || s[10] < '0' ||
		    s[10] > '9' || s[11] != ' ') {
			return KMS_EMALFORMED;
		}
		o->status =
		    (unsigned)((s[8] - '0') * 100 + (s[9] - '0') * 10 + s[10] - '0');
		return KMS_EOK;
	}
	const char *sp1 = memchr(s, ' ', n);
	if (sp1 == NULL || sp1 == s || (size_t)(sp1 - s) >= sizeof(o->method)) {
		return KMS_EMALFORMED;
	}
	size_t ml = (size_t)(sp1 - s), rest = n - ml - 1;
	const char *sp2 = memchr(sp1 + 1, ' ', rest);
	if (sp2 == NULL || sp2 == sp1 + 1 || (size_t)(sp2 - sp1 - 1) > UE_SIP_VALUE_MAX ||
	    (size_t)(s + n - sp2 - 1) != 7 || memcmp(sp2 + 1, "SIP/2.0", 7) != 0) {
		return KMS_EMALFORMED;
	}
	for (size_t i = 0; i < ml; i++) {
		if (s[i] < 'A' || s[i] > 'Z') {
			return KMS_EMALFORMED;
		}
	}
	memcpy(o->method, s, ml);
	o->method[ml] = '\0';
	memcpy(o->uri, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	o->uri[sp2 - sp1 - 1] = '\0';
	o->request = true;
	return KMS_EOK;
}

/* The lines up to the empty one; *off at the body. */
static int head(const char *msg, size_t len, ue_sip_msg_t *o, long *clen, size_t *off,
		const char **why)
{
	size_t lineno = 0;
	while (*off < len) {
		const char *nl = memchr(msg + *off, '\n', len - *off);
		if (nl == NULL) {
			*why = "no end of the header";
			return KMS_EMALFORMED;
		}
		size_t n = (size_t)(nl - msg) - *off;
		const char *s = msg + *off;
		*off += n + 1;
		if (n > 0 && s[n - 1] == '\r') {
			n--;
		}
		if (n == 0) {
			return lineno > 0 ? KMS_EOK : KMS_EMALFORMED;
		}
		if (n > UE_SIP_LINE_MAX || lineno > UE_SIP_HEADERS_MAX) {
			*why = "a line too long or too many header lines";
			return KMS_ELIMIT;
		}
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
				*why = "a control character in the header";
				return KMS_EMALFORMED;
			}
		}
		int rc = lineno == 0 ? start_line(s, n, o) : header(s, n, o, clen);
		*why = lineno == 0 ? "bad start line" : "bad header line";
		if (rc != KMS_EOK) {
			return rc;
		}
		lineno++;
	}
	*why = "no end of the header";
	return KMS_EMALFORMED;
}

int ue_sip_parse(const char *msg, size_t len, ue_sip_msg_t *out, const char **why)
{
	static ue_sip_msg_t o; /* large; kms-ue is single-threaded */
	long clen = -1;
	size_t off = 0;
	memset(&o, 0, sizeof(o));
	*why = "message larger than its bound";
	if (len > UE_SIP_MAX) {
		return KMS_ELIMIT;
	}
	int rc = head(msg, len, &o, &clen, &off, why);
	if (rc != KMS_EOK) {
		return rc;
	}
	if (clen < 0 || (size_t)clen != len - off || o.call_id[0] == '\0' ||
	    o.cseq[0] == '\0' || o.from[0] == '\0' || o.to[0] == '\0' ||
	    o.via[0] == '\0') {
		*why = "Content-Length, Via, From, To, Call-ID or CSeq missing or wrong";
		return KMS_EMALFORMED;
	}
	if (clen > 0) {
		o.body = msg + off;
		o.body_len = (size_t)clen;
	}
	*why = NULL;
	*out = o;
	return KMS_EOK;
}

static int done(int n, size_t cap, size_t *len)
{
	if (n < 0 || (size_t)n >= cap) {
		return KMS_ESPACE;
	}
	*len = (size_t)n;
	return KMS_EOK;
}

int ue_sip_invite(const ue_sip_invite_t *in, char *out, size_t cap, size_t *len)
{
	int n = snprintf(out, cap,
			 "INVITE sip:%s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;branch=%s\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:%s>;tag=%s\r\n"
			 "To: <sip:%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Contact: <sip:%s@%s:%u>\r\n"
			 "Content-Type: application/sdp\r\n"
			 "Content-Length: %zu\r\n\r\n%.*s",
			 in->to, in->addr, (unsigned)in->port, in->branch, in->from,
			 in->branch + 7, in->to, in->call_id, in->from, in->addr,
			 (unsigned)in->port, in->body_len, (int)in->body_len, in->body);
	return done(n, cap, len);
}

int ue_sip_response(const ue_sip_msg_t *req, unsigned status, const char *reason,
		    const char *tag, const char *body, size_t body_len, char *out,
		    size_t cap, size_t *len)
{
	bool has_tag = strstr(req->to, ";tag=") != NULL;
	int n =
	    snprintf(out, cap,
		     "SIP/2.0 %u %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s%s%s\r\n"
		     "Call-ID: %s\r\nCSeq: %s\r\n%s"
		     "Content-Length: %zu\r\n\r\n%.*s",
		     status, reason, req->via, req->from, req->to,
		     has_tag ? "" : ";tag=", has_tag ? "" : tag, req->call_id, req->cseq,
		     body != NULL ? "Content-Type: application/sdp\r\n" : "",
		     body != NULL ? body_len : 0, body != NULL ? (int)body_len : 0,
		     body != NULL ? body : "");
	return done(n, cap, len);
}

int ue_sip_ack(const ue_sip_msg_t *resp, const char *uri, const char *addr, uint16_t port,
	       const char *branch, char *out, size_t cap, size_t *len)
{
	unsigned cseq = 0;
	if (sscanf(resp->cseq, "%u", &cseq) != 1) {
		return KMS_EMALFORMED;
	}
	int n = snprintf(out, cap,
			 "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
			 "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
			 "CSeq: %u ACK\r\nContent-Length: 0\r\n\r\n",
			 uri, addr, (unsigned)port, branch, resp->from, resp->to,
			 resp->call_id, cseq);
	return done(n, cap, len);
}
