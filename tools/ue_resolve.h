/* kms-ue resolve: build a RESOLVE_INIT_PSK for a received TRANSFER_INIT. */
#ifndef KMS_TOOLS_UE_RESOLVE_H
#define KMS_TOOLS_UE_RESOLVE_H

/* argv[0] is the command name; returns the exit status. */
int ue_resolve_cmd(int argc, char **argv);

#endif
