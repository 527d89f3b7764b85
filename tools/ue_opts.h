/*
 * kms-ue options: one table-driven parser for every command, and the
 * options the MIKEY commands share (PSK, identities, state file).
 *
 * A command describes its options as a table of ue_opt_t rows, each a
 * long name, an optional short letter, a kind saying what the argument is
 * and where it goes, and whether the option is required:
 *
 *   ue_opt_t opts[] = {
 *           { UE_STRING("out", 0, &a.out), .required = true },
 *           { UE_U32("timeout", 0, &a.timeout, 1, 600, "seconds") },
 *           { UE_FLAG("reuse", 0, &a.reuse) },
 *   };
 *   ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
 *   int first;
 *   int rc = ue_opts_parse(&spec, argc, argv, &first);
 *
 * ue_opts_parse() runs getopt_long over argv (argv[0] is the command's
 * name) with --help/-h added: help prints the usage on stdout; an unknown
 * option or a missing argument gets getopt's message and the usage on
 * stderr; a bad value gets "PROG: --NAME: what is expected".  Destinations
 * are written as options come, so a repeated option's last value wins,
 * except a LIST, which collects every value.  Values a command does not
 * set keep what the command put there before (its defaults).
 */
#ifndef KMS_TOOLS_UE_OPTS_H
#define KMS_TOOLS_UE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mikey/msg.h"
#include "tools/ue_ident.h"

typedef enum {
	UE_OPT_FLAG,   /* no argument: *to.flag = true */
	UE_OPT_STRING, /* *to.str = the argument (after check, if any) */
	UE_OPT_LIST,   /* to.str[(*count)++] = the argument, at most cap of them */
	UE_OPT_U32,    /* decimal digits only, min..max, into *to.u32 */
	UE_OPT_CHOICE, /* one of words[] (NULL-ended): *to.choice = values[i] */
} ue_opt_kind_t;

typedef struct {
	const char *name; /* long name, without "--" */
	char short_name;  /* 0: none ('h' is --help's) */
	ue_opt_kind_t kind;
	union {
		bool *flag;
		const char **str;
		uint32_t *u32;
		int *choice;
	} to;
	bool required; /* missing: the usage on stderr */
	/* STRING and LIST: refuses a value (-1), having said why; may be NULL.
	 * what is "--NAME". */
	int (*check)(const char *what, const char *arg);
	size_t *count; /* LIST */
	size_t cap;    /* LIST */
	uint32_t min, max;
	const char *unit;	  /* U32: in "--NAME: MIN to MAX UNIT"; may be NULL */
	const char *const *words; /* CHOICE */
	const int *values;	  /* CHOICE */
	const char *expect;	  /* CHOICE: in "--NAME: EXPECT" */
} ue_opt_t;

/* Row initialisers: the compiler checks each destination's type. */
#define UE_FLAG(l, s, p)                                                                 \
	.name = (l), .short_name = (s), .kind = UE_OPT_FLAG, .to.flag = (p)
#define UE_STRING(l, s, p)                                                               \
	.name = (l), .short_name = (s), .kind = UE_OPT_STRING, .to.str = (p)
#define UE_LIST(l, s, arr, n, cap_)                                                      \
	.name = (l), .short_name = (s), .kind = UE_OPT_LIST, .to.str = (arr),            \
	.count = (n), .cap = (cap_)
#define UE_U32(l, s, p, lo, hi, unit_)                                                   \
	.name = (l), .short_name = (s), .kind = UE_OPT_U32, .to.u32 = (p), .min = (lo),  \
	.max = (hi), .unit = (unit_)
#define UE_CHOICE(l, s, p, w, v, e)                                                      \
	.name = (l), .short_name = (s), .kind = UE_OPT_CHOICE, .to.choice = (p),         \
	.words = (w), .values = (v), .expect = (e)

#define UE_OPTS_N(t) (sizeof(t) / sizeof((t)[0]))
#define UE_OPTS_MAX 32 /* rows of one table */

typedef struct {
	const ue_opt_t *opts;
	size_t nopts;		/* at most UE_OPTS_MAX */
	void (*usage)(FILE *f); /* the command's usage text */
	int min_args, max_args; /* operands after the options */
} ue_optspec_t;

