/*
 * kms-ue SDP (see ue_sdp.h): a line-by-line parser over a bounded input,
 * the builder of a call's offer and answer, and kms-ue sdp.
 */
#include "tools/ue_sdp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "mikey/msg.h"
#include "common/errcode.h"
#include "tools/ue_common.h"
#include "tools/ue_input.h"

/* A decimal number of at most digits digits in s[0..n), below max. */
static bool num(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 10) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return false;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max) {
		return false;
	}
	*out = v;
	return true;
}

/* Length of the token at s[0..n) up to a space. */
static size_t tok(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != ' ') {
		i++;
	}
	return i;
}

static bool starts(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	return n >= pl && memcmp(s, p, pl) == 0;
}

/* c=IN IP4 ADDR */
static int conn_line(const char *s, size_t n, char *addr)
{
	if (!starts(s, n, "IN IP4 ") || n - 7 == 0 || n - 7 > UE_SDP_ADDR_MAX) {
		return KMS_EMALFORMED;
	}
	for (size_t i = 7; i < n; i++) {
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.') {
			return KMS_EMALFORMED;
		}
	}
	memcpy(addr, s + 7, n - 7);
	addr[n - 7] = '\0';
	return KMS_EOK;
}

/* m=audio PORT PROTO FMT... */
static int media_line(const char *s, size_t n, ue_sdp_t *o)
{
	uint64_t port = 0;
	if (!starts(s, n, "audio ")) {
		return KMS_EOK; /* another medium: not ours */
	}
	s += 6;
	n -= 6;
	size_t t = tok(s, n);
	if (!num(s, t, 65535, &port) || t == n) {
		return KMS_EMALFORMED;
	}
	s += t + 1;
	n -= t + 1;
	t = tok(s, n);
	if (t == 0 || t > UE_SDP_PROTO_MAX) {
		return KMS_EMALFORMED;
	}
	memcpy(o->proto, s, t);
	o->proto[t] = '\0';
	o->port = (uint16_t)port;
	o->has_media = true;
	return KMS_EOK;
}

/* a=key-mgmt:PRTCL DATA and a=ssrc:N ... */
static int attr_line(const char *s, size_t n, bool in_media, ue_sdp_t *o)
{
	uint64_t v = 0;
	if (starts(s, n, "key-mgmt:mikey ")) {
		if (o->mikey_len != 0) {
			return KMS_EMALFORMED; /* two MIKEY messages */
		}
		size_t b = n - 15;
		if (b == 0 || b > UE_SDP_B64_MAX) {
			return b == 0 ? KMS_EMALFORMED : KMS_ELIMIT;
		}
		o->mikey = s + 15;
		o->mikey_len = b;
		o->mikey_session = !in_media;
	} else if (in_media && !o->has_ssrc && starts(s, n, "ssrc:")) {
		size_t t = tok(s + 5, n - 5);
		if (!num(s + 5, t, UINT32_MAX, &v)) {
			return KMS_EMALFORMED;
		}
		o->ssrc = (uint32_t)v;
		o->has_ssrc = true;
	}
	return KMS_EOK;
}

/* One line "x=value" (without its line end). */
static int one_line(const char *s, size_t n, size_t lineno, ue_sdp_t *o, int *media,
		    const char **why)
{
	if (n < 2 || s[1] != '=' || s[0] < 'a' || s[0] > 'z') {
		*why = "a line is not TYPE=VALUE";
		return KMS_EMALFORMED;
	}
	if (lineno == 0 && (n != 3 || memcmp(s, "v=0", 3) != 0)) {
		*why = "the first line is not v=0";
		return KMS_EMALFORMED;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*why = "a control character in a line";
			return KMS_EMALFORMED;
		}
	}
	int rc = KMS_EOK;
	if (s[0] == 'm') {
		(*media)++;
		if (*media == 1) {
			rc = media_line(s + 2, n - 2, o);
			*why = "bad m= line";
		}
	} else if (*media > 1) {
		return KMS_EOK; /* only the first medium counts */
	} else if (s[0] == 'c') {
		char addr[UE_SDP_ADDR_MAX + 1];
		rc = conn_line(s + 2, n - 2, addr);
		*why = "bad c= line (IN IP4 only)";
		if (rc == KMS_EOK && (*media == 1 || o->addr[0] == '\0')) {
			memcpy(o->addr, addr, sizeof(addr));
		}
	} else if (s[0] == 'a') {
		rc = attr_line(s + 2, n - 2, *media == 1, o);
		*why = rc == KMS_ELIMIT
			   ? "key-mgmt data too long"
			   : "bad or repeated a=key-mgmt:mikey, or bad a=ssrc";
	}
	return rc;
}

