/*
 * The libFuzzer entry points. Each tests/fuzz/fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize); it is linked
 * either with libFuzzer (TEELIZA_FUZZ=ON, clang) or with replay_main.c, which
 * runs the seed corpus and fixed mutations of it through the harness.
 * A harness returns 0 and aborts (or trips a sanitizer) on a bug.
 */
#ifndef TEELIZA_FUZZ_H
#define TEELIZA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test; a failure is a finding. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			abort(); \
	} while (0)

#endif
