/* Ticket Types 1 and 2: the MIKEY base ticket (RFC 6043 Appendix A). */
#include "kms/ticket_base.h"
