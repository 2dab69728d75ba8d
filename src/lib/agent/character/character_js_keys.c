/*
 * Object keys in JavaScript's property order, which both validators need:
 * zod (0.1.x and 1.x character files) reports a record's or an object's
 * problems in the order JavaScript enumerates its keys, and JavaScript
 * lists array-index keys first.
 */
#include "agent/character/character_internal.h"

#include <stdbool.h>
#include <stdlib.h>

/* Is key a JavaScript array index ("0" .. "4294967294", no leading zero)? Sets *index. */
static bool js_index_key(const char *key, unsigned long long *index)
{
	unsigned long long n = 0;
	size_t i;

	if (key[0] == '\0' || (key[0] == '0' && key[1] != '\0'))
		return false;
	for (i = 0; key[i] != '\0'; i++) {
		if (key[i] < '0' || key[i] > '9' || i >= 10)
			return false;
		n = n * 10 + (unsigned long long)(key[i] - '0');
	}
	if (n > 4294967294ULL)
		return false;
	*index = n;
	return true;
}

struct ordered_key {
	const char *key;
	unsigned long long index;
	bool is_index;
	size_t pos;
};

static int cmp_js_order(const void *a, const void *b)
{
	const struct ordered_key *ka = a, *kb = b;

	if (ka->is_index != kb->is_index)
		return ka->is_index ? -1 : 1;
	if (ka->is_index)
		return ka->index < kb->index ? -1 : ka->index > kb->index;
	return ka->pos < kb->pos ? -1 : ka->pos > kb->pos;
}

const char **character_js_keys(const json_t *obj, size_t *n)
{
	struct ordered_key *tmp;
	const char **keys;
	const char *key;
	const json_t *val;
	size_t i = 0, count = json_object_size(obj);

	*n = 0;
	tmp = calloc(count + 1, sizeof(*tmp));
	keys = calloc(count + 1, sizeof(*keys));
	if (tmp == NULL || keys == NULL) {
		free(tmp);
		free(keys);
		return NULL;
	}
	json_object_foreach((json_t *)obj, key, val) {
		(void)val;
		tmp[i].key = key;
		tmp[i].pos = i;
		tmp[i].is_index = js_index_key(key, &tmp[i].index);
		i++;
	}
	qsort(tmp, i, sizeof(*tmp), cmp_js_order);
	for (size_t k = 0; k < i; k++)
		keys[k] = tmp[k].key;
	free(tmp);
	*n = i;
	return keys;
}
