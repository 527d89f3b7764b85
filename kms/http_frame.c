/* The Ua and Zk routing decision (see http_frame.h). */
#include "kms/http_frame.h"

#include <string.h>
#include <strings.h>

#include "common/errcode.h"

static void reply(kms_frame_t *d, unsigned status, const char *text, const char *allow)
{
	d->action = KMS_FRAME_REPLY;
	d->status = status;
	d->text = text;
	d->allow = allow;
}

/* A refusal: its status comes from the error table, and it is audited. */
static void refuse(kms_frame_t *d, int code, const char *text, const char *allow)
{
	reply(d, (unsigned)kms_err_http(code), text, allow);
	d->error = code;
}

static bool is_get(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static bool content_type_ok(const kms_frame_req_t *r)
{
	const net_kv_t *h = net_kv_find(r->headers, r->nheaders, "Content-Type");
	const char *v = h != NULL ? h->value : NULL;
	if (v == NULL) {
		return false;
	}
	while (*v == ' ' || *v == '\t') {
		v++;
	}
	size_t n = strlen(KMS_HTTP_CT_MIKEY);
	if (strncasecmp(v, KMS_HTTP_CT_MIKEY, n) != 0) {
		return false;
	}
	v += n;
	return *v == '\0' || *v == ';' || *v == ' ' || *v == '\t';
}

/* The requesttype argument; false when d is decided (refused). */
static bool request_type(const kms_frame_cfg_t *cfg, const kms_frame_req_t *r,
			 kms_frame_t *d)
{
	const net_kv_t *a = net_kv_find(r->args, r->nargs, "requesttype");
	if (a == NULL || a->value == NULL) {
		refuse(d, KMS_EHTTP_REQTYPE, "missing requesttype\n", NULL);
		return false;
	}
	const char *rt = a->value;
	d->rt = rt;
	d->rt_len = a->value_len;
	if (strlen(rt) != a->value_len) {
		/* MHD decoded a %00: never read as the word before it. */
		d->note = KMS_FRAME_NOTE_RT_NUL;
		refuse(d, KMS_EHTTP_REQTYPE, "bad requesttype\n", NULL);
		return false;
	}
	if (cfg->zk && strcmp(rt, "ticketresolve") != 0) {
		d->note = KMS_FRAME_NOTE_ZK_RT;
		refuse(d, KMS_EZK_REQTYPE, "only ticketresolve is served on Zk\n", NULL);
		return false;
	}
	if (strcmp(rt, "ticketrequest") == 0) {
		d->type = KMS_REQ_TICKET;
	} else if (strcmp(rt, "ticketresolve") == 0) {
		d->type = KMS_REQ_RESOLVE;
	} else {
		refuse(d, KMS_EHTTP_REQTYPE,
		       "unknown requesttype (ticketrequest or ticketresolve)\n", NULL);
		return false;
	}
	return true;
}

/* A POST to the request path: method, requesttype, type, length. */
static void frame_post(const kms_frame_cfg_t *cfg, const kms_frame_req_t *r,
		       kms_frame_t *d)
{
	if (strcmp(r->method, "POST") != 0) {
		refuse(d, KMS_EHTTP_METHOD, "method not allowed: use POST\n", "POST");
		return;
	}
	if (!request_type(cfg, r, d)) {
		return;
	}
	if (!content_type_ok(r)) {
		refuse(d, KMS_EHTTP_MEDIA, "content type must be " KMS_HTTP_CT_MIKEY "\n",
		       NULL);
		return;
	}
	const net_kv_t *cl = net_kv_find(r->headers, r->nheaders, "Content-Length");
	uint64_t n = 0;
	if (cl != NULL && cl->value != NULL) {
		if (net_length_parse(cl->value, &n) != KMS_EOK) {
			refuse(d, KMS_EHTTP_FRAME, "bad Content-Length\n", NULL);
			return;
		}
		if (n > (uint64_t)cfg->max_body) {
			refuse(d, KMS_EHTTP_SIZE, "body too large\n", NULL);
			return;
		}
	}
	d->action = KMS_FRAME_BODY;
	d->body_cap = cl != NULL && cl->value != NULL ? (size_t)n : cfg->max_body;
}

void kms_http_frame(const kms_frame_cfg_t *cfg, const kms_frame_req_t *r,
		    kms_frame_t *out)
{
	kms_frame_t d;
	memset(&d, 0, sizeof(d));
	if (net_framing_check_list(r->headers, r->nheaders, &d.why) != KMS_EOK) {
		d.note = KMS_FRAME_NOTE_FRAMING;
		refuse(&d, KMS_EHTTP_FRAME, "ambiguous message framing\n", NULL);
	} else if (!cfg->zk && (strcmp(r->path, "/healthz") == 0 ||
				strcmp(r->path, "/readyz") == 0)) {
		if (!is_get(r->method)) {
			reply(&d, 405, "method not allowed\n", "GET, HEAD");
		} else if (strcmp(r->path, "/healthz") == 0) {
			reply(&d, 200, "ok\n", NULL);
		} else {
			d.action = KMS_FRAME_READY;
		}
	} else if (strcmp(r->path, cfg->path) != 0) {
		reply(&d, 404, "not found\n", NULL);
	} else {
		frame_post(cfg, r, &d);
	}
	*out = d;
}
