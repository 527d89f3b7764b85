/*
 * bsf-stubd administration.  Demo secrets are written once, to 0600 files
 * the operator hands to the UE (kms-ue); they are never printed.
 */
#include "bsf-stub/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bsf-stub/bsf.h"
#include "bsf-stub/store.h"
#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/secret_file.h"

#define AMF_DEFAULT "8000"

int bsf_admin_db_path(const char *dir, char *out, size_t cap)
{
	if (dir == NULL || dir[0] == '\0') {
		return KMS_EINVAL;
	}
	int n = snprintf(out, cap, "%s/%s", dir, BSF_DB_NAME);
	return n > 0 && (size_t)n < cap ? KMS_EOK : KMS_ERANGE;
}

static int fail(FILE *err, int ret, const char *what, const char *arg)
{
	fprintf(err, "bsf-stubd: %s%s%s: %s\n", what, arg != NULL ? " " : "",
		arg != NULL ? arg : "", kms_strerror(ret));
	return ret;
}

static int open_store(const char *dir, int create, bsf_store_t **st, FILE *err)
{
	char path[BSF_PATH_MAX];
	int ret = bsf_admin_db_path(dir, path, sizeof(path));
	if (ret == KMS_EOK) {
		ret = bsf_store_open(path, create, st);
	}
	if (ret == KMS_ENOENT) {
		fprintf(err, "bsf-stubd: no store %s: run bsf-stubd -d %s --init\n", path,
			dir);
		return ret;
	}
	return ret == KMS_EOK ? ret : fail(err, ret, "cannot open the store", path);
}

static int add_impus(bsf_store_t *st, const char *impi, const char *const *impus,
		     size_t n, const char *group, FILE *err)
{
	for (size_t i = 0; i < n; i++) {
		int ret = bsf_store_impu_add(st, impi, impus[i], group);
		if (ret != KMS_EOK) {
			return fail(err, ret, "cannot add the IMPU", impus[i]);
		}
	}
	return KMS_EOK;
}

static int add_demo(bsf_store_t *st, const char *dir, const char *name, const char *impi,
		    const char *const *impus, size_t n, FILE *out, FILE *err)
{
	static const uint8_t amf[2] = { 0x80, 0x00 };
	uint8_t k[16], opc[16];
	char khex[33], opchex[33], text[512], path[BSF_PATH_MAX];
	bsf_sub_t old;

	int len = snprintf(path, sizeof(path), "%s/demo-%s.usim", dir, name);
	if (len < 0 || (size_t)len >= sizeof(path)) {
		return fail(err, KMS_ERANGE, "path too long", dir);
	}
	int ret = bsf_store_sub_get(st, impi, &old);
	secmem_wipe(&old, sizeof(old));
	if (ret == KMS_EOK) {
		fprintf(out, "demo subscriber %s exists; its keys stay in %s\n", impi,
			path);
		return KMS_EOK;
	}
	ret = crypto_random(k, sizeof(k));
	if (ret == KMS_EOK) {
		ret = crypto_random(opc, sizeof(opc));
	}
	if (ret == KMS_EOK) {
		ret = hex_encode(k, sizeof(k), khex, sizeof(khex));
	}
	if (ret == KMS_EOK) {
		ret = hex_encode(opc, sizeof(opc), opchex, sizeof(opchex));
	}
	if (ret != KMS_EOK) {
		fail(err, ret, "cannot generate keys for", impi);
		goto cleanup;
	}
	len = snprintf(text, sizeof(text), "impi=%s\nk=%s\nopc=%s\namf=" AMF_DEFAULT "\n",
		       impi, khex, opchex);
	if (len < 0 || (size_t)len >= sizeof(text)) {
		ret = fail(err, KMS_ERANGE, "IMPI too long", impi);
		goto cleanup;
	}
	ret = secret_file_write(path, 0, text, (size_t)len);
	if (ret != KMS_EOK) {
		fail(err, ret, "cannot write", path);
		goto cleanup;
	}
	ret = bsf_store_sub_add(st, impi, k, opc, amf, 0);
	if (ret == KMS_EOK) {
		ret = add_impus(st, impi, impus, n, BSF_DEMO_GROUP, err);
	} else {
		fail(err, ret, "cannot add the demo subscriber", impi);
	}
	if (ret != KMS_EOK) {
		unlink(path);
		goto cleanup;
	}
	fprintf(out, "demo subscriber %s: K and OPc in %s\n", impi, path);
cleanup:
	secmem_wipe(k, sizeof(k));
	secmem_wipe(opc, sizeof(opc));
	secmem_wipe(khex, sizeof(khex));
	secmem_wipe(opchex, sizeof(opchex));
	secmem_wipe(text, sizeof(text));
	return ret;
}

