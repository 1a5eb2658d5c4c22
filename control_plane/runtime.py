"""What the app process starts around the services: the catalog (embedded or not), demo data on
first start in demo mode, simulated AWS, and the in-process scheduler when configured."""

from __future__ import annotations

import logging

from control_plane import demo_package, redact
from control_plane.auth import session_secret
from control_plane.bootstrap import bootstrap
from control_plane.config import Settings
from control_plane.context import AppContext

log = logging.getLogger(__name__)


def _log_to_terminal() -> None:
    """The app's own INFO lines (starting the embedded server, demo seeding progress) on stderr:
    Streamlit configures only its own loggers, so a first start that seeds for half a minute would
    otherwise print nothing in the terminal while the browser waits."""
    root = logging.getLogger("control_plane")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def start_runtime(settings: Settings | None = None) -> AppContext:
    redact.install()  # the app process: credentials never reach a log line
    _log_to_terminal()
    settings = settings or Settings.from_env()
    settings.check_app_settings()  # before waiting for a database: a missing secret is a config error
    if settings.demo:  # before starting anything: the production image carries no demo
        demo_package.require("Demo mode (CP_DEMO, on by default when DATABASE_URL is unset)", simulated_aws=True)
    ctx = bootstrap(settings)
    session_secret.resolve(settings)  # the embedded default generates its cookie secret now, not at the first sign-in
    if settings.demo:
        from control_plane.demo.startup import prepare_demo

        if ctx.embedded_server is not None:  # the second local cluster, for moving a demo tenant
            from control_plane.demo import local_cluster

            local_cluster.prepare(ctx)
        prepare_demo(ctx)
    if settings.run_scheduler_in_app:
        try:
            from control_plane.scheduler.inprocess import start_in_process
        except ImportError:  # the worker package is optional in slim images
            log.warning("jobs package not importable; scheduler not started in-process")
        else:
            start_in_process(ctx)
    return ctx
