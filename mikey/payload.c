/*
 * The RFC 3830 payloads (HDR, T, ID, RAND, KEMAC and its key data, V, ERR,
 * SP, General Extension, and the public-key ones, recognised only) and
 * the builder.  The RFC 6043 TP and TICKET payloads: mikey/payload_ticket.c.
 */
#include "mikey/payload.h"

#include <string.h>

#include "common/errcode.h"
#include "mikey/payload_int.h"

int mikey_mac_len(uint8_t alg)
{
	switch (alg) {
	case MIKEY_MAC_NULL:
		return 0;
	case MIKEY_MAC_HMAC_SHA1_160:
		return 20;
	case MIKEY_MAC_HMAC_SHA256_256:
		return 32;
	default:
		return -1;
	}
}

int mikey_ts_len(uint8_t ts_type)
{
	switch (ts_type) {
	case MIKEY_TS_NTP_UTC:
	case MIKEY_TS_NTP:
		return 8;
	case MIKEY_TS_COUNTER:
	case MIKEY_TS_NTP_UTC_32:
		return 4;
	default:
		return -1;
	}
}

uint64_t mikey_ts_to64(const mikey_ts_t *ts)
{
	if (ts->ts_type == MIKEY_TS_NTP_UTC_32) {
		return (uint64_t)(uint32_t)ts->value << 32;
	}
	if (ts->ts_type == MIKEY_TS_COUNTER) {
		return (uint32_t)ts->value;
	}
	return ts->value;
}

#define NTP_UNIX_OFFSET 2208988800LL /* 1900-01-01 to 1970-01-01 */

uint64_t mikey_ntp_from_unix(int64_t sec, uint32_t nsec)
{
	uint64_t s = (uint64_t)(sec + NTP_UNIX_OFFSET) & 0xffffffffu;
	uint64_t frac = ((uint64_t)nsec << 32) / 1000000000u;
	return s << 32 | (frac & 0xffffffffu);
}

int64_t mikey_ntp_to_unix(uint64_t ntp)
{
	int64_t s = (int64_t)(ntp >> 32);
	/* MSB clear: era 1 (2036-02-07 onward), per RFC 4330 section 3. */
	if ((s & 0x80000000LL) == 0) {
		s += 0x100000000LL;
	}
	return s - NTP_UNIX_OFFSET;
}

int mikey_ts_to_unix(const mikey_ts_t *ts, int64_t *sec)
{
	switch (ts->ts_type) {
	case MIKEY_TS_NTP_UTC:
	case MIKEY_TS_NTP:
		*sec = mikey_ntp_to_unix(ts->value);
		return KMS_EOK;
	case MIKEY_TS_NTP_UTC_32:
		*sec = mikey_ntp_to_unix((uint64_t)(uint32_t)ts->value << 32);
		return KMS_EOK;
	default:
		return KMS_ETS;
	}
}

/* --- HDR ----------------------------------------------------------------- */

static int generic_cs_parse(wire_rd_t *c, mikey_generic_cs_t *e)
{
	e->cs_id = wire_rd_u8(c);
	e->prot_type = wire_rd_u8(c);
	uint8_t b = wire_rd_u8(c);
	e->s = (b & 0x80) != 0;
	e->np = b & 0x7f;
	if (e->np > MIKEY_POLICY_NO_MAX) {
		return KMS_ELIMIT;
	}
	wire_rd_bytes(c, e->policy_no, e->np);
	uint16_t sdl = wire_rd_u16(c);
	if (sdl > MIKEY_SESSION_DATA_MAX) {
		return KMS_ELIMIT;
	}
	e->session_data = payload_rd_bytes(c, sdl);
	uint8_t spil = wire_rd_u8(c);
	if (spil > MIKEY_SPI_MAX) {
		return KMS_ELIMIT;
	}
	e->spi = payload_rd_bytes(c, spil);
	return wire_rd_error(c);
}

