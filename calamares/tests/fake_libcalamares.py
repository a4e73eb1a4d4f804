# A tiny stand-in for Calamares' libcalamares Python API, for fast unit tests of
# the job module. The end-to-end tests run the module in the real Calamares.
import types


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


def install(values=None, configuration=None, globalstorage=None):
    module = types.ModuleType("libcalamares")
    # A shared globalstorage lets several jobs (steps) of one session see each other's values.
    module.globalstorage = globalstorage or GlobalStorage(values or {})
    module.progress = []
    module.messages = []
    module.job = types.SimpleNamespace(configuration=configuration or {}, setprogress=module.progress.append)
    module.utils = types.SimpleNamespace(
        debug=lambda m: module.messages.append(("debug", m)),
        warning=lambda m: module.messages.append(("warning", m)),
        error=lambda m: module.messages.append(("error", m)),
    )
    return module
