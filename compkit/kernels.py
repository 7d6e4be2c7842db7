"""Notebook kernels started ahead of their notebooks, with the modules the notebooks import already imported.

A review notebook's kernel takes 1-2 s to start and its first cell 3-4 s to import pandas, scipy.stats,
matplotlib, statsmodels and compkit (about 3 s of CPU per kernel). ``compkit review`` starts each notebook's kernel
(:class:`WarmKernel`) while it is still busy with other work (loading and evaluating the data; the policy
review's while calibration and fairness run), so that the notebook, when its turn comes, starts on a kernel that
is ready. The warm-up runs the notebook's own import statements (:func:`imports_of`) silently inside a function
that is then deleted: nothing is left in the notebook's namespace, no execution count or history is used, and the
cells produce the same outputs as on a fresh kernel (they import the same modules again, which is then a look-up).

Each kernel lives on one thread of its own (jupyter's clients are bound to the event loop of the thread that made
them): it is started, warmed, runs its notebook (:meth:`WarmKernel.submit`) and is shut down on that thread.
"""
from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

#: seconds a kernel may take to start, and to run a notebook's imports
START_TIMEOUT = 60
WARM_UP_TIMEOUT = 600


def imports_of(notebook: str | Path) -> str:
    """The code that warms a kernel for ``notebook``: the top-level import statements of its code cells (the
    ``parameters`` cell left out; ``from __future__`` too), in their order, each once, as the body of a function
    that is called and deleted. Cells that are not plain Python (magics) are skipped. Empty when there is none."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.module != "__future__"
                                                and not node.level):
                lines.append(ast.unparse(node))
    if not lines:
        return ""
    body = "\n".join("    " + line for line in dict.fromkeys(lines))
    return f"def _compkit_warm_up():\n{body}\n\n\ntry:\n    _compkit_warm_up()\nfinally:\n    del _compkit_warm_up\n"


@functools.cache
def _tracking_class() -> type:
    from jupyter_client.manager import AsyncKernelManager

    class TrackingKernelManager(AsyncKernelManager):
        """nbclient's default kernel manager, remembering the clients it makes: the one papermill makes on a
        kernel it was given is closed with the kernel."""

        def client(self, **kwargs: Any) -> Any:
            made = super().client(**kwargs)
            self.compkit_clients.append(made)
            return made

    return TrackingKernelManager


def _tracking_manager(kernel_name: str) -> Any:
    km = _tracking_class()(kernel_name=kernel_name)
    km.compkit_clients = []
    return km


class WarmKernel:
    """The kernel of one notebook, started now on a thread of its own in ``folder`` (its working directory) and
    warmed with the notebook's imports (:meth:`warm`; at once with ``warm=True``); :meth:`submit` runs work (the
    notebook's execution, given :attr:`km`) on that thread after them; :meth:`close` shuts the kernel down. A
    kernel that is started but not yet warmed holds about 40 MB (proportional set size), a warmed one about
    190 MB. When the start or the warm-up fails, :attr:`km` is None and the notebook runs as it would without
    one (papermill starts a kernel of its own)."""

    def __init__(self, notebook: str | Path, folder: str | Path, kernel_name: str = "python3",
                 warm: bool = True) -> None:
        self.km: Any = None
        self.notebook = Path(notebook)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"compkit-kernel-{self.notebook.stem}")
        self._ready = [self._pool.submit(self._start, Path(folder), kernel_name)]
        self._warmed = False
        if warm:
            self.warm()

    def warm(self) -> None:
        """Import the notebook's modules in the kernel (:func:`imports_of`), on its thread; once."""
        if not self._warmed:
            self._warmed = True
            self._ready.append(self._pool.submit(self._warm_up))

    def _start(self, folder: Path, kernel_name: str) -> None:
        from jupyter_core.utils import run_sync

        run_sync(self._async_start)(folder, kernel_name)

    async def _async_start(self, folder: Path, kernel_name: str) -> None:
        km = _tracking_manager(kernel_name)
        # as nbclient starts a kernel: IPython's history in memory, the working directory the notebook's folder
        await km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=str(folder))
        self.km = km
        await self._async_run(None)

    def _warm_up(self) -> None:
        from jupyter_core.utils import run_sync

        code = imports_of(self.notebook)
        if code and self.km is not None:
            run_sync(self._async_run)(code)

    async def _async_run(self, code: str | None) -> None:
        """Wait for the kernel to be ready and run ``code`` in it silently (no execution count, no history, no
        display); an import that fails here fails again in the notebook's own cell, which names it."""
        km = self.km
        kc = km.client()
        try:
            kc.start_channels()
            await kc.wait_for_ready(timeout=START_TIMEOUT)
            if code:
                await kc.execute_interactive(code, silent=True, store_history=False, timeout=WARM_UP_TIMEOUT,
                                             output_hook=lambda msg: None)
        finally:
            kc.stop_channels()
            km.compkit_clients.remove(kc)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, km=<the kernel's manager or None>, **kwargs)`` on the kernel's thread, after its start
        (and warm-up, when asked for before)."""

        def run() -> Any:
            try:
                for step in self._ready:
                    step.result()
            except Exception:  # noqa: BLE001 - the notebook then runs on a kernel papermill starts
                self.shut_down()
            return fn(*args, km=self.km, **kwargs)

        return self._pool.submit(run)

    def shut_down(self) -> None:
        """Shut the kernel down (call it on the kernel's thread: :meth:`submit`); nothing when none is running."""
        km, self.km = self.km, None
        if km is None:
            return
        from jupyter_core.utils import run_sync

        for kc in km.compkit_clients:
            kc.stop_channels()
        km.compkit_clients.clear()
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=False)
        finally:
            run_sync(km.cleanup_resources)()

    def close(self) -> None:
        """Shut the kernel down (on its thread) and let the thread go."""
        try:
            self._pool.submit(self.shut_down).result()
        finally:
            self._pool.shutdown(wait=True)
