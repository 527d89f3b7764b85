/* kms-ue keys: the SRTP master key and salt of a finished exchange. */
#ifndef KMS_TOOLS_UE_KEYS_H
#define KMS_TOOLS_UE_KEYS_H

/* argv[0] is the command name; returns the exit status. */
int ue_keys_cmd(int argc, char **argv);

#endif
