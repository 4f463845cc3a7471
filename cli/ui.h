/*
 * ui.h: what `scint install` shows while it works.
 *
 * Without a terminal (CI), or with SCINT_PLAIN set: one plain line per gem
 * event, Bundler-style ("Fetching rack 3.0.0", "Installing rack 3.0.0";
 * with a remote cache "Using the remote cache's build of pg 1.5.0" and
 * "Uploading pg 1.5.0 to the remote cache").
 * On a terminal: a live area redrawn in place, at most every UI_REDRAW_MS,
 * one row per active phase (done/total and the gem in progress) and, under
 * the compile row, the last line of each running build's output. The remote
 * row (pull and push jobs) adds the remote's hits, refusals, uploads and
 * bytes down (in-flight downloads included) and up. A frame is
 * written with one write(2), rows are cut to the terminal's width so that
 * nothing wraps, and the cursor is hidden while drawing: no flicker.
 * NO_COLOR is honoured.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/sched.h"

struct install;
struct gem;

#define UI_ROWS_MAX 24

struct ui {
	bool tty;
	bool color;
	bool quiet;
	bool verbose;
	uint64_t t0_ns;
	uint64_t last_draw_ns;
	unsigned drawn_rows; /* rows of the live area on screen */
	const char *current[JOB_KIND__COUNT]; /* the job of each kind started last */
	const struct job *compiling[UI_ROWS_MAX]; /* running builds */
	struct install *in;
};

void ui_init(struct ui *ui, bool quiet, bool verbose);
void ui_attach(struct ui *ui, struct install *in);
/* Clears the live area (before the summary or errors). */
void ui_finish(struct ui *ui);
