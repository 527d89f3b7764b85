/* kms-ue: options, suites, message files and diagnostics shared by the commands. */
#include "tools/ue_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/kdf.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "tools/ue_gba.h"
#include "tools/ue_input.h"

const char *ue_prog = "kms-ue";

int ue_suite_of_prf(uint8_t prf, ue_suite_t *out)
{
	switch (prf) {
	case MIKEY_PRF_MIKEY1:
		*out = (ue_suite_t){ prf, MIKEY_ENCR_AES_CM_128, MIKEY_MAC_HMAC_SHA1_160,
				     16, 16 };
		return KMS_EOK;
	case MIKEY_PRF_HMAC_SHA256:
		*out = (ue_suite_t){ prf, MIKEY_ENCR_AES_CM_256,
				     MIKEY_MAC_HMAC_SHA256_256, 32, 32 };
		return KMS_EOK;
	default:
		return KMS_EPRF;
	}
}

void ue_suite_fit_psk(ue_suite_t *su, size_t psk_len)
{
	size_t want = psk_len < MIKEY_RAND_MAX ? psk_len : MIKEY_RAND_MAX;
	if (su->rand_len < want) {
		su->rand_len = want;
	}
}

uint64_t ue_ntp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return mikey_ntp_from_unix((int64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
}

int64_t ue_unix_now(void)
{
	return (int64_t)time(NULL);
}

void ue_fail(const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s (%s)\n", ue_prog, what, kms_strerror(rc),
		kms_err_name(rc));
}

int ue_load_msg(const char *path, uint8_t *buf, size_t cap, size_t *len, mikey_msg_t *m)
{
	ue_form_t form;
	int rc = ue_input_load(ue_prog, path, buf, cap, len, &form);
	if (rc == KMS_EIO || rc == KMS_ENOMEM) {
		return UE_EXIT_USAGE;
	}
	if (rc != KMS_EOK) {
		return UE_EXIT_INVALID;
	}
	rc = mikey_msg_decode(buf, *len, m);
	if (rc != KMS_EOK) {
		char why[256];
		ue_diagnose(buf, *len, rc, why, sizeof(why));
		fprintf(stderr, "%s: %s: malformed MIKEY message: %s\n", ue_prog, path,
			why);
		return UE_EXIT_INVALID;
	}
	rc = mikey_msg_check(m);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: %s: invalid %s: %s (%s)\n", ue_prog, path,
			mikey_dt_name(m->hdr.data_type), kms_strerror(rc),
			kms_err_name(rc));
		return UE_EXIT_INVALID;
	}
	return UE_EXIT_OK;
}

int ue_state_open(const char *path, const char *role, ue_state_t **st)
{
	size_t line = 0;
	int rc = ue_state_load(path, st, &line);
	switch (rc) {
	case KMS_EOK:
		break;
	case KMS_ENOENT:
		fprintf(stderr, "%s: --state %s: no such file (run the earlier step)\n",
			ue_prog, path);
		return UE_EXIT_USAGE;
	case KMS_EACCES:
		fprintf(stderr,
			"%s: --state %s: not a regular file owned and readable by you "
			"alone (it holds keys: chmod 600)\n",
			ue_prog, path);
		return UE_EXIT_USAGE;
	case KMS_EMALFORMED:
		if (line == 0) {
			fprintf(stderr, "%s: --state %s: over %d bytes or empty\n",
				ue_prog, path, UE_STATE_FILE_MAX);
		} else {
			fprintf(stderr, "%s: --state %s: line %zu: not a %s %d file\n",
				ue_prog, path, line, UE_STATE_MAGIC, UE_STATE_VERSION);
		}
		return UE_EXIT_USAGE;
	default:
		fprintf(stderr, "%s: --state %s: %s\n", ue_prog, path,
			rc == KMS_EIO ? strerror(errno) : kms_strerror(rc));
		return UE_EXIT_USAGE;
	}
	if (role != NULL && !ue_state_is(*st, "role", role)) {
		fprintf(stderr, "%s: --state %s: not the state of the %s (wrong file?)\n",
			ue_prog, path, role);
		ue_state_free(*st);
		*st = NULL;
		return UE_EXIT_USAGE;
	}
	return UE_EXIT_OK;
}

int ue_state_write(const ue_state_t *st, const char *path)
{
	int rc = ue_state_save(st, path);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: --state %s: cannot write: %s\n", ue_prog, path,
			rc == KMS_EIO ? strerror(errno) : kms_strerror(rc));
		return UE_EXIT_USAGE;
	}
	return UE_EXIT_OK;
}

