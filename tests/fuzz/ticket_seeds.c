/*
 * Writes the seed corpora of fuzz_ticket and fuzz_ticket_sealed: a valid
 * ticket of every served Ticket Type (0xF000, 1, 2) and suite (PRF 0 and
 * 1), with and without forking, issued by kms_ticket_issue() under the
 * fixed test keyring (ticket_common.h), as TICKET payloads.  The sealed
 * corpus holds the same tickets in clear form (tf_reseal()).  Checks that
 * each one redeems, and that its clear form resealed redeems too.
 * Usage: ticket_seeds DIR   (writes DIR/ticket/ and DIR/ticket_sealed/)
 * Run from the top of the tree: build/tests/fuzz/ticket_seeds tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/ticket.h"
#include "mikey/ticket_base.h"
#include "tests/fuzz/ticket_common.h"

#define NOW 1795910400
#define PAYLOAD_MAX (MIKEY_TICKET_DATA_MAX + 1024)

static kms_ticket_scratch_t s;
static mikey_msg_t m;
static uint8_t td[MIKEY_TICKET_DATA_MAX], pl[PAYLOAD_MAX];

static mikey_id_t id(uint8_t role, uint8_t type, const char *v)
{
	return (mikey_id_t){ role, type, { (const uint8_t *)v, strlen(v) } };
}

static void policy(mikey_tp_t *tp, uint16_t type, uint8_t prf, int fork)
{
	memset(tp, 0, sizeof(*tp));
	tp->ticket_type = type;
	tp->subtype = 1;
	tp->version = 1;
	tp->prf = prf;
	tp->flags = MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H |
		    (fork ? MIKEY_TPF_I : 0);
	tp->has_idrkms = true;
	tp->idrkms = id(MIKEY_ROLE_KMS, MIKEY_ID_URI, "sip:kms.example.org");
	tp->has_idri = true;
	tp->idri = id(MIKEY_ROLE_I, MIKEY_ID_NAI, "alice@example.org");
	tp->has_trs = true;
	tp->trs =
	    (mikey_ts_t){ MIKEY_TR_START, MIKEY_TS_NTP_UTC, mikey_ntp_from_unix(NOW, 0) };
	tp->has_tre = true;
	tp->tre = (mikey_ts_t){ MIKEY_TR_END, MIKEY_TS_NTP_UTC,
				mikey_ntp_from_unix(NOW + 3600, 0) };
	tp->nidrr = fork ? 2 : 1;
	tp->idrr[0] = id(MIKEY_ROLE_R, MIKEY_ID_NAI, "bob@example.org");
	tp->idrr[1] = id(MIKEY_ROLE_R, MIKEY_ID_URI, "sip:*.dept@example.org");
}

/* The TICKET payload of tp and its Ticket Data into pl; its length. */
static size_t make(const mikey_tp_t *tp, int fork)
{
	static const uint8_t mac[20] = { 1, 2, 3 };
	static uint8_t init[64];
	kms_ticket_content_t c;
	size_t len = 0, ilen = 0;
	mikey_ticket_t t;
	mikey_builder_t b;
	memset(&t, 0, sizeof(t));
	if (kms_ticket_issue(tf_keyring(), tp, NOW, NOW, NOW + 3600, &s, &c, td,
			     sizeof(td), &len, NULL) != KMS_EOK) {
		return 0;
	}
	t.policy = *tp;
	t.ticket_data = (mikey_bytes_t){ td, len };
	if (fork) { /* Initiator Data: V_I and V_R, as a TRANSFER_INIT has it */
		mikey_v_t v = { MIKEY_MAC_HMAC_SHA1_160, { mac, sizeof(mac) } };
		if (mikey_init_data_build(&v, &v, init, sizeof(init), &ilen, NULL) !=
		    KMS_EOK) {
			return 0;
		}
		t.init_data = (mikey_bytes_t){ init, ilen };
	}
	mikey_builder_init(&b, pl, sizeof(pl));
	mikey_ticket_build(&b, &t, true);
	return mikey_builder_error(&b) == KMS_EOK ? mikey_builder_len(&b) : 0;
}

