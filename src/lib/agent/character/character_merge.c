/*
 * Eliza's mergeCharacters applied to a whole `extends` list in one pass.
 *
 * Eliza folds the parents into the child one at a time,
 *   for (p of extends) character = mergeCharacters(load(p), character)
 * and each step copies everything merged so far: n parents cost O(n * total)
 * (a 41 kB list of 1,000 parents took a minute of CPU). Here the fold is
 * computed key by key over all the layers at once: for one key, the values
 * of the child and of each parent are taken child first, parents outward,
 * and kept in a small pending form (a scalar, the objects still to merge, or
 * the array pieces still to join) until the result is built. Every value of
 * every layer is looked at once, so the cost is linear in the total size.
 * Values no other layer touches are shared with the layer (a reference),
 * not copied: the result is immutable once built.
 *
 * The pending form gives exactly what the pairwise fold gives, including the
 * mixed cases (one layer's array against another's object or string), since
 * each step below is mergeValue(parentValue, resultSoFar) on that form:
 *  - both objects: merged key by key (parent's keys first);
 *  - either an array: parent's elements then the result's, where a lone
 *    non-array value counts as one element and null as none;
 *  - otherwise the result so far, unless there is none yet.
 */
#include "teeliza/agent/character.h"
#include "agent/character/character_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum pending_kind {
	PENDING_NONE,     /* no layer has the key yet */
	PENDING_SCALAR,   /* a string, number, boolean or null: it stays */
	PENDING_OBJECT,   /* objects to merge, child first */
	PENDING_ARRAY,    /* pieces to join, child first */
};

struct piece {
	json_t *v;        /* borrowed from a layer, or owned when `owned` */
	bool spread;      /* an array whose elements are joined; else one element */
	bool owned;
};

struct pending {
	const char *key;  /* borrowed from the layer that has it first */
	enum pending_kind kind;
	json_t *scalar;   /* PENDING_SCALAR, borrowed */
	struct piece *items;
	size_t n, cap;
};

static json_t *merge_objects(struct piece *layers, size_t n);

static void pending_clear(struct pending *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->items[i].owned)
			json_decref(p->items[i].v);
	}
	free(p->items);
	p->items = NULL;
	p->n = p->cap = 0;
}

/* Append (v is a new reference when owned; released here on failure). */
static bool pending_push(struct pending *p, json_t *v, bool spread, bool owned)
{
	if (p->n == p->cap) {
		size_t cap = p->cap == 0 ? 2 : p->cap * 2;
		struct piece *items = realloc(p->items, cap * sizeof(*items));

		if (items == NULL) {
			if (owned)
				json_decref(v);
			return false;
		}
		p->items = items;
		p->cap = cap;
	}
	p->items[p->n++] = (struct piece){ .v = v, .spread = spread, .owned = owned };
	return true;
}

/* A value joined to an array: an array's elements, one element, or nothing for null. */
static bool push_piece(struct pending *p, json_t *v)
{
	if (json_is_null(v))
		return true;
	return pending_push(p, v, json_is_array(v), false);
}

/* The pending value becomes array pieces (the merge an array forces). */
static bool to_array(struct pending *p)
{
	json_t *merged;

	if (p->kind == PENDING_OBJECT) {
		merged = merge_objects(p->items, p->n);
		pending_clear(p);
		p->kind = PENDING_ARRAY;
		return merged != NULL && pending_push(p, merged, false, true);
	}
	if (p->kind == PENDING_SCALAR) {
		p->kind = PENDING_ARRAY;
		return push_piece(p, p->scalar);
	}
	return true;
}

