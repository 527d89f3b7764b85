/*
 * net/http_client: the pooled libcurl client of Zn and Zk, against an
 * in-test HTTP server on 127.0.0.1 (any free port).
 *
 * Time: the backoff and the breaker run on the fake clock of
 * common/clock.h, so their waits are exact; the handle wait and the
 * timeouts are real, so only their outcome is asserted, never how long
 * they took.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "net/http_client.h"
#include "net/outbound.h"
#include "tests/unit/unit.h"

#define FAKE_MONO_MS 1000000
#define FAKE_WALL_S 1700000000
#define ANSWER_MAX 4096
#define LONG_MS 30000 /* a timeout no answered call comes near */

/* --- the server ----------------------------------------------------------- */

typedef struct {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_int conns, requests, stop;
	atomic_int status;     /* 0: read the request, never answer */
	atomic_int answer_len; /* bytes of 'a' in the answer */
} srv_t;

static srv_t srv;

/* Read one request (headers + Content-Length body); 0 when the peer
 * closed or the server stops. */
static int read_request(int c)
{
	char buf[8192];
	size_t len = 0;
	for (;;) {
		ssize_t n = recv(c, buf + len, sizeof(buf) - 1 - len, 0);
		if (n < 0 && !atomic_load(&srv.stop)) {
			continue; /* receive timeout: wait on */
		}
		if (n <= 0) {
			return 0;
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end == NULL) {
			continue;
		}
		const char *cl = strcasestr(buf, "Content-Length:");
		size_t want = cl != NULL ? (size_t)atoi(cl + 15) : 0;
		if (len >= (size_t)(end + 4 - buf) + want) {
			return 1;
		}
	}
}

static int answer(int c)
{
	static char body[ANSWER_MAX];
	char hdr[128];
	int len = atomic_load(&srv.answer_len);
	memset(body, 'a', sizeof(body));
	int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n",
			 atomic_load(&srv.status), len);
	if (send(c, hdr, (size_t)n, MSG_NOSIGNAL) < 0 ||
	    send(c, body, (size_t)len, MSG_NOSIGNAL) < 0) {
		return -1;
	}
	return 0;
}

static void *srv_run(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv.stop)) {
		int c = accept(srv.fd, NULL, NULL);
		if (c < 0) {
			continue;
		}
		atomic_fetch_add(&srv.conns, 1);
		struct timeval tv = { 0, 50000 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (!atomic_load(&srv.stop) && read_request(c)) {
			atomic_fetch_add(&srv.requests, 1);
			if (atomic_load(&srv.status) != 0 && answer(c) != 0) {
				break;
			}
		}
		close(c);
	}
	return NULL;
}

