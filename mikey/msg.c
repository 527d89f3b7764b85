#include "mikey/msg.h"

#include <string.h>

#include "common/errcode.h"

/* --- decode -------------------------------------------------------------- */

static int payload_parse(wire_rd_t *c, uint8_t type, mikey_msg_t *m, mikey_payload_t *p,
			 uint8_t *next)
{
	switch (type) {
	case MIKEY_PT_T:
		return mikey_ts_parse(c, false, next, &p->u.ts);
	case MIKEY_PT_TR:
		return mikey_ts_parse(c, true, next, &p->u.ts);
	case MIKEY_PT_ID:
		return mikey_id_parse(c, false, next, &p->u.id);
	case MIKEY_PT_IDR:
		return mikey_id_parse(c, true, next, &p->u.id);
	case MIKEY_PT_RAND:
		return mikey_rand_parse(c, false, next, &p->u.rand);
	case MIKEY_PT_RANDR:
		return mikey_rand_parse(c, true, next, &p->u.rand);
	case MIKEY_PT_KEMAC:
		return mikey_kemac_parse(c, next, &p->u.kemac);
	case MIKEY_PT_V:
		return mikey_v_parse(c, next, &p->u.v);
	case MIKEY_PT_ERR:
		return mikey_err_parse(c, next, &p->u.err);
	case MIKEY_PT_SP:
		return mikey_sp_parse(c, next, &p->u.sp);
	case MIKEY_PT_GENEXT:
		return mikey_genext_parse(c, next, &p->u.ext);
	case MIKEY_PT_PKE:
		return mikey_pke_parse(c, next, &p->u.pke);
	case MIKEY_PT_CERT:
		return mikey_cert_parse(c, next, &p->u.cert);
	case MIKEY_PT_CHASH:
		return mikey_chash_parse(c, next, &p->u.chash);
	case MIKEY_PT_SIGN:
		*next = MIKEY_PT_LAST;
		return mikey_sign_parse(c, &p->u.sign);
	case MIKEY_PT_TP:
	case MIKEY_PT_TICKET:
		if (m->has_ticket) {
			return KMS_EPAYLOAD; /* one ticket (policy) per message */
		}
		m->has_ticket = true;
		m->ticket_index = m->n;
		return mikey_ticket_parse(c, type == MIKEY_PT_TICKET, next, &m->ticket);
	case MIKEY_PT_DH:
		return KMS_ENOTSUP; /* Diffie-Hellman modes are not served */
	default:
		return KMS_EPAYLOAD; /* no length field: an unknown payload stops the parse */
	}
}

int mikey_msg_decode(const uint8_t *buf, size_t len, mikey_msg_t *out)
{
	wire_rd_t c;
	memset(out, 0, offsetof(mikey_msg_t, p));
	out->has_ticket = false;
	out->err_off = 0;
	out->err_type = MIKEY_PT_LAST;
	out->build_err = KMS_EOK;
	if (len > MIKEY_MSG_MAX) {
		return KMS_ELIMIT;
	}
	wire_rd_init(&c, buf, len);
	out->buf = buf;
	out->len = len;
	int ret = mikey_hdr_parse(&c, &out->hdr);
	if (ret != KMS_EOK) {
		return ret;
	}
	uint8_t next = out->hdr.next;
	while (next != MIKEY_PT_LAST) {
		out->err_off = wire_rd_offset(&c);
		out->err_type = next;
		if (out->n == MIKEY_PAYLOADS_MAX) {
			return KMS_ELIMIT;
		}
		mikey_payload_t *p = &out->p[out->n];
		memset(p, 0, sizeof(*p));
		p->type = next;
		p->off = wire_rd_offset(&c);
		ret = payload_parse(&c, next, out, p, &next);
		if (ret != KMS_EOK) {
			return ret;
		}
		p->len = wire_rd_offset(&c) - p->off;
		out->n++;
	}
	out->err_off = wire_rd_offset(&c);
	out->err_type = MIKEY_PT_LAST;
	return wire_rd_finish(&c);
}

