# Test job: logs the globalstorage values named in $SHOW_GLOBALSTORAGE (comma
# separated) as one JSON line, "globalstorage: {...}", for a test to read what
# earlier jobs left there.
import json
import os

import libcalamares


def pretty_name():
    return "Show globalstorage for a test"


def run():
    gs = libcalamares.globalstorage
    keys = [k for k in os.environ.get("SHOW_GLOBALSTORAGE", "").split(",") if k]
    libcalamares.utils.debug("globalstorage: " + json.dumps({k: gs.value(k) for k in keys if gs.contains(k)}))
    return None
