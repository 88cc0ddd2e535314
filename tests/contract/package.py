"""The build and the system package.

`make` and `make install` build from the build dependencies alone: with
apt-get, apt and sudo replaced by commands that record being called, a
fresh build and an install into DESTDIR succeed and call none of them,
and a machine without the libraries gets one error naming them and
`make deps`.  The installed layout has absolute paths only and no secret;
its binary reads /etc/cutover without -c and passes `cutover check` from
/.  `make deb` builds a package that dpkg installs: systemd-analyze
verifies its unit, man finds its page (every command and key in it), the
gateway it installs serves, and dpkg removes it again."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Runner, eq, free_port  # noqa: E402

FAKE = """#!/bin/sh
echo "$0 $*" >>%s
exit 1
"""
SECRETS = {"DATABASE_URL": "sqlite:///nonexistent/legacy.sqlite3", "JWT_SECRET": "package-test-secret-not-real-0"}


def make(args, env, timeout=600):
    """make in the source tree, as a user types it (nothing of an outer make's
    flags or variables)."""
    env = {k: v for k, v in env.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return subprocess.run(["make", "--no-print-directory"] + args, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def fake_path(tmp, names):
    """A directory of stand-ins for names that record each call in
    tmp/called, first on PATH."""
    d = os.path.join(tmp, "fake-bin")
    os.makedirs(d, exist_ok=True)
    for n in names:
        with open(os.path.join(d, n), "w") as f:
            f.write(FAKE % os.path.join(tmp, "called"))
        os.chmod(os.path.join(d, n), 0o755)
    return d


def called(tmp):
    p = os.path.join(tmp, "called")
    return open(p).read() if os.path.exists(p) else ""


def clean_env(path_first):
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("CUTOVER_")}
    env["PATH"] = path_first + ":" + os.environ["PATH"]
    return env


def every_command(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    return [c for c in re.findall(r"^  ([a-z]+) ", out, re.M) if c != "cutover"]


def every_key(binary):
    out = subprocess.run([binary, "check", "--keys"], capture_output=True, text=True, check=True).stdout
    return [l.split()[0] for l in out.splitlines()[1:]]


def test_build_and_install_need_no_packages(binary):
    tmp = tempfile.mkdtemp(prefix="cutover-pkg-")
    try:
        env = clean_env(fake_path(tmp, ["apt-get", "apt", "sudo"]))
        build, dest = os.path.join(tmp, "build"), os.path.join(tmp, "root")
        r = make(["-j2", "BUILD=" + build], env)
        eq(r.returncode, 0, r.stdout + r.stderr)
        r = make(["BUILD=" + build, "DESTDIR=" + dest, "PREFIX=/usr/local", "install"], env)
        eq(r.returncode, 0, r.stdout + r.stderr)
        eq(called(tmp), "", "make or make install ran a package manager")
        for path in ("usr/local/bin/cutover", "etc/cutover/cutover.json", "etc/cutover/cutover.env",
                     "usr/local/lib/systemd/system/cutover.service", "usr/local/share/man/man1/cutover.1",
                     "usr/local/share/doc/cutover/LICENSE", "usr/local/share/doc/cutover/CHANGELOG.md"):
            assert os.path.isfile(os.path.join(dest, path)), path
        assert os.path.isdir(os.path.join(dest, "var/lib/cutover"))
        eq(oct(os.stat(os.path.join(dest, "etc/cutover/cutover.env")).st_mode & 0o777), "0o600")
        # every path absolute, every secret from the environment
        text = open(os.path.join(dest, "etc/cutover/cutover.json")).read()
        cfg = json.loads(text)
        eq(cfg["journal"], "${CUTOVER_JOURNAL:-/var/lib/cutover/journal.sqlite3}")
        eq(cfg["database_url"], "${DATABASE_URL}")
        eq(cfg["jwt"]["secret"], "${JWT_SECRET}")
        assert "build/" not in text and "fake" not in text, text[:400]
        env_file = open(os.path.join(dest, "etc/cutover/cutover.env")).read()
        assert all(l.startswith("#") or not l.strip() for l in env_file.splitlines()), env_file
        unit = open(os.path.join(dest, "usr/local/lib/systemd/system/cutover.service")).read()
        assert "ExecStart=/usr/local/bin/cutover serve -c /etc/cutover/cutover.json" in unit, unit
        assert "EnvironmentFile=-/etc/cutover/cutover.env" in unit and "StateDirectory=cutover" in unit, unit
        # from /, with the secrets in the environment as the unit gives them
        installed = os.path.join(dest, "usr/local/bin/cutover")
        conf = os.path.join(dest, "etc/cutover/cutover.json")
        r = subprocess.run([installed, "check", "-c", conf], cwd="/", env=dict(env, **SECRETS),
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, r.stdout + r.stderr)
        assert "legacy store sqlite" in r.stdout, r.stdout
        r = subprocess.run([installed, "check", "-c", conf], cwd="/", env=env, capture_output=True, text=True,
                           timeout=30)
        eq(r.returncode, 1, r.stdout + r.stderr)
        assert "DATABASE_URL is not set" in r.stderr and "JWT_SECRET is not set" in r.stderr, r.stderr
        r = subprocess.run([installed, "--help"], capture_output=True, text=True)
        assert "FILE defaults to /etc/cutover/cutover.json" in r.stdout, r.stdout
        # the man page renders without a warning and holds every command and key
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(dest, "usr/local/share/man/man1/cutover.1")],
                           capture_output=True, text=True)
        eq((r.returncode, r.stderr), (0, ""))
        page = subprocess.run(["man", "-l", os.path.join(dest, "usr/local/share/man/man1/cutover.1")],
                              capture_output=True, text=True, env=dict(env, MANWIDTH="200")).stdout
        for c in every_command(binary):
            assert re.search(r"^   %s$" % c, page, re.M), ("command missing from the man page", c)
        for k in every_key(binary):
            assert re.search(r"^       %s(\s|$)" % re.escape(k), page, re.M), ("key missing from the man page", k)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_missing_libraries_named(binary):
    """Without the libraries (pkg-config finds none), make stops at once
    with the packages to install and `make deps`, installing nothing."""
    tmp = tempfile.mkdtemp(prefix="cutover-pkg-")
    try:
        d = fake_path(tmp, ["apt-get", "apt", "sudo"])
        with open(os.path.join(d, "pkg-config"), "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(os.path.join(d, "pkg-config"), 0o755)
        r = make(["BUILD=" + os.path.join(tmp, "build")], clean_env(d), timeout=60)
        eq(r.returncode, 2, r.stdout + r.stderr)
        assert "missing build dependencies:" in r.stderr and "make deps" in r.stderr, r.stderr
        for pkg in ("libevent-dev", "libmongoc-dev", "libpq-dev", "libsqlite3-dev", "libyajl-dev", "libssl-dev"):
            assert pkg in r.stderr, (pkg, r.stderr)
        assert not os.path.exists(os.path.join(tmp, "build")), "it built something"
        eq(called(tmp), "")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sudo():
    if os.getuid() == 0:
        return []
    if subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
        raise AssertionError("installing the package needs root or password-less sudo")
    return ["sudo", "-n"]


def test_deb_installs_and_runs(binary):
    tmp = tempfile.mkdtemp(prefix="cutover-deb-")
    su = sudo()
    try:
        build = os.path.join(tmp, "build")
        r = make(["-j2", "BUILD=" + build, "deb"], dict(os.environ))
        eq(r.returncode, 0, r.stdout + r.stderr)
        deb = r.stdout.strip().splitlines()[-1]
        assert re.search(r"/cutover_[0-9.]+_\w+\.deb$", deb), deb
        info = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True).stdout
        for lib in ("libevent", "libmongoc", "libpq", "libsqlite3", "libyajl"):
            assert lib in info, (lib, info)
        r = subprocess.run(su + ["dpkg", "-i", deb], capture_output=True, text=True, timeout=120)
        eq(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run(["systemd-analyze", "verify", "/usr/lib/systemd/system/cutover.service"],
                           capture_output=True, text=True, timeout=60)
        eq((r.returncode, r.stderr), (0, ""), "systemd-analyze verify")
        r = subprocess.run(["man", "-w", "cutover"], capture_output=True, text=True)
        eq(r.stdout.strip(), "/usr/share/man/man1/cutover.1.gz", r.stderr)
        r = subprocess.run(["/usr/bin/cutover", "serve", "--help"], capture_output=True, text=True, cwd="/")
        eq(r.returncode, 0, r.stderr)
        db = os.path.join(tmp, "legacy.sqlite3")
        subprocess.run(["sqlite3", db], input=open(os.path.join(ROOT, "etc/examples/hisabpro/schema.sqlite.sql")).read(),
                       text=True, check=True)
        port = free_port()
        env = dict(os.environ, DATABASE_URL="sqlite://" + db, JWT_SECRET=SECRETS["JWT_SECRET"],
                   CUTOVER_LISTEN="127.0.0.1:%d" % port, CUTOVER_JOURNAL=os.path.join(tmp, "journal.sqlite3"))
        r = subprocess.run(["/usr/bin/cutover", "check"], cwd="/", env=env, capture_output=True, text=True)
        eq(r.returncode, 0, r.stdout + r.stderr)
        assert r.stdout.startswith("/etc/cutover/cutover.json: ok"), r.stdout
        # the installed gateway serves, on the installed configuration
        p = subprocess.Popen(["/usr/bin/cutover", "serve"], cwd="/", env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            deadline, status = time.time() + 20, None
            while status is None:
                assert p.poll() is None and time.time() < deadline, p.stderr.read().decode() if p.poll() else "no answer"
                try:
                    status = urllib.request.urlopen("http://127.0.0.1:%d/_cutover/health" % port, timeout=2).status
                except OSError:
                    time.sleep(0.1)
            eq(status, 200)
        finally:
            p.send_signal(signal.SIGTERM)
            eq(p.wait(timeout=30), 0)
        r = subprocess.run(su + ["dpkg", "-r", "cutover"], capture_output=True, text=True, timeout=120)
        eq(r.returncode, 0, r.stdout + r.stderr)
        assert not os.path.exists("/usr/bin/cutover")
        assert os.path.exists("/etc/cutover/cutover.json"), "remove keeps the configuration (a conffile)"
    finally:
        subprocess.run(su + ["dpkg", "-P", "cutover"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    assert not os.path.exists("/etc/cutover/cutover.json"), "purge removes the configuration"


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    r = Runner()
    r.run([test_build_and_install_need_no_packages, test_missing_libraries_named, test_deb_installs_and_runs],
          os.path.abspath(args.binary))
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
