/* kms-ue GBA files: USIM, SQN state, bootstrapping result (see ue_gba.h). */
#include "tools/ue_gba.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "tools/ue_common.h"

#define NAMES_MAX 8

/* A parsed file: up to NAMES_MAX name=value pairs pointing into text. */
typedef struct {
	char *text; /* secret memory, UE_GBA_FILE_MAX + 1 bytes */
	const char *name[NAMES_MAX];
	const char *value[NAMES_MAX];
	size_t n;
} kv_t;

static void kv_free(kv_t *kv)
{
	secmem_free(kv->text, UE_GBA_FILE_MAX + 1);
	memset(kv, 0, sizeof(*kv));
}

/* Read path (0600 or stricter, regular file) into kv.  1 when absent
 * and missing_ok, 0 on success, -1 with a message. */
static int kv_read(const char *path, const char *const *allowed, kv_t *kv,
		   bool missing_ok)
{
	memset(kv, 0, sizeof(*kv));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && missing_ok) {
		return 1;
	}
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", ue_prog, path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		fprintf(stderr,
			"%s: %s: not a regular file only its owner can access "
			"(it holds secrets: chmod 600)\n",
			ue_prog, path);
		close(fd);
		return -1;
	}
	kv->text = secmem_alloc(UE_GBA_FILE_MAX + 1);
	if (kv->text == NULL) {
		close(fd);
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return -1;
	}
	size_t len = 0;
	ssize_t r;
	while ((r = read(fd, kv->text + len, UE_GBA_FILE_MAX + 1 - len)) > 0) {
		len += (size_t)r;
		if (len > UE_GBA_FILE_MAX) {
			break;
		}
	}
	close(fd);
	if (r < 0 || len > UE_GBA_FILE_MAX) {
		fprintf(stderr, "%s: %s: %s\n", ue_prog, path,
			r < 0 ? strerror(errno) : "too large");
		kv_free(kv);
		return -1;
	}
	kv->text[len] = '\0';
	size_t lineno = 0;
	for (char *line = kv->text, *next = NULL; line != NULL; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL) {
			*next++ = '\0';
		}
		size_t l = strlen(line);
		if (l > 0 && line[l - 1] == '\r') {
			line[--l] = '\0';
		}
		if (l == 0 || line[0] == '#') {
			continue;
		}
		char *eq = strchr(line, '=');
		bool known = false;
		if (eq != NULL) {
			*eq = '\0';
			for (size_t i = 0; allowed[i] != NULL; i++) {
				known |= strcmp(allowed[i], line) == 0;
			}
			for (size_t i = 0; i < kv->n; i++) {
				known &= strcmp(kv->name[i], line) != 0; /* once */
			}
		}
		if (!known || kv->n == NAMES_MAX || eq[1] == '\0') {
			fprintf(stderr,
				"%s: %s:%zu: expected NAME=VALUE with a known, "
				"not repeated NAME\n",
				ue_prog, path, lineno);
			kv_free(kv);
			return -1;
		}
		kv->name[kv->n] = line;
		kv->value[kv->n++] = eq + 1;
	}
	return 0;
}

static const char *kv_get(const kv_t *kv, const char *name)
{
	for (size_t i = 0; i < kv->n; i++) {
		if (strcmp(kv->name[i], name) == 0) {
			return kv->value[i];
		}
	}
	return NULL;
}

/* Exactly len bytes of hex from the value of name. */
static int kv_hex(const kv_t *kv, const char *path, const char *name, uint8_t *out,
		  size_t len)
{
	const char *v = kv_get(kv, name);
	size_t n = 0;
	if (v == NULL || hex_decode(v, strlen(v), out, len, &n) != KMS_EOK || n != len) {
		fprintf(stderr, "%s: %s: %s= must be %zu hex digits\n", ue_prog, path,
			name, 2 * len);
		return -1;
	}
	return 0;
}

/* A printable ASCII string value (no spaces), 1..cap-1 bytes. */
static int kv_str(const kv_t *kv, const char *path, const char *name, char *out,
		  size_t cap)
{
	const char *v = kv_get(kv, name);
	size_t n = v != NULL ? strlen(v) : 0;
	bool ok = n > 0 && n < cap;
	for (size_t i = 0; ok && i < n; i++) {
		ok = v[i] > 0x20 && v[i] < 0x7f;
	}
	if (!ok) {
		fprintf(stderr, "%s: %s: %s= missing or not printable ASCII\n", ue_prog,
			path, name);
		return -1;
	}
	memcpy(out, v, n + 1);
	return 0;
}

/* Write text to path atomically: path.XXXXXX (0600), fsync, rename. */
static int write_secret(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "%s: %s: path too long\n", ue_prog, path);
		return -1;
	}
	int fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", ue_prog, path, strerror(errno));
		return -1;
	}
	bool ok = fchmod(fd, 0600) == 0;
	size_t off = 0;
	while (ok && off < len) {
		ssize_t w = write(fd, text + off, len - off);
		ok = w > 0;
		off += w > 0 ? (size_t)w : 0;
	}
	ok = ok && fsync(fd) == 0;
	int err = errno;
	ok = close(fd) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok) {
		err = err != 0 ? err : errno;
		unlink(tmp);
		fprintf(stderr, "%s: %s: %s\n", ue_prog, path, strerror(err));
		return -1;
	}
	return 0;
}

