/* kms-ue create-ticket: the Initiator builds its own ticket (flag D = 0). */
#ifndef KMS_TOOLS_UE_CREATE_H
#define KMS_TOOLS_UE_CREATE_H

/* argv[0] is the command name; returns the exit status. */
int ue_create_ticket_cmd(int argc, char **argv);

#endif
