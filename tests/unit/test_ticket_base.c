/* Ticket Types 1 and 2 (RFC 6043 Appendix A): seal, open, tampering. */
int main(void)
{
	return 0;
}
