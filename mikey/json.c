/*
 * JSON view of a decoded MIKEY message.
 *
 * Every builder returns a new reference or NULL.  Fields are added with
 * put(), which records a failure in *err; json_object_set_new() steals
 * the value even when it fails, so nothing leaks on the error path.
 */
#include "mikey/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/tp.h"

#define NAMES(t) (t), (sizeof(t) / sizeof((t)[0]))

static const char *const prf_names[] = { "MIKEY-1", "PRF-HMAC-SHA-256" };
static const char *const map_names[] = { "SRTP-ID", "EMPTY", "GENERIC-ID" };
static const char *const ts_names[] = { "NTP-UTC", "NTP", "COUNTER", "NTP-UTC-32" };
static const char *const tr_roles[] = { "", "TRi", "TRs", "TRe", "TRr" };
static const char *const id_types[] = { "NAI", "URI", "BYTES" };
static const char *const id_roles[] = {
	"", "IDRi", "IDRr", "IDRkms", "IDRpsk", "IDRapp"
};
static const char *const rand_roles[] = { "", "RANDRi", "RANDRr", "RANDRkms" };
static const char *const encr_names[] = { "NULL", "AES-CM-128", "AES-KW-128",
					  "AES-CM-256" };
static const char *const mac_names[] = { "NULL", "HMAC-SHA-1-160", "HMAC-SHA-256-256" };
static const char *const key_types[] = { "TGK",	 "TGK+SALT",  "TEK", "TEK+SALT",
					 "GTGK", "GTGK+SALT", "MPK" };
static const char *const kv_names[] = { "NULL", "SPI", "INTERVAL" };
static const char *const hash_names[] = { "SHA-1", "MD5", "SHA-256" };
static const char *const ext_names[] = { "VENDOR-ID", "SDP-IDS", "", "KEY-ID" };
static const char *const cert_names[] = { "X.509v3", "X.509v3-URL", "X.509v3-SIGN",
					  "X.509v3-ENCR" };
static const char *const sign_names[] = { "RSA-PKCS1-v1_5", "RSA-PSS" };
static const char *const err_names[] = {
	"Auth failure",	     "Invalid TS", "Invalid PRF",    "Invalid MAC",
	"Invalid EA",	     "Invalid HA", "Invalid DH",     "Invalid ID",
	"Invalid Cert",	     "Invalid SP", "Invalid SPpar",  "Invalid DT",
	"Unspecified error", "",	   "Invalid TICKET", "Invalid TPpar",
};
static const char *const srtp_params[] = {
	"SRTP encr alg",	"session encr key len", "SRTP auth alg",
	"session auth key len", "session salt key len", "SRTP PRF",
	"key derivation rate",	"SRTP encryption",	"SRTCP encryption",
	"sender FEC order",	"SRTP authentication",	"auth tag len",
	"SRTP prefix len",
};

static json_t *name_json(const char *const *tab, size_t n, unsigned v)
{
	return json_string(v < n && tab[v][0] != '\0' ? tab[v] : "unknown");
}

static json_t *str_json(const char *s)
{
	return json_string(s != NULL ? s : "unknown");
}

static void put(json_t *o, const char *key, json_t *v, int *err)
{
	if (json_object_set_new(o, key, v) != 0) {
		*err = 1;
	}
}

static void append(json_t *a, json_t *v, int *err)
{
	if (json_array_append_new(a, v) != 0) {
		*err = 1;
	}
}

static json_t *finish(json_t *o, int err)
{
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *int_json(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* Lower-case hex of a byte string; the scratch copy is wiped. */
static json_t *hex_json(const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 1);
	if (s == NULL) {
		return NULL;
	}
	json_t *j = NULL;
	if (hex_encode(data, len, s, 2 * len + 1) == KMS_EOK) {
		j = json_stringn(s, 2 * len);
	}
	secmem_wipe(s, 2 * len + 1);
	free(s);
	return j;
}

/* Key bytes: {"redacted": len} unless the caller asked for them. */
static json_t *secret_json(const mikey_bytes_t *b, unsigned flags)
{
	if (flags & MIKEY_JSON_SHOW_KEYS) {
		return hex_json(b->data, b->len);
	}
	return json_pack("{s:I}", "redacted", (json_int_t)b->len);
}

/* Strict UTF-8 without control characters (so a terminal shows it as is). */
static bool printable_utf8(const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = p[i];
		size_t n;
		uint32_t cp;
		if (c < 0x20 || c == 0x7f) {
			return false;
		} else if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n) {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				return false;
			}
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0)) {
			return false;
		}
		i += n + 1;
	}
	return true;
}

