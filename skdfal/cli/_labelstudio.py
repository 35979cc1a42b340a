"""``skdfal serve-label-studio DIR``: a Label Studio ML backend with DFAL ordering.

The first run creates the backend folder from ``--images`` (the images you
import into Label Studio) and ``--classes`` (the project's ``<Choice>``
values); later runs resume it.  See the user guide's Label Studio page.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ._args import (
    STOP_HELP,
    add_command,
    device_arg,
    json_object,
    port_arg,
    positive_int,
    size_arg,
    steps_arg,
    stop_rule,
)

__all__ = ["add_parser"]


_DESCRIPTION = """Answer Label Studio's ML backend protocol (health, setup, predict, webhook) for the
backend folder DIR: annotations are journaled in a crash-safe labeling session, the network
retrains in the background, and every task's prediction score is its place in DFAL's order
(lowest first). The first run needs --images and --classes."""


def add_parser(sub):
    """Register the ``serve-label-studio`` sub-command on an argparse sub-parsers object."""
    p = add_command(sub, "serve-label-studio", _cmd_serve, description=_DESCRIPTION,
                    help="serve a Label Studio ML backend: pre-annotations and DFAL ordering (resumable)")
    p.add_argument("directory", type=Path, metavar="DIR")
    p.add_argument("--images", type=Path, help="first run: folder of the pool images (those imported into Label Studio)")
    p.add_argument("--classes", help="first run: the project's <Choice> values, comma-separated, in order")
    p.add_argument("--mode", choices=("L", "RGB"), default="L", help="first run: grayscale or colour (default L)")
    p.add_argument("--size", type=size_arg, default=None, help="first run: resize images to HEIGHTxWIDTH")
    p.add_argument("--strategy", default="dfal_margin", help="first run: query strategy (default dfal_margin)")
    p.add_argument("--n-instances", type=positive_int, default=10, help="first run: labels asked per round (default 10)")
    p.add_argument("--steps", type=steps_arg, default="auto",
                   help="first run: optimiser steps per retrain, 'auto' or a number (default auto)")
    p.add_argument("--estimator", type=json_object, default=None, metavar="JSON",
                   help="first run: make_classifier arguments as a JSON object (a module by import path, "
                        "freeze, head ...: see skdfal label --help)")
    p.add_argument("--strategy-params", type=json_object, default=None, metavar="JSON",
                   help="first run: the strategy's parameters, e.g. '{\"space\": \"head\", \"head\": \"fc\"}'")
    p.add_argument("--allow-module", action="append", default=None, metavar="PATH",
                   help="resume a backend whose network is the import path PATH (importing it runs code; repeatable)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_arg, default=9090, help="port (default 9090)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a host name Label Studio reaches the backend by, besides localhost and --host (repeatable)")
    p.add_argument("--basic-auth", action="store_true",
                   help="require Basic auth (BASIC_AUTH_USER and BASIC_AUTH_PASS must be set; they turn it on "
                        "by themselves too)")
    p.add_argument("--max-body", type=positive_int, default=4 << 20, metavar="BYTES",
                   help="largest request body accepted (default 4 MiB)")
    p.add_argument("--label-studio-data", type=Path, default=None,
                   help="Label Studio's data folder, for uploaded images (default $LABEL_STUDIO_BASE_DATA_DIR, "
                        "else ~/.local/share/label-studio)")
    p.add_argument("--local-files-root", type=Path, default=None,
                   help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT, for local-files images")
    p.add_argument("--label-studio-url", default=None, metavar="URL",
                   help="Label Studio's address: after every retrain, push the new model's predictions to the "
                        "project (the API key from $LABEL_STUDIO_API_KEY), so the Data Manager's order follows it")
    p.add_argument("--retrain-every", type=positive_int, default=None,
                   help="retrain after this many new annotations (default: --n-instances)")
    p.add_argument("--device", type=device_arg, default=None, help="torch device (default: the session's)")
    p.add_argument("--stop", type=stop_rule, action="append", default=None, metavar="RULE", help=STOP_HELP)
    p.add_argument("--verbose", action="store_true", help="log every request")


def _cmd_serve(args) -> int:
    import signal

    from ..labeling import SessionError, serve_label_studio
    from ..labeling.frontends.label_studio import auth_from_env

    def stop(signum, frame):  # `kill` ends the server like Ctrl-C: a snapshot is written on the way out
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    options = {
        "label_studio_data": args.label_studio_data, "local_files_root": args.local_files_root,
        "retrain_every": args.retrain_every, "device": args.device, "allow_modules": args.allow_module,
    }
    if args.stop is not None:
        options["stopping"] = args.stop
    classes = None if args.classes is None else [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.images is not None:
        options.update(mode=args.mode, size=args.size, query_strategy=args.strategy, n_instances=args.n_instances,
                       estimator={"train_steps": args.steps, **(args.estimator or {})})
        if args.strategy_params:
            from ..strategies import get_strategy

            try:  # the configuration's parameters, then these: an object a session saves by name
                options["query_strategy"] = get_strategy(args.strategy).make(**args.strategy_params)
            except (TypeError, ValueError) as exc:
                print(f"skdfal serve-label-studio: --strategy-params: {exc}", file=sys.stderr)
                return 2
    try:
        auth = auth_from_env(required=args.basic_auth)
        serve_label_studio(args.directory, host=args.host, port=args.port, images=args.images, classes=classes,
                           auth=auth, allowed_hosts=args.allowed_host, max_body_bytes=args.max_body,
                           label_studio_url=args.label_studio_url, **options)
    except (SessionError, ValueError, TypeError, OSError) as exc:
        print(f"skdfal serve-label-studio: {exc}", file=sys.stderr)
        return 2
    return 0
