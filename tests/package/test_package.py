"""The Debian package as a web server gets it: its contents and conffiles, lintian, and the
installed daemon started from an extracted copy the way its unit starts it (as root,
dropping to a service user), its files' modes and owners, and PHP's mail() through the
installed drop-in delivered.

Takes build-deb/mailwarden_VERSION_ARCH.deb (from `make deb`), or $MW_DEB; builds it with
`make deb` when there is none, or when a file it is built from is newer. Needs root (a service user is made with useradd and removed
after); skipped without. Nothing is installed into this machine's system: the package is
extracted into a folder of the test's own."""
import contextlib
import os
import pathlib
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: it adds a service user and "
                       "starts the packaged daemon as root, dropping to that user"),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian)"),
]

WEB_UID = 64123  # the "web user" whose PHP script sends mail; a uid needs no passwd entry


def run(*args, check=True, **kw):
    return subprocess.run([str(a) for a in args], check=check, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 120), **kw)


def version():
    first = (ROOT / "debian/changelog").read_text().splitlines()[0]
    return re.match(r"mailwarden \(([^)]+)\)", first).group(1)


def newest_source():
    """When the newest of the files a package is built from changed."""
    listed = run("git", "-C", ROOT, "ls-files", "-z", "--", "src", "packaging", "man", "debian",
                 "web/src", "web/index.html", "CMakeLists.txt", check=False).stdout.split("\0")
    return max((ROOT / f).stat().st_mtime for f in listed
               if f and not f.endswith(".md") and (ROOT / f).exists())


# The built panel's index.html (inode, mtime) before `make deb`, when there was one.
PANEL_BEFORE = {}


@pytest.fixture(scope="module")
def deb():
    if os.environ.get("MW_DEB"):
        return pathlib.Path(os.environ["MW_DEB"])
    arch = run("dpkg", "--print-architecture").stdout.strip()
    path = ROOT / "build-deb" / f"mailwarden_{version()}_{arch}.deb"
    if not path.exists() or path.stat().st_mtime < newest_source():
        index = ROOT / "web/dist/index.html"
        if index.exists():
            PANEL_BEFORE["index"] = (index.stat().st_ino, index.stat().st_mtime_ns)
        # At a lower CPU priority: the other tests, run beside this one, keep their pace.
        run("nice", "-n", "10", "make", "-C", ROOT, "deb", timeout=3600)
    assert path.exists(), f"make deb did not leave {path}"
    return path


def contents(deb):
    """{path: (mode string, owner)} of the package's data."""
    out = {}
    for line in run("dpkg-deb", "-c", deb).stdout.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        out[path.split(" -> ")[0].removeprefix(".")] = (mode, owner)
    return out


def test_contents(deb):
    files = contents(deb)
    for path in [
        "/usr/sbin/mailwardend",
        "/usr/sbin/mailwarden-sendmail",
        "/usr/bin/mailwardenctl",
        "/usr/share/mailwarden/panel/index.html",
        "/etc/mailwarden/mailwarden.toml",
        "/lib/systemd/system/mailwardend.service",
        "/lib/systemd/system/mailwarden-nftables.service",
        "/etc/mailwarden/mailwarden.nft",
        "/usr/lib/sysusers.d/mailwarden.conf",
        "/usr/lib/tmpfiles.d/mailwarden.conf",
        "/usr/share/man/man8/mailwardend.8.gz",
        "/usr/share/man/man8/mailwarden-sendmail.8.gz",
        "/usr/share/man/man8/mailwardenctl.8.gz",
        "/usr/share/man/man5/mailwarden.toml.5.gz",
        "/usr/share/bash-completion/completions/mailwardenctl",
        "/usr/share/doc/mailwarden/copyright",
        "/usr/share/doc/mailwarden/multi-node.md.gz",
    ]:
        assert path in files, path
    # The system's sendmail stays the MTA's.
    assert "/usr/sbin/sendmail" not in files and "/usr/lib/sendmail" not in files
    assert [p for p in files if any(s in p for s in ("/build", "/work/", "/src/"))] == []
    for path, (mode, owner) in files.items():
        assert owner == "root/root", path
        assert "s" not in mode and "S" not in mode, f"{path} is set-uid or set-gid: {mode}"
        assert mode[-2] != "w", f"{path} is writable by everyone: {mode}"
    for program in ["/usr/sbin/mailwardend", "/usr/sbin/mailwarden-sendmail", "/usr/bin/mailwardenctl"]:
        assert files[program][0] == "-rwxr-xr-x", program

    fields = {f: run("dpkg-deb", "-f", deb, f).stdout.strip()
              for f in ("Package", "Version", "Architecture", "Depends")}
    assert fields["Package"] == "mailwarden"
    assert fields["Version"] == version()
    assert fields["Architecture"] == run("dpkg", "--print-architecture").stdout.strip()
    assert "libc6" in fields["Depends"]


