/*
 * One row's columns copied into one allocation, for both back-ends'
 * readers: an agent_memory (or another row) then owns a single block that
 * one free() releases, whatever library produced the column bytes.
 */
#ifndef TEELIZA_AGENT_STORE_ROW_PACK_H
#define TEELIZA_AGENT_STORE_ROW_PACK_H

#include <stdbool.h>
#include <stddef.h>

/* A column as the database library gave it: bytes valid until the next step/clear. */
typedef struct store_col {
	const void *src;
	size_t len;
	bool present; /* false: SQL NULL */
} store_col;

/*
 * Copy cols into one malloc'd block: the binary column bin (if not NULL)
 * first so floats stay aligned (*bin_out: its copy, NULL for an SQL NULL),
 * then the texts, NUL-terminated; *dst[i] receives cols[i]'s copy (NULL for
 * an SQL NULL). Returns the block (caller frees), NULL when out of memory.
 */
void *store_pack_row(const char **dst[], const store_col *cols, size_t n, const store_col *bin, void **bin_out);

#endif