int ue_state_msg(const ue_state_t *st, const char *name, mikey_msg_t *m)
{
	const mikey_bytes_t *v = ue_state_get(st, name);
	if (v == NULL) {
		fprintf(stderr, "%s: the state file holds no %s (run the earlier step)\n",
			ue_prog, name);
		return KMS_ENOENT;
	}
	int rc = mikey_msg_parse(v->data, v->len, m);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: state file: %s does not parse: %s (%s)\n", ue_prog,
			name, kms_strerror(rc), kms_err_name(rc));
	}
	return rc;
}

int ue_write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "%s: %s: %s\n", ue_prog, path, strerror(errno));
		return -1;
	}
	size_t w = fwrite(buf, 1, len, f);
	int saved = errno;
	if (fclose(f) != 0 || w != len) {
		fprintf(stderr, "%s: %s: write failed: %s\n", ue_prog, path,
			strerror(w != len ? saved : errno));
		return -1;
	}
	return 0;
}

/* RFC 3830 6.12 and RFC 6043 6.12. */
static const char *mikey_err_text(uint8_t no)
{
	static const char *const names[] = {
		"Auth failure",	     "Invalid TS", "Invalid PRF",    "Invalid MAC",
		"Invalid EA",	     "Invalid HA", "Invalid DH",     "Invalid ID",
		"Invalid Cert",	     "Invalid SP", "Invalid SPpar",  "Invalid DT",
		"Unspecified error", NULL,	   "Invalid TICKET", "Invalid TPpar",
	};
	if (no < sizeof(names) / sizeof(names[0]) && names[no] != NULL) {
		return names[no];
	}
	return "unknown error number";
}

/* The V status of an Error message, tried with each candidate key. */
static void error_v_status(const mikey_msg_t *m, const ue_err_key_t *keys, size_t nkeys,
			   char *out, size_t cap)
{
	if (mikey_msg_v(m) == NULL) {
		snprintf(out, cap, "no V: an unauthenticated hint");
		return;
	}
	if (nkeys == 0) {
		snprintf(out, cap, "V not checked");
		return;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].key != NULL &&
		    mikey_mac_verify(m, keys[i].key, keys[i].len, NULL, 0) == KMS_EOK) {
			snprintf(out, cap, "V verifies (%s)", keys[i].what);
			return;
		}
	}
	size_t n = (size_t)snprintf(out, cap, "V does NOT verify (tried");
	for (size_t i = 0; i < nkeys && n < cap; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%s %s", i > 0 ? ";" : "",
				      keys[i].what);
	}
	if (n < cap) {
		snprintf(out + n, cap - n, "): unverified");
	}
}

void ue_report_error_msg(const char *who, const mikey_msg_t *m,
			 const mikey_msg_t *in_error, const ue_err_key_t *keys,
			 size_t nkeys)
{
	char auth[256];
	error_v_status(m, keys, nkeys, auth, sizeof(auth));
	for (size_t i = 0; i < m->n; i++) {
		if (m->p[i].type == MIKEY_PT_ERR) {
			uint8_t no = m->p[i].u.err.errno_;
			fprintf(stderr, "%s: %s answered with MIKEY error %u (%s); %s\n",
				ue_prog, who, (unsigned)no, mikey_err_text(no), auth);
		}
	}
	/* RFC 6043 5.4: version, PRF func and CSB ID copied from the message. */
	const mikey_hdr_t *a = &m->hdr;
	if (in_error != NULL) {
		const mikey_hdr_t *b = &in_error->hdr;
		if (a->version != b->version || a->prf != b->prf ||
		    a->csb_id != b->csb_id) {
			fprintf(stderr,
				"%s: note: the Error's HDR (version %u, PRF %u, CSB ID "
				"%08x) differs from the %s it answers (version %u, PRF "
				"%u, CSB ID %08x)\n",
				ue_prog, (unsigned)a->version, (unsigned)a->prf,
				a->csb_id, mikey_dt_name(b->data_type),
				(unsigned)b->version, (unsigned)b->prf, b->csb_id);
		}
	}
}

