/*
 * kms-ue post (see ue_post.h).  What a tester needs to see goes to stderr:
 * the HTTP status and the X-Request-Id and X-KMS-Error headers (the
 * request id finds the KMS's log line and audit row).  The answer is
 * bounded: more than MIKEY_MSG_MAX bytes stops the transfer.
 *
 * Exit: 0 a 200 answer that is not a MIKEY Error; 1 a MIKEY Error answer,
 * any other status, or no answer; 2 usage or a file error.
 */
#include "tools/ue_post.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errcode.h"
#include "mikey/msg.h"
#include "mikey/payload.h"
#include "tools/ue_common.h"

#define TIMEOUT_DEFAULT 10
#define TIMEOUT_MAX 600
#define URL_MAX 2048
#define HDR_VALUE_MAX 128 /* of X-Request-Id / X-KMS-Error as printed */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kms-ue post --url URL --type ticketrequest|ticketresolve\n"
		"                   --in FILE --out FILE [--cacert FILE] "
		"[--timeout SECONDS]\n"
		"\n"
		"POST the MIKEY message in --in (binary, base64 or SDP) to the KMS\n"
		"at --url (e.g. https://kms.example.org:8443/kms) with\n"
		"?requesttype=--type, and write the answer to --out.  The HTTP\n"
		"status and the X-Request-Id and X-KMS-Error headers go to stderr.\n"
		"\n"
		"  --url URL         the KMS's Ua URL (http or https, no query)\n"
		"  --type TYPE       ticketrequest or ticketresolve\n"
		"  --in FILE         the REQUEST_INIT or RESOLVE_INIT to send\n"
		"  --out FILE        where the answer goes (written when there is "
		"one)\n"
		"  --cacert FILE     CA certificates (PEM) to verify an https KMS\n"
		"                    with, instead of the system's\n"
		"  --timeout SECONDS for the whole request, default %d\n"
		"  -h, --help        this text\n"
		"\n"
		"Exit: 0 answered 200 with a MIKEY message that is not an Error,\n"
		"1 a MIKEY Error answer, another status or no answer, 2 usage or\n"
		"file error.\n",
		TIMEOUT_DEFAULT);
}

typedef struct {
	const char *url, *type, *in, *out, *cacert;
	uint32_t timeout;
} args_t;

static int parse_args(int argc, char **argv, args_t *a)
{
	const ue_opt_t opts[] = {
		{ UE_STRING("url", 0, &a->url), .required = true },
		{ UE_STRING("type", 0, &a->type), .required = true },
		{ UE_STRING("in", 0, &a->in), .required = true },
		{ UE_STRING("out", 0, &a->out), .required = true },
		{ UE_STRING("cacert", 0, &a->cacert) },
		{ UE_U32("timeout", 0, &a->timeout, 1, TIMEOUT_MAX, "seconds") },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	a->timeout = TIMEOUT_DEFAULT;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc;
	}
	if ((strncmp(a->url, "http://", 7) != 0 && strncmp(a->url, "https://", 8) != 0) ||
	    strchr(a->url, '?') != NULL || strchr(a->url, '#') != NULL ||
	    strlen(a->url) > URL_MAX - 64) {
		fprintf(stderr, "%s: --url: an http:// or https:// URL without a query\n",
			ue_prog);
		return -1;
	}
	if (strcmp(a->type, "ticketrequest") != 0 &&
	    strcmp(a->type, "ticketresolve") != 0) {
		fprintf(stderr, "%s: --type: ticketrequest or ticketresolve\n", ue_prog);
		return -1;
	}
	return 0;
}

typedef struct {
	uint8_t body[MIKEY_MSG_MAX];
	size_t len;
	bool over;
	char rid[HDR_VALUE_MAX], err[HDR_VALUE_MAX];
} answer_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	answer_t *r = ctx;
	size_t n = size * nmemb;
	if (n > sizeof(r->body) - r->len) {
		r->over = true;
		return 0; /* libcurl stops the transfer */
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	return n;
}

/* Keep the header's value, printable ASCII only and truncated. */
static void keep(char *dst, const char *v, size_t vl)
{
	size_t o = 0;
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	for (size_t i = 0; i < vl && o + 1 < HDR_VALUE_MAX; i++) {
		if (v[i] >= 0x20 && v[i] < 0x7f) {
			dst[o++] = v[i];
		}
	}
	dst[o] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	answer_t *r = ctx;
	size_t n = size * nmemb;
	static const char rid[] = "X-Request-Id:", err[] = "X-KMS-Error:";
	if (n > sizeof(rid) - 1 && strncasecmp(data, rid, sizeof(rid) - 1) == 0) {
		keep(r->rid, data + sizeof(rid) - 1, n - (sizeof(rid) - 1));
	} else if (n > sizeof(err) - 1 && strncasecmp(data, err, sizeof(err) - 1) == 0) {
		keep(r->err, data + sizeof(err) - 1, n - (sizeof(err) - 1));
	}
	return n;
}

