/* Ticket Types 1 and 2: the MIKEY base ticket (RFC 6043 Appendix A). */
#ifndef KMS_KMS_TICKET_BASE_H
#define KMS_KMS_TICKET_BASE_H
#endif
