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


def install(values=None, configuration=None):
    module = types.ModuleType("libcalamares")
    module.globalstorage = GlobalStorage(values or {})
    module.progress = []
    module.messages = []
    module.job = types.SimpleNamespace(configuration=configuration or {}, setprogress=module.progress.append)
    module.utils = types.SimpleNamespace(
        debug=lambda m: module.messages.append(("debug", m)),
        warning=lambda m: module.messages.append(("warning", m)),
        error=lambda m: module.messages.append(("error", m)),
    )
    return module