/* --- composition --------------------------------------------------------- */

#define ANY_ROLE 0xff

struct slot {
	uint8_t type;
	uint8_t role;
	uint8_t min;
	uint8_t max;
};

#define ONE(t, r)                                                                        \
	{                                                                                \
		t, r, 1, 1                                                               \
	}
#define OPT(t, r)                                                                        \
	{                                                                                \
		t, r, 0, 1                                                               \
	}
#define MANY(t, r, lo)                                                                   \
	{                                                                                \
		t, r, lo, MIKEY_PAYLOADS_MAX                                             \
	}
#define END                                                                              \
	{                                                                                \
		0, 0, 0, 0                                                               \
	}

/* RFC 6043 section 3 compositions, in wire order. */
static const struct slot c_request_init[] = {
	ONE(MIKEY_PT_T, 0),
	ONE(MIKEY_PT_RANDR, MIKEY_RAND_I),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_I),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_KMS),
	ONE(MIKEY_PT_TP, 0),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_PSK),
	ONE(MIKEY_PT_V, 0),
	END,
};
static const struct slot c_request_resp[] = {
	ONE(MIKEY_PT_T, 0),	 OPT(MIKEY_PT_IDR, MIKEY_ROLE_KMS),
	ONE(MIKEY_PT_TICKET, 0), ONE(MIKEY_PT_KEMAC, 0),
	ONE(MIKEY_PT_V, 0),	 END,
};
static const struct slot c_transfer_init[] = {
	ONE(MIKEY_PT_T, 0),
	ONE(MIKEY_PT_RANDR, MIKEY_RAND_I),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_I),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_R),
	MANY(MIKEY_PT_SP, 0, 0),
	ONE(MIKEY_PT_TICKET, 0),
	OPT(MIKEY_PT_KEMAC, 0),
	ONE(MIKEY_PT_V, 0),
	END,
};
static const struct slot c_transfer_resp[] = {
	ONE(MIKEY_PT_T, 0),
	OPT(MIKEY_PT_RANDR, MIKEY_RAND_R),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_R),
	OPT(MIKEY_PT_RANDR, MIKEY_RAND_KMS),
	MANY(MIKEY_PT_SP, 0, 0),
	OPT(MIKEY_PT_KEMAC, 0),
	ONE(MIKEY_PT_V, 0),
	END,
};
static const struct slot c_resolve_init[] = {
	ONE(MIKEY_PT_T, 0),
	ONE(MIKEY_PT_RANDR, MIKEY_RAND_R),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_R),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_KMS),
	ONE(MIKEY_PT_TICKET, 0),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_PSK),
	ONE(MIKEY_PT_V, 0),
	END,
};
static const struct slot c_resolve_resp[] = {
	ONE(MIKEY_PT_T, 0),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_KMS),
	ONE(MIKEY_PT_KEMAC, 0),
	OPT(MIKEY_PT_IDR, MIKEY_ROLE_R),
	OPT(MIKEY_PT_RANDR, MIKEY_RAND_KMS),
	ONE(MIKEY_PT_V, 0),
	END,
};
/* Error = HDR, T, (ERR), {SP}, [V | SIGN]; the SP form is the Transfer one. */
static const struct slot c_error[] = {
	ONE(MIKEY_PT_T, 0), MANY(MIKEY_PT_ERR, 0, 1), MANY(MIKEY_PT_SP, 0, 0),
	OPT(MIKEY_PT_V, 0), OPT(MIKEY_PT_SIGN, 0),    END,
};

static bool has_role(uint8_t type)
{
	return type == MIKEY_PT_IDR || type == MIKEY_PT_RANDR || type == MIKEY_PT_TR;
}