/* NTP seconds (RFC 4330 era rule: MSB 0 is 2036-2104) as ISO-8601 UTC. */
static json_t *ntp_time_json(uint32_t secs, uint32_t frac, bool with_frac)
{
	int64_t unix_s = (int64_t)secs - INT64_C(2208988800);
	if (!(secs & 0x80000000u)) {
		unix_s += INT64_C(4294967296);
	}
	time_t t = (time_t)unix_s;
	struct tm tm;
	char buf[48];
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		return json_null();
	}
	size_t used = strlen(buf);
	if (with_frac) {
		unsigned ms = (unsigned)(((uint64_t)frac * 1000u) >> 32);
		snprintf(buf + used, sizeof(buf) - used, ".%03uZ", ms);
	} else {
		snprintf(buf + used, sizeof(buf) - used, "Z");
	}
	return json_string(buf);
}

static void ts_fields(json_t *o, const mikey_ts_t *ts, bool with_role, int *err)
{
	char raw[17];
	if (with_role) {
		put(o, "role", int_json(ts->role), err);
		put(o, "role_name", name_json(NAMES(tr_roles), ts->role), err);
	}
	put(o, "ts_type", int_json(ts->ts_type), err);
	put(o, "ts_type_name", name_json(NAMES(ts_names), ts->ts_type), err);
	if (mikey_ts_len(ts->ts_type) == 4) {
		snprintf(raw, sizeof(raw), "%08" PRIx32, (uint32_t)ts->value);
	} else {
		snprintf(raw, sizeof(raw), "%016" PRIx64, ts->value);
	}
	put(o, "value", json_string(raw), err);
	if (with_role && ts->role == MIKEY_TR_REKEY) {
		/* TRr is an interval, not a point in time. */
		put(o, "interval_s", int_json(mikey_ts_to64(ts) >> 32), err);
		return;
	}
	switch (ts->ts_type) {
	case MIKEY_TS_NTP_UTC:
	case MIKEY_TS_NTP:
		put(o, "time",
		    ntp_time_json((uint32_t)(ts->value >> 32), (uint32_t)ts->value, true),
		    err);
		break;
	case MIKEY_TS_NTP_UTC_32:
		put(o, "time", ntp_time_json((uint32_t)ts->value, 0, false), err);
		break;
	case MIKEY_TS_COUNTER:
		put(o, "counter", int_json((uint32_t)ts->value), err);
		break;
	default:
		break;
	}
}

static void id_fields(json_t *o, const mikey_id_t *id, bool with_role, int *err)
{
	if (with_role) {
		put(o, "role", int_json(id->role), err);
		put(o, "role_name", name_json(NAMES(id_roles), id->role), err);
	}
	put(o, "id_type", int_json(id->id_type), err);
	put(o, "id_type_name", name_json(NAMES(id_types), id->id_type), err);
	put(o, "id", hex_json(id->id.data, id->id.len), err);
	if (id->id.len > 0 && printable_utf8(id->id.data, id->id.len)) {
		put(o, "id_text", json_stringn((const char *)id->id.data, id->id.len),
		    err);
	}
}

static json_t *ts_json(const mikey_ts_t *ts, bool with_role)
{
	int err = 0;
	json_t *o = json_object();
	ts_fields(o, ts, with_role, &err);
	return finish(o, err);
}

static json_t *id_json(const mikey_id_t *id)
{
	int err = 0;
	json_t *o = json_object();
	id_fields(o, id, true, &err);
	return finish(o, err);
}