#define UE_OPTS_OK 0
#define UE_OPTS_HELP 1	 /* --help: the usage is on stdout */
#define UE_OPTS_ERROR -1 /* reported on stderr */

/*
 * Parse argv[1..argc) by spec.  UE_OPTS_OK with *first_arg the index of
 * the first operand (getopt moves operands after the options; "--" ends
 * the options), UE_OPTS_HELP, or UE_OPTS_ERROR.
 */
int ue_opts_parse(const ue_optspec_t *spec, int argc, char **argv, int *first_arg);

#define UE_PSK_MAX 128
#define UE_KMS_ID_DEFAULT "kms.example.org"
#define UE_BTID_MAX 320 /* gba/kdf.h GBA_BTID_MAX */

/* The common options after parsing; psk holds the key once loaded. */
typedef struct {
	const char *psk_hex;
	const char *psk_file;
	const char *gba; /* --gba FILE: kms-ue bootstrap's result */
	const char *id;
	const char *kms_id;
	const char *psk_id;
	uint8_t psk_id_type; /* IDRpsk ID Type: byte string, NAI with --gba */
	const char *state;
	uint8_t psk[UE_PSK_MAX];
	size_t psk_len;
	char btid[UE_BTID_MAX + 1]; /* from --gba */
	bool uri;		    /* --uri (or --3gpp): identities as ID Type URI */
	bool gpp;		    /* --3gpp given */
	bool no_kms_id;		    /* --no-kms-id: IDRkms left out */
	bool mac_no_kms;	    /* --mac-without-kms-id (testing only) */
	ue_id_t idw;		    /* --id as sent */
	ue_id_t kmsw;		    /* --kms-id as sent (or appended to the MAC) */
} ue_opts_t;

/* The rows of --psk, --psk-file and --gba into the ue_opts_t *o. */
#define UE_OPTS_PSK_ROWS(o)                                                              \
	{ UE_STRING("psk", 0, &(o)->psk_hex) },                                          \
	    { UE_STRING("psk-file", 0, &(o)->psk_file) },                                \
	{                                                                                \
		UE_STRING("gba", 0, &(o)->gba)                                           \
	}
/* The rows of --id (required), --kms-id, --psk-id, --uri, --3gpp,
 * --no-kms-id and --mac-without-kms-id. */
#define UE_OPTS_ID_ROWS(o)                                                               \
	{ UE_STRING("id", 0, &(o)->id), .required = true },                              \
	    { UE_STRING("kms-id", 0, &(o)->kms_id) },                                    \
	    { UE_STRING("psk-id", 0, &(o)->psk_id) }, { UE_FLAG("uri", 0, &(o)->uri) },  \
	    { UE_FLAG("3gpp", 0, &(o)->gpp) },                                           \
	    { UE_FLAG("no-kms-id", 0, &(o)->no_kms_id) },                                \
	{                                                                                \
		UE_FLAG("mac-without-kms-id", 0, &(o)->mac_no_kms)                       \
	}

/* Start with kms_id = UE_KMS_ID_DEFAULT and nothing else set. */
void ue_opts_init(ue_opts_t *o);
/*
 * Load --psk / --psk-file / --gba (exactly one); prints why and returns -1
 * on error.  --gba sets the PSK to Ks_NAF and psk_id to the B-TID (ID Type
 * NAI); it cannot be combined with --psk-id.  An expired bootstrapping is
 * only a note: the KMS answers it with 401 (bootstrap again).
 */
int ue_opts_load_psk(ue_opts_t *o);
/*
 * After parsing: check --id and --kms-id and the option combinations, and
 * work out their wire forms (idw, kmsw); --3gpp implies --uri.  -1 with a
 * message.
 */
int ue_opts_ids(ue_opts_t *o);
/*
 * The identities appended to the MAC of the REQUEST_INIT / RESOLVE_INIT m
 * (RFC 6043 5.5, mikey_profile_init_identities): the own identity, then
 * the KMS's — the IDRkms ID Data, or with --no-kms-id the --kms-id value
 * as given — or, with --mac-without-kms-id, the own identity alone.
 * Returns the count (1 or 2), or a negative KMS_E* code.
 */
int ue_opts_mac_ids(const ue_opts_t *o, const mikey_msg_t *m, mikey_bytes_t ids[2]);
/* Wipe the PSK. */
void ue_opts_wipe(ue_opts_t *o);

#endif
