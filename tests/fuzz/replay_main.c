/*
 * Stand-in for libFuzzer when TEELIZA_FUZZ is off: runs every file of the
 * given directories (or the given files) through LLVMFuzzerTestOneInput,
 * then, for each, a fixed set of mutations (evenly spaced truncations,
 * single-byte changes and 32-bit "interesting values") from a fixed seed, so
 * the harness is always compiled and exercised by ordinary test runs.
 * Usage: fuzz_<name> [-mutations=N] dir-or-file...
 */
#include "fuzz.h"

#include "teeliza/common/common.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#pragma weak LLVMFuzzerInitialize

#define REPLAY_MAX_INPUT (16u << 20)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Run the input and its mutations; each mutant is an exact-size heap copy so ASan sees over-reads. */
static void run_one(const uint8_t *data, size_t len, unsigned mutations)
{
	static const uint32_t interesting[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff,
	                                        0x10000, 0x7fffffff, 0x80000000u, 0xffffffffu };
	uint8_t *m;
	unsigned i;

	m = malloc(len > 0 ? len : 1);
	FUZZ_CHECK(m != NULL);
	memcpy(m, data, len);
	LLVMFuzzerTestOneInput(m, len);
	free(m);
	for (i = 0; i < mutations && len > 0; i++) {
		size_t n = len, off = (size_t)(rng() % len);

		m = malloc(len);
		FUZZ_CHECK(m != NULL);
		memcpy(m, data, len);
		switch (i % 3) {
		case 0: /* truncation, spread over the whole input */
			n = (size_t)((uint64_t)len * i / mutations);
			break;
		case 1:
			m[off] = (uint8_t)rng();
			break;
		default: {
			uint32_t v = interesting[rng() % (sizeof(interesting) / sizeof(interesting[0]))];
			size_t k;

			for (k = 0; k < 4 && off + k < len; k++)
				m[off + k] = (uint8_t)(v >> (8 * k));
			break;
		}
		}
		LLVMFuzzerTestOneInput(m, n);
		free(m);
	}
}

static int run_path(const char *path, unsigned mutations, unsigned *count)
{
	struct stat st;
	teeliza_buf b;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: cannot stat %s\n", path);
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, NULL, alphasort), i, rc = 0;

		if (n < 0) {
			fprintf(stderr, "replay: cannot read directory %s\n", path);
			return 1;
		}
		for (i = 0; i < n; i++) {
			char child[4096];

			if (names[i]->d_name[0] != '.' &&
			    (size_t)snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name) < sizeof(child))
				rc |= run_path(child, mutations, count);
			free(names[i]);
		}
		free(names);
		return rc;
	}
	if (teeliza_read_file(&b, path, REPLAY_MAX_INPUT) != TEELIZA_OK) {
		fprintf(stderr, "replay: %s: %s\n", path, teeliza_errmsg());
		return 1;
	}
	run_one(b.data, b.len, mutations);
	teeliza_buf_free(&b);
	(*count)++;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned mutations = 300, count = 0;
	int i, rc = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "-mutations=", 11) == 0)
			mutations = (unsigned)strtoul(argv[i] + 11, NULL, 10);
		else
			rc |= run_path(argv[i], mutations, &count);
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs (is the seed corpus empty?)\n");
		return 1;
	}
	printf("replay: %u inputs, %u mutations each: no crash\n", count, mutations);
	return rc;
}
