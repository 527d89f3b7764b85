/* kms-ue input forms (binary, base64, SDP key-mgmt line) and decode diagnostics. */
#include "tools/ue_input.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/msg.h"

static const char sdp_attr[] = "a=key-mgmt:";
static const char mikey_id[] = "mikey";

const char *ue_form_name(ue_form_t form)
{
	switch (form) {
	case UE_FORM_BINARY:
		return "binary";
	case UE_FORM_BASE64:
		return "base64";
	case UE_FORM_SDP:
		return "sdp";
	default:
		return "unknown";
	}
}

int ue_read_all(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	bool is_stdin = path == NULL || strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (f == NULL) {
		return KMS_EIO;
	}
	size_t n = 0;
	int rc = KMS_EOK;
	for (;;) {
		if (n == cap) {
			/* Full: one more byte means the input is over the cap. */
			uint8_t extra;
			if (fread(&extra, 1, 1, f) == 1) {
				rc = KMS_ELIMIT;
			}
			break;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			break;
		}
	}
	if (rc == KMS_EOK && ferror(f)) {
		rc = KMS_EIO;
	}
	if (!is_stdin) {
		int saved = errno;
		fclose(f);
		errno = saved;
	}
	if (rc == KMS_EOK) {
		*len = n;
	}
	return rc;
}

static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool starts_with(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len >= n && memcmp(p, s, n) == 0;
}

/* The SDP / base64 text forms. */
static int text_to_mikey(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			 size_t *out_len, ue_form_t *form, const char **why)
{
	size_t b = 0, e = in_len;
	ue_form_t f = UE_FORM_BASE64;

	while (b < e && is_ws(in[b])) {
		b++;
	}
	while (e > b && is_ws(in[e - 1])) {
		e--;
	}
	if (starts_with(in + b, e - b, sdp_attr)) {
		/* a=key-mgmt:[SP]prtcl-id SP keymgmt-data (RFC 4567). */
		f = UE_FORM_SDP;
		b += strlen(sdp_attr);
		while (b < e && is_ws(in[b])) {
			b++;
		}
		size_t t = b;
		while (t < e && !is_ws(in[t])) {
			t++;
		}
		if (t - b != strlen(mikey_id) || memcmp(in + b, mikey_id, t - b) != 0) {
			*why = "the key-mgmt attribute names a protocol other than mikey";
			return KMS_EMALFORMED;
		}
		b = t;
	} else if (starts_with(in + b, e - b, mikey_id) && e - b > strlen(mikey_id) &&
		   is_ws(in[b + strlen(mikey_id)])) {
		f = UE_FORM_SDP;
		b += strlen(mikey_id);
	}

	/* keymgmt-data: base64, possibly wrapped over several lines. */
	char *text = malloc(e - b + 1);
	if (text == NULL) {
		return KMS_ENOMEM;
	}
	size_t n = 0;
	for (size_t i = b; i < e; i++) {
		if (!is_ws(in[i])) {
			text[n++] = (char)in[i];
		}
	}
	int rc = KMS_EMALFORMED;
	if (n == 0) {
		*why = "no MIKEY data in the input";
	} else {
		rc = base64_decode(text, n, out, out_cap, out_len);
		if (rc == KMS_ESPACE) {
			*why = "the decoded message is over the size limit";
			rc = KMS_EMALFORMED;
		} else if (rc != KMS_EOK) {
			*why = "the input is neither a binary MIKEY message nor base64 / "
			       "SDP text";
			rc = KMS_EMALFORMED;
		}
	}
	secmem_wipe(text, e - b + 1);
	free(text);
	if (rc == KMS_EOK) {
		*form = f;
	}
	return rc;
}

int ue_input_to_mikey(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len, ue_form_t *form, const char **why)
{
	bool binary_like = in_len > 0 && in[0] == MIKEY_VERSION;
	if (binary_like) {
		mikey_msg_t *m = malloc(sizeof(*m));
		if (m == NULL) {
			return KMS_ENOMEM;
		}
		int rc = mikey_msg_decode(in, in_len, m);
		free(m);
		if (rc == KMS_EOK && in_len <= out_cap) {
			memcpy(out, in, in_len);
			*out_len = in_len;
			*form = UE_FORM_BINARY;
			return KMS_EOK;
		}
	}
	int rc = text_to_mikey(in, in_len, out, out_cap, out_len, form, why);
	if (rc == KMS_EMALFORMED && binary_like && in_len <= out_cap) {
		/* Not text either: hand the binary to the decoder for a precise error. */
		memcpy(out, in, in_len);
		*out_len = in_len;
		*form = UE_FORM_BINARY;
		return KMS_EOK;
	}
	return rc;
}

int ue_input_load(const char *prog, const char *path, uint8_t *out, size_t out_cap,
		  size_t *out_len, ue_form_t *form)
{
	const char *name = path == NULL || strcmp(path, "-") == 0 ? "<stdin>" : path;
	uint8_t *raw = malloc(UE_INPUT_MAX);
	if (raw == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return KMS_ENOMEM;
	}
	size_t len = 0;
	const char *why = "";
	int rc = ue_read_all(path, raw, UE_INPUT_MAX, &len);
	if (rc == KMS_EIO) {
		fprintf(stderr, "%s: %s: %s\n", prog, name, strerror(errno));
	} else if (rc == KMS_ELIMIT) {
		fprintf(stderr, "%s: %s: input is over %d bytes\n", prog, name,
			UE_INPUT_MAX);
	} else {
		rc = ue_input_to_mikey(raw, len, out, out_cap, out_len, form, &why);
		if (rc == KMS_EMALFORMED) {
			fprintf(stderr, "%s: %s: %s\n", prog, name, why);
		} else if (rc != KMS_EOK) {
			fprintf(stderr, "%s: %s: %s\n", prog, name, kms_strerror(rc));
		}
	}
	/* The input may hold key data (a NULL-encrypted KEMAC). */
	secmem_wipe(raw, UE_INPUT_MAX);
	free(raw);
	return rc;
}

void ue_diagnose(const uint8_t *msg, size_t len, int rc, char *buf, size_t cap)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	if (m == NULL || len > MIKEY_MSG_MAX) {
		snprintf(buf, cap, "%zu-byte message: %s (%s)", len, kms_strerror(rc),
			 kms_err_name(rc));
		free(m);
		return;
	}
	int r = mikey_msg_decode(msg, len, m);
	if (r == KMS_EOK) {
		snprintf(buf, cap, "%s (%s)", kms_strerror(rc), kms_err_name(rc));
	} else if (m->err_type != MIKEY_PT_LAST) {
		snprintf(buf, cap, "payload %zu (%s, type %u) at offset %zu: %s (%s)",
			 m->n + 1, mikey_pt_name(m->err_type), (unsigned)m->err_type,
			 m->err_off, kms_strerror(r), kms_err_name(r));
	} else if (m->err_off == 0) {
		snprintf(buf, cap, "HDR at offset 0: %s (%s)", kms_strerror(r),
			 kms_err_name(r));
	} else {
		snprintf(buf, cap,
			 "%zu trailing bytes at offset %zu after the last payload (%s)",
			 len - m->err_off, m->err_off, kms_err_name(r));
	}
	free(m);
}
