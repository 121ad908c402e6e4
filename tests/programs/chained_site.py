"""Issue 14: `profile`'s Python hook goes first on PYTHONPATH and must still run the program's own
sitecustomize (the one it shadows). Run with a PYTHONPATH directory whose sitecustomize.py sets
CONC_TEST_SITE_MARKER; writes to argv[1] whether that ran and the native name of a named thread."""
import json
import os
import sys
import threading


def site_marker_work(result):
    with open(f"/proc/self/task/{threading.get_native_id()}/comm") as f:
        result["comm"] = f.read().strip()


result = {}
t = threading.Thread(target=site_marker_work, args=(result,), name="site-marker")
t.start()
t.join()
result["marker"] = os.environ.get("CONC_TEST_SITE_MARKER")
with open(sys.argv[1], "w") as f:
    json.dump(result, f)
