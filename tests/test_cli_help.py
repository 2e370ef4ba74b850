"""Every option of every subcommand explains itself and shows its default, and the top-level help
is current: walked from the parser itself, so options and subcommands added later are held to it."""
import argparse
import re

import pytest

from spintronic import networks
from spicegen.cli import main
from spicegen.cli.parser import build_parser

# argparse's own --help and --version have nothing to default
OWN = (argparse._HelpAction, argparse._VersionAction)


def _subcommands(parser: argparse.ArgumentParser, name: str = "spicegen"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, p in action.choices.items():
                yield from _subcommands(p, f"{name} {sub}")


PARSERS = dict(_subcommands(build_parser()))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_command_is_walked():
    assert {"spicegen train", "spicegen export", "spicegen cosim", "spicegen kinds"} <= set(PARSERS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help_shows_defaults(name):
    parser = PARSERS[name]
    assert issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter), \
        f"{name} is built without the defaults formatter (formatter_class=_Formatter)"
    text = _flat(parser.format_help())
    for action in parser._actions:
        if not action.option_strings or isinstance(action, OWN):
            continue
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            continue
        shown = f"(default: {action.default})"
        assert shown in text, f"{name} {action.option_strings[0]}: no {shown} in its help"


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_has_help_text(name):
    missing = [a.option_strings[0] for a in PARSERS[name]._actions
               if a.option_strings and not isinstance(a, OWN)
               and (a.help is None or a.help is argparse.SUPPRESS or not a.help.strip())]
    assert not missing, f"{name}: options without help text: {missing}"


def test_every_subcommand_has_a_summary_in_the_top_level_help():
    top = build_parser()
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    summaries = {c.dest: c.help for c in sub._choices_actions}
    assert set(summaries) == set(sub.choices)
    assert all(h and h.strip() for h in summaries.values()), summaries


def test_top_level_help_is_current(capsys):
    assert main(["--help"]) == 0
    text = _flat(capsys.readouterr().out)
    for kind in networks.NETWORKS:            # every registered network kind, by name
        assert re.search(rf"(?<![\w-]){re.escape(kind)}(?![\w-])", text), kind
    for command in PARSERS:
        if command.count(" ") == 1:
            assert command.split()[1] in text
