/*
 * The TP and TICKET payloads of MIKEY-TICKET (RFC 6043 6.10): Ticket
 * Policy with its TP Data, and a TICKET's Ticket Data and Initiator Data.
 * Types (mikey_tp_t, mikey_ticket_t) and the builder are in
 * mikey/payload.h, which includes this header.
 */
#ifndef KMS_MIKEY_PAYLOAD_TICKET_H
#define KMS_MIKEY_PAYLOAD_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "mikey/payload.h"

/* TP (is_ticket false) or TICKET payload. */
int mikey_ticket_parse(wire_rd_t *c, bool is_ticket, uint8_t *next, mikey_ticket_t *out);

/* TP or TICKET from the parsed form: policy fields, TP Data from the
 * parsed TP Data fields, and (TICKET) Ticket Data + Initiator Data. */
void mikey_ticket_build(mikey_builder_t *b, const mikey_ticket_t *t, bool is_ticket);

/* Build Initiator Data (First Payload, Vi, Vr) into buf; *vr_mac_off as for V. */
int mikey_init_data_build(const mikey_v_t *vi, const mikey_v_t *vr, uint8_t *buf,
			  size_t cap, size_t *len, size_t *vr_mac_off);

#endif
