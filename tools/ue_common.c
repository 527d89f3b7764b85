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

void ue_opts_init(ue_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->kms_id = UE_KMS_ID_DEFAULT;
	o->psk_id_type = MIKEY_ID_BYTES;
}

bool ue_opts_take(ue_opts_t *o, int c, const char *arg)
{
	switch (c) {
	case UE_OPT_PSK:
		o->psk_hex = arg;
		return true;
	case UE_OPT_PSK_FILE:
		o->psk_file = arg;
		return true;
	case UE_OPT_GBA:
		o->gba = arg;
		return true;
	case UE_OPT_ID:
		o->id = arg;
		return true;
	case UE_OPT_KMS_ID:
		o->kms_id = arg;
		return true;
	case UE_OPT_PSK_ID:
		o->psk_id = arg;
		return true;
	case UE_OPT_STATE:
		o->state = arg;
		return true;
	case UE_OPT_URI:
		o->uri = true;
		return true;
	case UE_OPT_3GPP:
		o->uri = true;
		o->gpp = true;
		return true;
	case UE_OPT_NO_KMS_ID:
		o->no_kms_id = true;
		return true;
	case UE_OPT_MAC_NO_KMS:
		o->mac_no_kms = true;
		return true;
	default:
		return false;
	}
}

int ue_opts_ids(ue_opts_t *o)
{
	if (ue_check_id("--id", o->id) != 0 || ue_check_id("--kms-id", o->kms_id) != 0 ||
	    (o->psk_id != NULL && ue_check_id("--psk-id", o->psk_id) != 0)) {
		return -1;
	}
	if (o->mac_no_kms && !o->no_kms_id) {
		fprintf(stderr, "%s: --mac-without-kms-id needs --no-kms-id\n", ue_prog);
		return -1;
	}
	if (ue_id_wire("--id", o->id, o->uri, &o->idw) != 0) {
		return -1;
	}
	/* Left out, the KMS identity is appended to the MAC as configured. */
	return ue_id_wire("--kms-id", o->kms_id, o->uri && !o->no_kms_id, &o->kmsw);
}

int ue_opts_mac_ids(const ue_opts_t *o, const mikey_msg_t *m, mikey_bytes_t ids[2])
{
	mikey_bytes_t kms = { (const uint8_t *)o->kmsw.data, o->kmsw.len };
	int rc = mikey_profile_init_identities(m, &kms, ids);
	if (rc != KMS_EOK) {
		return rc;
	}
	return o->mac_no_kms ? 1 : 2;
}

void ue_opts_wipe(ue_opts_t *o)
{
	secmem_wipe(o->psk, sizeof(o->psk));
	o->psk_len = 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Hex text (surrounding whitespace ignored) into the PSK buffer. */
static int psk_from_text(ue_opts_t *o, const char *what, const char *text, size_t len)
{
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1])) {
		len--;
	}
	size_t n = 0;
	int rc = hex_decode(text, len, o->psk, sizeof(o->psk), &n);
	if (rc == KMS_ESPACE) {
		fprintf(stderr, "%s: %s: more than %d bytes\n", ue_prog, what,
			UE_PSK_MAX);
		return -1;
	}
	if (rc != KMS_EOK || n == 0) {
		fprintf(stderr, "%s: %s: not a non-empty even-length hex string\n",
			ue_prog, what);
		secmem_wipe(o->psk, sizeof(o->psk));
		return -1;
	}
	o->psk_len = n;
	return 0;
}

/* --gba FILE: Ks_NAF is the PSK, the B-TID goes into IDRpsk as an NAI. */
static int psk_from_gba(ue_opts_t *o)
{
	ue_gba_t *g = secmem_alloc(sizeof(*g));
	int ret = -1;
	if (g == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return -1;
	}
	if (o->psk_id != NULL) {
		fprintf(stderr, "%s: --gba sends the B-TID as IDRpsk: drop --psk-id\n",
			ue_prog);
	} else if (ue_gba_load(o->gba, g) == 0 && strlen(g->btid) < sizeof(o->btid) &&
		   sizeof(g->ks_naf) <= sizeof(o->psk)) {
		memcpy(o->psk, g->ks_naf, sizeof(g->ks_naf));
		o->psk_len = sizeof(g->ks_naf);
		memcpy(o->btid, g->btid, strlen(g->btid) + 1);
		o->psk_id = o->btid;
		o->psk_id_type = MIKEY_ID_NAI;
		if (g->expires <= ue_unix_now()) {
			fprintf(stderr,
				"%s: note: the bootstrapping in %s expired; the KMS will "
				"ask for a new one (kms-ue bootstrap)\n",
				ue_prog, o->gba);
		}
		ret = 0;
	}
	secmem_free(g, sizeof(*g));
	return ret;
}

int ue_opts_load_psk(ue_opts_t *o)
{
	int given = (o->psk_hex != NULL) + (o->psk_file != NULL) + (o->gba != NULL);
	if (given != 1) {
		fprintf(stderr, "%s: give exactly one of --psk, --psk-file and --gba\n",
			ue_prog);
		return -1;
	}
	if (o->gba != NULL) {
		return psk_from_gba(o);
	}
	if (o->psk_hex != NULL) {
		return psk_from_text(o, "--psk", o->psk_hex, strlen(o->psk_hex));
	}
	const size_t cap = 4 * UE_PSK_MAX;
	uint8_t *buf = secmem_alloc(cap);
	size_t len = 0;
	int ret = -1;
	if (buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return -1;
	}
	int rc = ue_read_all(o->psk_file, buf, cap, &len);
	if (rc == KMS_EIO) {
		fprintf(stderr, "%s: --psk-file %s: %s\n", ue_prog, o->psk_file,
			strerror(errno));
	} else if (rc != KMS_EOK) {
		fprintf(stderr, "%s: --psk-file %s: over %zu bytes\n", ue_prog,
			o->psk_file, cap);
	} else {
		ret = psk_from_text(o, "--psk-file", (const char *)buf, len);
	}
	secmem_free(buf, cap);
	return ret;
}

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
