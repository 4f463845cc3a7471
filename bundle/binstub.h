/*
 * binstub.h: the executable wrappers RubyGems writes to bin/ (Gem::Installer
 * #app_script_text with env_shebang, as Bundler installs them).
 */
#pragma once

struct sbuf;

/*
 * Appends the wrapper for gem `gem_name`'s executable `exe` to out. Both are
 * pasted into Ruby code and exe names the file in bin/: callers pass only
 * names checked by names_check_gem() and names_check_executable()
 * (bundle/names.h; the spec summary is checked when it is read).
 */
void binstub_render(struct sbuf *out, const char *ruby_install_name, const char *gem_name,
		    const char *exe);
