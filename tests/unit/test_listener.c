/*
 * net/listener: address parsing, Content-Length, the capped body, a real
 * listener on 127.0.0.1 (a port MHD picks) driven by raw HTTP/1.1 over a
 * socket, the in-flight count and the drain, TLS files refused before MHD
 * starts, and the connection table against slow clients (request and idle
 * deadlines on the fake clock, eviction, sending caps).  Every wait is
 * bounded (socket timeouts, a drain deadline, a condition variable with a
 * deadline, a bounded poll of the table); nothing sleeps to let time pass:
 * the deadlines run on the fake clock, moved by the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "net/listener.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

#define IO_TIMEOUT_S 10 /* any socket wait of the test */
#define WAIT_MS 10000	/* any drain or gate wait of the test */
#define RSP_MAX 4096
#define BODY_MAX 16 /* the /echo route's cap */

/* --- the daemon under test ------------------------------------------------------- */

typedef struct {
	net_body_t body;
	bool collecting;
	bool answered;
} req_t;

static struct {
	atomic_uint completed;
	/* /slow: the handler says it entered, then waits for the gate. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static enum MHD_Result answer(struct MHD_Connection *c, req_t *q, unsigned status,
			      const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		return MHD_NO;
	}
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	q->answered = true;
	return ret;
}

/* Holds the request until the test opens the gate (bounded). */
static void slow_gate(void)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&srv.mu);
	srv.entered = true;
	pthread_cond_broadcast(&srv.cv);
	while (!srv.open && pthread_cond_timedwait(&srv.cv, &srv.mu, &dl) == 0) {
	}
	pthread_mutex_unlock(&srv.mu);
}

/* /len: what net_declared_length() read; /echo: a body of at most BODY_MAX
 * bytes, answered with its length; /slow: held at the gate. */
