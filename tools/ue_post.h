/*
 * kms-ue post: send a MIKEY message to a KMS over Ua (docs/http-binding.md)
 * with libcurl, so that a walkthrough needs no curl: POST --in as
 * application/mikey to --url?requesttype=TYPE, over https with --cacert,
 * and write the answer (at most MIKEY_MSG_MAX bytes) to --out.
 */
#ifndef KMS_TOOLS_UE_POST_H
#define KMS_TOOLS_UE_POST_H

/* argv[0] is the command name; returns the exit status. */
int ue_post_cmd(int argc, char **argv);

#endif
