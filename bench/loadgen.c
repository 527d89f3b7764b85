/*
 * Load generator for the Ua interface: pre-builds unique, correctly MACed
 * MIKEY requests, then sends them over C keep-alive connections (one thread
 * each, raw HTTP/1.1 over 127.0.0.1) and reports throughput and latency.
 *
 *   loadgen -p PORT -m request|resolve|raw [-s|--state-dir DIR] [-c CONNS]
 *           [-n N] [-d MAX_SECONDS] [-r TOTAL_RATE] [-T TICKETS] [-g GBA_FILE]
 *           [--psk-file FILE --id NAI] [--peer-psk-file FILE --peer-id NAI]
 *           [--ticket-port PORT --ticket-kms-id ID --kms-id ID]
 *
 * request: REQUEST_INIT_PSK from the initiator (default alice@example.org,
 *          key DIR/demo-alice.psk) for the responder (default bob@example.org).
 * resolve: TICKETS tickets (default min(N, 1000)) are obtained and opened
 *          first (untimed), then N RESOLVE_INIT_PSK are built as the
 *          responder (key DIR/demo-bob.psk), shared out over the tickets,
 *          each with its own CSB ID and RAND and a Vr keyed from MPKr.
 * raw:     the request bodies, posted to the baseline server.
 * -g:      the initiator's key is Ks_NAF from a kms-ue bootstrap file, sent
 *          with IDRpsk = B-TID (kmsd with kms.psk_source "gba" or "both").
 * -r:      sends are paced open-loop at TOTAL_RATE/s in all (TOTAL_RATE/CONNS
 *          per connection) and latency is measured from the scheduled send
 *          time (no coordinated omission); 0 = as fast as possible.
 * Federation (docs/federation.md): --ticket-port fetches the tickets from
 *          another kmsd (its identity --ticket-kms-id) while the resolves go
 *          to -p, addressed to --kms-id, which forwards them over Zk.
 * --rids:  the X-Request-Id of every answer 200 goes to FILE, one a line
 *          (bench/audit_kill.sh compares them with audit.db).
 * Every loop is bounded by N and by MAX_SECONDS.  SIGINT or SIGTERM stop
 * the run early; the figures so far (ok200: answers 200 received in full)
 * are printed all the same.  Only 127.0.0.1.  Key files are read, never
 * printed.
 */
#define _GNU_SOURCE 1 /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/msg.h"
#include "mikey/profile.h"

#define KMS_ID "kms.example.org"
/* The Ticket Type asked for (--ticket-type) and whether identities go as
 * SIP URIs of ID Type URI (--uri), as a UE written elsewhere sends them. */
static uint16_t ticket_type = 0xF000u;
static bool uri_ids;

/* An identity as this load generator sends it: "sip:" + id with --uri. */
static const char *wire_id(const char *id, char *buf, size_t cap, uint8_t *type)
{
	*type = uri_ids ? MIKEY_ID_URI : MIKEY_ID_NAI;
	if (!uri_ids) {
		return id;
	}
	snprintf(buf, cap, "sip:%s", id);
	return buf;
}
#define RESP_MAX 65536
#define RID_MAX 40

static volatile sig_atomic_t stopping; /* SIGINT / SIGTERM */

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

#define ID_MAX 128

/* IDRkms of the ticket requests, and of the timed messages. */
static const char *ticket_kms = KMS_ID;
static const char *target_kms = KMS_ID;

typedef struct {
	char id[ID_MAX];
	uint8_t psk[32];
	size_t psk_len;
	char btid[256]; /* IDRpsk when the key comes from GBA (-g), else "" */
} user_t;

typedef struct {
	uint8_t *data;
	size_t len;
} msg_t;

/* A key file: one line of hex (kmsctl's demo-*.psk format). */
static int load_psk(const char *path, user_t *u)
{
	char hex[130];
	FILE *f = fopen(path, "r");
	if (f == NULL || fgets(hex, sizeof(hex), f) == NULL) {
		if (f != NULL) {
			fclose(f);
		}
		fprintf(stderr, "loadgen: cannot read %s\n", path);
		return -1;
	}
	fclose(f);
	hex[strcspn(hex, "\r\n")] = '\0';
	int ret = hex_decode(hex, strlen(hex), u->psk, sizeof(u->psk), &u->psk_len);
	secmem_wipe(hex, sizeof(hex));
	if (ret != KMS_EOK || u->psk_len == 0) {
		fprintf(stderr, "loadgen: %s: not a hex key of at most 32 bytes\n", path);
		return -1;
	}
	return 0;
}