static enum MHD_Result first_call(struct MHD_Connection *c, req_t *q, const char *url)
{
	char text[64];
	if (strcmp(url, "/len") == 0) {
		uint64_t n = 0;
		int ret = net_declared_length(c, &n);
		snprintf(text, sizeof(text), "%s %llu",
			 ret == KMS_EOK	     ? "ok"
			 : ret == KMS_ENOENT ? "none"
					     : "bad",
			 (unsigned long long)n);
		return answer(c, q, 200, text);
	}
	if (strcmp(url, "/frame") == 0) {
		const char *why = "";
		int ret = net_framing_check(c, &why);
		snprintf(text, sizeof(text), "%s%s",
			 ret == KMS_EOK ? "ok" : "bad: ", why);
		return answer(c, q, 200, text);
	}
	if (strcmp(url, "/echo") == 0) {
		int ret = net_body_begin(&q->body, c, BODY_MAX);
		if (ret != KMS_EOK) {
			return answer(c, q, (unsigned)kms_err_http(ret), "refused");
		}
		q->collecting = true;
		return MHD_YES;
	}
	if (strcmp(url, "/slow") == 0) {
		slow_gate();
	}
	return answer(c, q, 200, "hello");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	req_t *q = *con_cls;
	(void)cls;
	(void)method;
	(void)version;
	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL) {
			return MHD_NO;
		}
		*con_cls = q;
		return first_call(c, q, url);
	}
	if (!q->collecting || q->answered) {
		return *upload_size == 0 ? MHD_YES : MHD_NO;
	}
	if (*upload_size != 0) {
		if (net_body_append(&q->body, upload, *upload_size) != KMS_EOK) {
			q->collecting = false;
			net_body_free(&q->body);
			if (answer(c, q, 413, "too large") != MHD_YES) {
				return MHD_NO;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	char text[32];
	snprintf(text, sizeof(text), "got %zu", q->body.len);
	q->collecting = false;
	return answer(c, q, 200, text);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	req_t *q = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (q != NULL) {
		net_body_free(&q->body);
		free(q);
		*con_cls = NULL;
		atomic_fetch_add(&srv.completed, 1);
	}
}

static const net_listener_cb_t cbs = { on_request, on_completed, NULL };

static void cfg_init(net_listener_cfg_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "127.0.0.1";
	cfg->port = 0; /* MHD binds a free one */
	cfg->threads = 2;
	cfg->max_conns = 16;
	cfg->max_conns_per_ip = 16;
	cfg->conn_timeout = IO_TIMEOUT_S;
	cfg->conn_memory = 16384;
	cfg->tag = "test";
}

static net_listener_t *start_plain(void)
{
	net_listener_cfg_t cfg;
	net_listener_t *l = NULL;
	cfg_init(&cfg);
	CU_ASSERT_EQUAL_FATAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_EOK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_NOT_EQUAL(net_listener_port(l), 0);
	return l;
}

/* --- a raw HTTP/1.1 client -------------------------------------------------------- */

static int dial(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		return -1;
	}
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send req (Connection: close in it), read to the end; the status, or -1.
 * body (if not NULL) gets the response body, NUL-terminated. */
static int exchange(uint16_t port, const char *req, char *body, size_t body_cap)
{
	char rsp[RSP_MAX];
	size_t got = 0;
	int fd = dial(port);
	if (fd < 0) {
		return -1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n = recv(fd, rsp + got, sizeof(rsp) - 1 - got, 0);
		if (n <= 0 || (got += (size_t)n) >= sizeof(rsp) - 1) {
			break; /* end, error, timeout or full */
		}
	}
	close(fd);
	rsp[got] = '\0';
	int status = -1;
	if (sscanf(rsp, "HTTP/1.%*d %d", &status) != 1) {
		return -1;
	}
	const char *b = strstr(rsp, "\r\n\r\n");
	if (body != NULL) {
		snprintf(body, body_cap, "%s", b != NULL ? b + 4 : "");
	}
	return status;
}

static int get_len(uint16_t port, const char *clen_hdr, char *body, size_t cap)
{
	char req[256];
	snprintf(req, sizeof(req),
		 "GET /len HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n", clen_hdr);
	return exchange(port, req, body, cap);
}

/* --- tests -------------------------------------------------------------------------- */

static void given_ipv4_and_ipv6_literals_when_bind_addr_then_family_and_port(void)
{
	struct sockaddr_storage ss;
	bool v6 = true;
	CU_ASSERT_EQUAL(net_bind_addr("127.0.0.1", 8080, &ss, &v6), KMS_EOK);
	CU_ASSERT_FALSE(v6);
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
	CU_ASSERT_EQUAL(a4->sin_family, AF_INET);
	CU_ASSERT_EQUAL(ntohs(a4->sin_port), 8080);
	CU_ASSERT_EQUAL(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);

	CU_ASSERT_EQUAL(net_bind_addr("::1", 443, &ss, &v6), KMS_EOK);
	CU_ASSERT_TRUE(v6);
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
	CU_ASSERT_EQUAL(a6->sin6_family, AF_INET6);
	CU_ASSERT_EQUAL(ntohs(a6->sin6_port), 443);
	CU_ASSERT_TRUE(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
	CU_ASSERT_EQUAL(net_bind_addr("0.0.0.0", 0, &ss, &v6), KMS_EOK);
	CU_ASSERT_FALSE(v6);
}

static void given_bad_address_when_bind_addr_then_econfig_and_nothing_written(void)
{
	const char *bad[] = { "",	    "localhost", "127.0.0.1:80", "1.2.3.4.5",
			      "[::1]",	    "::1%",	 " 127.0.0.1",	 "256.0.0.1",
			      "127.0.0.1 ", "fe80::1::2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sockaddr_storage ss;
		bool v6 = true;
		memset(&ss, 0xA5, sizeof(ss));
		CU_ASSERT_EQUAL(net_bind_addr(bad[i], 80, &ss, &v6), KMS_ECONFIG);
		CU_ASSERT_TRUE(v6);
		CU_ASSERT_EQUAL(((const uint8_t *)&ss)[0], 0xA5);
	}
	struct sockaddr_storage ss;
	bool v6;
	CU_ASSERT_EQUAL(net_bind_addr(NULL, 80, &ss, &v6), KMS_EINVAL);
}

static void given_listener_when_get_then_answered_counted_and_drained(void)
{
	char body[128];
	atomic_store(&srv.completed, 0);
	net_listener_t *l = start_plain();
	char addr[NET_ADDR_STR_MAX];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)net_listener_port(l));
	CU_ASSERT_STRING_EQUAL(net_listener_addr(l), addr);

	CU_ASSERT_EQUAL(
	    exchange(net_listener_port(l),
		     "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", body,
		     sizeof(body)),
	    200);
	CU_ASSERT_STRING_EQUAL(body, "hello");
	/* The completion may trail the answer: the drain waits for it. */
	CU_ASSERT_EQUAL(net_listener_drain(l, WAIT_MS), 0);
	CU_ASSERT_EQUAL(net_listener_inflight(l), 0);
	CU_ASSERT_EQUAL(atomic_load(&srv.completed), 1);
	net_listener_stop(l, WAIT_MS);
	net_listener_stop(NULL, 0); /* no-op */
}

static void given_content_length_when_declared_length_then_number_none_or_bad(void)
{
	char body[128];
	net_listener_t *l = start_plain();
	uint16_t port = net_listener_port(l);

	CU_ASSERT_EQUAL(get_len(port, "", body, sizeof(body)), 200);
	CU_ASSERT_STRING_EQUAL(body, "none 0");
	CU_ASSERT_EQUAL(get_len(port, "Content-Length: 0\r\n", body, sizeof(body)), 200);
	CU_ASSERT_STRING_EQUAL(body, "ok 0");
	CU_ASSERT_EQUAL(get_len(port, "Content-Length: 12345\r\n", body, sizeof(body)),
			200);
	CU_ASSERT_STRING_EQUAL(body, "ok 12345");
	/* 2^62 is the largest we read; 2^62 + 1 and 2^63 are numbers MHD takes
	 * (they fit 64 bits) and we refuse. */
	CU_ASSERT_EQUAL(
	    get_len(port, "Content-Length: 4611686018427387904\r\n", body, sizeof(body)),
	    200);
	CU_ASSERT_STRING_EQUAL(body, "ok 4611686018427387904");
	CU_ASSERT_EQUAL(
	    get_len(port, "Content-Length: 4611686018427387905\r\n", body, sizeof(body)),
	    200);
	CU_ASSERT_STRING_EQUAL(body, "bad 0");
	CU_ASSERT_EQUAL(
	    get_len(port, "Content-Length: 9223372036854775808\r\n", body, sizeof(body)),
	    200);
	CU_ASSERT_STRING_EQUAL(body, "bad 0");
	/* Not a number, or past 64 bits: refused before any handler runs (MHD),
	 * never read as a length. */
	int st = get_len(port, "Content-Length: 12abc\r\n", body, sizeof(body));
	CU_ASSERT(st >= 400 && st < 500);
	CU_ASSERT_PTR_NULL(strstr(body, "ok "));
	st = get_len(port, "Content-Length: -1\r\n", body, sizeof(body));
	CU_ASSERT(st >= 400 && st < 500);
	CU_ASSERT_PTR_NULL(strstr(body, "ok "));
	st = get_len(port, "Content-Length: 99999999999999999999999\r\n", body,
		     sizeof(body));
	CU_ASSERT(st >= 400 && st < 500);
	CU_ASSERT_PTR_NULL(strstr(body, "ok "));
	net_listener_stop(l, WAIT_MS);
}

static int get_frame(uint16_t port, const char *hdrs, const char *body, char *out,
		     size_t cap)
{
	char req[256];
	snprintf(req, sizeof(req),
		 "GET /frame HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n%s", hdrs,
		 body);
	return exchange(port, req, out, cap);
}

static void given_framing_headers_when_checked_then_one_length_or_refused(void)
{
	char body[128];
	net_listener_t *l = start_plain();
	uint16_t port = net_listener_port(l);

	CU_ASSERT_EQUAL(get_frame(port, "", "", body, sizeof(body)), 200);
	CU_ASSERT_STRING_EQUAL(body, "ok");
	CU_ASSERT_EQUAL(get_frame(port, "Content-Length: 0\r\n", "", body, sizeof(body)),
			200);
	CU_ASSERT_STRING_EQUAL(body, "ok");
	CU_ASSERT_EQUAL(get_frame(port, "Transfer-Encoding: chunked\r\n", "0\r\n\r\n",
				  body, sizeof(body)),
			200);
	CU_ASSERT_STRING_EQUAL(body, "ok");
	/* Two lengths, equal or not (any case of the name): refused. */
	CU_ASSERT_EQUAL(get_frame(port, "Content-Length: 0\r\ncontent-length: 0\r\n", "",
				  body, sizeof(body)),
			200);
	CU_ASSERT_STRING_EQUAL(body, "bad: more than one Content-Length");
	CU_ASSERT_EQUAL(get_frame(port, "Content-Length: 0\r\nContent-Length: 2\r\n", "",
				  body, sizeof(body)),
			200);
	CU_ASSERT_STRING_EQUAL(body, "bad: more than one Content-Length");
	/* A length with a transfer coding, in either order. */
	CU_ASSERT_EQUAL(get_frame(port,
				  "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
				  "0\r\n\r\n", body, sizeof(body)),
			200);
	CU_ASSERT_STRING_EQUAL(body, "bad: Content-Length with Transfer-Encoding");
	CU_ASSERT_EQUAL(get_frame(port,
				  "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
				  "0\r\n\r\n", body, sizeof(body)),
			200);
	CU_ASSERT_STRING_EQUAL(body, "bad: Content-Length with Transfer-Encoding");
	net_listener_stop(l, WAIT_MS);
}

static void given_body_cap_when_posted_then_collected_or_413(void)
{
	char body[128];
	net_listener_t *l = start_plain();
	uint16_t port = net_listener_port(l);
	const char *hdr = "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
	char req[512];

	snprintf(req, sizeof(req), "%sContent-Length: 5\r\n\r\nabcde", hdr);
	CU_ASSERT_EQUAL(exchange(port, req, body, sizeof(body)), 200);
	CU_ASSERT_STRING_EQUAL(body, "got 5");
	/* Exactly the cap. */
	snprintf(req, sizeof(req), "%sContent-Length: 16\r\n\r\n0123456789abcdef", hdr);
	CU_ASSERT_EQUAL(exchange(port, req, body, sizeof(body)), 200);
	CU_ASSERT_STRING_EQUAL(body, "got 16");
	/* Declared over the cap: refused before any byte is read. */
	snprintf(req, sizeof(req), "%sContent-Length: 17\r\n\r\n0123456789abcdefg", hdr);
	CU_ASSERT_EQUAL(exchange(port, req, body, sizeof(body)), 413);
	/* Chunked: collected up to the cap, then refused. */
	snprintf(req, sizeof(req),
		 "%sTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", hdr);
	CU_ASSERT_EQUAL(exchange(port, req, body, sizeof(body)), 200);
	CU_ASSERT_STRING_EQUAL(body, "got 4");
	snprintf(req, sizeof(req),
		 "%sTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n"
		 "1\r\nX\r\n0\r\n\r\n",
		 hdr);
	/* MHD cannot queue an answer mid-body: the connection is closed. */
	body[0] = '\0';
	int st = exchange(port, req, body, sizeof(body));
	CU_ASSERT(st == 413 || st == -1);
	CU_ASSERT_PTR_NULL(strstr(body, "got"));
	net_listener_stop(l, WAIT_MS);
}

static void *slow_client(void *arg)
{
	uint16_t port = *(uint16_t *)arg;
	static int status;
	status = exchange(
	    port, "GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", NULL, 0);
	return &status;
}

static void given_request_in_flight_when_quiesced_then_refused_new_and_drained(void)
{
	atomic_store(&srv.completed, 0);
	srv.entered = srv.open = false;
	net_listener_t *l = start_plain();
	uint16_t port = net_listener_port(l);
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, slow_client, &port), 0);

	/* Wait (bounded) until the handler holds the request. */
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&srv.mu);
	while (!srv.entered && pthread_cond_timedwait(&srv.cv, &srv.mu, &dl) == 0) {
	}
	bool entered = srv.entered;
	pthread_mutex_unlock(&srv.mu);
	CU_ASSERT_TRUE(entered);

	CU_ASSERT_EQUAL(net_listener_inflight(l), 1);
	CU_ASSERT_EQUAL(net_listener_drain(l, 0), 1); /* no wait: still there */
	net_listener_quiesce(l);
	net_listener_quiesce(l); /* idempotent */
	int fd = dial(port);
	CU_ASSERT_EQUAL(fd, -1); /* no longer accepting */
	if (fd >= 0) {
		close(fd);
	}

	pthread_mutex_lock(&srv.mu);
	srv.open = true;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	CU_ASSERT_EQUAL(net_listener_drain(l, WAIT_MS), 0);
	CU_ASSERT_EQUAL(atomic_load(&srv.completed), 1);
	void *ret = NULL;
	pthread_join(t, &ret);
	CU_ASSERT_EQUAL(*(int *)ret, 200);
	net_listener_stop(l, WAIT_MS);
}

