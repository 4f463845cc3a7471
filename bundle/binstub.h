/*
 * binstub.h: the executable wrappers RubyGems writes to bin/ (Gem::Installer
 * #app_script_text with env_shebang, as Bundler installs them).
 */
#pragma once

struct sbuf;

/* Appends the wrapper for gem `gem_name`'s executable `exe` to out. */
void binstub_render(struct sbuf *out, const char *ruby_install_name, const char *gem_name,
		    const char *exe);
