# A tiny stand-in for Calamares' libcalamares Python API, for fast unit tests of
# the job module. The end-to-end tests run the module in the real Calamares.
import os
import types

# Calamares' job.working_path: the module's own folder (here the repository's, whose tables are in nix/).
MODULE_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "modules", "nixos-offline"))


class GlobalStorage:
    def __init__(self, values):
        self.values = dict(values)

    def contains(self, key):
        return key in self.values

    def value(self, key):
        return self.values.get(key)

    def insert(self, key, value):
        self.values[key] = value

    def remove(self, key):
        self.values.pop(key, None)


def install(values=None, configuration=None, globalstorage=None, working_path=MODULE_DIR):
    module = types.ModuleType("libcalamares")
    # A shared globalstorage lets several jobs (steps) of one session see each other's values.
    module.globalstorage = globalstorage or GlobalStorage(values or {})
    module.progress = []
    module.messages = []
    module.job = types.SimpleNamespace(configuration=configuration or {}, setprogress=module.progress.append, working_path=working_path)
    module.utils = types.SimpleNamespace(
        debug=lambda m: module.messages.append(("debug", m)),
        warning=lambda m: module.messages.append(("warning", m)),
        error=lambda m: module.messages.append(("error", m)),
    )
    return module
