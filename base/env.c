/*
 * env.c: see env.h. The table is process-wide and never freed (a handful of
 * strings, held for the process's life, as environ itself is). A hidden
 * value is also blanked where it was, so /proc/<pid>/environ no longer
 * shows it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/env.h"

extern char **environ;

#define ENV_HIDDEN_MAX 32

static struct {
	char *name, *value;
} hidden[ENV_HIDDEN_MAX];
static size_t nhidden;
static char blank[] = "SCINT_HIDDEN_="; /* stands in for one that could not be copied */

void env_hide(const char *prefix)
{
	size_t plen = strlen(prefix);

	for (;;) {
		char **e = environ;
		while (e && *e && (strncmp(*e, prefix, plen) || !strchr(*e, '=')))
			e++;
		if (!e || !*e)
			return;
		char *eq = strchr(*e, '=');
		char *name = strndup(*e, (size_t)(eq - *e));
		char *value = strdup(eq + 1);
		if (!name || !value || nhidden == ENV_HIDDEN_MAX) {
			/* hidden or not, it must leave the environment */
			free(value);
			value = NULL;
		}
		if (name && value) {
			hidden[nhidden].name = name;
			hidden[nhidden++].value = value;
		}
		/*
		 * unsetenv only drops the pointer: the bytes stay where the
		 * kernel put them, and /proc/<pid>/environ shows them to every
		 * process of the user (a gem's extconf.rb included). Blanked
		 * in place (the initial environment is writable memory).
		 */
		memset(eq + 1, 0, strlen(eq + 1));
		/* unsetenv drops every entry of the name: blank the others too. */
		size_t nlen = (size_t)(eq - *e);
		for (char **o = e + 1; name && *o; o++)
			if (!strncmp(*o, *e, nlen + 1))
				memset(*o + nlen + 1, 0, strlen(*o + nlen + 1));
		if (name)
			unsetenv(name);
		else
			*e = blank;
		if (!value)
			free(name);
	}
}

const char *env_get(const char *name)
{
	for (size_t i = 0; i < nhidden; i++)
		if (!strcmp(hidden[i].name, name))
			return hidden[i].value;
	return getenv(name);
}
