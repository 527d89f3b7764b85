/*
 * The process's embedded Diameter peer (libfdcore).  freeDiameter allows
 * one instance per process, reads its own configuration file (Identity,
 * Realm, TLS credentials, ConnectPeer lines), and cannot be initialised
 * twice: kmsd and bsf-stubd start it once at start-up and stop it at
 * exit, so every Diameter setting takes effect on restart only.
 *
 * Start-up: fd_core_initialize, freeDiameter's log lines routed to
 * common/log.h, fd_core_parseconf(conf), the Zn dictionary (dia/zn.h),
 * the Zn application advertised (auth, vendor 10415) so that CER/CEA
 * carry it, fd_core_start, and the wait for start-up to complete.
 */
#ifndef KMS_DIA_PEER_H
#define KMS_DIA_PEER_H

#include <stddef.h>

/* Start the peer from conf (a freeDiameter configuration file).
 * KMS_EOK, KMS_ECONFIG (the file is refused; a log line says why),
 * KMS_EEXIST (already started in this process). */
int dia_peer_start(const char *conf);

/* Stop it: close every connection, wait for freeDiameter's threads.
 * Safe when not started; the peer cannot be started again afterwards. */
void dia_peer_stop(void);

/* True between a successful dia_peer_start() and dia_peer_stop(). */
int dia_peer_running(void);

/* Peers in the OPEN state that advertised the Zn application (for
 * readiness, metrics and logs); 0 when not running. */
size_t dia_peer_open_count(void);

/* True when this build has Diameter (libfreediameter found at configure
 * time); without it every function above returns KMS_ENOTSUP or 0. */
int dia_available(void);

#endif