static void srv_start(int status, int answer_len)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(srv.fd >= 0);
	struct timeval tv = { 0, 50000 };
	setsockopt(srv.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CU_ASSERT_FATAL(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(listen(srv.fd, 16) == 0);
	CU_ASSERT_FATAL(getsockname(srv.fd, (struct sockaddr *)&a, &alen) == 0);
	srv.port = ntohs(a.sin_port);
	atomic_store(&srv.stop, 0);
	atomic_store(&srv.conns, 0);
	atomic_store(&srv.requests, 0);
	atomic_store(&srv.status, status);
	atomic_store(&srv.answer_len, answer_len);
	CU_ASSERT_FATAL(pthread_create(&srv.thread, NULL, srv_run, NULL) == 0);
}

static void srv_stop(void)
{
	atomic_store(&srv.stop, 1);
	pthread_join(srv.thread, NULL);
	close(srv.fd);
}

/* A port on 127.0.0.1 held by a bound socket that does not listen:
 * connections to it are refused. */
static int refusing_socket(uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		abort();
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* --- helpers ---------------------------------------------------------------- */

static net_counters_t ctr;

static net_pool_t *pool_for(uint16_t port, unsigned max, uint32_t wait_ms, bool temp,
			    unsigned retries, uint32_t timeout_ms)
{
	static const char *const headers[] = { "Content-Type: text/plain",
					       "Expect:", NULL };
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", (unsigned)port);
	memset(&ctr, 0, sizeof(ctr));
	net_pool_cfg_t cfg = {
		.label = "test",
		.headers = headers,
		.timeout_ms = timeout_ms,
		.max = max,
		.wait_ms = wait_ms,
		.temp_when_busy = temp,
		.retries = retries,
		.backoff_ms = 20,
		.counters = &ctr,
	};
	net_target_t t = { .url = url };
	net_pool_t *p = NULL;
	CU_ASSERT_EQUAL_FATAL(net_pool_new(&cfg, &t, &p), KMS_EOK);
	return p;
}

typedef struct {
	int ret;
	net_call_t call;
	char body[ANSWER_MAX];
} result_t;

/* One call on a handle of p, answer capped at cap. */
static result_t *post_cap(net_pool_t *p, size_t cap)
{
	static result_t r;
	memset(&r, 0, sizeof(r));
	net_handle_t *h = NULL;
	r.ret = net_pool_take(p, &h);
	if (r.ret != KMS_EOK) {
		return &r;
	}
	r.call = (net_call_t){
		.subj = "test", .body = "hello", .len = 5, .out = r.body, .cap = cap
	};
	r.ret = net_post(p, h, &r.call);
	net_pool_give(p, h);
	return &r;
}

static net_stats_t stats(void)
{
	net_stats_t st;
	net_counters_get(&ctr, &st);
	return st;
}

/* --- tests ---------------------------------------------------------------- */

static void given_answers_when_posted_then_body_capped_never_truncated(void)
{
	srv_start(200, 100);
	net_pool_t *p = pool_for(srv.port, 2, 10, false, 2, LONG_MS);
	result_t *r = post_cap(p, 100);
	CU_ASSERT_EQUAL(r->ret, KMS_EOK);
	CU_ASSERT_EQUAL(r->call.status, 200);
	CU_ASSERT_EQUAL(r->call.out_len, 100);
	CU_ASSERT(r->call.new_conn);
	/* One byte over the cap: an error, not retried, nothing returned. */
	r = post_cap(p, 99);
	CU_ASSERT_EQUAL(r->ret, KMS_ELIMIT);
	CU_ASSERT_EQUAL(r->call.out_len, 0);
	CU_ASSERT_STRING_EQUAL(r->call.why, "answer too large");
	atomic_store(&srv.answer_len, ANSWER_MAX);
	r = post_cap(p, 1000);
	CU_ASSERT_EQUAL(r->ret, KMS_ELIMIT);
	net_stats_t st = stats();
	CU_ASSERT_EQUAL(st.attempts, 3);
	CU_ASSERT_EQUAL(st.retries, 0);
	CU_ASSERT_EQUAL(st.errors, 2);
	/* The pool still serves. */
	atomic_store(&srv.answer_len, 0);
	r = post_cap(p, 100);
	CU_ASSERT_EQUAL(r->ret, KMS_EOK);
	CU_ASSERT_EQUAL(r->call.out_len, 0);
	net_pool_free(p);
	srv_stop();
}

static void given_refused_connection_when_posted_then_retried_with_backoff(void)
{
	uint16_t port = 0;
	int fd = refusing_socket(&port);
	net_pool_t *p = pool_for(port, 1, 10, false, 3, LONG_MS);
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	result_t *r = post_cap(p, 100);
	int64_t slept = kms_clock_now_ms() - FAKE_MONO_MS;
	kms_clock_fake_stop();
	CU_ASSERT_EQUAL(r->ret, KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(r->call.why, "cannot connect to the peer");
	net_stats_t st = stats();
	CU_ASSERT_EQUAL(st.attempts, 1 + 3);
	CU_ASSERT_EQUAL(st.retries, 3);
	CU_ASSERT_EQUAL(st.errors, 4);
	CU_ASSERT_EQUAL(slept, 20 + 40 + 60); /* attempt number x base */
	net_pool_free(p);
	/* Ten retries: the backoff stops growing at 4 x base. */
	p = pool_for(port, 1, 10, false, NET_RETRIES_MAX, LONG_MS);
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	r = post_cap(p, 100);
	slept = kms_clock_now_ms() - FAKE_MONO_MS;
	kms_clock_fake_stop();
	CU_ASSERT_EQUAL(r->ret, KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(stats().attempts, 1 + NET_RETRIES_MAX);
	CU_ASSERT_EQUAL(slept, 20 * (1 + 2 + 3 + 4 * (NET_RETRIES_MAX - 3)));
	net_pool_free(p);
	close(fd);
}

static void given_statuses_when_posted_then_only_502_503_504_retried(void)
{
	srv_start(503, 4);
	net_pool_t *p = pool_for(srv.port, 1, 10, false, 2, LONG_MS);
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	result_t *r = post_cap(p, 100);
	/* Retried, then the last answer is returned as an answer. */
	CU_ASSERT_EQUAL(r->ret, KMS_EOK);
	CU_ASSERT_EQUAL(r->call.status, 503);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 3);
	CU_ASSERT_EQUAL(kms_clock_now_ms() - FAKE_MONO_MS, 20 + 40);
	net_stats_t st = stats();
	CU_ASSERT_EQUAL(st.errors, 2);
	int codes[] = { 200, 404, 500, 501 };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		atomic_store(&srv.status, codes[i]);
		r = post_cap(p, 100);
		CU_ASSERT_EQUAL(r->ret, KMS_EOK);
		CU_ASSERT_EQUAL(r->call.status, codes[i]);
		CU_ASSERT_EQUAL(atomic_load(&srv.requests), 4 + (int)i);
	}
	kms_clock_fake_stop();
	st = stats();
	CU_ASSERT_EQUAL(st.attempts, 3 + 4);
	CU_ASSERT_EQUAL(st.connects, 1); /* one kept-alive connection throughout */
	net_pool_free(p);
	srv_stop();
}

static void given_silent_server_when_posted_then_timed_out_without_retry(void)
{
	srv_start(0, 0); /* reads the request, never answers */
	net_pool_t *p = pool_for(srv.port, 1, 10, false, 2, 300);
	result_t *r = post_cap(p, 100);
	CU_ASSERT_EQUAL(r->ret, KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(r->call.why, "timed out");
	/* The request went out: the server may have acted on it. */
	CU_ASSERT_EQUAL(stats().attempts, 1);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 1);
	net_pool_free(p);
	srv_stop();
}

static void given_tls_never_answered_when_posted_then_timeout_retried(void)
{
	/* The kernel accepts TCP, nobody speaks TLS: no byte of the request
	 * can go out, so the timeout is a connection-level failure. */
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			listen(fd, 8) == 0 &&
			getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
	net_pool_t *p = pool_for(ntohs(a.sin_port), 1, 10, false, 1, 200);
	char url[64];
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", (unsigned)ntohs(a.sin_port));
	net_target_t t = { .url = url };
	CU_ASSERT_EQUAL_FATAL(net_pool_retarget(p, &t), KMS_EOK);
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	result_t *r = post_cap(p, 100);
	int64_t slept = kms_clock_now_ms() - FAKE_MONO_MS;
	kms_clock_fake_stop();
	CU_ASSERT_EQUAL(r->ret, KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(r->call.why, "timed out");
	CU_ASSERT_EQUAL(stats().attempts, 2);
	CU_ASSERT_EQUAL(stats().retries, 1);
	CU_ASSERT_EQUAL(slept, 20);
	net_pool_free(p);
	close(fd);
}

static void given_breaker_when_failures_then_opens_half_opens_and_closes(void)
{
	net_breaker_t b;
	bool trial = true;
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	net_breaker_init(&b, "test", 2, 500);
	/* Closed: calls go; answers of any kind and other errors keep it so. */
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	CU_ASSERT_FALSE(trial);
	net_breaker_leave(&b, trial, KMS_EUNAVAIL, "t");
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	net_breaker_leave(&b, trial, KMS_ELIMIT, "t"); /* an answer: resets */
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	net_breaker_leave(&b, trial, KMS_EUNAVAIL, "t");
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	net_breaker_leave(&b, trial, KMS_EINTERNAL, "t"); /* neither */
	/* The second failure in a row opens it: fail fast for 500 ms. */
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	net_breaker_leave(&b, trial, KMS_EUNAVAIL, "t");
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EUNAVAIL);
	kms_clock_fake_advance(499);
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EUNAVAIL);
	/* Half-open: one trial, the others still fail fast meanwhile. */
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	CU_ASSERT_TRUE(trial);
	bool other = true;
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &other), KMS_EUNAVAIL);
	/* The trial fails: open again at once, for a whole new window. */
	net_breaker_leave(&b, trial, KMS_EUNAVAIL, "t");
	kms_clock_fake_advance(499);
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EUNAVAIL);
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	CU_ASSERT_TRUE(trial);
	/* The trial succeeds: closed, and one failure does not open it. */
	net_breaker_leave(&b, trial, KMS_EOK, "t");
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	CU_ASSERT_FALSE(trial);
	net_breaker_leave(&b, trial, KMS_EUNAVAIL, "t");
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	net_breaker_leave(&b, trial, KMS_EOK, "t");
	/* Nothing slept: the fake clock moved only when told. */
	CU_ASSERT_EQUAL(kms_clock_now_ms(), FAKE_MONO_MS + 1000);
	/* A reset closes an open breaker; failures = 0 never opens. */
	net_breaker_leave(&b, false, KMS_EUNAVAIL, "t");
	net_breaker_leave(&b, false, KMS_EUNAVAIL, "t");
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EUNAVAIL);
	net_breaker_reset(&b);
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	net_breaker_destroy(&b);
	net_breaker_init(&b, "test", 0, 0);
	for (int i = 0; i < 5; i++) {
		net_breaker_leave(&b, false, KMS_EUNAVAIL, "t");
	}
	CU_ASSERT_EQUAL(net_breaker_enter(&b, &trial), KMS_EOK);
	net_breaker_destroy(&b);
	kms_clock_fake_stop();
}

