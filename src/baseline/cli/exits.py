"""The exit codes every command returns: 0 ok, 1 failed adapters, 2 bad input, 3 unanswered items, 130 interrupted."""

EXIT_OK, EXIT_FAILED_ADAPTERS, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
