/*
 * kms-ue options: the table-driven parser (tools/ue_opts.h) and the
 * options the MIKEY commands share.
 */
#include "tools/ue_opts.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/profile.h"
#include "tools/ue_common.h"
#include "tools/ue_gba.h"
#include "tools/ue_input.h"

#define VAL_BASE 256 /* getopt value of row i: VAL_BASE + i */

/* The getopt_long tables of spec, --help/-h last. */
static void build_getopt(const ue_optspec_t *spec, struct option *lo, char *so)
{
	size_t k = 0;
	for (size_t i = 0; i < spec->nopts; i++) {
		const ue_opt_t *o = &spec->opts[i];
		int has_arg = o->kind == UE_OPT_FLAG ? no_argument : required_argument;
		lo[i] = (struct option){ o->name, has_arg, NULL, VAL_BASE + (int)i };
		if (o->short_name != 0) {
			so[k++] = o->short_name;
			if (has_arg == required_argument) {
				so[k++] = ':';
			}
		}
	}
	lo[spec->nopts] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[spec->nopts + 1] = (struct option){ NULL, 0, NULL, 0 };
	so[k++] = 'h';
	so[k] = '\0';
}

/* The row getopt's c stands for; -1 for --help, -2 for an error. */
static int row_of(const ue_optspec_t *spec, int c)
{
	if (c >= VAL_BASE && (size_t)(c - VAL_BASE) < spec->nopts) {
		return c - VAL_BASE;
	}
	for (size_t i = 0; i < spec->nopts && c != '?'; i++) {
		if (spec->opts[i].short_name == c) {
			return (int)i;
		}
	}
	return c == 'h' ? -1 : -2;
}

/* Decimal digits only (no sign, space or empty), at most max. */
static int take_u32(const ue_opt_t *o, const char *arg)
{
	uint32_t v = 0;
	if (dec_parse_u32(arg, &v) != KMS_EOK || v < o->min || v > o->max) {
		fprintf(stderr, "%s: --%s: %" PRIu32 " to %" PRIu32 "%s%s\n", ue_prog,
			o->name, o->min, o->max, o->unit != NULL ? " " : "",
			o->unit != NULL ? o->unit : "");
		return UE_OPTS_ERROR;
	}
	*o->to.u32 = v;
	return UE_OPTS_OK;
}

static int take_choice(const ue_opt_t *o, const char *arg)
{
	for (size_t i = 0; o->words[i] != NULL; i++) {
		if (strcmp(arg, o->words[i]) == 0) {
			*o->to.choice = o->values[i];
			return UE_OPTS_OK;
		}
	}
	fprintf(stderr, "%s: --%s: %s\n", ue_prog, o->name, o->expect);
	return UE_OPTS_ERROR;
}

/* Store one option's value; UE_OPTS_OK or UE_OPTS_ERROR (reported). */
static int take(const ue_opt_t *o, const char *arg)
{
	char what[64];
	snprintf(what, sizeof(what), "--%s", o->name);
	switch (o->kind) {
	case UE_OPT_FLAG:
		*o->to.flag = true;
		return UE_OPTS_OK;
	case UE_OPT_U32:
		return take_u32(o, arg);
	case UE_OPT_CHOICE:
		return take_choice(o, arg);
	case UE_OPT_LIST:
		if (*o->count >= o->cap) {
			fprintf(stderr, "%s: at most %zu %s\n", ue_prog, o->cap, what);
			return UE_OPTS_ERROR;
		}
		break;
	case UE_OPT_STRING:
		break;
	}
	if (o->check != NULL && o->check(what, arg) != 0) {
		return UE_OPTS_ERROR;
	}
	if (o->kind == UE_OPT_LIST) {
		o->to.str[(*o->count)++] = arg;
	} else {
		*o->to.str = arg;
	}
	return UE_OPTS_OK;
}

/* After the options: the operand count and the required options. */
static int check_end(const ue_optspec_t *spec, int argc, const bool *seen)
{
	int nargs = argc - optind;
	bool ok = nargs >= spec->min_args && nargs <= spec->max_args;
	for (size_t i = 0; ok && i < spec->nopts; i++) {
		ok = !spec->opts[i].required || seen[i];
	}
	if (!ok) {
		spec->usage(stderr);
		return UE_OPTS_ERROR;
	}
	return UE_OPTS_OK;
}

int ue_opts_parse(const ue_optspec_t *spec, int argc, char **argv, int *first_arg)
{
	struct option lo[UE_OPTS_MAX + 2];
	char so[2 * UE_OPTS_MAX + 2];
	bool seen[UE_OPTS_MAX] = { false };
	int c;
	assert(spec->nopts <= UE_OPTS_MAX);
	build_getopt(spec, lo, so);
	optind = 0; /* glibc: a fresh scan of this argv */
	opterr = 1;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		int row = row_of(spec, c);
		if (row == -1) {
			spec->usage(stdout);
			return UE_OPTS_HELP;
		}
		if (row < 0) {
			spec->usage(stderr); /* getopt said what is wrong */
			return UE_OPTS_ERROR;
		}
		if (take(&spec->opts[row], optarg) != UE_OPTS_OK) {
			return UE_OPTS_ERROR;
		}
		seen[row] = true;
	}
	if (check_end(spec, argc, seen) != UE_OPTS_OK) {
		return UE_OPTS_ERROR;
	}
	*first_arg = optind;
	return UE_OPTS_OK;
}

/* --- the options of the MIKEY commands ---------------------------------- */

void ue_opts_init(ue_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->kms_id = UE_KMS_ID_DEFAULT;
	o->psk_id_type = MIKEY_ID_BYTES;
}

int ue_opts_ids(ue_opts_t *o)
{
	o->uri = o->uri || o->gpp;
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