int mikey_hdr_parse(wire_rd_t *c, mikey_hdr_t *out)
{
	mikey_hdr_t h;
	memset(&h, 0, sizeof(h));
	h.version = wire_rd_u8(c);
	h.data_type = wire_rd_u8(c);
	h.next = wire_rd_u8(c);
	uint8_t vp = wire_rd_u8(c);
	h.v = (vp & 0x80) != 0;
	h.prf = vp & 0x7f;
	h.csb_id = wire_rd_u32(c);
	h.ncs = wire_rd_u8(c);
	h.map_type = wire_rd_u8(c);
	int ret = wire_rd_error(c);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (h.version != MIKEY_VERSION) {
		return KMS_EVERSION;
	}
	if (h.prf != MIKEY_PRF_MIKEY1 && h.prf != MIKEY_PRF_HMAC_SHA256) {
		return KMS_EPRF;
	}
	if (h.ncs > MIKEY_CS_MAX) {
		return KMS_ELIMIT;
	}
	switch (h.map_type) {
	case MIKEY_MAP_SRTP_ID:
		for (size_t i = 0; i < h.ncs; i++) {
			h.map.srtp[i].policy_no = wire_rd_u8(c);
			h.map.srtp[i].ssrc = wire_rd_u32(c);
			h.map.srtp[i].roc = wire_rd_u32(c);
		}
		break;
	case MIKEY_MAP_EMPTY:
		break;
	case MIKEY_MAP_GENERIC_ID:
		for (size_t i = 0; i < h.ncs; i++) {
			ret = generic_cs_parse(c, &h.map.generic[i]);
			if (ret != KMS_EOK) {
				return ret;
			}
		}
		break;
	default:
		return KMS_EMALFORMED;
	}
	ret = wire_rd_error(c);
	if (ret == KMS_EOK) {
		*out = h;
	}
	return ret;
}

/* --- T / TR -------------------------------------------------------------- */

int mikey_ts_parse(wire_rd_t *c, bool with_role, uint8_t *next, mikey_ts_t *out)
{
	mikey_ts_t t = { 0 };
	uint8_t nx = wire_rd_u8(c);
	if (with_role) {
		t.role = wire_rd_u8(c);
	}
	t.ts_type = wire_rd_u8(c);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	int len = mikey_ts_len(t.ts_type);
	if (len < 0) {
		return KMS_ETS;
	}
	t.value = len == 8 ? wire_rd_u64(c) : wire_rd_u32(c);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	/* Roles 1-4 are defined, 240-254 are private use; 0 and 255 reserved. */
	if (with_role && !((t.role >= MIKEY_TR_ISSUE && t.role <= MIKEY_TR_REKEY) ||
			   (t.role >= 240 && t.role <= 254))) {
		return KMS_ETS;
	}
	*next = nx;
	*out = t;
	return KMS_EOK;
}

/* --- ID / IDR ------------------------------------------------------------ */

int mikey_id_parse(wire_rd_t *c, bool with_role, uint8_t *next, mikey_id_t *out)
{
	mikey_id_t id = { 0 };
	uint8_t nx = wire_rd_u8(c);
	if (with_role) {
		id.role = wire_rd_u8(c);
	}
	id.id_type = wire_rd_u8(c);
	uint16_t len = wire_rd_u16(c);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	if (len > MIKEY_ID_MAX) {
		return KMS_ELIMIT;
	}
	id.id = payload_rd_bytes(c, len);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	if (len == 0 || id.id_type > MIKEY_ID_BYTES) {
		return KMS_EID;
	}
	if (with_role && (id.role < MIKEY_ROLE_I || id.role > MIKEY_ROLE_APP)) {
		return KMS_EID;
	}
	*next = nx;
	*out = id;
	return KMS_EOK;
}

/* --- RAND / RANDR -------------------------------------------------------- */

int mikey_rand_parse(wire_rd_t *c, bool with_role, uint8_t *next, mikey_rand_t *out)
{
	mikey_rand_t r = { 0 };
	uint8_t nx = wire_rd_u8(c);
	if (with_role) {
		r.role = wire_rd_u8(c);
	}
	uint8_t len = wire_rd_u8(c);
	if (wire_rd_error(c) == KMS_EOK && len > MIKEY_RAND_MAX) {
		return KMS_ELIMIT;
	}
	r.rand = payload_rd_bytes(c, len);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	if (len < MIKEY_RAND_MIN) {
		return KMS_EMALFORMED;
	}
	if (with_role && (r.role < MIKEY_RAND_I || r.role > MIKEY_RAND_KMS)) {
		return KMS_EMALFORMED;
	}
	*next = nx;
	*out = r;
	return KMS_EOK;
}

/* --- KEMAC --------------------------------------------------------------- */

