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
            event("progress", installId="x", phase="copy", fraction=0.5, bytesDone=1_200_000_000, bytesTotal=3_400_000_000, pathsDone=0, pathsTotal=1),
            event("log", installId="x", source="nix copy", lines=["copying path", "copying path 2"]),
            event("result", installId="x", ok=True, state="succeeded"),
        ])
        self.assertIsNone(result)
        self.assertEqual(daemon.received[0]["type"], "install")
        self.assertEqual(daemon.received[0]["data"]["root"], "/tmp/calamares-root")
        # The phase event re-shows the bar, so Calamares 3.2 re-reads the status text.
        self.assertEqual(cal.progress, [0.0, 0.5])
        self.assertIn(("debug", "[nix copy] copying path"), cal.messages)
        self.assertIn(("debug", "[nix copy] copying path 2"), cal.messages)
        self.assertEqual(main.pretty_status_message(), "Copying the system to the target: 1.2 of 3.4 GB")

    def test_the_copy_status_shows_the_daemons_time_left(self):
        copy = dict(installId="x", phase="copy", fraction=0.5, bytesDone=1_200_000_000, bytesTotal=3_400_000_000, pathsDone=0, pathsTotal=1)
        for seconds_left, shown in ((42, ", about 42 s left"), (150, ", about 3 min left")):
            result, _, _, main = self.run_against([
                event("reply", id="calamares-1", request="install", ok=True, installId="x"),
                event("phase", installId="x", phase="copy", title="Copying the system to the target"),
                event("progress", secondsLeft=seconds_left, **copy),
                event("result", installId="x", ok=True, state="succeeded"),
            ])
            self.assertIsNone(result)
            self.assertEqual(main.pretty_status_message(), "Copying the system to the target: 1.2 of 3.4 GB" + shown)

    def test_the_result_says_where_grub_went(self):
        text = "GRUB was installed to /dev/vda (set by the configuration), not /dev/sda as chosen on the partition page"
        result, cal, _, main = self.run_against([
            event("reply", id="calamares-1", request="install", ok=True, installId="x"),
            event("phase", installId="x", phase="copy", title="Copying the system to the target"),
            event("result", installId="x", ok=True, state="succeeded", grub={"devices": ["/dev/vda"], "chosen": "/dev/sda", "overridden": True, "text": text}),
        ])
        self.assertIsNone(result)
        self.assertEqual(main.pretty_status_message(), text)
        self.assertIn(("debug", "nixos-offline: " + text), cal.messages)

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


class ScriptedDaemon:
    """Accepts exactly one connection and answers each request frame with the frames scripted for it, in order."""

    def __init__(self, script):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "ipc.sock")
        self.script = list(script)
        self.received = []
        self.closed_by_client = threading.Event()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.server.accept()
        self.conn = conn
        # A second connection would be a step that did not take over the first one's.
        self.server.close()
        data = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    self.closed_by_client.set()
                    return
                data += chunk
                while b"\f" in data:
                    frame, _, data = data.partition(b"\f")
                    self.received.append(json.loads(frame))
                    for reply in self.script.pop(0) if self.script else []:
                        conn.sendall((json.dumps(reply) + "\f").encode())

    def drop(self):
        """The daemon dies: its end of the connection closes."""
        self.conn.shutdown(socket.SHUT_RDWR)

    def close(self):
        self.server.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def phase(name, title="title"):
    return event("phase", installId="x", phase=name, title=title)


def progress(name, fraction, done=0, total=0):
    return event("progress", installId="x", phase=name, fraction=fraction, bytesDone=done, bytesTotal=total, pathsDone=0, pathsTotal=0)


STARTED = event("reply", id="calamares-1", request="install", ok=True, installId="x")


