/*
 * bsf-stubd's HTTP front end: one plain listener for Ub (GET /ub) and Zn
 * (POST /zn), and optionally a TLS listener for Zn only, with client
 * certificates checked per request (bsf-stub/tls.h).  Both are
 * net/listener.h skeletons (libmicrohttpd thread pool with epoll; caps on
 * connections, total and per address, connection memory and idle time);
 * this file caps the bodies.
 */
#ifndef KMS_BSF_STUB_HTTP_H
#define KMS_BSF_STUB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bsf-stub/bsf.h"

typedef struct {
	char listen[64];  /* IPv4 or IPv6 address */
	uint16_t port;	  /* plain Ub + Zn */
	unsigned threads; /* 0 or 1: one polling thread */
	unsigned max_conns;
	unsigned max_conns_per_ip; /* 0: no limit */
	unsigned conn_timeout;	   /* s */
	size_t conn_memory;	   /* bytes per connection (headers) */
	uint16_t zn_tls_port;	   /* 0: no TLS listener */
	const char *tls_cert;	   /* PEM files, at most 64 KiB each, no symlinks */
	const char *tls_key;
	const char *tls_ca;
	bool zn_tls_only; /* plain /zn answers 403 */
} bsf_http_config_t;

typedef struct bsf_http bsf_http_t;

void bsf_http_config_defaults(bsf_http_config_t *cfg);

/* Bind and serve; b must outlive the returned handle. */
int bsf_http_start(const bsf_http_config_t *cfg, bsf_t *b, bsf_http_t **out);

/* Stop accepting on both listeners, wait up to timeout_ms in all for requests
 * in progress, stop; NULL no-op. */
void bsf_http_stop(bsf_http_t *h, unsigned timeout_ms);

#endif
