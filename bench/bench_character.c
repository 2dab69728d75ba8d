/*
 * The cost of `extends` in character loading (hardening issue, item 5):
 *
 *   bench_character [wide N]... [fan DEPTH]... [net N]... [scale N]...
 *   (no arguments: wide 64, wide 1000, fan 3, fan 6, fan 10, net 1000, scale 8..64)
 *
 *  - wide N:  a child file whose `extends` lists one parent N times (the
 *             parent is Eliza's default character, 15 kB; 1000 entries make
 *             a 41 kB list);
 *  - fan D:   level0.json extends level1.json three times, level1 extends
 *             level2 three times, ... down to level D: 3^D parents;
 *  - net N:   the same 41 kB list posted as a body (no source file), as
 *             POST /agents/:id/set hands it to the loader;
 *  - scale N: N distinct parents of 2,000 lore lines each: the time should
 *             grow with N, not N².
 * Each case runs in its own child process, so its peak RSS is its own; one
 * line per case: outcome, wall time, CPU time, peak RSS. Not a test: timings
 * depend on the machine.
 */
#include "bench_util.h"

#include "teeliza/agent/character.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static bool write_json(const char *name, json_t *j)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (json_dump_file(j, path, JSON_COMPACT) != 0) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		return false;
	}
	return true;
}

static json_t *parent_character(void)
{
	teeliza_buf text;
	json_t *j;

	if (!bench_read_vector(&text, "characters/eliza-default-0.1.7.character.json"))
		return NULL;
	j = json_loadb((const char *)text.data, text.len, 0, NULL);
	teeliza_buf_free(&text);
	return j;
}

static json_t *list_of(const char *entry, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(entry));
	return a;
}

/* Load dir/name (or the JSON j as a body when name is NULL) and print one line. */
static void measure(const char *label, const char *name, json_t *body)
{
	char path[256];
	agent_character *c = NULL;
	teeliza_buf report;
	double t0 = bench_now(), c0 = bench_process_cpu(), t1, c1;
	struct rusage ru;
	teeliza_err err;
	char msg[61];

	snprintf(path, sizeof(path), "%s/%s", dir, name != NULL ? name : "");
	if (name != NULL)
		err = agent_character_load_file(&c, &report, path);
	else
		err = agent_character_from_json(&c, &report, body, NULL);
	t1 = bench_now();
	c1 = bench_process_cpu();
	getrusage(RUSAGE_SELF, &ru);
	snprintf(msg, sizeof(msg), "%s", report.len > 0 ? (const char *)report.data : teeliza_errmsg());
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
	printf("%-12s %-8s %8.3f s wall %8.3f s CPU %7ld MB RSS  %s\n", label, err ? "refused" : "loaded",
	       t1 - t0, c1 - c0, ru.ru_maxrss / 1024, err ? msg : "");
	fflush(stdout);
	teeliza_buf_free(&report);
	agent_character_free(c);
}

static bool run_wide(size_t n)
{
	json_t *p = parent_character(), *child = parent_character();
	char label[32];

	if (p == NULL || child == NULL || !write_json("p.json", p))
		return false;
	json_object_set_new(child, "name", json_string("Child"));
	json_object_set_new(child, "extends", list_of("p.json", n));
	if (!write_json("wide.json", child))
		return false;
	snprintf(label, sizeof(label), "wide %zu", n);
	measure(label, "wide.json", NULL);
	json_decref(p);
	json_decref(child);
	return true;
}

static bool run_fan(unsigned depth)
{
	json_t *p = parent_character();
	char name[32], next[32], label[32];

	if (p == NULL)
		return false;
	for (unsigned i = 0; i <= depth; i++) {
		snprintf(name, sizeof(name), "level%u.json", i);
		snprintf(next, sizeof(next), "level%u.json", i + 1);
		if (i < depth)
			json_object_set_new(p, "extends", list_of(next, 3));
		else
			json_object_del(p, "extends");
		if (!write_json(name, p))
			return false;
	}
	snprintf(label, sizeof(label), "fan 3^%u", depth);
	measure(label, "level0.json", NULL);
	json_decref(p);
	return true;
}

static bool run_net(size_t n)
{
	json_t *p = parent_character(), *body = parent_character();
	char abs_path[128], label[32];

	if (p == NULL || body == NULL || !write_json("p.json", p))
		return false;
	snprintf(abs_path, sizeof(abs_path), "%s/p.json", dir);
	json_object_set_new(body, "extends", list_of(abs_path, n));
	snprintf(label, sizeof(label), "net %zu", n);
	{
		char *text = json_dumps(body, JSON_COMPACT);

		printf("(body of %zu bytes)\n", text != NULL ? strlen(text) : 0);
		free(text);
	}
	measure(label, NULL, body);
	json_decref(p);
	json_decref(body);
	return true;
}

static bool run_scale(size_t n)
{
	json_t *child = parent_character(), *list = json_array();
	char name[32], line[64], label[32];

	if (child == NULL || list == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		json_t *p = parent_character(), *lore = json_array();

		if (p == NULL || lore == NULL)
			return false;
		for (size_t k = 0; k < 2000; k++) {
			snprintf(line, sizeof(line), "parent %zu, lore line %zu", i, k);
			json_array_append_new(lore, json_string(line));
		}
		json_object_set_new(p, "lore", lore);
		snprintf(name, sizeof(name), "s%zu.json", i);
		if (!write_json(name, p))
			return false;
		json_array_append_new(list, json_string(name));
		json_decref(p);
	}
	json_object_set_new(child, "extends", list);
	if (!write_json("scale.json", child))
		return false;
	snprintf(label, sizeof(label), "scale %zu", n);
	measure(label, "scale.json", NULL);
	json_decref(child);
	return true;
}

/* Run one case in a child process so each has its own peak RSS. */
static bool run_case(const char *kind, unsigned long n)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return false;
	if (pid == 0) {
		bool ok = strcmp(kind, "wide") == 0 ? run_wide(n) : strcmp(kind, "fan") == 0 ? run_fan((unsigned)n)
		        : strcmp(kind, "net") == 0 ? run_net(n) : run_scale(n);

		_exit(ok ? 0 : 1);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "wide", "wide", "fan", "fan", "fan", "net", "scale", "scale", "scale",
	                                     "scale" };
	static const unsigned long sizes[] = { 64, 1000, 3, 6, 10, 1000, 8, 16, 32, 64 };
	char cmd[128];
	bool ok = true;

	snprintf(dir, sizeof(dir), "/tmp/teeliza-bench-char.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("bench: mkdtemp");
		return 1;
	}
	if (argc < 3) {
		for (size_t i = 0; ok && i < sizeof(sizes) / sizeof(sizes[0]); i++)
			ok = run_case(kinds[i], sizes[i]);
	}
	for (int i = 1; ok && i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "wide") != 0 && strcmp(argv[i], "fan") != 0 && strcmp(argv[i], "net") != 0 &&
		    strcmp(argv[i], "scale") != 0) {
			fprintf(stderr, "usage: bench_character [wide|fan|net|scale N]...\n");
			ok = false;
			break;
		}
		ok = run_case(argv[i], strtoul(argv[i + 1], NULL, 10));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
	return ok ? 0 : 1;
}
