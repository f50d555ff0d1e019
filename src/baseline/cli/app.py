"""The entry point: parse, dispatch to the command, and turn every ending into its exit code and one line."""

from __future__ import annotations

import os
import re
import sys
from typing import NoReturn

from baseline.cli.candidates import cmd_adapters, cmd_estimate
from baseline.cli.cleanup import cmd_cleanup
from baseline.cli.compare import cmd_compare
from baseline.cli.exits import EXIT_BAD_INPUT, EXIT_FAILED_ADAPTERS, EXIT_INTERRUPTED
from baseline.cli.history import cmd_history
from baseline.cli.parser import build_parser
from baseline.cli.review import cmd_diff, cmd_gate, cmd_report
from baseline.errors import BadInput
from baseline.heap import set_allocators

COMMANDS = {"compare": cmd_compare, "estimate": cmd_estimate, "adapters": cmd_adapters, "report": cmd_report,
            "history": cmd_history, "cleanup": cmd_cleanup, "diff": cmd_diff, "gate": cmd_gate}


# A third-party warning (scikit-learn's config propagation, triggered inside FLAML's search) that
# says nothing about the user's run but can print hundreds of lines; silenced here and in workers.
_NOISY_WARNING = "`sklearn.utils.parallel.delayed` should be used"


def _quiet_known_warnings() -> None:
    """Silence the known noisy warning here and, through ``PYTHONWARNINGS``, in worker processes."""
    import warnings

    warnings.filterwarnings("ignore", message=re.escape(_NOISY_WARNING), category=UserWarning)
    rule = f"ignore:{_NOISY_WARNING}:UserWarning"
    current = os.environ.get("PYTHONWARNINGS", "")
    if rule not in current:  # worker processes read it at start-up
        os.environ["PYTHONWARNINGS"] = f"{current},{rule}" if current else rule


def main(argv: list[str] | None = None) -> int:
    """Run one ``baseline`` command: bad input is one line and exit 2, an interrupt 130, a crash a masked traceback."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_allocators()  # before any thread allocates: pyarrow is not imported yet
    _quiet_known_warnings()
    from baseline.interrupts import interrupts_as_keyboard_interrupt
    from baseline.redact import redact

    try:
        args = build_parser().parse_args(argv)
        if not args.cmd:
            build_parser().print_help()
            return EXIT_BAD_INPUT
        with interrupts_as_keyboard_interrupt():  # SIGTERM / SIGHUP: the same path as Ctrl-C
            return COMMANDS[args.cmd](args)
    except BadInput as e:
        print(f"error: {redact(str(e))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # a crash still prints its traceback, with every known credential masked
        import traceback

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        return EXIT_FAILED_ADAPTERS


def run() -> NoReturn:
    """The ``baseline`` console command: ``main``, then ``exit_now`` with its code."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Exit with ``code`` after every exit handler has run and both streams are flushed, without the interpreter's
    object-by-object teardown: after a run over millions of rows, freeing its frames, model and caches one object at
    a time took 0.3–0.7 s of nothing the user sees. The memory goes back to the system with the process either way.
    While another non-daemon thread is still running, the normal exit (which waits for it) is taken instead."""
    import atexit
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # logging, multiprocessing, weakref finalizers, Ray, temporary folders
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (``| head``), a closed stream: nothing left to say
            pass
    os._exit(code)
