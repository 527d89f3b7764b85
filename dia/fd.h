/*
 * The one place that includes freeDiameter's headers (libfdproto,
 * libfdcore).  They are installed as system headers, so today they do not
 * warn; the pragmas keep -Wall -Wextra -Werror from failing the build if a
 * freeDiameter release or a compiler starts to (they define a static
 * variable and function in every unit, and use GNU variadic macros).
 */
#ifndef KMS_DIA_FD_H
#define KMS_DIA_FD_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#pragma GCC diagnostic pop

/*
 * libfdcore's base protocol dictionary (RFC 6733 AVPs and commands).  It
 * is exported by libfdcore but declared only in freeDiameter's private
 * header; the unit tests call it to fill a dictionary of their own
 * without starting the core (fd_core_initialize starts threads).
 */
int fd_dict_base_protocol(struct dictionary *dict);

#endif
