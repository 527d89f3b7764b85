/*
 * The TP and TICKET payloads of MIKEY-TICKET (RFC 6043 6.10): Ticket
 * Policy, TP Data (its own payload chain), Ticket Data and Initiator Data.
 * The RFC 3830 payloads they are made of live in mikey/payload.c.
 */
#include "mikey/payload_ticket.h"

#include <string.h>

#include "common/errcode.h"
#include "mikey/payload_int.h"

/* --- parsing ------------------------------------------------------------- */

/* Order of payloads in TP Data (RFC 6043 6.10); equal ranks may repeat only for app/r. */
enum tp_rank {
	RANK_KMS = 1,
	RANK_I,
	RANK_TRS,
	RANK_TRE,
	RANK_TRR,
	RANK_KEMAC,
	RANK_APP,
	RANK_R,
};

/* An IDR in TP Data: IDRkms, IDRi (once each), IDRapp, IDRr (capped). */
static int tp_idr_parse(wire_rd_t *c, uint8_t *next, mikey_tp_t *tp, int *rank)
{
	mikey_id_t id;
	int ret = mikey_id_parse(c, true, next, &id);
	if (ret != KMS_EOK) {
		return ret;
	}
	switch (id.role) {
	case MIKEY_ROLE_KMS:
		*rank = RANK_KMS;
		tp->idrkms = id;
		tp->has_idrkms = true;
		return KMS_EOK;
	case MIKEY_ROLE_I:
		*rank = RANK_I;
		tp->idri = id;
		tp->has_idri = true;
		return KMS_EOK;
	case MIKEY_ROLE_APP:
		*rank = RANK_APP;
		if (tp->napp == MIKEY_IDRAPP_MAX) {
			return KMS_ELIMIT;
		}
		tp->app[tp->napp++] = id;
		return KMS_EOK;
	case MIKEY_ROLE_R:
		*rank = RANK_R;
		if (tp->nidrr == MIKEY_IDRR_MAX) {
			return KMS_ELIMIT;
		}
		tp->idrr[tp->nidrr++] = id;
		return KMS_EOK;
	default:
		return KMS_ETPPAR;
	}
}

/* A TR in TP Data: validity start, end, re-key interval (NTP-UTC-32). */
static int tp_tr_parse(wire_rd_t *c, uint8_t *next, mikey_tp_t *tp, int *rank)
{
	mikey_ts_t ts;
	int ret = mikey_ts_parse(c, true, next, &ts);
	if (ret != KMS_EOK) {
		return ret;
	}
	switch (ts.role) {
	case MIKEY_TR_START:
		*rank = RANK_TRS;
		tp->trs = ts;
		tp->has_trs = true;
		return KMS_EOK;
	case MIKEY_TR_END:
		*rank = RANK_TRE;
		tp->tre = ts;
		tp->has_tre = true;
		return KMS_EOK;
	case MIKEY_TR_REKEY:
		if (ts.ts_type != MIKEY_TS_NTP_UTC_32) {
			return KMS_ETPPAR;
		}
		*rank = RANK_TRR;
		tp->trr = ts;
		tp->has_trr = true;
		return KMS_EOK;
	default:
		return KMS_ETPPAR;
	}
}

/* The KEMAC of TP Data: a template of the keys asked for. */
static int tp_kemac_parse(wire_rd_t *c, uint8_t *next, mikey_tp_t *tp, int *rank)
{
	*rank = RANK_KEMAC;
	int ret = mikey_kemac_parse(c, next, &tp->kemac);
	if (ret != KMS_EOK) {
		return ret;
	}
	/* A template: NULL encryption and MAC, key bytes ignored. */
	if (tp->kemac.encr_alg != MIKEY_ENCR_NULL ||
	    tp->kemac.mac_alg != MIKEY_MAC_NULL) {
		return KMS_ETPPAR;
	}
	ret = mikey_keys_parse(tp->kemac.encr_data.data, tp->kemac.encr_data.len,
			       &tp->kemac_keys);
	if (ret != KMS_EOK) {
		return ret;
	}
	tp->has_kemac = true;
	return KMS_EOK;
}

