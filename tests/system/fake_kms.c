/*
 * fake_kms: a test-only KMS that answers one REQUEST_INIT_PSK or
 * RESOLVE_INIT_PSK from a file, with the same protocol choices as
 * kms/service.c (docs/mikey-profile.md), so that kms-ue can be tested end
 * to end without the daemon.  Not a KMS: no replay cache, no clock check.
 *
 *   fake_kms request|resolve --user ID=HEX [--user ...] --store DIR
 *            --in FILE --out FILE [--kms-id ID] [--fork] [--grant-type N]
 *            [--resolve-idrr] [--lax-kms-id] [--error-v 1|2|bad]
 *            [--error-csb]
 *
 * Identities are KMS user identities: a sip:/sips: URI names the user of
 * its user@domain (parameters dropped, domain lower-cased), and the
 * granted ticket and RESOLVE_RESP carry that form as ID Type NAI, as
 * kms/service.c does.  A request without key forking (I = 0) is granted
 * without it unless --fork is given; then the key chain is MPKi, TGK and
 * the RESOLVE_RESP has no forking modifier (with --resolve-idrr, the
 * matched identity as IDRr all the same).  --grant-type answers with
 * another Ticket Type (flag K).  --lax-kms-id accepts a MAC that leaves
 * out the KMS identity when IDRkms is absent.  Error messages after a
 * successful authentication carry a V keyed like the message in error
 * (--error-v 1, D = 0x01), in the response direction (2), or with a wrong
 * key (bad); --error-csb alters the Error's CSB ID.
 *
 * Tickets: the Ticket Data is a random 16-byte handle; the key chain
 * (MPKi, [MPKr], TGK) is kept in DIR/<hex handle> (mode 0600), never in
 * the ticket.  Exit: 0 answer written, 1 an Error message written (the
 * request was refused), 2 usage or file error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#include "mikey/tp.h"

#define USERS_MAX 8
#define HANDLE_LEN 16
#define SPI_LEN 4
#define RANDRKMS_LEN 32

typedef struct {
	const char *id;
	uint8_t psk[64];
	size_t psk_len;
} user_t;

typedef struct {
	bool resolve;
	bool fork, resolve_idrr, lax_kms_id, error_csb;
	bool authed;	 /* the requester's MAC verified */
	int error_v;	 /* 0 none, 1 / 2 direction, 3 a wrong key */
	long grant_type; /* -1: the requested one */
	const char *store, *in, *out, *kms_id;
	char forms[2 + MIKEY_IDRR_MAX][MIKEY_ID_MAX + 1]; /* user identities */
	user_t users[USERS_MAX];
	size_t nusers;
	const user_t *user;
	mikey_msg_t req, resp;
	uint8_t in_buf[MIKEY_MSG_MAX], out_buf[MIKEY_MSG_MAX];
	uint8_t keybuf[3][MIKEY_KEY_MAX], spi[3][SPI_LEN];
	uint8_t chain[512], kemac[1024];
	uint8_t handle[HANDLE_LEN], randrkms[RANDRKMS_LEN];
	uint8_t auth_alg;
	size_t key_len;
} fk_t;

static int die(const char *what)
{
	fprintf(stderr, "fake_kms: %s\n", what);
	return 2;
}

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return -1;
	}
	*len = fread(buf, 1, cap, f);
	int bad = ferror(f) || fgetc(f) != EOF;
	fclose(f);
	return bad ? -1 : 0;
}

static int write_file(const char *path, const uint8_t *buf, size_t len, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0) {
		return -1;
	}
	ssize_t w = write(fd, buf, len);
	return close(fd) == 0 && w == (ssize_t)len ? 0 : -1;
}

static void store_path(const fk_t *k, char *path, size_t cap)
{
	char hex[2 * HANDLE_LEN + 1];
	hex_encode(k->handle, HANDLE_LEN, hex, sizeof(hex));
	snprintf(path, cap, "%s/%s", k->store, hex);
}