static json_t *v_json(const mikey_v_t *v)
{
	int err = 0;
	json_t *o = json_object();
	put(o, "auth_alg", int_json(v->alg), &err);
	put(o, "auth_alg_name", name_json(NAMES(mac_names), v->alg), &err);
	put(o, "mac", hex_json(v->mac.data, v->mac.len), &err);
	return finish(o, err);
}

static bool has_salt(uint8_t type)
{
	return type == MIKEY_KEY_TGK_SALT || type == MIKEY_KEY_TEK_SALT ||
	       type == MIKEY_KEY_GTGK_SALT;
}

static json_t *keydata_json(const mikey_keydata_t *k, unsigned flags)
{
	int err = 0;
	json_t *o = json_object();
	put(o, "type", int_json(k->type), &err);
	put(o, "type_name", name_json(NAMES(key_types), k->type), &err);
	put(o, "kv", int_json(k->kv), &err);
	put(o, "kv_name", name_json(NAMES(kv_names), k->kv), &err);
	put(o, "key", secret_json(&k->key, flags), &err);
	if (has_salt(k->type)) {
		put(o, "salt", secret_json(&k->salt, flags), &err);
	}
	if (k->kv == MIKEY_KV_SPI) {
		put(o, "spi", hex_json(k->spi.data, k->spi.len), &err);
	} else if (k->kv == MIKEY_KV_INTERVAL) {
		put(o, "valid_from", hex_json(k->vf.data, k->vf.len), &err);
		put(o, "valid_to", hex_json(k->vt.data, k->vt.len), &err);
	}
	return finish(o, err);
}

json_t *mikey_keys_to_json(const mikey_keys_t *keys, unsigned flags)
{
	if (keys == NULL || keys->n > MIKEY_KEYS_MAX) {
		return NULL;
	}
	int err = 0;
	json_t *a = json_array();
	for (size_t i = 0; i < keys->n; i++) {
		append(a, keydata_json(&keys->k[i], flags), &err);
	}
	return finish(a, err);
}

/* keys: the parsed chain when the caller has it (TP template), else NULL. */
static json_t *kemac_json(const mikey_kemac_t *k, const mikey_keys_t *keys,
			  unsigned flags)
{
	int err = 0;
	json_t *o = json_object();
	put(o, "encr_alg", int_json(k->encr_alg), &err);
	put(o, "encr_alg_name", name_json(NAMES(encr_names), k->encr_alg), &err);
	put(o, "encr_data_len", int_json(k->encr_data.len), &err);
	if (k->encr_alg == MIKEY_ENCR_NULL) {
		/* Plain key data: the bytes are keys. */
		put(o, "encr_data", secret_json(&k->encr_data, flags), &err);
		if (keys != NULL) {
			put(o, "keys", mikey_keys_to_json(keys, flags), &err);
		} else {
			mikey_keys_t *parsed = malloc(sizeof(*parsed));
			int rc = parsed == NULL
				     ? KMS_ENOMEM
				     : mikey_keys_parse(k->encr_data.data,
							k->encr_data.len, parsed);
			if (rc == KMS_EOK) {
				put(o, "keys", mikey_keys_to_json(parsed, flags), &err);
			} else if (rc == KMS_ENOMEM) {
				err = 1;
			} else {
				put(o, "keys_error", json_string(kms_err_name(rc)), &err);
			}
			free(parsed);
		}
	} else {
		put(o, "encr_data", hex_json(k->encr_data.data, k->encr_data.len), &err);
	}
	put(o, "mac_alg", int_json(k->mac_alg), &err);
	put(o, "mac_alg_name", name_json(NAMES(mac_names), k->mac_alg), &err);
	put(o, "mac", hex_json(k->mac.data, k->mac.len), &err);
	return finish(o, err);
}

static json_t *flags_json(uint16_t flags)
{
	static const char letters[] = "DEFGHIJKLMNO";
	int err = 0;
	json_t *o = json_object();
	for (unsigned i = 0; i < 12; i++) {
		char key[2] = { letters[i], '\0' };
		put(o, key, json_boolean(flags & (1u << (15 - i))), &err);
	}
	return finish(o, err);
}