/* One payload of TP Data, of type *next; *rank is its place in the order. */
static int tp_payload_parse(wire_rd_t *c, uint8_t *next, mikey_tp_t *tp, int *rank)
{
	switch (*next) {
	case MIKEY_PT_IDR:
		return tp_idr_parse(c, next, tp, rank);
	case MIKEY_PT_TR:
		return tp_tr_parse(c, next, tp, rank);
	case MIKEY_PT_KEMAC:
		return tp_kemac_parse(c, next, tp, rank);
	default:
		return KMS_EPAYLOAD;
	}
}

static int tp_data_parse(const mikey_bytes_t *raw, mikey_tp_t *tp)
{
	wire_rd_t c;
	wire_rd_init(&c, raw->data, raw->len);
	uint8_t next = wire_rd_u8(&c);
	int last_rank = 0;
	while (wire_rd_error(&c) == KMS_EOK && next != MIKEY_PT_LAST) {
		int rank = 0;
		int ret = tp_payload_parse(&c, &next, tp, &rank);
		if (ret != KMS_EOK) {
			return ret;
		}
		/* Order, and singletons appear once. */
		if (rank < last_rank ||
		    (rank == last_rank && rank != RANK_APP && rank != RANK_R)) {
			return KMS_ETPPAR;
		}
		last_rank = rank;
	}
	int ret = wire_rd_finish(&c);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (tp->nidrr == 0) {
		return KMS_ETPPAR; /* at least one authorised responder */
	}
	return KMS_EOK;
}

static int init_data_parse(const mikey_bytes_t *raw, mikey_v_t *vi, mikey_v_t *vr)
{
	wire_rd_t c;
	uint8_t next;
	wire_rd_init(&c, raw->data, raw->len);
	if (wire_rd_u8(&c) != MIKEY_PT_V) {
		return wire_rd_error(&c) != KMS_EOK ? wire_rd_error(&c) : KMS_EPAYLOAD;
	}
	int ret = mikey_v_parse(&c, &next, vi);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (next != MIKEY_PT_V) {
		return KMS_EPAYLOAD;
	}
	ret = mikey_v_parse(&c, &next, vr);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (next != MIKEY_PT_LAST) {
		return KMS_EPAYLOAD;
	}
	if (vi->alg == MIKEY_MAC_NULL || vr->alg != vi->alg) {
		return KMS_EHA;
	}
	return wire_rd_finish(&c);
}

int mikey_ticket_parse(wire_rd_t *c, bool is_ticket, uint8_t *next, mikey_ticket_t *out)
{
	mikey_ticket_t t;
	memset(&t, 0, sizeof(t));
	size_t start = wire_rd_offset(c);
	uint8_t nx = wire_rd_u8(c);
	t.policy.ticket_type = wire_rd_u16(c);
	t.policy.subtype = wire_rd_u8(c);
	t.policy.version = wire_rd_u8(c);
	uint8_t b5 = wire_rd_u8(c);
	uint8_t b6 = wire_rd_u8(c);
	uint8_t b7 = wire_rd_u8(c);
	t.policy.prf = b5 >> 1;
	t.policy.flags = (uint16_t)(((b5 & 1u) << 15) | ((unsigned)b6 << 7) |
				    (((unsigned)b7 >> 5) << 4));
	uint16_t tpl = wire_rd_u16(c);
	t.policy.tp_data = payload_rd_bytes(c, tpl);
	if (is_ticket) {
		uint16_t tdl = wire_rd_u16(c);
		if (wire_rd_error(c) == KMS_EOK && tdl > MIKEY_TICKET_DATA_MAX) {
			return KMS_ELIMIT;
		}
		t.ticket_data = payload_rd_bytes(c, tdl);
		t.init_len_off = wire_rd_offset(c) - start;
		uint16_t idl = wire_rd_u16(c);
		t.init_data = payload_rd_bytes(c, idl);
	}
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	if (t.policy.prf != MIKEY_PRF_MIKEY1 && t.policy.prf != MIKEY_PRF_HMAC_SHA256) {
		return KMS_EPRF;
	}
	int ret = tp_data_parse(&t.policy.tp_data, &t.policy);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (is_ticket) {
		/* Initiator Data only with forking (I = 1); the Initiator adds it in
		 * TRANSFER_INIT, so a KMS's REQUEST_RESP carries none (msg.c). */
		bool forking = (t.policy.flags & MIKEY_TPF_I) != 0;
		if (!forking && t.init_data.len > 0) {
			return KMS_EMALFORMED;
		}
		if (t.init_data.len > 0) {
			ret = init_data_parse(&t.init_data, &t.vi, &t.vr);
			if (ret != KMS_EOK) {
				return ret;
			}
			t.has_init = true;
		}
	}
	*next = nx;
	*out = t;
	return KMS_EOK;
}

