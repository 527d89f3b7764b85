/*
 * The administration commands of bsf-stubd (same binary, no daemon):
 * create the store (and demo subscribers), add subscribers and NAFs.
 * Messages go to out (results) and err (failures).
 */
#ifndef KMS_BSF_STUB_ADMIN_H
#define KMS_BSF_STUB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BSF_DEMO_GROUP "kms"
#define BSF_DEMO_NAF "kms.example.org"

/* DIR/bsf.db into out. */
int bsf_admin_db_path(const char *dir, char *out, size_t cap);

/*
 * Create DIR (0700) and DIR/bsf.db (0600) if absent, schema up to date.
 * demo: also alice and bob with random K and OPc written to
 * DIR/demo-alice.usim and DIR/demo-bob.usim (0600), and the NAF
 * kms.example.org in group "kms".  Existing demo subscribers are kept.
 */
int bsf_admin_init(const char *dir, bool demo, FILE *out, FILE *err);

/* A subscriber with hex K, OPc (16 octets) and AMF (2 octets), SQN 0, and
 * its IMPUs in group. */
int bsf_admin_add_subscriber(const char *dir, const char *impi, const char *k_hex,
			     const char *opc_hex, const char *amf_hex,
			     const char *const *impus, size_t n_impus, const char *group,
			     FILE *out, FILE *err);

/* Allow the NAF fqdn on Zn with the USS of group. */
int bsf_admin_add_naf(const char *dir, const char *fqdn, const char *group, FILE *out,
		      FILE *err);

#endif
