# conc-advisor profile: names native threads after their work and records what each thread and pool worker
# runs. Installed on PYTHONPATH by `conc-advisor profile` for Python commands (off with --no-python-hooks).
# Writes one JSON line per thread or worker to the file named by CONC_ADVISOR_PY_TARGETS, then runs any other
# sitecustomize found later on sys.path. Never raises: profiling must not change the program.
import os
import sys


def _conc_advisor_install():
    import json
    import threading

    out_path = os.environ.get("CONC_ADVISOR_PY_TARGETS")
    if not out_path:
        return
    here = os.path.dirname(os.path.abspath(__file__))
    recorded = set()

    def describe(fn):
        import functools

        while isinstance(fn, functools.partial):
            inner = fn.func
            # ProcessPoolExecutor.map wraps the user's function in partial(_process_chunk, fn).
            if getattr(inner, "__name__", "") == "_process_chunk" and fn.args:
                fn = fn.args[0]
            else:
                fn = inner
        fn = getattr(fn, "__func__", fn)
        code = getattr(fn, "__code__", None)
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
        if code is None:
            return name, None, None
        return name, code.co_filename, code.co_firstlineno

    def set_native_name(name):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(15, ctypes.c_char_p(name.encode("utf-8", "replace")[:15]), 0, 0, 0)  # PR_SET_NAME
        except Exception:
            pass

    def record(kind, fn, thread_name=None):
        try:
            tid = threading.get_native_id()
            key = (os.getpid(), tid)
            if key in recorded:
                return
            recorded.add(key)
            name, path, line = describe(fn)
            if thread_name:
                set_native_name(thread_name)
            entry = {
                "pid": os.getpid(),
                "tid": tid,
                "kind": kind,
                "thread": thread_name or threading.current_thread().name,
                "target": name,
                "file": path,
                "line": line,
            }
            data = (json.dumps(entry) + "\n").encode("utf-8")
            fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except Exception:
            pass

    # threading.Thread: name the native thread after the Thread's name, record its target.
    original_run = threading.Thread.run

    # Threads that coordinate worker processes: named, and recorded as coordinators (no pool advice for them).
    handlers = {"_handle_workers": "pool-workers", "_handle_tasks": "pool-tasks", "_handle_results": "pool-results"}

    def run(self):
        target = getattr(self, "_target", None)
        if (
            target is not None
            and getattr(target, "__module__", "") == "multiprocessing.pool"
            and getattr(target, "__name__", "") in handlers
        ):
            record("coordinator", target, handlers[target.__name__])
        elif target is not None and getattr(target, "__module__", "") not in ("concurrent.futures.thread",):
            record("thread", target, self.name)
        elif target is None and type(self).run is not run:
            record("thread", type(self).run, self.name)
        return original_run(self)

    threading.Thread.run = run

    # ThreadPoolExecutor workers: the first function each worker runs.
    try:
        import concurrent.futures.thread as cft

        original_work = cft._WorkItem.run

        def work_run(self, *a, **k):
            record("thread-pool-worker", self.fn, threading.current_thread().name)
            return original_work(self, *a, **k)

        cft._WorkItem.run = work_run
    except Exception:
        pass

    # multiprocessing.Pool workers: the function of the first task (map/starmap/apply).
    try:
        import multiprocessing.pool as mpp

        original_worker = mpp.worker

        def pool_worker(inqueue, outqueue, initializer=None, initargs=(), *rest, **kw):
            original_get = inqueue.get

            def get(*a, **k):
                task = original_get(*a, **k)
                try:
                    func = task[2]
                    args = task[3]
                    if getattr(func, "__name__", "") in ("mapstar", "starmapstar") and args:
                        func = args[0][0]
                    record("process-pool-worker", func)
                except Exception:
                    pass
                return task

            try:
                inqueue.get = get
            except Exception:
                pass
            return original_worker(inqueue, outqueue, initializer, initargs, *rest, **kw)

        mpp.worker = _conc_advisor_as(original_worker, pool_worker)
    except Exception:
        pass

    # ProcessPoolExecutor workers: the function of each call item they run.
    try:
        import concurrent.futures.process as cfp

        original_process_worker = cfp._process_worker

        def process_worker(call_queue, *rest, **kw):
            original_get = call_queue.get

            def get(*a, **k):
                item = original_get(*a, **k)
                if item is not None:
                    record("process-pool-worker", getattr(item, "fn", None))
                return item

            try:
                call_queue.get = get
            except Exception:
                pass
            return original_process_worker(call_queue, *rest, **kw)

        cfp._process_worker = _conc_advisor_as(original_process_worker, process_worker)

        # Its manager thread (a Thread subclass with its own run, so the Thread.run hook never sees it).
        manager = getattr(cfp, "_ExecutorManagerThread", None)
        if manager is not None:
            original_manager_run = manager.run

            def manager_run(self):
                record("coordinator", original_manager_run, "ppe-manager")
                return original_manager_run(self)

            manager.run = manager_run
    except Exception:
        pass

    return here


def _conc_advisor_as(original, patched):
    # Pickled by reference like the original (spawn and forkserver start methods pickle pool workers' targets).
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(patched, attr, getattr(original, attr))
        except Exception:
            pass
    return patched


def _conc_advisor_chain(here):
    # Run the next sitecustomize on sys.path, if any (the one this file shadows).
    import importlib.util

    if not here:
        return
    for entry in sys.path:
        try:
            if not entry or os.path.abspath(entry) == here:
                continue
            candidate = os.path.join(entry, "sitecustomize.py")
            if os.path.isfile(candidate):
                spec = importlib.util.spec_from_file_location("_conc_advisor_chained_sitecustomize", candidate)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return
        except Exception:
            return


try:
    _conc_advisor_chain(_conc_advisor_install())
except Exception:
    pass
