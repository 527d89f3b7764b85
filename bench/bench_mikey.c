/*
 * Microbenchmark: the KMS side of one Ticket Request, in process.
 *
 * One op = parse a REQUEST_INIT_PSK, derive its auth key and verify its V
 * MAC, draw MPKi, MPKr and one TGK, seal them into a KEMAC, build the
 * REQUEST_RESP and sign it over RESP || REQUEST_INIT.  The ticket data is a
 * fixed blob here (ticket sealing belongs to kmsd).  The four PRFs on the
 * PSK share one PRF cache, wiped at the end of the op as kmsd wipes its
 * worker's at the end of a request.  Usage:
 *   bench_mikey [ops] [sha1|sha256]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/msg.h"
#include "mikey/prf.h"
#include "mikey/profile.h"

static const uint8_t psk[32] = { 0x42 };
static const char kms_id[] = "kms.example.org";
static const char alice[] = "alice@example.org";
static const char bob[] = "bob@example.org";

struct suite {
	uint8_t prf, encr, mac;
	size_t key_len;
};

static int build_request(const struct suite *s, uint8_t *buf, size_t cap, size_t *len)
{
	static uint8_t randri[32];
	static const uint8_t btid[] = "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example.org";
	mikey_msg_t m;
	mikey_ticket_t tp;
	memset(&tp, 0, sizeof(tp));
	crypto_random(randri, sizeof(randri));
	tp.policy.ticket_type = 0xf000;
	tp.policy.subtype = 1;
	tp.policy.version = 1;
	tp.policy.prf = s->prf;
	tp.policy.flags = MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_I;
	tp.policy.nidrr = 1;
	tp.policy.idrr[0] = (mikey_id_t){ MIKEY_ROLE_R,
					  MIKEY_ID_NAI,
					  { (const uint8_t *)bob, strlen(bob) } };
	mikey_msg_init(&m, MIKEY_DT_REQUEST_INIT_PSK, 0x01020304, s->prf);
	mikey_msg_add_ts(&m, 0, MIKEY_TS_NTP_UTC, 0xe76f1c8000000000ULL);
	mikey_msg_add_rand(&m, MIKEY_RAND_I, randri, s->key_len);
	mikey_msg_add_id(&m, MIKEY_ROLE_I, MIKEY_ID_NAI, (const uint8_t *)alice,
			 strlen(alice));
	mikey_msg_add_id(&m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, (const uint8_t *)kms_id,
			 strlen(kms_id));
	mikey_msg_add_ticket(&m, &tp, false);
	mikey_msg_add_id(&m, MIKEY_ROLE_PSK, MIKEY_ID_BYTES, btid, sizeof(btid) - 1);
	mikey_msg_add_v(&m, s->mac);
	int ret = mikey_msg_build(&m, buf, cap, len);
	if (ret != KMS_EOK) {
		return ret;
	}
	uint8_t auth[32];
	mikey_bytes_t ri = { randri, s->key_len };
	size_t alen = mikey_v_key_len(s->mac);
	ret = mikey_kdf_msg_key(NULL, s->prf, psk, sizeof(psk), MIKEY_DK_AUTH, 0x01020304,
				MIKEY_DIR_INIT, &ri, NULL, auth, alen);
	mikey_bytes_t ids[2] = { { (const uint8_t *)alice, strlen(alice) },
				 { (const uint8_t *)kms_id, strlen(kms_id) } };
	if (ret == KMS_EOK) {
		ret = mikey_mac_sign(buf, *len, auth, alen, ids, 2);
	}
	secmem_wipe(auth, sizeof(auth));
	return ret;
}

/* Parse the REQUEST_INIT and verify its V under the PSK's auth key. */
static int verify_init(mikey_prf_cache_t *pc, const uint8_t *req, size_t req_len,
		       mikey_msg_t *in)
{
	uint8_t auth[32];
	mikey_bytes_t kms = { (const uint8_t *)kms_id, strlen(kms_id) };
	mikey_bytes_t ids[2];
	int ret = mikey_msg_parse(req, req_len, in);
	if (ret != KMS_EOK) {
		return ret;
	}
	const mikey_rand_t *ri = mikey_msg_randr(in, MIKEY_RAND_I);
	size_t alen = mikey_v_key_len(mikey_msg_v(in)->alg);
	ret = mikey_kdf_msg_key(pc, in->hdr.prf, psk, sizeof(psk), MIKEY_DK_AUTH,
				in->hdr.csb_id, MIKEY_DIR_INIT, &ri->rand, NULL, auth,
				alen);
	if (ret == KMS_EOK) {
		ret = mikey_profile_init_identities(in, &kms, ids);
	}
	if (ret == KMS_EOK) {
		ret = mikey_mac_verify(in, auth, alen, ids, 2);
	}
	secmem_wipe(auth, sizeof(auth));
	return ret;
}