/* The KMS user identity of an ID Data into out: no <>, no sip:/sips:,
 * no parameters after the host, lower-case domain.  Returns its length. */
static size_t user_form(const mikey_bytes_t *id, char *out)
{
	const char *d = (const char *)id->data;
	size_t n = id->len;
	if (n > 0 && d[0] == '<') {
		const char *gt = memchr(d, '>', n);
		n = gt != NULL ? (size_t)(gt - d) - 1 : n - 1;
		d++;
	}
	if (n >= 4 && strncasecmp(d, "sip:", 4) == 0) {
		d += 4;
		n -= 4;
	} else if (n >= 5 && strncasecmp(d, "sips:", 5) == 0) {
		d += 5;
		n -= 5;
	}
	const char *at = memchr(d, '@', n);
	size_t host = at != NULL ? (size_t)(at - d) + 1 : 0;
	for (size_t i = host; i < n; i++) {
		if (d[i] == ';' || d[i] == '?') {
			n = i;
			break;
		}
	}
	for (size_t i = 0; i < n && i < MIKEY_ID_MAX; i++) {
		out[i] = i >= host ? (char)tolower((unsigned char)d[i]) : d[i];
	}
	n = n < MIKEY_ID_MAX ? n : MIKEY_ID_MAX;
	out[n] = '\0';
	return n;
}

/* The user identity form of id, kept in slot i, as an NAI IDR of role. */
static mikey_id_t user_id(fk_t *k, size_t i, uint8_t role, const mikey_bytes_t *id)
{
	size_t n = user_form(id, k->forms[i]);
	return (mikey_id_t){ role, MIKEY_ID_NAI, { (const uint8_t *)k->forms[i], n } };
}

static bool same_user(const mikey_bytes_t *a, const mikey_bytes_t *b)
{
	char fa[MIKEY_ID_MAX + 1], fb[MIKEY_ID_MAX + 1];
	size_t la = user_form(a, fa), lb = user_form(b, fb);
	return la > 0 && la == lb && memcmp(fa, fb, la) == 0;
}

static int auth_key(const fk_t *k, uint8_t dir, uint8_t *key, size_t klen)
{
	const mikey_rand_t *ri = mikey_msg_randr(&k->req, MIKEY_RAND_I);
	const mikey_rand_t *rr = mikey_msg_randr(&k->req, MIKEY_RAND_R);
	return mikey_kdf_msg_key(NULL, k->req.hdr.prf, k->user->psk, k->user->psk_len,
				 MIKEY_DK_AUTH, k->req.hdr.csb_id, dir,
				 ri != NULL ? &ri->rand : NULL,
				 rr != NULL ? &rr->rand : NULL, key, klen);
}

/* PSK by IDRpsk, else by IDRi / IDRr; then the V MAC (initial direction). */
static int authenticate(fk_t *k)
{
	uint8_t want = k->resolve ? MIKEY_DT_RESOLVE_INIT_PSK : MIKEY_DT_REQUEST_INIT_PSK;
	if (k->req.hdr.data_type != want) {
		return KMS_EDT;
	}
	const mikey_id_t *who =
	    mikey_msg_idr(&k->req, k->resolve ? MIKEY_ROLE_R : MIKEY_ROLE_I);
	const mikey_id_t *pskid = mikey_msg_idr(&k->req, MIKEY_ROLE_PSK);
	const mikey_id_t *name = pskid != NULL ? pskid : who;
	if (who == NULL) {
		return KMS_EID;
	}
	for (size_t i = 0; i < k->nusers; i++) {
		mikey_bytes_t u = { (const uint8_t *)k->users[i].id,
				    strlen(k->users[i].id) };
		if (same_user(&u, &name->id)) {
			k->user = &k->users[i];
		}
	}
	if (k->user == NULL) {
		return KMS_EAUTH;
	}
	const mikey_v_t *v = mikey_msg_v(&k->req);
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(v->alg);
	mikey_bytes_t ids[2], kms = { (const uint8_t *)k->kms_id, strlen(k->kms_id) };
	k->auth_alg = v->alg;
	int rc = auth_key(k, MIKEY_DIR_INIT, key, klen);
	if (rc == KMS_EOK) {
		rc = mikey_profile_init_identities(&k->req, &kms, ids);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_verify(&k->req, key, klen, ids, 2);
	}
	/* A known deviation: the MAC over the present identities only. */
	if (rc == KMS_EMAC && k->lax_kms_id &&
	    mikey_msg_idr(&k->req, MIKEY_ROLE_KMS) == NULL) {
		rc = mikey_mac_verify(&k->req, key, klen, ids, 1);
	}
	secmem_wipe(key, sizeof(key));
	k->authed = rc == KMS_EOK;
	return rc;
}