class Steps(unittest.TestCase):
    """settings.conf's per-step instances: one job per step, all on the first step's connection."""

    def setUp(self):
        self.gs = fake_libcalamares.GlobalStorage(SEED)

    def step(self, name, daemon):
        sys.modules["libcalamares"] = fake_libcalamares.install(configuration={"socket": daemon.path, "connectTimeout": 2, "idleTimeout": 5, "step": name}, globalstorage=self.gs)
        import main
        main = importlib.reload(main)
        return main, sys.modules["libcalamares"]

    def daemon(self, events):
        daemon = ScriptedDaemon([events])
        self.addCleanup(daemon.close)
        return daemon

    def test_each_step_shows_its_own_phases_and_part_of_the_bar_of_one_install(self):
        # All at once: the first step reads more than its own events and must pass the rest on.
        daemon = self.daemon([
            STARTED,
            phase("validate", "Checking the configuration against your choices"), progress("validate", 0.0),
            phase("stage"), progress("stage", 0.05), phase("hardware", "Generating the hardware configuration"), progress("hardware", 0.07),
            phase("build", "Building the system from the local store"), progress("build", 0.12),
            phase("copy", "Copying the system to the target"), progress("copy", 0.17 + 0.78 * 0.25, 1_200_000_000, 4_800_000_000),
            phase("install", "Installing the boot loader and activating"), progress("install", 0.97),
            phase("report", "Writing the install log"), progress("report", 1.0),
            event("result", installId="x", ok=True, state="succeeded"),
        ])
        shown = []
        for name in ("prepare", "build", "copy", "install"):
            main, cal = self.step(name, daemon)
            self.assertIsNone(main.run(), name)
            shown.append((main.pretty_name(), main.pretty_status_message(), [round(p, 3) for p in cal.progress]))

        self.assertEqual([f["type"] for f in daemon.received], ["install"])
        self.assertEqual(shown, [
            ("Checking the configuration and preparing the target", "Generating the hardware configuration", [0.0, 0.0, 0.0, 0.714, 0.714, 1.0]),
            ("Building the system from the local store", "Building the system from the local store", [0.0, 0.5]),
            ("Copying the system to the target", "Copying the system to the target: 1.2 of 4.8 GB", [0.0, 0.25]),
            ("Installing the boot loader and activating", "Writing the install log", [0.0, 0.4, 0.4, 1.0]),
        ])
        # The last step closed the connection; nothing is left for another job to find.
        self.assertTrue(daemon.closed_by_client.wait(2))
        self.assertFalse(self.gs.contains(main.HANDOVER_KEY))

    def test_a_failure_in_a_later_step_ends_the_sequence_with_the_daemons_error_and_closes_the_connection(self):
        daemon = self.daemon([
            STARTED, phase("build"),
            event("result", installId="x", ok=False, state="failed", logPath="/var/log/nixos-offline-installer/install-x.log",
                  error={"code": "build-failed", "title": "Building the system failed", "description": "A derivation failed.", "logTail": []}),
        ])
        self.assertIsNone(self.step("prepare", daemon)[0].run())
        self.assertFalse(daemon.closed_by_client.is_set())
        title, description = self.step("build", daemon)[0].run()
        self.assertEqual(title, "Building the system failed")
        self.assertIn("install-x.log", description)
        # Closing is what cancels an install the daemon still runs (cancelOnDisconnect).
        self.assertTrue(daemon.closed_by_client.wait(2))

    def test_a_later_step_gives_up_on_a_silent_daemon(self):
        daemon = self.daemon([STARTED, phase("build")])
        self.assertIsNone(self.step("prepare", daemon)[0].run())
        main, _ = self.step("build", daemon)
        sys.modules["libcalamares"].job.configuration["idleTimeout"] = 0.5
        self.assertEqual(main.run()[0], "The offline installer stopped responding")
        self.assertTrue(daemon.closed_by_client.wait(2))

    def test_a_later_step_reports_a_daemon_that_died(self):
        daemon = self.daemon([STARTED, phase("build")])
        self.assertIsNone(self.step("prepare", daemon)[0].run())
        main, _ = self.step("build", daemon)
        daemon.drop()
        self.assertEqual(main.run()[0], "The offline installer service stopped during the install")

    def test_an_install_that_ends_early_ends_every_later_step_at_once(self):
        daemon = self.daemon([STARTED, phase("build"), event("result", installId="x", ok=True, state="succeeded")])
        for name in ("prepare", "build", "copy", "install"):
            self.assertIsNone(self.step(name, daemon)[0].run(), name)
        self.assertTrue(daemon.closed_by_client.wait(2))

    def test_a_step_with_no_install_to_follow_says_the_settings_are_wrong(self):
        main, _ = self.step("copy", self.daemon([]))
        title, description = main.run()
        self.assertEqual(title, "The install steps are out of order")
        self.assertIn("nixos-offline@prepare, @build, @copy and @install", description)

    def test_a_handed_over_descriptor_that_is_not_the_connection_is_an_error(self):
        read_end, write_end = os.pipe()
        self.addCleanup(os.close, read_end)
        self.addCleanup(os.close, write_end)
        self.gs.insert("nixosOfflineConnection", {"fd": read_end, "installId": "x", "unread": ""})
        title, description = self.step("build", self.daemon([]))[0].run()
        self.assertEqual(title, "The offline installer lost track of the install")
        self.assertIn("is not a socket", description)

    def test_an_unknown_step_names_the_value_and_the_choices(self):
        main, _ = self.step("kopy", self.daemon([]))
        self.assertEqual(main.pretty_name(), "Installing NixOS (offline)")
        title, description = main.run()
        self.assertEqual(title, "The installer's Calamares settings are wrong")
        self.assertIn('"kopy"', description)
        self.assertIn("check, prepare, build, copy, install", description)


