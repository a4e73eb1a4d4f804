# Test job: puts the values of the JSON file named by $SEED_GLOBALSTORAGE into
# Calamares' globalstorage, standing for the show-phase modules of a real
# session (users, partition, packagechooser, locale, keyboard).
import json
import os

import libcalamares


def pretty_name():
    return "Preset globalstorage for a test"


def run():
    path = os.environ.get("SEED_GLOBALSTORAGE")
    if not path:
        return ("seed-globalstorage: SEED_GLOBALSTORAGE is not set", "")
    with open(path) as seed:
        for key, value in json.load(seed).items():
            libcalamares.globalstorage.insert(key, value)
    return None