static json_t *id_list_json(const mikey_id_t *ids, size_t n)
{
	int err = 0;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		append(a, id_json(&ids[i]), &err);
	}
	return finish(a, err);
}

static json_t *tp_payloads_json(const mikey_tp_t *tp, unsigned flags)
{
	int err = 0;
	json_t *o = json_object();
	if (tp->has_idrkms) {
		put(o, "idrkms", id_json(&tp->idrkms), &err);
	}
	if (tp->has_idri) {
		put(o, "idri", id_json(&tp->idri), &err);
	}
	if (tp->has_trs) {
		put(o, "trs", ts_json(&tp->trs, true), &err);
	}
	if (tp->has_tre) {
		put(o, "tre", ts_json(&tp->tre, true), &err);
	}
	if (tp->has_trr) {
		put(o, "trr", ts_json(&tp->trr, true), &err);
	}
	if (tp->has_kemac) {
		put(o, "kemac", kemac_json(&tp->kemac, &tp->kemac_keys, flags), &err);
	}
	put(o, "idrapp",
	    id_list_json(tp->app, tp->napp <= MIKEY_IDRAPP_MAX ? tp->napp : 0), &err);
	put(o, "idrr",
	    id_list_json(tp->idrr, tp->nidrr <= MIKEY_IDRR_MAX ? tp->nidrr : 0), &err);
	return finish(o, err);
}

static const char *ticket_type_name(uint16_t type)
{
	if (type == 1) {
		return "MIKEY base ticket";
	}
	if (type == 2) {
		return "3GPP base ticket";
	}
	if (type >= 0xf000 && type <= 0xfffe) {
		return "private use";
	}
	return "unassigned";
}

static void ticket_fields(json_t *o, const mikey_ticket_t *t, bool is_ticket,
			  unsigned flags, int *err)
{
	const mikey_tp_t *tp = &t->policy;
	char fstr[13];
	put(o, "ticket_type", int_json(tp->ticket_type), err);
	put(o, "ticket_type_name", json_string(ticket_type_name(tp->ticket_type)), err);
	put(o, "subtype", int_json(tp->subtype), err);
	put(o, "version", int_json(tp->version), err);
	put(o, "prf", int_json(tp->prf), err);
	put(o, "prf_name", name_json(NAMES(prf_names), tp->prf), err);
	put(o, "flags", flags_json(tp->flags), err);
	put(o, "flags_raw", int_json(tp->flags), err);
	mikey_tp_flags_str(tp->flags, fstr);
	put(o, "flags_str", json_string(fstr), err);
	put(o, "tp_data_len", int_json(tp->tp_data.len), err);
	/* A KEMAC template in TP Data holds (zeroed) key bytes: redact them too. */
	if (tp->has_kemac) {
		put(o, "tp_data", secret_json(&tp->tp_data, flags), err);
	} else {
		put(o, "tp_data", hex_json(tp->tp_data.data, tp->tp_data.len), err);
	}
	put(o, "tp_payloads", tp_payloads_json(tp, flags), err);
	if (!is_ticket) {
		return;
	}
	put(o, "ticket_data_len", int_json(t->ticket_data.len), err);
	put(o, "ticket_data", hex_json(t->ticket_data.data, t->ticket_data.len), err);
	put(o, "initiator_data_len", int_json(t->init_data.len), err);
	if (t->has_init) {
		int e2 = 0;
		json_t *init = json_object();
		put(init, "raw", hex_json(t->init_data.data, t->init_data.len), &e2);
		put(init, "vi", v_json(&t->vi), &e2);
		put(init, "vr", v_json(&t->vr), &e2);
		put(o, "initiator_data", finish(init, e2), err);
	} else {
		put(o, "initiator_data", json_null(), err);
	}
}

