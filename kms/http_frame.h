/*
 * The routing decision of the Ua and Zk front ends (docs/http-binding.md),
 * as a pure function of what a request says before its body: method, path,
 * query arguments and headers.  kms/http.c collects these from
 * libmicrohttpd, calls kms_http_frame() and carries the decision out
 * (replies, logs, audit, body collection); tests and the fuzzer call it on
 * lists they make.
 *
 * Checked in this order (the first failure decides): message framing (RFC
 * 9112 6.3), the health paths (Ua only), the request path, POST, the
 * requesttype argument (present, no %00, ticketrequest or ticketresolve;
 * only ticketresolve on Zk), the content type application/mikey, and the
 * declared Content-Length (a number, at most max_body).
 */
#ifndef KMS_KMS_HTTP_FRAME_H
#define KMS_KMS_HTTP_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "kms/service.h"
#include "net/frame.h"

#define KMS_HTTP_CT_MIKEY "application/mikey"

typedef struct {
	const char *path; /* the one request path (ua.base_path or zk.path) */
	bool zk;	  /* the Zk listener: no health paths, ticketresolve only */
	size_t max_body;  /* bytes */
} kms_frame_cfg_t;

typedef struct {
	const char *method; /* as received, NUL-terminated */
	const char *path;   /* without the query, NUL-terminated */
	const net_kv_t *args;
	size_t nargs;
	const net_kv_t *headers;
	size_t nheaders;
} kms_frame_req_t;

typedef enum {
	KMS_FRAME_REPLY = 0, /* answer now with status, text, allow */
	KMS_FRAME_READY = 1, /* /readyz: 200 or 503 as the service stands */
	KMS_FRAME_BODY = 2,  /* collect at most body_cap bytes, then serve type */
} kms_frame_action_t;

/* What the front end logs at notice level about a refusal. */
typedef enum {
	KMS_FRAME_NOTE_NONE = 0,
	KMS_FRAME_NOTE_FRAMING = 1, /* why: ambiguous framing */
	KMS_FRAME_NOTE_RT_NUL = 2,  /* rt: a requesttype with a %00 */
	KMS_FRAME_NOTE_ZK_RT = 3,   /* rt: a requesttype other than ticketresolve */
} kms_frame_note_t;

typedef struct {
	kms_frame_action_t action;
	unsigned status;   /* KMS_FRAME_REPLY: the HTTP status */
	int error;	   /* a refusal the audit log records (KMS_EHTTP_*, ...), or 0 */
	const char *text;  /* KMS_FRAME_REPLY: the body, a constant */
	const char *allow; /* the Allow header, or NULL */
	kms_frame_note_t note;
	const char *why;    /* KMS_FRAME_NOTE_FRAMING: a constant */
	const char *rt;	    /* the notes on requesttype: its value as received */
	size_t rt_len;	    /* and its decoded length */
	kms_reqtype_t type; /* KMS_FRAME_BODY */
	size_t body_cap;    /* KMS_FRAME_BODY: Content-Length, or max_body */
} kms_frame_t;

/* Decide what to do with r; *out is always filled. */
void kms_http_frame(const kms_frame_cfg_t *cfg, const kms_frame_req_t *r,
		    kms_frame_t *out);

#endif
