/* kms-ue transfer-init: check a REQUEST_RESP and build the TRANSFER_INIT. */
#ifndef KMS_TOOLS_UE_TRANSFER_H
#define KMS_TOOLS_UE_TRANSFER_H

/* argv[0] is the command name; returns the exit status. */
int ue_transfer_init_cmd(int argc, char **argv);

#endif
