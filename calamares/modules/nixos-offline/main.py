# Calamares job module: hands the install to the nixos-offline-installer daemon
# over its Unix socket and shows what it reports. It holds no install logic:
# it reads globalstorage, sends one `install` request (docs/protocol.md), maps
# progress, phase and log events to Calamares, and returns the daemon's result.
# Standard library only, as Calamares requires.
import json
import socket
import time

import libcalamares

PROTOCOL_VERSION = 1
FRAME_END = "\f"
# The daemon's own frame limit (src/protocol/messages.ts).
MAX_FRAME_BYTES = 64 * 1024
DEFAULTS = {"socket": "/run/nixos-offline-installer/ipc.sock", "connectTimeout": 15, "idleTimeout": 120}
# Calamares' localeConf categories the daemon applies (src/protocol/messages.ts CHOICE_KEYS).
LC_KEYS = ("LC_ADDRESS", "LC_IDENTIFICATION", "LC_MEASUREMENT", "LC_MONETARY", "LC_NAME", "LC_NUMERIC", "LC_PAPER", "LC_TELEPHONE", "LC_TIME")
SERVICE_HINT = "Check the installer service with: systemctl status nixos-offline-installer"

_status = "Installing NixOS from the installation medium"


def pretty_name():
    return "Installing NixOS (offline)"


def pretty_status_message():
    return _status


class InstallerError(Exception):
    def __init__(self, title, description):
        super().__init__(title)
        self.title = title
        self.description = description


def _settings():
    conf = dict(DEFAULTS)
    conf.update(libcalamares.job.configuration or {})
    return conf


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
        for key in ("LANG",) + LC_KEYS:
            if locale.get(key):
                choices["locale" if key == "LANG" else key] = str(locale[key]).split("/")[0]
    return {k: str(v).strip() for k, v in choices.items() if v}


def install_request(gs):
    """The `install` request for what was chosen in Calamares."""
    root = _value(gs, "rootMountPoint")
    if not root:
        raise InstallerError("No target to install to", "Calamares did not mount a target (rootMountPoint is not set). Go back to the partition page.")
    request = {"v": PROTOCOL_VERSION, "id": "calamares-1", "root": root, "cancelOnDisconnect": True}
    if _value(gs, "username"):
        request["user"] = _value(gs, "username")
    desktop = _value(gs, "packagechooser_packagechooser")
    if desktop is not None:
        request["desktop"] = desktop
    request["partitions"] = _partitions(gs)
    request["choices"] = _choices(gs)
    return request


class DaemonConnection:
    def __init__(self, path, connect_timeout):
        self.path = path
        self.buffer = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(connect_timeout)
        try:
            self.sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise InstallerError("The offline installer service is not running", "Nothing answers on {}. {}".format(path, SERVICE_HINT))
        except PermissionError:
            raise InstallerError("No permission to use the offline installer service", "{} refused the connection: Calamares must run as root or as a member of the installer's socket group (NOI_SOCKET_GROUP). {}".format(path, SERVICE_HINT))
        except socket.timeout:
            raise InstallerError("The offline installer service does not answer", "{} did not accept the connection in time. {}".format(path, SERVICE_HINT))

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
                raise InstallerError("The offline installer service stopped during the install", "The connection to the installer service closed before the install finished. {} and its log: journalctl -u nixos-offline-installer".format(SERVICE_HINT))
            self.buffer += chunk
            if len(self.buffer) > 2 * MAX_FRAME_BYTES and FRAME_END.encode() not in self.buffer:
                raise InstallerError("The offline installer sent a malformed message", "A message from the installer service was too long. {}".format(SERVICE_HINT))
        frame, _, self.buffer = self.buffer.partition(FRAME_END.encode())
        message = json.loads(frame.decode("utf-8"))
        return message.get("type"), message.get("data") or {}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def follow(connection, idle_timeout):
    """Maps the daemon's events to Calamares until the result; returns None or (title, description)."""
    global _status
    while True:
        type_, data = connection.receive(idle_timeout)
        if type_ == "reply":
            if not data.get("ok"):
                error = data.get("error") or {}
                return (error.get("title", "The installer refused the install"), error.get("description", ""))
        elif type_ == "phase":
            _status = data.get("title", _status)
            libcalamares.utils.debug("nixos-offline: {}".format(_status))
        elif type_ == "progress":
            libcalamares.job.setprogress(max(0.0, min(1.0, float(data.get("fraction", 0)))))
        elif type_ == "log":
            source = data.get("source", "?")
            for line in data.get("lines") or []:
                libcalamares.utils.debug("[{}] {}".format(source, line))
        elif type_ == "result":
            if data.get("ok"):
                return None
            error = data.get("error") or {}
            description = error.get("description", "")
            log = data.get("targetLogPath") or data.get("logPath")
            if log:
                description += "\n\nFull log: {}".format(log)
            return (error.get("title", "The install failed"), description)


def run():
    settings = _settings()
    connection = None
    try:
        request = install_request(libcalamares.globalstorage)
        connection = DaemonConnection(str(settings["socket"]), float(settings["connectTimeout"]))
        connection.send("install", request)
        return follow(connection, float(settings["idleTimeout"]))
    except InstallerError as e:
        libcalamares.utils.error("nixos-offline: {}: {}".format(e.title, e.description))
        return (e.title, e.description)
    finally:
        if connection is not None:
            connection.close()
