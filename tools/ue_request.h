/* kms-ue request: build a REQUEST_INIT_PSK (RFC 6043 4.2.1) for the KMS. */
#ifndef KMS_TOOLS_UE_REQUEST_H
#define KMS_TOOLS_UE_REQUEST_H

/* argv[0] is the command name; returns the exit status. */
int ue_request_cmd(int argc, char **argv);

#endif
