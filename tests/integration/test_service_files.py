"""The service manager examples: tools/systemd/tether.service passes
`systemd-analyze verify` (with the built binary in ExecStart, which verify
requires to exist) and keeps its hardening; tools/openwrt/tether.init is
valid shell with respawn and its SIGHUP reload. Without systemd-analyze
(tools/setup.sh installs Debian's systemd package, which has it) the verify
case says so and passes."""

import os
import re
import shutil
import subprocess

import harness as h
from harness import check, check_eq

UNIT = os.path.join(h.TETHER_SRC, "tools", "systemd", "tether.service")
PROCD = os.path.join(h.TETHER_SRC, "tools", "openwrt", "tether.init")
INSTALLED = "/usr/local/bin/tether"


def service_keys(text):
    """[Service] as a list of (key, value), in order (keys may repeat)."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service" and "=" in line:
            k, v = line.split("=", 1)
            out.append((k.strip(), v.strip()))
    return out


def main():
    env = h.Env("service_files")
    with open(UNIT) as f:
        unit = f.read()

    def verify():
        tool = shutil.which("systemd-analyze")
        if tool is None:
            print("     systemd-analyze not found (tools/setup.sh installs it): verify skipped")
            return
        check(INSTALLED in unit, "the unit's ExecStart no longer names %s" % INSTALLED)
        path = os.path.join(env.dir, "tether.service")
        with open(path, "w") as f:
            f.write(unit.replace(INSTALLED, os.path.abspath(h.TETHER)))
        p = subprocess.run([tool, "verify", "--man=no", path], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        out = p.stdout + p.stderr
        # verify also reports what it merely ignores (an unknown key or value)
        # with exit code 0: any line about this unit is a failure.
        ours = [l for l in out.splitlines() if "tether.service" in l]
        check(p.returncode == 0 and not ours,
              "systemd-analyze verify: exit %d\n%s" % (p.returncode, out))
    env.case("systemd-analyze verify tools/systemd/tether.service", verify)

    def hardened():
        keys = service_keys(unit)
        d = {}
        for k, v in keys:
            d.setdefault(k, []).append(v)

        def one(k):
            check(k in d, "the unit has no %s=" % k)
            return d[k][-1]
        check_eq(one("Type"), "notify", "Type (notify-reload only once reload exists)")
        check_eq(one("NoNewPrivileges"), "yes", "NoNewPrivileges")
        check_eq(one("ProtectSystem"), "strict", "ProtectSystem")
        check_eq(one("PrivateTmp"), "yes", "PrivateTmp")
        check_eq(sorted(one("RestrictAddressFamilies").split()),
                 ["AF_INET", "AF_INET6", "AF_UNIX"], "RestrictAddressFamilies")
        check_eq(one("CapabilityBoundingSet"), "", "CapabilityBoundingSet (no capability)")
        check_eq(one("AmbientCapabilities"), "", "AmbientCapabilities")
        check("User" in d or d.get("DynamicUser", ["no"])[-1] == "yes",
              "the unit runs as root (no User= or DynamicUser=yes)")
        for k in ("StateDirectory", "RuntimeDirectory", "WatchdogSec"):
            check(one(k), "%s= is empty" % k)
        check(re.search(r"\brun -c \S+", one("ExecStart")), "ExecStart does not run the agent")
    env.case("the unit is hardened: Type=notify, no capabilities, own user, watchdog",
             hardened)

    def procd():
        p = subprocess.run(["sh", "-n", PROCD], capture_output=True, text=True, timeout=30)
        check_eq(p.returncode, 0, "sh -n %s: %s" % (PROCD, p.stderr))
        with open(PROCD) as f:
            text = f.read()
        check(text.startswith("#!/bin/sh /etc/rc.common\n"), "not an rc.common script")
        check(re.search(r"^USE_PROCD=1$", text, re.M), "USE_PROCD=1 missing")
        check(re.search(r"procd_set_param respawn\b", text), "no respawn")
        check(re.search(r"procd_set_param command \"\$PROG\" run -c", text),
              "the instance does not run the agent")
        check(re.search(r"reload_service\(\)\s*\{\s*procd_send_signal tether '\*' HUP", text),
              "reload does not send SIGHUP")
    env.case("tools/openwrt/tether.init: valid sh, procd, respawn, reload by SIGHUP", procd)

    env.finish()


if __name__ == "__main__":
    main()
