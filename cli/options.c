/*
 * options.c: the options several commands share (cli.h has the contract).
 */
#include "cli/cli.h"

bool cli_common_option(struct cli_common *co, int c, const char *arg)
{
	switch (c) {
	case CLI_OPT_GEMFILE:
		co->gemfile = arg;
		return true;
	case CLI_OPT_CACHE:
		co->cache = arg;
		return true;
	case 'v':
		co->verbose = true;
		return true;
	case 'q':
		co->quiet = true;
		return true;
	}
	return false;
}
