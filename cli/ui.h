/*
 * ui.h: what `scint install` shows while it works.
 *
 * Without a terminal (CI): one plain line per gem event, Bundler-style
 * ("Fetching rack 3.0.0", "Installing rack 3.0.0"). On a terminal: a live
 * status redrawn in place, at most every UI_REDRAW_MS. NO_COLOR is honoured.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct install;
struct gem;
struct sched;

struct ui {
	bool tty;
	bool color;
	bool quiet;
	bool verbose;
	uint64_t t0_ns;
	uint64_t last_draw_ns;
	bool drawn;
	const char *current; /* the gem last worked on */
};

void ui_init(struct ui *ui, bool quiet, bool verbose);
/* Hooks for install.on_event and the scheduler observer. */
void ui_event(struct install *in, struct gem *g, const char *what);
void ui_attach(struct ui *ui, struct install *in);
/* Clears the live status (before the summary or errors). */
void ui_finish(struct ui *ui);
