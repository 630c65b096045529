"""The package's documents against the code: every configuration key and exit code in the
manual pages, every mailwardenctl command in the bash completion, one version everywhere.
Reads source files only: no build, no root."""
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAN = ROOT / "man"


def parser_keys():
    """{section: {key}} as src/config/config.cc reads them: each Read<Section> function's
    r.String/Int/Dur/Double/Get("key") calls, with the helpers it calls (ReadRelayTls), and
    the sections of kSections; "" is the top level, "account" the [[account]] tables."""
    text = (ROOT / "src/config/config.cc").read_text()
    bodies = {}
    for m in re.finditer(r"^Result<\w+> (Read\w+)\(([^)]*)\) \{\n(.*?)^\}", text, re.M | re.S):
        bodies[m.group(1)] = m.group(3)
    assert bodies, "no Read* functions found in config.cc: update this test's reading of it"

    def keys_of(name, seen=()):
        body = bodies[name]
        keys = set(re.findall(r'\b(?:r|top)\.(?:String|Int|Dur|Double|Get)\("([a-z_]+)"', body))
        for callee in set(re.findall(r"\b(Read\w+)\(r, c\)", body)) - {name, *seen}:
            keys |= keys_of(callee, (*seen, name))
        return keys

    sections = dict(re.findall(r'\{"([a-z_]+)", (Read\w+)\}', text))
    assert "store" in sections and "delivery" in sections, sections
    out = {section: keys_of(func) for section, func in sections.items()}
    out[""] = keys_of("ReadHostName")
    out["account"] = keys_of("ReadAccount")
    for section in out[""] & set(sections):
        out[""].discard(section)
    out[""].discard("account")
    return out


def design_keys():
    """{section: {key}} of docs/design.md's configuration block."""
    text = (ROOT / "docs/design.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    out, section = {}, ""
    for line in block.splitlines():
        if m := re.match(r"^\[\[?([a-z_]+)\]\]?", line):
            section = m.group(1)
        elif m := re.match(r"^([a-z_]+) *=", line):
            out.setdefault(section, set()).add(m.group(1))
    return out


def page_keys():
    """{section: {key}} of mailwarden.toml(5): the "*key* = ..." lines under each heading."""
    out, section = {}, None
    for line in (MAN / "mailwarden.toml.5.scd").read_text().splitlines():
        if line == "# THE TOP LEVEL":
            section = ""
        elif m := re.match(r"^# \[\[?([a-z_]+)\]\]?$", line):
            section = m.group(1)
        elif line.startswith("# "):
            section = None
        elif section is not None and line.startswith("*"):
            for key in re.findall(r"\*([a-z_]+)\* =", line):
                out.setdefault(section, set()).add(key)
    return out


def missing(wanted, documented):
    return sorted(
        f"{s}.{k}" if s else k
        for s, keys in wanted.items()
        for k in keys
        if k not in documented.get(s, set())
    )


def test_every_key_the_parser_reads_is_in_the_manual_page():
    keys = parser_keys()
    assert sum(len(k) for k in keys.values()) > 50
    assert missing(keys, page_keys()) == []


def test_every_key_of_the_design_is_in_the_manual_page():
    assert missing(design_keys(), page_keys()) == []


def test_the_daemon_section_is_in_the_manual_page():
    # The [daemon] keys of the packaged configuration (read by mailwardend once it drops
    # privileges itself; until then the parser test above does not list them).
    packaged = (ROOT / "packaging/mailwarden.toml").read_text()
    block = re.search(r"^\[daemon\]\n(.*?)^\[", packaged, re.M | re.S).group(1)
    keys = set(re.findall(r"^([a-z_]+) =", block, re.M))
    assert keys == {"user", "group", "shutdown_timeout"}
    assert missing({"daemon": keys}, page_keys()) == []


def exit_codes_in_header(source):
    """The exit codes a program's header comment (its DIAGNOSTICS) names."""
    text = (ROOT / source).read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("//"))
    diagnostics = header[header.index("DIAGNOSTICS") :]
    return {int(c) for c in re.findall(r"\b(0|6[4-9]|7[0-8])\b", diagnostics)}


def exit_codes_in_page(page):
    text = (MAN / page).read_text()
    section = text[text.index("# EXIT STATUS") :]
    section = section[: section.index("\n# ", 1)]
    return {int(c) for c in re.findall(r"^\*(\d+)\*$", section, re.M)}


@pytest.mark.parametrize(
    "source,page,constants",
    [
        ("src/cmd/mailwardend.cc", "mailwardend.8.scd", None),
        ("src/cmd/mailwarden_sendmail.cc", "mailwarden-sendmail.8.scd", "src/submit/dropin_wire.h"),
        ("src/cmd/ctl_session.h", "mailwardenctl.8.scd", "src/cmd/ctl_session.h"),
    ],
)
def test_every_exit_code_is_in_the_manual_page(source, page, constants):
    codes = exit_codes_in_header(source)
    if constants:
        codes |= {int(c) for c in re.findall(r"kExit\w+ = (\d+)", (ROOT / constants).read_text())}
    assert 0 in codes and len(codes) >= 3
    assert sorted(codes - exit_codes_in_page(page)) == []


def test_every_mailwardenctl_command_is_completed():
    text = (ROOT / "src/cmd/mailwardenctl.cc").read_text()
    table = text[text.index("kCommands[]") :]
    commands = re.findall(r'^\s*\{"([a-z-]+(?: [a-z-]+)?)", "', table, re.M)
    assert "accounts list" in commands and "audit" in commands
    completion = (ROOT / "packaging/mailwardenctl.bash-completion").read_text()
    page = (MAN / "mailwardenctl.8.scd").read_text()
    for command in commands:
        words = command.split()
        assert re.search(rf"\b{re.escape(words[-1])}\b", completion), command
        assert f"*{command}*" in page, command


def test_the_manual_pages_build():
    scdoc = shutil.which("scdoc")
    if scdoc is None:
        pytest.skip("scdoc is not installed (scripts/install-deps build installs it)")
    for page in MAN.glob("*.scd"):
        out = subprocess.run([scdoc], stdin=page.open("rb"), capture_output=True)
        assert out.returncode == 0, (page.name, out.stderr.decode())


def test_one_version():
    cmake = re.search(r"project\(mailwarden VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    changelog = (ROOT / "debian/changelog").read_text().splitlines()[0]
    assert changelog.startswith(f"mailwarden ({cmake.group(1)})"), changelog


def test_the_completion_offers_every_command():
    helpers = pathlib.Path("/usr/share/bash-completion/bash_completion")
    if not helpers.exists() or shutil.which("bash") is None:
        pytest.skip("bash-completion is not installed (scripts/install-deps package installs it)")
    text = (ROOT / "src/cmd/mailwardenctl.cc").read_text()
    table = text[text.index("kCommands[]") :]
    commands = re.findall(r'^\s*\{"([a-z-]+(?: [a-z-]+)?)", "', table, re.M)
    script = f"""
source {helpers}
source {ROOT}/packaging/mailwardenctl.bash-completion
complete_words() {{
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
  COMPREPLY=(); _mailwardenctl; echo "${{COMPREPLY[*]}}"
}}
complete_words mailwardenctl ""
for group in accounts token report quarantine domain dkim plan; do complete_words mailwardenctl --json "$group" ""; done
"""
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    top, *groups = out.stdout.splitlines()
    offered = set(top.split()) | {
        f"{group} {word}"
        for group, line in zip(["accounts", "token", "report", "quarantine", "domain", "dkim", "plan"], groups)
        for word in line.split()
    }
    assert sorted(set(commands) - offered) == []
