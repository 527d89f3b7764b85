/*
 * kms-ue bootstrap: GBA bootstrapping over Ub (TS 33.220 4.5.2, TS 24.109,
 * HTTP Digest AKAv1-MD5 of RFC 3310) with a simulated USIM, then the NAF
 * key Ks_NAF for the KMS (NAF_Id = FQDN || 01 00 00 00 06) into a --gba
 * file for request, resolve, transfer-init and transfer-resp.
 */
#ifndef KMS_TOOLS_UE_BOOTSTRAP_H
#define KMS_TOOLS_UE_BOOTSTRAP_H

/* argv[0] is the command name; returns the exit status. */
int ue_bootstrap_cmd(int argc, char **argv);

#endif