/* A ticket an Initiator built (D = 0, L = 1) under tf_tpk into pl. */
static size_t make_initiator(mikey_tp_t *tp, int fork)
{
	static uint8_t aadbuf[PAYLOAD_MAX];
	mikey_bytes_t aad;
	mikey_keys_t keys;
	mikey_ticket_t t;
	mikey_builder_t b;
	size_t len = 0;
	tp->flags = (uint16_t)((tp->flags & ~MIKEY_TPF_D) | MIKEY_TPF_L);
	memset(&t, 0, sizeof(t));
	if (mikey_tb_aad_build(tp, aadbuf, sizeof(aadbuf), &aad) != KMS_EOK ||
	    mikey_tb_build(tf_tpk, TF_TPK_ID, tp, &aad, NOW, &s, &keys, td, sizeof(td),
			   &len) != KMS_EOK) {
		return 0;
	}
	t.policy = *tp;
	t.ticket_data = (mikey_bytes_t){ td, len };
	(void)fork; /* no Initiator Data: the opener does not read it */
	mikey_builder_init(&b, pl, sizeof(pl));
	mikey_ticket_build(&b, &t, true);
	return mikey_builder_error(&b) == KMS_EOK ? mikey_builder_len(&b) : 0;
}

static int put(const char *dir, const char *sub, const char *name, size_t len)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(p, "wb");
	if (f == NULL || fwrite(pl, 1, len, f) != len || fclose(f) != 0) {
		perror(p);
		return 1;
	}
	return 0;
}

/* The clear form in pl, sealed as fuzz_ticket_sealed does, redeems. */
static int reseal_redeems(const char *name, size_t len)
{
	kms_ticket_content_t c;
	int ret = tf_msg_from_payload(pl, len, &m);
	if (ret == KMS_EOK) {
		tf_reseal(pl, &m);
		ret = kms_ticket_redeem(tf_keyring(), &m, &s, &c, NULL);
	}
	if (ret != KMS_EOK) {
		fprintf(stderr, "%s: the clear form does not reseal\n", name);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const uint16_t types[3] = { KMS_TICKET_TYPE, KMS_TICKET_TYPE_BASE,
					   KMS_TICKET_TYPE_3GPP };
	int bad = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < 3; i++) {
		for (uint8_t prf = 0; prf < 2; prf++) {
			for (int fork = 0; fork < 2; fork++) {
				mikey_tp_t tp;
				kms_ticket_content_t c;
				char name[64];
				policy(&tp, types[i], prf, fork);
				size_t len = make(&tp, fork);
				if (len == 0 ||
				    tf_msg_from_payload(pl, len, &m) != KMS_EOK ||
				    kms_ticket_redeem(tf_keyring(), &m, &s, &c, NULL) !=
					KMS_EOK) {
					fprintf(stderr,
						"type %u prf %u: no valid ticket\n",
						types[i], prf);
					return 1;
				}
				snprintf(name, sizeof(name), "valid-%04x-prf%u%s",
					 types[i], prf, fork ? "-fork" : "");
				bad |= put(argv[1], "ticket", name, len);
				tf_reseal(pl, &m); /* the clear form */
				bad |= put(argv[1], "ticket_sealed", name, len);
				/* What fuzz_ticket_sealed does with it must redeem. */
				bad |= reseal_redeems(name, len);
			}
		}
	}
	for (uint8_t prf = 0; prf < 2; prf++) {
		mikey_tp_t tp;
		char name[64];
		policy(&tp, KMS_TICKET_TYPE_BASE, prf, 1);
		size_t len = make_initiator(&tp, 1);
		if (len == 0) {
			fprintf(stderr, "prf %u: no Initiator's ticket\n", prf);
			return 1;
		}
		snprintf(name, sizeof(name), "valid-0001-prf%u-initiator", prf);
		bad |= put(argv[1], "ticket", name, len);
	}
	secmem_wipe(&s, sizeof(s));
	return bad;
}
