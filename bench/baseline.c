/*
 * Baseline for the Ua benchmark: a bare libmicrohttpd POST server with the
 * same threading and limits as kmsd at its defaults (internal polling thread
 * pool, epoll, 1024 connections, 256 per IP, 10 s timeout, 32 KiB per
 * connection, strict parsing), which reads the body and answers 200 with a
 * fixed 300-byte application/mikey body (kmsd answers a 128-bit suite
 * ticketrequest with 367 bytes and a ticketresolve with 197).
 * Usage: baseline -p PORT [-t THREADS]   (binds 127.0.0.1 only)
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX 16384

static uint8_t answer[300];

struct req {
	size_t len;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	struct req *q = *con_cls;
	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		*con_cls = q;
		return q != NULL ? MHD_YES : MHD_NO;
	}
	if (*upload_size != 0) {
		q->len += *upload_size;
		*upload_size = 0;
		return q->len <= BODY_MAX ? MHD_YES : MHD_NO;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(answer), answer,
								 MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/mikey");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	unsigned port = 0, threads = 2;
	int opt;
	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		if (opt == 'p') {
			port = (unsigned)atoi(optarg);
		} else if (opt == 't') {
			threads = (unsigned)atoi(optarg);
		} else {
			fprintf(stderr, "usage: baseline -p PORT [-t THREADS]\n");
			return 2;
		}
	}
	if (port == 0 || port > 65535 || threads == 0 || threads > 64) {
		fprintf(stderr, "usage: baseline -p PORT [-t THREADS]\n");
		return 2;
	}
	memset(answer, 0x5a, sizeof(answer));
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, (uint16_t)port,
	    NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
	    MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 256u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)32768, MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "baseline: cannot listen on 127.0.0.1:%u\n", port);
		return 1;
	}
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
