/*
 * libFuzzer harness for the Ua/Zk routing decision (kms/http_frame.c):
 * what kmsd does with a request from its method, path, query arguments
 * and headers, before and while it reads the body.
 *
 * Input, lines ending in '\n':
 *   listener ("Zk..." for Zk, anything else Ua)
 *   method
 *   path
 *   query (k=v&k2&..., %XX decoded as MHD does: a %00 makes the decoded
 *          length exceed strlen)
 *   headers ("Name: value"), up to an empty line
 *   body (the rest), fed in two pieces
 * Checked: the decision is one of the three actions; a reply has a status
 * and a text; a refusal's status is the error table's; a request that gets
 * its body is a POST to the configured path with a known requesttype (only
 * ticketresolve on Zk), an application/mikey type, unambiguous framing and
 * a cap within max_body, and the body buffer never holds more than the cap;
 * ambiguous framing (counted here on its own) is always refused; Zk never
 * answers the health paths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errcode.h"
#include "kms/http_frame.h"
#include "net/listener.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KV_MAX 64
#define MAX_BODY 2048

typedef struct {
	char *text; /* NUL-separated copy of the input */
	char *line[4];
	net_kv_t args[KV_MAX], hdr[KV_MAX];
	size_t nargs, nhdr;
	const char *body;
	size_t body_len;
} input_t;

static int hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX decoding in place, NUL-terminated; the decoded length. */
static size_t unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r != '\0'; r++) {
		int h, l;
		if (*r == '%' && (h = hex(r[1])) >= 0 && (l = hex(r[2])) >= 0) {
			*w++ = (char)(h * 16 + l);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void split_query(input_t *in, char *q)
{
	while (q != NULL && *q != '\0' && in->nargs < KV_MAX) {
		char *amp = strchr(q, '&');
		if (amp != NULL) {
			*amp = '\0';
		}
		char *eq = strchr(q, '=');
		net_kv_t *a = &in->args[in->nargs++];
		if (eq != NULL) {
			*eq = '\0';
			a->value = eq + 1;
			a->value_len = unescape(eq + 1);
		}
		a->key = q;
		a->key_len = unescape(q);
		q = amp != NULL ? amp + 1 : NULL;
	}
}

/* Cut the next line off *p (NULL when there is none). */
static char *next_line(char **p, char *end)
{
	if (*p == NULL || *p >= end) {
		return NULL;
	}
	char *l = *p, *nl = memchr(l, '\n', (size_t)(end - l));
	if (nl == NULL) {
		*p = end;
		return l;
	}
	*nl = '\0';
	*p = nl + 1;
	return l;
}

static int split(input_t *in, const uint8_t *data, size_t size)
{
	memset(in, 0, sizeof(*in));
	in->text = malloc(size + 1);
	if (in->text == NULL) {
		return -1;
	}
	memcpy(in->text, data, size);
	in->text[size] = '\0';
	char *p = in->text, *end = in->text + size;
	for (int i = 0; i < 4; i++) {
		in->line[i] = next_line(&p, end);
		if (in->line[i] == NULL) {
			return -1;
		}
	}
	split_query(in, in->line[3]);
	char *h;
	while ((h = next_line(&p, end)) != NULL && *h != '\0' && in->nhdr < KV_MAX) {
		char *colon = strchr(h, ':');
		if (colon == NULL) {
			continue;
		}
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t') {
			v++;
		}
		in->hdr[in->nhdr++] = (net_kv_t){ h, strlen(h), v, strlen(v) };
	}
	in->body = p;
	in->body_len = p != NULL && p < end ? (size_t)(end - p) : 0;
	return 0;
}

static int framing_ambiguous(const input_t *in)
{
	unsigned cl = 0, te = 0;
	for (size_t i = 0; i < in->nhdr; i++) {
		cl += strcasecmp(in->hdr[i].key, "content-length") == 0;
		te += strcasecmp(in->hdr[i].key, "transfer-encoding") == 0;
	}
	return cl > 1 || (cl == 1 && te > 0);
}

/* The body as kmsd takes it: at most the cap, refused past it. */
static void take_body(const input_t *in, size_t cap)
{
	net_body_t b;
	if (net_body_alloc(&b, cap) != KMS_EOK) {
		return;
	}
	size_t half = in->body_len / 2;
	int r1 = net_body_append(&b, in->body, half);
	int r2 = net_body_append(&b, in->body + half, in->body_len - half);
	if (b.len > b.cap || b.cap != cap ||
	    ((r1 == KMS_EOK && r2 == KMS_EOK) != (in->body_len <= cap))) {
		abort();
	}
	net_body_free(&b);
}

static void check(const kms_frame_cfg_t *cfg, const input_t *in, const kms_frame_t *d)
{
	switch (d->action) {
	case KMS_FRAME_REPLY:
		if (d->status < 200 || d->status > 599 || d->text == NULL ||
		    d->text[0] == '\0' ||
		    (d->error != 0 && d->status != (unsigned)kms_err_http(d->error)) ||
		    (cfg->zk && d->status == 200)) {
			abort();
		}
		return;
	case KMS_FRAME_READY:
		if (cfg->zk || strcmp(in->line[2], "/readyz") != 0) {
			abort();
		}
		return;
	case KMS_FRAME_BODY: {
		const net_kv_t *rt = net_kv_find(in->args, in->nargs, "requesttype");
		if (strcmp(in->line[1], "POST") != 0 ||
		    strcmp(in->line[2], cfg->path) != 0 || rt == NULL ||
		    rt->value == NULL || d->body_cap > cfg->max_body ||
		    (cfg->zk && d->type != KMS_REQ_RESOLVE) ||
		    strcmp(rt->value, d->type == KMS_REQ_TICKET ? "ticketrequest"
								: "ticketresolve") != 0 ||
		    framing_ambiguous(in)) {
			abort();
		}
		take_body(in, d->body_cap);
		return;
	}
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static input_t in;
	in.text = NULL;
	if (size > 65536 || split(&in, data, size) != 0) {
		free(in.text);
		return 0;
	}
	bool zk = strncmp(in.line[0], "Zk", 2) == 0;
	const kms_frame_cfg_t cfg = { zk ? "/zk" : "/kms", zk, zk ? MAX_BODY : 16384 };
	const kms_frame_req_t r = { in.line[1], in.line[2], in.args,
				    in.nargs,	in.hdr,	    in.nhdr };
	kms_frame_t d;
	kms_http_frame(&cfg, &r, &d);
	if (framing_ambiguous(&in) && d.error != KMS_EHTTP_FRAME) {
		abort();
	}
	check(&cfg, &in, &d);
	free(in.text);
	return 0;
}
