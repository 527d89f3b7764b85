/*
 * Ticket Policy rules (RFC 6043 6.10, 12.1).
 */
#include "mikey/tp.h"

#include "common/errcode.h"

#define TPF(x) ((uint16_t)MIKEY_TPF_##x)
#define TPF_DEFINED ((uint16_t)MIKEY_TPF_ALL)
/* Bits normalise chooses; K is computed from the outcome. */
#define TPF_FREE ((uint16_t)(TPF_DEFINED & ~TPF(K)))

static bool has(uint16_t flags, uint16_t bit)
{
	return (flags & bit) != 0;
}

int mikey_tp_check_flags(uint16_t flags, bool has_tgk)
{
	bool ok = (flags & ~TPF_DEFINED) == 0;
	ok = ok && (has(flags, TPF(D)) || has(flags, TPF(L)));	/* NOT D => L */
	ok = ok && (!has(flags, TPF(G)) || has(flags, TPF(F))); /* G => F */
	ok =
	    ok && (has(flags, TPF(G)) || has(flags, TPF(H))); /* NOT G => H, NOT H => G */
	ok = ok && (!has(flags, TPF(I)) || has(flags, TPF(E))); /* I => E */
	ok = ok && (!has(flags, TPF(K)) || has(flags, TPF(D))); /* K => D */
	ok = ok && (!has(flags, TPF(M)) || has(flags, TPF(F))); /* M => F */
	ok = ok &&
	     (!has(flags, TPF(I)) || !has_tgk || has(flags, TPF(F))); /* I, TGK => F */
	return ok ? KMS_EOK : KMS_ETPPAR;
}

static unsigned popcount16(uint16_t v)
{
	unsigned n = 0;
	for (; v != 0; v &= (uint16_t)(v - 1)) {
		n++;
	}
	return n;
}

/*
 * An exhaustive search over the 2^11 settings of the free bits (K
 * follows from the outcome), which is cheap and makes "smallest change"
 * exact.  Candidates are ranked by, in order:
 *   1. local-policy bits not honoured (force_on cleared, force_off set);
 *      the dependencies always win over local policy;
 *   2. bits changed relative to the request after local policy;
 *   3. requested bits cleared (prefer granting more over granting less,
 *      e.g. set F rather than drop G);
 *   4. the lowest value (a fixed order, so the result is deterministic).
 * Reserved bits are dropped and do not count as a change.
 */
uint16_t mikey_tp_normalise(uint16_t requested, bool has_tgk, uint16_t force_on,
			    uint16_t force_off)
{
	uint16_t req = requested & TPF_FREE;
	uint16_t on = force_on & TPF_FREE;
	uint16_t off = force_off & TPF_FREE;
	uint16_t want = (uint16_t)((req | on) & ~off);
	uint16_t best = 0;
	unsigned best_cost[3] = { ~0u, ~0u, ~0u };

	/* Fast path: when the request with local policy applied is already
	 * consistent it costs (0, 0, 0), so the search below would pick it. */
	uint16_t direct = want != req ? (uint16_t)(want | TPF(K)) : want;
	if (mikey_tp_check_flags(direct, has_tgk) == KMS_EOK) {
		return direct;
	}

	for (uint32_t v = 0; v <= TPF_DEFINED; v += 1u << 4) {
		uint16_t cand = (uint16_t)v & TPF_FREE;
		if (cand != (uint16_t)v) {
			continue; /* K is not a free bit */
		}
		if (cand != req) {
			cand |= TPF(K);
		}
		if (mikey_tp_check_flags(cand, has_tgk) != KMS_EOK) {
			continue;
		}
		uint16_t c = cand & TPF_FREE;
		unsigned cost[3] = {
			popcount16((uint16_t)((on & ~c) | (off & c))),
			popcount16((uint16_t)(c ^ want)),
			popcount16((uint16_t)(want & ~c)),
		};
		bool better = false;
		for (int i = 0; i < 3; i++) {
			if (cost[i] != best_cost[i]) {
				better = cost[i] < best_cost[i];
				break;
			}
		}
		if (better) {
			best = cand;
			for (int i = 0; i < 3; i++) {
				best_cost[i] = cost[i];
			}
		}
	}
	return best;
}

int mikey_alg_check(uint8_t prf, uint8_t encr_alg, uint8_t mac_alg, size_t max_key_len)
{
	bool set256;
	if (prf == MIKEY_PRF_MIKEY1) {
		set256 = false;
	} else if (prf == MIKEY_PRF_HMAC_SHA256) {
		set256 = true;
	} else {
		return KMS_EPRF;
	}

	switch (encr_alg) {
	case MIKEY_ENCR_NULL:
		break;
	case MIKEY_ENCR_AES_CM_128:
	case MIKEY_ENCR_AES_KW_128:
		if (set256) {
			return KMS_EEA;
		}
		break;
	case MIKEY_ENCR_AES_CM_256:
		if (!set256) {
			return KMS_EEA;
		}
		break;
	default:
		return KMS_EEA;
	}

	switch (mac_alg) {
	case MIKEY_MAC_NULL:
		break;
	case MIKEY_MAC_HMAC_SHA1_160:
		if (set256) {
			return KMS_EHA;
		}
		break;
	case MIKEY_MAC_HMAC_SHA256_256:
		if (!set256) {
			return KMS_EHA;
		}
		break;
	default:
		return KMS_EHA;
	}

	/* Keys over 128 bits need the 256-bit set, which the PRF names. */
	if (max_key_len > 16 && !set256) {
		return KMS_EPRF;
	}
	return KMS_EOK;
}

void mikey_tp_flags_str(uint16_t flags, char out[13])
{
	static const char names[] = "DEFGHIJKLMNO";
	for (int i = 0; i < 12; i++) {
		out[i] = has(flags, (uint16_t)(MIKEY_TPF_D >> i)) ? names[i] : '.';
	}
	out[12] = '\0';
}