size_t ue_error_keys(const mikey_msg_t *in_error, const mikey_v_t *v,
		     const uint8_t *inkey, size_t inkey_len, bool also_resp,
		     uint8_t k[2][MIKEY_MAC_MAX], ue_err_key_t keys[2])
{
	static const uint8_t dir[2] = { MIKEY_DIR_INIT, MIKEY_DIR_RESP };
	static const char *const what[2] = { "auth_key of the message in error, D=0x01",
					     "response direction D=0x02" };
	const mikey_rand_t *ri = mikey_msg_randr(in_error, MIKEY_RAND_I);
	const mikey_rand_t *rr = mikey_msg_randr(in_error, MIKEY_RAND_R);
	size_t n = 0;
	for (size_t i = 0; v != NULL && i < (also_resp ? 2u : 1u); i++) {
		size_t klen = 0;
		if (ue_auth_key(in_error->hdr.prf, inkey, inkey_len, in_error->hdr.csb_id,
				dir[i], ri != NULL ? &ri->rand : NULL,
				rr != NULL ? &rr->rand : NULL, v->alg, k[i],
				&klen) == KMS_EOK) {
			keys[n++] = (ue_err_key_t){ k[i], klen, what[i] };
		}
	}
	return n;
}

int ue_auth_key(uint8_t prf, const uint8_t *inkey, size_t inkey_len, uint32_t csb_id,
		uint8_t dir, const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		uint8_t mac_alg, uint8_t *key, size_t *key_len)
{
	size_t kl = mikey_v_key_len(mac_alg);
	if (kl == 0) {
		return KMS_EHA;
	}
	int rc = mikey_kdf_msg_key(NULL, prf, inkey, inkey_len, MIKEY_DK_AUTH, csb_id,
				   dir, randri, randrr, key, kl);
	if (rc == KMS_EOK) {
		*key_len = kl;
	}
	return rc;
}

/* The TICKET payload of m: its bytes after the Next payload field. */
static int ticket_span(const mikey_msg_t *m, bool with_init, mikey_bytes_t *out)
{
	if (!m->has_ticket || m->p[m->ticket_index].type != MIKEY_PT_TICKET) {
		return KMS_EPAYLOAD;
	}
	const mikey_payload_t *p = &m->p[m->ticket_index];
	size_t end = with_init ? p->len : m->ticket.init_len_off;
	if (end < 1 || end > p->len) {
		return KMS_EINTERNAL;
	}
	out->data = m->buf + p->off + 1;
	out->len = end - 1;
	return KMS_EOK;
}

int ue_ticket_same(const mikey_msg_t *src, const uint8_t *built, size_t len,
		   bool with_init)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_bytes_t a, b;
	if (m == NULL) {
		return KMS_ENOMEM;
	}
	int rc = mikey_msg_decode(built, len, m);
	if (rc == KMS_EOK) {
		rc = ticket_span(src, with_init, &a);
	}
	if (rc == KMS_EOK) {
		rc = ticket_span(m, with_init, &b);
	}
	if (rc == KMS_EOK && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)) {
		rc = KMS_EINTERNAL;
	}
	free(m);
	return rc;
}

int ue_ticket_hash(const mikey_msg_t *m, uint8_t out[32])
{
	mikey_bytes_t span;
	int rc = ticket_span(m, false, &span);
	if (rc != KMS_EOK) {
		return rc;
	}
	crypto_iov_t iov = { span.data, span.len };
	return crypto_hash(CRYPTO_MD_SHA256, &iov, 1, out);
}

int ue_keys_expect(const mikey_keys_t *keys, size_t key_len, bool forking,
		   ue_keyset_t *out)
{
	/* MPKi, MPKr, TGK; without forking MPKr may be missing. */
	if (keys->n != 3 && (forking || keys->n != 2)) {
		return KMS_ETICKET;
	}
	for (size_t i = 0; i < keys->n; i++) {
		const mikey_keydata_t *k = &keys->k[i];
		uint8_t want = i + 1 == keys->n ? MIKEY_KEY_TGK : MIKEY_KEY_MPK;
		if (k->type != want || k->key.len != key_len || k->kv != MIKEY_KV_SPI ||
		    k->spi.len == 0) {
			return KMS_ETICKET;
		}
	}
	out->mpki = &keys->k[0];
	out->mpkr = keys->n == 3 ? &keys->k[1] : NULL;
	out->tgk = &keys->k[keys->n - 1];
	return KMS_EOK;
}

int ue_state_keep_initiator(ue_state_t *st, const ue_opts_t *o, const ue_id_t *peer,
			    uint16_t ticket_type, uint8_t prf)
{
	const uint8_t tt[2] = { (uint8_t)(ticket_type >> 8), (uint8_t)ticket_type };
	int rc = ue_state_set_str(st, "role", "initiator");
	/* The identities as sent: TRANSFER_INIT repeats them. */
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "id", o->idw.data);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "id_type", &o->idw.type, 1);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "kms_id", o->kmsw.data);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "peer", peer->data);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "peer_type", &peer->type, 1);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "ticket_type", tt, sizeof(tt));
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "prf", &prf, 1);
	}
	return rc;
}
