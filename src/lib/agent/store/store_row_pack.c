/* One row's columns in one allocation (store_row_pack.h). */
#include "agent/store/store_row_pack.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

void *store_pack_row(const char **dst[], const store_col *cols, size_t n, const store_col *bin, void **bin_out)
{
	const size_t align = alignof(max_align_t);
	size_t bin_space = 0, total, off;
	char *block;

	if (bin != NULL)
		bin_space = (bin->len + align - 1) / align * align;
	total = bin_space;
	for (size_t i = 0; i < n; i++)
		total += cols[i].present ? cols[i].len + 1 : 0;
	block = malloc(total > 0 ? total : 1);
	if (block == NULL)
		return NULL;
	if (bin != NULL) {
		if (bin->len > 0)
			memcpy(block, bin->src, bin->len);
		*bin_out = bin->present ? block : NULL;
	}
	off = bin_space;
	for (size_t i = 0; i < n; i++) {
		if (!cols[i].present) {
			*dst[i] = NULL;
			continue;
		}
		if (cols[i].len > 0)
			memcpy(block + off, cols[i].src, cols[i].len);
		block[off + cols[i].len] = '\0';
		*dst[i] = block + off;
		off += cols[i].len + 1;
	}
	return block;
}