def control_files(deb, tmp_path):
    out = tmp_path / "control"
    out.mkdir()
    tar = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", out], input=tar, check=True)
    return out


def test_conffiles_and_maintainer_scripts(deb, tmp_path):
    control = control_files(deb, tmp_path)
    # The provider's edits of the configuration survive an upgrade; nothing else is a conffile.
    assert sorted((control / "conffiles").read_text().split()) == [
        "/etc/mailwarden/mailwarden.nft", "/etc/mailwarden/mailwarden.toml"]
    postinst = (control / "postinst").read_text()
    # The user before the token; the token never overwritten; the service restarted on upgrade.
    assert postinst.index("systemd-sysusers") < postinst.index("create_admin_token\n")
    assert re.search(r'if \[ -e "\$token" \] \|\| \[ -L "\$token" \]; then\s+return 0', postinst)
    assert "umask 077" in postinst
    assert "deb-systemd-helper" in postinst and "restart" in postinst
    postrm = (control / "postrm").read_text()
    purge = postrm[postrm.index("purge)") : postrm.index(";;")]
    assert "/var/lib/mailwarden" in purge
    assert "md5sums" in os.listdir(control)


def test_lintian_finds_no_error(deb):
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (scripts/install-deps package installs it)")
    out = run("lintian", "--fail-on", "error", "--no-tag-display-limit", deb, check=False)
    print(out.stdout)  # the warnings left, for the log
    assert [line for line in out.stdout.splitlines() if line.startswith("E:")] == []
    assert out.returncode == 0, out.stdout + out.stderr


def test_release_build_gave_no_compiler_warning(deb):
    # A packager's build does not stop at a warning (debian/rules); this test does, so that
    # what only the Release build's optimiser finds is still seen.
    log = ROOT / "build-deb" / "build.log"
    if os.environ.get("MW_DEB") or not log.exists():
        pytest.skip("the package was not built here by `make deb` (no build-deb/build.log)")
    warnings = [line for line in log.read_text(errors="replace").splitlines()
                if re.match(r"\S+:\d+:\d+: warning: ", line)]
    assert warnings == [], "\n".join(warnings[:20])


def test_building_the_package_left_the_served_panel_alone(deb):
    # The browser tests serve web/dist while the package builds beside them: a panel built from
    # the same sources is not built again (a rebuild emptied it meanwhile, and a page loaded
    # then had no script).
    if "index" not in PANEL_BEFORE:
        pytest.skip("the package was not built here beside an already built panel")
    index = ROOT / "web/dist/index.html"
    assert (index.stat().st_ino, index.stat().st_mtime_ns) == PANEL_BEFORE["index"]


# --- The installed daemon ----------------------------------------------------------------

@pytest.fixture
def service_user():
    """A system user and group of the test's own, as sysusers.d makes "mailwarden"."""
    name = f"mwpkg{os.getpid() % 100000}"
    run("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
        "--shell", "/usr/sbin/nologin", name)
    try:
        yield pwd.getpwnam(name)
    finally:
        run("userdel", name, check=False)
        run("groupdel", name, check=False)


@pytest.fixture
def scratch_root(deb):
    path = pathlib.Path(tempfile.mkdtemp(prefix="mw-pkg-root."))
    # Others must reach the drop-in and the socket inside, as on a real root.
    path.chmod(0o755)
    try:
        run("dpkg-deb", "-x", deb, path)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def apply_tmpfiles(root, user):
    """The package's tmpfiles.d entries, made inside root, "mailwarden" being user."""
    for line in (root / "usr/lib/tmpfiles.d/mailwarden.conf").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, path, mode, owner, group, _age = line.split()
        assert kind == "d" and owner == "mailwarden" and group == "mailwarden", line
        folder = root / path.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, user.pw_uid, user.pw_gid)
        folder.chmod(int(mode, 8))