int mikey_kemac_parse(wire_rd_t *c, uint8_t *next, mikey_kemac_t *out)
{
	mikey_kemac_t k = { 0 };
	uint8_t nx = wire_rd_u8(c);
	k.encr_alg = wire_rd_u8(c);
	uint16_t len = wire_rd_u16(c);
	k.encr_data = payload_rd_bytes(c, len);
	k.mac_alg = wire_rd_u8(c);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	if (k.encr_alg > MIKEY_ENCR_AES_CM_256) {
		return KMS_EEA;
	}
	int ml = mikey_mac_len(k.mac_alg);
	if (ml < 0) {
		return KMS_EHA;
	}
	k.mac = payload_rd_bytes(c, (size_t)ml);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	*out = k;
	return KMS_EOK;
}

/* --- key data sub-payloads ----------------------------------------------- */

static bool key_has_salt(uint8_t type)
{
	return type == MIKEY_KEY_TGK_SALT || type == MIKEY_KEY_TEK_SALT ||
	       type == MIKEY_KEY_GTGK_SALT;
}

static int keydata_parse(wire_rd_t *c, uint8_t *next, mikey_keydata_t *out)
{
	mikey_keydata_t k;
	memset(&k, 0, sizeof(k));
	uint8_t nx = wire_rd_u8(c);
	uint8_t tk = wire_rd_u8(c);
	k.type = tk >> 4;
	k.kv = tk & 0x0f;
	uint16_t kl = wire_rd_u16(c);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	if (k.type > MIKEY_KEY_MPK || k.kv > MIKEY_KV_INTERVAL) {
		return KMS_EMALFORMED;
	}
	if (kl < MIKEY_KEY_MIN || kl > MIKEY_KEY_MAX) {
		return KMS_ELIMIT;
	}
	k.key = payload_rd_bytes(c, kl);
	if (key_has_salt(k.type)) {
		uint16_t sl = wire_rd_u16(c);
		if (sl > MIKEY_SALT_MAX) {
			return KMS_ELIMIT;
		}
		k.salt = payload_rd_bytes(c, sl);
	}
	if (k.kv == MIKEY_KV_SPI) {
		uint8_t sl = wire_rd_u8(c);
		if (sl > MIKEY_SPI_MAX) {
			return KMS_ELIMIT;
		}
		k.spi = payload_rd_bytes(c, sl);
	} else if (k.kv == MIKEY_KV_INTERVAL) {
		uint8_t fl = wire_rd_u8(c);
		if (fl > MIKEY_KV_MAX) {
			return KMS_ELIMIT;
		}
		k.vf = payload_rd_bytes(c, fl);
		uint8_t tl = wire_rd_u8(c);
		if (tl > MIKEY_KV_MAX) {
			return KMS_ELIMIT;
		}
		k.vt = payload_rd_bytes(c, tl);
	}
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	*out = k;
	return KMS_EOK;
}

int mikey_keys_parse(const uint8_t *data, size_t len, mikey_keys_t *out)
{
	wire_rd_t c;
	mikey_keys_t keys;
	uint8_t next = MIKEY_PT_KEYDATA;
	keys.n = 0;
	wire_rd_init(&c, data, len);
	while (next != MIKEY_PT_LAST) {
		if (next != MIKEY_PT_KEYDATA) {
			return KMS_EPAYLOAD;
		}
		if (keys.n == MIKEY_KEYS_MAX) {
			return KMS_ELIMIT;
		}
		int ret = keydata_parse(&c, &next, &keys.k[keys.n]);
		if (ret != KMS_EOK) {
			return ret;
		}
		keys.n++;
	}
	int ret = wire_rd_finish(&c);
	if (ret == KMS_EOK) {
		*out = keys;
	}
	return ret;
}

/* --- V, ERR, SP, General Extension ---------------------------------------- */

int mikey_v_parse(wire_rd_t *c, uint8_t *next, mikey_v_t *out)
{
	mikey_v_t v = { 0 };
	uint8_t nx = wire_rd_u8(c);
	v.alg = wire_rd_u8(c);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	int ml = mikey_mac_len(v.alg);
	if (ml < 0) {
		return KMS_EHA;
	}
	v.mac = payload_rd_bytes(c, (size_t)ml);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	*out = v;
	return KMS_EOK;
}

int mikey_err_parse(wire_rd_t *c, uint8_t *next, mikey_err_t *out)
{
	uint8_t nx = wire_rd_u8(c);
	uint8_t no = wire_rd_u8(c);
	(void)wire_rd_u16(c); /* reserved */
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	out->errno_ = no;
	return KMS_EOK;
}

