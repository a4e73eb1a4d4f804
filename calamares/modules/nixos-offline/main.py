# Calamares job module: hands the install to the nixos-offline-installer daemon
# over its Unix socket and shows what it reports. It holds no install logic:
# it reads globalstorage, sends one `install` request (docs/protocol.md), maps
# progress, phase and log events to Calamares, and returns the daemon's result.
# Standard library only, as Calamares requires.
#
# settings.conf runs it once per install step (`step:` in each instance's
# config): Calamares 3.3+ shows a Python job's pretty_name() once and never its
# pretty_status_message(), so each step is a job of its own, with its own name
# and its own weight on the bar. The first step starts the install; the later
# ones take over its connection and follow it until their phases are over.
#
# The `check` step runs earlier, in an exec block of its own before Calamares'
# partition job: it asks the daemon to `validate` the choices made on the pages,
# refuses a configuration that would be refused later (before the disk is
# wiped), and leaves one line per choice in globalstorage for the page that
# shows them (calamares/qml/nixos-offline-choices.qml) before the install.
import base64
import json
import os
import socket
import stat
import time

import libcalamares

PROTOCOL_VERSION = 1
FRAME_END = "\f"
# The daemon's own frame limit (src/protocol/limits.ts).
MAX_FRAME_BYTES = 64 * 1024
# The socket and timeouts when the module's configuration leaves them out: nix/installer-defaults.json.
DEFAULTS_TABLE = "installer-defaults.json"
# Calamares' localeConf categories the daemon applies besides the language: nix/locale-categories.json.
LOCALE_TABLE = "locale-categories.json"
SERVICE_HINT = "Check the installer service with: systemctl status nixos-offline-installer"

# The phases, their titles and shares of the bar, and how the steps group
# them: nix/install-phases.json, the daemon's own table. The package puts a
# copy beside this file; in the repository it is in nix/.
PHASES_TABLE = "install-phases.json"
# Globalstorage keys the check step sets for the choices page: its lines, and the folder checked.
CHOICE_LINES_KEY = "nixosOfflineChoiceLines"
CHECKED_SOURCE_KEY = "nixosOfflineSource"
# Globalstorage key where a step leaves the install's connection for the next one.
HANDOVER_KEY = "nixosOfflineConnection"


class InstallerError(Exception):
    def __init__(self, title, description):
        super().__init__(title)
        self.title = title
        self.description = description


def _table(name):
    """A shared table of nix/: beside this module (the package's copy), else in the repository's nix/."""
    # Calamares gives every Python job its module's folder; __file__ it may not set.
    here = getattr(libcalamares.job, "working_path", None) or os.path.dirname(os.path.abspath(globals().get("__file__", ".")))
    tried = [os.path.join(here, name), os.path.normpath(os.path.join(here, "..", "..", "..", "nix", name))]
    for path in tried:
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as e:
            raise InstallerError("The installer's Calamares module is incomplete", "{} cannot be read ({}). Reinstall the installer's package.".format(path, e))
    raise InstallerError("The installer's Calamares module is incomplete", "{} is missing (looked for {}). Reinstall the installer's package.".format(name, " and ".join(tried)))


class Phases:
    """The attended install's phases in order (Calamares installs into the target it mounted), and the steps."""

    def __init__(self, table):
        rows = [p for p in table["phases"] if not p.get("unattendedOnly")]
        self.names = tuple(p["name"] for p in rows)
        self.shares = {p["name"]: p["weight"] for p in rows}
        self.titles = {p["name"]: p["title"] for p in table["phases"]}
        calamares = table["calamares"]
        # step: (pretty name, the phases it covers), in the order settings.conf runs them; a
        # step without a title of its own shows its first phase's.
        self.steps = {s["name"]: (s.get("title") or self.titles[s["phases"][0]], tuple(s["phases"])) for s in calamares["steps"]}
        # Without `step:` the module is one job for the whole install.
        self.whole = (calamares["wholeInstall"], self.names)
        # The step that checks the choices before anything is partitioned; not part of the install.
        self.check_step = calamares["check"]["name"]
        self.check_title = self.titles[calamares["check"]["phase"]]


def _phases():
    return Phases(_table(PHASES_TABLE))


class Step:
    def __init__(self, name, phases):
        self.name = name
        self.title, self.phases = phases.steps[name] if name else phases.whole
        order = phases.names
        self.first = order.index(self.phases[0])
        self.last = order.index(self.phases[-1])
        self.start = sum(phases.shares[p] for p in order[: self.first])
        self.span = sum(phases.shares[p] for p in self.phases)
        self.order = order
        # The first step sends the install request; the last closes the connection.
        self.starts_install = self.first == 0
        self.ends_install = self.last == len(order) - 1

    def later(self, phase):
        """Whether PHASE belongs to a step after this one."""
        return phase in self.order and self.order.index(phase) > self.last

    def fraction(self, whole):
        """This step's part of the daemon's whole-install fraction, 0..1."""
        return max(0.0, min(1.0, (whole - self.start) / self.span))