static void given_port_in_use_or_bad_address_when_started_then_refused(void)
{
	net_listener_cfg_t cfg;
	net_listener_t *l = start_plain(), *l2 = NULL;
	cfg_init(&cfg);
	cfg.port = net_listener_port(l);
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l2), KMS_EIO);
	CU_ASSERT_PTR_NULL(l2);
	net_listener_stop(l, WAIT_MS);

	cfg_init(&cfg);
	cfg.listen = "localhost";
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l2), KMS_EINVAL);
	CU_ASSERT_PTR_NULL(l2);
	const net_listener_cb_t no_completed = { on_request, NULL, NULL };
	cfg_init(&cfg);
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &no_completed, NULL, &l2), KMS_EINVAL);
	CU_ASSERT_EQUAL(net_listener_start(NULL, &cbs, NULL, &l2), KMS_EINVAL);
	CU_ASSERT_PTR_NULL(l2);
}

static void write_file(const char *path, size_t len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (size_t i = 0; i < len; i++) {
		fputc('k', f);
	}
	fclose(f);
}

static void given_tls_files_missing_over_cap_or_partial_when_started_then_refused(void)
{
	char dir[UNIT_PATH_MAX], cert[UNIT_PATH_MAX], key[UNIT_PATH_MAX],
	    missing[UNIT_PATH_MAX], empty[UNIT_PATH_MAX];
	unit_tmpdir(dir);
	unit_path(cert, dir, "cert.pem");
	unit_path(key, dir, "key.pem");
	unit_path(missing, dir, "none.pem");
	unit_path(empty, dir, "empty.pem");
	write_file(cert, 64);
	write_file(key, 65);
	write_file(empty, 0);
	net_listener_cfg_t cfg;
	net_listener_t *l = NULL;

	cfg_init(&cfg);
	cfg.tls_cert = cert;
	cfg.tls_key = missing;
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_ENOENT);
	cfg.tls_key = key;
	cfg.tls_file_max = 64; /* the key is one byte over */
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_ELIMIT);
	cfg.tls_key = cert;
	cfg.tls_trust = missing;
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_ENOENT);
	cfg.tls_trust = NULL;
	cfg.tls_key = empty;
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_ECONFIG);
	cfg.tls_key = NULL; /* a certificate without its key */
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_ECONFIG);
	cfg.tls_cert = NULL;
	cfg.tls_trust = cert; /* trust alone is not TLS either */
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_ECONFIG);
	/* Read, but not a certificate and key: refused before MHD starts. */
	cfg.tls_cert = cert;
	cfg.tls_key = cert;
	cfg.tls_trust = NULL;
	CU_ASSERT_EQUAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_ECONFIG);
	CU_ASSERT_PTR_NULL(l);
	unit_rmdir(dir);
}