static int set_id(user_t *u, const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= sizeof(u->id)) {
		fprintf(stderr, "loadgen: bad identity length\n");
		return -1;
	}
	memcpy(u->id, id, n + 1);
	return 0;
}

/* A kms-ue bootstrap file: btid= and ks_naf= lines (the key is never printed). */
static int load_gba(const char *path, user_t *u)
{
	char line[512];
	int have = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "loadgen: cannot read %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "btid=", 5) == 0 &&
		    strlen(line + 5) < sizeof(u->btid)) {
			memcpy(u->btid, line + 5, strlen(line + 5) + 1);
			have |= 1;
		} else if (strncmp(line, "ks_naf=", 7) == 0 &&
			   hex_decode(line + 7, strlen(line + 7), u->psk, sizeof(u->psk),
				      &u->psk_len) == KMS_EOK) {
			have |= 2;
		}
	}
	secmem_wipe(line, sizeof(line));
	fclose(f);
	return have == 3 ? 0 : -1;
}

static uint64_t ntp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return mikey_ntp_from_unix(ts.tv_sec, (uint32_t)ts.tv_nsec);
}

/* Sign an initial message in place (RFC 6043 5.5 coverage). */
static int sign_init(const user_t *u, uint8_t *buf, size_t len, uint32_t csb,
		     const mikey_bytes_t *ri, const mikey_bytes_t *rr)
{
	static __thread mikey_msg_t m;
	uint8_t key[20];
	mikey_bytes_t ids[2], kms = { (const uint8_t *)target_kms, strlen(target_kms) };
	int ret =
	    mikey_kdf_msg_key(NULL, MIKEY_PRF_MIKEY1, u->psk, u->psk_len, MIKEY_DK_AUTH,
			      csb, MIKEY_DIR_INIT, ri, rr, key, sizeof(key));
	if (ret == KMS_EOK) {
		ret = mikey_msg_decode(buf, len, &m);
	}
	if (ret == KMS_EOK) {
		ret = mikey_profile_init_identities(&m, &kms, ids);
	}
	if (ret == KMS_EOK) {
		ret = mikey_mac_sign(buf, len, key, sizeof(key), ids, 2);
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

/* One REQUEST_INIT_PSK from u for peer_id; the RAND goes to rand_out. */
static int build_request(const user_t *u, const char *peer_id, msg_t *out,
			 uint8_t rand_out[16], uint32_t *csb_out)
{
	static mikey_msg_t m;
	uint8_t buf[1024], rnd[16];
	uint32_t csb;
	size_t len = 0;
	mikey_ticket_t tp;
	/* With rand_out: a ticket fetch (untimed), to the ticket KMS. */
	const char *kms = rand_out != NULL ? ticket_kms : target_kms;
	memset(&tp, 0, sizeof(tp));
	tp.policy.ticket_type = ticket_type;
	char peer_buf[300], me_buf[300];
	uint8_t peer_type, me_type;
	peer_id = wire_id(peer_id, peer_buf, sizeof(peer_buf), &peer_type);
	const char *me = wire_id(u->id, me_buf, sizeof(me_buf), &me_type);
	tp.policy.subtype = 1;
	tp.policy.version = 1;
	tp.policy.flags =
	    MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_I;
	tp.policy.nidrr = 1;
	tp.policy.idrr[0] = (mikey_id_t){ MIKEY_ROLE_R,
					  peer_type,
					  { (const uint8_t *)peer_id, strlen(peer_id) } };
	crypto_random((uint8_t *)&csb, sizeof(csb));
	crypto_random(rnd, sizeof(rnd));
	mikey_msg_init(&m, MIKEY_DT_REQUEST_INIT_PSK, csb, MIKEY_PRF_MIKEY1);
	mikey_msg_add_ts(&m, 0, MIKEY_TS_NTP_UTC, ntp_now());
	mikey_msg_add_rand(&m, MIKEY_RAND_I, rnd, sizeof(rnd));
	mikey_msg_add_id(&m, MIKEY_ROLE_I, me_type, (const uint8_t *)me, strlen(me));
	mikey_msg_add_id(&m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, (const uint8_t *)kms,
			 strlen(kms));
	mikey_msg_add_ticket(&m, &tp, false);
	if (u->btid[0] != '\0') {
		mikey_msg_add_id(&m, MIKEY_ROLE_PSK, MIKEY_ID_NAI,
				 (const uint8_t *)u->btid, strlen(u->btid));
	}
	mikey_msg_add_v(&m, MIKEY_MAC_HMAC_SHA1_160);
	mikey_bytes_t ri = { rnd, sizeof(rnd) };
	int ret = mikey_msg_build(&m, buf, sizeof(buf), &len);
	if (ret == KMS_EOK) {
		ret = sign_init(u, buf, len, csb, &ri, NULL);
	}
	if (ret != KMS_EOK || (out->data = malloc(len)) == NULL) {
		return -1;
	}
	memcpy(out->data, buf, len);
	out->len = len;
	if (rand_out != NULL) {
		memcpy(rand_out, rnd, sizeof(rnd));
		*csb_out = csb;
	}
	return 0;
}

/* One RESOLVE_INIT_PSK from bob carrying ticket with Initiator Data keyed from mpkr. */
static int build_resolve(const user_t *u, const mikey_ticket_t *ticket,
			 const uint8_t *mpkr, msg_t *out)
{
	static mikey_msg_t m;
	mikey_ticket_t t = *ticket;
	uint8_t init[64], vi_mac[20], vr_key[20], rnd[16], buf[2048];
	size_t init_len = 0, vr_off = 0, len = 0;
	uint32_t csb;
	memset(vi_mac, 0x5a, sizeof(vi_mac));
	mikey_v_t vi = { MIKEY_MAC_HMAC_SHA1_160, { vi_mac, 20 } };
	mikey_v_t vr = { MIKEY_MAC_HMAC_SHA1_160, { NULL, 0 } };
	int ret = mikey_init_data_build(&vi, &vr, init, sizeof(init), &init_len, &vr_off);
	if (ret == KMS_EOK) {
		ret = mikey_kdf_vr_key(NULL, MIKEY_PRF_MIKEY1, mpkr, 16, vr_key,
				       sizeof(vr_key));
	}
	if (ret == KMS_EOK) {
		ret = mikey_init_data_mac(init, init_len, vr_off, MIKEY_MAC_HMAC_SHA1_160,
					  vr_key, sizeof(vr_key), init + vr_off);
	}
	secmem_wipe(vr_key, sizeof(vr_key));
	t.init_data = (mikey_bytes_t){ init, init_len };
	t.has_init = true;
	crypto_random((uint8_t *)&csb, sizeof(csb));
	crypto_random(rnd, sizeof(rnd));
	mikey_msg_init(&m, MIKEY_DT_RESOLVE_INIT_PSK, csb, MIKEY_PRF_MIKEY1);
	mikey_msg_add_ts(&m, 0, MIKEY_TS_NTP_UTC, ntp_now());
	mikey_msg_add_rand(&m, MIKEY_RAND_R, rnd, sizeof(rnd));
	char me_buf[300];
	uint8_t me_type;
	const char *me = wire_id(u->id, me_buf, sizeof(me_buf), &me_type);
	mikey_msg_add_id(&m, MIKEY_ROLE_R, me_type, (const uint8_t *)me, strlen(me));
	mikey_msg_add_id(&m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, (const uint8_t *)target_kms,
			 strlen(target_kms));
	mikey_msg_add_ticket(&m, &t, true);
	mikey_msg_add_v(&m, MIKEY_MAC_HMAC_SHA1_160);
	mikey_bytes_t rr = { rnd, sizeof(rnd) };
	if (ret == KMS_EOK) {
		ret = mikey_msg_build(&m, buf, sizeof(buf), &len);
	}
	if (ret == KMS_EOK) {
		ret = sign_init(u, buf, len, csb, NULL, &rr);
	}
	if (ret != KMS_EOK || (out->data = malloc(len)) == NULL) {
		return -1;
	}
	memcpy(out->data, buf, len);
	out->len = len;
	return 0;
}

/* --- HTTP over a keep-alive socket ------------------------------------------- */

static int connect_local(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0) {
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The X-Request-Id of an answer's head (at most RID_MAX - 1 bytes). */
static void head_rid(const char *head, const char *end, char rid[RID_MAX])
{
	const char *h = strcasestr(head, "\r\nX-Request-Id:");
	size_t n = 0;
	rid[0] = '\0';
	if (h == NULL || h > end) {
		return;
	}
	h += strlen("\r\nX-Request-Id:");
	while (*h == ' ') {
		h++;
	}
	while (n + 1 < RID_MAX && h[n] != '\r' && h[n] != '\0') {
		rid[n] = h[n];
		n++;
	}
	rid[n] = '\0';
}

/* POST one body; returns the status (or -1), the body in resp (capped) and
 * the request id in rid (when not NULL). */
static int post(int fd, const char *type, const msg_t *m, uint8_t *resp, size_t *resp_len,
		char *rid)
{
	char head[256];
	int hl =
	    snprintf(head, sizeof(head),
		     "POST /kms?requesttype=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Content-Type: application/mikey\r\nContent-Length: %zu\r\n\r\n",
		     type, m->len);
	if (write_all(fd, (const uint8_t *)head, (size_t)hl) != 0 ||
	    write_all(fd, m->data, m->len) != 0) {
		return -1;
	}
	char buf[RESP_MAX];
	size_t got = 0;
	char *end = NULL;
	while (end == NULL) {
		if (got == sizeof(buf) - 1) {
			return -1;
		}
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0) {
			return -1;
		}
		got += (size_t)r;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	int status = 0;
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) {
		return -1;
	}
	if (rid != NULL) {
		head_rid(buf, end, rid);
	}
	const char *cl = strcasestr(buf, "\r\nContent-Length:");
	size_t body = cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
	size_t have = got - (size_t)(end + 4 - buf);
	if (body > sizeof(buf) - (size_t)(end + 4 - buf)) {
		return -1;
	}
	while (have < body) {
		ssize_t r = recv(fd, end + 4 + have, body - have, 0);
		if (r <= 0) {
			return -1;
		}
		have += (size_t)r;
	}
	if (resp != NULL) {
		memcpy(resp, end + 4, body);
	}
	if (resp_len != NULL) {
		*resp_len = body;
	}
	return status;
}

/* --- the run ------------------------------------------------------------------ */

typedef struct {
	unsigned port;
	const char *type;
	msg_t *msgs;
	size_t first, count;
	double deadline; /* monotonic seconds */
	double interval; /* seconds between sends on this connection, 0 = closed loop */
	double *lat;	 /* latencies (us), one per sent message */
	char (*rids)[RID_MAX]; /* --rids: the ids of the answers 200, or NULL */
	size_t sent, non200, failed, ok200;
	uint64_t resp_bytes;
} worker_t;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	worker_t *w = arg;
	int fd = connect_local(w->port);
	double start = mono();
	for (size_t i = 0; fd >= 0 && i < w->count; i++) {
		double sched = start + (double)i * w->interval;
		double now = mono();
		if (now > w->deadline || stopping) {
			break;
		}
		if (w->interval > 0 && sched > now) {
			struct timespec ts = { (time_t)(sched - now),
					       (long)((sched - now -
						       (double)(time_t)(sched - now)) *
						      1e9) };
			nanosleep(&ts, NULL);
		}
		double t0 = w->interval > 0 ? sched : mono();
		size_t blen = 0;
		char rid[RID_MAX];
		int st = post(fd, w->type, &w->msgs[w->first + i], NULL, &blen, rid);
		double t1 = mono();
		if (st < 0) {
			w->failed++;
			close(fd);
			fd = connect_local(w->port);
			continue;
		}
		w->lat[w->sent++] = (t1 - t0) * 1e6;
		w->resp_bytes += blen;
		w->non200 += st != 200;
		if (st == 200 && w->rids != NULL) {
			memcpy(w->rids[w->ok200], rid, RID_MAX);
		}
		w->ok200 += st == 200;
	}
	if (fd >= 0) {
		close(fd);
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/*
 * Get one ticket as alice over the keep-alive connection *fd (reconnected if
 * needed) and return in *m (the ticket) and mpkr what bob needs.
 */
static int fetch_ticket(unsigned port, int *fd, const user_t *alice, const char *peer_id,
			uint8_t *resp, mikey_msg_t *m, uint8_t mpkr[16])
{
	msg_t req;
	uint8_t rnd[16], plain[512];
	uint32_t csb;
	size_t len = 0, plen = 0;
	uint64_t t64 = 0;
	mikey_keys_t keys;
	if (build_request(alice, peer_id, &req, rnd, &csb) != 0) {
		return -1;
	}
	if (*fd < 0) {
		*fd = connect_local(port);
	}
	int st = *fd >= 0 ? post(*fd, "ticketrequest", &req, resp, &len, NULL) : -1;
	if (st < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	free(req.data);
	mikey_bytes_t ri = { rnd, sizeof(rnd) };
	int ret = st == 200 ? mikey_msg_parse(resp, len, m) : KMS_EUNAVAIL;
	if (ret == KMS_EOK) {
		ret = mikey_profile_kemac_ts(m, &t64);
	}
	if (ret == KMS_EOK) {
		ret =
		    mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, mikey_msg_kemac(m),
				     alice->psk, alice->psk_len, csb, MIKEY_DIR_RESP, &ri,
				     NULL, t64, plain, sizeof(plain), &plen, &keys);
	}
	if (ret == KMS_EOK && (keys.n < 2 || keys.k[1].key.len != 16)) {
		ret = KMS_EMALFORMED;
	}
	if (ret == KMS_EOK) {
		memcpy(mpkr, keys.k[1].key.data, 16);
	}
	secmem_wipe(plain, sizeof(plain));
	secmem_wipe(&keys, sizeof(keys));
	if (ret != KMS_EOK) {
		fprintf(stderr, "loadgen: ticket request failed (HTTP %d, %s)\n", st,
			kms_err_name(ret));
	}
	return ret == KMS_EOK ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen -p PORT -m request|resolve|raw [-s|--state-dir DIR]\n"
		"               [-c CONNS] [-n N] [-d MAX_SECONDS] [-r TOTAL_RATE]\n"
		"               [-T TICKETS] [-g GBA_FILE] [--psk-file FILE] [--id NAI]\n"
		"               [--peer-psk-file FILE] [--peer-id NAI]\n"
		"               [--ticket-port PORT] [--ticket-kms-id ID] [--kms-id ID]\n"
		"               [--ticket-type N] [--uri] [--rids FILE]\n");
}

enum {
	OPT_PSK = 256,
	OPT_ID,
	OPT_PEER_PSK,
	OPT_PEER_ID,
	OPT_TPORT,
	OPT_TKMS,
	OPT_KMS,
	OPT_TTYPE,
	OPT_URI,
	OPT_RIDS
};

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "mode", required_argument, NULL, 'm' },
	{ "state-dir", required_argument, NULL, 's' },
	{ "conns", required_argument, NULL, 'c' },
	{ "requests", required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate", required_argument, NULL, 'r' },
	{ "tickets", required_argument, NULL, 'T' },
	{ "gba", required_argument, NULL, 'g' },
	{ "psk-file", required_argument, NULL, OPT_PSK },
	{ "id", required_argument, NULL, OPT_ID },
	{ "peer-psk-file", required_argument, NULL, OPT_PEER_PSK },
	{ "peer-id", required_argument, NULL, OPT_PEER_ID },
	{ "ticket-port", required_argument, NULL, OPT_TPORT },
	{ "ticket-kms-id", required_argument, NULL, OPT_TKMS },
	{ "kms-id", required_argument, NULL, OPT_KMS },
	{ "ticket-type", required_argument, NULL, OPT_TTYPE },
	{ "uri", no_argument, NULL, OPT_URI },
	{ "rids", required_argument, NULL, OPT_RIDS },
	{ NULL, 0, NULL, 0 },
};

/* --rids FILE: the request id of every answer 200, one a line; 0 or -1. */
static int write_rids(const char *path, worker_t *w, unsigned conns)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "loadgen: cannot write %s\n", path);
		return -1;
	}
	for (unsigned i = 0; i < conns; i++) {
		for (size_t k = 0; k < w[i].ok200; k++) {
			fprintf(f, "%s\n", w[i].rids[k]);
		}
		free(w[i].rids);
		w[i].rids = NULL;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* Builds msgs[0..n) (fetching tickets first for resolve); 0 or -1. */
static int prebuild(bool resolve, unsigned port, const user_t *alice, const user_t *bob,
		    long n, long tickets, msg_t *msgs)
{
	static uint8_t resp[RESP_MAX];
	static mikey_msg_t tm;
	uint8_t mpkr[16];
	long per = resolve ? (n + tickets - 1) / tickets : n;
	int fd = -1, ret = 0;
	for (long i = 0; ret == 0 && i < n; i++) {
		if (resolve && i % per == 0) {
			ret = fetch_ticket(port, &fd, alice, bob->id, resp, &tm, mpkr);
		}
		if (ret == 0) {
			ret = resolve
				  ? build_resolve(bob, &tm.ticket, mpkr, &msgs[i])
				  : build_request(alice, bob->id, &msgs[i], NULL, NULL);
		}
		if (ret != 0) {
			fprintf(stderr, "loadgen: cannot build message %ld\n", i);
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	secmem_wipe(mpkr, sizeof(mpkr));
	return ret;
}

int main(int argc, char **argv)
{
	unsigned port = 0, conns = 4, ticket_port = 0;
	long n = 10000, tickets = 0;
	double max_s = 30, rate = 0;
	const char *mode = "request", *dir = "./var", *gba = NULL;
	const char *alice_file = NULL, *bob_file = NULL, *rids_file = NULL;
	user_t alice = { .id = "alice@example.org" };
	user_t bob = { .id = "bob@example.org" };
	int opt, bad = 0;
	while ((opt = getopt_long(argc, argv, "p:m:s:c:n:d:r:T:g:", long_opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'p':
			port = (unsigned)atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 's':
			dir = optarg;
			break;
		case 'c':
			conns = (unsigned)atoi(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'd':
			max_s = atof(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'T':
			tickets = atol(optarg);
			break;
		case 'g':
			gba = optarg;
			break;
		case OPT_PSK:
			alice_file = optarg;
			break;
		case OPT_ID:
			bad |= set_id(&alice, optarg);
			break;
		case OPT_PEER_PSK:
			bob_file = optarg;
			break;
		case OPT_PEER_ID:
			bad |= set_id(&bob, optarg);
			break;
		case OPT_TPORT:
			ticket_port = (unsigned)atoi(optarg);
			bad |= ticket_port == 0 || ticket_port > 65535;
			break;
		case OPT_TKMS:
			ticket_kms = optarg;
			break;
		case OPT_TTYPE:
			ticket_type = (uint16_t)strtoul(optarg, NULL, 0);
			bad |= ticket_type == 0;
			break;
		case OPT_URI:
			uri_ids = true;
			break;
		case OPT_RIDS:
			rids_file = optarg;
			break;
		case OPT_KMS:
			target_kms = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	bool resolve = strcmp(mode, "resolve") == 0;
	if (tickets == 0) {
		tickets = n < 1000 ? n : 1000;
	}
	if (bad != 0 || optind != argc || port == 0 || port > 65535 || conns == 0 ||
	    conns > 256 || n <= 0 || n > 5000000 || tickets <= 0 || tickets > n ||
	    max_s <= 0 || max_s > 3600 || rate < 0 ||
	    (!resolve && strcmp(mode, "request") != 0 && strcmp(mode, "raw") != 0)) {
		usage();
		return 2;
	}
	if (gba != NULL && resolve) {
		fprintf(stderr, "loadgen: -g is for request mode\n");
		return 2;
	}
	char path[2][512];
	snprintf(path[0], sizeof(path[0]), "%s/demo-alice.psk", dir);
	snprintf(path[1], sizeof(path[1]), "%s/demo-bob.psk", dir);
	if (gba != NULL
		? load_gba(gba, &alice) != 0
		: load_psk(alice_file != NULL ? alice_file : path[0], &alice) != 0) {
		return 1;
	}
	if (resolve && load_psk(bob_file != NULL ? bob_file : path[1], &bob) != 0) {
		return 1;
	}
	msg_t *msgs = calloc((size_t)n, sizeof(*msgs));
	double b0 = mono();
	if (msgs == NULL || prebuild(resolve, ticket_port != 0 ? ticket_port : port,
				     &alice, &bob, n, tickets, msgs) != 0) {
		return 1;
	}
	double built = mono() - b0;
	worker_t *w = calloc(conns, sizeof(*w));
	pthread_t *th = calloc(conns, sizeof(*th));
	if (w == NULL || th == NULL) {
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	double t0 = mono();
	size_t per = (size_t)n / conns;
	for (unsigned i = 0; i < conns; i++) {
		w[i] = (worker_t){ .port = port,
				   .type = resolve ? "ticketresolve" : "ticketrequest",
				   .msgs = msgs,
				   .first = i * per,
				   .count = i + 1 == conns ? (size_t)n - i * per : per,
				   .deadline = t0 + max_s,
				   .interval = rate > 0 ? (double)conns / rate : 0 };
		w[i].lat = malloc(w[i].count * sizeof(double) + 1);
		w[i].rids = rids_file != NULL ? calloc(w[i].count + 1, RID_MAX) : NULL;
		if (w[i].lat == NULL || (rids_file != NULL && w[i].rids == NULL) ||
		    pthread_create(&th[i], NULL, work, &w[i]) != 0) {
			return 1;
		}
	}
	size_t sent = 0, non200 = 0, failed = 0, ok200 = 0;
	uint64_t bytes = 0;
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(th[i], NULL);
		sent += w[i].sent;
		ok200 += w[i].ok200;
		non200 += w[i].non200;
		failed += w[i].failed;
		bytes += w[i].resp_bytes;
	}
	double dt = mono() - t0;
	double *all = malloc(sent * sizeof(double) + 1);
	size_t k = 0;
	for (unsigned i = 0; i < conns; i++) {
		memcpy(all + k, w[i].lat, w[i].sent * sizeof(double));
		k += w[i].sent;
		free(w[i].lat);
		w[i].lat = NULL;
	}
	qsort(all, sent, sizeof(double), cmp_double);
	double p50 = sent ? all[sent / 2] : 0,
	       p90 = sent ? all[(size_t)((double)sent * 0.90)] : 0,
	       p99 = sent ? all[(size_t)((double)sent * 0.99)] : 0;
	double mx = sent ? all[sent - 1] : 0;
	double avg = sent ? (double)bytes / (double)sent : 0;
	printf("mode=%s conns=%u sent=%zu non200=%zu failed=%zu seconds=%.3f rps=%.0f "
	       "p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f resp_avg_b=%.0f "
	       "build_s=%.2f ok200=%zu\n",
	       mode, conns, sent, non200, failed, dt, (double)sent / dt, p50, p90, p99,
	       mx, avg, built, ok200);
	printf("{\"mode\":\"%s\",\"conns\":%u,\"sent\":%zu,\"non200\":%zu,\"failed\":%zu,"
	       "\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%.0f,\"p90_us\":%.0f,"
	       "\"p99_us\":%.0f,\"max_us\":%.0f,\"resp_avg_b\":%.0f,\"ok200\":%zu}\n",
	       mode, conns, sent, non200, failed, dt, (double)sent / dt, p50, p90, p99,
	       mx, avg, ok200);
	if (rids_file != NULL && write_rids(rids_file, w, conns) != 0) {
		return 1;
	}
	for (long i = 0; i < n; i++) {
		free(msgs[i].data);
	}
	free(msgs);
	free(all);
	free(w);
	free(th);
	secmem_wipe(&alice, sizeof(alice));
	secmem_wipe(&bob, sizeof(bob));
	return non200 == 0 && failed == 0 ? 0 : 1;
}