static void begin(fk_t *k, uint8_t dt, uint64_t *t64)
{
	*t64 = mikey_ntp_from_unix((int64_t)time(NULL), 0);
	mikey_msg_init(&k->resp, dt, k->req.hdr.csb_id, k->req.hdr.prf);
	mikey_msg_add_ts(&k->resp, 0, MIKEY_TS_NTP_UTC, *t64);
	mikey_msg_add_id(&k->resp, MIKEY_ROLE_KMS, MIKEY_ID_NAI,
			 (const uint8_t *)k->kms_id, strlen(k->kms_id));
}

static int add_kemac(fk_t *k, uint64_t t64, const mikey_keys_t *keys)
{
	const mikey_rand_t *ri = mikey_msg_randr(&k->req, MIKEY_RAND_I);
	const mikey_rand_t *rr = mikey_msg_randr(&k->req, MIKEY_RAND_R);
	uint8_t encr = k->key_len == 32 ? MIKEY_ENCR_AES_CM_256 : MIKEY_ENCR_AES_CM_128;
	size_t len = 0;
	int rc = mikey_kemac_seal(
	    NULL, k->req.hdr.prf, encr, k->user->psk, k->user->psk_len, k->req.hdr.csb_id,
	    MIKEY_DIR_RESP, ri != NULL ? &ri->rand : NULL, rr != NULL ? &rr->rand : NULL,
	    t64, keys, k->kemac, sizeof(k->kemac), &len);
	if (rc != KMS_EOK) {
		return rc;
	}
	mikey_kemac_t km = { encr, { k->kemac, len }, MIKEY_MAC_NULL, { NULL, 0 } };
	return mikey_msg_add_kemac(&k->resp, &km);
}

/* V over RESP || the complete INIT, with the response auth key. */
static int finish(fk_t *k, size_t *len)
{
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(k->auth_alg);
	mikey_bytes_t init = { k->req.buf, k->req.len };
	int rc = mikey_msg_add_v(&k->resp, k->auth_alg);
	if (rc == KMS_EOK) {
		rc = mikey_msg_build(&k->resp, k->out_buf, sizeof(k->out_buf), len);
	}
	if (rc == KMS_EOK) {
		rc = auth_key(k, MIKEY_DIR_RESP, key, klen);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_sign(k->out_buf, *len, key, klen, &init, 1);
	}
	secmem_wipe(key, sizeof(key));
	return rc;
}