static void given_termination_codes_when_named_then_words_for_the_log(void)
{
	CU_ASSERT_STRING_EQUAL(net_termination_str(MHD_REQUEST_TERMINATED_COMPLETED_OK),
			       "");
	CU_ASSERT_STRING_EQUAL(
	    net_termination_str(MHD_REQUEST_TERMINATED_TIMEOUT_REACHED), " (timed out)");
	CU_ASSERT_STRING_EQUAL(net_termination_str(MHD_REQUEST_TERMINATED_CLIENT_ABORT),
			       " (client closed)");
	CU_ASSERT_STRING_EQUAL(net_termination_str(MHD_REQUEST_TERMINATED_WITH_ERROR),
			       " (aborted)");
}

/* --- slow clients: the connection table --------------------------------------------- */

#define FAKE_T0_MS 1000000 /* where the fake clock starts */
#define REQ_S 5		   /* the request deadline of these tests */

static net_listener_t *start_tracked(unsigned max_conns, unsigned max_sending,
				     unsigned max_sending_per_ip)
{
	net_listener_cfg_t cfg;
	net_listener_t *l = NULL;
	cfg_init(&cfg);
	cfg.max_conns = max_conns;
	cfg.request_timeout = REQ_S;
	cfg.max_sending = max_sending;
	cfg.max_sending_per_ip = max_sending_per_ip;
	CU_ASSERT_EQUAL_FATAL(net_listener_start(&cfg, &cbs, NULL, &l), KMS_EOK);
	return l;
}