typedef struct {
	net_pool_t *p;
	int ret;
	net_handle_t *h;
} taker_t;

static void *taker(void *arg)
{
	taker_t *t = arg;
	t->ret = net_pool_take(t->p, &t->h);
	return NULL;
}

static void given_exhausted_pool_when_taken_then_waits_then_refuses_or_temp(void)
{
	net_pool_t *p = pool_for(1, 1, 10, false, 0, LONG_MS);
	net_handle_t *a = NULL, *b = NULL;
	size_t idle = 9, alive = 9;
	CU_ASSERT_EQUAL_FATAL(net_pool_take(p, &a), KMS_EOK);
	/* Every handle busy: a bounded wait, then a refusal. */
	CU_ASSERT_EQUAL(net_pool_take(p, &b), KMS_EAGAIN);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_EQUAL(stats().busy, 1);
	net_pool_count(p, &idle, &alive);
	CU_ASSERT_EQUAL(idle, 0);
	CU_ASSERT_EQUAL(alive, 1);
	/* Given back: taken again, the same handle. */
	net_pool_give(p, a);
	CU_ASSERT_EQUAL_FATAL(net_pool_take(p, &b), KMS_EOK);
	CU_ASSERT_PTR_EQUAL(b, a);
	net_pool_give(p, b);
	net_pool_free(p);
	/* A waiter gets the handle given back while it waits (or before). */
	p = pool_for(1, 1, LONG_MS, false, 0, LONG_MS);
	CU_ASSERT_EQUAL_FATAL(net_pool_take(p, &a), KMS_EOK);
	taker_t t = { p, 1, NULL };
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, taker, &t), 0);
	net_pool_give(p, a);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(t.ret, KMS_EOK);
	CU_ASSERT_PTR_EQUAL(t.h, a);
	CU_ASSERT_EQUAL(stats().busy, 0);
	net_pool_give(p, t.h);
	net_pool_free(p);
	/* With temporary handles: one beyond the pool, closed when given. */
	p = pool_for(1, 1, 10, true, 0, LONG_MS);
	CU_ASSERT_EQUAL_FATAL(net_pool_take(p, &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(net_pool_take(p, &b), KMS_EOK);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(stats().temp_handles, 1);
	net_pool_give(p, b);
	net_pool_give(p, a);
	net_pool_count(p, &idle, &alive);
	CU_ASSERT_EQUAL(idle, 1);
	CU_ASSERT_EQUAL(alive, 1);
	net_pool_free(p);
}

static void given_new_generation_when_retargeted_then_old_handles_closed(void)
{
	srv_start(200, 2);
	net_pool_t *p = pool_for(srv.port, 2, 10, false, 0, LONG_MS);
	net_handle_t *a = NULL, *b = NULL;
	size_t idle = 9, alive = 9;
	CU_ASSERT_EQUAL(post_cap(p, 100)->ret, KMS_EOK);
	CU_ASSERT_EQUAL(post_cap(p, 100)->ret, KMS_EOK);
	CU_ASSERT_EQUAL(atomic_load(&srv.conns), 1); /* kept alive */
	CU_ASSERT_EQUAL_FATAL(net_pool_take(p, &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(net_pool_take(p, &b), KMS_EOK);
	net_pool_give(p, a);
	net_pool_count(p, &idle, &alive);
	CU_ASSERT_EQUAL(idle, 1);
	CU_ASSERT_EQUAL(alive, 2);
	/* A new generation: the idle handle closes now... */
	CU_ASSERT_EQUAL(net_pool_retarget(p, NULL), KMS_EOK);
	net_pool_count(p, &idle, &alive);
	CU_ASSERT_EQUAL(idle, 0);
	CU_ASSERT_EQUAL(alive, 1);
	/* ...the busy one when it comes back. */
	net_pool_give(p, b);
	net_pool_count(p, &idle, &alive);
	CU_ASSERT_EQUAL(idle, 0);
	CU_ASSERT_EQUAL(alive, 0);
	/* The next call connects afresh. */
	CU_ASSERT_EQUAL(post_cap(p, 100)->ret, KMS_EOK);
	CU_ASSERT_EQUAL(atomic_load(&srv.conns), 2);
	uint16_t old = srv.port;
	srv_stop();
	/* A moved server: the new target is used, the old one never again. */
	srv_start(200, 3);
	CU_ASSERT_NOT_EQUAL(srv.port, old);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/y", (unsigned)srv.port);
	net_target_t t = { .url = url };
	CU_ASSERT_EQUAL(net_pool_retarget(p, &t), KMS_EOK);
	result_t *r = post_cap(p, 100);
	CU_ASSERT_EQUAL(r->ret, KMS_EOK);
	CU_ASSERT_EQUAL(r->call.out_len, 3);
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), 1);
	/* Bad targets leave the pool as it was. */
	net_target_t bad = { .url = NULL };
	CU_ASSERT_EQUAL(net_pool_retarget(p, &bad), KMS_EINVAL);
	CU_ASSERT_EQUAL(post_cap(p, 100)->ret, KMS_EOK);
	net_pool_free(p);
	srv_stop();
}

static void given_bad_config_when_pool_made_then_refused(void)
{
	net_pool_cfg_t cfg = { .timeout_ms = 1000, .max = 1 };
	net_target_t t = { .url = "http://127.0.0.1:1/" };
	net_pool_t *p = NULL;
	CU_ASSERT_EQUAL(net_pool_new(&cfg, &t, &p), KMS_EOK);
	net_pool_free(p);
	net_pool_free(NULL);
	net_pool_cfg_t bad = cfg;
	bad.max = 0;
	CU_ASSERT_EQUAL(net_pool_new(&bad, &t, &p), KMS_EINVAL);
	bad = cfg;
	bad.timeout_ms = 0;
	CU_ASSERT_EQUAL(net_pool_new(&bad, &t, &p), KMS_EINVAL);
	bad = cfg;
	bad.retries = NET_RETRIES_MAX + 1;
	CU_ASSERT_EQUAL(net_pool_new(&bad, &t, &p), KMS_EINVAL);
	net_target_t no_cert = { .url = t.url, .key_file = "k.pem" };
	CU_ASSERT_EQUAL(net_pool_new(&cfg, &no_cert, &p), KMS_EINVAL);
	CU_ASSERT_EQUAL(net_pool_new(&cfg, NULL, &p), KMS_EINVAL);
	CU_ASSERT_EQUAL(net_pool_new(NULL, &t, &p), KMS_EINVAL);
	net_share_t *s = NULL;
	CU_ASSERT_EQUAL(net_share_new(&s), KMS_EOK);
	net_share_free(s);
	net_share_free(NULL);
}

/* --- the outbound-call thread ------------------------------------------------ */

#define CALLS 8
#define BOUND_S 30 /* how long a test waits for callbacks (a bound, not a time) */

typedef struct {
	net_call_t call;
	char body[ANSWER_MAX];
	atomic_int done; /* callbacks run */
	int ret;
} ocall_res_t;

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

static void on_done(net_call_t *call, int ret, void *arg)
{
	ocall_res_t *r = arg;
	(void)call;
	pthread_mutex_lock(&done_mu);
	r->ret = ret;
	atomic_fetch_add(&r->done, 1);
	pthread_cond_broadcast(&done_cv);
	pthread_mutex_unlock(&done_mu);
}

static int post_async(net_outbound_t *o, net_pool_t *p, ocall_res_t *r)
{
	memset(r, 0, sizeof(*r));
	r->call = (net_call_t){ .subj = "test",
				.body = "hello",
				.len = 5,
				.out = r->body,
				.cap = ANSWER_MAX };
	return net_outbound_post(o, p, NULL, &r->call, on_done, r);
}

/* Wait (bounded) until every one of rs[0..n) had its callback. */
static bool wait_done(ocall_res_t *rs, size_t n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += BOUND_S;
	bool all = false;
	pthread_mutex_lock(&done_mu);
	for (;;) {
		all = true;
		for (size_t i = 0; i < n; i++) {
			all = all && atomic_load(&rs[i].done) > 0;
		}
		if (all || pthread_cond_timedwait(&done_cv, &done_mu, &until) != 0) {
			break;
		}
	}
	pthread_mutex_unlock(&done_mu);
	return all;
}

/* A port that accepts connections (the kernel does) and never reads. */
static int stalled_socket(uint16_t *port)
{
	int fd = refusing_socket(port);
	if (listen(fd, 16) != 0) {
		abort();
	}
	return fd;
}

static void given_outbound_when_calls_posted_then_all_answered_once(void)
{
	static ocall_res_t rs[CALLS];
	net_outbound_t *o = NULL;
	srv_start(200, 3);
	/* One handle: the in-test server serves one connection at a time. */
	net_pool_t *p = pool_for(srv.port, 1, 1000, false, 0, LONG_MS);
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 64, &o), KMS_EOK);
	for (int i = 0; i < CALLS; i++) {
		CU_ASSERT_EQUAL(post_async(o, p, &rs[i]), KMS_EOK);
	}
	CU_ASSERT_FATAL(wait_done(rs, CALLS));
	for (int i = 0; i < CALLS; i++) {
		CU_ASSERT_EQUAL(rs[i].ret, KMS_EOK);
		CU_ASSERT_EQUAL(rs[i].call.status, 200);
		CU_ASSERT_EQUAL(rs[i].call.out_len, 3);
	}
	CU_ASSERT_EQUAL(net_outbound_pending(o), 0);
	net_outbound_free(o);
	for (int i = 0; i < CALLS; i++) {
		CU_ASSERT_EQUAL(atomic_load(&rs[i].done), 1); /* once, also after free */
	}
	/* One in flight at a time (the pool's bound), queued meanwhile: the
	 * server saw them all on one connection kept alive. */
	CU_ASSERT_EQUAL(atomic_load(&srv.requests), CALLS);
	CU_ASSERT_EQUAL(atomic_load(&srv.conns), 1);
	net_pool_free(p);
	srv_stop();
}