class Tables(unittest.TestCase):
    """The phases, steps, socket and timeouts come from the daemon's tables, beside the module or in the repository's nix/."""

    def module_in(self, folder, configuration):
        sys.modules["libcalamares"] = fake_libcalamares.install(SEED, configuration, working_path=folder)
        import main
        return importlib.reload(main)

    def test_the_packages_copies_beside_the_module_are_read(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        nix = os.path.join(HERE, "..", "..", "nix")
        with open(os.path.join(nix, "install-phases.json")) as f:
            table = json.load(f)
        table["phases"][[p["name"] for p in table["phases"]].index("build")]["title"] = "Building, as the table says"
        with open(os.path.join(folder, "install-phases.json"), "w") as f:
            json.dump(table, f)
        with open(os.path.join(folder, "installer-defaults.json"), "w") as f:
            json.dump({"daemon": {"socket": "/run/elsewhere.sock"}, "calamares": {"connectTimeout": 1, "idleTimeout": 2, "checkTimeout": 3}}, f)
        main = self.module_in(folder, {"step": "build", "idleTimeout": 9})
        self.assertEqual(main.pretty_name(), "Building, as the table says")
        self.assertEqual(main._settings(), {"socket": "/run/elsewhere.sock", "connectTimeout": 1, "idleTimeout": 9, "checkTimeout": 3, "step": "build"})

    def test_a_module_without_its_tables_says_to_reinstall(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        main = self.module_in(folder, {"step": "build"})
        self.assertEqual(main.pretty_name(), "nixos-offline (its tables are missing)")
        title, description = main.run()
        self.assertEqual(title, "The installer's Calamares module is incomplete")
        self.assertIn(os.path.join(folder, "install"), description)
        self.assertIn("Reinstall", description)


def checks(**failed):
    names = ("source", "flake", "evaluates", "user", "desktop", "bootloader", "passwords", "offline")
    return [dict(name=n, ok=False, error=failed[n]) if n in failed else dict(name=n, ok=True) for n in names]


def validated(ok=True, choices=(), lines=(), error=None, **failed):
    validation = dict(v=1, ok=ok, source="/iso/nix-cfg", user="alice", desktop="gnome", checks=checks(**failed), choices=list(choices), choiceLines=list(lines))
    if error is not None:
        validation["error"] = error
    return event("reply", id="calamares-check", request="validate", ok=True, validation=validation)


TIMEZONE_OVERRIDDEN = dict(setting="timeZone", option="time.timeZone", chosen="Europe/Berlin", result="UTC", applied=False)
HOSTNAME_APPLIED = dict(setting="hostName", option="networking.hostName", chosen="field-01", result="field-01", applied=True)


class Check(unittest.TestCase):
    """The check step: validate with the choices before anything is partitioned, and the lines for the choices page."""

    def run_check(self, frames, values=SEED):
        daemon = ScriptedDaemon([frames])
        self.addCleanup(daemon.close)
        self.gs = fake_libcalamares.GlobalStorage(values)
        sys.modules["libcalamares"] = fake_libcalamares.install(configuration={"socket": daemon.path, "connectTimeout": 2, "checkTimeout": 5, "step": "check"}, globalstorage=self.gs)
        import main
        main = importlib.reload(main)
        self.assertEqual(main.pretty_name(), "Checking the configuration against your choices")
        outcome = main.run()
        # The check's connection is its own: closed when the job ends, never handed on.
        self.assertTrue(daemon.closed_by_client.wait(2))
        self.assertFalse(self.gs.contains(main.HANDOVER_KEY))
        return main, outcome, daemon

    def test_sends_validate_with_the_choices_and_no_target(self):
        _, outcome, daemon = self.run_check([validated(choices=[HOSTNAME_APPLIED, TIMEZONE_OVERRIDDEN])])
        self.assertIsNone(outcome)
        request = daemon.received[0]
        self.assertEqual(request["type"], "validate")
        self.assertEqual(request["data"]["user"], "alice")
        self.assertEqual(request["data"]["desktop"], "gnome")
        self.assertEqual(request["data"]["choices"]["timezone"], "Europe/Berlin")
        self.assertEqual(request["data"]["choices"]["locale"], "de_DE.UTF-8")
        for key in ("root", "partitions", "cancelOnDisconnect"):
            self.assertNotIn(key, request["data"])

    def test_puts_the_daemons_lines_for_the_choices_page_in_globalstorage(self):
        lines = ["User: alice (declared in the configuration)", "Time zone: Europe/Berlin (does not apply: the configuration sets UTC, and it wins)"]
        main, _, _ = self.run_check([validated(choices=[HOSTNAME_APPLIED, TIMEZONE_OVERRIDDEN], lines=lines)])
        self.assertEqual(self.gs.value(main.CHOICE_LINES_KEY), lines)
        self.assertEqual(self.gs.value(main.CHECKED_SOURCE_KEY), "/iso/nix-cfg")

    def test_a_refused_configuration_is_the_daemons_error_before_anything_is_partitioned(self):
        undeclared = dict(code="user-not-declared", title='User "mallory" is not in the configuration', description="It declares these normal users: alice.")
        refusal = dict(code="user-not-declared", title="User and 1 more", description="both problems")
        _, outcome, _ = self.run_check([validated(ok=False, error=refusal, user=undeclared)])
        self.assertEqual(outcome, ("User and 1 more", "both problems"))

    def test_a_refusal_the_daemon_does_not_word_still_names_the_service(self):
        _, (title, description), _ = self.run_check([validated(ok=False)])
        self.assertEqual(title, "The configuration was refused")
        self.assertIn("systemctl status nixos-offline-installer", description)

    def test_a_refused_request_is_an_error(self):
        refused = event("reply", id="calamares-check", request="validate", ok=False, error=dict(code="bad-request", title='Invalid request field "choices.hostname"', description="not plain text"))
        _, outcome, _ = self.run_check([refused])
        self.assertEqual(outcome, ('Invalid request field "choices.hostname"', "not plain text"))

    def test_no_daemon_tells_what_to_check(self):
        sys.modules["libcalamares"] = fake_libcalamares.install(SEED, {"socket": "/nonexistent/ipc.sock", "step": "check"})
        import main
        title, description = importlib.reload(main).run()
        self.assertEqual(title, "The offline installer service is not running")
        self.assertIn("systemctl status nixos-offline-installer", description)

    def test_a_daemon_that_closes_before_answering_is_an_error(self):
        daemon = FakeDaemon([])
        self.addCleanup(daemon.close)
        sys.modules["libcalamares"] = fake_libcalamares.install(SEED, {"socket": daemon.path, "step": "check", "checkTimeout": 5})
        import main
        title, _ = importlib.reload(main).run()
        self.assertEqual(title, "The offline installer service stopped during the check")


if __name__ == "__main__":
    unittest.main()
