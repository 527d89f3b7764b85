/* kms-ue transfer-resp: check a RESOLVE_RESP and build the TRANSFER_RESP. */
#ifndef KMS_TOOLS_UE_TRANSFER_RESP_H
#define KMS_TOOLS_UE_TRANSFER_RESP_H

/* argv[0] is the command name; returns the exit status. */
int ue_transfer_resp_cmd(int argc, char **argv);

#endif