/* A client socket from src (a 127.0.0.x address), connected to port. */
static int dial_from(uint16_t port, const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, src, &sa.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	sa.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_str(int fd, const char *text)
{
	CU_ASSERT_EQUAL(send(fd, text, strlen(text), MSG_NOSIGNAL),
			(ssize_t)strlen(text));
}

/* The server closed fd: end of stream or a reset, waited for (bounded). */
static bool closed_by_server(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char b[256];
	for (int i = 0; i < 16 && poll(&p, 1, IO_TIMEOUT_S * 1000) == 1; i++) {
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			return true;
		}
		if (n < 0) {
			return false;
		}
	}
	return false;
}

/* Nothing from the server on fd, and not closed (no wait). */
static bool still_open(int fd)
{
	char b;
	return recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

typedef bool (*stats_pred_t)(const net_conntrack_stats_t *s, unsigned want);

static bool conns_are(const net_conntrack_stats_t *s, unsigned want)
{
	return s->conns == want;
}

static bool sending_is(const net_conntrack_stats_t *s, unsigned want)
{
	return s->sending == want;
}

static bool received_is(const net_conntrack_stats_t *s, unsigned want)
{
	return s->received == want;
}

static bool refused_sending_is(const net_conntrack_stats_t *s, unsigned want)
{
	return s->refused_sending == want;
}

/* MHD's threads move the table: poll it until pred holds (bounded: at most
 * WAIT_MS of 1 ms naps), then the stats in *out. */
static bool wait_stats(net_listener_t *l, stats_pred_t pred, unsigned want,
		       net_conntrack_stats_t *out)
{
	const struct timespec nap = { 0, 1000000L };
	for (int i = 0; i < WAIT_MS; i++) {
		net_listener_stats(l, out);
		if (pred(out, want)) {
			return true;
		}
		nanosleep(&nap, NULL);
	}
	return false;
}

static void given_partial_header_when_deadline_passes_then_closed_not_before(void)
{
	net_conntrack_stats_t st;
	kms_clock_fake_start(FAKE_T0_MS, 1700000000);
	atomic_store(&srv.completed, 0);
	srv.entered = srv.open = false;
	net_listener_t *l = start_tracked(16, 0, 0);
	uint16_t port = net_listener_port(l);
	int idle = dial(port);
	int slow = dial(port);
	CU_ASSERT_FATAL(idle >= 0 && slow >= 0);
	/* The request line and one header, then nothing. */
	send_str(slow, "GET /x HTTP/1.1\r\nHost: t\r\n");
	CU_ASSERT_TRUE(wait_stats(l, sending_is, 1, &st));
	/* A request the handler holds (RECEIVED) is not the client's fault. */
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, slow_client, &port), 0);
	CU_ASSERT_TRUE(wait_stats(l, received_is, 1, &st));

	kms_clock_fake_advance(REQ_S * 1000); /* at the deadline: not past it */
	net_listener_reap(l);
	net_listener_stats(l, &st);
	CU_ASSERT_EQUAL(st.closed_request, 0);
	CU_ASSERT_EQUAL(st.sending, 1);
	CU_ASSERT_TRUE(still_open(slow));

	kms_clock_fake_advance(1);
	net_listener_reap(l);
	net_listener_stats(l, &st);
	CU_ASSERT_EQUAL(st.closed_request, 1);
	CU_ASSERT_EQUAL(st.closed_idle, 0);
	CU_ASSERT_TRUE(closed_by_server(slow));
	CU_ASSERT_TRUE(still_open(idle)); /* idle: conn_timeout, not yet */
	CU_ASSERT_EQUAL(st.received, 1);  /* the held request stays */

	pthread_mutex_lock(&srv.mu);
	srv.open = true;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	void *ret = NULL;
	pthread_join(t, &ret);
	CU_ASSERT_EQUAL(*(int *)ret, 200);
	/* Idle past conn_timeout (from accept): closed as well. */
	kms_clock_fake_advance(IO_TIMEOUT_S * 1000);
	net_listener_reap(l);
	net_listener_stats(l, &st);
	CU_ASSERT_EQUAL(st.closed_idle, 1);
	CU_ASSERT_TRUE(closed_by_server(idle));
	close(idle);
	close(slow);
	net_listener_stop(l, WAIT_MS);
	kms_clock_fake_stop();
}

