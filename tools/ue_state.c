/* kms-ue state file: named byte strings, hex text, written 0600 atomically. */
#include "tools/ue_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"

typedef struct {
	char name[UE_STATE_NAME_MAX + 1];
	uint8_t *data; /* secmem_alloc'd, len bytes */
	mikey_bytes_t view;
} entry_t;

struct ue_state {
	size_t n;
	entry_t e[UE_STATE_ENTRIES_MAX];
};

ue_state_t *ue_state_new(void)
{
	return calloc(1, sizeof(ue_state_t));
}

static void entry_clear(entry_t *e)
{
	secmem_free(e->data, e->view.len);
	memset(e, 0, sizeof(*e));
}

void ue_state_free(ue_state_t *st)
{
	if (st == NULL) {
		return;
	}
	for (size_t i = 0; i < st->n; i++) {
		entry_clear(&st->e[i]);
	}
	free(st);
}

static bool name_ok(const char *name, size_t len)
{
	if (len == 0 || len > UE_STATE_NAME_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
			return false;
		}
	}
	return true;
}

static entry_t *find(const ue_state_t *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++) {
		if (strcmp(st->e[i].name, name) == 0) {
			return (entry_t *)&st->e[i];
		}
	}
	return NULL;
}

int ue_state_set(ue_state_t *st, const char *name, const uint8_t *data, size_t len)
{
	if (st == NULL || name == NULL || !name_ok(name, strlen(name)) || data == NULL ||
	    len == 0) {
		return KMS_EINVAL;
	}
	if (len > UE_STATE_VALUE_MAX) {
		return KMS_ELIMIT;
	}
	entry_t *e = find(st, name);
	if (e == NULL && st->n == UE_STATE_ENTRIES_MAX) {
		return KMS_ELIMIT;
	}
	uint8_t *copy = secmem_alloc(len);
	if (copy == NULL) {
		return KMS_ENOMEM;
	}
	memcpy(copy, data, len);
	if (e != NULL) {
		entry_clear(e);
	} else {
		e = &st->e[st->n++];
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->data = copy;
	e->view.data = copy;
	e->view.len = len;
	return KMS_EOK;
}

int ue_state_set_str(ue_state_t *st, const char *name, const char *s)
{
	return ue_state_set(st, name, (const uint8_t *)s, strlen(s));
}

void ue_state_del(ue_state_t *st, const char *name)
{
	entry_t *e = find(st, name);
	if (e == NULL) {
		return;
	}
	entry_clear(e);
	size_t i = (size_t)(e - st->e);
	memmove(&st->e[i], &st->e[i + 1], (st->n - i - 1) * sizeof(entry_t));
	st->n--;
	memset(&st->e[st->n], 0, sizeof(entry_t));
}

const mikey_bytes_t *ue_state_get(const ue_state_t *st, const char *name)
{
	const entry_t *e = find(st, name);
	return e != NULL ? &e->view : NULL;
}

int ue_state_is(const ue_state_t *st, const char *name, const char *s)
{
	const mikey_bytes_t *v = ue_state_get(st, name);
	return v != NULL && v->len == strlen(s) && memcmp(v->data, s, v->len) == 0;
}

/* --- file I/O -------------------------------------------------------------- */

static int read_fd(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	for (;;) {
		if (n == cap) {
			char extra;
			ssize_t r = read(fd, &extra, 1);
			return r == 0 ? (*len = n, KMS_EOK) : KMS_ELIMIT;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			return KMS_EIO;
		}
		if (r == 0) {
			*len = n;
			return KMS_EOK;
		}
		n += (size_t)r;
	}
}

/* Parse the text of a state file into st; *line names the failing line. */
static int parse_text(ue_state_t *st, const char *text, size_t len, size_t *line)
{
	uint8_t *val = secmem_alloc(UE_STATE_VALUE_MAX);
	size_t pos = 0, ln = 0;
	int ret = KMS_EOK;
	if (val == NULL) {
		return KMS_ENOMEM;
	}
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - l) : len - pos;
		pos += ll + (nl != NULL ? 1 : 0);
		ln++;
		if (ln == 1) {
			char head[32];
			int hl = snprintf(head, sizeof(head), "%s %d", UE_STATE_MAGIC,
					  UE_STATE_VERSION);
			if (ll != (size_t)hl || memcmp(l, head, ll) != 0) {
				ret = KMS_EMALFORMED;
				break;
			}
			continue;
		}
		const char *sp = memchr(l, ' ', ll);
		char name[UE_STATE_NAME_MAX + 1];
		size_t nlen = sp != NULL ? (size_t)(sp - l) : 0, vlen = 0;
		if (sp == NULL || !name_ok(l, nlen)) {
			ret = KMS_EMALFORMED;
			break;
		}
		memcpy(name, l, nlen);
		name[nlen] = '\0';
		const char *hex = sp + 1;
		size_t hl = ll - nlen - 1;
		if (find(st, name) != NULL ||
		    hex_decode(hex, hl, val, UE_STATE_VALUE_MAX, &vlen) != KMS_EOK ||
		    vlen == 0 || ue_state_set(st, name, val, vlen) != KMS_EOK) {
			ret = KMS_EMALFORMED;
			break;
		}
	}
	if (ret == KMS_EOK && ln == 0) {
		ret = KMS_EMALFORMED;
	}
	*line = ln;
	secmem_free(val, UE_STATE_VALUE_MAX);
	return ret;
}

