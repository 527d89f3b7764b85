/*
 * The few lines of kmsd's Prometheus exposition (GET /metrics) that
 * kmsctl status reports: the build version, the circuit breakers of Zn
 * and of each Zk peer, and the last reload.  Everything else is skipped.
 */
#ifndef KMS_TOOLS_KMSCTL_METRICS_H
#define KMS_TOOLS_KMSCTL_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#define KMSCTL_METRICS_BODY_MAX (1024 * 1024) /* bytes of /metrics read */
#define KMSCTL_METRICS_PEERS_MAX 256	      /* Zk breakers reported */
#define KMSCTL_METRICS_LABEL_MAX 255	      /* bytes of a label value */

typedef struct {
	char version[KMSCTL_METRICS_LABEL_MAX + 1]; /* "" when absent */
	int zn_breaker_open;			    /* 0, 1, or -1: absent */
	size_t npeers;
	struct {
		char peer[KMSCTL_METRICS_LABEL_MAX + 1];
		int open; /* 0 or 1 */
	} zk[KMSCTL_METRICS_PEERS_MAX];
	double last_reload;	 /* Unix seconds, or -1: absent */
	int last_reload_success; /* 0, 1, or -1: absent */
} kmsctl_metrics_t;

/*
 * Read len bytes of exposition text into *out (every field set, absent
 * ones as said above).  Malformed lines of the metrics above are skipped,
 * as are peers past the cap.  KMS_EOK, or KMS_ELIMIT past
 * KMSCTL_METRICS_BODY_MAX.
 */
int kmsctl_metrics_parse(const char *text, size_t len, kmsctl_metrics_t *out);

#endif
