"""The README is a front door and docs/ the reference, kept true by the
binary: README fits in 300 lines and holds the two commands and the
runbook; the generated parts of docs/ (every key, every command's help)
are what the binary prints now; every configuration key, command and
metric family (from the sources and from a running gateway's scrape) is
in docs/, and docs/ names no metric that does not exist; every relative
link resolves; the README's code map names every source folder and
nothing else, and every design note a comment cites exists.  Each check is also run on a copy with one name taken
out, and must then fail."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import docs as gen  # noqa: E402
from harness import ADMIN_TOKEN, ROOT, Gateway, Runner, eq, make_token, stop_clean  # noqa: E402


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def missing(names, text, form="`%s`"):
    """The names text does not mention in form."""
    return sorted(n for n in names if form % n not in text)


def keys(binary):
    out = gen.run(binary, "check", "--keys")
    return [l.split()[0] for l in out.splitlines()[1:]]


def source_metrics():
    """The metric names the exposition's sources spell (a histogram's
    series as its family)."""
    names = set()
    for p in ("src/ops/exposition.c", "src/core/metrics.c"):
        names |= set(re.findall(r'"(cutover_\w+)"', read(p)))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}


def scraped_metrics(binary):
    gw = Gateway(binary, config={"admin": {"prefix": "/_cutover/", "token": ADMIN_TOKEN}})
    try:
        eq(gw.request("GET", "/api/invoices/", token=make_token(1)).status, 200)
        r = gw.request("GET", "/_cutover/metrics", headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        eq(r.status, 200)
        return set(re.findall(r"^# TYPE (cutover_\w+) ", r.text, re.M))
    finally:
        stop_clean(gw)


def test_readme_is_a_front_door(binary):
    text = read("README.md")
    lines = text.splitlines()
    assert len(lines) <= 300, "README.md has %d lines" % len(lines)
    first_block = text.split("```")[1]
    assert "make run" in first_block and "make test" in first_block, first_block
    for heading in ("## Contents", "## A quick tour", "## Installing", "## The runbook", "## Reference"):
        assert heading in text, heading
    runbook = text.split("## The runbook", 1)[1].split("\n## ", 1)[0]
    for mode in ("legacy", "dual-write", "shadow", "live", "rampdown", "mongodb"):
        assert "`%s`" % mode in runbook, ("the runbook does not name the stage", mode)
    for what in ("Rolling back", "What to watch", "--force", "cutover plan"):
        assert what in runbook, what
    assert max(len(l) for l in lines if not l.startswith("|")) <= 120, "a README line over 120 characters"


def test_generated_parts_current(binary):
    eq(sorted(gen.stale(binary)), [], "docs/ parts out of date: run make docs")
    # and a stale part is caught
    text = read("docs/configuration.md").replace("| `store_timeout_ms` |", "| `store_timeout` |")
    what, make = gen.PARTS["docs/configuration.md"]
    assert gen.fill(text, what, make(binary)) != text


def test_every_key_command_and_metric_documented(binary):
    config, commands, metrics = read("docs/configuration.md"), read("docs/commands.md"), read("docs/metrics.md")
    ks = keys(binary)
    assert len(ks) > 60, ks
    eq(missing(ks, config), [], "keys missing from docs/configuration.md")
    cmds = gen.commands(binary)
    assert {"serve", "check", "migrate", "verify", "repair", "mode", "plan", "init", "token"} <= set(cmds), cmds
    eq(missing(cmds, commands, "### cutover %s\n"), [], "commands missing from docs/commands.md")
    eq(missing(cmds, read("README.md") + commands, "cutover %s"), [], "commands nowhere in the docs")
    src, live = source_metrics(), scraped_metrics(binary)
    assert len(src) > 20 and "cutover_requests_total" in live, (src, live)
    eq(sorted(live - src), [], "families the gateway exposes that the sources do not spell")
    eq(missing(src | live, metrics), [], "metrics missing from docs/metrics.md")
    named = set(re.findall(r"`(cutover_\w+)`", metrics))
    eq(sorted(named - src - live), [], "docs/metrics.md names metrics that do not exist")
    # each check fails on a copy with one name taken out
    eq(missing(ks, config.replace("`%s`" % ks[-1], "")), [ks[-1]])
    eq(missing(cmds, commands.replace("### cutover plan\n", ""), "### cutover %s\n"), ["plan"])
    eq(missing(src, metrics.replace("`cutover_journal_depth`", "")), ["cutover_journal_depth"])


def test_links_resolve(binary):
    bad = []
    for path in ["README.md", "CHANGELOG.md"] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        path = os.path.relpath(path, ROOT) if os.path.isabs(path) else path
        text = re.sub(r"```.*?```", "", read(path), flags=re.S)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            if not os.path.exists(os.path.join(ROOT, os.path.dirname(path), target)):
                bad.append((path, target))
    eq(bad, [])


def code_map(readme):
    """The folders README.md's code map names, and the source files its
    prose names."""
    part = readme.split("## Code map", 1)[1].split("\n## ", 1)[0]
    folders = set(re.findall(r"^\| `([\w/]+/)` \|", part, re.M))
    files = set(re.findall(r"`((?:src|backends|middleware|migrate)/[\w/]+\.[ch])`", part))
    return folders, files


def source_folders():
    """Every folder holding C sources, and tests/."""
    out = {"tests/"}
    for d in ("src", "backends", "middleware", "migrate"):
        for path in glob.glob(os.path.join(ROOT, d, "**", "*.c"), recursive=True):
            out.add(os.path.relpath(os.path.dirname(path), ROOT) + "/")
    return out


def map_problems(folders, files):
    problems = ["named, not there: " + f for f in sorted(folders) if not os.path.isdir(os.path.join(ROOT, f))]
    problems += ["not named: " + f for f in sorted(source_folders() - folders)]
    problems += ["no such file: " + f for f in sorted(files) if not os.path.exists(os.path.join(ROOT, f))]
    return problems


def test_code_map_matches_the_tree(binary):
    folders, files = code_map(read("README.md"))
    assert {"src/", "src/net/", "backends/"} <= folders and len(files) > 5, (folders, files)
    eq(map_problems(folders, files), [])
    # a folder left out, one that is not there, a file moved: each caught
    eq(map_problems(folders - {"src/engine/"}, files), ["not named: src/engine/"])
    eq(map_problems(folders | {"src/gone/"}, files), ["named, not there: src/gone/"])
    eq(map_problems(folders, files | {"src/router.c"}), ["no such file: src/router.c"])


def cited_notes():
    """The sections of docs/design.md the sources and tests cite."""
    cited = set()
    for path in glob.glob(os.path.join(ROOT, "**", "*.[chp]*"), recursive=True):
        if "/build" in path or not re.search(r"\.(c|h|py)$", path):
            continue
        with open(path, errors="replace") as f:
            for m in re.finditer(r"design\.md ((?:§\d+(?:, )?)+)", f.read()):
                cited |= set(re.findall(r"§(\d+)", m.group(1)))
    return cited


def test_cited_design_notes_exist(binary):
    cited = cited_notes()
    have = set(re.findall(r"^## (\d+)\. ", read("docs/design.md"), re.M))
    assert {"3", "8", "12"} <= cited, cited
    eq(sorted(cited - have, key=int), [], "sections of docs/design.md cited but missing")


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    r = Runner()
    r.run([test_readme_is_a_front_door, test_generated_parts_current, test_every_key_command_and_metric_documented,
           test_links_resolve, test_code_map_matches_the_tree, test_cited_design_notes_exist],
          os.path.abspath(args.binary))
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
