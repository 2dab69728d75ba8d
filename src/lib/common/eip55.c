/*
 * EIP-55 mixed-case address checksum: a hex letter is upper case when the
 * matching nibble of keccak256(lowercase hex address) is 8 or more.
 */
#include "teeliza/common/encoding.h"
#include "teeliza/common/keccak.h"

#include <assert.h>

void teeliza_eip55_address(char out[43], const uint8_t addr[20])
{
	char lower[41];
	uint8_t hash[32];
	unsigned i;

	assert(out != NULL && addr != NULL);
	teeliza_hex_encode(lower, addr, 20);
	teeliza_keccak256(hash, lower, 40);
	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < 40; i++) {
		unsigned nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 15u;
		char ch = lower[i];

		if (ch >= 'a' && ch <= 'f' && nibble >= 8)
			ch = (char)(ch - 'a' + 'A');
		out[2 + i] = ch;
	}
	out[42] = '\0';
}
