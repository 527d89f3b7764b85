/*
 * The service manager's readiness protocol (sd_notify(3)) for kmsd and
 * bsf-stubd: READY=1 once the listeners are up and the keys loaded,
 * RELOADING=1 then READY=1 around a reload, STOPPING=1 on the way out, and
 * STATUS= lines in between.  Without NOTIFY_SOCKET in the environment
 * (not started by systemd with Type=notify) every call does nothing.
 */
#ifndef KMS_NET_NOTIFY_H
#define KMS_NET_NOTIFY_H

/* READY=1 and STATUS=status. */
void net_notify_ready(const char *status);

/* RELOADING=1 (with MONOTONIC_USEC, as systemd 253's notify-reload wants). */
void net_notify_reloading(void);

/* STOPPING=1. */
void net_notify_stopping(void);

/* STATUS=<printf text>: a line systemctl status shows. */
__attribute__((format(printf, 1, 2))) void net_notify_status(const char *fmt, ...);

#endif