static int request(fk_t *k, size_t *len)
{
	static const uint8_t types[3] = { MIKEY_KEY_MPK, MIKEY_KEY_MPK, MIKEY_KEY_TGK };
	mikey_ticket_t t;
	mikey_keys_t keys;
	uint64_t t64;
	size_t clen = 0;
	char path[4096];
	memset(&t, 0, sizeof(t));
	t.policy = k->req.ticket.policy;
	mikey_tp_t *tp = &t.policy;
	k->key_len = tp->prf == MIKEY_PRF_HMAC_SHA256 ? 32 : 16;
	tp->has_idrkms = true;
	tp->idrkms = (mikey_id_t){ MIKEY_ROLE_KMS,
				   MIKEY_ID_NAI,
				   { (const uint8_t *)k->kms_id, strlen(k->kms_id) } };
	tp->has_kemac = false;
	/* IDRi and the responders as KMS user identities (ID Type NAI). */
	const mikey_id_t *idri = mikey_msg_idr(&k->req, MIKEY_ROLE_I);
	tp->has_idri = true;
	tp->idri = user_id(k, 0, MIKEY_ROLE_I, &idri->id);
	for (size_t i = 0; i < tp->nidrr; i++) {
		tp->idrr[i] = user_id(k, 2 + i, MIKEY_ROLE_R, &tp->idrr[i].id);
	}
	uint16_t on = MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H;
	if (k->fork) {
		on |= MIKEY_TPF_I;
	}
	/* D is the KMS's to set (it generates the ticket): not a change. */
	tp->flags = mikey_tp_normalise(tp->flags | MIKEY_TPF_D, true, on,
				       MIKEY_TPF_G | MIKEY_TPF_L | MIKEY_TPF_M);
	if (k->grant_type >= 0 && (uint16_t)k->grant_type != tp->ticket_type) {
		tp->ticket_type = (uint16_t)k->grant_type;
		tp->flags |= MIKEY_TPF_K;
	}
	/* MPKr only with key forking (RFC 6043 4.2.1). */
	bool fork = (tp->flags & MIKEY_TPF_I) != 0;
	keys.n = fork ? 3 : 2;
	int rc = crypto_random(k->handle, sizeof(k->handle));
	for (size_t i = 0; rc == KMS_EOK && i < keys.n; i++) {
		rc = crypto_random(k->keybuf[i], k->key_len);
		if (rc == KMS_EOK) {
			rc = crypto_random(k->spi[i], SPI_LEN);
		}
		keys.k[i] = (mikey_keydata_t){ .type = types[fork ? i : 2 * i],
					       .kv = MIKEY_KV_SPI,
					       .key = { k->keybuf[i], k->key_len },
					       .spi = { k->spi[i], SPI_LEN } };
	}
	if (rc == KMS_EOK) {
		rc = mikey_keys_build(&keys, k->chain, sizeof(k->chain), &clen);
	}
	store_path(k, path, sizeof(path));
	if (rc == KMS_EOK && write_file(path, k->chain, clen, 0600) != 0) {
		rc = KMS_EIO;
	}
	t.ticket_data = (mikey_bytes_t){ k->handle, HANDLE_LEN };
	begin(k, MIKEY_DT_REQUEST_RESP, &t64);
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_ticket(&k->resp, &t, true);
	}
	if (rc == KMS_EOK) {
		rc = add_kemac(k, t64, &keys);
	}
	return rc == KMS_EOK ? finish(k, len) : rc;
}

