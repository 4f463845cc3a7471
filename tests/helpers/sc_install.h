/*
 * sc_install.h: a real install session for phase unit tests, without Ruby.
 *
 * sc_install_open() runs what install_setup() and install_prepare() do,
 * minus the two Ruby questions: install_setup() itself (the lockfile, the
 * Bundler config of a fresh app directory, the engine on the chosen I/O
 * backend), the target Ruby's facts as the test gives them (what abi_load
 * would read from the facts cache), install_open_cache(), and the install
 * root's gems/ and specifications/ as install_prepare() opens them. A
 * phase's job is then created with its own constructor and run by the
 * session's scheduler (sched_run): its step() and done() on that backend.
 */
#pragma once

#include "engine/ioq.h"
#include "phases/phase.h"

/* Fresh directories under sc_test_tmpdir()/<name>. Skips the test when the backend is missing. */
void sc_install_open(struct install *in, const char *name, enum ioq_backend backend,
		     enum link_mode mode);
void sc_install_close(struct install *in);
/* The backend of a twin, or skip(): the io_uring twin is skipped under SCINT_IO_URING=0. */
enum ioq_backend sc_install_backend(bool uring);