int mikey_sp_parse(wire_rd_t *c, uint8_t *next, mikey_sp_t *out)
{
	mikey_sp_t sp;
	memset(&sp, 0, sizeof(sp));
	uint8_t nx = wire_rd_u8(c);
	sp.policy_no = wire_rd_u8(c);
	sp.prot_type = wire_rd_u8(c);
	uint16_t plen = wire_rd_u16(c);
	wire_rd_t pc = wire_rd_sub(c, plen);
	while (wire_rd_available(&pc) > 0) {
		if (sp.nparams == MIKEY_SP_PARAMS_MAX) {
			return KMS_ELIMIT;
		}
		mikey_sp_param_t *p = &sp.params[sp.nparams++];
		p->type = wire_rd_u8(&pc);
		uint8_t vl = wire_rd_u8(&pc);
		p->value = payload_rd_bytes(&pc, vl);
	}
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	if (wire_rd_error(&pc) != KMS_EOK) {
		return KMS_ESPPAR;
	}
	*next = nx;
	*out = sp;
	return KMS_EOK;
}

int mikey_genext_parse(wire_rd_t *c, uint8_t *next, mikey_genext_t *out)
{
	mikey_genext_t e = { 0 };
	uint8_t nx = wire_rd_u8(c);
	e.type = wire_rd_u8(c);
	uint16_t len = wire_rd_u16(c);
	e.data = payload_rd_bytes(c, len);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	*out = e;
	return KMS_EOK;
}

/* --- public-key payloads: recognised so that PK messages fail precisely --- */

int mikey_pke_parse(wire_rd_t *c, uint8_t *next, mikey_pke_t *out)
{
	uint8_t nx = wire_rd_u8(c);
	uint16_t cl = wire_rd_u16(c);
	mikey_pke_t p = { (uint8_t)(cl >> 14), payload_rd_bytes(c, cl & 0x3fff) };
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	*out = p;
	return KMS_EOK;
}

int mikey_cert_parse(wire_rd_t *c, uint8_t *next, mikey_cert_t *out)
{
	uint8_t nx = wire_rd_u8(c);
	uint8_t type = wire_rd_u8(c);
	uint16_t len = wire_rd_u16(c);
	mikey_cert_t ct = { type, payload_rd_bytes(c, len) };
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	*out = ct;
	return KMS_EOK;
}

static int chash_len(uint8_t func)
{
	switch (func) {
	case MIKEY_HASH_SHA1:
		return 20;
	case MIKEY_HASH_MD5:
		return 16;
	case MIKEY_HASH_SHA256:
		return 32;
	default:
		return -1;
	}
}

int mikey_chash_parse(wire_rd_t *c, uint8_t *next, mikey_chash_t *out)
{
	uint8_t nx = wire_rd_u8(c);
	uint8_t func = wire_rd_u8(c);
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	int hl = chash_len(func);
	if (hl < 0) {
		return KMS_EHA;
	}
	mikey_chash_t h = { func, payload_rd_bytes(c, (size_t)hl) };
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*next = nx;
	*out = h;
	return KMS_EOK;
}

int mikey_sign_parse(wire_rd_t *c, mikey_sign_t *out)
{
	uint16_t tl = wire_rd_u16(c);
	mikey_sign_t s = { (uint8_t)(tl >> 12), payload_rd_bytes(c, tl & 0x0fff) };
	if (wire_rd_error(c) != KMS_EOK) {
		return wire_rd_error(c);
	}
	*out = s;
	return KMS_EOK;
}

/* --- builder ------------------------------------------------------------- */

void mikey_builder_init(mikey_builder_t *b, uint8_t *buf, size_t cap)
{
	memset(b, 0, sizeof(*b));
	wire_wr_init(&b->w, buf, cap);
	b->next_off = PAYLOAD_NO_NEXT;
}

int mikey_builder_error(const mikey_builder_t *b)
{
	return wire_wr_error(&b->w);
}

size_t mikey_builder_len(const mikey_builder_t *b)
{
	return wire_wr_offset(&b->w);
}