static void given_full_table_when_new_client_then_oldest_idle_evicted(void)
{
	net_conntrack_stats_t st;
	kms_clock_fake_start(FAKE_T0_MS, 1700000000);
	net_listener_t *l = start_tracked(3, 0, 0);
	uint16_t port = net_listener_port(l);
	int fd[3];
	for (unsigned i = 0; i < 3; i++) {
		fd[i] = dial(port);
		CU_ASSERT_FATAL(fd[i] >= 0);
		CU_ASSERT_TRUE(wait_stats(l, conns_are, i + 1, &st));
		kms_clock_fake_advance(10); /* fd[0] is the one idle for longest */
	}
	/* Full: a new client gets in, the oldest idle connection goes. */
	CU_ASSERT_EQUAL(
	    exchange(port, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		     NULL, 0),
	    200);
	CU_ASSERT_TRUE(closed_by_server(fd[0]));
	CU_ASSERT_TRUE(still_open(fd[1]));
	CU_ASSERT_TRUE(still_open(fd[2]));
	net_listener_stats(l, &st);
	CU_ASSERT_EQUAL(st.evicted, 1);
	CU_ASSERT_EQUAL(st.refused_full, 0);

	/* None idle (all sending): the new client is refused instead.  First
	 * the exchange's own connection must be gone from the table (MHD
	 * closes it after the answer, sometimes late): still there, it would
	 * be the idle one evicted for the next client. */
	CU_ASSERT_TRUE(wait_stats(l, conns_are, 2, &st));
	close(fd[0]);
	fd[0] = dial(port);
	CU_ASSERT_FATAL(fd[0] >= 0);
	CU_ASSERT_TRUE(wait_stats(l, conns_are, 3, &st));
	for (unsigned i = 0; i < 3; i++) {
		send_str(fd[i], "GET /x HTTP/1.1\r\n");
	}
	CU_ASSERT_TRUE(wait_stats(l, sending_is, 3, &st));
	int extra = dial(port);
	CU_ASSERT_TRUE(extra < 0 || closed_by_server(extra));
	net_listener_stats(l, &st);
	CU_ASSERT_EQUAL(st.refused_full, 1);
	CU_ASSERT_EQUAL(st.evicted, 1);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(still_open(fd[i]));
		close(fd[i]);
	}
	if (extra >= 0) {
		close(extra);
	}
	net_listener_stop(l, WAIT_MS);
	kms_clock_fake_stop();
}