static json_t *sp_params_json(const mikey_sp_t *sp)
{
	int err = 0;
	json_t *a = json_array();
	size_t n = sp->nparams <= MIKEY_SP_PARAMS_MAX ? sp->nparams : 0;
	for (size_t i = 0; i < n; i++) {
		const mikey_sp_param_t *pp = &sp->params[i];
		int e2 = 0;
		json_t *o = json_object();
		put(o, "type", int_json(pp->type), &e2);
		if (sp->prot_type == 0) {
			put(o, "name", name_json(NAMES(srtp_params), pp->type), &e2);
		}
		put(o, "value", hex_json(pp->value.data, pp->value.len), &e2);
		append(a, finish(o, e2), &err);
	}
	return finish(a, err);
}

static void payload_fields(json_t *o, const mikey_msg_t *m, size_t i, unsigned flags,
			   int *err)
{
	const mikey_payload_t *p = &m->p[i];
	switch (p->type) {
	case MIKEY_PT_T:
	case MIKEY_PT_TR:
		ts_fields(o, &p->u.ts, p->type == MIKEY_PT_TR, err);
		break;
	case MIKEY_PT_ID:
	case MIKEY_PT_IDR:
		id_fields(o, &p->u.id, p->type == MIKEY_PT_IDR, err);
		break;
	case MIKEY_PT_RAND:
	case MIKEY_PT_RANDR:
		if (p->type == MIKEY_PT_RANDR) {
			put(o, "role", int_json(p->u.rand.role), err);
			put(o, "role_name", name_json(NAMES(rand_roles), p->u.rand.role),
			    err);
		}
		put(o, "rand_len", int_json(p->u.rand.rand.len), err);
		put(o, "rand", hex_json(p->u.rand.rand.data, p->u.rand.rand.len), err);
		break;
	case MIKEY_PT_KEMAC:
		put(o, "kemac", kemac_json(&p->u.kemac, NULL, flags), err);
		break;
	case MIKEY_PT_V:
		put(o, "auth_alg", int_json(p->u.v.alg), err);
		put(o, "auth_alg_name", name_json(NAMES(mac_names), p->u.v.alg), err);
		put(o, "mac", hex_json(p->u.v.mac.data, p->u.v.mac.len), err);
		break;
	case MIKEY_PT_ERR:
		put(o, "error_no", int_json(p->u.err.errno_), err);
		put(o, "error_name", name_json(NAMES(err_names), p->u.err.errno_), err);
		break;
	case MIKEY_PT_SP:
		put(o, "policy_no", int_json(p->u.sp.policy_no), err);
		put(o, "prot_type", int_json(p->u.sp.prot_type), err);
		put(o, "params", sp_params_json(&p->u.sp), err);
		break;
	case MIKEY_PT_GENEXT:
		put(o, "ext_type", int_json(p->u.ext.type), err);
		put(o, "ext_type_name", name_json(NAMES(ext_names), p->u.ext.type), err);
		put(o, "data", hex_json(p->u.ext.data.data, p->u.ext.data.len), err);
		break;
	case MIKEY_PT_PKE:
		put(o, "c", int_json(p->u.pke.c), err);
		put(o, "data", hex_json(p->u.pke.data.data, p->u.pke.data.len), err);
		break;
	case MIKEY_PT_CERT:
		put(o, "cert_type", int_json(p->u.cert.type), err);
		put(o, "cert_type_name", name_json(NAMES(cert_names), p->u.cert.type),
		    err);
		put(o, "data", hex_json(p->u.cert.data.data, p->u.cert.data.len), err);
		break;
	case MIKEY_PT_CHASH:
		put(o, "hash_func", int_json(p->u.chash.func), err);
		put(o, "hash_func_name", name_json(NAMES(hash_names), p->u.chash.func),
		    err);
		put(o, "hash", hex_json(p->u.chash.hash.data, p->u.chash.hash.len), err);
		break;
	case MIKEY_PT_SIGN:
		put(o, "s_type", int_json(p->u.sign.s_type), err);
		put(o, "s_type_name", name_json(NAMES(sign_names), p->u.sign.s_type),
		    err);
		put(o, "signature", hex_json(p->u.sign.sig.data, p->u.sign.sig.len), err);
		break;
	case MIKEY_PT_TP:
	case MIKEY_PT_TICKET:
		if (m->has_ticket && m->ticket_index == i) {
			ticket_fields(o, &m->ticket, p->type == MIKEY_PT_TICKET, flags,
				      err);
		}
		break;
	default:
		break;
	}
}