/* mergeValue(v, the result so far), v from the next layer out (a parent). */
static bool pending_step(struct pending *p, json_t *v)
{
	switch (p->kind) {
	case PENDING_NONE:
		if (json_is_object(v)) {
			p->kind = PENDING_OBJECT;
			return pending_push(p, v, false, false);
		}
		if (json_is_array(v)) {
			p->kind = PENDING_ARRAY;
			return push_piece(p, v);
		}
		p->kind = PENDING_SCALAR;
		p->scalar = v;
		return true;
	case PENDING_ARRAY:
		return push_piece(p, v);
	case PENDING_OBJECT:
	case PENDING_SCALAR:
		if (json_is_array(v))
			return to_array(p) && push_piece(p, v);
		if (p->kind == PENDING_OBJECT && json_is_object(v))
			return pending_push(p, v, false, false);
		return true; /* the result so far wins */
	}
	return false;
}

/* The value a pending fold stands for (new reference), NULL on allocation failure. */
static json_t *pending_result(struct pending *p)
{
	json_t *out;

	switch (p->kind) {
	case PENDING_SCALAR:
		return json_incref(p->scalar);
	case PENDING_OBJECT:
		return merge_objects(p->items, p->n);
	case PENDING_ARRAY:
		out = json_array();
		/* pieces were gathered child first; the outermost parent's come first */
		for (size_t i = p->n; out != NULL && i > 0; i--) {
			json_t *v = p->items[i - 1].v;
			size_t k;
			json_t *e;

			if (!p->items[i - 1].spread) {
				if (json_array_append(out, v) != 0)
					goto fail;
				continue;
			}
			json_array_foreach(v, k, e) {
				if (json_array_append(out, e) != 0)
					goto fail;
			}
		}
		return out;
fail:
		json_decref(out);
		return NULL;
	case PENDING_NONE:
		break;
	}
	assert(!"a pending value with no layer");
	return NULL;
}

/* Merge objects given child first (layers[0]) then each parent outward. */
static json_t *merge_objects(struct piece *layers, size_t n)
{
	json_t *slots = NULL, *out = NULL, *v;
	struct pending *keys = NULL;
	size_t nkeys = 0, cap = 0, i;
	const char *key;

	if (n == 1)
		return json_incref(layers[0].v); /* nothing to merge: share it */
	slots = json_object(); /* key -> index in keys */
	if (slots == NULL)
		return NULL;
	/* key order: the outermost parent's keys, then each newer layer's new ones */
	for (i = n; i > 0; i--) {
		json_object_foreach(layers[i - 1].v, key, v) {
			if (json_object_get(slots, key) != NULL)
				continue;
			if (nkeys == cap) {
				size_t ncap = cap == 0 ? 16 : cap * 2;
				struct pending *nk = realloc(keys, ncap * sizeof(*nk));

				if (nk == NULL)
					goto done;
				keys = nk;
				cap = ncap;
			}
			memset(&keys[nkeys], 0, sizeof(keys[nkeys]));
			keys[nkeys].key = key;
			if (json_object_set_new(slots, key, json_integer((json_int_t)nkeys)) != 0)
				goto done;
			nkeys++;
		}
	}
	/* fold: child first, then each parent outward */
	for (i = 0; i < n; i++) {
		json_object_foreach(layers[i].v, key, v) {
			size_t slot = (size_t)json_integer_value(json_object_get(slots, key));

			if (!pending_step(&keys[slot], v))
				goto done;
		}
	}
	out = json_object();
	for (i = 0; out != NULL && i < nkeys; i++) {
		if (json_object_set_new(out, keys[i].key, pending_result(&keys[i])) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
done:
	for (i = 0; i < nkeys; i++)
		pending_clear(&keys[i]);
	free(keys);
	json_decref(slots);
	return out;
}

teeliza_err agent_character_merge(json_t **out, json_t *const *layers, size_t n)
{
	struct piece *pieces;

	assert(out != NULL && layers != NULL && n > 0);
	*out = NULL;
	pieces = calloc(n, sizeof(*pieces));
	if (pieces == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory merging characters");
	for (size_t i = 0; i < n; i++) {
		assert(json_is_object(layers[i]));
		pieces[i].v = layers[i];
	}
	*out = merge_objects(pieces, n);
	free(pieces);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory merging characters");
	return TEELIZA_OK;
}