def adapted_config(root, user, drops_itself):
    """The packaged configuration, its paths moved into root, delivering into a maildir, the
    API on a port of the system's choice, and an account for WEB_UID."""
    packaged = root / "etc/mailwarden/mailwarden.toml"
    original = root / "etc/mailwarden/mailwarden.toml.packaged"
    if not original.exists():
        shutil.copy(packaged, original)
    text = original.read_text()
    for path in ("/var/lib/mailwarden", "/run/mailwarden", "/usr/share/mailwarden"):
        # Every value naming it: "PATH..." and "sqlite:PATH".
        text, count = re.subn(rf'(?<=[":]){re.escape(path)}\b', f"{root}{path}", text)
        assert count > 0, path
    assert "sqlite:/var" not in text
    text = text.replace('listen = "127.0.0.1:8025"', 'listen = "127.0.0.1:0"')
    text = text.replace('mode = "relay"', 'mode = "maildir"')
    if drops_itself:
        text = text.replace('user = "mailwarden"', f'user = "{user.pw_name}"')
        text = text.replace('group = "mailwarden"', f'group = "{user.pw_name}"')
    else:
        text = re.sub(r"^\[daemon\]\n.*?(?=^\[)", "", text, flags=re.M | re.S)
    text += f'\n[[account]]\nname = "site1"\nuids = [{WEB_UID}]\nreport_to = "owner@example.com"\n'
    config = root / "etc/mailwarden/mailwarden.toml"
    config.write_text(text)
    return config