int ue_sdp_parse(const char *sdp, size_t len, ue_sdp_t *out, const char **why)
{
	ue_sdp_t o;
	int media = 0;
	size_t off = 0, lineno = 0;
	memset(&o, 0, sizeof(o));
	*why = "SDP larger than its bound";
	if (len > UE_SDP_MAX) {
		return KMS_ELIMIT;
	}
	while (off < len) {
		const char *nl = memchr(sdp + off, '\n', len - off);
		size_t end = nl != NULL ? (size_t)(nl - sdp) : len;
		size_t n = end - off;
		if (n > 0 && sdp[off + n - 1] == '\r') {
			n--;
		}
		if (n > UE_SDP_LINE_MAX) {
			*why = "SDP line longer than its bound";
			return KMS_ELIMIT;
		}
		int rc = one_line(sdp + off, n, lineno, &o, &media, why);
		if (rc != KMS_EOK) {
			return rc;
		}
		off = end + 1;
		lineno++;
	}
	if (lineno == 0) {
		*why = "empty SDP";
		return KMS_EMALFORMED;
	}
	*why = NULL;
	*out = o;
	return KMS_EOK;
}

int ue_sdp_mikey(const ue_sdp_t *s, uint8_t *out, size_t cap, size_t *out_len)
{
	if (s->mikey_len == 0) {
		return KMS_ENOENT;
	}
	return base64_decode(s->mikey, s->mikey_len, out, cap, out_len);
}

int ue_sdp_keymgmt_line(const uint8_t *msg, size_t len, char *out, size_t cap)
{
	static const char pre[] = "a=key-mgmt:mikey ";
	if (len == 0 || len > MIKEY_MSG_MAX || cap < sizeof(pre)) {
		return KMS_EINVAL;
	}
	memcpy(out, pre, sizeof(pre) - 1);
	return base64_encode(msg, len, out + sizeof(pre) - 1, cap - (sizeof(pre) - 1));
}

int ue_sdp_build(const ue_sdp_desc_t *d, char *out, size_t cap, size_t *len)
{
	static char km[UE_SDP_LINE_MAX + 1];
	int n = snprintf(out, cap,
			 "v=0\r\no=- %" PRIu64 " 1 IN IP4 %s\r\ns=kms-ue call\r\n"
			 "c=IN IP4 %s\r\nt=0 0\r\nm=audio %u RTP/SAVP 0\r\n"
			 "a=rtpmap:0 PCMU/8000\r\na=ssrc:%" PRIu32 " cname:kms-ue\r\n",
			 d->session_id, d->addr, d->addr, (unsigned)d->port, d->ssrc);
	if (n < 0 || (size_t)n >= cap) {
		return KMS_ESPACE;
	}
	size_t off = (size_t)n;
	if (d->mikey != NULL) {
		int rc = ue_sdp_keymgmt_line(d->mikey, d->mikey_len, km, sizeof(km));
		if (rc != KMS_EOK) {
			return rc;
		}
		n = snprintf(out + off, cap - off, "%s\r\n", km);
		if (n < 0 || (size_t)n >= cap - off) {
			return KMS_ESPACE;
		}
		off += (size_t)n;
	}
	*len = off;
	return KMS_EOK;
}