static uint8_t payload_role(const mikey_payload_t *p)
{
	switch (p->type) {
	case MIKEY_PT_IDR:
		return p->u.id.role;
	case MIKEY_PT_RANDR:
		return p->u.rand.role;
	case MIKEY_PT_TR:
		return p->u.ts.role;
	default:
		return 0;
	}
}

static bool slot_match(const struct slot *s, const mikey_payload_t *p)
{
	if (s->type != p->type) {
		return false;
	}
	return !has_role(s->type) || s->role == ANY_ROLE || s->role == payload_role(p);
}

static int match(const mikey_msg_t *m, const struct slot *pattern)
{
	size_t i = 0;
	for (const struct slot *s = pattern; s->type != 0; s++) {
		size_t count = 0;
		while (i < m->n) {
			/* General Extensions may appear anywhere before the last payload. */
			if (m->p[i].type == MIKEY_PT_GENEXT && i + 1 < m->n) {
				i++;
				continue;
			}
			if (count >= s->max || !slot_match(s, &m->p[i])) {
				break;
			}
			count++;
			i++;
		}
		if (count < s->min) {
			return KMS_EPAYLOAD; /* a required payload is missing or out of order */
		}
	}
	return i == m->n ? KMS_EOK : KMS_EPAYLOAD; /* unexpected payload */
}

static const struct slot *composition(uint8_t dt)
{
	switch (dt) {
	case MIKEY_DT_REQUEST_INIT_PSK:
		return c_request_init;
	case MIKEY_DT_REQUEST_RESP:
		return c_request_resp;
	case MIKEY_DT_TRANSFER_INIT:
		return c_transfer_init;
	case MIKEY_DT_TRANSFER_RESP:
		return c_transfer_resp;
	case MIKEY_DT_RESOLVE_INIT_PSK:
		return c_resolve_init;
	case MIKEY_DT_RESOLVE_RESP:
		return c_resolve_resp;
	case MIKEY_DT_ERROR:
		return c_error;
	default:
		return NULL;
	}
}

static bool is_request_or_resolve(uint8_t dt)
{
	return dt == MIKEY_DT_REQUEST_INIT_PSK || dt == MIKEY_DT_REQUEST_RESP ||
	       dt == MIKEY_DT_RESOLVE_INIT_PSK || dt == MIKEY_DT_RESOLVE_RESP;
}

static bool is_transfer(uint8_t dt)
{
	return dt == MIKEY_DT_TRANSFER_INIT || dt == MIKEY_DT_TRANSFER_RESP;
}

int mikey_msg_check(const mikey_msg_t *m)
{
	uint8_t dt = m->hdr.data_type;
	if (dt == MIKEY_DT_REQUEST_INIT_PK || dt == MIKEY_DT_RESOLVE_INIT_PK) {
		return KMS_ENOTSUP;
	}
	const struct slot *pattern = composition(dt);
	if (pattern == NULL) {
		return KMS_EDT;
	}
	/* Request and Resolve: #CS 0 with the Empty map (RFC 6043 6.1). */
	if (is_request_or_resolve(dt) &&
	    (m->hdr.ncs != 0 || m->hdr.map_type != MIKEY_MAP_EMPTY)) {
		return KMS_EMALFORMED;
	}
	/* Transfer: SRTP-ID SHALL NOT be used. */
	if (is_transfer(dt) && m->hdr.map_type == MIKEY_MAP_SRTP_ID) {
		return KMS_EMALFORMED;
	}
	int ret = match(m, pattern);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (m->has_ticket && m->p[m->ticket_index].type == MIKEY_PT_TICKET) {
		bool forking = (m->ticket.policy.flags & MIKEY_TPF_I) != 0;
		/* REQUEST_RESP: the Initiator has not added its data yet. */
		if (dt == MIKEY_DT_REQUEST_RESP && m->ticket.has_init) {
			return KMS_EMALFORMED;
		}
		/* TRANSFER_INIT and RESOLVE_INIT carry it whenever forking is on. */
		if (dt != MIKEY_DT_REQUEST_RESP && forking && !m->ticket.has_init) {
			return KMS_EMALFORMED;
		}
	}
	for (size_t i = 0; i < m->n; i++) {
		const mikey_payload_t *p = &m->p[i];
		/* Empty map: the policy is outside MIKEY, so no SP (RFC 4563). */
		if (p->type == MIKEY_PT_SP && m->hdr.map_type == MIKEY_MAP_EMPTY) {
			return KMS_ESP;
		}
		/* Integrity comes from V, which must carry a real MAC. */
		if (p->type == MIKEY_PT_V && p->u.v.alg == MIKEY_MAC_NULL) {
			return KMS_EHA;
		}
		/* KEMACs in MIKEY-TICKET messages use MAC alg NULL (RFC 6043 6.2). */
		if (p->type == MIKEY_PT_KEMAC && p->u.kemac.mac_alg != MIKEY_MAC_NULL) {
			return KMS_EHA;
		}
	}
	return KMS_EOK;
}