def _settings():
    conf = dict(libcalamares.job.configuration or {})
    if not all(key in conf for key in ("socket", "connectTimeout", "idleTimeout", "checkTimeout")):
        defaults = _table(DEFAULTS_TABLE)
        merged = dict(defaults["calamares"], socket=defaults["daemon"]["socket"])
        merged.update(conf)
        conf = merged
    return conf


def _step(phases):
    name = (libcalamares.job.configuration or {}).get("step")
    if name == phases.check_step:
        return None
    if name is not None and name not in phases.steps:
        raise InstallerError(
            "The installer's Calamares settings are wrong",
            'Unknown step "{}" in the nixos-offline module configuration; use one of: {}.'.format(name, ", ".join((phases.check_step,) + tuple(phases.steps))),
        )
    return Step(name, phases)


# The job's name when the table cannot be read (run() then reports why).
FALLBACK_TITLE = "nixos-offline (its tables are missing)"


def _initial_status():
    try:
        phases = _phases()
    except InstallerError:
        return FALLBACK_TITLE
    try:
        step = _step(phases)
    except InstallerError:
        return phases.whole[0]
    return phases.check_title if step is None else step.title


_status = _initial_status()


def pretty_name():
    # Calamares 3.3+ reads this once when the job starts and shows it for the whole job.
    return _initial_status()


def pretty_status_message():
    # Calamares 3.2 reads this on every setprogress.
    return _status


def _value(gs, key):
    # gs.value() of a key nobody set logs a warning in Calamares' session log.
    return gs.value(key) if gs.contains(key) else None


def _partitions(gs):
    # Only the facts the daemon uses; Calamares keeps passphrases in here too.
    keep = ("claimed", "device", "mountPoint", "fs", "fsName", "luksMapperName", "uuid")
    result = []
    for part in _value(gs, "partitions") or []:
        entry = {k: part[k] for k in keep if part.get(k) is not None}
        if "claimed" in entry:
            entry["claimed"] = bool(entry["claimed"])
        for k in keep[1:]:
            if k in entry:
                entry[k] = str(entry[k])
        result.append(entry)
    return result


def _choices(gs):
    choices = {
        "hostname": _value(gs, "hostname"),
        "fullname": _value(gs, "fullname"),
        "firmwareType": _value(gs, "firmwareType"),
        "keyboardLayout": _value(gs, "keyboardLayout"),
        "keyboardVariant": _value(gs, "keyboardVariant"),
        "keyboardVConsoleKeymap": _value(gs, "keyboardVConsoleKeymap"),
    }
    boot_loader = _value(gs, "bootLoader")
    if isinstance(boot_loader, dict):
        choices["bootLoaderPath"] = boot_loader.get("installPath")
    if _value(gs, "locationRegion") and _value(gs, "locationZone"):
        choices["timezone"] = "{}/{}".format(_value(gs, "locationRegion"), _value(gs, "locationZone"))
    locale = _value(gs, "localeConf")
    if isinstance(locale, dict):
        # "de_DE.UTF-8/UTF-8": the locale, then its charmap.
        for key in ["LANG"] + _table(LOCALE_TABLE):
            if locale.get(key):
                choices["locale" if key == "LANG" else key] = str(locale[key]).split("/")[0]
    return {k: str(v).strip() for k, v in choices.items() if v}


def _with_choices(gs, request):
    """REQUEST with the user, the desktop and the choices made on Calamares' pages (install and check send the same)."""
    if _value(gs, "username"):
        request["user"] = _value(gs, "username")
    desktop = _value(gs, "packagechooser_packagechooser")
    if desktop is not None:
        request["desktop"] = desktop
    request["choices"] = _choices(gs)
    return request


def install_request(gs):
    """The `install` request for what was chosen in Calamares."""
    root = _value(gs, "rootMountPoint")
    if not root:
        raise InstallerError("No target to install to", "Calamares did not mount a target (rootMountPoint is not set). Go back to the partition page.")
    request = _with_choices(gs, {"v": PROTOCOL_VERSION, "id": "calamares-1", "root": root, "cancelOnDisconnect": True})
    request["partitions"] = _partitions(gs)
    return request


def validate_request(gs):
    """The `validate` request for what was chosen on Calamares' pages so far (no target yet)."""
    return _with_choices(gs, {"v": PROTOCOL_VERSION, "id": "calamares-check"})


