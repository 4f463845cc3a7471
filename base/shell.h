/*
 * shell.h: splitting a string into words as Ruby's Shellwords.split does
 * (whitespace separates; '...' is literal; "..." honours \" \\ \$ \` and
 * backslash-newline; a backslash outside quotes escapes the next character).
 */
#pragma once

#include <stddef.h>

struct arena;

/* Returns the word count (words and array in the arena), or -EINVAL for an unmatched quote. */
int shell_split(struct arena *a, const char *s, const char ***ret_words);
