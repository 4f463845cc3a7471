#include "cli/ui.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "cli/cli.h"
#include "phases/phase.h"
#include "phases/remote.h"

#define UI_REDRAW_MS 80

static const enum job_kind ui_shown[] = { JOB_INDEX,	JOB_FETCH,   JOB_REMOTE,     JOB_GIT,
					  JOB_ASSEMBLE, JOB_COMPILE, JOB_MATERIALIZE };
static const char *const ui_label[] = { "index",  "fetch",   "remote", "git",
					"unpack", "compile", "install" };

void ui_init(struct ui *ui, bool quiet, bool verbose)
{
	*ui = (struct ui){ .quiet = quiet, .verbose = verbose };
	ui->tty = isatty(1) && !getenv("SCINT_PLAIN");
	ui->color = cli_color(1);
	ui->t0_ns = clock_now_ns();
}

static unsigned ui_columns(void)
{
	struct winsize ws;

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

static void ui_write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(1, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

/* Appends one row, cut to the width (visible characters only). */
static void ui_row(struct ui *ui, struct sbuf *f, unsigned cols, const char *style,
		   const char *text)
{
	size_t n = strlen(text);

	if (n > cols - 1)
		n = cols - 1;
	sbuf_addlit(f, "\r\033[2K");
	if (ui->color && style)
		sbuf_addstr(f, style);
	sbuf_add(f, text, n);
	if (ui->color && style)
		sbuf_addlit(f, "\033[0m");
	sbuf_addch(f, '\n');
}

/* "1.2 MiB": a byte count as the remote row shows it. */
static void ui_bytes(char *buf, size_t n, uint64_t bytes)
{
	if (bytes < 1024)
		snprintf(buf, n, "%" PRIu64 " B", bytes);
	else if (bytes < (uint64_t)1 << 20)
		snprintf(buf, n, "%.1f KiB", (double)bytes / 1024.0);
	else
		snprintf(buf, n, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

/*
 * What the remote cache did so far: "2 hits, 1 uploaded, 1.2 MiB down,
 * 340.0 KiB up" (refusals only when there are some). Bytes down count
 * the artifact downloads in flight too; bytes up count finished uploads.
 */
static void ui_remote_tail(const struct install *in, char *buf, size_t n)
{
	char down[32], up[32], refused[32] = "";

	ui_bytes(down, sizeof(down), in->stats.remote_bytes_down + remote_bytes_receiving(in));
	ui_bytes(up, sizeof(up), in->stats.remote_bytes_up);
	if (in->stats.remote_refused)
		snprintf(refused, sizeof(refused), ", %u refused", in->stats.remote_refused);
	snprintf(buf, n, "%u hits%s, %u uploaded, %s down, %s up", in->stats.remote_hits, refused,
		 in->stats.remote_uploads, down, up);
}

static void ui_draw(struct ui *ui, struct sched *s)
{
	struct sched_stats st;
	struct sbuf f = SBUF_INIT;
	unsigned cols = ui_columns(), rows = 0;
	char text[512], tail[256];

	sched_get_stats(s, &st);
	sbuf_addlit(&f, "\033[?25l");
	if (ui->drawn_rows)
		sbuf_addf(&f, "\033[%uA", ui->drawn_rows);
	for (size_t i = 0; i < SC_ARRAY_SIZE(ui_shown); i++) {
		enum job_kind k = ui_shown[i];
		const struct sched_kind_stats *ks = &st.kind[k];
		unsigned finished = ks->done + ks->failed;
		if (!ks->total || finished == ks->total)
			continue;
		tail[0] = '\0';
		if (k == JOB_REMOTE && ui->in)
			ui_remote_tail(ui->in, tail, sizeof(tail));
		snprintf(text, sizeof(text), "%-8s %4u/%-4u %s%s%s", ui_label[i], finished,
			 ks->total, ks->running && ui->current[k] ? ui->current[k] : "",
			 tail[0] && ks->running && ui->current[k] ? "  " : "", tail);
		ui_row(ui, &f, cols, "\033[1m", text);
		rows++;
		if (k != JOB_COMPILE)
			continue;
		for (size_t c = 0; c < UI_ROWS_MAX && rows < UI_ROWS_MAX; c++) {
			if (!ui->compiling[c])
				continue;
			compile_output_tail(ui->compiling[c], tail, sizeof(tail));
			snprintf(text, sizeof(text), "  %s: %s", ui->compiling[c]->label, tail);
			ui_row(ui, &f, cols, "\033[2m", text);
			rows++;
		}
	}
	/* Erase what the previous frame had below this one. */
	sbuf_addlit(&f, "\033[J\033[?25h");
	ui_write_all(f.buf, f.len);
	sbuf_release(&f);
	ui->drawn_rows = rows;
}

static void ui_track(struct ui *ui, struct job *j, enum sched_event ev)
{
	if (ev == SCHED_EV_START)
		ui->current[j->ops->kind] = j->label;
	if (j->ops->kind != JOB_COMPILE)
		return;
	for (size_t c = 0; c < UI_ROWS_MAX; c++) {
		if (ev == SCHED_EV_START && !ui->compiling[c]) {
			ui->compiling[c] = j;
			return;
		}
		if (ev == SCHED_EV_FINISH && ui->compiling[c] == j) {
			ui->compiling[c] = NULL;
			return;
		}
	}
}

static void ui_observe(struct sched *s, struct job *j, enum sched_event ev, void *data)
{
	struct ui *ui = data;
	uint64_t now;

	if (!ui->tty || ui->quiet)
		return;
	if (j) {
		ui_track(ui, j, ev);
		return;
	}
	now = clock_now_ns();
	if (now - ui->last_draw_ns < UI_REDRAW_MS * 1000000ull)
		return;
	ui->last_draw_ns = now;
	ui_draw(ui, s);
}

static void ui_gem_name(const struct gem *g, char *buf, size_t n)
{
	if (strcmp(g->platform, "ruby"))
		snprintf(buf, n, "%s %s (%s)", g->name, g->version, g->platform);
	else
		snprintf(buf, n, "%s %s", g->name, g->version);
}

static void ui_event(struct install *in, struct gem *g, const char *what)
{
	struct ui *ui = in->ui;
	char name[300];
	const char *verb = NULL;

	if (!ui || ui->quiet || ui->tty)
		return;
	if (!strcmp(what, "fetch"))
		verb = "Fetching";
	else if (!strcmp(what, "install"))
		verb = "Installing";
	else if (!strcmp(what, "installed") && !g->unpacked)
		verb = "Using cached";
	else if (!strcmp(what, "wait"))
		verb = "Waiting for another scint process building";
	else if (!strcmp(what, "compile"))
		verb = "Compiling";
	else if (!strcmp(what, "remote"))
		verb = "Using the remote cache's build of";
	else if (!strcmp(what, "upload"))
		verb = "Uploading";
	if (!verb)
		return;
	ui_gem_name(g, name, sizeof(name));
	printf("%s %s%s\n", verb, name, !strcmp(what, "upload") ? " to the remote cache" : "");
}

void ui_attach(struct ui *ui, struct install *in)
{
	ui->in = in;
	in->ui = ui;
	in->on_event = ui_event;
	sched_set_observer(in->sched, ui_observe, ui);
}

void ui_finish(struct ui *ui)
{
	if (ui->drawn_rows) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "\033[%uA\r\033[J", ui->drawn_rows);
		ui_write_all(buf, (size_t)n);
		ui->drawn_rows = 0;
	}
	fflush(stdout);
}