/* Draw MPKi, MPKr and a TGK into keybuf and seal them into a KEMAC. */
static int seal_keys(mikey_prf_cache_t *pc, const struct suite *s, const mikey_msg_t *in,
		     uint64_t now, uint8_t keybuf[3][32], uint8_t *kemac, size_t cap,
		     size_t *kemac_len)
{
	static const uint8_t spi[3][4] = { { 0, 0, 0, 1 },
					   { 0, 0, 0, 2 },
					   { 0, 0, 0, 3 } };
	static const uint8_t types[3] = { MIKEY_KEY_MPK, MIKEY_KEY_MPK, MIKEY_KEY_TGK };
	mikey_keys_t keys = { .n = 3 };
	for (size_t i = 0; i < 3; i++) {
		crypto_random(keybuf[i], s->key_len);
		keys.k[i] = (mikey_keydata_t){ .type = types[i],
					       .kv = MIKEY_KV_SPI,
					       .key = { keybuf[i], s->key_len },
					       .spi = { spi[i], 4 } };
	}
	const mikey_rand_t *ri = mikey_msg_randr(in, MIKEY_RAND_I);
	return mikey_kemac_seal(pc, in->hdr.prf, s->encr, psk, sizeof(psk),
				in->hdr.csb_id, MIKEY_DIR_RESP, &ri->rand, NULL, now,
				&keys, kemac, cap, kemac_len);
}

/* The KMS's work for one request; returns the response length or < 0. */
static int serve(const struct suite *s, const uint8_t *req, size_t req_len, uint8_t *resp,
		 size_t cap)
{
	static mikey_msg_t in, out;
	static mikey_prf_cache_t pc; /* kmsd: in the worker's request context */
	static const uint8_t ticket_data[64] = { 0x7d };
	uint8_t auth[32], keybuf[3][32], kemac[256];
	size_t kemac_len = 0, len = 0;
	uint64_t now = 0xe76f1c9000000000ULL;
	int ret = verify_init(&pc, req, req_len, &in);
	if (ret == KMS_EOK) {
		ret =
		    seal_keys(&pc, s, &in, now, keybuf, kemac, sizeof(kemac), &kemac_len);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	mikey_ticket_t t = in.ticket;
	t.policy.flags |= MIKEY_TPF_D;
	t.ticket_data = (mikey_bytes_t){ ticket_data, sizeof(ticket_data) };
	mikey_msg_init(&out, MIKEY_DT_REQUEST_RESP, in.hdr.csb_id, in.hdr.prf);
	mikey_msg_add_ts(&out, 0, MIKEY_TS_NTP_UTC, now);
	mikey_msg_add_id(&out, MIKEY_ROLE_KMS, MIKEY_ID_NAI, (const uint8_t *)kms_id,
			 strlen(kms_id));
	mikey_msg_add_ticket(&out, &t, true);
	mikey_kemac_t k = { s->encr, { kemac, kemac_len }, MIKEY_MAC_NULL, { NULL, 0 } };
	mikey_msg_add_kemac(&out, &k);
	mikey_msg_add_v(&out, s->mac);
	ret = mikey_msg_build(&out, resp, cap, &len);
	const mikey_rand_t *ri = mikey_msg_randr(&in, MIKEY_RAND_I);
	size_t alen = mikey_v_key_len(mikey_msg_v(&in)->alg);
	if (ret == KMS_EOK) {
		ret = mikey_kdf_msg_key(&pc, in.hdr.prf, psk, sizeof(psk), MIKEY_DK_AUTH,
					in.hdr.csb_id, MIKEY_DIR_RESP, &ri->rand, NULL,
					auth, alen);
	}
	mikey_bytes_t whole_req = { req, req_len };
	if (ret == KMS_EOK) {
		ret = mikey_mac_sign(resp, len, auth, alen, &whole_req, 1);
	}
cleanup:
	mikey_prf_cache_wipe(&pc);
	secmem_wipe(auth, sizeof(auth));
	secmem_wipe(keybuf, sizeof(keybuf));
	secmem_wipe(kemac, sizeof(kemac));
	return ret == KMS_EOK ? (int)len : ret;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long ops = argc > 1 ? atol(argv[1]) : 200000;
	struct suite s = { MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_CM_128,
			   MIKEY_MAC_HMAC_SHA1_160, 16 };
	if (argc > 2 && strcmp(argv[2], "sha256") == 0) {
		s = (struct suite){ MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_AES_CM_256,
				    MIKEY_MAC_HMAC_SHA256_256, 32 };
	}
	if (ops <= 0 || ops > 100000000) {
		fprintf(stderr, "usage: bench_mikey [ops] [sha1|sha256]\n");
		return 2;
	}
	static uint8_t req[MIKEY_MSG_MAX], resp[MIKEY_MSG_MAX];
	size_t req_len = 0;
	int ret = build_request(&s, req, sizeof(req), &req_len);
	if (ret != KMS_EOK) {
		fprintf(stderr, "bench_mikey: cannot build the request: %s\n",
			kms_strerror(ret));
		return 1;
	}
	int rlen = serve(&s, req, req_len, resp, sizeof(resp)); /* warm-up and check */
	if (rlen < 0) {
		fprintf(stderr, "bench_mikey: serve failed: %s\n", kms_strerror(rlen));
		return 1;
	}
	double t0 = now_s();
	for (long i = 0; i < ops; i++) {
		if (serve(&s, req, req_len, resp, sizeof(resp)) < 0) {
			fprintf(stderr, "bench_mikey: serve failed at op %ld\n", i);
			return 1;
		}
	}
	double dt = now_s() - t0;
	printf("bench_mikey %s: %ld ops in %.3f s: %.0f ops/s, %.2f us/op "
	       "(REQUEST_INIT %zu B -> REQUEST_RESP %d B)\n",
	       argc > 2 ? argv[2] : "sha1", ops, dt, (double)ops / dt,
	       dt * 1e6 / (double)ops, req_len, rlen);
	return 0;
}