def _validation_error(validation):
    # The daemon words the refusal as an install's (validation.error).
    error = validation.get("error") or {}
    return (error.get("title") or "The configuration was refused", error.get("description") or "The installer service refused the configuration without saying why. {}".format(SERVICE_HINT))


def check(connection, timeout):
    """Sends `validate` with the choices; puts the choice lines in globalstorage. Returns None or (title, description)."""
    gs = libcalamares.globalstorage
    connection.purpose = "check"
    connection.send("validate", validate_request(gs))
    libcalamares.job.setprogress(0.1)
    while True:
        type_, data = connection.receive(timeout)
        if type_ == "reply" and data.get("request") == "validate":
            break
    if not data.get("ok"):
        error = data.get("error") or {}
        return (error.get("title", "The installer could not check the configuration"), error.get("description", ""))
    validation = data.get("validation") or {}
    # The daemon's own lines for the choices page (validation.choiceLines).
    lines = [str(line) for line in validation.get("choiceLines") or []]
    for line in lines:
        libcalamares.utils.debug("nixos-offline: choice: {}".format(line))
    gs.insert(CHOICE_LINES_KEY, lines)
    gs.insert(CHECKED_SOURCE_KEY, str(validation.get("source") or ""))
    libcalamares.job.setprogress(1.0)
    if not validation.get("ok"):
        return _validation_error(validation)
    return None


class DaemonConnection:
    def __init__(self, path, sock):
        self.path = path
        self.sock = sock
        self.buffer = b""
        self.install_id = None
        self.last_frame = b""
        # What the connection is for, in messages: "the install", or "the check" (the check step).
        self.purpose = "install"

    @classmethod
    def connect(cls, path, connect_timeout):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(connect_timeout)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise InstallerError("The offline installer service is not running", "Nothing answers on {}. {}".format(path, SERVICE_HINT))
        except PermissionError:
            sock.close()
            raise InstallerError("No permission to use the offline installer service", "{} refused the connection: Calamares must run as root or as a member of the installer's socket group (NOI_SOCKET_GROUP). {}".format(path, SERVICE_HINT))
        except socket.timeout:
            sock.close()
            raise InstallerError("The offline installer service does not answer", "{} did not accept the connection in time. {}".format(path, SERVICE_HINT))
        return cls(path, sock)

    @classmethod
    def take_over(cls, path, step):
        """The connection the previous step left in globalstorage (its closing cancels the install)."""
        gs = libcalamares.globalstorage
        handed = _value(gs, HANDOVER_KEY)
        if not isinstance(handed, dict) or not isinstance(handed.get("fd"), int):
            raise InstallerError(
                "The install steps are out of order",
                'The nixos-offline step "{}" ran, but no earlier step started the install. settings.conf must run the instances '
                "nixos-offline@prepare, @build, @copy and @install in this order.".format(step.name),
            )
        gs.remove(HANDOVER_KEY)
        fd = handed["fd"]
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                raise OSError("file descriptor {} is not a socket".format(fd))
            sock = socket.socket(fileno=fd)
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                sock.detach()
                raise OSError("file descriptor {} is not the installer's connection".format(fd))
        except OSError as e:
            raise InstallerError("The offline installer lost track of the install", "The connection of install {} is gone ({}). {}".format(handed.get("installId"), e, SERVICE_HINT))
        connection = cls(path, sock)
        connection.install_id = handed.get("installId")
        connection.buffer = base64.b64decode(handed.get("unread") or "")
        return connection

    def hand_over(self):
        """Leaves the open connection, and what was read but not handled, to the next step.

        The install goes on, and so does its cancel-on-disconnect: the connection never closes between steps."""
        unread = base64.b64encode(self.buffer).decode("ascii")
        fd = self.sock.detach()
        libcalamares.globalstorage.insert(HANDOVER_KEY, {"fd": fd, "installId": self.install_id, "unread": unread})

    def unread(self):
        """Puts the last frame back, for the next step to handle."""
        self.buffer = self.last_frame + FRAME_END.encode() + self.buffer

    def send(self, type_, data):
        self.sock.sendall((json.dumps({"type": type_, "data": data}) + FRAME_END).encode("utf-8"))

    def receive(self, timeout):
        """The next frame as (type, data); raises InstallerError when the daemon goes away or is silent."""
        deadline = time.monotonic() + timeout
        while FRAME_END.encode() not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstallerError("The offline installer stopped responding", "No word from the installer service for {} seconds. {}".format(int(timeout), SERVICE_HINT))
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                chunk = b""
                libcalamares.utils.warning("nixos-offline: socket error: {}".format(e))
            if not chunk:
                raise InstallerError("The offline installer service stopped during the {}".format(self.purpose), "The connection to the installer service closed before the {} finished. {} and its log: journalctl -u nixos-offline-installer".format(self.purpose, SERVICE_HINT))
            self.buffer += chunk
            if len(self.buffer) > 2 * MAX_FRAME_BYTES and FRAME_END.encode() not in self.buffer:
                raise InstallerError("The offline installer sent a malformed message", "A message from the installer service was too long. {}".format(SERVICE_HINT))
        frame, _, self.buffer = self.buffer.partition(FRAME_END.encode())
        self.last_frame = frame
        message = json.loads(frame.decode("utf-8"))
        return message.get("type"), message.get("data") or {}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _amount(done, total):
    # "1.2 of 3.4 GB": the unit of the total, so both figures read alike.
    unit, size = ("GB", 1e9) if total >= 1e9 else ("MB", 1e6) if total >= 1e6 else ("kB", 1e3)
    return "{:.1f} of {:.1f} {}".format(done / size, total / size, unit)


