"""tether pki against OpenSSL: certificates made by each tool are checked by the
other (gen_certs.selftest), and `tether pki` reports usage errors with exit 2."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_certs  # noqa: E402


def run(*args):
    return subprocess.run([os.environ["TETHER"], "pki"] + list(args), capture_output=True,
                          text=True, timeout=60)


def main():
    folder = tempfile.mkdtemp(prefix="tether-it-pki-")
    failed = 0
    try:
        rc = gen_certs.selftest(os.path.join(folder, "self"))
        if rc != 0:
            print("FAIL gen_certs selftest (tether pki vs openssl)")
            failed += 1
        for args, want in ((["--help"], 0), (["ca"], 2), (["issue", "--ca", folder], 2),
                           (["frobnicate"], 2), (["show", os.path.join(folder, "none.crt")], 1)):
            r = run(*args)
            ok = r.returncode == want and (want == 0 or r.stderr.strip() != "")
            print("%s tether pki %s -> exit %d (want %d)" % ("ok  " if ok else "FAIL",
                                                            " ".join(args), r.returncode, want))
            failed += 0 if ok else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("%d passed, %d failed" % (6 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