static json_t *map_json(const mikey_hdr_t *h)
{
	int err = 0;
	json_t *a = json_array();
	size_t n = h->ncs <= MIKEY_CS_MAX ? h->ncs : 0;
	for (size_t i = 0; i < n; i++) {
		int e2 = 0;
		json_t *o = json_object();
		if (h->map_type == MIKEY_MAP_SRTP_ID) {
			const mikey_srtp_cs_t *cs = &h->map.srtp[i];
			put(o, "cs_id", int_json(i + 1), &e2);
			put(o, "policy_no", int_json(cs->policy_no), &e2);
			put(o, "ssrc", int_json(cs->ssrc), &e2);
			put(o, "roc", int_json(cs->roc), &e2);
		} else if (h->map_type == MIKEY_MAP_GENERIC_ID) {
			const mikey_generic_cs_t *cs = &h->map.generic[i];
			json_t *pn = json_array();
			size_t np = cs->np <= MIKEY_POLICY_NO_MAX ? cs->np : 0;
			for (size_t k = 0; k < np; k++) {
				append(pn, int_json(cs->policy_no[k]), &e2);
			}
			put(o, "cs_id", int_json(cs->cs_id), &e2);
			put(o, "prot_type", int_json(cs->prot_type), &e2);
			put(o, "s", json_boolean(cs->s), &e2);
			put(o, "policy_no", pn, &e2);
			put(o, "session_data",
			    hex_json(cs->session_data.data, cs->session_data.len), &e2);
			put(o, "spi", hex_json(cs->spi.data, cs->spi.len), &e2);
		}
		append(a, finish(o, e2), &err);
	}
	return finish(a, err);
}

static json_t *hdr_json(const mikey_hdr_t *h)
{
	int err = 0;
	char csb[9];
	snprintf(csb, sizeof(csb), "%08" PRIx32, h->csb_id);
	json_t *o = json_object();
	put(o, "version", int_json(h->version), &err);
	put(o, "data_type", int_json(h->data_type), &err);
	put(o, "next_payload", int_json(h->next), &err);
	put(o, "v", json_boolean(h->v), &err);
	put(o, "prf", int_json(h->prf), &err);
	put(o, "prf_name", name_json(NAMES(prf_names), h->prf), &err);
	put(o, "csb_id", json_string(csb), &err);
	put(o, "ncs", int_json(h->ncs), &err);
	put(o, "map_type", int_json(h->map_type), &err);
	put(o, "map_type_name", name_json(NAMES(map_names), h->map_type), &err);
	put(o, "map", map_json(h), &err);
	return finish(o, err);
}

json_t *mikey_msg_to_json(const mikey_msg_t *m, unsigned flags)
{
	if (m == NULL || m->n > MIKEY_PAYLOADS_MAX) {
		return NULL;
	}
	int err = 0;
	json_t *o = json_object();
	put(o, "data_type", int_json(m->hdr.data_type), &err);
	put(o, "data_type_name", str_json(mikey_dt_name(m->hdr.data_type)), &err);
	put(o, "length", int_json(m->len), &err);
	put(o, "hdr", hdr_json(&m->hdr), &err);
	json_t *a = json_array();
	for (size_t i = 0; i < m->n; i++) {
		const mikey_payload_t *p = &m->p[i];
		int e2 = 0;
		json_t *po = json_object();
		put(po, "type", int_json(p->type), &e2);
		put(po, "name", str_json(mikey_pt_name(p->type)), &e2);
		put(po, "offset", int_json(p->off), &e2);
		put(po, "length", int_json(p->len), &e2);
		payload_fields(po, m, i, flags, &e2);
		append(a, finish(po, e2), &err);
	}
	put(o, "payloads", a, &err);
	return finish(o, err);
}