int mikey_msg_parse(const uint8_t *buf, size_t len, mikey_msg_t *out)
{
	int ret = mikey_msg_decode(buf, len, out);
	return ret != KMS_EOK ? ret : mikey_msg_check(out);
}

int mikey_hdr_peek(const uint8_t *buf, size_t len, uint8_t *version, uint8_t *prf,
		   uint32_t *csb_id)
{
	wire_rd_t c;
	wire_rd_init(&c, buf, len);
	uint8_t ver = wire_rd_u8(&c);
	(void)wire_rd_u8(&c); /* data type */
	(void)wire_rd_u8(&c); /* next payload */
	uint8_t vp = wire_rd_u8(&c);
	uint32_t csb = wire_rd_u32(&c);
	int ret = wire_rd_error(&c);
	if (ret == KMS_EOK) {
		*version = ver;
		*prf = vp & 0x7f;
		*csb_id = csb;
	}
	return ret;
}

/* --- lookups ------------------------------------------------------------- */

const mikey_payload_t *mikey_msg_find(const mikey_msg_t *m, uint8_t type, uint8_t role)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->p[i].type == type &&
		    (!has_role(type) || payload_role(&m->p[i]) == role)) {
			return &m->p[i];
		}
	}
	return NULL;
}

const mikey_id_t *mikey_msg_idr(const mikey_msg_t *m, uint8_t role)
{
	const mikey_payload_t *p = mikey_msg_find(m, MIKEY_PT_IDR, role);
	return p != NULL ? &p->u.id : NULL;
}

const mikey_rand_t *mikey_msg_randr(const mikey_msg_t *m, uint8_t role)
{
	const mikey_payload_t *p = mikey_msg_find(m, MIKEY_PT_RANDR, role);
	return p != NULL ? &p->u.rand : NULL;
}

const mikey_ts_t *mikey_msg_ts(const mikey_msg_t *m)
{
	const mikey_payload_t *p = mikey_msg_find(m, MIKEY_PT_T, 0);
	return p != NULL ? &p->u.ts : NULL;
}

const mikey_kemac_t *mikey_msg_kemac(const mikey_msg_t *m)
{
	const mikey_payload_t *p = mikey_msg_find(m, MIKEY_PT_KEMAC, 0);
	return p != NULL ? &p->u.kemac : NULL;
}

const mikey_v_t *mikey_msg_v(const mikey_msg_t *m)
{
	const mikey_payload_t *p = mikey_msg_find(m, MIKEY_PT_V, 0);
	return p != NULL ? &p->u.v : NULL;
}

size_t mikey_msg_v_mac_off(const mikey_msg_t *m)
{
	const mikey_payload_t *p = mikey_msg_find(m, MIKEY_PT_V, 0);
	/* Next payload (1) and Auth alg (1) precede the MAC. */
	return p != NULL ? p->off + 2 : 0;
}

/* --- building ------------------------------------------------------------ */

