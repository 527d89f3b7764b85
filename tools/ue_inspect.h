/* kms-ue decode, prf and verify: inspect MIKEY messages and the PRF. */
#ifndef KMS_TOOLS_UE_INSPECT_H
#define KMS_TOOLS_UE_INSPECT_H

/* argv[0] is the command name; each returns the exit status. */
int ue_decode_cmd(int argc, char **argv);
int ue_prf_cmd(int argc, char **argv);
int ue_verify_cmd(int argc, char **argv);

#endif
