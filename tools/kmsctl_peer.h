/*
 * kmsctl peer add|list|remove: the Zk peer KMSs in kms.db (zk/peer.h).
 */
#ifndef KMS_TOOLS_KMSCTL_PEER_H
#define KMS_TOOLS_KMSCTL_PEER_H

#include "tools/kmsctl.h"

int cmd_peer(const paths_t *p, int argc, char **argv);

#endif