static void given_sending_cap_per_address_when_exceeded_then_extra_closed(void)
{
	net_conntrack_stats_t st;
	kms_clock_fake_start(FAKE_T0_MS, 1700000000);
	net_listener_t *l = start_tracked(16, 0, 2);
	uint16_t port = net_listener_port(l);
	int a = dial_from(port, "127.0.0.1"), b = dial_from(port, "127.0.0.1");
	int c = dial_from(port, "127.0.0.1"), other = dial_from(port, "127.0.0.2");
	CU_ASSERT_FATAL(a >= 0 && b >= 0 && c >= 0 && other >= 0);
	send_str(a, "GET /x HTTP/1.1\r\n");
	send_str(b, "GET /x HTTP/1.1\r\n");
	CU_ASSERT_TRUE(wait_stats(l, sending_is, 2, &st));
	/* A third request line from the same address: over the cap, closed. */
	send_str(c, "GET /x HTTP/1.1\r\n");
	CU_ASSERT_TRUE(wait_stats(l, refused_sending_is, 1, &st));
	CU_ASSERT_TRUE(closed_by_server(c));
	/* Another address has its own count. */
	send_str(other, "GET /x HTTP/1.1\r\n");
	CU_ASSERT_TRUE(wait_stats(l, sending_is, 3, &st));
	CU_ASSERT_EQUAL(st.refused_sending, 1);
	CU_ASSERT_TRUE(still_open(a));
	CU_ASSERT_TRUE(still_open(b));
	/* A request that ends frees its place: the next one is served. */
	send_str(a, "Host: t\r\nConnection: close\r\n\r\n");
	CU_ASSERT_TRUE(wait_stats(l, sending_is, 2, &st));
	CU_ASSERT_EQUAL(
	    exchange(port, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		     NULL, 0),
	    200);
	close(a);
	close(b);
	close(c);
	close(other);
	net_listener_stop(l, WAIT_MS);
	kms_clock_fake_stop();
}