def _time_left(seconds):
    # The daemon's estimate (absent before the first 10 %), in the CLI's words.
    if seconds is None:
        return ""
    return ", about {} left".format("{} s".format(seconds) if seconds < 90 else "{} min".format(int(seconds / 60 + 0.5)))


def _result_error(data):
    error = data.get("error") or {}
    description = error.get("description", "")
    log = data.get("targetLogPath") or data.get("logPath")
    if log:
        description += "\n\nFull log: {}".format(log)
    return (error.get("title", "The install failed"), description)


def follow(connection, step, idle_timeout):
    """Maps the daemon's events to Calamares until this step's phases are over or the install ends.

    Returns None, or (title, description) when the install failed. The event
    that ends a step is left unread, so the next step starts with it."""
    global _status
    fraction = 0.0
    phase_title = _status

    def show():
        # Calamares 3.2 re-reads pretty_status_message() here.
        libcalamares.job.setprogress(step.fraction(fraction))

    while True:
        type_, data = connection.receive(idle_timeout)
        if type_ == "reply":
            if not data.get("ok"):
                error = data.get("error") or {}
                return (error.get("title", "The installer refused the install"), error.get("description", ""))
            connection.install_id = data.get("installId", connection.install_id)
        elif type_ == "phase":
            if step.later(data.get("phase")):
                connection.unread()
                return None
            phase_title = data.get("title", phase_title)
            _status = phase_title
            libcalamares.utils.debug("nixos-offline: {}".format(_status))
            show()
        elif type_ == "progress":
            fraction = max(0.0, min(1.0, float(data.get("fraction", 0))))
            # The phase's title, as the daemon sent it, with its figures.
            if data.get("phase") == "copy" and data.get("bytesTotal"):
                _status = "{}: {}{}".format(phase_title, _amount(data.get("bytesDone", 0), data["bytesTotal"]), _time_left(data.get("secondsLeft")))
            elif data.get("phase") == "build" and data.get("detail"):
                # "building 2 of 5: linux-6.12", from Nix's own counts.
                _status = "{}: {}".format(phase_title, data["detail"])
            show()
        elif type_ == "log":
            source = data.get("source", "?")
            for line in data.get("lines") or []:
                libcalamares.utils.debug("[{}] {}".format(source, line))
        elif type_ == "result":
            if not data.get("ok"):
                return _result_error(data)
            # The install's last word on the boot loader: where GRUB went, and who chose the disk.
            if (data.get("grub") or {}).get("text"):
                _status = data["grub"]["text"]
                libcalamares.utils.debug("nixos-offline: {}".format(_status))
                show()
            # The steps still to come each see the install has finished.
            connection.unread()
            return None


def run():
    connection = None
    # Only a step that ends cleanly before the install does leaves its connection to the next.
    hand_over = False
    try:
        settings = _settings()
        step = _step(_phases())
        path = str(settings["socket"])
        if step is None:
            connection = DaemonConnection.connect(path, float(settings["connectTimeout"]))
            return check(connection, float(settings["checkTimeout"]))
        if step.starts_install:
            request = install_request(libcalamares.globalstorage)
            connection = DaemonConnection.connect(path, float(settings["connectTimeout"]))
            connection.send("install", request)
        else:
            connection = DaemonConnection.take_over(path, step)
        outcome = follow(connection, step, float(settings["idleTimeout"]))
        hand_over = outcome is None and not step.ends_install
        return outcome
    except InstallerError as e:
        libcalamares.utils.error("nixos-offline: {}: {}".format(e.title, e.description))
        return (e.title, e.description)
    finally:
        if connection is not None:
            if hand_over:
                connection.hand_over()
            else:
                # Closing cancels a running install (cancelOnDisconnect): a failed step ends it.
                connection.close()