/* The HTTP bytes each way, for kms-ue call --pcap. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
	ue_post_trace_t *t = ctx;
	uint8_t *dst = NULL;
	size_t *len = NULL;
	(void)h;
	if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT) {
		dst = t->req;
		len = &t->req_len;
	} else if (type == CURLINFO_HEADER_IN || type == CURLINFO_DATA_IN) {
		dst = t->resp;
		len = &t->resp_len;
	} else {
		return 0;
	}
	if (size > UE_POST_TRACE_MAX - *len) {
		t->over = true;
		return 0;
	}
	memcpy(dst + *len, data, size);
	*len += size;
	return 0;
}

static void trace_ports(CURL *h, ue_post_trace_t *t)
{
	char *ip = NULL;
	long port = 0;
	if (curl_easy_getinfo(h, CURLINFO_LOCAL_IP, &ip) == CURLE_OK && ip != NULL) {
		snprintf(t->local_ip, sizeof(t->local_ip), "%s", ip);
	}
	if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL) {
		snprintf(t->remote_ip, sizeof(t->remote_ip), "%s", ip);
	}
	if (curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &port) == CURLE_OK) {
		t->local_port = (uint16_t)port;
	}
	if (curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK) {
		t->remote_port = (uint16_t)port;
	}
}

/* One POST; the status in *status (0: no answer, said why). */
static int send_msg(const args_t *a, const uint8_t *msg, size_t len, answer_t *r,
		    long *status, ue_post_trace_t *trace)
{
	char url[URL_MAX];
	struct curl_slist *hdrs =
	    curl_slist_append(NULL, "Content-Type: application/mikey");
	/* No "Expect: 100-continue" round trip for a message of a few KB. */
	struct curl_slist *more =
	    hdrs != NULL ? curl_slist_append(hdrs, "Expect:") : NULL;
	hdrs = more != NULL ? more : hdrs;
	CURL *h = curl_easy_init();
	int ret = -1;
	*status = 0;
	if (h == NULL || hdrs == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		goto cleanup;
	}
	snprintf(url, sizeof(url), "%s?requesttype=%s", a->url, a->type);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)a->timeout);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)msg);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kms-ue/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (a->cacert != NULL) {
		curl_easy_setopt(h, CURLOPT_CAINFO, a->cacert);
	}
	if (trace != NULL) {
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, trace);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "%s: %s: %s\n", ue_prog, a->url,
			r->over ? "answer larger than a MIKEY message"
				: curl_easy_strerror(rc));
		goto cleanup;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (trace != NULL) {
		trace_ports(h, trace);
	}
	ret = 0;
cleanup:
	curl_slist_free_all(hdrs);
	if (h != NULL) {
		curl_easy_cleanup(h);
	}
	return ret;
}

/* The answer's verdict: UE_EXIT_OK for a MIKEY message that is no Error. */
static int judge(const answer_t *r, long status)
{
	static mikey_msg_t m; /* large; kms-ue is single-threaded */
	if (r->len == 0) {
		return UE_EXIT_INVALID;
	}
	if (mikey_msg_decode(r->body, r->len, &m) != KMS_EOK) {
		fprintf(stderr, "%s: the answer is not a MIKEY message\n", ue_prog);
		return UE_EXIT_INVALID;
	}
	if (m.hdr.data_type == MIKEY_DT_ERROR) {
		ue_report_error_msg("the KMS", &m, NULL, NULL, 0);
		return UE_EXIT_INVALID;
	}
	return status == 200 ? UE_EXIT_OK : UE_EXIT_INVALID;
}

int ue_post_cmd(int argc, char **argv)
{
	static uint8_t msg[MIKEY_MSG_MAX];
	static mikey_msg_t m;
	static answer_t r;
	args_t a = { 0 };
	size_t len = 0;
	long status = 0;
	int rc = parse_args(argc, argv, &a);
	if (rc != 0) {
		return rc > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
	}
	rc = ue_load_msg(a.in, msg, sizeof(msg), &len, &m);
	if (rc != UE_EXIT_OK) {
		return rc;
	}
	memset(&r, 0, sizeof(r));
	if (send_msg(&a, msg, len, &r, &status, NULL) != 0) {
		return UE_EXIT_INVALID;
	}
	fprintf(stderr, "HTTP %ld%s%s%s%s\n", status, r.rid[0] ? " X-Request-Id: " : "",
		r.rid, r.err[0] ? " X-KMS-Error: " : "", r.err);
	if (r.len > 0 && ue_write_file(a.out, r.body, r.len) != KMS_EOK) {
		return UE_EXIT_USAGE;
	}
	return judge(&r, status);
}

int ue_post_send(const ue_post_req_t *q, uint8_t *ans, size_t cap, size_t *ans_len,
		 long *status, ue_post_trace_t *trace)
{
	static answer_t r;
	args_t a = { .url = q->url,
		     .type = q->type,
		     .cacert = q->cacert,
		     .timeout = q->timeout != 0 ? q->timeout : TIMEOUT_DEFAULT };
	memset(&r, 0, sizeof(r));
	if (trace != NULL) {
		trace->req_len = trace->resp_len = 0;
		trace->over = false;
	}
	if (send_msg(&a, q->msg, q->len, &r, status, trace) != 0) {
		return KMS_EIO;
	}
	fprintf(stderr, "%s: %s: HTTP %ld%s%s%s%s\n", ue_prog, q->type, *status,
		r.rid[0] ? " X-Request-Id: " : "", r.rid,
		r.err[0] ? " X-KMS-Error: " : "", r.err);
	if (r.len > cap) {
		return KMS_ELIMIT;
	}
	memcpy(ans, r.body, r.len);
	*ans_len = r.len;
	return KMS_EOK;
}
