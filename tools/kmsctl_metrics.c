/*
 * A small reader of the Prometheus text format (tools/kmsctl_metrics.h):
 * one sample per line, NAME[{LABEL="VALUE",...}] VALUE [TIMESTAMP]; lines
 * starting with '#' are comments.  Every read is bounded by the line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "tools/kmsctl_metrics.h"

typedef struct {
	const char *p, *end; /* the rest of the line */
} line_t;

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A label value after its opening quote, unescaped into out. */
static bool label_value(line_t *l, char *out, size_t cap)
{
	size_t n = 0;
	while (l->p < l->end && *l->p != '"') {
		char c = *l->p++;
		if (c == '\\') {
			if (l->p == l->end) {
				return false;
			}
			c = *l->p++;
			c = c == 'n' ? '\n' : c;
		}
		if (n + 1 >= cap) {
			return false;
		}
		out[n++] = c;
	}
	if (l->p == l->end) {
		return false;
	}
	l->p++; /* the closing quote */
	out[n] = '\0';
	return true;
}

/* {a="x",b="y"}: the value of label want (if there) into out. */
static bool labels(line_t *l, const char *want, char *out, size_t cap)
{
	char name[64], val[KMSCTL_METRICS_LABEL_MAX + 1];
	l->p++; /* '{' */
	while (l->p < l->end && *l->p != '}') {
		size_t n = 0;
		while (l->p < l->end && name_char(*l->p, n == 0) &&
		       n + 1 < sizeof(name)) {
			name[n++] = *l->p++;
		}
		name[n] = '\0';
		if (n == 0 || l->end - l->p < 2 || l->p[0] != '=' || l->p[1] != '"') {
			return false;
		}
		l->p += 2;
		if (!label_value(l, val, sizeof(val))) {
			return false;
		}
		if (want != NULL && strcmp(name, want) == 0) {
			snprintf(out, cap, "%s", val);
		}
		if (l->p < l->end && *l->p == ',') {
			l->p++;
		}
	}
	if (l->p == l->end) {
		return false;
	}
	l->p++; /* '}' */
	return true;
}

/* The sample value after the labels: a number up to a space or the end. */
static bool sample_value(line_t *l, double *v)
{
	char num[64];
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) {
		l->p++;
	}
	size_t n = 0;
	while (l->p < l->end && *l->p != ' ' && *l->p != '\t' && *l->p != '\r') {
		if (n + 1 >= sizeof(num)) {
			return false;
		}
		num[n++] = *l->p++;
	}
	num[n] = '\0';
	char *e = NULL;
	*v = strtod(num, &e);
	return n > 0 && *e == '\0' && !isnan(*v);
}

static int flag(double v)
{
	return v != 0 ? 1 : 0;
}

/* One sample line; what it is not about is ignored. */
static void sample(line_t *l, kmsctl_metrics_t *m)
{
	char name[64], label[KMSCTL_METRICS_LABEL_MAX + 1] = "";
	size_t n = 0;
	while (l->p < l->end && name_char(*l->p, n == 0) && n + 1 < sizeof(name)) {
		name[n++] = *l->p++;
	}
	name[n] = '\0';
	const char *want = strcmp(name, "kms_build_info") == 0	      ? "version"
			   : strcmp(name, "kms_zk_breaker_open") == 0 ? "peer"
								      : NULL;
	double v = 0;
	if (n == 0 ||
	    (l->p < l->end && *l->p == '{' && !labels(l, want, label, sizeof(label))) ||
	    !sample_value(l, &v)) {
		return;
	}
	if (strcmp(name, "kms_build_info") == 0 && label[0] != '\0') {
		memcpy(m->version, label, sizeof(label));
	} else if (strcmp(name, "kms_zn_breaker_open") == 0) {
		m->zn_breaker_open = flag(v);
	} else if (strcmp(name, "kms_zk_breaker_open") == 0 && label[0] != '\0' &&
		   m->npeers < KMSCTL_METRICS_PEERS_MAX) {
		memcpy(m->zk[m->npeers].peer, label, sizeof(label));
		m->zk[m->npeers++].open = flag(v);
	} else if (strcmp(name, "kms_last_reload_timestamp_seconds") == 0) {
		m->last_reload = v;
	} else if (strcmp(name, "kms_last_reload_success") == 0) {
		m->last_reload_success = flag(v);
	}
}

int kmsctl_metrics_parse(const char *text, size_t len, kmsctl_metrics_t *out)
{
	if (len > KMSCTL_METRICS_BODY_MAX) {
		return KMS_ELIMIT;
	}
	memset(out, 0, sizeof(*out));
	out->zn_breaker_open = -1;
	out->last_reload = -1;
	out->last_reload_success = -1;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		line_t l = { p, nl != NULL ? nl : end };
		if (l.p < l.end && *l.p != '#') {
			sample(&l, out);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return KMS_EOK;
}