/* --- building ------------------------------------------------------------ */

static void tp_data_build(mikey_builder_t *b, const mikey_tp_t *tp)
{
	if (tp->napp > MIKEY_IDRAPP_MAX || tp->nidrr > MIKEY_IDRR_MAX) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	if (tp->has_idrkms) {
		mikey_id_build(b, &tp->idrkms);
	}
	if (tp->has_idri) {
		mikey_id_build(b, &tp->idri);
	}
	if (tp->has_trs) {
		mikey_ts_build(b, &tp->trs);
	}
	if (tp->has_tre) {
		mikey_ts_build(b, &tp->tre);
	}
	if (tp->has_trr) {
		mikey_ts_build(b, &tp->trr);
	}
	if (tp->has_kemac) {
		mikey_kemac_build(b, &tp->kemac);
	}
	for (size_t i = 0; i < tp->napp; i++) {
		mikey_id_build(b, &tp->app[i]);
	}
	for (size_t i = 0; i < tp->nidrr; i++) {
		mikey_id_build(b, &tp->idrr[i]);
	}
}

void mikey_ticket_build(mikey_builder_t *b, const mikey_ticket_t *t, bool is_ticket)
{
	const mikey_tp_t *tp = &t->policy;
	if (tp->prf > 0x7f || (tp->flags & ~MIKEY_TPF_ALL) != 0) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	payload_begin(b, is_ticket ? MIKEY_PT_TICKET : MIKEY_PT_TP);
	wire_wr_u16(&b->w, tp->ticket_type);
	wire_wr_u8(&b->w, tp->subtype);
	wire_wr_u8(&b->w, tp->version);
	wire_wr_u8(&b->w, (uint8_t)((tp->prf << 1) | ((tp->flags >> 15) & 1u)));
	wire_wr_u8(&b->w, (uint8_t)(tp->flags >> 7));
	wire_wr_u8(&b->w, (uint8_t)(((tp->flags >> 4) & 0x07u) << 5));
	size_t len_off = wire_wr_offset(&b->w);
	wire_wr_u16(&b->w, 0);

	/* TP Data: First Payload byte, then its own payload chain. */
	size_t outer = b->next_off;
	b->next_off = wire_wr_offset(&b->w);
	wire_wr_u8(&b->w, MIKEY_PT_LAST);
	tp_data_build(b, tp);
	b->next_off = outer;
	size_t tpl = wire_wr_offset(&b->w) - len_off - 2;
	if (tpl > UINT16_MAX) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	wire_wr_patch_u16(&b->w, len_off, (uint16_t)tpl);
	if (is_ticket) {
		payload_wr_bytes16(b, &t->ticket_data);
		payload_wr_bytes16(b, &t->init_data);
	}
}

int mikey_init_data_build(const mikey_v_t *vi, const mikey_v_t *vr, uint8_t *buf,
			  size_t cap, size_t *len, size_t *vr_mac_off)
{
	mikey_builder_t b;
	size_t off = 0;
	mikey_builder_init(&b, buf, cap);
	b.next_off = 0; /* the First Payload byte */
	wire_wr_u8(&b.w, MIKEY_PT_LAST);
	mikey_v_build(&b, vi, NULL);
	mikey_v_build(&b, vr, &off);
	int ret = mikey_builder_error(&b);
	if (ret == KMS_EOK) {
		*len = mikey_builder_len(&b);
		if (vr_mac_off != NULL) {
			*vr_mac_off = off;
		}
	}
	return ret;
}