/* --- kms-ue sdp ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kms-ue sdp --extract --out FILE [SDP-FILE]\n"
		"       kms-ue sdp --line [MIKEY-FILE]\n"
		"\n"
		"--extract: read an SDP (file, or stdin without one or with -) and\n"
		"write the MIKEY message of its a=key-mgmt:mikey attribute (session\n"
		"or media level) as binary to --out.\n"
		"--line: read a MIKEY message (binary or base64; file or stdin) and\n"
		"print the a=key-mgmt:mikey line (RFC 4567) for an SDP.\n"
		"Bounds: SDP %d bytes, a line %d, the base64 %d.\n"
		"\n"
		"  --extract     SDP to MIKEY\n"
		"  --line        MIKEY to an SDP attribute line\n"
		"  --out FILE    where --extract writes the binary message\n"
		"  -h, --help    this text\n"
		"\n"
		"Exit: 0 done, 1 no valid MIKEY message, 2 usage or file error.\n",
		UE_SDP_MAX, UE_SDP_LINE_MAX, UE_SDP_B64_MAX);
}

static int sdp_extract(const char *in, const char *out)
{
	static char sdp[UE_SDP_MAX + 1];
	static uint8_t msg[MIKEY_MSG_MAX];
	static mikey_msg_t m;
	size_t len = 0, mlen = 0;
	const char *why = NULL;
	int rc = ue_read_all(in, (uint8_t *)sdp, UE_SDP_MAX, &len);
	if (rc != KMS_EOK) {
		ue_fail(in != NULL ? in : "stdin", rc);
		return rc == KMS_ELIMIT ? UE_EXIT_INVALID : UE_EXIT_USAGE;
	}
	ue_sdp_t s;
	rc = ue_sdp_parse(sdp, len, &s, &why);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: not a usable SDP: %s\n", ue_prog, why);
		return UE_EXIT_INVALID;
	}
	rc = ue_sdp_mikey(&s, msg, sizeof(msg), &mlen);
	if (rc == KMS_EOK) {
		rc = mikey_msg_decode(msg, mlen, &m);
	}
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: no valid a=key-mgmt:mikey in the SDP (%s)\n",
			ue_prog, kms_strerror(rc));
		return UE_EXIT_INVALID;
	}
	return ue_write_file(out, msg, mlen) == KMS_EOK ? UE_EXIT_OK : UE_EXIT_USAGE;
}

static int sdp_line(const char *in)
{
	static uint8_t msg[MIKEY_MSG_MAX];
	static char line[UE_SDP_LINE_MAX + 1];
	static mikey_msg_t m;
	size_t len = 0;
	int rc = ue_load_msg(in != NULL ? in : "-", msg, sizeof(msg), &len, &m);
	if (rc != UE_EXIT_OK) {
		return rc;
	}
	if (ue_sdp_keymgmt_line(msg, len, line, sizeof(line)) != KMS_EOK ||
	    printf("%s\n", line) < 0 || fflush(stdout) != 0) {
		return UE_EXIT_USAGE;
	}
	return UE_EXIT_OK;
}

int ue_sdp_cmd(int argc, char **argv)
{
	bool extract = false, line = false;
	const char *out = NULL;
	const ue_opt_t opts[] = {
		{ UE_FLAG("extract", 0, &extract) },
		{ UE_FLAG("line", 0, &line) },
		{ UE_STRING("out", 0, &out) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 1 };
	int first = 0;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
	}
	const char *in = first < argc ? argv[first] : NULL;
	if (extract == line || (extract && out == NULL) || (line && out != NULL)) {
		fprintf(stderr, "%s: --extract --out FILE, or --line\n", ue_prog);
		usage(stderr);
		return UE_EXIT_USAGE;
	}
	return extract ? sdp_extract(in, out) : sdp_line(in);
}