static void given_sending_cap_overall_when_exceeded_then_extra_closed(void)
{
	net_conntrack_stats_t st;
	kms_clock_fake_start(FAKE_T0_MS, 1700000000);
	net_listener_t *l = start_tracked(16, 2, 0);
	uint16_t port = net_listener_port(l);
	int a = dial_from(port, "127.0.0.1"), b = dial_from(port, "127.0.0.2");
	int c = dial_from(port, "127.0.0.3");
	CU_ASSERT_FATAL(a >= 0 && b >= 0 && c >= 0);
	send_str(a, "GET /x HTTP/1.1\r\n");
	send_str(b, "GET /x HTTP/1.1\r\n");
	CU_ASSERT_TRUE(wait_stats(l, sending_is, 2, &st));
	send_str(c, "GET /x HTTP/1.1\r\n");
	CU_ASSERT_TRUE(wait_stats(l, refused_sending_is, 1, &st));
	CU_ASSERT_TRUE(closed_by_server(c));
	CU_ASSERT_TRUE(still_open(a));
	CU_ASSERT_TRUE(still_open(b));
	close(a);
	close(b);
	close(c);
	net_listener_stop(l, WAIT_MS);
	kms_clock_fake_stop();
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_ipv4_and_ipv6_literals_when_bind_addr_then_family_and_port),
		UNIT_TEST(
		    given_bad_address_when_bind_addr_then_econfig_and_nothing_written),
		UNIT_TEST(given_listener_when_get_then_answered_counted_and_drained),
		UNIT_TEST(
		    given_content_length_when_declared_length_then_number_none_or_bad),
		UNIT_TEST(given_framing_headers_when_checked_then_one_length_or_refused),
		UNIT_TEST(given_body_cap_when_posted_then_collected_or_413),
		UNIT_TEST(
		    given_request_in_flight_when_quiesced_then_refused_new_and_drained),
		UNIT_TEST(given_port_in_use_or_bad_address_when_started_then_refused),
		UNIT_TEST(
		    given_tls_files_missing_over_cap_or_partial_when_started_then_refused),
		UNIT_TEST(given_termination_codes_when_named_then_words_for_the_log),
		UNIT_TEST(
		    given_partial_header_when_deadline_passes_then_closed_not_before),
		UNIT_TEST(given_full_table_when_new_client_then_oldest_idle_evicted),
		UNIT_TEST(given_sending_cap_per_address_when_exceeded_then_extra_closed),
		UNIT_TEST(given_sending_cap_overall_when_exceeded_then_extra_closed),
		UNIT_END,
	};
	return unit_run("listener", tests);
}