def wait_for(what, predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def owner_and_mode(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_installed_daemon_drops_to_its_user_and_delivers_php_mail(scratch_root, service_user):
    root, user = scratch_root, service_user
    daemon = root / "usr/sbin/mailwardend"
    apply_tmpfiles(root, user)
    # Started as root, as outside systemd, with [daemon] user and group naming the test's user:
    # the daemon binds, opens the store, and drops to that user for good by itself.
    config = adapted_config(root, user, drops_itself=True)
    probe = run(daemon, "--check-config", config, check=False)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    command = [daemon, "--config", config]
    log_path = root / "daemon.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(c) for c in command], stdout=log, stderr=log,
                                cwd="/", start_new_session=True)
    try:
        sock = root / "run/mailwarden/submit.sock"
        # It says so once it has dropped to its user (after its listeners are bound).
        wait_for("the daemon's drop to its user",
                 lambda: proc.poll() is not None or "running as" in log_path.read_text())
        assert proc.poll() is None, log_path.read_text()

        # It handles mail as the service user, never as root: real, effective, saved, fs ids.
        status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
        assert uids == [str(user.pw_uid)] * 4, status
        assert gids == [str(user.pw_gid)] * 4, status
        groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
        assert "0" not in groups
        assert re.search(r"^CapEff:\s+0+$", status, re.M), status

        # PHP's mail() of a web user (another uid) through the installed drop-in.
        dropin = root / "usr/sbin/mailwarden-sendmail"
        php = run("setpriv", f"--reuid={WEB_UID}", f"--regid={WEB_UID}", "--clear-groups",
                  "env", f"MAILWARDEN_SOCKET={sock}", "php", "-n",
                  "-d", f"sendmail_path={dropin} -t -i",
                  "-r", 'exit(mail("you@example.com", "Packaged hello", "It works.", '
                        '"From: shop@example.com") ? 0 : 1);',
                  check=False, cwd="/")
        assert php.returncode == 0, php.stdout + php.stderr + log_path.read_text()
        new = root / "var/lib/mailwarden/outbox/new"
        delivered = wait_for("the message in the maildir", lambda: new.is_dir() and [
            f for f in new.iterdir() if b"Subject: Packaged hello" in f.read_bytes()])
        assert len(delivered) == 1

        # Every file it made: the daemon's user's only (the store, its WAL, the token, mail).
        state = root / "var/lib/mailwarden"
        assert owner_and_mode(state) == (user.pw_uid, user.pw_gid, 0o700)
        made = {p.relative_to(state).as_posix() for p in state.rglob("*")}
        for name in ("mailwarden.db", "mailwarden.db-wal", "admin.token"):
            assert name in made, made
        for path in state.rglob("*"):
            uid, gid, mode = owner_and_mode(path)
            assert (uid, gid) == (user.pw_uid, user.pw_gid), (path, uid, gid)
            if path.is_file():
                assert mode & 0o077 == 0, (path, oct(mode))
        assert owner_and_mode(state / "admin.token")[2] == 0o600
        assert owner_and_mode(state / "mailwarden.db")[2] == 0o600
        assert owner_and_mode(state / "mailwarden.db-wal")[2] == 0o600

        # The socket: every local user may connect; none but the daemon's may write its folder.
        run_dir = root / "run/mailwarden"
        uid, _gid, mode = owner_and_mode(run_dir)
        assert uid == user.pw_uid and mode & 0o022 == 0 and mode & 0o005 == 0o005, oct(mode)
        assert stat.S_ISSOCK(os.lstat(sock).st_mode)
        assert owner_and_mode(sock)[2] & 0o006 == 0o006
        assert [p.name for p in run_dir.iterdir()] == ["submit.sock"]

        # A clean stop.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()
        assert not sock.exists()
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- The maintainer scripts, in a throw-away copy of this system ---------------------------

# Runs in a mount namespace of its own, where /etc, /usr and /var are overlays whose writes go
# to the test's folder and /run is empty: dpkg installs, upgrades and purges the package
# there, its maintainer scripts run as on a real system, and this system is left unchanged.
OVERLAY_SCRIPT = r"""
set -eu
work=$1 deb=$2
for d in etc usr var; do
  mkdir -p "$work/$d.up" "$work/$d.work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$work/$d.up,workdir=$work/$d.work" "/$d"
done
mount -t tmpfs tmpfs /run
export DEBIAN_FRONTEND=noninteractive
say() { printf '%s=%s\n' "$1" "$2"; }
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
say user "$(getent passwd mailwarden | cut -d: -f1,6,7)"
say group "$(getent group mailwarden | cut -d: -f1)"
say state "$(stat -c '%U:%G:%a' /var/lib/mailwarden)"
say token "$(stat -c '%U:%G:%a:%s' /var/lib/mailwarden/admin.token)"
say enabled "$(readlink /etc/systemd/system/multi-user.target.wants/mailwardend.service || true)"
say nft_enabled "$(ls /etc/systemd/system/multi-user.target.wants/mailwarden-nftables.service 2>/dev/null || true)"
say nft_checks "$(nft -c -f /etc/mailwarden/mailwarden.nft 2>&1 && echo ok)"
verify=$(systemd-analyze verify /lib/systemd/system/mailwardend.service 2>&1) && rc=0 || rc=$?
say verify "$(printf '%s' "$verify" | tr '\n' '|')rc $rc"
say security "$(systemd-analyze security --offline=true /lib/systemd/system/mailwardend.service 2>&1 | tail -1)"
token=$(cat /var/lib/mailwarden/admin.token)
echo '# an edit of the provider' >>/etc/mailwarden/mailwarden.toml
dpkg -i "$deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; exit 1; }
say token_kept "$([ "$(cat /var/lib/mailwarden/admin.token)" = "$token" ] && echo yes || echo no)"
say conffile_kept "$(tail -1 /etc/mailwarden/mailwarden.toml)"
dpkg -r mailwarden >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; exit 1; }
say removed_state "$(ls /var/lib/mailwarden)"
dpkg -P mailwarden >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; exit 1; }
say purged_state "$(ls -d /var/lib/mailwarden /etc/mailwarden 2>/dev/null | tr '\n' ' ')"
"""


def test_maintainer_scripts_install_upgrade_purge(deb, tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux)")
    probe = run("unshare", "--mount", "--propagation", "private", "sh", "-c",
                f"mkdir -p {tmp_path}/p/u {tmp_path}/p/w && mount -t overlay overlay -o "
                f"lowerdir=/etc,upperdir={tmp_path}/p/u,workdir={tmp_path}/p/w /etc", check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount an overlay in a mount namespace here: {probe.stderr.strip()}")
    out = run("unshare", "--mount", "--propagation", "private", "sh", "-c", OVERLAY_SCRIPT,
              "overlay-install", tmp_path, deb, check=False, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    said = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    print(said)
    assert said["user"] == "mailwarden:/var/lib/mailwarden:/usr/sbin/nologin"
    assert said["group"] == "mailwarden"
    assert said["state"] == "mailwarden:mailwarden:700"
    assert said["token"] == "mailwarden:mailwarden:600:64"
    assert said["enabled"].endswith("/mailwardend.service")
    # The firewall's rule set is installed, parses with the user the package made, and waits
    # for the provider to enable it.
    assert said["nft_enabled"] == ""
    assert said["nft_checks"] == "ok", said["nft_checks"]
    # With the package installed, the unit verifies silently (its programs and pages exist).
    assert said["verify"] == "rc 0", said["verify"]
    assert said["token_kept"] == "yes"
    assert said["conffile_kept"] == "# an edit of the provider"
    assert said["removed_state"].split() == ["admin.token"]
    assert said["purged_state"] == ""