/* --- USIM ---------------------------------------------------------------------- */

int ue_usim_load(const char *path, ue_usim_t *out)
{
	static const char *const names[] = { "impi", "k", "opc", "amf", NULL };
	kv_t kv;
	ue_usim_t u;
	if (kv_read(path, names, &kv, false) != 0) {
		return -1;
	}
	int ret = kv_str(&kv, path, "impi", u.impi, sizeof(u.impi));
	if (ret == 0) {
		ret = kv_hex(&kv, path, "k", u.k, sizeof(u.k));
	}
	if (ret == 0) {
		ret = kv_hex(&kv, path, "opc", u.opc, sizeof(u.opc));
	}
	if (ret == 0) {
		ret = kv_hex(&kv, path, "amf", u.amf, sizeof(u.amf));
	}
	if (ret == 0) {
		memcpy(out, &u, sizeof(u));
	}
	secmem_wipe(&u, sizeof(u));
	kv_free(&kv);
	return ret;
}

static int sqn_path(const char *usim_path, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.sqn", usim_path);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "%s: %s: path too long\n", ue_prog, usim_path);
		return -1;
	}
	return 0;
}

int ue_sqn_load(const char *usim_path, uint64_t *sqn_ms)
{
	static const char *const names[] = { "sqn", NULL };
	char path[4096];
	uint8_t b[6];
	kv_t kv;
	if (sqn_path(usim_path, path, sizeof(path)) != 0) {
		return -1;
	}
	int r = kv_read(path, names, &kv, true);
	if (r != 0) {
		*sqn_ms = 0;
		return r > 0 ? 0 : -1;
	}
	int ret = kv_hex(&kv, path, "sqn", b, sizeof(b));
	if (ret == 0) {
		uint64_t v = 0;
		for (size_t i = 0; i < sizeof(b); i++) {
			v = v << 8 | b[i];
		}
		*sqn_ms = v;
	}
	kv_free(&kv);
	return ret;
}

int ue_sqn_save(const char *usim_path, uint64_t sqn_ms)
{
	char path[4096], text[64];
	if (sqn_path(usim_path, path, sizeof(path)) != 0) {
		return -1;
	}
	int n =
	    snprintf(text, sizeof(text),
		     "# SQN_MS: the highest SQN the USIM accepted\nsqn=%012" PRIx64 "\n",
		     (uint64_t)(sqn_ms & 0xffffffffffffULL));
	return write_secret(path, text, (size_t)n);
}

/* --- bootstrapping result ------------------------------------------------------ */

int ue_gba_load(const char *path, ue_gba_t *out)
{
	static const char *const names[] = { "btid", "ks_naf",	 "expires",
					     "impi", "naf_fqdn", NULL };
	kv_t kv;
	ue_gba_t *g = secmem_alloc(sizeof(*g));
	if (g == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return -1;
	}
	int ret = kv_read(path, names, &kv, false);
	if (ret != 0) {
		secmem_free(g, sizeof(*g));
		return -1;
	}
	ret = kv_str(&kv, path, "btid", g->btid, sizeof(g->btid));
	if (ret == 0) {
		ret = kv_hex(&kv, path, "ks_naf", g->ks_naf, sizeof(g->ks_naf));
	}
	const char *e = kv_get(&kv, "expires");
	char *end = NULL;
	long long v = e != NULL ? strtoll(e, &end, 10) : -1;
	if (ret == 0 && (e == NULL || end == e || *end != '\0' || v <= 0)) {
		fprintf(stderr, "%s: %s: expires= must be Unix seconds\n", ue_prog, path);
		ret = -1;
	}
	g->expires = v;
	if (ret == 0 && kv_get(&kv, "impi") != NULL) {
		ret = kv_str(&kv, path, "impi", g->impi, sizeof(g->impi));
	}
	if (ret == 0 && kv_get(&kv, "naf_fqdn") != NULL) {
		ret = kv_str(&kv, path, "naf_fqdn", g->naf_fqdn, sizeof(g->naf_fqdn));
	}
	if (ret == 0 && strchr(g->btid, '@') == NULL) {
		fprintf(stderr, "%s: %s: btid= is not a B-TID (no '@')\n", ue_prog, path);
		ret = -1;
	}
	if (ret == 0) {
		memcpy(out, g, sizeof(*g));
	}
	kv_free(&kv);
	secmem_free(g, sizeof(*g));
	return ret;
}

int ue_gba_save(const char *path, const ue_gba_t *g)
{
	char hex[2 * GBA_KEY_LEN + 1];
	const size_t cap = UE_GBA_FILE_MAX;
	char *text = secmem_alloc(cap);
	int ret = -1;
	if (text == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return -1;
	}
	if (hex_encode(g->ks_naf, sizeof(g->ks_naf), hex, sizeof(hex)) == KMS_EOK) {
		int n =
		    snprintf(text, cap,
			     "# kms-ue GBA bootstrapping (secret: Ks_NAF); use with "
			     "--gba\nbtid=%s\nks_naf=%s\nexpires=%lld\nimpi=%s\n"
			     "naf_fqdn=%s\n",
			     g->btid, hex, (long long)g->expires, g->impi, g->naf_fqdn);
		if (n > 0 && (size_t)n < cap) {
			ret = write_secret(path, text, (size_t)n);
		}
	}
	secmem_wipe(hex, sizeof(hex));
	secmem_free(text, cap);
	return ret;
}
