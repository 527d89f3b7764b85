/*
 * libFuzzer harness for the ticket opener (kms/ticket.c, kms/ticket_base.c
 * and the TICKET payload parser of mikey/payload_ticket.c), every served
 * Ticket Type, under a fixed test keyring (ticket_common.h).
 *
 * Input: one TICKET payload, as a RESOLVE_INIT carries it.  It is parsed
 * and redeemed as kmsd does (kms_ticket_redeem).  Built twice:
 *  - fuzz_ticket: as is; the seeds are valid tickets of each type and
 *    suite, so the fuzzer starts past the MAC and tag checks and explores
 *    what they refuse;
 *  - fuzz_ticket_sealed (TICKET_RESEAL): the secret parts of the input are
 *    clear text that the harness seals with the test key first (GCM
 *    ciphertext and tag, or KEMAC and V), so every mutation reaches the
 *    decoders behind the MAC: the sealed content layout, the key chain and
 *    the key checks.
 * Checked on success: at least MPKi, MPKr and a TGK; MPKi and MPKr are
 * MPKs; every key and SPI lies inside the caller's scratch (the keys of a
 * redeemed ticket never point into the message); a base ticket had TRs and
 * TRe.  The scratch is wiped as kmsd does.
 *
 * A ticket with flag D = 0 (built by an Initiator) is also parsed and
 * opened as kmsd does those (mikey/ticket_base.h) under the fixed TPK;
 * the seeds include such tickets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/ticket.h"
#include "mikey/ticket_base.h"
#include "tests/fuzz/ticket_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mikey_msg_t m;
static kms_ticket_scratch_t s;

static int inside(const mikey_bytes_t *b)
{
	const uint8_t *lo = (const uint8_t *)&s, *hi = lo + sizeof(s);
	return b->len == 0 || (b->data >= lo && b->data + b->len <= hi);
}

static void check(const kms_ticket_content_t *c)
{
	const mikey_keys_t *k = &c->keys;
	if (k->n < 3 || k->n > MIKEY_KEYS_MAX || k->k[0].type != MIKEY_KEY_MPK ||
	    k->k[1].type != MIKEY_KEY_MPK) {
		abort();
	}
	for (size_t i = 0; i < k->n; i++) {
		if (k->k[i].key.len == 0 || k->k[i].key.len > MIKEY_KEY_MAX ||
		    !inside(&k->k[i].key) || !inside(&k->k[i].spi)) {
			abort();
		}
	}
	const mikey_tp_t *tp = &m.ticket.policy;
	if (tp->ticket_type != KMS_TICKET_TYPE && (!tp->has_trs || !tp->has_tre)) {
		abort();
	}
}

/* D = 0: the Initiator's format under the fixed TPK, as kmsd opens it. */
static void open_initiator_ticket(void)
{
	const mikey_tp_t *tp = &m.ticket.policy;
	mikey_bytes_t aad;
	mikey_tb_t b;
	kms_ticket_content_t c;
	if ((tp->flags & MIKEY_TPF_D) != 0 || kms_ticket_aad_msg(&m, &aad) != KMS_EOK ||
	    mikey_tb_parse(&m.ticket.ticket_data, tp->prf, &b) != KMS_EOK ||
	    b.tpk_id != TF_TPK_ID) {
		return;
	}
	memset(&c, 0, sizeof(c));
	if (mikey_tb_open(tf_tpk, tp->prf, &aad, &m.ticket.ticket_data, &b, &s,
			  &c.keys) == KMS_EOK) {
		if (c.keys.n < 3 || !inside(&c.keys.k[0].key) ||
		    !inside(&c.keys.k[1].key)) {
			abort();
		}
	}
	secmem_wipe(&s, sizeof(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MIKEY_MSG_MAX) {
		return 0; /* kmsd never reads a larger message */
	}
	const keyring_t *kr = tf_keyring();
	/* An exact-size copy: ASan sees any read past the payload. */
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL) {
		return 0;
	}
	memcpy(buf, data, size);
	if (tf_msg_from_payload(buf, size, &m) == KMS_EOK) {
#ifdef TICKET_RESEAL
		tf_reseal(buf, &m);
#endif
		kms_ticket_content_t c;
		uint32_t id = 0;
		if (kms_ticket_redeem(kr, &m, &s, &c, &id) == KMS_EOK) {
			check(&c);
		}
		open_initiator_ticket();
		secmem_wipe(&s, sizeof(s));
	}
	free(buf);
	return 0;
}