void mikey_hdr_build(mikey_builder_t *b, const mikey_hdr_t *h)
{
	if (h->ncs > MIKEY_CS_MAX || h->prf > 0x7f) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	wire_wr_u8(&b->w, h->version);
	wire_wr_u8(&b->w, h->data_type);
	b->next_off = wire_wr_offset(&b->w);
	wire_wr_u8(&b->w, MIKEY_PT_LAST);
	wire_wr_u8(&b->w, (uint8_t)((h->v ? 0x80 : 0) | h->prf));
	wire_wr_u32(&b->w, h->csb_id);
	wire_wr_u8(&b->w, h->ncs);
	wire_wr_u8(&b->w, h->map_type);
	for (size_t i = 0; i < h->ncs; i++) {
		if (h->map_type == MIKEY_MAP_SRTP_ID) {
			wire_wr_u8(&b->w, h->map.srtp[i].policy_no);
			wire_wr_u32(&b->w, h->map.srtp[i].ssrc);
			wire_wr_u32(&b->w, h->map.srtp[i].roc);
		} else if (h->map_type == MIKEY_MAP_GENERIC_ID) {
			const mikey_generic_cs_t *e = &h->map.generic[i];
			if (e->np > MIKEY_POLICY_NO_MAX) {
				payload_set_error(b, KMS_ERANGE);
				return;
			}
			wire_wr_u8(&b->w, e->cs_id);
			wire_wr_u8(&b->w, e->prot_type);
			wire_wr_u8(&b->w, (uint8_t)((e->s ? 0x80 : 0) | e->np));
			wire_wr_bytes(&b->w, e->policy_no, e->np);
			payload_wr_bytes16(b, &e->session_data);
			payload_wr_bytes8(b, &e->spi);
		}
	}
}

void mikey_ts_build(mikey_builder_t *b, const mikey_ts_t *ts)
{
	int len = mikey_ts_len(ts->ts_type);
	if (len < 0) {
		payload_set_error(b, KMS_ETS);
		return;
	}
	payload_begin(b, ts->role ? MIKEY_PT_TR : MIKEY_PT_T);
	if (ts->role) {
		wire_wr_u8(&b->w, ts->role);
	}
	wire_wr_u8(&b->w, ts->ts_type);
	if (len == 8) {
		wire_wr_u64(&b->w, ts->value);
	} else {
		wire_wr_u32(&b->w, (uint32_t)ts->value);
	}
}

void mikey_id_build(mikey_builder_t *b, const mikey_id_t *id)
{
	payload_begin(b, id->role ? MIKEY_PT_IDR : MIKEY_PT_ID);
	if (id->role) {
		wire_wr_u8(&b->w, id->role);
	}
	wire_wr_u8(&b->w, id->id_type);
	payload_wr_bytes16(b, &id->id);
}

void mikey_rand_build(mikey_builder_t *b, const mikey_rand_t *r)
{
	payload_begin(b, r->role ? MIKEY_PT_RANDR : MIKEY_PT_RAND);
	if (r->role) {
		wire_wr_u8(&b->w, r->role);
	}
	payload_wr_bytes8(b, &r->rand);
}

void mikey_kemac_build(mikey_builder_t *b, const mikey_kemac_t *k)
{
	int ml = mikey_mac_len(k->mac_alg);
	if (ml < 0 || (size_t)ml != k->mac.len) {
		payload_set_error(b, KMS_EHA);
		return;
	}
	payload_begin(b, MIKEY_PT_KEMAC);
	wire_wr_u8(&b->w, k->encr_alg);
	payload_wr_bytes16(b, &k->encr_data);
	wire_wr_u8(&b->w, k->mac_alg);
	wire_wr_bytes(&b->w, k->mac.data, k->mac.len);
}

void mikey_err_build(mikey_builder_t *b, const mikey_err_t *e)
{
	payload_begin(b, MIKEY_PT_ERR);
	wire_wr_u8(&b->w, e->errno_);
	wire_wr_u16(&b->w, 0);
}

void mikey_sp_build(mikey_builder_t *b, const mikey_sp_t *sp)
{
	if (sp->nparams > MIKEY_SP_PARAMS_MAX) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	payload_begin(b, MIKEY_PT_SP);
	wire_wr_u8(&b->w, sp->policy_no);
	wire_wr_u8(&b->w, sp->prot_type);
	size_t len_off = wire_wr_offset(&b->w);
	wire_wr_u16(&b->w, 0);
	for (size_t i = 0; i < sp->nparams; i++) {
		wire_wr_u8(&b->w, sp->params[i].type);
		payload_wr_bytes8(b, &sp->params[i].value);
	}
	size_t plen = wire_wr_offset(&b->w) - len_off - 2;
	if (plen > UINT16_MAX) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	wire_wr_patch_u16(&b->w, len_off, (uint16_t)plen);
}