void mikey_msg_init(mikey_msg_t *m, uint8_t data_type, uint32_t csb_id, uint8_t prf)
{
	memset(m, 0, offsetof(mikey_msg_t, p));
	m->n = 0;
	m->has_ticket = false;
	m->build_err = KMS_EOK;
	m->hdr.version = MIKEY_VERSION;
	m->hdr.data_type = data_type;
	m->hdr.v = false;
	m->hdr.prf = prf;
	m->hdr.csb_id = csb_id;
	m->hdr.ncs = 0;
	m->hdr.map_type = MIKEY_MAP_EMPTY;
}

/* Record the first building error of m (sticky) and return m's error. */
static int add_failed(mikey_msg_t *m, int ret)
{
	if (m->build_err == KMS_EOK) {
		m->build_err = ret;
	}
	return m->build_err;
}

int mikey_msg_add(mikey_msg_t *m, const mikey_payload_t *p)
{
	if (m->build_err != KMS_EOK) {
		return m->build_err;
	}
	if (m->n == MIKEY_PAYLOADS_MAX) {
		return add_failed(m, KMS_ELIMIT);
	}
	m->p[m->n] = *p;
	m->p[m->n].off = 0;
	m->p[m->n].len = 0;
	m->n++;
	return KMS_EOK;
}

int mikey_msg_add_ts(mikey_msg_t *m, uint8_t role, uint8_t ts_type, uint64_t value)
{
	mikey_payload_t p = { .type = role ? MIKEY_PT_TR : MIKEY_PT_T };
	p.u.ts = (mikey_ts_t){ role, ts_type, value };
	return mikey_msg_add(m, &p);
}

int mikey_msg_add_id(mikey_msg_t *m, uint8_t role, uint8_t id_type, const uint8_t *id,
		     size_t len)
{
	mikey_payload_t p = { .type = role ? MIKEY_PT_IDR : MIKEY_PT_ID };
	p.u.id = (mikey_id_t){ role, id_type, { id, len } };
	return mikey_msg_add(m, &p);
}

int mikey_msg_add_rand(mikey_msg_t *m, uint8_t role, const uint8_t *rand, size_t len)
{
	mikey_payload_t p = { .type = role ? MIKEY_PT_RANDR : MIKEY_PT_RAND };
	p.u.rand = (mikey_rand_t){ role, { rand, len } };
	return mikey_msg_add(m, &p);
}

int mikey_msg_add_kemac(mikey_msg_t *m, const mikey_kemac_t *k)
{
	mikey_payload_t p = { .type = MIKEY_PT_KEMAC };
	p.u.kemac = *k;
	return mikey_msg_add(m, &p);
}

int mikey_msg_add_err(mikey_msg_t *m, uint8_t errno_)
{
	mikey_payload_t p = { .type = MIKEY_PT_ERR };
	p.u.err.errno_ = errno_;
	return mikey_msg_add(m, &p);
}

int mikey_msg_add_ticket(mikey_msg_t *m, const mikey_ticket_t *t, bool is_ticket)
{
	if (m->build_err == KMS_EOK && m->has_ticket) {
		return add_failed(m, KMS_EPAYLOAD);
	}
	mikey_payload_t p = { .type = is_ticket ? MIKEY_PT_TICKET : MIKEY_PT_TP };
	int ret = mikey_msg_add(m, &p);
	if (ret == KMS_EOK) {
		m->ticket = *t;
		m->has_ticket = true;
		m->ticket_index = m->n - 1;
	}
	return ret;
}

int mikey_msg_add_v(mikey_msg_t *m, uint8_t alg)
{
	if (mikey_mac_len(alg) <= 0) {
		return add_failed(m, KMS_EHA);
	}
	mikey_payload_t p = { .type = MIKEY_PT_V };
	p.u.v.alg = alg;
	return mikey_msg_add(m, &p);
}

