#include "cli/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "engine/sched.h"
#include "phases/phase.h"

#define UI_REDRAW_MS 80

void ui_init(struct ui *ui, bool quiet, bool verbose)
{
	*ui = (struct ui){ .quiet = quiet, .verbose = verbose };
	ui->tty = isatty(1) && !getenv("SCINT_PLAIN");
	ui->color = cli_color(1);
	ui->t0_ns = clock_now_ns();
}

static void ui_gem_name(const struct gem *g, char *buf, size_t n)
{
	if (strcmp(g->platform, "ruby"))
		snprintf(buf, n, "%s %s (%s)", g->name, g->version, g->platform);
	else
		snprintf(buf, n, "%s %s", g->name, g->version);
}

static void ui_draw(struct ui *ui, struct sched *s)
{
	struct sched_stats st;
	static const enum job_kind shown[] = { JOB_FETCH, JOB_ASSEMBLE, JOB_COMPILE,
					       JOB_MATERIALIZE };
	static const char *const label[] = { "fetch", "unpack", "compile", "install" };
	char line[512];
	size_t n = 0;

	sched_get_stats(s, &st);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		const struct sched_kind_stats *k = &st.kind[shown[i]];
		if (!k->total)
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %u/%u", n ? "  " : "",
				      label[i], k->done + k->failed, k->total);
	}
	if (ui->current && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "  %s", ui->current);
	printf("\r\033[2K%s%s%s", ui->color ? "\033[1m" : "", line, ui->color ? "\033[0m" : "");
	fflush(stdout);
	ui->drawn = true;
}

static void ui_observe(struct sched *s, struct job *j, enum sched_event ev, void *data)
{
	struct ui *ui = data;
	uint64_t now;

	(void)j;
	if (!ui->tty || ui->quiet || ev != SCHED_EV_TICK)
		return;
	now = clock_now_ns();
	if (now - ui->last_draw_ns < UI_REDRAW_MS * 1000000ull)
		return;
	ui->last_draw_ns = now;
	ui_draw(ui, s);
}

void ui_event(struct install *in, struct gem *g, const char *what)
{
	struct ui *ui = in->ui;
	char name[300];
	const char *fmt = NULL; /* the verb */

	if (!ui || ui->quiet)
		return;
	ui_gem_name(g, name, sizeof(name));
	ui->current = g->full_name;
	if (ui->tty)
		return;
	if (!strcmp(what, "fetch"))
		fmt = "Fetching";
	else if (!strcmp(what, "install"))
		fmt = "Installing";
	else if (!strcmp(what, "installed") && g->plan == PLAN_MATERIALIZE)
		fmt = "Using cached";
	else if (!strcmp(what, "wait"))
		fmt = "Waiting for another scint process building";
	else if (!strcmp(what, "compile"))
		fmt = "Compiling";
	if (fmt)
		printf("%s %s\n", fmt, name);
}

void ui_attach(struct ui *ui, struct install *in)
{
	in->ui = ui;
	in->on_event = ui_event;
	sched_set_observer(in->sched, ui_observe, ui);
}

void ui_finish(struct ui *ui)
{
	if (ui->drawn) {
		printf("\r\033[2K");
		ui->drawn = false;
	}
	fflush(stdout);
}