static void given_stalled_server_when_posted_then_others_answered_and_stop_cancels(void)
{
	static ocall_res_t stuck[2], fine[CALLS];
	net_outbound_t *o = NULL;
	uint16_t sport = 0;
	int sfd = stalled_socket(&sport);
	srv_start(200, 3);
	net_pool_t *ps = pool_for(sport, 2, 0, false, 0, LONG_MS);
	net_pool_t *pf = pool_for(srv.port, 1, 1000, false, 0, LONG_MS);
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 64, &o), KMS_EOK);
	CU_ASSERT_EQUAL(post_async(o, ps, &stuck[0]), KMS_EOK);
	CU_ASSERT_EQUAL(post_async(o, ps, &stuck[1]), KMS_EOK);
	for (int i = 0; i < CALLS; i++) {
		CU_ASSERT_EQUAL(post_async(o, pf, &fine[i]), KMS_EOK);
	}
	/* Every call to the live server ends while the stalled ones wait on
	 * (their timeout is LONG_MS): one thread drives them all. */
	CU_ASSERT_FATAL(wait_done(fine, CALLS));
	for (int i = 0; i < CALLS; i++) {
		CU_ASSERT_EQUAL(fine[i].ret, KMS_EOK);
	}
	CU_ASSERT_EQUAL(atomic_load(&stuck[0].done), 0);
	CU_ASSERT_EQUAL(atomic_load(&stuck[1].done), 0);
	CU_ASSERT_EQUAL(net_outbound_pending(o), 2);
	/* Stopping cancels them: each callback runs once, KMS_ECANCELED. */
	net_outbound_free(o);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(atomic_load(&stuck[i].done), 1);
		CU_ASSERT_EQUAL(stuck[i].ret, KMS_ECANCELED);
	}
	size_t idle = 0, alive = 0;
	net_pool_count(ps, &idle, &alive);
	CU_ASSERT_EQUAL(idle, alive); /* every handle given back */
	net_pool_free(ps);
	net_pool_free(pf);
	srv_stop();
	close(sfd);
}

