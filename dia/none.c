/*
 * dia/ without freeDiameter (configure found no libfreediameter-dev, or
 * --with-freediameter=no): every entry point says "not supported", so
 * that kmsd and bsf-stubd link and refuse a Diameter setting at start-up.
 */
#include "common/errcode.h"
#include "dia/peer.h"
#include "dia/zn.h"

int dia_available(void)
{
	return 0;
}

int dia_peer_start(const char *conf)
{
	(void)conf;
	return KMS_ENOTSUP;
}

void dia_peer_stop(void)
{
}

int dia_peer_running(void)
{
	return 0;
}

size_t dia_peer_open_count(void)
{
	return 0;
}

int dia_zn_send_bir(const char *btid, const uint8_t *naf_id, size_t naf_id_len,
		    bool gba_u, unsigned timeout_ms, dia_zn_done_cb cb, void *arg)
{
	(void)btid;
	(void)naf_id;
	(void)naf_id_len;
	(void)gba_u;
	(void)timeout_ms;
	(void)cb;
	(void)arg;
	return KMS_ENOTSUP;
}

int dia_zn_serve(dia_zn_handler_cb cb, void *arg)
{
	(void)cb;
	(void)arg;
	return KMS_ENOTSUP;
}
