/*
 * The embedded freeDiameter peer: one libfdcore instance per process,
 * started once and never again after it stopped (freeDiameter cannot be
 * initialised twice).  See dia/peer.h.
 */
#include "dia/peer.h"

#include "common/errcode.h"
#include "common/log.h"
#include "dia/zn_msg.h"

#include <pthread.h>
#include <signal.h>

enum { PEER_NEW, PEER_RUNNING, PEER_DONE };

static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;
static int peer_state = PEER_NEW;
static int peer_stopping; /* freeDiameter's shutdown lines are not errors */
static dia_zn_dict_t peer_dict;
static const dia_zn_dict_t *peer_dict_ready;

const dia_zn_dict_t *dia_zn_dict_get(void)
{
	return __atomic_load_n(&peer_dict_ready, __ATOMIC_ACQUIRE);
}

int dia_available(void)
{
	return 1;
}

/* freeDiameter's lines into ours: its debug traces only at debug level,
 * its "errors" (a peer refusing a connection, retried every TcTimer) as
 * warnings, fatal ones as errors. */
__attribute__((format(printf, 2, 0))) static void fd_logger(int fd_level, const char *fmt,
							    va_list ap)
{
	int level;
	if (fd_level >= FD_LOG_FATAL)
		level = LOG_ERR;
	else if (fd_level >= FD_LOG_ERROR)
		level = LOG_WARNING;
	else if (fd_level >= FD_LOG_NOTICE)
		level = LOG_INFO;
	else
		level = LOG_DEBUG;
	if (level == LOG_ERR && __atomic_load_n(&peer_stopping, __ATOMIC_RELAXED))
		level = LOG_NOTICE;
	if (level > log_level_get())
		return;
	log_vmsg(level, "diameter", fmt, ap);
}

static const char *peer_name(struct peer_hdr *peer)
{
	return peer != NULL && peer->info.pi_diamid != NULL ? peer->info.pi_diamid : "-";
}

/*
 * Our own hooks replace freeDiameter's default ones, which dump whole
 * messages (AVP values: the Zn keys) into the debug log.  Only the
 * command, the flags and the peer are logged here.
 */
static void fd_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer,
		    void *other, struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)pmd;
	(void)regdata;
	struct msg_hdr *h = NULL;
	if (msg != NULL && fd_msg_hdr(msg, &h) != 0)
		h = NULL;
	unsigned code = h ? h->msg_code : 0, flags = h ? h->msg_flags : 0;
	switch (type) {
	case HOOK_PEER_CONNECT_SUCCESS:
		log_notice("diameter peer %s: connected", peer_name(peer));
		break;
	case HOOK_PEER_CONNECT_FAILED:
		log_info("diameter peer %s: %s", peer_name(peer),
			 other ? (const char *)other : "connection failed");
		break;
	case HOOK_MESSAGE_ROUTING_ERROR:
	case HOOK_MESSAGE_DROPPED:
		log_warning("diameter: command %u (flags 0x%02x) dropped: %s", code,
			    flags, other ? (const char *)other : "-");
		break;
	case HOOK_MESSAGE_PARSING_ERROR:
		log_warning("diameter peer %s: message %u not parsed%s%s",
			    peer_name(peer), code, msg && other ? ": " : "",
			    msg && other ? (const char *)other : "");
		break;
	default:
		log_debug("diameter peer %s: hook %d command %u flags 0x%02x",
			  peer_name(peer), (int)type, code, flags);
		break;
	}
}

static int peer_setup(const char *conf)
{
	int rc = fd_core_parseconf(conf);
	if (rc != 0) {
		log_error("diameter: %s refused by freeDiameter (%d)", conf, rc);
		return KMS_ECONFIG;
	}
	rc = dia_zn_dict_load(fd_g_config->cnf_dict, &peer_dict);
	if (rc != 0) {
		log_error("diameter: the Zn dictionary cannot be defined (%d)", rc);
		return KMS_EINTERNAL;
	}
	struct fd_hook_hdl *hh = NULL;
	uint32_t mask = HOOK_MASK(
	    HOOK_MESSAGE_RECEIVED, HOOK_MESSAGE_LOCAL, HOOK_MESSAGE_SENDING,
	    HOOK_MESSAGE_SENT, HOOK_MESSAGE_FAILOVER, HOOK_MESSAGE_PARSING_ERROR,
	    HOOK_MESSAGE_ROUTING_ERROR, HOOK_MESSAGE_ROUTING_FORWARD,
	    HOOK_MESSAGE_ROUTING_LOCAL, HOOK_MESSAGE_DROPPED, HOOK_PEER_CONNECT_FAILED,
	    HOOK_PEER_CONNECT_SUCCESS);
	if (fd_hook_register(mask, fd_hook, NULL, NULL, &hh) != 0 ||
	    fd_disp_app_support(peer_dict.app, peer_dict.vendor, 1, 0) != 0)
		return KMS_EINTERNAL;
	__atomic_store_n(&peer_dict_ready, &peer_dict, __ATOMIC_RELEASE);
	if (fd_core_start() != 0 || fd_core_waitstartcomplete() != 0) {
		log_error("diameter: the peer does not start (see the lines above)");
		return KMS_ECONFIG;
	}
	return KMS_EOK;
}

int dia_peer_start(const char *conf)
{
	pthread_mutex_lock(&peer_lock);
	if (peer_state != PEER_NEW) {
		pthread_mutex_unlock(&peer_lock);
		return KMS_EEXIST;
	}
	/* freeDiameter's threads inherit this mask: the process's signals
	 * stay with the threads that expect them, never a Diameter thread. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	fd_log_handler_register(fd_logger);
	int rc = fd_core_initialize() == 0 ? peer_setup(conf) : KMS_EINTERNAL;
	if (rc == KMS_EOK) {
		peer_state = PEER_RUNNING;
	} else {
		__atomic_store_n(&peer_dict_ready, NULL, __ATOMIC_RELEASE);
		__atomic_store_n(&peer_stopping, 1, __ATOMIC_RELAXED);
		fd_core_shutdown();
		fd_core_wait_shutdown_complete();
		peer_state = PEER_DONE;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_unlock(&peer_lock);
	return rc;
}

void dia_peer_stop(void)
{
	pthread_mutex_lock(&peer_lock);
	if (peer_state == PEER_RUNNING) {
		__atomic_store_n(&peer_stopping, 1, __ATOMIC_RELAXED);
		dia_zn_server_stop();
		fd_core_shutdown();
		fd_core_wait_shutdown_complete();
		__atomic_store_n(&peer_dict_ready, NULL, __ATOMIC_RELEASE);
		peer_state = PEER_DONE;
	}
	pthread_mutex_unlock(&peer_lock);
}

int dia_peer_running(void)
{
	pthread_mutex_lock(&peer_lock);
	int r = peer_state == PEER_RUNNING;
	pthread_mutex_unlock(&peer_lock);
	return r;
}

size_t dia_peer_open_count(void)
{
	if (!dia_peer_running())
		return 0;
	size_t n = 0;
	pthread_rwlock_rdlock(&fd_g_peers_rw);
	for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers; li = li->next) {
		struct peer_hdr *p = (struct peer_hdr *)li; /* chain is first */
		struct fd_app *app = NULL;
		if (fd_peer_get_state(p) != STATE_OPEN)
			continue;
		if (p->info.runtime.pir_relay ||
		    (fd_app_check(&p->info.runtime.pir_apps, DIA_ZN_APP_ID, &app) == 0 &&
		     app != NULL))
			n++;
	}
	pthread_rwlock_unlock(&fd_g_peers_rw);
	return n;
}