/* Vr over the Initiator Data with the unforked MPKr (RFC 6043 6.10). */
static int check_vr(const fk_t *k, const mikey_keydata_t *mpkr)
{
	const mikey_ticket_t *t = &k->req.ticket;
	uint8_t key[MIKEY_MAC_MAX], mac[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(t->vr.alg);
	int rc = t->has_init ? KMS_EOK : KMS_EMALFORMED;
	if (rc == KMS_EOK) {
		rc = mikey_kdf_vr_key(NULL, t->policy.prf, mpkr->key.data, mpkr->key.len,
				      key, klen);
	}
	if (rc == KMS_EOK) {
		rc = mikey_init_data_mac(t->init_data.data, t->init_data.len,
					 t->init_data.len - t->vr.mac.len, t->vr.alg, key,
					 klen, mac);
	}
	if (rc == KMS_EOK && !secmem_eq(mac, t->vr.mac.data, t->vr.mac.len)) {
		rc = KMS_EMAC;
	}
	secmem_wipe(key, sizeof(key));
	return rc;
}

static int resolve(fk_t *k, size_t *len)
{
	const mikey_ticket_t *t = &k->req.ticket;
	const mikey_id_t *who = mikey_msg_idr(&k->req, MIKEY_ROLE_R);
	mikey_keys_t keys;
	size_t clen = 0;
	uint64_t t64;
	char path[4096];
	bool fork = (t->policy.flags & MIKEY_TPF_I) != 0;
	if (t->ticket_data.len != HANDLE_LEN) {
		return KMS_ETICKET;
	}
	memcpy(k->handle, t->ticket_data.data, HANDLE_LEN);
	store_path(k, path, sizeof(path));
	if (read_file(path, k->chain, sizeof(k->chain), &clen) != 0 ||
	    mikey_keys_parse(k->chain, clen, &keys) != KMS_EOK ||
	    keys.n != (fork ? 3u : 2u)) {
		return KMS_ETICKET;
	}
	k->key_len = keys.k[0].key.len;
	bool allowed = false;
	for (size_t i = 0; i < t->policy.nidrr; i++) {
		allowed |= same_user(&t->policy.idrr[i].id, &who->id);
	}
	if (!allowed) {
		return KMS_EPOLICY;
	}
	/* The matched KMS user identity: IDRr of the answer, forking input. */
	mikey_id_t me = user_id(k, 1, MIKEY_ROLE_R, &who->id);
	int rc = fork ? check_vr(k, &keys.k[1]) : KMS_EOK;
	if (rc == KMS_EOK && fork) {
		rc = crypto_random(k->randrkms, sizeof(k->randrkms));
	}
	mikey_bytes_t rk = { k->randrkms, sizeof(k->randrkms) };
	for (size_t i = 1; fork && rc == KMS_EOK && i < 3; i++) {
		rc = mikey_kdf_fork(
		    NULL, t->policy.prf, i == 1 ? MIKEY_FORK_MPKR : MIKEY_FORK_TGK,
		    keys.k[i].key.data, keys.k[i].key.len, &me.id, &rk, k->keybuf[i]);
		keys.k[i].key.data = k->keybuf[i];
	}
	if (rc != KMS_EOK) {
		return rc;
	}
	begin(k, MIKEY_DT_RESOLVE_RESP, &t64);
	rc = add_kemac(k, t64, &keys);
	if (rc == KMS_EOK && (fork || k->resolve_idrr)) {
		rc = mikey_msg_add_id(&k->resp, MIKEY_ROLE_R, me.id_type, me.id.data,
				      me.id.len);
	}
	if (rc == KMS_EOK && fork) {
		rc = mikey_msg_add_rand(&k->resp, MIKEY_RAND_KMS, rk.data, rk.len);
	}
	return rc == KMS_EOK ? finish(k, len) : rc;
}

/*
 * Error = HDR, T, ERR, [V]: V only after the requester authenticated and
 * with --error-v, over the Error message alone (RFC 6043 5.5).
 */
static size_t error_message(fk_t *k, int code)
{
	uint8_t key[MIKEY_MAC_MAX];
	size_t len = 0, klen = mikey_v_key_len(k->auth_alg);
	bool mac = k->authed && k->error_v != 0 && klen > 0;
	uint32_t csb = k->req.hdr.csb_id ^ (k->error_csb ? 1u : 0u);
	mikey_msg_init(&k->resp, MIKEY_DT_ERROR, csb, k->req.hdr.prf);
	mikey_msg_add_ts(&k->resp, 0, MIKEY_TS_NTP_UTC,
			 mikey_ntp_from_unix((int64_t)time(NULL), 0));
	mikey_msg_add_err(&k->resp, (uint8_t)kms_err_mikey(code));
	if (mac) {
		mikey_msg_add_v(&k->resp, k->auth_alg);
	}
	int rc = mikey_msg_build(&k->resp, k->out_buf, sizeof(k->out_buf), &len);
	if (rc == KMS_EOK && mac) {
		rc = auth_key(k, k->error_v == 2 ? MIKEY_DIR_RESP : MIKEY_DIR_INIT, key,
			      klen);
		if (k->error_v == 3) {
			key[0] ^= 1; /* a key the UE cannot have */
		}
		if (rc == KMS_EOK) {
			rc = mikey_mac_sign(k->out_buf, len, key, klen, NULL, 0);
		}
	}
	secmem_wipe(key, sizeof(key));
	return rc == KMS_EOK ? len : 0;
}

static int add_user(fk_t *k, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	if (eq == NULL || eq == arg || k->nusers == USERS_MAX) {
		return -1;
	}
	user_t *u = &k->users[k->nusers];
	if (hex_decode(eq + 1, strlen(eq + 1), u->psk, sizeof(u->psk), &u->psk_len) !=
		KMS_EOK ||
	    u->psk_len == 0) {
		return -1;
	}
	char *id = strndup(arg, (size_t)(eq - arg));
	if (id == NULL) {
		return -1;
	}
	u->id = id;
	k->nusers++;
	return 0;
}

static int run(fk_t *k, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "store", required_argument, NULL, 's' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "kms-id", required_argument, NULL, 'k' },
		{ "fork", no_argument, NULL, 'f' },
		{ "grant-type", required_argument, NULL, 't' },
		{ "resolve-idrr", no_argument, NULL, 'r' },
		{ "lax-kms-id", no_argument, NULL, 'l' },
		{ "error-v", required_argument, NULL, 'e' },
		{ "error-csb", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	k->kms_id = "kms.example.org";
	k->grant_type = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (add_user(k, optarg) != 0) {
				return die("--user ID=HEX");
			}
			break;
		case 's':
			k->store = optarg;
			break;
		case 'i':
			k->in = optarg;
			break;
		case 'o':
			k->out = optarg;
			break;
		case 'k':
			k->kms_id = optarg;
			break;
		case 'f':
			k->fork = true;
			break;
		case 't':
			k->grant_type = strtol(optarg, NULL, 0);
			if (k->grant_type < 0 || k->grant_type > 0xffff) {
				return die("--grant-type 0..65535");
			}
			break;
		case 'r':
			k->resolve_idrr = true;
			break;
		case 'l':
			k->lax_kms_id = true;
			break;
		case 'e':
			k->error_v = strcmp(optarg, "1") == 0	  ? 1
				     : strcmp(optarg, "2") == 0	  ? 2
				     : strcmp(optarg, "bad") == 0 ? 3
								  : -1;
			if (k->error_v < 0) {
				return die("--error-v 1|2|bad");
			}
			break;
		case 'c':
			k->error_csb = true;
			break;
		default:
			return die(
			    "usage: fake_kms request|resolve --user ID=HEX --store DIR "
			    "--in FILE --out FILE [--kms-id ID]");
		}
	}
	if (optind != argc || k->store == NULL || k->in == NULL || k->out == NULL) {
		return die("missing --store, --in or --out");
	}
	size_t in_len = 0, out_len = 0;
	if (read_file(k->in, k->in_buf, sizeof(k->in_buf), &in_len) != 0) {
		return die("cannot read --in");
	}
	int rc = mikey_msg_parse(k->in_buf, in_len, &k->req);
	if (rc == KMS_EOK) {
		rc = authenticate(k);
	}
	if (rc == KMS_EOK) {
		rc = k->resolve ? resolve(k, &out_len) : request(k, &out_len);
	}
	if (rc != KMS_EOK) {
		fprintf(stderr, "fake_kms: refused: %s (%s)\n", kms_strerror(rc),
			kms_err_name(rc));
		out_len = error_message(k, rc);
	}
	if (write_file(k->out, k->out_buf, out_len, 0644) != 0) {
		return die("cannot write --out");
	}
	return rc == KMS_EOK ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 ||
	    (strcmp(argv[1], "request") != 0 && strcmp(argv[1], "resolve") != 0)) {
		return die("usage: fake_kms request|resolve OPTIONS");
	}
	fk_t *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		return die("out of memory");
	}
	k->resolve = strcmp(argv[1], "resolve") == 0;
	int ret = run(k, argc - 1, argv + 1);
	for (size_t i = 0; i < k->nusers; i++) {
		free((char *)k->users[i].id);
	}
	secmem_wipe(k, sizeof(*k));
	free(k);
	return ret;
}
