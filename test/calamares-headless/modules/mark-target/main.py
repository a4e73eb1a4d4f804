# Test job standing in for Calamares' partition job, the first that touches the
# disk: it leaves a file in the target (rootMountPoint), so a test sees whether
# the sequence got this far.
import os

import libcalamares


def pretty_name():
    return "Stand-in for the partition job"


def run():
    root = libcalamares.globalstorage.value("rootMountPoint")
    with open(os.path.join(root, "partitioned-by-test"), "w") as marker:
        marker.write("the job after the check ran\n")
    return None