int ue_state_load(const char *path, ue_state_t **out, size_t *line)
{
	struct stat sb;
	size_t len = 0;
	char *text = NULL;
	ue_state_t *st = NULL;
	int ret;

	*line = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT	? KMS_ENOENT
		       : errno == ELOOP ? KMS_EACCES
					: KMS_EIO;
	}
	if (fstat(fd, &sb) != 0) {
		ret = KMS_EIO;
		goto cleanup;
	}
	/* It holds keys: only the owner may read it. */
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		ret = KMS_EACCES;
		goto cleanup;
	}
	text = secmem_alloc(UE_STATE_FILE_MAX);
	st = ue_state_new();
	if (text == NULL || st == NULL) {
		ret = KMS_ENOMEM;
		goto cleanup;
	}
	ret = read_fd(fd, text, UE_STATE_FILE_MAX, &len);
	if (ret == KMS_ELIMIT) {
		ret = KMS_EMALFORMED; /* *line 0: over the size limit */
	}
	if (ret == KMS_EOK) {
		ret = parse_text(st, text, len, line);
	}
	if (ret == KMS_EOK) {
		*out = st;
		st = NULL;
	}
cleanup:
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	secmem_free(text, UE_STATE_FILE_MAX);
	ue_state_free(st);
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return KMS_EIO;
		}
		buf += w;
		len -= (size_t)w;
	}
	return KMS_EOK;
}

int ue_state_save(const ue_state_t *st, const char *path)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8);
	char *text = secmem_alloc(UE_STATE_FILE_MAX);
	size_t n = 0;
	int fd = -1, ret = KMS_EOK;

	if (tmp == NULL || text == NULL) {
		ret = KMS_ENOMEM;
		goto cleanup;
	}
	tmp[0] = '\0'; /* nothing to unlink yet */
	int hl = snprintf(text, UE_STATE_FILE_MAX, "%s %d\n", UE_STATE_MAGIC,
			  UE_STATE_VERSION);
	n = (size_t)hl;
	for (size_t i = 0; i < st->n; i++) {
		const entry_t *e = &st->e[i];
		size_t need = strlen(e->name) + 1 + 2 * e->view.len + 1;
		if (need + 1 > UE_STATE_FILE_MAX - n) {
			ret = KMS_ELIMIT;
			goto cleanup;
		}
		n += (size_t)snprintf(text + n, UE_STATE_FILE_MAX - n, "%s ", e->name);
		hex_encode(e->view.data, e->view.len, text + n, UE_STATE_FILE_MAX - n);
		n += 2 * e->view.len;
		text[n++] = '\n';
	}
	/* A new file next to the target: created here, by us, 0600. */
	snprintf(tmp, plen + 8, "%s.XXXXXX", path);
	mode_t old = umask(077);
	fd = mkstemp(tmp);
	umask(old);
	if (fd < 0) {
		tmp[0] = '\0';
		ret = KMS_EIO;
		goto cleanup;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, n) != KMS_EOK ||
	    fsync(fd) != 0) {
		ret = KMS_EIO;
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		ret = KMS_EIO;
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		ret = KMS_EIO;
		goto cleanup;
	}
	tmp[0] = '\0';
cleanup:
	if (fd >= 0) {
		close(fd);
	}
	if (tmp != NULL && tmp[0] != '\0' && ret != KMS_EOK) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(tmp);
	secmem_free(text, UE_STATE_FILE_MAX);
	return ret;
}