void mikey_genext_build(mikey_builder_t *b, const mikey_genext_t *e)
{
	payload_begin(b, MIKEY_PT_GENEXT);
	wire_wr_u8(&b->w, e->type);
	payload_wr_bytes16(b, &e->data);
}

void mikey_pke_build(mikey_builder_t *b, const mikey_pke_t *p)
{
	if (p->data.len > 0x3fff || p->c > 3) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	payload_begin(b, MIKEY_PT_PKE);
	wire_wr_u16(&b->w, (uint16_t)((p->c << 14) | p->data.len));
	wire_wr_bytes(&b->w, p->data.data, p->data.len);
}

void mikey_cert_build(mikey_builder_t *b, const mikey_cert_t *c)
{
	payload_begin(b, MIKEY_PT_CERT);
	wire_wr_u8(&b->w, c->type);
	payload_wr_bytes16(b, &c->data);
}

void mikey_chash_build(mikey_builder_t *b, const mikey_chash_t *h)
{
	int hl = chash_len(h->func);
	if (hl < 0 || (size_t)hl != h->hash.len) {
		payload_set_error(b, KMS_EHA);
		return;
	}
	payload_begin(b, MIKEY_PT_CHASH);
	wire_wr_u8(&b->w, h->func);
	wire_wr_bytes(&b->w, h->hash.data, h->hash.len);
}

void mikey_sign_build(mikey_builder_t *b, const mikey_sign_t *s)
{
	if (s->sig.len > 0x0fff || s->s_type > 0x0f) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	if (b->w.error == KMS_EOK && b->next_off != PAYLOAD_NO_NEXT) {
		b->w.base[b->next_off] = MIKEY_PT_SIGN;
	}
	b->next_off = PAYLOAD_NO_NEXT; /* SIGN is always last */
	wire_wr_u16(&b->w, (uint16_t)((s->s_type << 12) | s->sig.len));
	wire_wr_bytes(&b->w, s->sig.data, s->sig.len);
}

void mikey_v_build(mikey_builder_t *b, const mikey_v_t *v, size_t *mac_off)
{
	int ml = mikey_mac_len(v->alg);
	if (ml < 0 || (v->mac.data != NULL && v->mac.len != (size_t)ml)) {
		payload_set_error(b, KMS_EHA);
		return;
	}
	payload_begin(b, MIKEY_PT_V);
	wire_wr_u8(&b->w, v->alg);
	size_t off = wire_wr_offset(&b->w);
	if (v->mac.data != NULL) {
		wire_wr_bytes(&b->w, v->mac.data, (size_t)ml);
	} else {
		wire_wr_zero(&b->w, (size_t)ml);
	}
	if (mac_off != NULL && b->w.error == KMS_EOK) {
		*mac_off = off;
	}
}

int mikey_keys_build(const mikey_keys_t *keys, uint8_t *buf, size_t cap, size_t *len)
{
	mikey_builder_t b;
	mikey_builder_init(&b, buf, cap);
	if (keys->n == 0 || keys->n > MIKEY_KEYS_MAX) {
		return KMS_ERANGE;
	}
	for (size_t i = 0; i < keys->n; i++) {
		const mikey_keydata_t *k = &keys->k[i];
		if (k->type > MIKEY_KEY_MPK || k->kv > MIKEY_KV_INTERVAL) {
			return KMS_EINVAL;
		}
		payload_begin(&b, MIKEY_PT_KEYDATA);
		wire_wr_u8(&b.w, (uint8_t)(k->type << 4 | k->kv));
		payload_wr_bytes16(&b, &k->key);
		if (key_has_salt(k->type)) {
			payload_wr_bytes16(&b, &k->salt);
		}
		if (k->kv == MIKEY_KV_SPI) {
			payload_wr_bytes8(&b, &k->spi);
		} else if (k->kv == MIKEY_KV_INTERVAL) {
			payload_wr_bytes8(&b, &k->vf);
			payload_wr_bytes8(&b, &k->vt);
		}
	}
	int ret = mikey_builder_error(&b);
	if (ret == KMS_EOK) {
		*len = mikey_builder_len(&b);
	}
	return ret;
}
