import importlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "modules", "nixos-offline"))

import fake_libcalamares  # noqa: E402

SEED = {
    "rootMountPoint": "/tmp/calamares-root",
    "username": "alice",
    "fullname": "Alice Liddell",
    "hostname": "field-01",
    "packagechooser_packagechooser": "gnome",
    "firmwareType": "efi",
    "bootLoader": {"installPath": "/dev/vda"},
    "locationRegion": "Europe",
    "locationZone": "Berlin",
    "localeConf": {"LANG": "de_DE.UTF-8/UTF-8", "LC_TIME": "de_DE.UTF-8/UTF-8"},
    "keyboardLayout": "de",
    "keyboardVariant": "nodeadkeys",
    "partitions": [
        {"claimed": True, "device": "/dev/vda2", "fs": "linuxswap", "fsName": "luks2", "luksMapperName": "luks-swap", "uuid": "1234-abcd", "luksPassphrase": "hunter2", "partattrs": 0},
        {"claimed": True, "device": "/dev/vda3", "fs": "ext4", "fsName": "ext4", "mountPoint": "/", "uuid": 42},
    ],
}


def load(values=SEED, configuration=None):
    sys.modules["libcalamares"] = fake_libcalamares.install(values, configuration)
    import main
    return importlib.reload(main), sys.modules["libcalamares"]


class InstallRequest(unittest.TestCase):
    def test_maps_globalstorage_to_the_protocol(self):
        main, _ = load()
        request = main.install_request(sys.modules["libcalamares"].globalstorage)
        self.assertEqual(request["v"], 1)
        self.assertEqual(request["root"], "/tmp/calamares-root")
        self.assertEqual(request["user"], "alice")
        self.assertEqual(request["desktop"], "gnome")
        self.assertTrue(request["cancelOnDisconnect"])
        self.assertEqual(request["choices"], {
            "hostname": "field-01", "fullname": "Alice Liddell", "firmwareType": "efi", "bootLoaderPath": "/dev/vda",
            "timezone": "Europe/Berlin", "locale": "de_DE.UTF-8", "LC_TIME": "de_DE.UTF-8", "keyboardLayout": "de", "keyboardVariant": "nodeadkeys",
        })

    def test_passes_partition_facts_but_never_passphrases(self):
        main, _ = load()
        partitions = main.install_request(sys.modules["libcalamares"].globalstorage)["partitions"]
        self.assertEqual(partitions[0], {"claimed": True, "device": "/dev/vda2", "fs": "linuxswap", "fsName": "luks2", "luksMapperName": "luks-swap", "uuid": "1234-abcd"})
        self.assertEqual(partitions[1]["uuid"], "42")
        self.assertNotIn("hunter2", json.dumps(partitions))

    def test_no_desktop_is_sent_as_empty(self):
        main, _ = load(dict(SEED, packagechooser_packagechooser=""))
        self.assertEqual(main.install_request(sys.modules["libcalamares"].globalstorage)["desktop"], "")

    def test_no_target_is_an_error(self):
        main, _ = load({})
        with self.assertRaises(main.InstallerError) as caught:
            main.install_request(sys.modules["libcalamares"].globalstorage)
        self.assertIn("rootMountPoint", caught.exception.description)


class FakeDaemon:
    """A socket server that records what it receives and answers with given frames."""

    def __init__(self, frames, close_after=True):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "ipc.sock")
        self.received = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.frames = frames
        self.close_after = close_after
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.server.accept()
        data = b""
        while b"\f" not in data:
            data += conn.recv(4096)
        self.received.append(json.loads(data.split(b"\f")[0]))
        for frame in self.frames:
            conn.sendall((json.dumps(frame) + "\f").encode())
        if self.close_after:
            conn.close()
        else:
            self.conn = conn

    def close(self):
        if hasattr(self, "conn"):
            self.conn.close()
        self.server.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def event(type_, **data):
    return {"type": type_, "data": dict(v=1, **data)}


class Run(unittest.TestCase):
    def run_against(self, frames, close_after=True, idle=5):
        daemon = FakeDaemon(frames, close_after)
        self.addCleanup(daemon.close)
        main, cal = load(SEED, {"socket": daemon.path, "connectTimeout": 2, "idleTimeout": idle})
        return main.run(), cal, daemon, main

    def test_success_maps_events_and_returns_none(self):
        result, cal, daemon, main = self.run_against([
            event("reply", id="calamares-1", request="install", ok=True, installId="x"),
            event("phase", installId="x", phase="copy", title="Copying the system to the target"),
            event("progress", installId="x", phase="copy", fraction=0.5, bytesDone=1, bytesTotal=2, pathsDone=0, pathsTotal=1),
            event("log", installId="x", source="nix copy", lines=["copying path", "copying path 2"]),
            event("result", installId="x", ok=True, state="succeeded"),
        ])
        self.assertIsNone(result)
        self.assertEqual(daemon.received[0]["type"], "install")
        self.assertEqual(daemon.received[0]["data"]["root"], "/tmp/calamares-root")
        self.assertEqual(cal.progress, [0.5])
        self.assertIn(("debug", "[nix copy] copying path"), cal.messages)
        self.assertIn(("debug", "[nix copy] copying path 2"), cal.messages)
        self.assertEqual(main.pretty_status_message(), "Copying the system to the target")

    def test_failure_returns_the_daemons_title_and_description_with_the_log(self):
        result, _, _, _ = self.run_against([
            event("reply", id="calamares-1", request="install", ok=True, installId="x"),
            event("result", installId="x", ok=False, state="failed", targetLogPath="/mnt/var/log/nixos-offline-installer/install.log",
                  error={"code": "nixos-install-failed", "title": "Installing the boot loader failed", "description": "Check boot.loader.", "logTail": []}),
        ])
        self.assertEqual(result[0], "Installing the boot loader failed")
        self.assertIn("Check boot.loader.", result[1])
        self.assertIn("/mnt/var/log/nixos-offline-installer/install.log", result[1])

    def test_a_refused_request_is_an_error(self):
        result, _, _, _ = self.run_against([
            event("reply", id="calamares-1", request="install", ok=False, error={"code": "busy", "title": "An install is already running", "description": "Wait."}),
        ])
        self.assertEqual(result, ("An install is already running", "Wait."))

    def test_daemon_closing_mid_install_is_an_error_not_a_hang(self):
        result, _, _, _ = self.run_against([event("reply", id="calamares-1", request="install", ok=True, installId="x")])
        self.assertEqual(result[0], "The offline installer service stopped during the install")
        self.assertIn("systemctl status nixos-offline-installer", result[1])

    def test_silence_beyond_the_idle_timeout_is_an_error(self):
        result, _, _, _ = self.run_against([event("reply", id="calamares-1", request="install", ok=True, installId="x")], close_after=False, idle=0.5)
        self.assertEqual(result[0], "The offline installer stopped responding")

    def test_no_daemon_tells_what_to_check(self):
        main, _ = load(SEED, {"socket": "/nonexistent/ipc.sock", "connectTimeout": 1})
        title, description = main.run()
        self.assertEqual(title, "The offline installer service is not running")
        self.assertIn("systemctl status nixos-offline-installer", description)


if __name__ == "__main__":
    unittest.main()