static void given_silent_server_when_posted_async_then_timed_out_not_retried(void)
{
	static ocall_res_t r;
	net_outbound_t *o = NULL;
	srv_start(0, 0); /* reads the request, never answers */
	net_pool_t *p = pool_for(srv.port, 1, 0, false, 2, 300);
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 4, &o), KMS_EOK);
	CU_ASSERT_EQUAL(post_async(o, p, &r), KMS_EOK);
	CU_ASSERT_FATAL(wait_done(&r, 1));
	CU_ASSERT_EQUAL(r.ret, KMS_EUNAVAIL);
	CU_ASSERT_STRING_EQUAL(r.call.why, "timed out");
	CU_ASSERT_EQUAL(stats().attempts, 1); /* the request went out: no retry */
	net_outbound_free(o);
	CU_ASSERT_EQUAL(atomic_load(&r.done), 1);
	net_pool_free(p);
	srv_stop();
}

static void given_busy_pool_when_posted_async_then_refused_after_wait(void)
{
	static ocall_res_t r[2];
	net_outbound_t *o = NULL;
	uint16_t sport = 0;
	int sfd = stalled_socket(&sport);
	kms_clock_fake_start(FAKE_MONO_MS, FAKE_WALL_S);
	net_pool_t *p = pool_for(sport, 1, 100, false, 0, LONG_MS);
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 1, &o), KMS_EOK);
	CU_ASSERT_EQUAL(post_async(o, p, &r[0]), KMS_EOK);
	/* max_calls 1: the next one is refused at once, no callback. */
	ocall_res_t extra;
	CU_ASSERT_EQUAL(post_async(o, p, &extra), KMS_EAGAIN);
	net_outbound_free(o);
	CU_ASSERT_EQUAL(r[0].ret, KMS_ECANCELED);
	CU_ASSERT_EQUAL(atomic_load(&extra.done), 0);
	/* One handle, busy: the second call waits for it up to wait_ms on the
	 * (fake) clock, then ends busy. */
	CU_ASSERT_EQUAL_FATAL(net_outbound_new("test", 4, &o), KMS_EOK);
	CU_ASSERT_EQUAL(post_async(o, p, &r[0]), KMS_EOK);
	CU_ASSERT_EQUAL(post_async(o, p, &r[1]), KMS_EOK);
	CU_ASSERT_EQUAL(atomic_load(&r[1].done), 0);
	kms_clock_fake_advance(100);
	CU_ASSERT_FATAL(wait_done(&r[1], 1));
	CU_ASSERT_EQUAL(r[1].ret, KMS_EAGAIN);
	CU_ASSERT_EQUAL(stats().busy, 1);
	CU_ASSERT_EQUAL(atomic_load(&r[0].done), 0);
	net_outbound_free(o);
	CU_ASSERT_EQUAL(r[0].ret, KMS_ECANCELED);
	kms_clock_fake_stop();
	net_pool_free(p);
	close(sfd);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_answers_when_posted_then_body_capped_never_truncated),
		UNIT_TEST(given_refused_connection_when_posted_then_retried_with_backoff),
		UNIT_TEST(given_statuses_when_posted_then_only_502_503_504_retried),
		UNIT_TEST(given_silent_server_when_posted_then_timed_out_without_retry),
		UNIT_TEST(given_tls_never_answered_when_posted_then_timeout_retried),
		UNIT_TEST(given_breaker_when_failures_then_opens_half_opens_and_closes),
		UNIT_TEST(
		    given_exhausted_pool_when_taken_then_waits_then_refuses_or_temp),
		UNIT_TEST(given_new_generation_when_retargeted_then_old_handles_closed),
		UNIT_TEST(given_bad_config_when_pool_made_then_refused),
		UNIT_TEST(given_outbound_when_calls_posted_then_all_answered_once),
		UNIT_TEST(
		    given_stalled_server_when_posted_then_others_answered_and_stop_cancels),
		UNIT_TEST(
		    given_silent_server_when_posted_async_then_timed_out_not_retried),
		UNIT_TEST(given_busy_pool_when_posted_async_then_refused_after_wait),
		UNIT_END,
	};
	log_level_set(LOG_ERR);
	return unit_run("http_client", tests);
}
