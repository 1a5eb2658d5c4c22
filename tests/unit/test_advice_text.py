"""ui/text.py advice(): the app's own `command` spans shown as code, everything else as plain text."""

from ui.text import advice, plain


def test_spans_become_code_and_the_rest_stays_plain():
    shown = advice("Move acme off [cluster](http://x): `tenants move acme --to CLUSTER`, or ask.")
    assert "`tenants move acme --to CLUSTER`" in shown
    assert shown.startswith(plain("Move acme off [cluster](http://x): "))
    assert "](http" not in shown  # the link outside the span is escaped


def test_an_unpaired_backtick_is_shown_as_typed():
    assert advice("odd ` one") == plain("odd ` one")
    assert advice(None) == "" and advice("none") == "none"