int bsf_admin_init(const char *dir, bool demo, FILE *out, FILE *err)
{
	static const char *const alice[] = { "sip:alice@example.org", "tel:+15550001" };
	static const char *const bob[] = { "sip:bob@example.org" };
	bsf_store_t *st = NULL;

	if (dir == NULL || dir[0] == '\0') {
		return fail(err, KMS_EINVAL, "no directory (-d DIR)", NULL);
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		return fail(err, -errno, "cannot create", dir);
	}
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		return fail(err, KMS_EINVAL, "not a directory:", dir);
	}
	int ret = open_store(dir, 1, &st, err);
	if (ret != KMS_EOK) {
		return ret;
	}
	fprintf(out, "store %s/%s ready\n", dir, BSF_DB_NAME);
	if (demo) {
		ret = add_demo(st, dir, "alice", "alice@ims.example.org", alice, 2, out,
			       err);
		if (ret == KMS_EOK) {
			ret = add_demo(st, dir, "bob", "bob@ims.example.org", bob, 1, out,
				       err);
		}
		if (ret == KMS_EOK) {
			ret = bsf_store_naf_add(st, BSF_DEMO_NAF, BSF_DEMO_GROUP);
			if (ret != KMS_EOK) {
				fail(err, ret, "cannot add the NAF", BSF_DEMO_NAF);
			} else {
				fprintf(out, "NAF %s in group %s\n", BSF_DEMO_NAF,
					BSF_DEMO_GROUP);
			}
		}
	}
	bsf_store_close(st);
	return ret;
}

static int hex_exact(const char *hex, uint8_t *out, size_t len)
{
	size_t n = 0;
	if (hex == NULL || hex_decode(hex, strlen(hex), out, len, &n) != KMS_EOK ||
	    n != len) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

int bsf_admin_add_subscriber(const char *dir, const char *impi, const char *k_hex,
			     const char *opc_hex, const char *amf_hex,
			     const char *const *impus, size_t n_impus, const char *group,
			     FILE *out, FILE *err)
{
	uint8_t k[16], opc[16], amf[2];
	bsf_store_t *st = NULL;
	int ret = KMS_EINVAL;

	if (bsf_name_check(impi, GBA_IMPI_MAX) != KMS_EOK) {
		fail(err, ret, "IMPI must be 1..255 printable ASCII characters", NULL);
		goto cleanup;
	}
	if (hex_exact(k_hex, k, sizeof(k)) != KMS_EOK ||
	    hex_exact(opc_hex, opc, sizeof(opc)) != KMS_EOK) {
		fail(err, ret, "--k and --opc must be 32 hex digits", NULL);
		goto cleanup;
	}
	if (hex_exact(amf_hex != NULL ? amf_hex : AMF_DEFAULT, amf, sizeof(amf)) !=
	    KMS_EOK) {
		fail(err, ret, "--amf must be 4 hex digits", NULL);
		goto cleanup;
	}
	if (bsf_name_check(group, BSF_GROUP_MAX) != KMS_EOK) {
		fail(err, ret, "NAF group must be 1..64 printable ASCII characters",
		     NULL);
		goto cleanup;
	}
	for (size_t i = 0; i < n_impus; i++) {
		if (bsf_name_check(impus[i], BSF_IMPU_MAX) != KMS_EOK) {
			fail(err, ret,
			     "IMPU must be 1..512 printable ASCII characters:", impus[i]);
			goto cleanup;
		}
	}
	ret = open_store(dir, 0, &st, err);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = bsf_store_sub_add(st, impi, k, opc, amf, 0);
	if (ret != KMS_EOK) {
		fail(err, ret,
		     ret == KMS_EEXIST ? "subscriber exists:"
				       : "cannot add the subscriber",
		     impi);
		goto cleanup;
	}
	ret = add_impus(st, impi, impus, n_impus, group, err);
	if (ret == KMS_EOK) {
		fprintf(out, "subscriber %s added with %zu IMPU(s) in group %s\n", impi,
			n_impus, group);
	}
cleanup:
	bsf_store_close(st);
	secmem_wipe(k, sizeof(k));
	secmem_wipe(opc, sizeof(opc));
	return ret;
}

int bsf_admin_add_naf(const char *dir, const char *fqdn, const char *group, FILE *out,
		      FILE *err)
{
	bsf_store_t *st = NULL;
	if (bsf_fqdn_check(fqdn) != KMS_EOK) {
		return fail(err, KMS_EINVAL,
			    "not a NAF FQDN (letters, digits, '-', '.'):", fqdn);
	}
	if (bsf_name_check(group, BSF_GROUP_MAX) != KMS_EOK) {
		return fail(err, KMS_EINVAL,
			    "--naf-group must be 1..64 printable ASCII characters", NULL);
	}
	int ret = open_store(dir, 0, &st, err);
	if (ret == KMS_EOK) {
		ret = bsf_store_naf_add(st, fqdn, group);
		if (ret != KMS_EOK) {
			fail(err, ret, "cannot add the NAF", fqdn);
		} else {
			fprintf(out, "NAF %s in group %s\n", fqdn, group);
		}
	}
	bsf_store_close(st);
	return ret;
}
