/*
 * sd_notify(3) through libsystemd.  The messages are best effort: a
 * service manager that does not read them must not stop the daemon, so
 * failures are only logged at debug level.
 */
#include "net/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.h"

#define NOTIFY_TEXT_MAX 256

static void send_state(const char *state)
{
	/* No NOTIFY_SOCKET: not under systemd (or not Type=notify). */
	if (getenv("NOTIFY_SOCKET") == NULL) {
		return;
	}
	int ret = sd_notify(0, state);
	if (ret < 0) {
		log_debug("sd_notify failed: %s", strerror(-ret));
	}
}

void net_notify_ready(const char *status)
{
	char buf[NOTIFY_TEXT_MAX];
	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", status != NULL ? status : "");
	send_state(buf);
}

void net_notify_reloading(void)
{
	char buf[NOTIFY_TEXT_MAX];
	struct timespec ts = { 0, 0 };
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
		     (unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(buf);
}

void net_notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=stopping");
}

void net_notify_status(const char *fmt, ...)
{
	char buf[NOTIFY_TEXT_MAX];
	int n = snprintf(buf, sizeof(buf), "STATUS=");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	send_state(buf);
}