static void payload_build(mikey_builder_t *b, const mikey_msg_t *m,
			  const mikey_payload_t *p)
{
	switch (p->type) {
	case MIKEY_PT_T:
	case MIKEY_PT_TR:
		mikey_ts_build(b, &p->u.ts);
		break;
	case MIKEY_PT_ID:
	case MIKEY_PT_IDR:
		mikey_id_build(b, &p->u.id);
		break;
	case MIKEY_PT_RAND:
	case MIKEY_PT_RANDR:
		mikey_rand_build(b, &p->u.rand);
		break;
	case MIKEY_PT_KEMAC:
		mikey_kemac_build(b, &p->u.kemac);
		break;
	case MIKEY_PT_V:
		mikey_v_build(b, &p->u.v, NULL);
		break;
	case MIKEY_PT_ERR:
		mikey_err_build(b, &p->u.err);
		break;
	case MIKEY_PT_SP:
		mikey_sp_build(b, &p->u.sp);
		break;
	case MIKEY_PT_GENEXT:
		mikey_genext_build(b, &p->u.ext);
		break;
	case MIKEY_PT_PKE:
		mikey_pke_build(b, &p->u.pke);
		break;
	case MIKEY_PT_CERT:
		mikey_cert_build(b, &p->u.cert);
		break;
	case MIKEY_PT_CHASH:
		mikey_chash_build(b, &p->u.chash);
		break;
	case MIKEY_PT_SIGN:
		mikey_sign_build(b, &p->u.sign);
		break;
	case MIKEY_PT_TP:
	case MIKEY_PT_TICKET:
		mikey_ticket_build(b, &m->ticket, p->type == MIKEY_PT_TICKET);
		break;
	default:
		if (b->w.error == KMS_EOK) {
			b->w.error = KMS_EPAYLOAD;
		}
		break;
	}
}

int mikey_msg_build(const mikey_msg_t *m, uint8_t *buf, size_t cap, size_t *len)
{
	if (m->build_err != KMS_EOK) {
		return m->build_err;
	}
	int ret = mikey_msg_check(m);
	if (ret != KMS_EOK) {
		return ret;
	}
	mikey_builder_t b;
	mikey_builder_init(&b, buf, cap < MIKEY_MSG_MAX ? cap : MIKEY_MSG_MAX);
	mikey_hdr_build(&b, &m->hdr);
	for (size_t i = 0; i < m->n; i++) {
		payload_build(&b, m, &m->p[i]);
	}
	ret = mikey_builder_error(&b);
	if (ret == KMS_EOK) {
		*len = mikey_builder_len(&b);
	}
	return ret;
}

/* --- names --------------------------------------------------------------- */

const char *mikey_dt_name(uint8_t dt)
{
	static const char *const names[] = {
		"PSK_INIT",	   "PSK_RESP",	       "PK_INIT",
		"PK_RESP",	   "DH_INIT",	       "DH_RESP",
		"ERROR",	   "DHHMAC_INIT",      "DHHMAC_RESP",
		"RSA_R_INIT",	   "RSA_R_RESP",       "REQUEST_INIT_PSK",
		"REQUEST_INIT_PK", "REQUEST_RESP",     "TRANSFER_INIT",
		"TRANSFER_RESP",   "RESOLVE_INIT_PSK", "RESOLVE_INIT_PK",
		"RESOLVE_RESP",
	};
	return dt < sizeof(names) / sizeof(names[0]) ? names[dt] : "UNKNOWN";
}

const char *mikey_pt_name(uint8_t pt)
{
	static const char *const names[] = {
		"LAST",	 "KEMAC",  "PKE", "DH",	  "SIGN",    "T",      "ID",  "CERT",
		"CHASH", "V",	   "SP",  "RAND", "ERR",     "TR",     "IDR", "RANDR",
		"TP",	 "TICKET", NULL,  NULL,	  "KEYDATA", "GENEXT",
	};
	if (pt < sizeof(names) / sizeof(names[0]) && names[pt] != NULL) {
		return names[pt];
	}
	return "UNKNOWN";
}
