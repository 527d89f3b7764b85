/*
 * kms-ue milenage and ks-naf: GBA calculators for tests.  They print key
 * material by design (a BSF stub, a USIM and a KMS can be checked against
 * each other and against published test sets).
 */
#ifndef KMS_TOOLS_UE_GBA_CALC_H
#define KMS_TOOLS_UE_GBA_CALC_H

/* argv[0] is the command name; each returns the exit status. */
int ue_milenage_cmd(int argc, char **argv);
int ue_ks_naf_cmd(int argc, char **argv);

#endif
